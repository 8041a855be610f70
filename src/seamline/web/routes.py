"""The dashboard's pages and forms. Every page needs a session (else a redirect to the login form) and the
``read`` or ``admin`` scope; every form carries the session's CSRF token; replaying a dead letter and
running reconcile need ``admin``. Pages are left out of the OpenAPI document: they are not the API."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute

from seamline.domain.errors import Conflict, NotFound, SeamlineError, Unauthorized
from seamline.service import Principal
from seamline.web import pages
from seamline.web.session import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    LoginRequired,
    WebSession,
    login_csrf_ok,
    new_login_csrf,
)

if TYPE_CHECKING:
    from seamline.web.dashboard import Dashboard

HOME = "/integration"
NAV = [
    ("/integration", "Integration health"),
    ("/stock", "Stock"),
    ("/orders", "Order queue"),
    ("/exceptions", "Exceptions"),
    ("/kpis", "KPIs"),
]
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    session: WebSession
    csrf: str


def safe_next(value: str | None) -> str:
    """Only a path on this site: never ``//evil.example`` or a full URL."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return HOME
    return value


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 19 else None


def dashboard_of(request: Request) -> Dashboard:
    """The dashboard of the app serving the request (``mount_dashboard`` puts it in the app's state)."""
    dashboard: Dashboard = request.app.state.dashboard
    return dashboard


@cache
def dashboard_routes() -> tuple[BaseRoute, ...]:
    """The pages' routes, built once per process and shared by every app it makes (as ``api.app.api_routes``:
    FastAPI analyses a router's routes again for each app that includes it). A page finds its dashboard in
    the request's app. The holder app has the options ``create_app`` gives every app."""
    holder = FastAPI(strict_content_type=False, openapi_url=None, docs_url=None, redoc_url=None)
    holder.include_router(build_router())
    return tuple(holder.router.routes)


def build_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def page(
        request: Request, template: str, viewer: Viewer | None, *, status: int = 200, **context: Any
    ) -> HTMLResponse:
        d = dashboard_of(request)
        html = d.render(template, viewer=viewer, nav=NAV, path=request.url.path, **context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def viewer_of(request: Request) -> Viewer:
        d = dashboard_of(request)
        session = d.signer.read(request.cookies.get(SESSION_COOKIE))
        principal = None if session is None else d.principal_for(session)
        if session is None or principal is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(target)
        return Viewer(principal, session, d.signer.csrf_token(session))

    def reader(request: Request) -> Viewer | HTMLResponse:
        viewer = viewer_of(request)
        if not viewer.principal.can_read():
            return refusal(request, viewer, 403, "This token has no read scope: the dashboard needs read or admin.")
        return viewer

    def refusal(request: Request, viewer: Viewer | None, status: int, message: str) -> HTMLResponse:
        return page(request, "refused.html", viewer, status=status, message=message)

    def admin_form(request: Request, csrf_token: str) -> Viewer | HTMLResponse:
        d = dashboard_of(request)
        viewer = viewer_of(request)
        if not d.signer.csrf_ok(viewer.session, csrf_token):
            return refusal(
                request, viewer, 403, "The form's CSRF token is missing or wrong: reload the page and try again."
            )
        if not viewer.principal.is_admin:
            return refusal(request, viewer, 403, "Only an admin token may do this.")
        return viewer

    # ------------------------------------------------------------------ login
    @router.get("/")
    def home() -> RedirectResponse:
        return RedirectResponse(HOME, status_code=303)

    @router.get("/login")
    def login_form(request: Request, next: str | None = None) -> HTMLResponse:
        d = dashboard_of(request)
        csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or new_login_csrf()
        response = page(request, "login.html", None, csrf=csrf, next=safe_next(next), error=None)
        _login_cookie(response, csrf, secure=d.cookie_secure(request))
        return response

    @router.post("/login")
    def login(
        request: Request,
        token: str = Form(default="", max_length=512),
        csrf_token: str = Form(default="", max_length=128),
        next: str = Form(default=HOME, max_length=2000),
    ) -> Response:
        d = dashboard_of(request)
        target = safe_next(next)
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
        if not login_csrf_ok(cookie, csrf_token):
            return refusal(request, None, 403, "The login form's CSRF token is missing or wrong: reload the page.")
        try:
            principal = d.service.authenticate(token.strip() or None)
        except Unauthorized:
            return page(
                request, "login.html", None, status=401, csrf=cookie, next=target, error="Unknown or revoked token."
            )
        if not principal.can_read():
            return page(
                request,
                "login.html",
                None,
                status=403,
                csrf=cookie,
                next=target,
                error="This token has no read scope: the dashboard needs read or admin.",
            )
        value = d.open_session(principal.id)
        redirect = RedirectResponse(target, status_code=303)
        redirect.set_cookie(
            SESSION_COOKIE,
            value,
            max_age=d.signer.lifetime_seconds,
            httponly=True,
            samesite="lax",
            secure=d.cookie_secure(request),
            path="/",
        )
        redirect.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return redirect

    @router.post("/logout")
    def logout(request: Request, csrf_token: str = Form(default="", max_length=128)) -> Response:
        d = dashboard_of(request)
        viewer = viewer_of(request)
        if not d.signer.csrf_ok(viewer.session, csrf_token):
            return refusal(request, viewer, 403, "The form's CSRF token is missing or wrong: reload the page.")
        d.end_session(viewer.session)  # for every holder of the cookie, not just this browser
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", secure=d.cookie_secure(request), httponly=True)
        return response

    # ------------------------------------------------------------------ integration health
    @router.get("/integration")
    def integration(request: Request) -> Response:
        d = dashboard_of(request)
        viewer = reader(request)
        if isinstance(viewer, HTMLResponse):
            return viewer
        return page(request, "integration.html", viewer, health=pages.integration_health(d), notice=None)

    @router.get("/integration/live")
    def integration_live(request: Request) -> Response:
        d = dashboard_of(request)
        viewer = reader(request)
        if isinstance(viewer, HTMLResponse):
            return viewer
        return page(request, "_integration_live.html", viewer, health=pages.integration_health(d))

    @router.post("/integration/dead-letters/{delivery_id}/replay")
    def replay_one(request: Request, delivery_id: int, csrf_token: str = Form(default="", max_length=128)) -> Response:
        d = dashboard_of(request)
        viewer = admin_form(request, csrf_token)
        if isinstance(viewer, HTMLResponse):
            return viewer
        try:
            replayed = pages.replay_dead_letter(d, delivery_id)
            notice = f"Dead letter {delivery_id} ({replayed['subscriber']}) is back in the queue."
            status = 200
        except (NotFound, Conflict) as exc:
            notice, status = exc.detail, exc.status
        return page(
            request, "integration.html", viewer, status=status, health=pages.integration_health(d), notice=notice
        )

    @router.post("/integration/dead-letters/replay")
    def replay_subscriber(
        request: Request,
        subscriber: str = Form(default="", max_length=64),
        csrf_token: str = Form(default="", max_length=128),
    ) -> Response:
        d = dashboard_of(request)
        viewer = admin_form(request, csrf_token)
        if isinstance(viewer, HTMLResponse):
            return viewer
        try:
            ids = pages.replay_subscriber(d, subscriber) if subscriber else []
            notice = f"{len(ids)} dead letters of {subscriber} are back in the queue."
        except SeamlineError as exc:
            notice = exc.detail
        return page(request, "integration.html", viewer, health=pages.integration_health(d), notice=notice)

    # ------------------------------------------------------------------ stock
    @router.get("/stock")
    def stock(request: Request, style: str | None = None, q: str | None = None, after: str | None = None) -> Response:
        d = dashboard_of(request)
        viewer = reader(request)
        if isinstance(viewer, HTMLResponse):
            return viewer
        search = (q or "").strip()[:100] or None
        listing = pages.style_list(d, search, (after or None) if not style else None)
        grid, error = None, None
        if style:
            try:
                grid = pages.style_grid(d, style)
            except NotFound as exc:
                error = exc.detail
        return page(request, "stock.html", viewer, listing=listing, q=search or "", grid=grid, error=error)

    @router.get("/stock/live")
    def stock_live(request: Request, style: str = "") -> Response:
        d = dashboard_of(request)
        viewer = reader(request)
        if isinstance(viewer, HTMLResponse):
            return viewer
        try:
            grid = pages.style_grid(d, style)
        except NotFound as exc:
            return refusal(request, viewer, 404, exc.detail)
        return page(request, "_stock_grid.html", viewer, grid=grid)

    @router.get("/stock/history")
    def history(request: Request, sku: str = "", location: str | None = None) -> Response:
        d = dashboard_of(request)
        viewer = reader(request)
        if isinstance(viewer, HTMLResponse):
            return viewer
        try:
            found = pages.cell_history(d, sku, location or None)
        except NotFound as exc:
            return refusal(request, viewer, 404, exc.detail)
        return page(request, "history.html", viewer, history=found)

    # ------------------------------------------------------------------ orders
    @router.get("/orders")
    def orders(
        request: Request,
        channel: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        age: str | None = None,
        before: str | None = None,
        q: str | None = None,
    ) -> Response:
        d = dashboard_of(request)
        viewer = reader(request)
        if isinstance(viewer, HTMLResponse):
            return viewer
        search = (q or "").strip()[:200]
        filters = {"channel": channel or "", "status": status or "", "kind": kind or "", "age": age or "", "q": search}
        queue = pages.order_list(
            d, channel=channel, status=status, kind=kind, age=filters["age"], before=_int(before), search=search
        )
        return page(request, "orders.html", viewer, queue=queue, filters=filters)

    @router.get("/orders/{order_id}")
    def order(request: Request, order_id: str) -> Response:
        d = dashboard_of(request)
        viewer = reader(request)
        if isinstance(viewer, HTMLResponse):
            return viewer
        try:
            detail = pages.order_detail(d, order_id)
        except NotFound as exc:
            return refusal(request, viewer, 404, exc.detail)
        return page(request, "order.html", viewer, detail=detail, notice=None, failure=None)

    @router.post("/orders/{order_id}/actions/{action}")
    def order_action(
        request: Request,
        order_id: str,
        action: str,
        csrf_token: str = Form(default="", max_length=128),
        tracking: str = Form(default="", max_length=200),
        sku: str = Form(default="", max_length=64),
        qty: str = Form(default="", max_length=9),
        location: str = Form(default="", max_length=64),
        condition: str = Form(default="sellable", max_length=16),
        refund_tender: str = Form(default="", max_length=32),
    ) -> Response:
        """Pick, pack, ship, cancel or take a return from the order page: the service's own commands, for a
        session whose token may act on the order, with the form's CSRF token; the result or the refusal in
        words on the order page."""
        d = dashboard_of(request)
        viewer = viewer_of(request)
        if not d.signer.csrf_ok(viewer.session, csrf_token):
            return refusal(
                request, viewer, 403, "The form's CSRF token is missing or wrong: reload the page and try again."
            )
        step = pages.OrderAction(
            action=action,
            tracking=tracking.strip() or None,
            sku=sku.strip() or None,
            qty=_int(qty.strip()),
            location=location.strip() or None,
            condition=condition if condition in ("sellable", "damaged") else "sellable",
            refund_tender=refund_tender.strip() or None,
        )
        notice, failure, status = None, None, 200
        try:
            notice = pages.take_order_action(d, viewer.principal, order_id, step)
        except SeamlineError as exc:  # an unknown location or SKU in a return is said on the order's page
            failure, status = pages.in_words(exc), exc.status
        try:
            detail = pages.order_detail(d, order_id)
        except NotFound as exc:
            return refusal(request, viewer, 404, exc.detail)
        return page(request, "order.html", viewer, status=status, detail=detail, notice=notice, failure=failure)

    # ------------------------------------------------------------------ exceptions and reconciliation
    @router.get("/exceptions")
    def exceptions(request: Request) -> Response:
        d = dashboard_of(request)
        viewer = reader(request)
        if isinstance(viewer, HTMLResponse):
            return viewer
        return page(request, "exceptions.html", viewer, view=pages.exceptions_view(d))

    @router.post("/exceptions/reconcile")
    def reconcile(request: Request, csrf_token: str = Form(default="", max_length=128)) -> Response:
        d = dashboard_of(request)
        viewer = admin_form(request, csrf_token)
        if isinstance(viewer, HTMLResponse):
            return viewer
        return page(request, "exceptions.html", viewer, view=pages.exceptions_view(d, force_reconcile=True))

    # ------------------------------------------------------------------ KPIs
    @router.get("/kpis")
    def kpis(request: Request) -> Response:
        d = dashboard_of(request)
        viewer = reader(request)
        if isinstance(viewer, HTMLResponse):
            return viewer
        return page(request, "kpis.html", viewer, kpi=pages.kpi_view(d))

    @router.get("/kpis/live")
    def kpis_live(request: Request) -> Response:
        d = dashboard_of(request)
        viewer = reader(request)
        if isinstance(viewer, HTMLResponse):
            return viewer
        return page(request, "_kpis_live.html", viewer, kpi=pages.kpi_view(d))

    return router


def _login_cookie(response: Response, value: str, *, secure: bool) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        value,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/login",
    )
