"""Cost of goods (issue 17, DESIGN 7): the journals of value crossing the brand's walls, valuation as of a date,
standard costs, and reconcile's inventory leg (valuation = movements at cost = the inventory account).

Movements are valued as they are written (``store.cost_repo.value_movement``), which raises
``InventoryValued`` for value crossing the walls; the handler table (``service.handlers``) hands those to
``CostPoster``, which books one journal document per cause (a till sale's COGS, a return's reversal, a
receipt against goods received not invoiced, a count's or an adjustment's shrinkage), and on ``OrderShipped``
books the order's picks to COGS. Each is a finance document of kind ``journal`` (exported as a manual journal
to Xero, a JournalEntry to QuickBooks, with its export state), keyed by its cause: posting twice posts once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from prometheus_client import Counter
from sqlalchemy import Connection

from seamline.domain.errors import FieldError, InvalidInput, NotFound
from seamline.domain.money import parse_currency
from seamline.finance import Document, EntryBuilder, FinanceConfig, Role, journal_document
from seamline.finance.amounts import quantum, to_minor
from seamline.finance.cost import UNVALUED_LOCATIONS, booking, parse_unit_cost, shipment_cause
from seamline.finance.events import InventoryValued
from seamline.service.app import Seamline
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import catalog_repo, cost_repo, finance_repo, ledger_repo, revaluation_repo

log = logging.getLogger("seamline.costing")

COST_POSTING_FAILURES = Counter(
    "seamline_cost_posting_failures_total",
    "Cost journals that failed in the event's transaction (reconcile names them)",
)


def _config(conn: Connection) -> FinanceConfig:
    stored = finance_repo.get_config(conn)
    return FinanceConfig() if stored is None else FinanceConfig.from_json(stored)


# ------------------------------------------------------------------------------------------------ posting
@dataclass(frozen=True)
class _Part:
    role: str
    memo: str
    signed: Decimal  # + into inventory, - out of it


class CostPoster:
    """Books value at cost in the journal, inside a savepoint of the business event's transaction: a failure
    is logged and counted, the movement stands, and reconcile's inventory leg names the missing entry."""

    def __init__(self, app: Seamline) -> None:
        self.app = app

    def inventory_valued(self, uow: UnitOfWork, events: Sequence[InventoryValued]) -> None:
        if not events:
            return
        try:
            with uow.savepoint() as posting:
                self._book_values(posting, events)
        except Exception:  # noqa: BLE001 - the movement stands; reconcile names the entry that is missing
            COST_POSTING_FAILURES.inc()
            log.exception("cost journals of %s failed", sorted({e.cause for e in events}))

    def orders_shipped(self, uow: UnitOfWork, order_ids: Sequence[str]) -> None:
        if not order_ids:
            return
        try:
            with uow.savepoint() as posting:
                config = _config(posting.conn)
                for order_id in dict.fromkeys(order_ids):
                    self.book_shipment(posting, order_id, config)
        except Exception:  # noqa: BLE001 - the shipment stands; reconcile names the entry that is missing
            COST_POSTING_FAILURES.inc()
            log.exception("COGS of shipped orders %s failed", list(order_ids))

    def _book_values(self, uow: UnitOfWork, events: Sequence[InventoryValued]) -> None:
        config = _config(uow.conn)
        by_cause: dict[str, list[InventoryValued]] = {}
        for event in events:
            by_cause.setdefault(event.cause, []).append(event)
        for cause, found in by_cause.items():
            parts = [_Part(e.role, e.memo, e.value if e.inward else -e.value) for e in found]
            first = found[0]
            when = min(e.occurred_at for e in found)
            memo = f"{first.kind.replace('_', ' ')} {first.document or ''} at cost".replace("  ", " ")
            self._book(uow, config, cause, first.currency, when, memo, parts, order_id=None)

    def post_missing(self, uow: UnitOfWork, limit: int = 500) -> int:
        """Book what reconcile finds never booked (a posting that failed in its event's transaction): each
        cause whose movements moved value and whose journal has nothing. An entry with a wrong amount is
        left for a person (reconcile lists it): re-posting cannot tell which side is right."""
        conn = uow.conn
        config = _config(conn)
        posted = 0
        missing = [
            cause
            for cause, moved, booked in cost_repo.posting_differences(conn, config.account(Role.INVENTORY))
            if booked == 0 and moved != 0
        ][:limit]
        for cause in missing:
            if cause.startswith("cost:revaluation:"):
                posted += self._book_revaluation(uow, config, cause) is not None
                continue
            if cause.startswith("cost:shipment:"):
                posted += self.book_shipment(uow, cause.removeprefix("cost:shipment:"), config) is not None
                continue
            found = cost_repo.cause_parts(conn, cause)
            if not found:
                continue
            parts = []
            for part in found:
                source, target = ("WH", "customer") if part["outward"] else ("supplier", "WH")
                booked_as = booking(str(part["kind"]), source, target)
                if booked_as is None:
                    continue
                value = Decimal(str(part["value"] or 0))
                parts.append(_Part(booked_as.account_role, booked_as.memo, -value if part["outward"] else value))
            first = found[0]
            when = min(p["occurred_at"] for p in found)
            memo = f"{first['kind'].replace('_', ' ')} {first['document'] or ''} at cost".replace("  ", " ")
            posted += (
                self._book(uow, config, cause, str(first["currency"]), when, memo, parts, order_id=None) is not None
            )
        return posted

    def _book_revaluation(self, uow: UnitOfWork, config: FinanceConfig, cause: str) -> Document | None:
        """A revaluation's journal (inventory against the cost revaluation account), from its record."""
        found = revaluation_repo.by_cause(uow.conn, cause)
        if found is None:
            return None
        booked_as = booking("revaluation", "supplier", str(found["location"]))
        if booked_as is None:
            return None
        memo = f"{found['units']} x {found['sku']} at {found['location']} revalued"
        part = _Part(booked_as.account_role, memo, found["amount"])
        return self._book(uow, config, cause, str(found["currency"]), found["occurred_at"], memo, [part], order_id=None)

    def book_shipment(self, uow: UnitOfWork, order_id: str, config: FinanceConfig) -> Document | None:
        """COGS for what the order's picks took off the shelves and no shipment entry booked yet."""
        conn = uow.conn
        picked = cost_repo.picks_to_book(conn, order_id)
        count, booked = cost_repo.booked_shipments(conn, order_id)
        due = picked - booked
        if due == 0:
            return None
        currency = cost_repo.base_currency(conn)
        part = _Part(Role.COGS.value, "cost of goods sold", -due)
        return self._book(
            uow,
            config,
            shipment_cause(order_id, count + 1),
            currency,
            self.app.clock.now(),
            f"shipment of order {order_id} at cost",
            [part],
            order_id=order_id,
        )

    def _book(
        self,
        uow: UnitOfWork,
        config: FinanceConfig,
        cause: str,
        currency: str,
        when: datetime,
        memo: str,
        parts: Sequence[_Part],
        *,
        order_id: str | None,
    ) -> Document | None:
        """One balanced entry: inventory against each part's account (debit in, credit out), as a journal
        document (exported like the settlement journals) and its journal entry, once per cause."""
        day = config.business_date(when)
        entry = EntryBuilder(day, currency, memo, cause)
        inventory = config.account(Role.INVENTORY)
        for part in parts:
            amount = to_minor(part.signed, currency)
            entry.post(inventory, amount, part.memo)
            entry.post(config.account(part.role), -amount, part.memo)
        built = entry.build()
        if not built.lines:
            return None
        doc = journal_document("doc_" + uuid.uuid4().hex, built, order_id=order_id, extra={"cost": True})
        now = self.app.clock.now()
        posted = finance_repo.insert_document(uow, doc, now=now)
        if posted is None:
            return None
        finance_repo.insert_entry(uow.conn, "jnl_" + uuid.uuid4().hex, built, now=now, document_id=posted.id)
        return posted


def install(app: Seamline) -> CostPoster:
    """Book value at cost from every write transaction of ``app`` (once)."""
    if isinstance(app.bus.deps.costing, CostPoster):
        return app.bus.deps.costing
    poster = CostPoster(app)
    app.bus.deps.costing = poster
    return poster


# ------------------------------------------------------------------------------------------------ queries
def _m(value: Decimal, currency: str) -> str:
    return str(value.quantize(quantum(currency)))


def parse_as_of(raw: str | None) -> datetime | None:
    """``as_of``: a date (the end of that day, UTC) or an ISO datetime with its offset; None: now."""
    if raw is None or raw == "":
        return None
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), time.max).replace(tzinfo=UTC)
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            "bad query", [FieldError("as_of", "must be a date (2026-12-31) or an ISO datetime")]
        ) from None
    if at.tzinfo is None:
        raise InvalidInput("bad query", [FieldError("as_of", "a datetime needs its UTC offset")])
    return at


class Costing:
    """Valuation, standard costs and the inventory leg of reconcile."""

    def __init__(self, app: Seamline) -> None:
        self.app = app

    def valuation(
        self,
        *,
        as_of: str | None = None,
        location: str | None = None,
        by_sku: bool = False,
        cursor: str | None = None,
        limit: int = 500,
    ) -> dict[str, Any]:
        """Inventory value at cost per location (and per SKU, paged) as of a date: the sum of the movements at
        cost that occurred by then. ``total`` is over every location asked, whatever the page."""
        at = parse_as_of(as_of)
        after: tuple[str, str] | None = None
        if cursor is not None:
            loc, sep, sku = cursor.partition("|")
            if not sep or not by_sku:
                raise InvalidInput("bad query", [FieldError("cursor", "is not a cursor this API gave out")])
            after = (loc, sku)

        def work(conn: Connection) -> dict[str, Any]:
            kinds = ledger_repo.location_kinds(conn)
            if location is not None and location not in kinds:
                raise NotFound(f"no location {location}", code="unknown-location")
            if location is not None and location in UNVALUED_LOCATIONS:
                raise InvalidInput(
                    f"{location} holds no stock at cost", [FieldError("location", "is not a valued location")]
                )
            wanted = [location] if location else sorted(c for c in kinds if c not in UNVALUED_LOCATIONS)
            currency = cost_repo.base_currency(conn)
            per_location = cost_repo.valuation(conn, as_of=at, locations=wanted, by_sku=False)
            rows = (
                cost_repo.valuation(conn, as_of=at, locations=wanted, by_sku=True, after=after, limit=limit)
                if by_sku
                else []
            )
            return {"currency": currency, "per_location": per_location, "rows": rows}

        found = self.app.read(work)
        cur = found["currency"]
        total = sum((Decimal(str(r["value"])) for r in found["per_location"]), Decimal(0))
        out: dict[str, Any] = {
            "as_of": None if at is None else at.isoformat(),
            "currency": cur,
            "total": _m(total, cur),
            "units": sum(int(r["units"]) for r in found["per_location"]),
            "uncosted_units": sum(int(r["uncosted"] or 0) for r in found["per_location"]),
            "locations": [
                {
                    "location": r["location"],
                    "units": int(r["units"]),
                    "value": _m(Decimal(str(r["value"])), cur),
                    "uncosted_units": int(r["uncosted"] or 0),
                }
                for r in found["per_location"]
            ],
        }
        if by_sku:
            rows = found["rows"]
            out["items"] = [
                {
                    "location": r["location"],
                    "sku": r["sku"],
                    "units": int(r["units"]),
                    "value": _m(Decimal(str(r["value"])), cur),
                    "uncosted_units": int(r["uncosted"] or 0),
                }
                for r in rows
            ]
            out["next_cursor"] = f"{rows[-1]['location']}|{rows[-1]['sku']}" if len(rows) == limit else None
        return out

    def set_standard_cost(self, uow: UnitOfWork, sku: str, body: Any) -> dict[str, Any]:
        """A variant's standard cost: what a receipt without a cost of its own is valued at."""
        conn = uow.conn
        if not isinstance(body, dict):
            raise InvalidInput("bad body", [FieldError("body", "must be an object")])
        kinds = catalog_repo.known_skus(conn, [sku])
        if kinds.get(sku) != "variant":
            raise NotFound(f"no variant {sku}", code="unknown-sku")
        unit_cost = parse_unit_cost(body.get("unit_cost"))
        currency = check_cost_currency(conn, body.get("currency"))
        _, revalued = self._save_standard_costs(uow, {sku: unit_cost}, currency)
        # ``revalued``: the locations whose units held at no cost this cost valued (GET /v1/finance/revaluations).
        return {"sku": sku, "unit_cost": str(unit_cost), "currency": currency, "revalued_locations": revalued}

    def save_standard_costs(self, uow: UnitOfWork, costs: dict[str, Decimal]) -> list[str]:
        """Standard costs of variants in the base currency (``PUT /v1/styles`` ``variants[].cost``, the catalog
        CSV's ``cost`` column), set-based; answers the SKUs whose standard cost changed."""
        return self._save_standard_costs(uow, costs, cost_repo.base_currency(uow.conn))[0]

    def _save_standard_costs(self, uow: UnitOfWork, costs: dict[str, Decimal], currency: str) -> tuple[list[str], int]:
        """(the SKUs whose standard cost changed, how many rows of units at no cost were revalued)."""
        if not costs:
            return [], 0
        now = self.app.clock.now()
        changed = cost_repo.save_standard_costs(uow.conn, costs, currency, now)
        # Units held at nothing (received before any cost was known) are revalued at the cost now known.
        revalued = cost_repo.revalue_at_standard_costs(
            uow, {sku: costs[sku] for sku in changed}, occurred_at=now, now=now
        )
        return changed, revalued

    def revaluations(
        self, *, sku: str | None = None, location: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        found = self.app.read(lambda conn: revaluation_repo.revaluations(conn, sku=sku, location=location, limit=limit))
        return [
            {
                "id": r["id"],
                "sku": r["sku"],
                "location": r["location"],
                "units": r["units"],
                "old_unit_cost": str(r["old_unit_cost"].quantize(Decimal("0.0001"))),
                "new_unit_cost": str(r["new_unit_cost"].quantize(Decimal("0.0001"))),
                "amount": _m(r["amount"], r["currency"]),
                "currency": r["currency"],
                "reason": r["reason"],
                "journal_source": r["cause"],
                "occurred_at": r["occurred_at"].isoformat(),
            }
            for r in found
        ]

    def cost_rows(self, *, sku: str | None = None, location: str | None = None) -> list[dict[str, Any]]:
        rows = self.app.read(lambda conn: cost_repo.cost_rows(conn, sku=sku, location=location))
        return [
            {
                "sku": r["sku"],
                "location": r["location"],
                "units": int(r["qty"]),
                "unit_cost": str(Decimal(str(r["unit_cost"])).quantize(Decimal("0.0001"))),
                "value": _m(Decimal(str(r["value"])), r["currency"]),
                "currency": r["currency"],
            }
            for r in rows
        ]


def check_cost_currency(conn: Connection, raw: Any) -> str:
    """A unit cost is in the base currency; a receipt may say so (``currency``), never another one."""
    base = cost_repo.base_currency(conn)
    if raw is None:
        return base
    if not isinstance(raw, str):
        raise InvalidInput("bad currency", [FieldError("currency", "must be an ISO 4217 code")])
    currency = parse_currency(raw)
    if currency != base:
        raise InvalidInput(
            f"unit costs are in the base currency {base}",
            [FieldError("currency", f"must be {base} (the finance configuration's base_currency)")],
        )
    return currency


# ------------------------------------------------------------------------------------------------ reconcile
def inventory_leg(conn: Connection, config: FinanceConfig, limit: int = 1000) -> dict[str, Any]:
    """Reconcile's fourth leg: valuation = movements at cost = the inventory account.

    - each cost row (sku, location) equals the sum of its movements' values;
    - each cause (a sale, a return, a receipt, a count, a shipped order's picks) booked to the inventory
      account exactly the value its movements moved across the walls;
    - the inventory account's balance equals the valuation now plus the picks awaiting their shipment.
    Differences are listed (up to ``limit`` of each kind) with the SKU/location or the document and both
    amounts; uncosted receipts are flagged (valued at nothing), not hidden."""
    currency = cost_repo.base_currency(conn)
    account = config.account(Role.INVENTORY)
    rows: list[dict[str, str]] = []
    for sku, location, stored, moved in cost_repo.cost_row_differences(conn):
        if len(rows) < limit:
            rows.append(
                {"sku": sku, "location": location, "stored": _m(stored, currency), "movements": _m(moved, currency)}
            )
    postings: list[dict[str, str]] = []
    for cause, moved, booked in cost_repo.posting_differences(conn, account):
        if len(postings) < limit:
            postings.append({"source": cause, "movements": _m(moved, currency), "journal": _m(booked, currency)})
    kinds = ledger_repo.location_kinds(conn)
    valued_locations = sorted(c for c in kinds if c not in UNVALUED_LOCATIONS)
    now_valued = cost_repo.valuation(conn, as_of=None, locations=valued_locations, by_sku=False)
    value = sum((Decimal(str(r["value"])) for r in now_valued), Decimal(0))
    uncosted_units = sum(max(0, int(r["uncosted"] or 0)) for r in now_valued)
    awaiting = cost_repo.awaiting_shipment_value(conn, account)
    balance = cost_repo.inventory_account_balance(conn, account)
    totals_agree = to_minor(value + awaiting, currency) == to_minor(balance, currency)
    uncosted = cost_repo.uncosted_count(conn)
    return {
        "clean": not rows and not postings and totals_agree,
        "currency": currency,
        "account": account,
        "valuation": _m(value, currency),
        "awaiting_shipment": _m(awaiting, currency),
        "account_balance": _m(balance, currency),
        "totals_agree": totals_agree,
        "cost_row_differences": rows,
        "posting_differences": postings,
        "uncosted_movements": uncosted,
        # Units on hand still at nothing (received before any cost was known, not revalued yet).
        "uncosted_units": uncosted_units,
        "uncosted": [
            {**m, "detail": "received without a unit cost, a standard cost or an average: valued at 0"}
            for m in cost_repo.uncosted_movements(conn, 20)
        ],
    }


__all__ = ["CostPoster", "Costing", "check_cost_currency", "install", "inventory_leg", "parse_as_of"]
