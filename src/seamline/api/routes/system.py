"""Liveness, metrics and tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from seamline.api.bodies import JsonRoute
from seamline.api.deps import principal, service
from seamline.api.routes.common import PROBLEMS, run_command
from seamline.api.schemas import RotatedOut, RotateIn, TokenIn, TokenInfo, TokenList, TokenOut
from seamline.service import Principal
from seamline.service.tokens import TokenDesk
from seamline.service.unit_of_work import UnitOfWork

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
    """Issue a token with scopes (admin only), optionally expiring (``expires_in_seconds`` or ``expires_at``:
    401 from then on). The token is shown once and stored only as a hash."""
    who.require_admin()
    data = body.model_dump(mode="json")
    desk = TokenDesk(service(request))
    issued: dict[str, Any] = {}

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        conn = uow.conn
        issued.update(
            desk.issue(
                conn,
                body.name,
                list(body.scopes),
                expires_in_seconds=body.expires_in_seconds,
                expires_at=body.expires_at,
            )
        )
        # The stored replay never holds the secret: a repeated request learns the token exists, not its value.
        return 201, {**issued, "token": None}

    response = run_command(request, who, data, work)
    if issued and response.status_code == 201 and "Idempotent-Replayed" not in response.headers:
        return JSONResponse(issued, status_code=201)
    return response


@router.get("/v1/tokens", response_model=TokenList, responses=PROBLEMS)
def list_tokens(request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    """Every token, oldest first, with its status (``active``, ``expired``, ``revoked``); never a secret or
    its hash (admin only)."""
    who.require_admin()
    return {"items": TokenDesk(service(request)).list()}


@router.delete("/v1/tokens/{token_id}", response_model=TokenInfo, responses=PROBLEMS)
def revoke_token(
    token_id: str,
    request: Request,
    force: bool = Query(default=False, description="revoke even the last live admin token"),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Revoke a token (admin only): 401 from its next request in this process, within
    ``TOKEN_CACHE_SECONDS`` (5 s) in others; its dashboard sessions end. The bootstrap admin token is 409
    ``bootstrap-token`` (change ``SEAMLINE_ADMIN_TOKEN`` instead); the last live admin token is 409
    ``last-admin-token`` unless ``force``."""
    who.require_admin()
    desk = TokenDesk(service(request))
    view: dict[str, Any] = service(request).write(lambda uow: desk.revoke(uow.conn, token_id, force=force))
    service(request).forget_tokens()  # again after commit: a lookup racing the revocation cached the old row
    return view


@router.post("/v1/tokens/{token_id}/rotate", status_code=201, response_model=RotatedOut, responses=PROBLEMS)
def rotate_token(
    token_id: str, request: Request, body: RotateIn | None = None, who: Principal = Depends(principal)
) -> JSONResponse:
    """A new secret for the token's name, scopes and expiry (shown once); the old secret is revoked now or,
    with ``grace_seconds``, expires then (admin only). A replayed ``Idempotency-Key`` answers ``token: null``."""
    who.require_admin()
    desk = TokenDesk(service(request))
    grace = body.grace_seconds if body else 0
    rotated: dict[str, Any] = {}

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        conn = uow.conn
        rotated.update(desk.rotate(conn, token_id, grace_seconds=grace))
        return 201, {**rotated, "token": None}

    response = run_command(request, who, {"rotate": token_id, "grace_seconds": grace}, work)
    service(request).forget_tokens()  # again after commit: a lookup racing the rotation cached the old row
    if rotated and response.status_code == 201 and "Idempotent-Replayed" not in response.headers:
        return JSONResponse(rotated, status_code=201)
    return response
