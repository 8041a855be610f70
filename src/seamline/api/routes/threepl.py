"""The 3PL over HTTP (issue 7): variance reports from its inventory advice and the pick tickets sent to it.
Its files themselves are inbox messages (``GET /v1/integration/inbox?source=threepl:<code>``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from seamline.api.bodies import JsonRoute
from seamline.api.deps import principal, service
from seamline.api.routes.common import PROBLEMS
from seamline.service import Principal
from seamline.service.threepl import ThreePLReports

router = APIRouter(
    prefix="/v1/threepl", tags=["threepl"], responses=PROBLEMS, route_class=JsonRoute, strict_content_type=False
)

ChannelCode = Annotated[str, Path(min_length=1, max_length=64)]


def _may_read(who: Principal, channel: str) -> None:
    if not who.has_channel(channel):
        who.require_read()


@router.get("/{code}/variances")
def list_variances(
    code: ChannelCode,
    request: Request,
    before: int | None = Query(default=None, ge=1, le=2**63 - 1),
    limit: int = Query(default=20, ge=1, le=200),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Each inventory advice (846, CSV snapshot) compared with the ledger at the 3PL's location, newest
    first: SKUs that differ, SKUs the ledger stocks there that the advice left out, lines naming nothing of
    ours. The ledger is never changed by an advice; an agreed difference is posted as a count."""
    _may_read(who, code)
    items = ThreePLReports(service(request)).variances(code, before=before, limit=limit)
    return {"items": items, "next_before": items[-1]["id"] if len(items) == limit else None}


@router.get("/{code}/pick-tickets")
def list_pick_tickets(
    code: ChannelCode,
    request: Request,
    limit: int = Query(default=100, ge=1, le=1000),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Orders released to the 3PL, newest first: the control number and file each went out under."""
    _may_read(who, code)
    return {"items": ThreePLReports(service(request)).pick_tickets(code, limit=limit)}


@router.get("/{code}/acknowledgements")
def list_acknowledgements(
    code: ChannelCode,
    request: Request,
    direction: Literal["sent", "received"] | None = Query(default=None),
    limit: int = Query(default=100, ge=1, le=1000),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """X12 997s exchanged with the 3PL, newest first: ours for its files, and its answers to our 940s/856s."""
    _may_read(who, code)
    return {"items": ThreePLReports(service(request)).acknowledgements(code, direction=direction, limit=limit)}


@router.get("/{code}/exceptions")
def list_exceptions(
    code: ChannelCode,
    request: Request,
    days: int = Query(default=30, ge=1, le=365),
    limit: int = Query(default=100, ge=1, le=1000),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """What needs a person at this 3PL: its files Seamline refused, each reason naming the line, segment and
    element and what was expected, and its 997s that rejected (or only partly accepted) what we sent."""
    _may_read(who, code)
    return ThreePLReports(service(request)).exceptions(code, days=days, limit=limit)
