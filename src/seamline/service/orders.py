"""The one order queue's commands (DESIGN 5): orders from every channel, POS sales, returns and exchanges,
the wholesale allocation run and oversell exceptions. Each public method taking a ``conn`` is the whole of
one transaction: the API and the CLI run it through ``Seamline.write``/``Seamline.idempotent``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from seamline.domain.clock import ensure_utc, iso_utc
from seamline.domain.commerce import OrderCommerce, RefundCommerce
from seamline.domain.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound, Shortage, ShortLine
from seamline.domain.money import Money, minor_exponent, parse_currency
from seamline.domain.quantity import require_positive_qty
from seamline.finance.channel import refund_of_return
from seamline.ledger import SELLABLE_KINDS, Balance
from seamline.ledger.model import MovementKind, PlannedMovement
from seamline.orders.allocation import (
    Components,
    DemandLine,
    component_demand,
    draw_allocations,
    hold_covers_exactly,
    plan_channel_allocation,
    plan_pick,
)
from seamline.orders.events import OrderCancelled, OrderShipped, ReturnBooked, SaleRecorded
from seamline.orders.model import QUEUED_KINDS, Condition, LineState, OrderKind, OrderStatus
from seamline.orders.oversell import oversold_units, short_allocations
from seamline.orders.returns import PlannedReturnLine, ReturnRequestLine, plan_return, split_refund
from seamline.orders.state import (
    ALLOWED_FROM,
    Step,
    cancel_all,
    derive_status,
    illegal,
    pack_all,
    require_step,
    ship_all,
)
from seamline.orders.wholesale import allocation_priority, check_window, past_cancel, require_in_window
from seamline.service import metrics
from seamline.service.app import Seamline
from seamline.service.customers import Contact, ContactRequest, attach_customer, parse_contact
from seamline.service.principal import Principal, default_till_channel, is_till_channel
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import catalog_repo, channel_orders_repo, channels_repo, ledger_repo, orders_repo

#: The tender that pays an exchange's new order with the value of the goods brought back.
EXCHANGE_CREDIT = "exchange_credit"
MARKETPLACE_CHANNEL_KINDS = frozenset({"amazon", "mirakl", "marketplace"})


# ------------------------------------------------------------------------------------------------ requests
@dataclass(frozen=True, slots=True)
class LineRequest:
    sku: str
    qty: int
    unit_price: str | None = None


@dataclass(frozen=True, slots=True)
class TenderRequest:
    type: str
    amount: str


@dataclass(frozen=True, slots=True)
class OrderRequest:
    channel: str
    external_id: str
    lines: Sequence[LineRequest]
    currency: str
    kind: str | None = None
    customer: ContactRequest | None = None
    hold_id: str | None = None
    tenders: Sequence[TenderRequest] = ()
    price_tier: str | None = None
    ship_start: date | None = None
    cancel_date: date | None = None
    prebook: bool = False
    #: The channel's commercial truth (prices, discounts, tax, shipping, payments and its total): stored with
    #: the order; finance invoices from it. The tenders then pay the channel's total (or part of it).
    commerce: OrderCommerce | None = None


@dataclass(frozen=True, slots=True)
class SaleRequest:
    location: str
    external_id: str
    lines: Sequence[LineRequest]
    tenders: Sequence[TenderRequest]
    currency: str
    customer: ContactRequest | None = None
    occurred_at: datetime | None = None
    channel: str | None = None
    force: bool = False
    #: The till's own numbers (a Square order's base prices, discounts, taxes and total), kept with the sale.
    commerce: OrderCommerce | None = None


@dataclass(frozen=True, slots=True)
class ReturnRequest:
    order_id: str
    location: str
    lines: Sequence[ReturnRequestLine]
    refund_tender: str | None = None
    #: What the channel refunded (lines, shipping, adjustments, transactions): the refund is its
    #: transactions, and finance credits from it.
    commerce: RefundCommerce | None = None


@dataclass(frozen=True, slots=True)
class ExchangeRequest:
    order_id: str
    location: str
    return_lines: Sequence[ReturnRequestLine]
    lines: Sequence[LineRequest]
    tenders: Sequence[TenderRequest] = ()
    refund_tender: str | None = None
    fulfil: str | None = None  # "here" (handed over now at ``location``) | "ship" (an order on the channel)


@dataclass(frozen=True, slots=True)
class ParsedLine:
    line_no: int
    sku: str
    qty: int
    unit_price: Decimal
    components: Components

    def demand(self, qty: int | None = None) -> DemandLine:
        return DemandLine(self.line_no, self.sku, self.qty if qty is None else qty, self.components)


@dataclass
class _Problems:
    """Collects field errors with their codes; the answer's code is specific when they all agree."""

    errors: list[FieldError] = field(default_factory=list)
    codes: set[str] = field(default_factory=set)

    def add(self, error: FieldError, code: str = "validation-error") -> None:
        self.errors.append(error)
        self.codes.add(code)

    def extend(self, exc: InvalidInput) -> None:
        for error in exc.errors:
            self.add(error, exc.code)

    def raise_if_any(self, detail: str) -> None:
        if self.errors:
            raise InvalidInput(detail, self.errors, code=self.codes.pop() if len(self.codes) == 1 else None)


def unknown_order(order_id: str, *, in_body: bool) -> Exception:
    if in_body:
        return InvalidInput(
            f"unknown order {order_id}", [FieldError("order_id", "does not exist")], code="unknown-order"
        )
    return NotFound(f"no order {order_id}", code="unknown-order")


def order_kind_for(requested: str | None, channel_kind: str) -> OrderKind:
    if requested is None:
        if channel_kind == "wholesale":
            return OrderKind.WHOLESALE
        return OrderKind.MARKETPLACE if channel_kind in MARKETPLACE_CHANNEL_KINDS else OrderKind.DTC
    try:
        kind = OrderKind(requested)
    except ValueError:
        kind = None
    if kind not in QUEUED_KINDS:
        raise InvalidInput(
            "bad order kind", [FieldError("kind", "must be dtc, marketplace or wholesale (POS sales: POST /v1/sales)")]
        )
    assert kind is not None
    return kind


def pos_channel(location: str) -> str:
    """Where a sale without a channel is filed (``principal.default_till_channel``)."""
    return default_till_channel(location)


def record_oversell(
    conn: Connection, after: Balance, *, moved: int, cause: str, document: str, movement_id: int, now: datetime
) -> dict[str, Any] | None:
    """After goods left ``after.location`` unchecked: when they were promised elsewhere, record an oversell
    exception naming the allocations now short, and count the units in the oversold KPI."""
    units = oversold_units(moved, after.on_hand, after.committed, after.reserved)
    if units <= 0:
        return None
    short = short_allocations(after.on_hand, ledger_repo.open_allocations_at(conn, after.sku, after.location))
    row = {
        "sku": after.sku,
        "location": after.location,
        "units": units,
        "cause": cause,
        "document": document,
        "movement_id": movement_id,
        "short_allocations": [
            {"allocation_id": s.allocation_id, "order_id": s.document, "units_short": s.units_short} for s in short
        ],
        "created_at": now,
    }
    exception_id = orders_repo.insert_exception(conn, row)
    metrics.OVERSOLD_UNITS.inc(units)
    return {"id": exception_id, **row}


class OrderDesk:
    """Order, sale, return and exchange handlers over one ``Seamline`` application."""

    def __init__(self, app: Seamline) -> None:
        self.app = app

    def _now(self) -> datetime:
        return self.app.clock.now()

    # ------------------------------------------------------------------------------------ parsing
    def _parse_lines(
        self,
        conn: Connection,
        requested: Sequence[LineRequest],
        currency: str,
        price_list: str,
        *,
        field_name: str = "lines",
        fallback_prices: Mapping[str, Decimal] | None = None,
    ) -> list[ParsedLine]:
        """Validate lines: known SKUs, whole positive quantities, prices (given, or from the price list)."""
        problems = _Problems()
        if not requested:
            problems.add(FieldError(field_name, "needs at least one line"))
        kinds = catalog_repo.known_skus(conn, [line.sku for line in requested])
        packs = catalog_repo.prepack_map(conn, [s for s, k in kinds.items() if k == "prepack"])
        listed = orders_repo.prices_for(
            conn,
            [line.sku for line in requested if line.unit_price is None and line.sku in kinds],
            price_list,
            currency,
        )
        styles = orders_repo.style_of(conn, kinds) if fallback_prices else {}
        out: list[ParsedLine] = []
        for i, line in enumerate(requested):
            where = f"{field_name}[{i}]"
            try:
                qty = require_positive_qty(line.qty, f"{where}.qty")
            except InvalidInput as exc:
                problems.extend(exc)
                continue
            if line.sku not in kinds:
                problems.add(FieldError(f"{where}.sku", f"unknown SKU {line.sku!r}"), "unknown-sku")
                continue
            if line.unit_price is not None:
                try:
                    price = Money.parse(line.unit_price, currency, f"{where}.unit_price").amount
                except InvalidInput as exc:
                    problems.extend(exc)
                    continue
                if price < 0:
                    problems.add(FieldError(f"{where}.unit_price", "must not be negative"))
                    continue
            elif fallback_prices and styles.get(line.sku) in fallback_prices:
                price = fallback_prices[styles[line.sku]]
            elif line.sku in listed:
                # Prices are per style and per unit: a ratio pack costs its units' worth.
                price = listed[line.sku] * sum(units for _, units in packs.get(line.sku, [(line.sku, 1)]))
            else:
                problems.add(
                    FieldError(f"{where}.unit_price", f"no {price_list!r} price in {currency}: give unit_price")
                )
                continue
            components = tuple(packs.get(line.sku, [(line.sku, 1)]))
            out.append(ParsedLine(len(out) + 1, line.sku, qty, price, components))
        problems.raise_if_any("the lines are not valid")
        return out

    @staticmethod
    def _parse_tenders(
        requested: Sequence[TenderRequest], currency: str, due: Decimal, *, required: bool, partial: bool = False
    ) -> list[tuple[str, Decimal]]:
        """Tenders in the order's currency that add up to exactly what is due (cash tenders net of change);
        ``partial``: at most what is due (a channel order part paid, the rest outstanding)."""
        problems = _Problems()
        out: list[tuple[str, Decimal]] = []
        for i, tender in enumerate(requested):
            try:
                amount = Money.parse(tender.amount, currency, f"tenders[{i}].amount").amount
            except InvalidInput as exc:
                problems.extend(exc)
                continue
            if amount <= 0:
                problems.add(FieldError(f"tenders[{i}].amount", "must be greater than 0"))
                continue
            out.append((tender.type, amount))
        problems.raise_if_any("the tenders are not valid")
        if not out and not required:
            return out
        paid = sum((amount for _, amount in out), Decimal(0))
        if paid != due and not (partial and paid < due):
            raise InvalidInput(
                f"the tenders add up to {paid} {currency}, but {due} {currency} is due",
                [FieldError("tenders", f"must add up to {due}")],
                code="tenders-mismatch",
            )
        return out

    @staticmethod
    def _total(lines: Sequence[ParsedLine]) -> Decimal:
        return sum((line.qty * line.unit_price for line in lines), Decimal(0))

    def _sellable_location(self, uow: UnitOfWork, code: str, field_name: str = "location") -> str:
        kinds = uow.location_kinds()
        if code not in kinds:
            raise InvalidInput(
                f"unknown location {code}", [FieldError(field_name, f"location {code!r} does not exist")]
            )
        if kinds[code] not in SELLABLE_KINDS:
            raise InvalidInput(
                f"{code} is a virtual location", [FieldError(field_name, "must be a warehouse, store or 3PL location")]
            )
        return code

    # ------------------------------------------------------------------------------------ orders
    def place_order(self, uow: UnitOfWork, req: OrderRequest, *, trace_id: str | None = None) -> tuple[int, Any]:
        """Capture an order and allocate it per its channel's policy: 201 with status ``allocated``,
        ``partially_allocated`` or ``backordered``; 409 and nothing written when the channel rejects
        shortages; 200 with the first order when (channel, external_id) was seen before."""
        conn = uow.conn
        channel = channels_repo.get_channel(conn, req.channel)
        if channel is None:
            raise Seamline.unknown_channel(req.channel)
        kind = order_kind_for(req.kind, channel["kind"])
        currency = parse_currency(req.currency)
        if kind is not OrderKind.WHOLESALE and (req.ship_start or req.cancel_date or req.prebook or req.price_tier):
            raise InvalidInput(
                "ship windows, price tiers and pre-books are wholesale terms",
                [FieldError("kind", "must be wholesale for ship_window, price_tier or prebook")],
            )
        if req.prebook and req.hold_id:
            raise InvalidInput("a pre-book is allocated later, not from a hold", [FieldError("hold_id", "omit it")])
        check_window(req.ship_start, req.cancel_date)
        tier = req.price_tier or ("wholesale" if kind is OrderKind.WHOLESALE else "retail")
        lines = self._parse_lines(conn, req.lines, currency, tier)
        if req.commerce is not None:
            due = req.commerce.channel_total if req.commerce.channel_total is not None else self._total(lines)
            tenders = self._parse_tenders(req.tenders, currency, due, required=False, partial=True)
        else:
            tenders = self._parse_tenders(req.tenders, currency, self._total(lines), required=False)
        contact = parse_contact(req.customer)
        status, order_id = self._create_order(
            uow,
            channel=channel,
            external_id=req.external_id,
            kind=kind,
            currency=currency,
            lines=lines,
            tenders=tenders,
            contact=contact,
            hold_id=req.hold_id,
            price_tier=tier if kind is OrderKind.WHOLESALE else None,
            ship_start=req.ship_start,
            cancel_date=req.cancel_date,
            prebook=req.prebook,
            trace_id=trace_id,
            commerce=req.commerce,
        )
        return status, self.order_view(conn, order_id)

    def _claim(self, conn: Connection, values: dict[str, Any]) -> str | None:
        """Insert the order row; the id of the existing order when (channel, external_id) was seen before."""
        if orders_repo.claim_order(conn, values):
            return None
        existing = orders_repo.order_id_for(conn, values["channel"], values["external_id"])
        assert existing is not None
        return existing

    def _create_order(
        self,
        uow: UnitOfWork,
        *,
        channel: Mapping[str, Any],
        external_id: str,
        kind: OrderKind,
        currency: str,
        lines: Sequence[ParsedLine],
        tenders: Sequence[tuple[str, Decimal]],
        contact: Contact | None = None,
        customer_id: str | None = None,
        hold_id: str | None = None,
        price_tier: str | None = None,
        ship_start: date | None = None,
        cancel_date: date | None = None,
        prebook: bool = False,
        exchange_of: str | None = None,
        trace_id: str | None = None,
        commerce: OrderCommerce | None = None,
    ) -> tuple[int, str]:
        conn = uow.conn
        now = self._now()
        order_id = "ord_" + uuid.uuid4().hex
        existing = self._claim(
            conn,
            {
                "id": order_id,
                "channel": channel["code"],
                "external_id": external_id,
                "kind": kind.value,
                "status": OrderStatus.PLACED.value,
                "currency": currency,
                # The channel's own total when it sent one (discounts, shipping and tax included).
                "total": (
                    commerce.channel_total
                    if commerce is not None and commerce.channel_total is not None
                    else self._total(lines)
                ),
                **({} if commerce is None else {"commerce": commerce.as_json()}),
                "price_tier": price_tier,
                "ship_start": ship_start,
                "cancel_date": cancel_date,
                "prebook": prebook,
                "hold_id": hold_id,
                "exchange_of": exchange_of,
                "placed_at": now,
                "occurred_at": now,
                "updated_at": now,
                "trace_id": trace_id,
            },
        )
        if existing is not None:
            metrics.ORDERS.labels(kind.value, "duplicate").inc()
            return 200, existing
        state = [LineState(p.line_no, p.sku, p.qty, p.unit_price) for p in lines]
        orders_repo.insert_lines(conn, order_id, state)
        orders_repo.insert_tenders(conn, order_id, tenders)
        if customer_id is None:
            customer_id = attach_customer(conn, contact, document=order_id, now=now)
        if hold_id is not None:
            allocated = self._commit_hold(uow, order_id, channel["code"], channel["sources"], hold_id, lines)
        else:
            # A pre-book takes what the channel may take on hand now (units on hand are promised by
            # allocation, or they are not promised at all) and backorders the rest, which the allocation run
            # serves by ship date as supply arrives; it is never refused for want of stock on hand.
            allocated = self._allocate(
                uow,
                order_id,
                channel["code"],
                list(channel["sources"]),
                bool(channel["allow_split"]),
                [p.demand() for p in lines],
                reject=channel["on_shortage"] == "reject" and not prebook,
            )
        state = [replace(line, allocated=allocated.get(line.line_no, 0)) for line in state]
        status = derive_status(state)
        orders_repo.save_lines(conn, order_id, state)
        orders_repo.update_order(conn, order_id, status=status.value, customer_id=customer_id, updated_at=now)
        metrics.ORDERS.labels(kind.value, status.value).inc()
        return 201, order_id

    def _commit_hold(
        self,
        uow: UnitOfWork,
        order_id: str,
        channel: str,
        sources: Sequence[str],
        hold_id: str,
        lines: Sequence[ParsedLine],
    ) -> dict[int, int]:
        """A checkout's hold becomes the order's allocations. It must hold exactly the order's units."""
        conn = uow.conn
        hold = ledger_repo.get_hold(conn, hold_id)
        if hold is None:
            raise InvalidInput(
                f"unknown hold {hold_id}", [FieldError("hold_id", "does not exist")], code="unknown-hold"
            )
        if hold["channel"] not in (None, channel):
            raise InvalidInput(
                f"hold {hold_id} was placed for channel {hold['channel']}",
                [FieldError("hold_id", f"belongs to channel {hold['channel']}")],
                code="hold-mismatch",
            )
        held = [(line["sku"], line["location"], line["qty"]) for line in hold["lines"]]
        outside = sorted({loc for _, loc, _ in held if loc not in sources})
        if outside:  # a channel's order draws only on its sources, even through a hold placed without a channel
            raise InvalidInput(
                f"hold {hold_id} holds stock at {', '.join(outside)}, not a source of channel {channel}",
                [FieldError("hold_id", f"holds stock outside channel {channel}'s sources")],
                code="hold-mismatch",
            )
        if not hold_covers_exactly([p.demand() for p in lines], held):
            raise InvalidInput(
                f"hold {hold_id} does not hold exactly this order's units",
                [FieldError("hold_id", "holds other SKUs or quantities than the order's lines")],
                code="hold-mismatch",
            )
        self.app.commit_hold(uow, hold_id, order_id)
        return {p.line_no: p.qty for p in lines}

    def _allocate(
        self,
        uow: UnitOfWork,
        order_id: str,
        channel: str,
        sources: Sequence[str],
        allow_split: bool,
        demand: Sequence[DemandLine],
        *,
        reject: bool,
    ) -> dict[int, int]:
        """Allocate straight from ``available`` at the sources: line number -> units allocated.

        Holds past their expiry are expired first (an abandoned checkout does not block an order), then
        the rows are locked in order and the plan is applied with conditional updates."""
        conn = uow.conn
        if not demand:
            return {}
        now = self._now()
        skus = sorted(component_demand(demand))
        ledger_repo.expire_holds(uow, ledger_repo.expired_hold_ids(conn, now, skus=skus), now)
        available = ledger_repo.lock_available(conn, [(sku, loc) for sku in skus for loc in sources])
        # The rows read are locked, so the channel's bounds hold until this transaction ends.
        policies = channels_repo.policies(conn, skus=skus)
        policy = next((p for p in policies if p.code == channel), None)
        fences = [p for p in policies if p.ring_fences]
        plan = plan_channel_allocation(demand, policy, fences, sources, available, allow_split=allow_split)
        if reject and not plan.complete:
            raise Shortage(plan.shortages())
        short = ledger_repo.allocate(uow, order_id, plan.takes(), now=now)
        if short:  # the rows are locked, so this means a bug rather than a race: refuse, write nothing
            raise Shortage(short)
        return {line.line_no: line.units for line in plan.lines}

    def _locked_order(self, conn: Connection, order_id: str) -> dict[str, Any]:
        order = orders_repo.get_order(conn, order_id, for_update=True)
        if order is None:
            raise unknown_order(order_id, in_body=False)
        return order

    def _components(self, conn: Connection, skus: Sequence[str]) -> dict[str, Components]:
        packs = catalog_repo.prepack_map(conn, skus)
        return {sku: tuple(packs.get(sku, [(sku, 1)])) for sku in skus}

    def _save_step(
        self, conn: Connection, order: Mapping[str, Any], lines: Sequence[LineState], status: OrderStatus, **extra: Any
    ) -> dict[str, Any]:
        orders_repo.save_lines(conn, order["id"], lines)
        orders_repo.update_order(conn, order["id"], status=status.value, updated_at=self._now(), **extra)
        return self.order_view(conn, order["id"])

    def pick(
        self,
        uow: UnitOfWork,
        order_id: str,
        requested: Sequence[tuple[str, int]] | None = None,
        *,
        trace_id: str | None = None,
    ) -> dict[str, Any]:
        """Pick allocated units (all, or the given SKUs and quantities): each leaves its location with a
        ``pick`` movement to the customer and its allocation ends. Picking more than allocated is refused."""
        conn = uow.conn
        order = self._locked_order(conn, order_id)
        status = OrderStatus(order["status"])
        require_step(Step.PICK, status)
        lines: list[LineState] = order["lines"]
        picks = plan_pick(lines, requested)
        if not picks:
            raise illegal(Step.PICK, status, "nothing is allocated")
        components = self._components(conn, sorted({line.sku for line in lines}))
        needs: dict[str, int] = defaultdict(int)
        for line in lines:
            for sku, units in components[line.sku]:
                needs[sku] += picks.get(line.line_no, 0) * units
        open_allocations = ledger_repo.open_allocations(conn, order_id)
        where = {alloc_id: (sku, loc) for alloc_id, sku, loc, _ in open_allocations}
        now = self._now()
        for alloc_id, qty in sorted(draw_allocations(open_allocations, needs), key=lambda d: (where[d[0]], d[0])):
            sku, location = where[alloc_id]
            move = PlannedMovement(
                kind=MovementKind.PICK,
                sku=sku,
                qty=qty,
                from_location=location,
                to_location="customer",
                reason=None,
                document=order_id,
                channel=order["channel"],
                checked=False,
            )
            if ledger_repo.pick_allocation(uow, alloc_id, qty, move, now=now, trace_id=trace_id) is None:
                raise Conflict(
                    f"{sku} is not on hand at {location} to pick: see GET /v1/exceptions",
                    code="allocation-oversold",
                )
            metrics.MOVEMENTS.labels("pick").inc()
            metrics.MOVEMENT_UNITS.labels("pick").inc(qty)
        new_lines = [
            replace(
                line,
                allocated=line.allocated - picks.get(line.line_no, 0),
                picked=line.picked + picks.get(line.line_no, 0),
            )
            for line in lines
        ]
        metrics.ORDER_STEPS.labels("pick").inc()
        return self._save_step(conn, order, new_lines, derive_status(new_lines))

    def pack(self, uow: UnitOfWork, order_id: str) -> dict[str, Any]:
        conn = uow.conn
        order = self._locked_order(conn, order_id)
        new_lines = pack_all(order["lines"], OrderStatus(order["status"]))
        metrics.ORDER_STEPS.labels("pack").inc()
        return self._save_step(conn, order, new_lines, derive_status(new_lines))

    def ship(
        self, uow: UnitOfWork, order_id: str, tracking: str | None = None, *, carrier: str | None = None
    ) -> dict[str, Any]:
        """Ship every packed unit as one shipment (its lines, carrier and tracking are kept in
        ``order_shipments``, so a channel confirms each parcel). A wholesale order ships only inside its ship
        window."""
        conn = uow.conn
        order = self._locked_order(conn, order_id)
        new_lines = ship_all(order["lines"], OrderStatus(order["status"]))
        if order["kind"] == OrderKind.WHOLESALE.value:
            require_in_window(order["ship_start"], order["cancel_date"], self._now().date())
        extra = {"tracking": tracking} if tracking else {}
        before = {line.line_no: line.shipped for line in order["lines"]}
        parcel = [
            {"line_no": line.line_no, "sku": line.sku, "qty": line.shipped - before.get(line.line_no, 0)}
            for line in new_lines
            if line.shipped > before.get(line.line_no, 0)
        ]
        channel_orders_repo.record_shipment(conn, order_id, parcel, carrier=carrier, tracking=tracking, now=self._now())
        metrics.ORDER_STEPS.labels("ship").inc()
        uow.raise_event(OrderShipped(order_id))
        return self._save_step(conn, order, new_lines, derive_status(new_lines), **extra)

    def cancel(self, uow: UnitOfWork, order_id: str) -> dict[str, Any]:
        """Cancel what is not picked: open allocations go back to ``available``, backorders are dropped.
        Units already picked stay sold (``awaiting_return`` lists them): bringing them back is a return."""
        conn = uow.conn
        order = self._locked_order(conn, order_id)
        new_lines = cancel_all(order["lines"], OrderStatus(order["status"]))
        ledger_repo.cancel_allocations(uow, order_id)
        metrics.ORDER_STEPS.labels("cancel").inc()
        uow.raise_event(OrderCancelled(order_id))
        return self._save_step(conn, order, new_lines, OrderStatus.CANCELLED)

    def close(self, uow: UnitOfWork, order_id: str) -> dict[str, Any]:
        conn = uow.conn
        order = self._locked_order(conn, order_id)
        require_step(Step.CLOSE, OrderStatus(order["status"]))
        metrics.ORDER_STEPS.labels("close").inc()
        return self._save_step(conn, order, order["lines"], OrderStatus.CLOSED)

    # ------------------------------------------------------------------------------------ allocation run
    def run_allocation(self, uow: UnitOfWork, *, limit: int = 500) -> dict[str, Any]:
        """Allocate backordered units as stock has arrived: wholesale pre-books by ship date, then every
        other backorder by the day it was placed. Orders past their cancel date are skipped."""
        conn = uow.conn
        now = self._now()
        today = now.date()
        candidates = orders_repo.backorder_candidates(conn, ALLOWED_FROM[Step.ALLOCATE], limit)
        candidates.sort(key=lambda c: allocation_priority(c["ship_start"], c["placed_at"], c["seq"]))
        allocated: list[dict[str, Any]] = []
        skipped: list[str] = []
        sourcing: dict[str, tuple[list[str], bool]] = {}
        for candidate in candidates:
            if past_cancel(candidate["cancel_date"], today):
                skipped.append(candidate["id"])
                continue
            order = self._locked_order(conn, candidate["id"])
            status = OrderStatus(order["status"])
            if status not in ALLOWED_FROM[Step.ALLOCATE]:
                continue
            code = order["channel"]
            if code not in sourcing:
                sourcing[code] = channels_repo.sourcing(conn, code) or ([], False)
            sources, allow_split = sourcing[code]
            lines: list[LineState] = order["lines"]
            components = self._components(conn, sorted({line.sku for line in lines}))
            demand = [
                DemandLine(line.line_no, line.sku, line.backordered, components[line.sku])
                for line in lines
                if line.backordered > 0
            ]
            units = self._allocate(uow, order["id"], code, sources, allow_split, demand, reject=False)
            if not any(units.values()):
                continue
            new_lines = [replace(line, allocated=line.allocated + units.get(line.line_no, 0)) for line in lines]
            new_status = derive_status(new_lines)
            self._save_step(conn, order, new_lines, new_status)
            allocated.append({"order_id": order["id"], "units": sum(units.values()), "status": new_status.value})
        return {
            "orders": allocated,
            "allocated_units": sum(item["units"] for item in allocated),
            "skipped_past_cancel_date": skipped,
            "ran_at": iso_utc(now),
        }

    # ------------------------------------------------------------------------------------ POS sales
    def record_sale(
        self, uow: UnitOfWork, req: SaleRequest, *, trace_id: str | None = None, caller: Principal | None = None
    ) -> tuple[int, Any]:
        """A till sale, captured and fulfilled in one transaction at its store: a closed ``pos`` order and
        a ``sale`` movement per SKU. Not enough available is a 409 unless ``force`` (the goods already
        left): then it is recorded and an oversell exception names the allocations now short.

        ``caller`` (an API token; None for a connector) files sales only under the store's till channels, and
        a repeated external id answers the first order only when it is the caller's to read: another store's
        sale on a shared till channel is 409 ``external-id-taken``, without the order."""
        conn = uow.conn
        location, currency, lines, tenders, contact, occurred_at = self._checked_sale(uow, req, caller)
        status, order_id = self._create_sale(
            uow,
            location=location,
            channel=req.channel or pos_channel(location),
            external_id=req.external_id,
            currency=currency,
            lines=lines,
            tenders=tenders,
            contact=contact,
            occurred_at=occurred_at,
            force=req.force,
            trace_id=trace_id,
            commerce=req.commerce,
        )
        view = self.order_view(conn, order_id)
        if (
            status == 200
            and caller is not None
            and view["location"] != location
            and not (caller.is_admin or caller.has_channel(view["channel"]))
        ):
            raise Conflict(
                f"external id {req.external_id} is another store's sale on this channel",
                code="external-id-taken",
            )
        return status, view

    def check_sale(self, uow: UnitOfWork, req: SaleRequest, caller: Principal | None = None) -> None:
        """Validate a sale without writing anything (an offline till's batch is checked whole first)."""
        self._checked_sale(uow, req, caller)

    def _checked_sale(
        self, uow: UnitOfWork, req: SaleRequest, caller: Principal | None = None
    ) -> tuple[str, str, list[ParsedLine], list[tuple[str, Decimal]], Contact | None, datetime | None]:
        conn = uow.conn
        facts = channels_repo.kind_and_sources(conn, req.channel) if req.channel is not None else None
        if caller is not None:
            kind, sources = facts or (None, [])
            till = req.channel is None or is_till_channel(req.channel, kind, sources, [req.location])
            if not caller.may_sell(req.location, req.channel, till_channel=till):
                raise Forbidden(
                    f"this token may not record sales at {req.location} under channel {req.channel}: only the "
                    "store's till channels (pos:<store>, or a pos channel sourcing the store)",
                    code="insufficient-scope",
                )
        location = self._sellable_location(uow, req.location)
        if req.channel is not None and facts is None:
            raise Seamline.unknown_channel(req.channel)
        currency = parse_currency(req.currency)
        lines = self._parse_lines(conn, req.lines, currency, "retail")
        if not req.tenders:
            raise InvalidInput("a sale records how it was paid", [FieldError("tenders", "needs at least one tender")])
        due = self._total(lines)
        if req.commerce is not None and req.commerce.channel_total is not None:
            due = req.commerce.channel_total  # the till's own total (its discounts and taxes): what it took
        tenders = self._parse_tenders(req.tenders, currency, due, required=True)
        contact = parse_contact(req.customer)
        occurred_at = None
        if req.occurred_at is not None:
            try:
                occurred_at = ensure_utc(req.occurred_at)
            except ValueError:
                raise InvalidInput(
                    "a time needs its zone", [FieldError("occurred_at", "must carry a UTC offset")]
                ) from None
        return location, currency, lines, tenders, contact, occurred_at

    def _create_sale(
        self,
        uow: UnitOfWork,
        *,
        location: str,
        channel: str,
        external_id: str,
        currency: str,
        lines: Sequence[ParsedLine],
        tenders: Sequence[tuple[str, Decimal]],
        contact: Contact | None = None,
        customer_id: str | None = None,
        occurred_at: datetime | None = None,
        force: bool = False,
        exchange_of: str | None = None,
        trace_id: str | None = None,
        commerce: OrderCommerce | None = None,
    ) -> tuple[int, str]:
        conn = uow.conn
        now = self._now()
        order_id = "ord_" + uuid.uuid4().hex
        existing = self._claim(
            conn,
            {
                "id": order_id,
                "channel": channel,
                "external_id": external_id,
                "kind": OrderKind.POS.value,
                "status": OrderStatus.CLOSED.value,
                "currency": currency,
                "total": self._total(lines),
                **({} if commerce is None else {"commerce": commerce.as_json()}),
                "location": location,
                "prebook": False,
                "exchange_of": exchange_of,
                "placed_at": now,
                "occurred_at": occurred_at or now,
                "updated_at": now,
                "trace_id": trace_id,
            },
        )
        if existing is not None:
            metrics.ORDERS.labels("pos", "duplicate").inc()
            return 200, existing
        state = [
            LineState(p.line_no, p.sku, p.qty, p.unit_price, picked=p.qty, packed=p.qty, shipped=p.qty) for p in lines
        ]
        orders_repo.insert_lines(conn, order_id, state)
        orders_repo.insert_tenders(conn, order_id, tenders)
        if customer_id is None:
            customer_id = attach_customer(conn, contact, document=order_id, now=now)
        if customer_id is not None:
            orders_repo.update_order(conn, order_id, customer_id=customer_id)
        demand = component_demand(p.demand() for p in lines)
        ledger_repo.expire_holds(uow, ledger_repo.expired_hold_ids(conn, now, skus=sorted(demand)), now)
        short: list[ShortLine] = []
        for sku, qty in sorted(demand.items()):
            move = PlannedMovement(
                kind=MovementKind.SALE,
                sku=sku,
                qty=qty,
                from_location=location,
                to_location="customer",
                reason=None,
                document=order_id,
                channel=channel,
                checked=True,
            )
            try:
                ledger_repo.record_movement(uow, move, now=now, occurred_at=occurred_at, trace_id=trace_id)
            except Shortage as exc:
                if not force:
                    short.extend(exc.lines)
                    continue
                row, after = ledger_repo.record_forced_movement(
                    uow, move, now=now, occurred_at=occurred_at, trace_id=trace_id
                )
                record_oversell(conn, after, moved=qty, cause="sale", document=order_id, movement_id=row["id"], now=now)
            metrics.MOVEMENTS.labels("sale").inc()
            metrics.MOVEMENT_UNITS.labels("sale").inc(qty)
        if short:
            raise Shortage(short)
        metrics.ORDERS.labels("pos", "closed").inc()
        uow.raise_event(SaleRecorded(order_id))
        return 201, order_id

    # ------------------------------------------------------------------------------------ returns
    def record_return(self, uow: UnitOfWork, req: ReturnRequest, *, trace_id: str | None = None) -> dict[str, Any]:
        """Goods come back against the original order, from any channel, at any location: sellable units
        into that location's stock, damaged ones to ``damaged``; refunded to the original tenders."""
        conn = uow.conn
        order = orders_repo.get_order(conn, req.order_id, for_update=True)
        if order is None:
            raise unknown_order(req.order_id, in_body=True)
        location = self._sellable_location(uow, req.location)
        planned = plan_return(order["lines"], req.lines)
        return_id = "ret_" + uuid.uuid4().hex
        if req.commerce is None and order.get("commerce") and order["kind"] == OrderKind.MARKETPLACE.value:
            # A return of a marketplace's order booked here (the marketplace is told of it and refunds it):
            # refunded at what the marketplace charged for the units, so its refund and our credit note agree.
            returned = {line.line_no: line.returned for line in order["lines"]}
            units = [(line.order_line_no, line.qty) for line in planned]
            derived = refund_of_return(OrderCommerce.from_json(order["commerce"]), return_id, units, returned)
            req = replace(req, commerce=derived)
        self._book_return(uow, order, return_id, location, planned, trace_id)
        value = sum((line.amount for line in planned), Decimal(0))
        paid_back = (
            []
            if req.commerce is None
            else [
                (p.tender, p.amount) for p in req.commerce.payments if p.settled and p.kind == "refund" and p.amount > 0
            ]
        )
        if paid_back:
            # The channel paid back what its refund transactions say, to the gateways they name.
            refund = paid_back
        else:
            # No transaction sent: the channel's refunded amount goes back to the order's own tenders.
            due = value if req.commerce is None else req.commerce.computed_total
            refund = split_refund(
                due,
                order["tenders"],
                orders_repo.refunded_by_tender(conn, order["id"], order["currency"]),
                req.refund_tender,
            )
        self._insert_return(uow, order, return_id, location, planned, refund, trace_id, req.commerce)
        return self.return_view(conn, return_id)

    def _book_return(
        self,
        uow: UnitOfWork,
        order: Mapping[str, Any],
        return_id: str,
        location: str,
        planned: Sequence[PlannedReturnLine],
        trace_id: str | None,
    ) -> None:
        conn = uow.conn
        now = self._now()
        components = self._components(conn, sorted({line.sku for line in planned}))
        units: dict[tuple[str, str], int] = defaultdict(int)
        for line in planned:
            destination = location if line.condition is Condition.SELLABLE else "damaged"
            for sku, per in components[line.sku]:
                units[(sku, destination)] += line.qty * per
            metrics.RETURNED_UNITS.labels(line.condition.value).inc(line.qty)
        for (sku, destination), qty in sorted(units.items()):
            move = PlannedMovement(
                kind=MovementKind.RETURN,
                sku=sku,
                qty=qty,
                from_location="customer",
                to_location=destination,
                reason=f"return {return_id}",
                document=order["id"],
                channel=order["channel"],
                checked=False,
            )
            ledger_repo.record_movement(uow, move, now=now, trace_id=trace_id)
            metrics.MOVEMENTS.labels("return").inc()
            metrics.MOVEMENT_UNITS.labels("return").inc(qty)
        back: dict[int, int] = defaultdict(int)
        for line in planned:
            back[line.order_line_no] += line.qty
        lines: list[LineState] = order["lines"]
        orders_repo.save_lines(
            conn, order["id"], [replace(line, returned=line.returned + back.get(line.line_no, 0)) for line in lines]
        )

    def _insert_return(
        self,
        uow: UnitOfWork,
        order: Mapping[str, Any],
        return_id: str,
        location: str,
        planned: Sequence[PlannedReturnLine],
        refund: Sequence[tuple[str, Decimal]],
        trace_id: str | None,
        commerce: RefundCommerce | None = None,
    ) -> None:
        conn = uow.conn
        orders_repo.insert_return(
            conn,
            {
                "id": return_id,
                "order_id": order["id"],
                "location": location,
                "currency": order["currency"],
                "refund_total": sum((amount for _, amount in refund), Decimal(0)),
                "created_at": self._now(),
                "trace_id": trace_id,
                **({} if commerce is None else {"commerce": commerce.as_json()}),
            },
            [
                {
                    "line_no": i,
                    "order_line_no": line.order_line_no,
                    "sku": line.sku,
                    "qty": line.qty,
                    "condition": line.condition.value,
                    "amount": line.amount,
                }
                for i, line in enumerate(planned, start=1)
            ],
            refund,
        )
        uow.raise_event(ReturnBooked(return_id))

    def exchange(self, uow: UnitOfWork, req: ExchangeRequest, *, trace_id: str | None = None) -> dict[str, Any]:
        """A return and a new order, linked, in one transaction. The goods brought back pay for the new
        ones (``exchange_credit``); any rest is refunded to the original tenders, and any difference due
        is paid by ``tenders``. ``fulfil: here`` hands the new goods over at ``location`` now (a sale);
        ``ship`` places an order on the original channel, allocated by its policy."""
        conn = uow.conn
        order = orders_repo.get_order(conn, req.order_id, for_update=True)
        if order is None:
            raise unknown_order(req.order_id, in_body=True)
        location = self._sellable_location(uow, req.location)
        fulfil = req.fulfil or ("here" if order["kind"] == OrderKind.POS.value else "ship")
        planned = plan_return(order["lines"], req.return_lines)
        currency = order["currency"]
        # A new size or colour of a style the customer bought costs what they paid for it (packs aside).
        variants = {
            sku
            for sku, kind in catalog_repo.known_skus(conn, [line.sku for line in order["lines"]]).items()
            if kind == "variant"
        }
        styles = orders_repo.style_of(conn, variants)
        paid_per_style = {styles[line.sku]: line.unit_price for line in order["lines"] if line.sku in styles}
        lines = self._parse_lines(conn, req.lines, currency, "retail", fallback_prices=paid_per_style)
        returned = sum((line.amount for line in planned), Decimal(0))
        wanted = self._total(lines)
        credit = min(returned, wanted)
        paid = self._parse_tenders(req.tenders, currency, wanted - credit, required=wanted > credit)
        return_id = "ret_" + uuid.uuid4().hex
        self._book_return(uow, order, return_id, location, planned, trace_id)
        refund = split_refund(
            returned - credit,
            order["tenders"],
            orders_repo.refunded_by_tender(conn, order["id"], currency),
            req.refund_tender,
        )
        self._insert_return(uow, order, return_id, location, planned, refund, trace_id)
        tenders = ([(EXCHANGE_CREDIT, credit)] if credit else []) + paid
        if fulfil == "here":
            _, new_id = self._create_sale(
                uow,
                location=location,
                channel=pos_channel(location),
                external_id=return_id,
                currency=currency,
                lines=lines,
                tenders=tenders,
                customer_id=order["customer_id"],
                exchange_of=return_id,
                trace_id=trace_id,
            )
        else:
            channel = channels_repo.get_channel(conn, order["channel"])
            if channel is None:
                raise Conflict(f"channel {order['channel']} no longer exists to ship from", code="conflict")
            _, new_id = self._create_order(
                uow,
                channel=channel,
                external_id=return_id,
                kind=OrderKind(order["kind"]),
                currency=currency,
                lines=lines,
                tenders=tenders,
                customer_id=order["customer_id"],
                exchange_of=return_id,
                trace_id=trace_id,
            )
        orders_repo.set_exchange(conn, return_id, new_id)
        return {"return": self.return_view(conn, return_id), "order": self.order_view(conn, new_id)}

    # ------------------------------------------------------------------------------------ reads
    def order_view(self, conn: Connection, order_id: str) -> dict[str, Any]:
        order = orders_repo.get_order(conn, order_id)
        assert order is not None
        view = order_view(order)
        view["allocations"] = ledger_repo.document_allocations(conn, order_id)
        view["returns"] = orders_repo.returns_of(conn, order_id)
        return view

    def get_order(self, order_id: str) -> dict[str, Any]:
        def work(conn: Connection) -> dict[str, Any]:
            if orders_repo.get_order(conn, order_id) is None:
                raise unknown_order(order_id, in_body=False)
            return self.order_view(conn, order_id)

        return self.app.read(work)

    def list_orders(
        self,
        *,
        channel: str | None = None,
        status: Sequence[str] | None = None,
        kind: str | None = None,
        customer_id: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One queue for the warehouse, sales and finance alike: oldest first, ``cursor`` continues a page."""
        problems = _Problems()
        for value in status or ():
            if value not in {s.value for s in OrderStatus}:
                problems.add(FieldError("status", f"{value!r} is not an order status"))
        if kind is not None and kind not in {k.value for k in OrderKind}:
            problems.add(FieldError("kind", f"{kind!r} is not an order kind"))
        after = None
        if cursor is not None:
            if not cursor.isdigit():
                problems.add(FieldError("cursor", "is not a cursor this API gave out"))
            else:
                after = int(cursor)
        problems.raise_if_any("bad query")
        rows = self.app.read(
            lambda conn: orders_repo.list_orders(
                conn,
                channel=channel,
                status=status,
                kind=kind,
                customer_id=customer_id,
                after_seq=after,
                limit=limit,
            )
        )
        next_cursor = str(rows[-1]["seq"]) if len(rows) == limit else None
        return [order_view(r) for r in rows], next_cursor

    def return_view(self, conn: Connection, return_id: str) -> dict[str, Any]:
        row = orders_repo.get_return(conn, return_id)
        assert row is not None
        return return_view(row)

    def get_return(self, return_id: str) -> dict[str, Any]:
        row = self.app.read(lambda conn: orders_repo.get_return(conn, return_id))
        if row is None:
            raise NotFound(f"no return {return_id}", code="unknown-return")
        return return_view(row)

    def exceptions(
        self, *, sku: str | None = None, location: str | None = None, cursor: str | None = None, limit: int = 100
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Oversell exceptions, oldest first, each with how short its row still is now."""
        if cursor is not None and not cursor.isdigit():
            raise InvalidInput("bad query", [FieldError("cursor", "is not a cursor this API gave out")])

        def work(conn: Connection) -> list[dict[str, Any]]:
            rows = orders_repo.list_exceptions(
                conn, sku=sku, location=location, after_id=int(cursor) if cursor else None, limit=limit
            )
            out = []
            for row in rows:
                view = exception_view(row)
                view["still_short"] = max(0, -ledger_repo.available_at(conn, row["sku"], row["location"]))
                out.append(view)
            return out

        items = self.app.read(work)
        return items, (str(items[-1]["id"]) if len(items) == limit else None)


# ------------------------------------------------------------------------------------------------ views
def _money(value: Decimal, currency: str) -> str:
    return str(value.quantize(Decimal(1).scaleb(-minor_exponent(currency))))


def order_view(order: Mapping[str, Any]) -> dict[str, Any]:
    currency = order["currency"]
    lines: list[LineState] = order["lines"]
    view: dict[str, Any] = {
        "id": order["id"],
        "channel": order["channel"],
        "external_id": order["external_id"],
        "kind": order["kind"],
        "status": order["status"],
        "currency": currency,
        "total": _money(orders_repo.money(order["total"], currency), currency),
        "customer_id": order["customer_id"],
        "location": order["location"],
        "price_tier": order["price_tier"],
        "ship_window": (
            {
                "start": order["ship_start"].isoformat() if order["ship_start"] else None,
                "cancel": order["cancel_date"].isoformat() if order["cancel_date"] else None,
            }
            if order["ship_start"] or order["cancel_date"]
            else None
        ),
        "prebook": bool(order["prebook"]),
        "tracking": order["tracking"],
        "hold_id": order["hold_id"],
        "exchange_of": order["exchange_of"],
        "placed_at": iso_utc(order["placed_at"]),
        "occurred_at": iso_utc(order["occurred_at"]),
        "updated_at": iso_utc(order["updated_at"]),
        "lines": [
            {
                "line_no": line.line_no,
                "sku": line.sku,
                "qty": line.qty,
                "unit_price": _money(line.unit_price, currency),
                "allocated": line.allocated,
                "backordered": line.backordered if order["status"] != OrderStatus.CANCELLED.value else 0,
                "picked": line.picked,
                "packed": line.packed,
                "shipped": line.shipped,
                "cancelled": line.cancelled,
                "returned": line.returned,
            }
            for line in lines
        ],
        "tenders": [{"type": kind, "amount": _money(amount, currency)} for kind, amount in order["tenders"]],
        "commerce": order.get("commerce"),
    }
    if order["status"] == OrderStatus.CANCELLED.value:
        view["awaiting_return"] = [
            {"sku": line.sku, "qty": line.picked - line.returned} for line in lines if line.picked > line.returned
        ]
    return view


def return_view(row: Mapping[str, Any]) -> dict[str, Any]:
    currency = row["currency"]
    return {
        "id": row["id"],
        "order_id": row["order_id"],
        "location": row["location"],
        "currency": currency,
        "lines": [
            {
                "sku": line["sku"],
                "qty": line["qty"],
                "condition": line["condition"],
                "order_line_no": line["order_line_no"],
                "amount": _money(line["amount"], currency),
            }
            for line in row["lines"]
        ],
        "refund": {
            "total": _money(row["refund_total"], currency),
            "currency": currency,
            "tenders": [{"tender": tender, "amount": _money(amount, currency)} for tender, amount in row["refunds"]],
        },
        "exchange_order_id": row["exchange_order_id"],
        "created_at": iso_utc(row["created_at"]),
        "channel_refund": row.get("commerce"),
    }


def exception_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "sku": row["sku"],
        "location": row["location"],
        "units": row["units"],
        "cause": row["cause"],
        "document": row["document"],
        "movement_id": row["movement_id"],
        "short_allocations": list(row["short_allocations"]),
        "created_at": iso_utc(row["created_at"]),
    }
