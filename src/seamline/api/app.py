"""The FastAPI application: routes, problem+json everywhere, a body-size limit, tracing and metrics."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seamline import __version__
from seamline.api import problems
from seamline.api.deps import trace_id
from seamline.api.routes import catalog, ledger, locations, system
from seamline.api.schemas import Problem
from seamline.domain.errors import SeamlineError
from seamline.service import Seamline
from seamline.service import metrics as m
from seamline.service.sweeper import HoldSweeper


class BodyLimit:
    """Refuse bodies over the limit with 413 before they are buffered, whether or not Content-Length is sent."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problems.problem(413, "body-too-large", f"request bodies are limited to {self.max_bytes} bytes")
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def create_app(service: Seamline, *, background: bool = False) -> FastAPI:
    """``background`` runs the hold sweeper with the app (``seamline serve``); tests drive it by hand."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sweeper = HoldSweeper(service, service.settings.sweep_interval_seconds) if background else None
        if sweeper:
            sweeper.start()
        try:
            yield
        finally:
            if sweeper:
                sweeper.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="Seamline",
        version=__version__,
        description="One product master, one inventory ledger, one order queue for multichannel apparel brands.",
    )
    app.state.seamline = service
    app.add_exception_handler(SeamlineError, problems.on_seamline_error)
    app.add_exception_handler(RequestValidationError, problems.on_validation_error)
    app.add_exception_handler(StarletteHTTPException, problems.on_http_error)
    app.add_exception_handler(Exception, problems.on_unexpected)
    for router in (system.router, catalog.router, locations.router, ledger.router):
        app.include_router(router)

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        tid = trace_id(request)
        response = await call_next(request)
        route = request.scope.get("route")
        name = getattr(route, "path", "unmatched")
        m.HTTP_REQUESTS.labels(request.method, name, str(response.status_code)).inc()
        m.HTTP_LATENCY.labels(request.method, name).observe(time.perf_counter() - started)
        response.headers["X-Trace-Id"] = tid
        return response

    app.add_middleware(BodyLimit, max_bytes=service.settings.max_body_bytes)

    original_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        schema = original_openapi()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = Problem.model_json_schema()
        schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        schema["security"] = [{"bearer": []}]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
