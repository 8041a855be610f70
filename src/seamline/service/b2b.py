"""The wholesale B2B portal (issue 7): accounts, live and future availability at the account's price tier,
order entry into the one queue with ship windows, order status, and the inbound supply pre-books are
promised from. Each public method taking a ``conn`` is the whole of one transaction.

**Never the same units to two accounts.** Units on hand are promised by allocation, which the ledger does
with conditional updates (a unit allocated once is gone). Units not yet here are promised by backordering
them (a pre-book, or the rest of an at-once order on a channel that backorders): the portal then locks the
SKUs' open supply rows, and after placing the order checks that open supply (expected by the order's cancel
date) still covers every unit backordered on any open order, this one included; if not, nothing is written
(409, the shortage per SKU). Two promises of the same future units therefore run one after the other, and
the second sees the first. When supply arrives, ``receive_supply`` books it and runs the allocation in the
same transaction, so arriving units go to the backorders they were promised to before anyone else sees them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from seamline.domain.clock import iso_utc
from seamline.domain.errors import Conflict, FieldError, InvalidInput, NotFound, Shortage, ShortLine
from seamline.domain.money import parse_currency
from seamline.domain.quantity import require_positive_qty
from seamline.ledger import SELLABLE_KINDS
from seamline.service.app import Seamline, catalog_code_ok, movement_view
from seamline.service.customers import ContactRequest
from seamline.service.orders import LineRequest, OrderDesk, OrderRequest
from seamline.service.results import PutResult
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import b2b_repo, catalog_repo, channels_repo, ledger_repo, orders_repo, outbox_repo

#: The price list an account falls back to when its tier has no price for a style.
BASE_PRICE_LIST = "wholesale"
SUPPLY_KINDS = ("po", "asn")


@dataclass(frozen=True)
class PortalLine:
    sku: str
    qty: int


@dataclass(frozen=True)
class PortalOrder:
    po_number: str
    lines: Sequence[PortalLine]
    ship_start: date | None = None
    cancel_date: date | None = None
    prebook: bool = False
    customer: ContactRequest | None = None


@dataclass(frozen=True)
class SupplyDocument:
    reference: str
    kind: str
    location: str
    expected_on: date
    lines: Sequence[PortalLine]


def unknown_account(code: str) -> NotFound:
    return NotFound(f"no wholesale account {code}", code="unknown-account")


class WholesalePortal:
    def __init__(self, app: Seamline) -> None:
        self.app = app
        self.desk = OrderDesk(app)

    # ------------------------------------------------------------------ accounts
    def put_account(self, conn: Connection, code: str, body: Mapping[str, Any]) -> PutResult[dict[str, Any]]:
        if not catalog_code_ok(code):
            raise InvalidInput("bad account code", [FieldError("code", "must be 1-64 letters, digits or . _ - /")])
        errors: list[FieldError] = []
        channel = channels_repo.get_channel(conn, str(body.get("channel") or ""))
        if channel is None:
            errors.append(FieldError("channel", "does not exist"))
        elif channel["kind"] != "wholesale":
            errors.append(FieldError("channel", f"is a {channel['kind']} channel, not a wholesale one"))
        tier = str(body.get("price_tier") or BASE_PRICE_LIST)
        if not catalog_code_ok(tier):
            errors.append(FieldError("price_tier", "must be a price list code"))
        try:
            currency = parse_currency(str(body.get("currency") or ""))
        except InvalidInput:
            errors.append(FieldError("currency", "must be an ISO 4217 code"))
            currency = ""
        if not str(body.get("name") or "").strip():
            errors.append(FieldError("name", "is required"))
        terms = body.get("payment_terms_days")
        if terms is not None and (isinstance(terms, bool) or not isinstance(terms, int) or not 0 <= terms <= 365):
            errors.append(FieldError("payment_terms_days", "is a whole number of days from 0 to 365"))
        if errors:
            raise InvalidInput(f"account {code} is not valid", errors)
        existing = b2b_repo.get_account(conn, code)
        values = {
            "name": str(body["name"]).strip(),
            "channel": str(body["channel"]),
            "price_tier": tier,
            "currency": currency,
            "allow_prebook": bool(body.get("allow_prebook", False)),
            "active": bool(body.get("active", True)),
            # Its invoices are due this many days after they are raised (the books' due date); None: the
            # accounting connection's default for wholesale orders.
            "payment_terms_days": terms,
        }
        b2b_repo.save_account(conn, code, values, self.app.clock.now())
        saved = b2b_repo.get_account(conn, code)
        assert saved is not None
        return PutResult(existing is None, account_view(saved))

    def account(self, code: str) -> dict[str, Any]:
        return account_view(self.app.read(lambda conn: self._account(conn, code)))

    @staticmethod
    def _account(conn: Connection, code: str) -> dict[str, Any]:
        row = b2b_repo.get_account(conn, code)
        if row is None:
            raise unknown_account(code)
        return row

    # ------------------------------------------------------------------ prices
    @staticmethod
    def _prices(conn: Connection, account: Mapping[str, Any], skus: Sequence[str]) -> dict[str, Decimal]:
        """The account's unit price per SKU: its tier's price list, else the base wholesale list; a ratio
        pack costs its units' worth."""
        currency = account["currency"]
        prices = orders_repo.prices_for(conn, skus, BASE_PRICE_LIST, currency)
        if account["price_tier"] != BASE_PRICE_LIST:
            prices.update(orders_repo.prices_for(conn, skus, account["price_tier"], currency))
        packs = catalog_repo.prepack_map(conn, [s for s in skus if s in prices])
        return {sku: price * sum(units for _, units in packs.get(sku, [(sku, 1)])) for sku, price in prices.items()}

    # ------------------------------------------------------------------ availability
    @staticmethod
    def _promised(conn: Connection, components: Sequence[str]) -> dict[str, int]:
        """Units of each component SKU backordered on open orders (packs counted in their units)."""
        packs = outbox_repo.packs_containing(conn, components)
        backordered = b2b_repo.backordered_units(conn, [*components, *packs])
        promised = {c: backordered.get(c, 0) for c in components}
        for pack, parts in packs.items():
            for component, units in parts:
                if component in promised:
                    promised[component] += backordered.get(pack, 0) * units
        return promised

    def availability(
        self,
        code: str,
        *,
        sku: str | None = None,
        style: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> tuple[dict[str, Any], list[dict[str, Any]], str | None]:
        """Per SKU: what the account can order now (the wholesale channel's ATP), at its price, and (when it
        may pre-book) what it can pre-book from supply on its way, by expected date."""
        account = self.account(code)
        if not account["active"]:
            raise Conflict(f"account {code} is not active", code="account-inactive")
        items, next_cursor = self.app.availability(account["channel"], sku=sku, style=style, after=after, limit=limit)

        def work(conn: Connection) -> list[dict[str, Any]]:
            skus = [item["sku"] for item in items]
            row = self._account(conn, code)
            prices = self._prices(conn, row, skus)
            packs = catalog_repo.prepack_map(conn, skus)
            components = sorted({c for s in skus for c, _ in packs.get(s, [(s, 1)])})
            supply = b2b_repo.incoming(conn, components) if row["allow_prebook"] else {}
            promised = self._promised(conn, components) if row["allow_prebook"] else {}
            out = []
            for item in items:
                entry: dict[str, Any] = {
                    "sku": item["sku"],
                    "available": item["available"],
                    "price": None
                    if item["sku"] not in prices
                    else {"amount": f"{prices[item['sku']]:.2f}", "currency": row["currency"]},
                }
                if row["allow_prebook"]:
                    parts = packs.get(item["sku"], [(item["sku"], 1)])
                    future = {c: _future(supply.get(c, []), promised.get(c, 0)) for c, _ in parts}
                    entry["future_available"] = min(future[c][-1][1] // u if future[c] else 0 for c, u in parts)
                    if len(parts) == 1:
                        entry["incoming"] = [
                            {"expected_on": d.isoformat(), "available": units} for d, units in future[parts[0][0]]
                        ]
                out.append(entry)
            return out

        return account, self.app.read(work), next_cursor

    # ------------------------------------------------------------------ orders
    def place_order(
        self, uow: UnitOfWork, code: str, req: PortalOrder, *, trace_id: str | None = None
    ) -> PutResult[dict[str, Any]]:
        """An order of the account into the one queue: created, or the first order for a PO number already
        placed; ``Shortage`` and nothing written when units it would backorder are not coming in time."""
        conn = uow.conn
        account = self._account(conn, code)
        if not account["active"]:
            raise Conflict(f"account {code} is not active", code="account-inactive")
        if req.prebook and not account["allow_prebook"]:
            raise InvalidInput(
                f"account {code} may not pre-book",
                [FieldError("prebook", "is not allowed")],
                code="prebook-not-allowed",
            )
        if not req.po_number.strip():
            raise InvalidInput("a PO number is required", [FieldError("po_number", "is required")])
        existing = b2b_repo.order_for_po(conn, code, req.po_number)
        if existing is not None:
            return PutResult(False, self._view(conn, existing))
        skus = [line.sku for line in req.lines]
        for i, line in enumerate(req.lines):
            require_positive_qty(line.qty, f"lines[{i}].qty")
        prices = self._prices(conn, account, skus)
        known = catalog_repo.known_skus(conn, skus)
        missing = [
            FieldError(
                f"lines[{i}].sku", f"no {account['price_tier']!r} or {BASE_PRICE_LIST!r} price in {account['currency']}"
            )
            for i, line in enumerate(req.lines)
            if line.sku in known and line.sku not in prices
        ]
        if missing:
            raise InvalidInput("some lines have no price for this account", missing)
        packs = catalog_repo.prepack_map(conn, [s for s, kind in known.items() if kind == "prepack"])
        components = sorted({c for s in skus for c, _ in packs.get(s, [(s, 1)])})
        b2b_repo.lock_supply(conn, components)  # promises of these SKUs' future units: one at a time
        placed = self.desk.place_order(
            uow,
            OrderRequest(
                channel=account["channel"],
                external_id=f"{code}/{req.po_number}",
                lines=[
                    LineRequest(line.sku, line.qty, f"{prices[line.sku]:.4f}" if line.sku in prices else None)
                    for line in req.lines
                ],
                currency=account["currency"],
                kind="wholesale",
                customer=req.customer,
                price_tier=account["price_tier"],
                ship_start=req.ship_start,
                cancel_date=req.cancel_date,
                prebook=req.prebook,
            ),
            trace_id=trace_id,
        )
        order = placed.order
        if not placed.created:  # the same PO raced us in and won: its order is the answer
            return PutResult(False, {**order, "account": code, "po_number": req.po_number})
        self._check_promises(conn, order, packs, components, req.cancel_date)
        b2b_repo.insert_order(conn, order["id"], code, req.po_number, self.app.clock.now())
        return PutResult(True, {**order, "account": code, "po_number": req.po_number})

    def _check_promises(
        self,
        conn: Connection,
        order: Mapping[str, Any],
        packs: Mapping[str, list[tuple[str, int]]],
        components: Sequence[str],
        by: date | None,
    ) -> None:
        mine: dict[str, int] = defaultdict(int)
        for line in order["lines"]:
            for component, units in packs.get(line["sku"], [(line["sku"], 1)]):
                mine[component] += int(line["backordered"]) * units
        mine = {c: units for c, units in mine.items() if units > 0}
        if not mine:
            return
        supply = b2b_repo.incoming(conn, components)
        promised = self._promised(conn, sorted(mine))
        short = []
        for component in sorted(mine):
            coming = sum(units for expected, units in supply.get(component, []) if by is None or expected <= by)
            if promised[component] > coming:
                free = max(0, coming - (promised[component] - mine[component]))
                short.append(ShortLine(component, mine[component], free, None, "supply"))
        if short:
            raise Shortage(short)

    def _view(self, conn: Connection, order_id: str) -> dict[str, Any]:
        owner = b2b_repo.account_of(conn, order_id)
        view: dict[str, Any] = dict(self.desk.order_view(conn, order_id))
        if owner is not None:
            view["account"], view["po_number"] = owner
        return view

    def order(self, code: str, order_id: str) -> dict[str, Any]:
        def work(conn: Connection) -> dict[str, Any]:
            owner = b2b_repo.account_of(conn, order_id)
            if owner is None or owner[0] != code:
                raise NotFound(f"account {code} has no order {order_id}", code="unknown-order")
            return self._view(conn, order_id)

        return self.app.read(work)

    def orders(
        self, code: str, *, cursor: str | None = None, limit: int = 100
    ) -> tuple[list[dict[str, Any]], str | None]:
        if cursor is not None and not cursor.isdigit():
            raise InvalidInput("bad cursor", [FieldError("cursor", "is not a cursor this API gave out")])

        def work(conn: Connection) -> tuple[list[dict[str, Any]], str | None]:
            self._account(conn, code)
            rows = b2b_repo.account_orders(conn, code, after_seq=int(cursor) if cursor else None, limit=limit)
            return [self._view(conn, order_id) for _, order_id, _ in rows], (
                str(rows[-1][0]) if len(rows) == limit else None
            )

        return self.app.read(work)

    # ------------------------------------------------------------------ inbound supply
    def put_supply(self, conn: Connection, doc: SupplyDocument) -> PutResult[dict[str, Any]]:
        """Create or replace an open purchase order / ASN: lines it no longer names are cancelled."""
        errors: list[FieldError] = []
        if doc.kind not in SUPPLY_KINDS:
            errors.append(FieldError("kind", "must be po or asn"))
        if not doc.lines:
            errors.append(FieldError("lines", "needs at least one line"))
        if ledger_repo.location_kinds(conn).get(doc.location) not in SELLABLE_KINDS:
            errors.append(FieldError("location", "must be a warehouse, store or 3PL location"))
        known = catalog_repo.known_skus(conn, [line.sku for line in doc.lines])
        for i, line in enumerate(doc.lines):
            if known.get(line.sku) != "variant":
                errors.append(FieldError(f"lines[{i}].sku", "must be a stocked SKU (not a prepack)"))
            if isinstance(line.qty, bool) or not isinstance(line.qty, int) or line.qty <= 0:
                errors.append(FieldError(f"lines[{i}].qty", "must be a whole number above 0"))
        if len({line.sku for line in doc.lines}) != len(doc.lines):
            errors.append(FieldError("lines", "names a SKU twice"))
        if errors:
            raise InvalidInput(f"supply {doc.reference} is not valid", errors)
        now = self.app.clock.now()
        existing = b2b_repo.supply_rows(conn, doc.reference, for_update=True)
        if any(row["status"] == "received" for row in existing):
            raise Conflict(f"supply {doc.reference} has been received", code="supply-received")
        for line in doc.lines:
            b2b_repo.upsert_supply_line(
                conn,
                {
                    "reference": doc.reference,
                    "kind": doc.kind,
                    "sku": line.sku,
                    "location": doc.location,
                    "qty": line.qty,
                    "expected_on": doc.expected_on,
                    "status": "open",
                },
                now,
            )
        b2b_repo.close_supply_lines(conn, doc.reference, [(line.sku, doc.location) for line in doc.lines], now)
        return PutResult(not existing, supply_view(doc.reference, b2b_repo.supply_rows(conn, doc.reference)))

    def supply(self, *, sku: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        rows = self.app.read(lambda conn: b2b_repo.list_supply(conn, sku=sku, status=status))
        return [supply_line_view(r) for r in rows]

    def receive_supply(
        self,
        uow: UnitOfWork,
        reference: str,
        lines: Sequence[PortalLine] | None = None,
        *,
        trace_id: str | None = None,
    ) -> dict[str, Any]:
        """The goods arrived: a receipt movement per line (all that is still to come, or ``lines``), the
        supply marked received, and the allocation run, in one transaction: pre-books get their units first."""
        conn = uow.conn
        rows = [r for r in b2b_repo.supply_rows(conn, reference, for_update=True) if r["status"] == "open"]
        if not rows:
            raise NotFound(f"no open supply {reference}", code="unknown-supply")
        by_sku = {row["sku"]: row for row in rows}
        wanted: dict[str, int] = {}
        if lines is None:
            wanted = {row["sku"]: row["qty"] - row["received"] for row in rows if row["qty"] > row["received"]}
        else:
            errors = [
                FieldError(f"lines[{i}].sku", f"{line.sku} is not open on {reference}")
                for i, line in enumerate(lines)
                if line.sku not in by_sku
            ]
            if errors:
                raise InvalidInput(f"supply {reference} does not name these SKUs", errors)
            for i, line in enumerate(lines):
                wanted[line.sku] = wanted.get(line.sku, 0) + require_positive_qty(line.qty, f"lines[{i}].qty")
        now = self.app.clock.now()
        # The receipt movements by the set-based path, one statement set per location of the supply (a
        # season's supply is thousands of lines), each line checked by the rules of one record_movement.
        per_location: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for sku, qty in sorted(wanted.items()):
            per_location[by_sku[sku]["location"]].append((sku, qty))
        before = ledger_repo.last_movement_id(conn)
        for location, received_lines in sorted(per_location.items()):
            self.app.receive_lines(uow, location, received_lines, document=reference, trace_id=trace_id)
        movements = [movement_view(r) for r in ledger_repo.movements_after(conn, before, document=reference)]
        for sku, qty in sorted(wanted.items()):
            row = by_sku[sku]
            received = row["received"] + qty
            b2b_repo.record_received(conn, row["id"], received, "received" if received >= row["qty"] else "open", now)
        allocation = self.desk.run_allocation(uow)
        return {
            "reference": reference,
            "movements": movements,
            "supply": supply_view(reference, b2b_repo.supply_rows(conn, reference))["lines"],
            "allocation": allocation,
        }


def _future(supply: Sequence[tuple[date, int]], promised: int) -> list[tuple[date, int]]:
    """Units free to promise by each expected date: cumulative supply less what is already promised."""
    out = []
    total = 0
    for expected, units in supply:
        total += units
        out.append((expected, max(0, total - promised)))
    return out


def account_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "code": row["code"],
        "name": row["name"],
        "channel": row["channel"],
        "price_tier": row["price_tier"],
        "currency": row["currency"],
        "allow_prebook": bool(row["allow_prebook"]),
        "active": bool(row["active"]),
        "payment_terms_days": row["payment_terms_days"],
    }


def supply_line_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "reference": row["reference"],
        "kind": row["kind"],
        "sku": row["sku"],
        "location": row["location"],
        "qty": row["qty"],
        "received": row["received"],
        "expected_on": row["expected_on"].isoformat(),
        "status": row["status"],
        "updated_at": iso_utc(row["updated_at"]),
    }


def supply_view(reference: str, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"reference": reference, "lines": [supply_line_view(r) for r in rows]}
