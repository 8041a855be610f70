"""The operator's dashboard (DESIGN 2, ``web/``): server-rendered pages mounted at ``/`` next to the API,
behind the same tokens. ``mount_dashboard`` adds the pages, their static files and the login redirect to
a FastAPI application; ``Dashboard.start``/``stop`` run the KPI sampler with the app's background work."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from seamline.channels.wiring import ConnectorWiring
from seamline.integration import Integration
from seamline.service import Principal, Seamline
from seamline.service.app import ReconcileReport
from seamline.store import auth_repo
from seamline.web import filters
from seamline.web.kpis import KpiHistory
from seamline.web.routes import dashboard_routes
from seamline.web.session import LoginRequired, SessionSigner, WebSession, session_secret

HERE = Path(__file__).parent
PRINCIPAL_CACHE_SECONDS = 5.0
RECONCILE_MAX_AGE = 60.0  # wall seconds


@dataclass(frozen=True)
class DriftRecord:
    at: datetime
    channel: str
    subscriber: str
    sku: str | None
    expected: int | None
    found: int | None
    pushed: int


class DriftLog:
    """Numbers a channel held that were not the ones we last published (a merchant's edit, another app),
    as connectors report them on their way to overwrite them. Kept in memory for this process."""

    def __init__(self, keep: int = 500) -> None:
        self._records: deque[DriftRecord] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def record(self, record: DriftRecord) -> None:
        with self._lock:
            self._records.append(record)

    def recent(self) -> list[DriftRecord]:
        with self._lock:
            return list(reversed(self._records))


@cache
def templates() -> jinja2.Environment:
    """The pages' templates, one environment per process: each template is compiled once, not once per app
    (the test suite makes an app per test). Jinja's environments are shared between threads by design."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    filters.install(env)
    return env


class Dashboard:
    def __init__(self, service: Seamline, integration: Integration, *, secret: bytes | None = None) -> None:
        self.service = service
        self.integration = integration
        settings = service.settings
        self.signer = SessionSigner(
            secret or session_secret(settings.session_secret, settings.admin_token, service.generated_admin_token)
        )
        #: Wall seconds between two business times: their difference in production; the demo's simulated
        #: clock converts, so latencies are shown in wall time while ages and charts follow business time.
        self.wall_seconds: Callable[[datetime, datetime], float] = lambda start, end: (end - start).total_seconds()
        #: A line shown on every page (the demo says what is simulated).
        self.banner: str | None = None
        #: The connector wiring of this process (set by ``create_app``): the integration page shows each
        #: channel's wiring state and the settings it still needs.
        self.wiring: ConnectorWiring | None = None
        self.kpis = KpiHistory(service, lambda start, end: self.wall_seconds(start, end))
        self.drift = DriftLog()
        self.env = templates()
        self._principals: dict[str, tuple[float, Principal | None, int]] = {}
        self._reconciled: tuple[datetime, ReconcileReport] | None = None
        self._reconcile_lock = threading.Lock()

    # ------------------------------------------------------------------ who is looking
    def open_session(self, token_id: str) -> str:
        """Log in: a new session, recorded server-side so a logout or a revocation can end it; the cookie."""
        value, session = self.signer.issue(token_id)
        now = self.service.clock.now()
        until = now + timedelta(seconds=self.signer.lifetime_seconds)
        self.service.write(lambda uow: auth_repo.open_session(uow.conn, session.key, token_id, now, until))
        return value

    def end_session(self, session: WebSession) -> None:
        """Log out: the session ends for every holder of its cookie (this process at once, others within
        ``PRINCIPAL_CACHE_SECONDS``)."""
        self.service.write(lambda uow: auth_repo.end_session(uow.conn, session.key, self.service.clock.now()))
        self._principals.pop(session.key, None)

    def principal_for(self, session: WebSession) -> Principal | None:
        """The session's principal while the session is open and its token live. Cached briefly per process;
        a revocation in this process (``Seamline.auth_epoch``) or a logout here is seen at once."""
        now, epoch = time.monotonic(), self.service.auth_epoch
        cached = self._principals.get(session.key)
        if cached is not None and cached[0] > now and cached[2] == epoch:
            return cached[1]
        row = self.service.read(lambda conn: auth_repo.session_token(conn, session.key))
        at = self.service.clock.now()
        principal = None
        if row is not None and row["session_expires_at"] > at and (row["expires_at"] is None or row["expires_at"] > at):
            principal = Principal(row["id"], row["name"], frozenset(row["scopes"]), row["expires_at"])
        if len(self._principals) > 1000:
            self._principals.clear()
        self._principals[session.key] = (now + PRINCIPAL_CACHE_SECONDS, principal, epoch)
        return principal

    def cookie_secure(self, request: Request) -> bool:
        """``SEAMLINE_COOKIE_SECURE`` when set; else whether the request came over TLS, as this server or a
        trusted proxy (``SEAMLINE_TRUSTED_PROXIES``) reports it."""
        configured = self.service.settings.cookie_secure
        return configured if configured is not None else request.url.scheme == "https"

    # ------------------------------------------------------------------ reconcile, at most once a minute
    def reconcile(self, *, force: bool = False) -> tuple[datetime, ReconcileReport]:
        """The last reconcile report, run again when older than a minute (or when asked): it takes the write
        lock on SQLite for a consistent snapshot, so a page refresh must not run it every time."""
        with self._reconcile_lock:
            now = self.service.clock.now()
            last = self._reconciled
            if force or last is None or self.wall_seconds(last[0], now) > RECONCILE_MAX_AGE:
                last = self._reconciled = (now, self.service.reconcile())
            return last

    def remember_reconcile(self, report: ReconcileReport) -> None:
        with self._reconcile_lock:
            self._reconciled = (self.service.clock.now(), report)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self.kpis.start()

    def stop(self) -> None:
        self.kpis.stop()

    def render(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(banner=self.banner, **context)


def mount_dashboard(app: FastAPI, service: Seamline, integration: Integration) -> Dashboard:
    dashboard = Dashboard(service, integration)
    app.state.dashboard = dashboard
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="dashboard-static")
    app.router.routes.extend(dashboard_routes())

    async def to_login(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse(f"/login?next={quote(exc.next_url, safe='/?=&')}", status_code=303)

    app.add_exception_handler(LoginRequired, to_login)
    return dashboard
