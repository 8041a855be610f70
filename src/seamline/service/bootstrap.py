"""Wiring: settings -> engine -> application. The only place that decides what connects to what."""

from __future__ import annotations

import logging
import secrets

from seamline.domain.clock import Clock, SystemClock
from seamline.service import costing, finance, tills
from seamline.service.app import Seamline
from seamline.service.settings import Settings
from seamline.store.db import make_engine
from seamline.store.migrate import is_current, upgrade

log = logging.getLogger("seamline")


def bootstrap(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    migrate: bool | None = None,
    pool_size: int | None = None,
    generate_admin_token: bool = False,
) -> Seamline:
    """Build the application. In development the schema is migrated on start; elsewhere it must be current.

    With ``generate_admin_token`` (``seamline serve``) and no admin token configured in development, one is
    generated and shown once. ``pool_size`` (tests, benches, the demo: sized to their own clients) replaces the
    configured ``SEAMLINE_DB_POOL_SIZE``/``SEAMLINE_DB_MAX_OVERFLOW`` with that pool and twice it in overflow.
    """
    settings = settings or Settings.from_env()
    settings.check()
    engine = make_engine(
        settings.database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        pool_size=settings.db_pool_size if pool_size is None else pool_size,
        max_overflow=settings.db_max_overflow if pool_size is None else None,
    )
    should_migrate = settings.env == "development" if migrate is None else migrate
    if should_migrate:
        upgrade(engine)
    elif not is_current(engine):
        raise RuntimeError("the database schema is not current: run `seamline migrate`")
    app = Seamline(engine, clock or SystemClock(), settings)
    finance.install(app)  # documents and journal entries post in the business event's own transaction
    tills.install(app)  # a saved style republishes the till catalog in its own transaction
    costing.install(app)  # value at cost crossing the walls is booked in the movement's own transaction
    token = settings.admin_token
    if token is None and generate_admin_token and settings.env == "development":
        token = "sl_dev_" + secrets.token_urlsafe(24)
        app.generated_admin_token = token
        log.warning("no SEAMLINE_ADMIN_TOKEN set; generated a development admin token (shown once on the console)")
    if token is not None:
        app.ensure_admin_token(token)
    return app
