"""Locations and channels: where stock is, and who may sell it."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from seamline.api.bodies import JsonRoute
from seamline.api.deps import principal, service
from seamline.api.routes.common import PROBLEMS, put_status, run_command
from seamline.api.schemas import ChannelIn, ChannelList, ChannelOut, LocationIn, LocationList, LocationOut
from seamline.channels.wiring import ConnectorWiring
from seamline.service import Principal
from seamline.service.channels import ChannelView
from seamline.service.locations import LocationView
from seamline.service.unit_of_work import UnitOfWork

router = APIRouter(
    prefix="/v1", tags=["locations and channels"], responses=PROBLEMS, route_class=JsonRoute, strict_content_type=False
)


@router.put("/locations/{code}", response_model=LocationOut, responses={201: {"model": LocationOut}})
def put_location(code: str, body: LocationIn, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    who.require_admin()
    data = body.model_dump()

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        put = service(request).locations.put_location(uow, code, body.name, body.kind)
        return put_status(put.created), put.view

    return run_command(request, who, data, work)


@router.get("/locations", response_model=LocationList)
def list_locations(request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    who.require_read()
    return {"items": service(request).list_locations()}


@router.get("/locations/{code}", response_model=LocationOut)
def get_location(code: str, request: Request, who: Principal = Depends(principal)) -> LocationView:
    who.require_read()
    return service(request).get_location(code)


@router.put("/channels/{code}", response_model=ChannelOut, responses={201: {"model": ChannelOut}})
def put_channel(code: str, body: ChannelIn, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    """Create or replace a channel's availability policy. Secrets in ``settings`` are write-only."""
    who.require_admin()
    data = body.model_dump(exclude={"wiring"})

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        put = service(request).channels.put_channel(uow, code, data)
        return put_status(put.created), put.view

    response = run_command(request, who, data, work)
    wiring = getattr(request.app.state, "wiring", None)
    if wiring is not None and response.status_code < 300:
        wiring.refresh()  # this process rewires at once; others within REFRESH_SECONDS
        # The answer says what the connector could wire of these settings (a replayed answer too: it is now).
        view = with_wiring(request, json.loads(bytes(response.body)))
        return JSONResponse(view, status_code=response.status_code, headers=_replay_headers(response))
    return response


def _replay_headers(response: JSONResponse) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}


def with_wiring(request: Request, view: ChannelView) -> dict[str, Any]:
    """The channel view with ``wiring``: what of its connector runs in this process and what it waits for."""
    wiring: ConnectorWiring | None = getattr(request.app.state, "wiring", None)
    if wiring is None:
        return dict(view)
    return {**view, "wiring": wiring.state(view["code"], view["kind"], view["settings"])}


@router.get("/channels", response_model=ChannelList)
def list_channels(request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    who.require_read()
    return {"items": [with_wiring(request, view) for view in service(request).list_channels()]}


@router.get("/channels/{code}", response_model=ChannelOut)
def get_channel(code: str, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    if not who.has_channel(code):
        who.require_read()
    return with_wiring(request, service(request).get_channel(code))
