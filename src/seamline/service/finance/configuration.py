"""The chart-of-accounts and tax mapping (DESIGN 7): read by every posting, set by an admin."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from seamline.finance import FinanceConfig
from seamline.service.finance.common import FinancePart
from seamline.service.results import PutResult
from seamline.store import finance_repo


class FinanceConfiguration(FinancePart):
    def get_config(self) -> dict[str, Any]:
        return self.current_config().as_json()

    def current_config(self) -> FinanceConfig:
        return self.app.read(self.config)

    def put_config(self, conn: Connection, body: Any) -> PutResult[FinanceConfig]:
        """Set the chart-of-accounts and tax mapping (``created`` when none was set before). Posted documents
        keep the accounts they were posted with (the journal is history); new postings use the new mapping."""
        config = FinanceConfig.from_json(body)
        existed = finance_repo.get_config(conn) is not None
        finance_repo.save_config(conn, config.as_json(), self._now())
        return PutResult(created=not existed, view=config)
