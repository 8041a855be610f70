"""Movements, stock, holds and per-channel availability: the one inventory ledger over HTTP."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from seamline.api.bodies import JsonRoute
from seamline.api.deps import (
    idempotency_key,
    principal,
    principal_async,
    read_json_body,
    service,
    trace_id,
    validate_body,
)
from seamline.api.routes.common import PROBLEMS, run_command
from seamline.api.schemas import AvailabilityOut, HoldIn, HoldOut, MovementIn, MovementOut, StockOut
from seamline.domain.errors import FieldError, Forbidden, InvalidInput, NotFound
from seamline.finance.cost import parse_unit_cost
from seamline.ledger import HoldLineRequest, MovementRequest
from seamline.service import Principal
from seamline.service.costing import check_cost_currency
from seamline.service.holds import HoldView
from seamline.service.unit_of_work import UnitOfWork

router = APIRouter(prefix="/v1", tags=["ledger"], responses=PROBLEMS, route_class=JsonRoute, strict_content_type=False)


@router.post("/movements", status_code=201, response_model=MovementOut)
def post_movement(body: MovementIn, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    """Record a receipt, adjustment, damage, sample or employee purchase. Goods leaving a location must be
    available there; otherwise 409 with the shortage and nothing is written."""
    for code in (body.from_, body.to):
        if code is not None and not who.has_location(code):
            raise Forbidden(f"this token may not move stock at {code}", code="insufficient-scope")
    if body.from_ is None and body.to is None:
        who.require_admin()
    data = body.model_dump(by_alias=True)
    # A bad cost is refused before anything is written (problem+json naming ``unit_cost``).
    unit_cost = None if body.unit_cost is None else parse_unit_cost(body.unit_cost)
    if body.currency is not None and unit_cost is None:
        raise InvalidInput("a currency goes with a unit cost", [FieldError("currency", "give unit_cost with it")])
    movement = MovementRequest(
        kind=body.kind,
        sku=body.sku,
        qty=body.qty,
        from_location=body.from_,
        to_location=body.to,
        reason=body.reason,
        document=body.document,
        unit_cost=unit_cost,
    )
    key = request.headers.get("idempotency-key")
    tid = trace_id(request)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        if unit_cost is not None:
            check_cost_currency(uow.conn, body.currency)
        return 201, service(request).record_movement(uow, movement, trace_id=tid, idempotency_key=key)

    return run_command(request, who, data, work)


@router.get("/stock", response_model=StockOut)
def get_stock(
    request: Request,
    sku: str | None = Query(default=None, max_length=64),
    location: str | None = Query(default=None, max_length=64),
    style: str | None = Query(default=None, max_length=64),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Balances per SKU and location: on hand, committed, reserved and available (holds past their expiry
    are not counted, whether or not the sweeper has reached them)."""
    if location is None or not who.has_location(location):
        who.require_read()
    return {"items": service(request).stock(sku=sku, location=location, style=style)}


@router.post(
    "/holds",
    status_code=201,
    response_model=HoldOut,
    # The body is read by ``read_json_body``/``validate_body`` (the flash-sale path's cost), documented here
    # as FastAPI would document a body parameter.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HoldIn"}}},
        }
    },
)
async def post_hold(request: Request) -> JSONResponse:
    """Hold units for a short time (a checkout). All lines or none: on a shortage, 409 lists every short
    line and nothing is held."""
    payload = await read_json_body(request)  # first, as FastAPI reads a body parameter
    who = await principal_async(request)
    body = validate_body(HoldIn, payload)
    till_of = None
    if body.channel is None or not who.has_channel(body.channel):
        # A store's token: every line at one of its stores and, naming a channel, one of their till channels
        # (checked in the batch, from the channel row it loads anyway: no extra round trip).
        who.require_location_for_all([line.location for line in body.lines])
        if body.channel is not None:
            till_of = tuple(sorted({line.location for line in body.lines if line.location is not None}))
    lines = [HoldLineRequest(line.sku, line.qty, line.location) for line in body.lines]
    keyed = "idempotency-key" in request.headers  # the request's hash is built only when a key needs it
    idem, tid = idempotency_key(request, who, body.model_dump()) if keyed else None, trace_id(request)
    # Group commit when the app runs its batcher (the default): awaited on the event loop, no thread held.
    # One transaction per request otherwise, in the thread pool.
    batcher = getattr(request.app.state, "hold_batcher", None)
    if batcher is not None:
        stored = await batcher.place_hold_async(
            channel=body.channel, lines=lines, ttl_seconds=body.ttl_seconds, idem=idem, trace_id=tid, till_of=till_of
        )
    else:
        place = partial(
            service(request).place_hold_txn,
            channel=body.channel,
            lines=lines,
            ttl_seconds=body.ttl_seconds,
            idem=idem,
            trace_id=tid,
            till_of=till_of,
        )
        stored = await run_in_threadpool(place)
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else None
    return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)


def may_access_hold(who: Principal, hold: Mapping[str, Any]) -> bool:
    """The hold's channel, or a store token whose stores hold every line."""
    if hold["channel"] and who.has_channel(hold["channel"]):
        return True
    return bool(hold["lines"]) and all(who.has_location(line["location"]) for line in hold["lines"])


@router.get("/holds/{hold_id}", response_model=HoldOut)
def get_hold(hold_id: str, request: Request, who: Principal = Depends(principal)) -> HoldView:
    hold = service(request).get_hold(hold_id)
    if not (who.can_read() or may_access_hold(who, hold)):
        raise NotFound(f"no hold {hold_id}", code="unknown-hold")  # outside its scope: as if it did not exist
    return hold


@router.post("/holds/{hold_id}/release", response_model=HoldOut)
def release_hold(hold_id: str, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    """Give held units back. Releasing a released hold answers the same; an expired one is 409."""
    svc = service(request)
    hold = svc.get_hold(hold_id)
    if not may_access_hold(who, hold):
        if not who.can_read():
            raise NotFound(f"no hold {hold_id}", code="unknown-hold")
        who.require_location_for_all([line["location"] for line in hold["lines"]])

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        return 200, svc.release_hold(uow, hold_id)

    return run_command(request, who, {"hold": hold_id}, work)


@router.get("/availability/{channel}", response_model=AvailabilityOut)
def get_availability(
    channel: str,
    request: Request,
    sku: str | None = Query(default=None, max_length=64),
    style: str | None = Query(default=None, max_length=64),
    cursor: str | None = Query(default=None, max_length=64),
    limit: int = Query(default=500, ge=1, le=2000),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """What the channel may sell per SKU: max(0, available over its sources - safety stock - other
    channels' ring-fences); 0 and ``paused`` below the channel's pause threshold."""
    if not who.has_channel(channel):
        who.require_read()
    items, next_cursor = service(request).availability(channel, sku=sku, style=style, after=cursor, limit=limit)
    return {"items": items, "next_cursor": next_cursor}


EXPORT_TYPES = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


@router.get(
    "/availability/{channel}/export",
    response_class=StreamingResponse,
    responses={200: {"description": "one line per SKU", "content": {t: {} for t in EXPORT_TYPES.values()}}},
)
def export_availability(
    channel: str,
    request: Request,
    format: Literal["ndjson", "csv"] = Query(default="ndjson", description="ndjson (default) or csv"),
    who: Principal = Depends(principal),
) -> StreamingResponse:
    """The whole channel's availability streamed, one SKU per line (``sku, available, atp, paused``, as
    the paged JSON): for a channel of 100k SKUs, without paging and in constant memory on both sides."""
    if not who.has_channel(channel):
        who.require_read()
    pages = service(request).availability_pages(channel)
    first = next(pages)  # an unknown channel is a 404 before anything is sent

    def lines() -> Iterator[str]:
        if format == "csv":
            yield "sku,available,atp,paused\r\n"
        for page in itertools.chain([first], pages):
            if format == "csv":
                out = io.StringIO()
                writer = csv.writer(out)
                writer.writerows([i["sku"], i["available"], i["atp"], str(i["paused"]).lower()] for i in page)
                yield out.getvalue()
            else:
                yield "".join(json.dumps(item, separators=(",", ":")) + "\n" for item in page)

    filename = f"availability-{channel}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(lines(), media_type=EXPORT_TYPES[format], headers=headers)
