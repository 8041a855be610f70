"""Placing an order from any channel: its lines priced and checked, then allocated by its channel's policy,
from a checkout's hold or straight from available stock."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from seamline.domain.commerce import OrderCommerce
from seamline.domain.errors import FieldError, InvalidInput, Shortage
from seamline.domain.money import parse_currency
from seamline.orders.allocation import DemandLine, component_demand, hold_covers_exactly, plan_channel_allocation
from seamline.orders.model import LineState, OrderKind, OrderStatus
from seamline.orders.state import derive_status
from seamline.orders.wholesale import check_window
from seamline.service import metrics
from seamline.service.channels import Channels
from seamline.service.customers import Contact, parse_contact
from seamline.service.orders.common import (
    NewOrder,
    OrderPart,
    ParsedLine,
    open_order,
    order_kind_for,
    parse_lines,
    parse_tenders,
    total,
)
from seamline.service.orders.requests import OrderRequest
from seamline.service.orders.views import OrderView, read_order_view
from seamline.service.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """``created`` False: the channel sent this external id before, and ``order`` is the first order."""

    created: bool
    order: OrderView


class OrderPlacing(OrderPart):
    def place_order(self, uow: UnitOfWork, req: OrderRequest, *, trace_id: str | None = None) -> PlacedOrder:
        """Capture an order and allocate it per its channel's policy: created with status ``allocated``,
        ``partially_allocated`` or ``backordered``; ``Shortage`` and nothing written when the channel rejects
        shortages; the first order, not created, when (channel, external_id) was seen before."""
        conn = uow.conn
        channel = uow.channels.get_channel(conn, req.channel)
        if channel is None:
            raise Channels.unknown_channel(req.channel)
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
        lines = parse_lines(uow, req.lines, currency, tier)
        if req.commerce is not None:
            due = req.commerce.channel_total if req.commerce.channel_total is not None else total(lines)
            tenders = parse_tenders(req.tenders, currency, due, required=False, partial=True)
        else:
            tenders = parse_tenders(req.tenders, currency, total(lines), required=False)
        contact = parse_contact(req.customer)
        new = self.create_order(
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
        return PlacedOrder(new.created, read_order_view(conn, new.order_id, uow.repositories))

    def create_order(
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
    ) -> NewOrder:
        conn = uow.conn
        now = self._now()
        state = [LineState(p.line_no, p.sku, p.qty, p.unit_price) for p in lines]
        claimed, customer_id = open_order(
            uow,
            channel=channel["code"],
            external_id=external_id,
            kind=kind,
            status=OrderStatus.PLACED,
            currency=currency,
            # The channel's own total when it sent one (discounts, shipping and tax included).
            order_total=(
                commerce.channel_total if commerce is not None and commerce.channel_total is not None else total(lines)
            ),
            commerce=commerce,
            lines=state,
            tenders=tenders,
            contact=contact,
            customer_id=customer_id,
            exchange_of=exchange_of,
            trace_id=trace_id,
            now=now,
            columns={
                "price_tier": price_tier,
                "ship_start": ship_start,
                "cancel_date": cancel_date,
                "prebook": prebook,
                "hold_id": hold_id,
            },
        )
        if not claimed.created:
            return claimed
        order_id = claimed.order_id
        if hold_id is not None:
            allocated = self._commit_hold(uow, order_id, channel["code"], channel["sources"], hold_id, lines)
        else:
            # A pre-book takes what the channel may take on hand now (units on hand are promised by
            # allocation, or they are not promised at all) and backorders the rest, which the allocation run
            # serves by ship date as supply arrives; it is never refused for want of stock on hand.
            allocated = self.allocate(
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
        uow.orders.save_lines(conn, order_id, state)
        uow.orders.update_order(conn, order_id, status=status.value, customer_id=customer_id, updated_at=now)
        metrics.ORDERS.labels(kind.value, status.value).inc()
        return NewOrder(True, order_id)

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
        hold = uow.ledger.get_hold(conn, hold_id)
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

    def allocate(
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
        uow.ledger.expire_holds(uow, uow.ledger.expired_hold_ids(conn, now, skus=skus), now)
        available = uow.ledger.lock_available(conn, [(sku, loc) for sku in skus for loc in sources])
        # The rows read are locked, so the channel's bounds hold until this transaction ends.
        policies = uow.channels.policies(conn, skus=skus)
        policy = next((p for p in policies if p.code == channel), None)
        fences = [p for p in policies if p.ring_fences]
        plan = plan_channel_allocation(demand, policy, fences, sources, available, allow_split=allow_split)
        if reject and not plan.complete:
            raise Shortage(plan.shortages())
        short = uow.ledger.allocate(uow, order_id, plan.takes(), now=now)
        if short:  # the rows are locked, so this means a bug rather than a race: refuse, write nothing
            raise Shortage(short)
        return {line.line_no: line.units for line in plan.lines}
