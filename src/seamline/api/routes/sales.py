"""POS sales and oversell exceptions over HTTP."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from seamline.api.bodies import JsonRoute
from seamline.api.deps import principal, service, trace_id
from seamline.api.order_schemas import ExceptionList, OrderOut, SaleIn
from seamline.api.routes.common import PROBLEMS, put_status, run_command
from seamline.api.routes.orders import contact
from seamline.service import Principal
from seamline.service.giftcards import GiftCardDesk
from seamline.service.lock_keys import sale_rows
from seamline.service.orders import GiftCardSaleRequest, LineRequest, OrderDesk, SaleRequest, TenderRequest
from seamline.service.unit_of_work import UnitOfWork

router = APIRouter(prefix="/v1", tags=["sales"], responses=PROBLEMS, route_class=JsonRoute, strict_content_type=False)


@router.post("/sales", status_code=201, response_model=OrderOut, responses={200: {"model": OrderOut}})
def post_sale(body: SaleIn, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    """A till sale, captured and fulfilled at once at its store: a ``pos`` order, status ``closed``, with its
    tenders. A ``location:<code>`` token sells only at its own location and only under that store's till
    channels (``pos:<store>`` when ``channel`` is left out, or a ``pos`` channel sourcing the store); a
    ``channel:<code>`` token only under its own till channel. Not enough available: 409, unless ``force``
    (the goods already left): then it is recorded and an oversell exception is raised."""
    if not (who.has_location(body.location) or (body.channel is not None and who.has_channel(body.channel))):
        who.require_location(body.location)
    req = SaleRequest(
        location=body.location,
        external_id=body.external_id,
        lines=[LineRequest(line.sku, line.qty, line.unit_price) for line in body.lines],
        tenders=[TenderRequest(t.type, t.amount) for t in body.tenders],
        currency=body.currency,
        customer=contact(body.customer),
        occurred_at=body.occurred_at,
        channel=body.channel,
        force=body.force,
        gift_cards=[GiftCardSaleRequest(c.amount, c.code) for c in body.gift_cards],
    )
    desk = OrderDesk(service(request))
    tid = trace_id(request)

    cards = GiftCardDesk(service(request))
    card_tenders = [(t.type, Decimal(t.amount), t.code) for t in body.tenders]
    sold = [(Decimal(c.amount), c.code) for c in body.gift_cards]

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        sale = desk.sales.record_sale(uow, req, trace_id=tid, caller=who)
        # A gift_card tender takes its amount off the card it names, in the sale's transaction: a card that
        # cannot pay refuses the sale (409), nothing written (issue 17).
        cards.redeem_sale_tenders(uow, sale.order, card_tenders, trace_id=tid)
        # Gift cards sold are issued in the same transaction, once per sale; the answer names their codes.
        issued = cards.sell_at_till(uow, sale.order, sold, created=sale.created, trace_id=tid)
        if issued:
            return put_status(sale.created), {**sale.order, "gift_cards": issued}
        return put_status(sale.created), sale.order

    rows = sale_rows(body.location, [line.sku for line in body.lines])
    dumped = body.model_dump(mode="json")
    for tender in dumped["tenders"]:  # a tender without a code keeps the idempotency fingerprint it had
        if tender.get("code") is None:
            tender.pop("code", None)
    if not dumped["gift_cards"]:  # so does a sale that sells no gift card
        dumped.pop("gift_cards")
    return run_command(request, who, dumped, work, batch=True, lock_keys=rows)


@router.get("/exceptions", response_model=ExceptionList)
def list_exceptions(
    request: Request,
    sku: str | None = Query(default=None, max_length=64),
    location: str | None = Query(default=None, max_length=64),
    cursor: str | None = Query(default=None, max_length=32),
    limit: int = Query(default=100, ge=1, le=500),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Oversell exceptions: units that left a location while promised, and the orders now short."""
    if location is None or not who.has_location(location):
        who.require_read()
    items, next_cursor = OrderDesk(service(request)).exceptions(sku=sku, location=location, cursor=cursor, limit=limit)
    return {"items": items, "next_cursor": next_cursor}
