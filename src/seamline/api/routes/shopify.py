"""Shopify channel operations that must run in the serving process: linking the shop's products to our SKUs,
and (outside production) looking at the in-process sandbox shop a ``sandbox:`` channel talks to. The sandbox
lives in the memory of the process that wired the channel (``seamline serve``), so a separate CLI process
would see an empty shop of its own: these calls are how a user's commands reach the one the API pushes to."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from seamline.api.bodies import JsonRoute
from seamline.api.deps import principal, service
from seamline.api.routes.common import PROBLEMS
from seamline.channels.shopify.link import link_channel
from seamline.channels.shopify.wiring import build_client, find_sandbox
from seamline.channels.wiring import ChannelConfig, ConnectorWiring, WiringContext
from seamline.domain.errors import NotFound
from seamline.integration import Integration
from seamline.service import Principal

router = APIRouter(prefix="/v1", tags=["shopify"], responses=PROBLEMS, route_class=JsonRoute, strict_content_type=False)


def _config(request: Request, code: str) -> ChannelConfig:
    wiring: ConnectorWiring = request.app.state.wiring
    config = next((c for c in wiring.configs() if c.code == code), None)
    if config is None or config.kind != "shopify":
        raise NotFound(f"no Shopify channel {code}", code="unknown-channel")
    return config


@router.post("/channels/{code}/shopify/link")
def link_shop(
    code: str,
    request: Request,
    relink: bool = Query(default=False, description="look up SKUs that are linked already too"),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Match the shop's existing products to our SKUs (by SKU, else GTIN as barcode) and its locations to
    ours by name, as ``seamline shopify link`` does, in this process (so a ``sandbox:`` shop is the one the
    channel pushes to). Safe to repeat: linked SKUs are skipped unless ``relink``."""
    who.require_admin()
    config = _config(request, code)
    integration: Integration = request.app.state.integration
    client = build_client(WiringContext(service(request), integration), config)
    report = link_channel(integration, code, client, relink=relink)
    wiring: ConnectorWiring = request.app.state.wiring
    wiring.refresh()
    return {
        "linked_by_sku": len(report.by_sku),
        "linked_by_gtin": len(report.by_gtin),
        "already_linked": len(report.already),
        "not_in_the_shop": len(report.unmatched),
        "ambiguous": report.ambiguous,
        "products": report.products,
        "locations": report.locations,
        "held_orders_retried": report.retried,
    }


@router.get("/sandbox/shopify/{shop_domain}")
def sandbox_shop(shop_domain: str, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    """The in-process sandbox shop's locations and inventory levels, as its admin would show them (refused in
    production, where there is no sandbox)."""
    who.require_read()
    shop = None if service(request).settings.env == "production" else find_sandbox(shop_domain)
    if shop is None:
        raise NotFound(f"no sandbox shop {shop_domain} in this process", code="unknown-sandbox")
    return shop.inventory()
