"""Marketplace listings over HTTP (issue 7): each listing's state per marketplace, linking a SKU to the
platform's SKU and product type, the pause log, the platforms' issues and the bulk imports/feeds."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import StringConstraints

from seamline.api.bodies import JsonRoute
from seamline.api.deps import principal, service
from seamline.api.routes.common import PROBLEMS, run_command
from seamline.api.schemas import Code
from seamline.api.schemas import Request as RequestModel
from seamline.service import Principal
from seamline.service.channel_orders import ChannelOrders
from seamline.service.marketplaces import DEFAULT_MARKETPLACE, Listings
from seamline.service.unit_of_work import UnitOfWork

router = APIRouter(
    prefix="/v1/channels", tags=["marketplaces"], responses=PROBLEMS, route_class=JsonRoute, strict_content_type=False
)

ChannelCode = Annotated[str, Path(min_length=1, max_length=64)]


class ListingIn(RequestModel):
    marketplace: Code = DEFAULT_MARKETPLACE
    seller_sku: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    product_type: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None


def _may_read(who: Principal, channel: str) -> None:
    if not who.has_channel(channel):
        who.require_read()


@router.get("/{code}/listings")
def list_listings(
    code: ChannelCode,
    request: Request,
    status: str | None = Query(default=None, pattern="^(pending|active|paused|error)$"),
    sku: str | None = Query(default=None, max_length=64),
    after: str | None = Query(default=None, max_length=64),
    limit: int = Query(default=100, ge=1, le=1000),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """The channel's listings, one per (marketplace, SKU): what we asked it to show, what it accepted, and
    why it refused (``status=error``). Page with ``after`` = the last SKU seen."""
    _may_read(who, code)
    items = Listings(service(request)).listings(code, status=status, sku=sku, after=after, limit=limit)
    return {"items": items, "next_after": items[-1]["sku"] if len(items) == limit else None}


@router.put("/{code}/listings/{sku}")
def link_listing(
    code: ChannelCode,
    sku: Annotated[str, Path(min_length=1, max_length=64)],
    body: ListingIn,
    request: Request,
    who: Principal = Depends(principal),
) -> JSONResponse:
    """List one of our SKUs on a marketplace of the channel, under the platform's SKU (ours by default) and,
    for Amazon, its productType (the channel's ``product_type`` setting by default)."""
    who.require_channel(code)
    listings = Listings(service(request))

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        conn = uow.conn
        return 200, listings.link(
            conn,
            code,
            sku,
            marketplace=body.marketplace,
            seller_sku=body.seller_sku,
            product_type=body.product_type,
        )

    return run_command(request, who, {"listing": [code, sku], **body.model_dump()}, work)


@router.get("/{code}/pauses")
def list_pauses(
    code: ChannelCode,
    request: Request,
    sku: str | None = Query(default=None, max_length=64),
    after: int | None = Query(default=None, ge=0, le=2**63 - 1),
    limit: int = Query(default=100, ge=1, le=1000),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Every pause (ATP fell under the channel's ``pause_below``: 0 published) and restore of the channel's
    listings, oldest first, with the ATP at the crossing; and the SKUs paused now."""
    _may_read(who, code)
    return Listings(service(request)).pauses(code, sku=sku, after=after, limit=limit)


@router.get("/{code}/confirmations")
def list_confirmations(
    code: ChannelCode,
    request: Request,
    kind: str | None = Query(default=None, pattern="^[a-z_]{1,32}$"),
    refused: bool = Query(default=False),
    limit: int = Query(default=100, ge=1, le=1000),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """What the marketplace is owed and whether it was told: order acceptances, shipment confirmations,
    cancellations, refunds and listings created (``kind``), newest first; ``refused=true`` lists only what
    the platform refused, with its reason (``error``)."""
    _may_read(who, code)
    return {"items": ChannelOrders(service(request)).confirmations(code, kind=kind, refused=refused, limit=limit)}


@router.get("/{code}/listing-issues")
def list_issues(
    code: ChannelCode,
    request: Request,
    sku: str | None = Query(default=None, max_length=64),
    limit: int = Query(default=100, ge=1, le=1000),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """What the platform said about our submissions (PATCH issues, feed reports, import error reports),
    newest first."""
    _may_read(who, code)
    return {"items": Listings(service(request)).issues(code, sku=sku, limit=limit)}


@router.get("/{code}/imports")
def list_imports(
    code: ChannelCode,
    request: Request,
    limit: int = Query(default=50, ge=1, le=500),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Bulk submissions (Mirakl offer imports, Amazon listings feeds), newest first, with their outcome."""
    _may_read(who, code)
    return {"items": Listings(service(request)).imports(code, limit=limit)}
