"""Returns and exchanges over HTTP: against any channel's order, at any location."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from seamline.api.bodies import JsonRoute
from seamline.api.deps import principal, service, trace_id
from seamline.api.order_schemas import ExchangeIn, ExchangeOut, ReturnIn, ReturnOut
from seamline.api.routes.common import PROBLEMS, run_command
from seamline.orders.returns import ReturnRequestLine
from seamline.service import Principal
from seamline.service.giftcards import GiftCardDesk
from seamline.service.orders import ExchangeRequest, LineRequest, OrderDesk, ReturnRequest, ReturnView, TenderRequest
from seamline.service.unit_of_work import UnitOfWork

router = APIRouter(prefix="/v1", tags=["returns"], responses=PROBLEMS, route_class=JsonRoute, strict_content_type=False)


@router.post("/returns", status_code=201, response_model=ReturnOut)
def post_return(body: ReturnIn, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    """Take goods back against an order of any channel at ``location`` (buy online, return in store):
    ``sellable`` units into that location's stock, ``damaged`` ones to ``damaged``. Never more than was
    sold; refunded to the original tender (``refund.tender`` picks one of them)."""
    who.require_location(body.location)
    req = ReturnRequest(
        order_id=body.order_id,
        location=body.location,
        lines=[ReturnRequestLine(line.sku, line.qty, line.condition) for line in body.lines],
        refund_tender=body.refund.tender if body.refund else None,
    )
    desk = OrderDesk(service(request))
    tid = trace_id(request)

    cards = GiftCardDesk(service(request))

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        view = desk.record_return(uow, req, trace_id=tid)
        # Refunded to the gift_card tender: back on the cards that paid, or a new card (issue 17).
        put_back = cards.refund_return(uow, view, trace_id=tid)
        if put_back:
            view["gift_cards"] = put_back
        return 201, view

    return run_command(request, who, body.model_dump(mode="json"), work)


@router.get("/returns/{return_id}", response_model=ReturnOut)
def get_return(return_id: str, request: Request, who: Principal = Depends(principal)) -> ReturnView:
    found = OrderDesk(service(request)).get_return(return_id)
    if not who.has_location(found["location"]):
        who.require_read()
    return found


@router.post("/exchanges", status_code=201, response_model=ExchangeOut)
def post_exchange(body: ExchangeIn, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    """A return and a new order, linked, in one transaction: the goods brought back pay for the new ones;
    any rest is refunded, any difference is paid by ``tenders``."""
    who.require_location(body.location)
    req = ExchangeRequest(
        order_id=body.order_id,
        location=body.location,
        return_lines=[ReturnRequestLine(line.sku, line.qty, line.condition) for line in body.return_lines],
        lines=[LineRequest(line.sku, line.qty, line.unit_price) for line in body.lines],
        tenders=[TenderRequest(t.type, t.amount) for t in body.tenders],
        refund_tender=body.refund.tender if body.refund else None,
        fulfil=body.fulfil,
    )
    desk = OrderDesk(service(request))
    tid = trace_id(request)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        return 201, desk.exchange(uow, req, trace_id=tid)

    return run_command(request, who, body.model_dump(mode="json"), work)
