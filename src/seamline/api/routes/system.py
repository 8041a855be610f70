"""Liveness, metrics and tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Connection

from seamline.api.bodies import JsonRoute
from seamline.api.deps import principal, service
from seamline.api.routes.common import PROBLEMS, run_command
from seamline.api.schemas import TokenIn, TokenOut
from seamline.service import Principal

router = APIRouter(tags=["system"], route_class=JsonRoute, strict_content_type=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers. (Readiness of the database is on /readyz.)"""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "database unreachable"}})
def readyz(request: Request) -> JSONResponse:
    try:
        service(request).read(lambda conn: conn.exec_driver_sql("SELECT 1").scalar())
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; the reason is reported
        return JSONResponse({"status": "unavailable", "reason": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ready"})


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={status: PROBLEMS[status] for status in (401, 403)},
)
def metrics(who: Principal = Depends(principal)) -> PlainTextResponse:
    who.require_read()
    return PlainTextResponse(generate_latest().decode(), media_type=CONTENT_TYPE_LATEST)


@router.post("/v1/tokens", status_code=201, response_model=TokenOut, responses=PROBLEMS)
def create_token(body: TokenIn, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    """Issue a token with scopes (admin only). The token is shown once and stored only as a hash."""
    who.require_admin()
    data = body.model_dump()

    issued: dict[str, Any] = {}

    def work(conn: Connection) -> tuple[int, Any]:
        issued.update(service(request).create_token(conn, body.name, list(body.scopes)))
        # The stored replay never holds the secret: a repeated request learns the token exists, not its value.
        return 201, {**issued, "token": None}

    response = run_command(request, who, data, work)
    if issued and response.status_code == 201 and "Idempotent-Replayed" not in response.headers:
        return JSONResponse(issued, status_code=201)
    return response
