"""Transfers and counts over HTTP."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from seamline.api.bodies import JsonRoute
from seamline.api.deps import principal, service, trace_id
from seamline.api.order_schemas import CountIn, CountLinesIn, CountOut, ReceiveIn, TransferIn, TransferOut
from seamline.api.routes.common import PROBLEMS, run_command
from seamline.service import Principal
from seamline.service.stock_documents import StockDesk
from seamline.service.unit_of_work import UnitOfWork

router = APIRouter(
    prefix="/v1", tags=["transfers and counts"], responses=PROBLEMS, route_class=JsonRoute, strict_content_type=False
)


@router.post("/transfers", status_code=201, response_model=TransferOut)
def post_transfer(body: TransferIn, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    """A transfer between two locations (``open``); it moves nothing until shipped. Same location: 422."""
    who.require_location(body.from_)
    desk = StockDesk(service(request))
    lines = [(line.sku, line.qty) for line in body.lines]
    tid = trace_id(request)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        conn = uow.conn
        return 201, desk.create_transfer(conn, body.from_, body.to, lines, trace_id=tid)

    return run_command(request, who, body.model_dump(by_alias=True), work)


@router.get("/transfers/{transfer_id}", response_model=TransferOut)
def get_transfer(transfer_id: str, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    found = StockDesk(service(request)).get_transfer(transfer_id)
    if not (who.has_location(found["from"]) or who.has_location(found["to"])):
        who.require_read()
    return found


@router.post("/transfers/{transfer_id}/ship", response_model=TransferOut)
def ship_transfer(transfer_id: str, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    """from -> in_transit, every line or none (409 ``insufficient-stock``)."""
    desk = StockDesk(service(request))
    who.require_location(desk.get_transfer(transfer_id)["from"])
    tid = trace_id(request)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        return 200, desk.ship_transfer(uow, transfer_id, trace_id=tid)

    return run_command(request, who, {"transfer": transfer_id, "step": "ship"}, work)


@router.post("/transfers/{transfer_id}/receive", response_model=TransferOut)
def receive_transfer(
    transfer_id: str, request: Request, body: ReceiveIn | None = None, who: Principal = Depends(principal)
) -> JSONResponse:
    """in_transit -> to. ``lines`` give what arrived; short and over receipts become adjustments."""
    desk = StockDesk(service(request))
    who.require_location(desk.get_transfer(transfer_id)["to"])
    lines = [(line.sku, line.qty) for line in body.lines] if body and body.lines else None
    tid = trace_id(request)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        return 200, desk.receive_transfer(uow, transfer_id, lines, trace_id=tid)

    data = {"transfer": transfer_id, "step": "receive", **(body.model_dump() if body else {})}
    return run_command(request, who, data, work)


@router.post("/transfers/{transfer_id}/cancel", response_model=TransferOut)
def cancel_transfer(transfer_id: str, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    desk = StockDesk(service(request))
    who.require_location(desk.get_transfer(transfer_id)["from"])

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        conn = uow.conn
        return 200, desk.cancel_transfer(conn, transfer_id)

    return run_command(request, who, {"transfer": transfer_id, "step": "cancel"}, work)


@router.post("/counts", status_code=201, response_model=CountOut)
def post_count(body: CountIn, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    """Start a count: snapshot the expected on-hand of the given SKUs (or all the location holds)."""
    who.require_location(body.location)
    desk = StockDesk(service(request))
    tid = trace_id(request)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        conn = uow.conn
        return 201, desk.start_count(conn, body.location, body.skus, trace_id=tid)

    return run_command(request, who, body.model_dump(), work)


@router.get("/counts/{count_id}", response_model=CountOut)
def get_count(count_id: str, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    found = StockDesk(service(request)).get_count(count_id)
    if not who.has_location(found["location"]):
        who.require_read()
    return found


@router.post("/counts/{count_id}/lines", response_model=CountOut)
def enter_count(
    count_id: str, body: CountLinesIn, request: Request, who: Principal = Depends(principal)
) -> JSONResponse:
    """Enter counted quantities (again to recount); the ledger's on-hand at this moment is kept with each."""
    desk = StockDesk(service(request))
    who.require_location(desk.get_count(count_id)["location"])
    lines = [(line.sku, line.counted) for line in body.lines]

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        conn = uow.conn
        return 200, desk.enter_count(conn, count_id, lines)

    return run_command(request, who, {"count": count_id, **body.model_dump()}, work)


@router.post("/counts/{count_id}/post", response_model=CountOut)
def post_count_differences(count_id: str, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    """Book the differences as ``count`` movements, net of what moved while the count was open."""
    desk = StockDesk(service(request))
    who.require_location(desk.get_count(count_id)["location"])
    tid = trace_id(request)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        return 200, desk.post_count(uow, count_id, trace_id=tid)

    return run_command(request, who, {"count": count_id, "step": "post"}, work)


@router.post("/counts/{count_id}/cancel", response_model=CountOut)
def cancel_count(count_id: str, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    desk = StockDesk(service(request))
    who.require_location(desk.get_count(count_id)["location"])

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        conn = uow.conn
        return 200, desk.cancel_count(conn, count_id)

    return run_command(request, who, {"count": count_id, "step": "cancel"}, work)
