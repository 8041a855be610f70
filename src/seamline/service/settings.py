"""Configuration from the environment (DESIGN 13), read once by ``bootstrap``, never at import time."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

from seamline.domain.errors import InvalidInput

ENVIRONMENTS = ("development", "staging", "production")
DEFAULT_DATABASE_URL = "sqlite:///seamline.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    admin_token: str | None = None
    env: str = "development"
    nats_url: str | None = None
    sqlite_synchronous: str = "NORMAL"
    max_body_bytes: int = 1_048_576
    default_hold_ttl_seconds: int = 900
    #: A hold is a checkout's reservation: a day is far beyond any checkout, and a week-long hold starved a
    #: channel of stock another token had parked (issue #20). Longer promises are orders or ring-fences.
    max_hold_ttl_seconds: int = 24 * 3600
    sweep_interval_seconds: float = 5.0
    # Group commit of holds (DESIGN 11); defaults chosen from bench/reserve.py (README, Performance).
    hold_batching: bool = True
    hold_batch_window_seconds: float = 0.0005
    hold_batch_max: int = 256
    hold_batch_queue: int = 4096
    #: Group commit of POST /v1/sales and /v1/orders (savepoint per request, one commit per batch).
    group_commit: bool = True
    group_commit_max: int = 64
    #: Signs dashboard session cookies; unset, the key derives from the admin token (or is random per process).
    session_secret: str | None = None
    #: Connections per process: kept open, and opened beyond that under load (each process's share of the
    #: PostgreSQL connection budget; see docs/deployment or PgBouncer).
    db_pool_size: int = 10
    db_max_overflow: int = 20
    #: Hosts, addresses and CIDR networks connectors may reach although private, loopback or link-local (#20).
    outbound_allow: tuple[str, ...] = ()
    #: The folder every 3PL drop folder must lie under; unset: ``drops/`` in the data directory.
    drop_root: str | None = None
    #: Addresses or networks (CIDR) of the proxies whose ``X-Forwarded-Proto``/``X-Forwarded-For`` are
    #: believed (``*``: any). The default is what uvicorn trusted before: a proxy on this host.
    trusted_proxies: tuple[str, ...] = ("127.0.0.1",)
    #: The dashboard cookies' ``Secure`` flag: True/False, or None to follow the request's scheme (as the
    #: trusted proxies report it).
    cookie_secure: bool | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        settings = cls(
            database_url=env.get("SEAMLINE_DATABASE_URL", DEFAULT_DATABASE_URL),
            admin_token=env.get("SEAMLINE_ADMIN_TOKEN") or None,
            env=env.get("SEAMLINE_ENV", "development"),
            nats_url=env.get("SEAMLINE_NATS_URL") or None,
            sqlite_synchronous=env.get("SEAMLINE_SQLITE_SYNCHRONOUS", "NORMAL").upper(),
            max_body_bytes=int(env.get("SEAMLINE_MAX_BODY_BYTES", "1048576")),
            default_hold_ttl_seconds=int(env.get("SEAMLINE_HOLD_TTL_SECONDS", "900")),
            max_hold_ttl_seconds=int(env.get("SEAMLINE_MAX_HOLD_TTL_SECONDS", str(24 * 3600))),
            hold_batching=env.get("SEAMLINE_HOLD_BATCHING", "on").lower() not in ("0", "off", "false", "no"),
            hold_batch_window_seconds=float(env.get("SEAMLINE_HOLD_BATCH_WINDOW_MS", "0.5")) / 1000,
            hold_batch_max=int(env.get("SEAMLINE_HOLD_BATCH_MAX", "256")),
            hold_batch_queue=int(env.get("SEAMLINE_HOLD_BATCH_QUEUE", "4096")),
            group_commit=env.get("SEAMLINE_GROUP_COMMIT", "on").lower() not in ("0", "off", "false", "no"),
            group_commit_max=int(env.get("SEAMLINE_GROUP_COMMIT_MAX", "64")),
            session_secret=env.get("SEAMLINE_SESSION_SECRET") or None,
            db_pool_size=_int(env, "SEAMLINE_DB_POOL_SIZE", 10),
            db_max_overflow=_int(env, "SEAMLINE_DB_MAX_OVERFLOW", 20),
            outbound_allow=tuple(x.strip() for x in env.get("SEAMLINE_OUTBOUND_ALLOW", "").split(",") if x.strip()),
            drop_root=env.get("SEAMLINE_DROP_ROOT") or None,
            trusted_proxies=_proxies(env.get("SEAMLINE_TRUSTED_PROXIES")),
            cookie_secure=_cookie_secure(env.get("SEAMLINE_COOKIE_SECURE", "")),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse configurations that are fine on a laptop and dangerous in production."""
        if self.env not in ENVIRONMENTS:
            raise InvalidInput(f"SEAMLINE_ENV must be one of {', '.join(ENVIRONMENTS)}, not {self.env!r}")
        if self.db_pool_size < 1 or self.db_max_overflow < 0:
            raise InvalidInput("SEAMLINE_DB_POOL_SIZE must be at least 1 and SEAMLINE_DB_MAX_OVERFLOW at least 0")
        if self.env == "production":
            if not self.admin_token or len(self.admin_token) < 32:
                raise InvalidInput("production needs SEAMLINE_ADMIN_TOKEN of at least 32 characters")
            if ":memory:" in self.database_url or self.database_url in ("sqlite://",):
                raise InvalidInput("production refuses an in-memory database")
        if not 1 <= self.default_hold_ttl_seconds <= self.max_hold_ttl_seconds:
            raise InvalidInput("SEAMLINE_HOLD_TTL_SECONDS must be 1..SEAMLINE_MAX_HOLD_TTL_SECONDS")
        for proxy in self.trusted_proxies:
            if proxy != "*":
                try:
                    ipaddress.ip_network(proxy, strict=False)
                except ValueError:
                    raise InvalidInput(
                        f"SEAMLINE_TRUSTED_PROXIES: {proxy!r} is not an address, a network (CIDR) or *"
                    ) from None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number, not {raw!r}") from None


def _proxies(value: str | None) -> tuple[str, ...]:
    if value is None:
        return Settings.trusted_proxies
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _cookie_secure(value: str) -> bool | None:
    word = value.strip().lower()
    if word in ("", "auto"):
        return None
    if word in ("1", "on", "true", "yes"):
        return True
    if word in ("0", "off", "false", "no"):
        return False
    raise InvalidInput(f"SEAMLINE_COOKIE_SECURE must be on, off or auto, not {value!r}")
