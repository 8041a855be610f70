"""What every order command shares: checking lines, tenders and locations, claiming an order's
(channel, external id), and reading an order for a step."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from seamline.domain.commerce import OrderCommerce
from seamline.domain.errors import FieldError, InvalidInput, NotFound
from seamline.domain.money import Money
from seamline.domain.quantity import require_positive_qty
from seamline.ledger import SELLABLE_KINDS
from seamline.orders.allocation import Components, DemandLine
from seamline.orders.model import QUEUED_KINDS, LineState, OrderKind, OrderStatus
from seamline.service import metrics
from seamline.service.app import Seamline
from seamline.service.customers import Contact, attach_customer
from seamline.service.orders.requests import LineRequest, TenderRequest
from seamline.service.principal import default_till_channel
from seamline.service.unit_of_work import UnitOfWork

#: The tender that pays an exchange's new order with the value of the goods brought back.
EXCHANGE_CREDIT = "exchange_credit"
MARKETPLACE_CHANNEL_KINDS = frozenset({"amazon", "mirakl", "marketplace"})


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
class Problems:
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


@dataclass(frozen=True, slots=True)
class NewOrder:
    """An order row claimed for (channel, external id): ``created`` False when that order existed already."""

    created: bool
    order_id: str


class OrderPart:
    """One seam of the order queue over the application (``OrderDesk`` holds one of each)."""

    def __init__(self, app: Seamline) -> None:
        self.app = app

    def _now(self) -> datetime:
        return self.app.clock.now()


def parse_lines(
    uow: UnitOfWork,
    requested: Sequence[LineRequest],
    currency: str,
    price_list: str,
    *,
    field_name: str = "lines",
    fallback_prices: Mapping[str, Decimal] | None = None,
) -> list[ParsedLine]:
    """Validate lines: known SKUs, whole positive quantities, prices (given, or from the price list)."""
    conn = uow.conn
    problems = Problems()
    if not requested:
        problems.add(FieldError(field_name, "needs at least one line"))
    kinds = uow.catalog.known_skus(conn, [line.sku for line in requested])
    packs = uow.catalog.prepack_map(conn, [s for s, k in kinds.items() if k == "prepack"])
    listed = uow.orders.prices_for(
        conn,
        [line.sku for line in requested if line.unit_price is None and line.sku in kinds],
        price_list,
        currency,
    )
    styles = uow.orders.style_of(conn, kinds) if fallback_prices else {}
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
            problems.add(FieldError(f"{where}.unit_price", f"no {price_list!r} price in {currency}: give unit_price"))
            continue
        components = tuple(packs.get(line.sku, [(line.sku, 1)]))
        out.append(ParsedLine(len(out) + 1, line.sku, qty, price, components))
    problems.raise_if_any("the lines are not valid")
    return out


def parse_tenders(
    requested: Sequence[TenderRequest], currency: str, due: Decimal, *, required: bool, partial: bool = False
) -> list[tuple[str, Decimal]]:
    """Tenders in the order's currency that add up to exactly what is due (cash tenders net of change);
    ``partial``: at most what is due (a channel order part paid, the rest outstanding)."""
    problems = Problems()
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


def total(lines: Sequence[ParsedLine]) -> Decimal:
    return sum((line.qty * line.unit_price for line in lines), Decimal(0))


def sellable_location(uow: UnitOfWork, code: str, field_name: str = "location") -> str:
    kinds = uow.location_kinds()
    if code not in kinds:
        raise InvalidInput(f"unknown location {code}", [FieldError(field_name, f"location {code!r} does not exist")])
    if kinds[code] not in SELLABLE_KINDS:
        raise InvalidInput(
            f"{code} is a virtual location", [FieldError(field_name, "must be a warehouse, store or 3PL location")]
        )
    return code


def open_order(
    uow: UnitOfWork,
    *,
    channel: str,
    external_id: str,
    kind: OrderKind,
    status: OrderStatus,
    currency: str,
    order_total: Decimal,
    commerce: OrderCommerce | None,
    lines: Sequence[LineState],
    tenders: Sequence[tuple[str, Decimal]],
    contact: Contact | None,
    customer_id: str | None,
    exchange_of: str | None,
    trace_id: str | None,
    now: datetime,
    occurred_at: datetime | None = None,
    columns: Mapping[str, Any] | None = None,
) -> tuple[NewOrder, str | None]:
    """Claim (channel, external id) with a new order row, its lines and its tenders, and attach its customer
    (``customer_id`` when given, else the contact's): the order and its customer id. When the channel sent that
    external id before, the first order, nothing written (counted as a duplicate). ``columns``: the order row's
    columns particular to its kind (a wholesale order's ship window, a till sale's location)."""
    conn = uow.conn
    order_id = "ord_" + uuid.uuid4().hex
    values = {
        "id": order_id,
        "channel": channel,
        "external_id": external_id,
        "kind": kind.value,
        "status": status.value,
        "currency": currency,
        "total": order_total,
        **({} if commerce is None else {"commerce": commerce.as_json()}),
        **(columns or {}),
        "exchange_of": exchange_of,
        "placed_at": now,
        "occurred_at": occurred_at or now,
        "updated_at": now,
        "trace_id": trace_id,
    }
    if not uow.orders.claim_order(conn, values):
        existing = uow.orders.order_id_for(conn, channel, external_id)
        assert existing is not None
        metrics.ORDERS.labels(kind.value, "duplicate").inc()
        return NewOrder(False, existing), None
    if lines:  # a till sale of gift cards only has no goods lines
        uow.orders.insert_lines(conn, order_id, lines)
    uow.orders.insert_tenders(conn, order_id, tenders)
    if customer_id is None:
        customer_id = attach_customer(conn, contact, document=order_id, now=now)
    return NewOrder(True, order_id), customer_id


def locked_order(uow: UnitOfWork, order_id: str) -> dict[str, Any]:
    order = uow.orders.get_order(uow.conn, order_id, for_update=True)
    if order is None:
        raise unknown_order(order_id, in_body=False)
    return order


def components_of(uow: UnitOfWork, skus: Sequence[str]) -> dict[str, Components]:
    packs = uow.catalog.prepack_map(uow.conn, skus)
    return {sku: tuple(packs.get(sku, [(sku, 1)])) for sku in skus}
