"""Finance (DESIGN 7): documents and journal entries posted from what the order queue recorded, store-day
settlements, the accounting exports and the reconciliation report, one module per seam:

- ``configuration``: the chart-of-accounts and tax mapping (``FinanceConfiguration``);
- ``posting``: a sale's receipt, a shipment's invoice and payments, a return's credit note and refunds, the
  holds when a channel's total cannot be reproduced, the sweep (``DocumentPosting``), and ``FinancePoster``,
  which the handler table calls in the business event's own transaction;
- ``settlement``: the store day: count, cash in and out, the processor's report, close (``StoreDays``);
- ``exports``: each document's export state per accounting connection, the backfill (``AccountingExports``);
- ``queries``: the journal, the documents, the held ones, the reconciliation (``FinanceQueries``);
- ``views``: rows as the API's JSON; ``common``: metrics, the stored configuration, ``FinancePart``.

``FinanceDesk`` holds one of each part and keeps the names its callers used before the split.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from seamline.finance import Document, FinanceConfig
from seamline.finance.reconcile import MoneyDifference
from seamline.service.app import Seamline
from seamline.service.finance.common import (
    DOCUMENTS,
    HELD,
    POSTING_FAILURES,
    TILL_LOCATION_KINDS,
    UNPOSTED,
    FinancePart,
    finance_config,
)
from seamline.service.finance.configuration import FinanceConfiguration
from seamline.service.finance.exports import AccountingExports
from seamline.service.finance.posting import DocumentPosting, FinancePoster, install
from seamline.service.finance.queries import FinanceQueries, JournalQuery
from seamline.service.finance.settlement import StoreDays
from seamline.service.finance.views import document_view, entry_view
from seamline.service.results import PutResult
from seamline.service.unit_of_work import UnitOfWork


class FinanceDesk:
    """The finance parts over one ``Seamline`` application."""

    def __init__(self, app: Seamline) -> None:
        self.app = app
        self.configuration = FinanceConfiguration(app)
        self.posting = DocumentPosting(app)
        self.store_days = StoreDays(app)
        self.export_states = AccountingExports(app)
        self.queries = FinanceQueries(app)

    # ---------------------------------------------------------------------------- configuration
    def config(self, conn: Connection) -> FinanceConfig:
        return finance_config(conn)

    def get_config(self) -> dict[str, Any]:
        return self.configuration.get_config()

    def current_config(self) -> FinanceConfig:
        return self.configuration.current_config()

    def put_config(self, conn: Connection, body: Any) -> PutResult[FinanceConfig]:
        return self.configuration.put_config(conn, body)

    # ---------------------------------------------------------------------------- posting
    def post_events(self, uow: UnitOfWork, events: Sequence[tuple[str, str]]) -> list[Document]:
        return self.posting.post_events(uow, events)

    def post_sale(self, uow: UnitOfWork, order_id: str, config: FinanceConfig | None = None) -> list[Document]:
        return self.posting.post_sale(uow, order_id, config)

    def post_shipment(self, uow: UnitOfWork, order_id: str, config: FinanceConfig | None = None) -> list[Document]:
        return self.posting.post_shipment(uow, order_id, config)

    def post_return(self, uow: UnitOfWork, return_id: str, config: FinanceConfig | None = None) -> list[Document]:
        return self.posting.post_return(uow, return_id, config)

    def post_pending(self, uow: UnitOfWork, limit: int = 500) -> list[Document]:
        return self.posting.post_pending(uow, limit)

    # ---------------------------------------------------------------------------- settlements
    def settlement(self, store: str, day: date) -> dict[str, Any]:
        return self.store_days.settlement(store, day)

    def count_cash(
        self,
        conn: Connection,
        store: str,
        day: date,
        *,
        counted: str,
        currency: str,
        tender: str = "cash",
        cash_float: str | None = None,
        counted_by: str | None = None,
    ) -> dict[str, Any]:
        return self.store_days.count_cash(
            conn,
            store,
            day,
            counted=counted,
            currency=currency,
            tender=tender,
            cash_float=cash_float,
            counted_by=counted_by,
        )

    def add_cash_movement(
        self,
        conn: Connection,
        store: str,
        day: date,
        *,
        kind: str,
        amount: str,
        currency: str,
        reason: str,
        tender: str = "cash",
        account: str | None = None,
    ) -> dict[str, Any]:
        return self.store_days.add_cash_movement(
            conn,
            store,
            day,
            kind=kind,
            amount=amount,
            currency=currency,
            reason=reason,
            tender=tender,
            account=account,
        )

    def import_processor_settlement(
        self, conn: Connection, store: str, day: date, *, processor: str, tender: str, transactions: Any
    ) -> dict[str, Any]:
        return self.store_days.import_processor_settlement(
            conn, store, day, processor=processor, tender=tender, transactions=transactions
        )

    def close(self, uow: UnitOfWork, store: str, day: date, *, trace_id: str | None = None) -> dict[str, Any]:
        return self.store_days.close(uow, store, day, trace_id=trace_id)

    # ---------------------------------------------------------------------------- accounting exports
    def document_for(self, source_key: str) -> dict[str, Any] | None:
        return self.export_states.document_for(source_key)

    def export_of(self, target: str, document_id: str) -> dict[str, Any] | None:
        return self.export_states.export_of(target, document_id)

    def record_export(
        self,
        target: str,
        document_id: str,
        *,
        entity: str,
        external_id: str,
        external_number: str | None,
        remote_total: Decimal | None = None,
        customer_ref: str | None = None,
    ) -> None:
        self.export_states.record_export(
            target,
            document_id,
            entity=entity,
            external_id=external_id,
            external_number=external_number,
            remote_total=remote_total,
            customer_ref=customer_ref,
        )

    def record_refusal(self, target: str, document_id: str, messages: Sequence[str]) -> None:
        self.export_states.record_refusal(target, document_id, messages)

    def export_attempts(self, target: str, document_id: str) -> int:
        return self.export_states.export_attempts(target, document_id)

    def exports(
        self,
        target: str,
        *,
        status: str | None = None,
        kind: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> tuple[list[dict[str, Any]], str | None, dict[str, int]]:
        return self.export_states.exports(target, status=status, kind=kind, cursor=cursor, limit=limit)

    def backfill_candidates(
        self,
        conn: Connection,
        target: str,
        *,
        include_refused: bool = False,
        after_seq: int | None = None,
        limit: int = 500,
    ) -> list[Document]:
        return self.export_states.backfill_candidates(
            conn, target, include_refused=include_refused, after_seq=after_seq, limit=limit
        )

    # ---------------------------------------------------------------------------- reads
    def journal(self, query: JournalQuery) -> tuple[list[dict[str, Any]], str | None]:
        return self.queries.journal(query)

    def documents(
        self,
        *,
        kind: str | None = None,
        order_id: str | None = None,
        store: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> tuple[list[dict[str, Any]], str | None]:
        return self.queries.documents(kind=kind, order_id=order_id, store=store, cursor=cursor, limit=limit)

    def get_document(self, doc_id: str) -> dict[str, Any]:
        return self.queries.get_document(doc_id)

    def holds(self) -> list[dict[str, Any]]:
        return self.queries.holds()

    def reconciliation(self) -> dict[str, Any]:
        return self.queries.reconciliation()

    def money_checks(self, conn: Connection, config: FinanceConfig) -> tuple[list[MoneyDifference], dict[str, int]]:
        return self.queries.money_checks(conn, config)


__all__ = [
    "DOCUMENTS",
    "HELD",
    "POSTING_FAILURES",
    "TILL_LOCATION_KINDS",
    "UNPOSTED",
    "AccountingExports",
    "DocumentPosting",
    "FinanceConfiguration",
    "FinanceDesk",
    "FinancePart",
    "FinancePoster",
    "FinanceQueries",
    "JournalQuery",
    "StoreDays",
    "document_view",
    "entry_view",
    "finance_config",
    "install",
]
