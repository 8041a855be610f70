"""Styles and SKUs: the product master."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from seamline.api.bodies import JsonRoute
from seamline.api.deps import principal, service
from seamline.api.routes.common import PROBLEMS, put_status, run_command
from seamline.api.schemas import SkuOut, StyleIn, StyleList, StyleOut
from seamline.catalog import StyleDraft
from seamline.finance.cost import parse_unit_cost
from seamline.service import Principal
from seamline.service.catalog import SkuView, StyleView, style_view
from seamline.service.costing import Costing
from seamline.service.unit_of_work import UnitOfWork

router = APIRouter(prefix="/v1", tags=["catalog"], responses=PROBLEMS, route_class=JsonRoute, strict_content_type=False)


@router.put("/styles/{code}", response_model=StyleOut, status_code=200, responses={201: {"model": StyleOut}})
def put_style(code: str, body: StyleIn, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    """Create or replace a style with its colours, sizes, variants, prepacks and prices.

    The version goes up on every change and stays put when the definition is identical.
    """
    who.require_admin()
    data = body.model_dump(exclude_none=False)
    draft = StyleDraft(code=code, **data)
    # A variant's standard cost (finance.cost): refused before anything is written when it is not one.
    costs = {
        v.sku: parse_unit_cost(v.cost, f"variants[{i}].cost") for i, v in enumerate(body.variants) if v.cost is not None
    }

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        put = service(request).catalog.put_style(uow, draft)
        if costs:
            Costing(service(request)).save_standard_costs(uow, costs)
        return put_status(put.created), style_view(put.style)

    return run_command(request, who, data, work)


@router.get("/styles", response_model=StyleList)
def list_styles(
    request: Request,
    season: str | None = Query(default=None, max_length=32),
    cursor: str | None = Query(default=None, max_length=64),
    limit: int = Query(default=100, ge=1, le=500),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """The product master in code order, optionally one season's; ``next_cursor`` continues it."""
    who.require_read()
    styles, next_cursor = service(request).list_styles(season=season, cursor=cursor, limit=limit)
    return {"items": [style_view(style) for style in styles], "next_cursor": next_cursor}


@router.get("/styles/{code}", response_model=StyleOut)
def get_style(code: str, request: Request, who: Principal = Depends(principal)) -> StyleView:
    who.require_read()
    return style_view(service(request).get_style(code))


@router.get("/skus/{sku}", response_model=SkuOut)
def get_sku(sku: str, request: Request, who: Principal = Depends(principal)) -> SkuView:
    who.require_read()
    return service(request).get_sku(sku)
