"""Till sales: captured and fulfilled in one transaction at the store, checked against what the store has
(or forced, with an oversell exception when the goods had already left)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from seamline.domain.clock import ensure_utc
from seamline.domain.commerce import OrderCommerce
from seamline.domain.errors import Conflict, FieldError, Forbidden, InvalidInput, Shortage, ShortLine
from seamline.domain.money import Money, parse_currency
from seamline.finance.giftcards import CODE_RE
from seamline.ledger import Balance
from seamline.ledger.model import MovementKind, PlannedMovement
from seamline.orders.allocation import component_demand
from seamline.orders.events import SaleRecorded
from seamline.orders.model import LineState, OrderKind, OrderStatus
from seamline.orders.oversell import oversold_units, short_allocations
from seamline.service import metrics
from seamline.service.channels import Channels
from seamline.service.customers import Contact, parse_contact
from seamline.service.orders.common import (
    NewOrder,
    OrderPart,
    ParsedLine,
    Problems,
    open_order,
    parse_lines,
    parse_tenders,
    pos_channel,
    sellable_location,
    total,
)
from seamline.service.orders.requests import GiftCardSaleRequest, SaleRequest
from seamline.service.orders.views import OrderView, read_order_view
from seamline.service.principal import Principal, is_till_channel
from seamline.service.unit_of_work import UnitOfWork


def record_oversell(
    uow: UnitOfWork, after: Balance, *, moved: int, cause: str, document: str, movement_id: int, now: datetime
) -> dict[str, Any] | None:
    """After goods left ``after.location`` unchecked: when they were promised elsewhere, record an oversell
    exception naming the allocations now short, and count the units in the oversold KPI."""
    conn = uow.conn
    units = oversold_units(moved, after.on_hand, after.committed, after.reserved)
    if units <= 0:
        return None
    short = short_allocations(after.on_hand, uow.ledger.open_allocations_at(conn, after.sku, after.location))
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
    exception_id = uow.orders.insert_exception(conn, row)
    metrics.OVERSOLD_UNITS.inc(units)
    return {"id": exception_id, **row}


def parse_gift_cards(requested: Sequence[GiftCardSaleRequest], currency: str) -> list[Decimal]:
    """The face values of the gift cards a sale sells: each a positive amount in the sale's currency, with a
    well-formed code when the till gives one (a taken code is refused when the card is issued)."""
    problems = Problems()
    out: list[Decimal] = []
    for i, card in enumerate(requested):
        where = f"gift_cards[{i}]"
        try:
            amount = Money.parse(card.amount, currency, f"{where}.amount").amount
        except InvalidInput as exc:
            problems.extend(exc)
            continue
        if amount <= 0:
            problems.add(FieldError(f"{where}.amount", "must be greater than 0"))
        if card.code is not None and not CODE_RE.match(card.code):
            problems.add(FieldError(f"{where}.code", "4-64 letters, digits, - or _, starting with a letter or digit"))
        out.append(amount)
    problems.raise_if_any("the gift cards sold are not valid")
    return out


@dataclass(frozen=True, slots=True)
class CheckedSale:
    location: str
    currency: str
    lines: list[ParsedLine]
    tenders: list[tuple[str, Decimal]]
    contact: Contact | None
    occurred_at: datetime | None
    #: The face value of each gift card sold, in the order asked.
    gift_cards: list[Decimal]


@dataclass(frozen=True, slots=True)
class RecordedSale:
    """``created`` False: the till sent this external id before, and ``order`` is the first sale."""

    created: bool
    order: OrderView


class PosSales(OrderPart):
    def record_sale(
        self, uow: UnitOfWork, req: SaleRequest, *, trace_id: str | None = None, caller: Principal | None = None
    ) -> RecordedSale:
        """A till sale, captured and fulfilled in one transaction at its store: a closed ``pos`` order and
        a ``sale`` movement per SKU. Not enough available is a ``Shortage`` unless ``force`` (the goods already
        left): then it is recorded and an oversell exception names the allocations now short.

        ``caller`` (an API token; None for a connector) files sales only under the store's till channels, and
        a repeated external id answers the first order only when it is the caller's to read: another store's
        sale on a shared till channel is a ``Conflict`` ``external-id-taken``, without the order."""
        conn = uow.conn
        checked = self._checked_sale(uow, req, caller)
        location = checked.location
        new = self.create_sale(
            uow,
            location=location,
            channel=req.channel or pos_channel(location),
            external_id=req.external_id,
            currency=checked.currency,
            lines=checked.lines,
            tenders=checked.tenders,
            contact=checked.contact,
            occurred_at=checked.occurred_at,
            force=req.force,
            trace_id=trace_id,
            commerce=req.commerce,
            gift_cards=sum(checked.gift_cards, Decimal(0)),
        )
        view = read_order_view(conn, new.order_id, uow.repositories)
        if (
            not new.created
            and caller is not None
            and view["location"] != location
            and not (caller.is_admin or caller.has_channel(view["channel"]))
        ):
            raise Conflict(
                f"external id {req.external_id} is another store's sale on this channel",
                code="external-id-taken",
            )
        return RecordedSale(new.created, view)

    def check_sale(self, uow: UnitOfWork, req: SaleRequest, caller: Principal | None = None) -> None:
        """Validate a sale without writing anything (an offline till's batch is checked whole first)."""
        self._checked_sale(uow, req, caller)

    def _checked_sale(self, uow: UnitOfWork, req: SaleRequest, caller: Principal | None = None) -> CheckedSale:
        conn = uow.conn
        facts = uow.channels.kind_and_sources(conn, req.channel) if req.channel is not None else None
        if caller is not None:
            kind, sources = facts or (None, [])
            till = req.channel is None or is_till_channel(req.channel, kind, sources, [req.location])
            if not caller.may_sell(req.location, req.channel, till_channel=till):
                raise Forbidden(
                    f"this token may not record sales at {req.location} under channel {req.channel}: only the "
                    "store's till channels (pos:<store>, or a pos channel sourcing the store)",
                    code="insufficient-scope",
                )
        location = sellable_location(uow, req.location)
        if req.channel is not None and facts is None:
            raise Channels.unknown_channel(req.channel)
        currency = parse_currency(req.currency)
        # A sale of gift cards only has no goods lines; otherwise a sale sells at least one line.
        lines = parse_lines(uow, req.lines, currency, "retail") if req.lines or not req.gift_cards else []
        cards = parse_gift_cards(req.gift_cards, currency)
        if not req.tenders:
            raise InvalidInput("a sale records how it was paid", [FieldError("tenders", "needs at least one tender")])
        due = total(lines) + sum(cards, Decimal(0))
        if req.commerce is not None and req.commerce.channel_total is not None:
            due = req.commerce.channel_total  # the till's own total (its discounts and taxes): what it took
        tenders = parse_tenders(req.tenders, currency, due, required=True)
        contact = parse_contact(req.customer)
        occurred_at = None
        if req.occurred_at is not None:
            try:
                occurred_at = ensure_utc(req.occurred_at)
            except ValueError:
                raise InvalidInput(
                    "a time needs its zone", [FieldError("occurred_at", "must carry a UTC offset")]
                ) from None
        return CheckedSale(location, currency, lines, tenders, contact, occurred_at, cards)

    def create_sale(
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
        gift_cards: Decimal = Decimal(0),
    ) -> NewOrder:
        """``gift_cards``: the face value of the gift cards sold with the goods (issued by
        ``service.giftcards``); the order's total is what the till took, goods and cards."""
        conn = uow.conn
        now = self._now()
        claimed, customer_id = open_order(
            uow,
            channel=channel,
            external_id=external_id,
            kind=OrderKind.POS,
            status=OrderStatus.CLOSED,
            currency=currency,
            order_total=total(lines) + gift_cards,
            commerce=commerce,
            lines=[
                LineState(p.line_no, p.sku, p.qty, p.unit_price, picked=p.qty, packed=p.qty, shipped=p.qty)
                for p in lines
            ],
            tenders=tenders,
            contact=contact,
            customer_id=customer_id,
            exchange_of=exchange_of,
            trace_id=trace_id,
            now=now,
            occurred_at=occurred_at,
            columns={"location": location, "prebook": False},
        )
        if not claimed.created:
            return claimed
        order_id = claimed.order_id
        if customer_id is not None:
            uow.orders.update_order(conn, order_id, customer_id=customer_id)
        demand = component_demand(p.demand() for p in lines)
        uow.ledger.expire_holds(uow, uow.ledger.expired_hold_ids(conn, now, skus=sorted(demand)), now)
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
                uow.ledger.record_movement(uow, move, now=now, occurred_at=occurred_at, trace_id=trace_id)
            except Shortage as exc:
                if not force:
                    short.extend(exc.lines)
                    continue
                row, after = uow.ledger.record_forced_movement(
                    uow, move, now=now, occurred_at=occurred_at, trace_id=trace_id
                )
                record_oversell(uow, after, moved=qty, cause="sale", document=order_id, movement_id=row["id"], now=now)
            metrics.MOVEMENTS.labels("sale").inc()
            metrics.MOVEMENT_UNITS.labels("sale").inc(qty)
        if short:
            raise Shortage(short)
        metrics.ORDERS.labels("pos", "closed").inc()
        uow.raise_event(SaleRecorded(order_id))
        return NewOrder(True, order_id)
