"""A fake unit of work for the order and finance commands: the repositories they call, in memory, so a business
rule of placing an order, a till sale, a fulfilment step, a return or a finance posting is tested where it
lives, with no database and no HTTP.

``FakeStore`` holds the state (catalog, prices, channels, stock, orders, allocations, movements, shipments,
returns, finance documents, entries and holds) and gives the unit of work fake repositories with the functions
and arguments of ``service.repositories`` (``catalog``, ``channels``, ``channel_orders``, ``finance``,
``ledger``, ``orders``): ``uow()`` is a real ``UnitOfWork`` over a ``FakeConnection`` (its location kinds come
from the store) carrying them, so the events a command raises are the ones it really raises, and a test sets
state through the store, never by patching modules.

The fakes keep the repositories' contracts that the rules depend on: a claimed (channel, external id) is
claimed once; a checked movement never takes more than is available (``Shortage``, nothing written); an
allocation takes available units, a pick or a cancel gives them up; a document is posted once per cause. They
do not model SQL, locking, rollback or concurrency: that is what ``tests/integration`` is for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Connection

from seamline.domain.clock import FixedClock
from seamline.domain.errors import Shortage, ShortLine
from seamline.finance.documents import Document, DocumentKind, document_number
from seamline.finance.events import DocumentPosted
from seamline.finance.journal import JournalEntry
from seamline.ledger.atp import ChannelPolicy
from seamline.ledger.model import PlannedMovement
from seamline.orders.model import LineState
from seamline.service.app import Seamline
from seamline.service.repositories import (
    CatalogRepository,
    ChannelOrdersRepository,
    ChannelsRepository,
    FinanceRepository,
    LedgerRepository,
    OrdersRepository,
    Repositories,
)
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import orders_repo as real_orders_repo
from tests.unit.fake_connection import FakeConnection

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

#: Columns an order row has before anything sets them (``orders`` table defaults).
_ORDER_DEFAULTS: dict[str, Any] = {
    "customer_id": None,
    "location": None,
    "price_tier": None,
    "ship_start": None,
    "cancel_date": None,
    "prebook": False,
    "tracking": None,
    "hold_id": None,
    "exchange_of": None,
}


class FakeCatalog:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def known_skus(self, _conn: Connection, codes: Iterable[str]) -> dict[str, str]:
        return {code: self.store.skus[code] for code in codes if code in self.store.skus}

    def prepack_map(self, _conn: Connection, pack_skus: Iterable[str]) -> dict[str, list[tuple[str, int]]]:
        return {sku: list(self.store.packs[sku]) for sku in pack_skus if sku in self.store.packs}


class FakeChannels:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def get_channel(self, _conn: Connection, code: str) -> dict[str, Any] | None:
        channel = self.store.channels.get(code)
        return None if channel is None else {"code": code, **channel}

    def kind_and_sources(self, _conn: Connection, code: str) -> tuple[str, list[str]] | None:
        channel = self.store.channels.get(code)
        return None if channel is None else (channel["kind"], list(channel["sources"]))

    def sourcing(self, _conn: Connection, code: str) -> tuple[list[str], bool] | None:
        channel = self.store.channels.get(code)
        return None if channel is None else (list(channel["sources"]), bool(channel["allow_split"]))

    def policies(self, _conn: Connection, skus: Sequence[str] | None = None) -> list[ChannelPolicy]:
        return [
            ChannelPolicy(code, c["kind"], tuple(c["sources"]), safety_stock=c.get("safety_stock", 0))
            for code, c in sorted(self.store.channels.items())
        ]


class FakeLedger:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def expired_hold_ids(self, _conn: Connection, _now: datetime, **_kw: Any) -> list[str]:
        return []

    def expire_holds(self, _uow: UnitOfWork, hold_ids: Sequence[str], _now: datetime) -> int:
        return len(hold_ids)

    def get_hold(self, _conn: Connection, _hold_id: str) -> dict[str, Any] | None:
        return None

    def lock_available(self, _conn: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        return {key: self.store.available(*key) for key in keys if key in self.store.on_hand}

    def allocate(
        self, _uow: UnitOfWork, document: str, takes: Sequence[tuple[str, str, int]], *, now: datetime
    ) -> list[ShortLine]:
        short = [
            ShortLine(s, q, self.store.available(s, loc), loc)
            for s, loc, q in takes
            if self.store.available(s, loc) < q
        ]
        if short:
            return short
        for sku, loc, qty in takes:
            self.store.committed[(sku, loc)] += qty
            self.store.allocations.append(
                {"id": len(self.store.allocations) + 1, "document": document, "sku": sku, "location": loc, "qty": qty}
            )
        return []

    def open_allocations(self, _conn: Connection, document: str) -> list[tuple[int, str, str, int]]:
        return [
            (a["id"], a["sku"], a["location"], a["qty"]) for a in self.store.allocations if a["document"] == document
        ]

    def pick_allocation(
        self,
        uow: UnitOfWork,
        allocation_id: int,
        qty: int,
        move: PlannedMovement,
        *,
        now: datetime,
        trace_id: str | None,
    ) -> dict[str, Any] | None:
        allocation = next(a for a in self.store.allocations if a["id"] == allocation_id)
        allocation["qty"] -= qty
        self.store.committed[(move.sku, move.from_location)] -= qty
        if not allocation["qty"]:
            self.store.allocations.remove(allocation)
        return self.record_movement(uow, move, now=now)

    def cancel_allocations(self, _uow: UnitOfWork, document: str) -> list[tuple[str, str, int]]:
        released = [a for a in self.store.allocations if a["document"] == document]
        for a in released:
            self.store.committed[(a["sku"], a["location"])] -= a["qty"]
            self.store.allocations.remove(a)
        return [(a["sku"], a["location"], a["qty"]) for a in released]

    def document_allocations(self, _conn: Connection, document: str) -> list[dict[str, Any]]:
        return [
            {"sku": a["sku"], "location": a["location"], "qty": a["qty"]}
            for a in self.store.allocations
            if a["document"] == document
        ]

    def record_movement(self, _uow: UnitOfWork, move: PlannedMovement, *, now: datetime, **_kw: Any) -> dict[str, Any]:
        if move.checked and self.store.available(move.sku, move.from_location) < move.qty:
            have = self.store.available(move.sku, move.from_location)
            raise Shortage([ShortLine(move.sku, move.qty, have, move.from_location)])
        self.store.on_hand[(move.sku, move.from_location)] -= move.qty
        self.store.on_hand[(move.sku, move.to_location)] += move.qty
        row = {"id": len(self.store.movements) + 1, "kind": move.kind.value, "sku": move.sku, "qty": move.qty,
               "from": move.from_location, "to": move.to_location, "document": move.document}  # fmt: skip
        self.store.movements.append(row)
        return row


class FakeChannelOrders:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def record_shipment(
        self, _conn: Connection, order_id: str, lines: Sequence[Mapping[str, Any]], **details: Any
    ) -> None:
        self.store.shipments.append({"order_id": order_id, "lines": [dict(line) for line in lines], **details})


class FakeOrders:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    money = staticmethod(real_orders_repo.money)

    def prices_for(
        self, _conn: Connection, sku_codes: Iterable[str], price_list: str, currency: str
    ) -> dict[str, Decimal]:
        prices = self.store.prices
        return {s: prices[(s, price_list, currency)] for s in sku_codes if (s, price_list, currency) in prices}

    def style_of(self, _conn: Connection, sku_codes: Iterable[str]) -> dict[str, str]:
        return {sku: sku.rsplit("-", 1)[0] for sku in sku_codes}

    def claim_order(self, _conn: Connection, values: Mapping[str, Any]) -> bool:
        if self.order_id_for(_conn, values["channel"], values["external_id"]) is not None:
            return False
        self.store.orders[values["id"]] = {**_ORDER_DEFAULTS, **values, "lines": [], "tenders": []}
        return True

    def order_id_for(self, _conn: Connection, channel: str, external_id: str) -> str | None:
        return next(
            (o["id"] for o in self.store.orders.values() if (o["channel"], o["external_id"]) == (channel, external_id)),
            None,
        )

    def insert_lines(self, _conn: Connection, order_id: str, lines: Sequence[LineState]) -> None:
        self.store.orders[order_id]["lines"] = list(lines)

    save_lines = insert_lines

    def insert_tenders(self, _conn: Connection, order_id: str, tenders: Sequence[tuple[str, Decimal]]) -> None:
        self.store.orders[order_id]["tenders"] = list(tenders)

    def update_order(self, _conn: Connection, order_id: str, **values: Any) -> None:
        self.store.orders[order_id].update(values)

    def get_order(self, _conn: Connection, order_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
        order = self.store.orders.get(order_id)
        return None if order is None else dict(order)

    def returns_of(self, _conn: Connection, order_id: str) -> list[str]:
        return [r["id"] for r in self.store.returns.values() if r["order_id"] == order_id]

    def refunded_by_tender(self, _conn: Connection, order_id: str, _currency: str) -> dict[str, Decimal]:
        paid_back: dict[str, Decimal] = defaultdict(Decimal)
        for r in self.store.returns.values():
            if r["order_id"] == order_id:
                for tender, amount in r["refunds"]:
                    paid_back[tender] += amount
        return dict(paid_back)

    def insert_return(
        self,
        _conn: Connection,
        values: Mapping[str, Any],
        lines: Sequence[Mapping[str, Any]],
        refund_rows: Sequence[tuple[str, Decimal]],
    ) -> None:
        self.store.returns[values["id"]] = {
            **values,
            "lines": [dict(line) for line in lines],
            "refunds": list(refund_rows),
            "exchange_order_id": None,
        }

    def get_return(self, _conn: Connection, return_id: str) -> dict[str, Any] | None:
        found = self.store.returns.get(return_id)
        return None if found is None else dict(found)


class FakeFinance:
    """Finance documents, journal entries and holds, keyed by their cause like ``store.finance_repo``."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def get_config(self, _conn: Connection) -> dict[str, Any] | None:
        return self.store.finance_config

    def sku_facts(self, _conn: Connection, codes: Iterable[str]) -> dict[str, dict[str, Any]]:
        return {code: dict(self.store.sku_facts[code]) for code in codes if code in self.store.sku_facts}

    def insert_document(
        self, uow: UnitOfWork, doc: Document, *, now: datetime, trace_id: str | None = None
    ) -> Document | None:
        if any(d["source"] == doc.source_key for d in self.store.documents):
            return None
        seq = len(self.store.documents) + 1
        numbered = Document.from_json({**doc.as_json(), "number": document_number(doc.kind, seq)})
        self.store.documents.append({**numbered.as_json(), "seq": seq})
        uow.raise_event(DocumentPosted(numbered.as_json()))
        return numbered

    def insert_entry(self, _conn: Connection, entry_id: str, entry: JournalEntry, **_kw: Any) -> bool:
        if any(e.source_key == entry.source_key for e in self.store.entries):
            return False
        self.store.entries.append(entry)
        return True

    def documents_of_order(
        self, _conn: Connection, order_id: str, kind: DocumentKind | None = None
    ) -> list[dict[str, Any]]:
        return [
            dict(d)
            for d in self.store.documents
            if d["order_id"] == order_id and (kind is None or d["kind"] == kind.value)
        ]

    def invoiced_units(self, conn: Connection, order_id: str) -> dict[int, int]:
        out: defaultdict[int, int] = defaultdict(int)
        for doc in self.documents_of_order(conn, order_id, DocumentKind.INVOICE):
            for line in doc["lines"]:
                if line["order_line_no"] is not None and line["sku"] not in ("shipping", "duty"):
                    out[int(line["order_line_no"])] += int(line["qty"])
        return dict(out)

    def payments_applied(self, conn: Connection, order_id: str) -> dict[str, Decimal]:
        out: defaultdict[str, Decimal] = defaultdict(Decimal)
        for doc in self.documents_of_order(conn, order_id, DocumentKind.PAYMENT):
            for tender in doc["tenders"]:
                out[tender["tender"]] += Decimal(tender["amount"])
        return dict(out)

    def hold(self, _conn: Connection, values: Mapping[str, Any]) -> None:
        self.store.finance_holds[values["source_key"]] = {**values, "resolved_at": None}

    def resolve_hold(self, _conn: Connection, source_key: str, now: datetime) -> None:
        held = self.store.finance_holds.get(source_key)
        if held is not None and held["resolved_at"] is None:
            held["resolved_at"] = now

    def unposted_sales(self, _conn: Connection, limit: int) -> list[str]:
        posted = {d["source"] for d in self.store.documents}
        pos = [o["id"] for o in self.store.orders.values() if o["kind"] == "pos" and f"sale:{o['id']}" not in posted]
        return pos[:limit]

    def unposted_returns(self, _conn: Connection, limit: int) -> list[str]:
        posted = {d["source"] for d in self.store.documents}
        return [r for r in self.store.returns if f"return:{r}" not in posted][:limit]

    def uninvoiced_orders(self, conn: Connection, limit: int) -> list[str]:
        out = []
        for order in self.store.orders.values():
            invoiced = self.invoiced_units(conn, order["id"])
            if order["kind"] != "pos" and any(li.shipped > invoiced.get(li.line_no, 0) for li in order["lines"]):
                out.append(order["id"])
        return out[:limit]


class FakeStore:
    """The state the order commands read and write, and the repositories over it."""

    def __init__(
        self,
        *,
        locations: Mapping[str, str],
        skus: Mapping[str, str],
        channels: Mapping[str, Mapping[str, Any]] | None = None,
        prices: Mapping[tuple[str, str, str], Decimal] | None = None,
        packs: Mapping[str, Sequence[tuple[str, int]]] | None = None,
        stock: Mapping[tuple[str, str], int] | None = None,
        sku_facts: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.locations = dict(locations)
        self.skus = dict(skus)
        self.channels: dict[str, dict[str, Any]] = {
            code: {"allow_split": False, "on_shortage": "reject", **c} for code, c in (channels or {}).items()
        }
        self.prices = dict(prices or {})
        self.packs = {sku: list(components) for sku, components in (packs or {}).items()}
        self.on_hand: defaultdict[tuple[str, str], int] = defaultdict(int, stock or {})
        self.committed: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.orders: dict[str, dict[str, Any]] = {}
        self.allocations: list[dict[str, Any]] = []
        self.movements: list[dict[str, Any]] = []
        self.returns: dict[str, dict[str, Any]] = {}
        self.shipments: list[dict[str, Any]] = []
        #: SKU → its style's name and tax class, colour and size (what a finance document line says).
        self.sku_facts = {sku: dict(facts) for sku, facts in (sku_facts or {}).items()}
        #: The stored chart-of-accounts and tax mapping (``FinanceConfig.as_json()``); None: the defaults.
        self.finance_config: dict[str, Any] | None = None
        self.documents: list[dict[str, Any]] = []
        self.entries: list[JournalEntry] = []
        self.finance_holds: dict[str, dict[str, Any]] = {}
        self.catalog_repo = FakeCatalog(self)
        self.channel_orders_repo = FakeChannelOrders(self)
        self.channels_repo = FakeChannels(self)
        self.ledger_repo = FakeLedger(self)
        self.orders_repo = FakeOrders(self)
        self.finance_repo = FakeFinance(self)

    def available(self, sku: str, location: str) -> int:
        return self.on_hand[(sku, location)] - self.committed[(sku, location)]

    def uow(self) -> UnitOfWork:
        """A unit of work over this store: its repositories are the store's fakes."""
        repositories = Repositories(
            catalog=cast(CatalogRepository, self.catalog_repo),
            channels=cast(ChannelsRepository, self.channels_repo),
            channel_orders=cast(ChannelOrdersRepository, self.channel_orders_repo),
            finance=cast(FinanceRepository, self.finance_repo),
            ledger=cast(LedgerRepository, self.ledger_repo),
            orders=cast(OrdersRepository, self.orders_repo),
        )
        return UnitOfWork(cast(Connection, FakeConnection(self.locations)), repositories=repositories)

    @staticmethod
    def app() -> Seamline:
        """What an order part needs of the application when it is handed a unit of work: the clock."""
        return cast(Seamline, _App())


class _App:
    def __init__(self) -> None:
        self.clock = FixedClock(NOW)
