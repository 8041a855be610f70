"""The FastAPI application: routes, problem+json everywhere, a body-size limit, tracing and metrics."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from seamline import __version__
from seamline.api import problems
from seamline.api.bodies import JsonRoute, RefuseNul
from seamline.api.deps import trace_id_from
from seamline.api.routes import b2b as b2b_routes
from seamline.api.routes import (
    catalog,
    customers,
    ledger,
    locations,
    orders,
    returns,
    sales,
    stock_documents,
    system,
    webhooks_lightspeed,
    webhooks_shopify,
    webhooks_square,
)
from seamline.api.routes import finance as finance_routes
from seamline.api.routes import giftcards as giftcard_routes
from seamline.api.routes import integration as integration_routes
from seamline.api.routes import marketplaces as marketplace_routes
from seamline.api.routes import payouts as payout_routes
from seamline.api.routes import shopify as shopify_routes
from seamline.api.routes import stores as store_routes
from seamline.api.routes import threepl as threepl_routes
from seamline.api.schemas import HoldIn, Problem
from seamline.channels.wiring import ConnectorWiring
from seamline.domain.errors import SeamlineError
from seamline.integration import install as install_integration
from seamline.integration import tracing
from seamline.service import Seamline
from seamline.service import metrics as m
from seamline.service.batcher import BatchSettings, HoldBatcher
from seamline.service.group_commit import GroupCommit, GroupCommitSettings
from seamline.service.sweeper import HoldSweeper
from seamline.web import mount_dashboard


class BodyLimit:
    """Refuse bodies over the limit with 413, whether or not Content-Length is sent.

    The body is read here, up to the limit, before the app sees it: an error raised from inside the app's
    own body parsing would come back as FastAPI's generic 400 (wrapped by the HTTP middleware's task group).
    """

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
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problems.problem(413, "body-too-large", f"request bodies are limited to {self.max_bytes} bytes")
        await response(scope, receive, send)


class Observe:
    """Trace id in, ``X-Trace-Id`` out, and request metrics: a plain ASGI middleware, because Starlette's
    ``@app.middleware("http")`` wrapper costs more per request than a hold's whole group commit share."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        traceparent = next((v for k, v in scope.get("headers") or [] if k == b"traceparent"), b"")
        tid = trace_id_from(traceparent.decode("latin-1"))
        scope.setdefault("state", {})["trace_id"] = tid
        tracing.bind(tid)  # the events, deliveries and logs this request causes carry it
        status = 500

        async def send_with_trace(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-trace-id", tid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace)
        finally:
            name = getattr(scope.get("route"), "path", "unmatched")
            m.HTTP_REQUESTS.labels(scope["method"], name, str(status)).inc()
            m.HTTP_LATENCY.labels(scope["method"], name).observe(time.perf_counter() - started)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that answers ``messages`` first, then the real one (which reports the disconnect)."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def _no_null_body(operation: dict[str, Any]) -> None:
    """An optional body (``PickIn | None = None``) is published as FastAPI declares it, ``anyOf: [PickIn,
    null]``; but the body may be absent, never ``null`` (``JsonRoute`` answers that 422): publish the object."""
    for media in operation.get("requestBody", {}).get("content", {}).values():
        body = media.get("schema", {})
        options = [option for option in body.get("anyOf", []) if option != {"type": "null"}]
        if len(options) == 1 and len(body["anyOf"]) == 2:
            media["schema"] = options[0]


#: The API's routers, in the order FastAPI matches them: each router passed costs a drop's hottest requests
#: (holds, movements) tens of microseconds, so the ledger comes right after the system routes.
API_ROUTERS: tuple[APIRouter, ...] = (
    system.router,
    ledger.router,
    catalog.router,
    locations.router,
    integration_routes.router,
    orders.router,
    sales.router,
    returns.router,
    stock_documents.router,
    customers.router,
    marketplace_routes.router,  # issue 7: listings, pauses, imports
    b2b_routes.router,  # issue 7: wholesale portal, inbound supply
    threepl_routes.router,  # issue 7: 3PL variance reports, pick tickets
    payout_routes.router,
    finance_routes.router,
    giftcard_routes.router,  # issue 17: gift cards, one liability across channels
    store_routes.router,  # issue 6: offline till batches, the till catalog
    webhooks_square.router,  # issue 6: signed Square POS webhooks into the inbox
    webhooks_lightspeed.router,  # issue 21: signed Lightspeed X-Series webhooks into the inbox
    webhooks_shopify.router,  # issue 5: signed Shopify deliveries into the inbox
    shopify_routes.router,  # issue 15: link in this process, the sandbox shop's numbers
)


@cache
def api_routes() -> tuple[BaseRoute, ...]:
    """The API's routes, included once per process and shared by every app the process makes.

    FastAPI analyses an included route's parameters and models again for each application that includes its
    router (at the app's first requests: about a second for the API's 133 routes on an idle 2-core machine).
    ``seamline serve`` makes one app, but the test suite makes one per test. The routes are included into a
    holder app made with the same options as ``create_app``'s (``strict_content_type``, ``JsonRoute``), and
    every app extends its routes with the holder's. A route reads its service, integration and wiring from
    the request's own app (``request.app.state``), never from the holder; what it keeps of the holder is the
    holder's ``dependency_overrides``, which nothing sets."""
    holder = FastAPI(strict_content_type=False, openapi_url=None, docs_url=None, redoc_url=None)
    holder.router.route_class = JsonRoute
    for router in API_ROUTERS:
        holder.include_router(router)
    return tuple(holder.router.routes)


def create_app(service: Seamline, *, background: bool = False) -> FastAPI:
    """``background`` runs the hold sweeper and the integration workers (dispatcher, inbox, retention) with
    the app (``seamline serve``); tests drive them by hand."""
    integration = install_integration(service)
    wiring = ConnectorWiring(integration)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sweeper = HoldSweeper(service, service.settings.sweep_interval_seconds) if background else None
        batcher = None
        if service.settings.hold_batching:
            batcher = HoldBatcher(
                service,
                BatchSettings(
                    window_seconds=service.settings.hold_batch_window_seconds,
                    max_batch=service.settings.hold_batch_max,
                    max_queue=service.settings.hold_batch_queue,
                ),
            )
            batcher.start()
        app.state.hold_batcher = batcher
        group_commit = None
        if service.settings.group_commit:
            group_commit = GroupCommit(service.engine, service.bus, GroupCommitSettings.from_settings(service.settings))
            group_commit.start()
            service.group_commit = group_commit
        if sweeper:
            sweeper.start()
        if background:
            integration.start()
            wiring.start()
            dashboard.start()
        try:
            yield
        finally:
            if background:
                dashboard.stop()
                wiring.stop()
                integration.stop()
            if sweeper:
                sweeper.stop()
            if batcher:
                batcher.stop()
            if group_commit:
                service.group_commit = None
                group_commit.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="Seamline",
        version=__version__,
        description="One product master, one inventory ledger, one order queue for multichannel apparel brands.",
        strict_content_type=False,  # a body without Content-Type is read as JSON (curl users; docs/errors.md)
    )
    app.router.route_class = JsonRoute  # routes added on the app itself follow the API's body rules too
    app.state.seamline = service
    app.state.integration = integration
    app.state.wiring = wiring
    app.add_exception_handler(SeamlineError, problems.on_seamline_error)
    app.add_exception_handler(RequestValidationError, problems.on_validation_error)
    app.add_exception_handler(StarletteHTTPException, problems.on_http_error)
    app.add_exception_handler(Exception, problems.on_unexpected)
    app.router.routes.extend(api_routes())

    dashboard = mount_dashboard(app, service, integration)  # the pages at /, behind the same tokens
    dashboard.wiring = wiring

    app.add_middleware(Observe)
    app.add_middleware(BodyLimit, max_bytes=service.settings.max_body_bytes)
    app.add_middleware(RefuseNul)
    if service.settings.trusted_proxies:
        # Outermost: the scheme and client address a trusted TLS proxy reports are the request's from here
        # on (the dashboard's Secure cookies). ``seamline serve`` turns uvicorn's own copy of this off.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(service.settings.trusted_proxies))

    original_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        schema = original_openapi()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = Problem.model_json_schema()
        # POST /v1/holds reads its body itself (``read_json_body``): its schema, with the line schema it refers to.
        hold_in = HoldIn.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(hold_in.pop("$defs", {}))
        schemas["HoldIn"] = hold_in
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                _no_null_body(operation)
        schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        schema["security"] = [{"bearer": []}]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
