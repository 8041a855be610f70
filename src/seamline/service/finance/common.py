"""What the finance seams share: their metrics, which locations have a till, the stored configuration, and
``FinancePart``, the base each seam is built on."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy import Connection

from seamline.finance import FinanceConfig
from seamline.service.app import Seamline
from seamline.store import finance_repo

DOCUMENTS = Counter("seamline_finance_documents_total", "Finance documents posted", ["kind"])
POSTING_FAILURES = Counter(
    "seamline_finance_posting_failures_total", "Postings that failed in the event's transaction (left for the sweep)"
)
HELD = Counter(
    "seamline_finance_held_total", "Documents held because the channel's total cannot be reproduced", ["reason"]
)
UNPOSTED = Gauge("seamline_finance_unposted", "Sales, returns and shipments without their document (last check)")

TILL_LOCATION_KINDS = frozenset({"store"})


def finance_config(conn: Connection) -> FinanceConfig:
    """The chart-of-accounts and tax mapping as stored; the defaults before anyone set one."""
    return config_from(finance_repo.get_config(conn))


def config_from(stored: Mapping[str, Any] | None) -> FinanceConfig:
    return FinanceConfig() if stored is None else FinanceConfig.from_json(stored)


class FinancePart:
    """One seam of the finance desk over the application (``FinanceDesk`` holds one of each)."""

    def __init__(self, app: Seamline) -> None:
        self.app = app

    def _now(self) -> datetime:
        return self.app.clock.now()

    def config(self, conn: Connection) -> FinanceConfig:
        return finance_config(conn)
