"""The one order queue over HTTP: orders of every channel, their steps, and the backorder allocation run."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from seamline.api.bodies import JsonRoute
from seamline.api.deps import principal, service, trace_id
from seamline.api.order_schemas import (
    AllocationRunIn,
    CancelLinesIn,
    CommerceLineIn,
    OrderIn,
    OrderList,
    OrderOut,
    PickIn,
    ShipIn,
)
from seamline.api.routes.common import PROBLEMS, put_status, run_command
from seamline.domain.commerce import (
    Address,
    CommerceLine,
    DiscountAllocation,
    OrderCommerce,
    Payment,
    ShippingLine,
    TaxLine,
)
from seamline.domain.errors import FieldError, Forbidden, InvalidInput
from seamline.service import Principal
from seamline.service.customers import ContactRequest
from seamline.service.line_cancellations import LineCancellations
from seamline.service.lock_keys import order_rows
from seamline.service.orders import LineRequest, OrderDesk, OrderRequest, OrderView, TenderRequest, unknown_order
from seamline.service.unit_of_work import UnitOfWork

router = APIRouter(prefix="/v1", tags=["orders"], responses=PROBLEMS, route_class=JsonRoute, strict_content_type=False)


def contact(body: Any) -> ContactRequest | None:
    if body is None:
        return None
    return ContactRequest(email=body.email, phone=body.phone, name=body.name, country=body.country)


def may_access_order(who: Principal, order: Mapping[str, Any]) -> bool:
    """The order's channel, or (a warehouse or store token) every location the order draws on or sold at."""
    if who.has_channel(order["channel"]):
        return True
    locations = {a["location"] for a in order.get("allocations", [])} | ({order["location"]} - {None})
    return bool(locations) and all(who.has_location(loc) for loc in locations)


def require_order_access(who: Principal, order: Mapping[str, Any]) -> None:
    """Outside the token's scope the order does not exist for it (404, as an unknown id): a scoped token
    cannot learn another channel's orders, even that they exist; a ``read`` token that may see it but not
    act on it is refused (403)."""
    if may_access_order(who, order):
        return
    if who.can_read():
        raise Forbidden("this token may read this order but not act on it", code="insufficient-scope")
    raise unknown_order(order["id"], in_body=False)


def commerce_of(body: OrderIn) -> OrderCommerce | None:
    """The channel's numbers of an order sent to the API: one commerce line per order line, at the line's
    own price (which must be given: the channel's, not a price list's)."""
    given = body.commerce
    if given is None:
        return None
    errors = [
        FieldError(f"lines[{i}].unit_price", "give the channel's price when commerce is given")
        for i, line in enumerate(body.lines)
        if line.unit_price is None
    ]
    if given.lines and len(given.lines) != len(body.lines):
        errors.append(FieldError("commerce.lines", f"one per order line: {len(body.lines)}"))
    if errors:
        raise InvalidInput("the commerce does not fit the lines", errors)

    def taxes(items: Any) -> tuple[TaxLine, ...]:
        return tuple(TaxLine(t.title, Decimal(t.rate), Decimal(t.amount)) for t in items)

    def discounts(items: Any) -> tuple[DiscountAllocation, ...]:
        return tuple(DiscountAllocation(Decimal(d.amount), d.source) for d in items)

    extra: list[CommerceLineIn | None] = list(given.lines) or [None] * len(body.lines)
    return OrderCommerce(
        source="api",
        name=given.name or body.external_id,
        currency=body.currency,
        presentment_currency=given.presentment_currency or body.currency,
        taxes_included=given.taxes_included,
        lines=tuple(
            CommerceLine(
                line_id=str(i),
                title=line.sku,
                qty=line.qty,
                unit_price=Decimal(str(line.unit_price)),
                sku=line.sku,
                order_line_no=i,
                discounts=discounts(more.discounts) if more else (),
                tax_lines=taxes(more.tax_lines) if more else (),
                duties=taxes(more.duties) if more else (),
            )
            for i, (line, more) in enumerate(zip(body.lines, extra, strict=True), start=1)
        ),
        channel_total=Decimal(given.channel_total),
        shipping=tuple(
            ShippingLine(s.title, Decimal(s.price), discounts(s.discounts), taxes(s.tax_lines)) for s in given.shipping
        ),
        payments=tuple(Payment(p.tender, Decimal(p.amount), p.gateway, reference=p.reference) for p in given.payments),
        ship_to=Address(**given.ship_to.model_dump()) if given.ship_to else None,
        bill_to=Address(**given.bill_to.model_dump()) if given.bill_to else None,
        customer={"email": body.customer.email, "name": body.customer.name} if body.customer else {},
    )


@router.post("/orders", status_code=201, response_model=OrderOut, responses={200: {"model": OrderOut}})
def post_order(body: OrderIn, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    """Capture an order of any channel and allocate it from the channel's sources in their order (a hold
    given by ``hold_id`` becomes its allocation). 201 ``allocated``/``partially_allocated``/``backordered``
    by the channel's shortage policy; 409 ``insufficient-stock`` and nothing written when the channel
    rejects shortages; 200 with the first order for a repeated ``(channel, external_id)``."""
    who.require_channel(body.channel)
    commerce = commerce_of(body)
    tenders = [TenderRequest(t.type, t.amount) for t in body.tenders]
    if commerce is not None and not tenders:
        tenders = [TenderRequest(p.tender, str(p.amount)) for p in commerce.payments]
    req = OrderRequest(
        channel=body.channel,
        external_id=body.external_id,
        lines=[LineRequest(line.sku, line.qty, line.unit_price) for line in body.lines],
        currency=body.currency,
        kind=body.kind,
        customer=contact(body.customer),
        hold_id=body.hold_id,
        tenders=tenders,
        price_tier=body.price_tier,
        ship_start=body.ship_window.start if body.ship_window else None,
        cancel_date=body.ship_window.cancel if body.ship_window else None,
        prebook=body.prebook,
        commerce=commerce,
    )
    desk = OrderDesk(service(request))
    tid = trace_id(request)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        placed = desk.placing.place_order(uow, req, trace_id=tid)
        return put_status(placed.created), placed.order

    rows = order_rows(body.channel, [line.sku for line in body.lines])
    return run_command(request, who, body.model_dump(mode="json"), work, batch=True, lock_keys=rows)


@router.get("/orders", response_model=OrderList)
def list_orders(
    request: Request,
    channel: str | None = Query(default=None, max_length=64),
    status: str | None = Query(default=None, max_length=500, description="one status, or several comma-separated"),
    kind: str | None = Query(default=None, max_length=16),
    customer: str | None = Query(default=None, max_length=40),
    cursor: str | None = Query(default=None, max_length=32),
    limit: int = Query(default=100, ge=1, le=500),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """The queue, oldest first, filtered; ``next_cursor`` continues it."""
    if channel is None or not who.has_channel(channel):
        who.require_read()
    items, next_cursor = OrderDesk(service(request)).list_orders(
        channel=channel,
        status=[s for s in status.split(",") if s] if status else None,
        kind=kind,
        customer_id=customer,
        cursor=cursor,
        limit=limit,
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get("/orders/{order_id}", response_model=OrderOut)
def get_order(order_id: str, request: Request, who: Principal = Depends(principal)) -> OrderView:
    order = OrderDesk(service(request)).get_order(order_id)
    if not (who.can_read() or may_access_order(who, order)):
        raise unknown_order(order_id, in_body=False)
    return order


def _step(request: Request, who: Principal, order_id: str, body: dict[str, Any], step: str, **kw: Any) -> JSONResponse:
    desk = OrderDesk(service(request))
    require_order_access(who, desk.get_order(order_id))
    tid = trace_id(request)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        if step == "pick":
            return 200, desk.pick(uow, order_id, kw.get("lines"), trace_id=tid)
        if step == "ship":
            return 200, desk.ship(uow, order_id, kw.get("tracking"), carrier=kw.get("carrier"))
        handler = {"pack": desk.pack, "cancel": desk.cancel, "close": desk.close}[step]
        return 200, handler(uow, order_id)

    return run_command(request, who, {"order": order_id, "step": step, **body}, work)


@router.post("/orders/{order_id}/pick", response_model=OrderOut)
def pick(
    order_id: str, request: Request, body: PickIn | None = None, who: Principal = Depends(principal)
) -> JSONResponse:
    """Pick allocated units (all of them, or ``lines``): each leaves its location with a ``pick`` movement
    and its allocation ends; ``committed`` and ``on_hand`` go down together. More than allocated: 422."""
    lines = [(line.sku, line.qty) for line in body.lines] if body and body.lines else None
    data = body.model_dump() if body else {}
    return _step(request, who, order_id, data, "pick", lines=lines)


@router.post("/orders/{order_id}/pack", response_model=OrderOut)
def pack(order_id: str, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    """Pack every picked unit. Nothing picked: 409 ``illegal-transition``."""
    return _step(request, who, order_id, {}, "pack")


@router.post("/orders/{order_id}/ship", response_model=OrderOut)
def ship(
    order_id: str, request: Request, body: ShipIn | None = None, who: Principal = Depends(principal)
) -> JSONResponse:
    """Ship every packed unit as one shipment, with its tracking number and carrier. An unpicked or unpacked
    order: 409."""
    data = body.model_dump() if body else {}
    if data.get("carrier") is None:
        data.pop("carrier", None)  # a request without a carrier keeps the idempotency fingerprint it had
    return _step(
        request,
        who,
        order_id,
        data,
        "ship",
        tracking=body.tracking if body else None,
        carrier=body.carrier if body else None,
    )


@router.post("/orders/{order_id}/cancel", response_model=OrderOut)
def cancel(order_id: str, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    """Cancel what is not picked: allocations go back to available. Picked units are listed in
    ``awaiting_return``; a shipped order cannot be cancelled (return it)."""
    return _step(request, who, order_id, {}, "cancel")


@router.post("/orders/{order_id}/cancel-lines", response_model=OrderOut)
def cancel_lines(
    order_id: str, body: CancelLinesIn, request: Request, who: Principal = Depends(principal)
) -> JSONResponse:
    """Cancel units of some lines (not picked yet) while the rest of the order goes on: their allocations go
    back to available, and the order's channel is told (a marketplace cancels them on its side). More units
    than are unpicked, or a line the order does not have: 422 with nothing changed."""
    app = service(request)
    require_order_access(who, OrderDesk(app).get_order(order_id))
    wanted: dict[int, int] = {}
    for line in body.lines:
        wanted[line.line_no] = wanted.get(line.line_no, 0) + line.qty

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        return 200, LineCancellations(app).cancel_lines(uow, order_id, wanted, reason=body.reason)

    return run_command(request, who, {"order": order_id, "step": "cancel-lines", **body.model_dump()}, work)


@router.post("/orders/{order_id}/close", response_model=OrderOut)
def close(order_id: str, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    return _step(request, who, order_id, {}, "close")


@router.post("/allocation-runs", status_code=201)
def allocation_run(
    request: Request, body: AllocationRunIn | None = None, who: Principal = Depends(principal)
) -> JSONResponse:
    """Allocate backorders from stock that has arrived: wholesale pre-books by ship date, then the rest in
    the order they were placed (admin only)."""
    who.require_admin()
    limit = body.limit if body else 500
    desk = OrderDesk(service(request))

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        return 201, desk.run_allocation(uow, limit=limit)

    return run_command(request, who, {"allocation_run": limit}, work)
