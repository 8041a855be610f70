"""Returns and exchanges: goods back against the original order, from any channel, at any location, refunded
to the original tenders; an exchange is a return and a new order (or sale), linked, in one transaction."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from seamline.domain.commerce import OrderCommerce, RefundCommerce
from seamline.domain.errors import Conflict
from seamline.finance.refunds import nothing_kept, paid_amounts, refund_of_units
from seamline.ledger.model import MovementKind, PlannedMovement
from seamline.orders.events import ReturnBooked
from seamline.orders.model import Condition, LineState, OrderKind
from seamline.orders.returns import PlannedReturnLine, plan_return, split_refund
from seamline.service import metrics
from seamline.service.orders.common import (
    EXCHANGE_CREDIT,
    OrderPart,
    components_of,
    parse_lines,
    parse_tenders,
    pos_channel,
    sellable_location,
    total,
    unknown_order,
)
from seamline.service.orders.placing import OrderPlacing
from seamline.service.orders.pos_sales import PosSales
from seamline.service.orders.requests import ExchangeRequest, ReturnRequest
from seamline.service.orders.views import ExchangeView, ReturnView, read_order_view, read_return_view
from seamline.service.unit_of_work import UnitOfWork


class Returns(OrderPart):
    def record_return(self, uow: UnitOfWork, req: ReturnRequest, *, trace_id: str | None = None) -> ReturnView:
        """Goods come back against the original order, from any channel, at any location: sellable units
        into that location's stock, damaged ones to ``damaged``; refunded to the original tenders."""
        conn = uow.conn
        order = uow.orders.get_order(conn, req.order_id, for_update=True)
        if order is None:
            raise unknown_order(req.order_id, in_body=True)
        location = sellable_location(uow, req.location)
        planned = plan_return(order["lines"], req.lines)
        return_id = "ret_" + uuid.uuid4().hex
        if req.commerce is None and order.get("commerce"):
            # A return booked here of an order that carries its channel's money: credited at what the buyer
            # paid for the units, and a marketplace (told of it, it refunds it) refunds the same figures.
            planned, derived = paid_return(order, return_id, planned)
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
                uow.orders.refunded_by_tender(conn, order["id"], order["currency"]),
                req.refund_tender,
            )
        self._insert_return(uow, order, return_id, location, planned, refund, trace_id, req.commerce)
        return read_return_view(conn, return_id, uow.repositories)

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
        components = components_of(uow, sorted({line.sku for line in planned}))
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
            uow.ledger.record_movement(uow, move, now=now, trace_id=trace_id)
            metrics.MOVEMENTS.labels("return").inc()
            metrics.MOVEMENT_UNITS.labels("return").inc(qty)
        back: dict[int, int] = defaultdict(int)
        for line in planned:
            back[line.order_line_no] += line.qty
        lines: list[LineState] = order["lines"]
        uow.orders.save_lines(
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
        uow.orders.insert_return(
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

    def exchange(self, uow: UnitOfWork, req: ExchangeRequest, *, trace_id: str | None = None) -> ExchangeView:
        """A return and a new order, linked, in one transaction. The goods brought back pay for the new
        ones (``exchange_credit``); any rest is refunded to the original tenders, and any difference due
        is paid by ``tenders``. ``fulfil: here`` hands the new goods over at ``location`` now (a sale);
        ``ship`` places an order on the original channel, allocated by its policy."""
        conn = uow.conn
        order = uow.orders.get_order(conn, req.order_id, for_update=True)
        if order is None:
            raise unknown_order(req.order_id, in_body=True)
        location = sellable_location(uow, req.location)
        fulfil = req.fulfil or ("here" if order["kind"] == OrderKind.POS.value else "ship")
        planned = plan_return(order["lines"], req.return_lines)
        return_id = "ret_" + uuid.uuid4().hex
        derived = None
        if order.get("commerce"):
            planned, derived = paid_return(order, return_id, planned)
        currency = order["currency"]
        # A new size or colour of a style the customer bought costs what they paid for it (packs aside).
        variants = {
            sku
            for sku, kind in uow.catalog.known_skus(conn, [line.sku for line in order["lines"]]).items()
            if kind == "variant"
        }
        styles = uow.orders.style_of(conn, variants)
        paid_per_style = {styles[line.sku]: line.unit_price for line in order["lines"] if line.sku in styles}
        lines = parse_lines(uow, req.lines, currency, "retail", fallback_prices=paid_per_style)
        # What the goods brought back are worth: what was paid for them (and the shipping, when a marketplace's
        # order comes back whole: the marketplace refunds it, and the credit note carries it).
        returned = sum((line.amount for line in planned), Decimal(0)) if derived is None else derived.computed_total
        wanted = total(lines)
        credit = min(returned, wanted)
        paid = parse_tenders(req.tenders, currency, wanted - credit, required=wanted > credit)
        self._book_return(uow, order, return_id, location, planned, trace_id)
        refund = split_refund(
            returned - credit,
            order["tenders"],
            uow.orders.refunded_by_tender(conn, order["id"], currency),
            req.refund_tender,
        )
        self._insert_return(uow, order, return_id, location, planned, refund, trace_id, derived)
        tenders = ([(EXCHANGE_CREDIT, credit)] if credit else []) + paid
        if fulfil == "here":
            new = PosSales(self.app).create_sale(
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
            channel = uow.channels.get_channel(conn, order["channel"])
            if channel is None:
                raise Conflict(f"channel {order['channel']} no longer exists to ship from", code="conflict")
            new = OrderPlacing(self.app).create_order(
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
        uow.orders.set_exchange(conn, return_id, new.order_id)
        return {
            "return": read_return_view(conn, return_id, uow.repositories),
            "order": read_order_view(conn, new.order_id, uow.repositories),
        }


def paid_return(
    order: Mapping[str, Any], return_id: str, planned: Sequence[PlannedReturnLine]
) -> tuple[list[PlannedReturnLine], RefundCommerce | None]:
    """The return's lines at what the buyer paid for their units (the channel's price less the line's and
    the order's discounts allocated to it, its tax as the order charged it; ``finance.refunds``), and that
    refund at the channel's figures. A marketplace's order returned whole gives its shipping back too (the
    marketplace is told the same). Lines the channel's money does not cover stay at the price paid."""
    commerce = OrderCommerce.from_json(order["commerce"])
    if order["kind"] == OrderKind.POS.value and commerce.channel_totals.get("has_taxes") != "true":
        # A till sale without the till's tax lines was receipted at its lines' prices (what was paid per
        # unit) and our chart's tax: its return is credited the same way.
        return list(planned), None
    lines: list[LineState] = order["lines"]
    back: dict[int, int] = defaultdict(int)
    for line in planned:
        back[line.order_line_no] += line.qty
    whole = order["kind"] == OrderKind.MARKETPLACE.value and nothing_kept(
        [(line.line_no, line.qty, line.cancelled + line.returned) for line in lines], back
    )
    derived = refund_of_units(
        commerce,
        return_id,
        [(line.order_line_no, line.qty) for line in planned],
        {line.line_no: line.returned for line in lines},
        with_shipping=whole,
    )
    if derived is None:
        return list(planned), None
    paid = paid_amounts(derived)
    return [replace(line, amount=amount) for line, amount in zip(planned, paid, strict=True)], derived
