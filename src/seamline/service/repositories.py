"""The repositories a unit of work carries (``UnitOfWork.orders``, ``.ledger``, ...): the functions of
``seamline.store`` the commands call, as protocols. The store's modules are the real ones; a unit test hands the
unit of work fakes with the same functions (``tests/unit/fakes.py``), so a command's rules run without a
database and without patching modules. Only what the commands call through the unit of work is listed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import (
    Connection,
)

from seamline.domain.errors import ShortLine
from seamline.finance.documents import Document, DocumentKind
from seamline.finance.journal import JournalEntry
from seamline.ledger.atp import ChannelPolicy
from seamline.ledger.model import Balance, PlannedMovement
from seamline.orders.model import LineState
from seamline.store import (
    catalog_repo,
    channel_orders_repo,
    channels_repo,
    finance_repo,
    ledger_repo,
    orders_repo,
)
from seamline.store.ledger_repo import Line
from seamline.store.work import Work


class CatalogRepository(Protocol):
    """``store.catalog_repo``, as the commands call it."""

    def known_skus(self, conn: Connection, codes: Iterable[str]) -> dict[str, str]: ...
    def prepack_map(self, conn: Connection, pack_skus: Iterable[str]) -> dict[str, list[tuple[str, int]]]: ...


class ChannelOrdersRepository(Protocol):
    """``store.channel_orders_repo``, as the commands call it."""

    def record_shipment(
        self,
        conn: Connection,
        order_id: str,
        lines: Sequence[Mapping[str, Any]],
        *,
        carrier: str | None,
        tracking: str | None,
        now: datetime,
    ) -> int: ...


class ChannelsRepository(Protocol):
    """``store.channels_repo``, as the commands call it."""

    def get_channel(self, conn: Connection, code: str) -> dict[str, Any] | None: ...
    def kind_and_sources(self, conn: Connection, code: str) -> tuple[str, list[str]] | None: ...
    def policies(
        self,
        conn: Connection,
        skus: Sequence[str] | None = None,
        *,
        sku_range: tuple[str | None, str] | None = None,
        extra_skus: Sequence[str] = (),
    ) -> list[ChannelPolicy]: ...
    def sourcing(self, conn: Connection, code: str) -> tuple[list[str], bool] | None: ...


class FinanceRepository(Protocol):
    """``store.finance_repo``, as the commands call it."""

    def documents_of_order(
        self, conn: Connection, order_id: str, kind: DocumentKind | None = None
    ) -> list[dict[str, Any]]: ...
    def get_config(self, conn: Connection) -> dict[str, Any] | None: ...
    def hold(self, conn: Connection, values: Mapping[str, Any]) -> None: ...
    def insert_document(
        self, uow: Work, doc: Document, *, now: datetime, trace_id: str | None = None
    ) -> Document | None: ...
    def insert_entry(
        self,
        conn: Connection,
        entry_id: str,
        entry: JournalEntry,
        *,
        now: datetime,
        document_id: str | None = None,
        settlement_id: str | None = None,
        trace_id: str | None = None,
    ) -> bool: ...
    def invoiced_units(self, conn: Connection, order_id: str) -> dict[int, int]: ...
    def payments_applied(self, conn: Connection, order_id: str) -> dict[str, Decimal]: ...
    def resolve_hold(self, conn: Connection, source_key: str, now: datetime) -> None: ...
    def sku_facts(self, conn: Connection, codes: Iterable[str]) -> dict[str, dict[str, Any]]: ...
    def uninvoiced_orders(self, conn: Connection, limit: int) -> list[str]: ...
    def unposted_returns(self, conn: Connection, limit: int) -> list[str]: ...
    def unposted_sales(self, conn: Connection, limit: int) -> list[str]: ...


class LedgerRepository(Protocol):
    """``store.ledger_repo``, as the commands call it."""

    def allocate(self, uow: Work, document: str, takes: Sequence[Line], *, now: datetime) -> list[ShortLine]: ...
    def cancel_allocations(self, uow: Work, document: str) -> list[Line]: ...
    def document_allocations(self, conn: Connection, document: str) -> list[dict[str, Any]]: ...
    def expire_holds(self, uow: Work, hold_ids: Sequence[str], now: datetime) -> int: ...
    def expired_hold_ids(
        self, conn: Connection, now: datetime, *, skus: Iterable[str] | None = None, limit: int = 500
    ) -> list[str]: ...
    def get_hold(self, conn: Connection, hold_id: str) -> dict[str, Any] | None: ...
    def lock_available(self, conn: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]: ...
    def open_allocations(self, conn: Connection, document: str) -> list[tuple[int, str, str, int]]: ...
    def open_allocations_at(self, conn: Connection, sku: str, location: str) -> list[tuple[int, str, int]]: ...
    def pick_allocation(
        self, uow: Work, allocation_id: int, qty: int, move: PlannedMovement, *, now: datetime, trace_id: str | None
    ) -> dict[str, Any] | None: ...
    def record_forced_movement(
        self,
        uow: Work,
        move: PlannedMovement,
        *,
        now: datetime,
        occurred_at: datetime | None = None,
        trace_id: str | None = None,
    ) -> tuple[dict[str, Any], Balance]: ...
    def record_movement(
        self,
        uow: Work,
        move: PlannedMovement,
        *,
        now: datetime,
        occurred_at: datetime | None = None,
        trace_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]: ...


class OrdersRepository(Protocol):
    """``store.orders_repo``, as the commands call it."""

    def backorder_candidates(self, conn: Connection, statuses: Iterable[str], limit: int) -> list[dict[str, Any]]: ...
    def claim_order(self, conn: Connection, values: Mapping[str, Any]) -> bool: ...
    def get_order(self, conn: Connection, order_id: str, *, for_update: bool = False) -> dict[str, Any] | None: ...
    def get_return(self, conn: Connection, return_id: str) -> dict[str, Any] | None: ...
    def insert_exception(self, conn: Connection, values: Mapping[str, Any]) -> int: ...
    def insert_lines(self, conn: Connection, order_id: str, lines: Sequence[LineState]) -> None: ...
    def insert_return(
        self,
        conn: Connection,
        values: Mapping[str, Any],
        lines: Sequence[Mapping[str, Any]],
        refund_rows: Sequence[tuple[str, Decimal]],
    ) -> None: ...
    def insert_tenders(self, conn: Connection, order_id: str, tenders: Sequence[tuple[str, Decimal]]) -> None: ...
    def order_id_for(self, conn: Connection, channel: str, external_id: str) -> str | None: ...
    def prices_for(
        self, conn: Connection, sku_codes: Iterable[str], price_list: str, currency: str
    ) -> dict[str, Decimal]: ...
    def refunded_by_tender(self, conn: Connection, order_id: str, currency: str) -> dict[str, Decimal]: ...
    def returns_of(self, conn: Connection, order_id: str) -> list[str]: ...
    def save_lines(self, conn: Connection, order_id: str, lines: Sequence[LineState]) -> None: ...
    def set_exchange(self, conn: Connection, return_id: str, order_id: str) -> None: ...
    def style_of(self, conn: Connection, sku_codes: Iterable[str]) -> dict[str, str]: ...
    def update_order(self, conn: Connection, order_id: str, **values: Any) -> None: ...


@dataclass(frozen=True, slots=True)
class Repositories:
    catalog: CatalogRepository
    channels: ChannelsRepository
    channel_orders: ChannelOrdersRepository
    finance: FinanceRepository
    ledger: LedgerRepository
    orders: OrdersRepository


#: The store's modules.
STORE = Repositories(
    catalog=catalog_repo,
    channels=channels_repo,
    channel_orders=channel_orders_repo,
    finance=finance_repo,
    ledger=ledger_repo,
    orders=orders_repo,
)
