"""Integration configuration from the environment, read once by ``install``, never at import time."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from seamline.domain.errors import InvalidInput

TRANSPORTS = ("inprocess", "nats")
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"


@dataclass(frozen=True)
class WebhookConfig:
    """A generic HTTP subscriber: events POSTed as JSON with the event id as ``Idempotency-Key``."""

    name: str
    url: str
    events: tuple[str, ...]
    channels: tuple[str, ...] | None = None
    coalesce: bool = True
    max_concurrency: int = 1
    rate_per_second: float | None = None
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class IntegrationSettings:
    transport: str = "inprocess"
    nats_url: str | None = None
    nats_stream: str = "SEAMLINE_EVENTS"
    nats_subject_prefix: str = "seamline.events"
    max_attempts: int = 12
    backoff_base_seconds: float = 1.0
    backoff_cap_seconds: float = 600.0
    lease_seconds: float = 30.0
    poll_seconds: float = 2.0
    batch_size: int = 50
    nats_grace_seconds: float = 2.0
    #: The outbox relay to NATS runs in one process at a time, under a lease in the database that runs out
    #: this long after its holder stops renewing it (a dead relay is replaced within about 1.3 times this).
    relay_lease_seconds: float = 10.0
    inbox_max_attempts: int = 5
    #: A held message (its order not seen yet, an unknown SKU) is tried again at least this often.
    inbox_hold_recheck_seconds: float = 300.0
    retention_inbox_days: float = 7.0
    retention_outbox_days: float = 7.0
    retention_interval_seconds: float = 3600.0
    #: How often a cost journal whose posting failed in its movement's transaction is booked without a person
    #: (``service.cost_catchup``); 0 turns the job off (``POST /v1/finance/post-missing-costs`` remains).
    cost_catchup_seconds: float = 600.0
    notify: bool = True
    #: After publishing a burst, the availability publisher waits this long before the next transaction, so
    #: a stream of commits becomes one recomputation per (channel, sku) per interval (README, Performance).
    availability_coalesce_seconds: float = 0.02
    webhooks: tuple[WebhookConfig, ...] = field(default_factory=tuple)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> IntegrationSettings:
        env = os.environ if environ is None else environ

        def number(name: str, default: float) -> float:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            try:
                value = float(raw)
            except ValueError:
                raise InvalidInput(f"{name} must be a number, not {raw!r}") from None
            if value < 0:
                raise InvalidInput(f"{name} must not be negative")
            return value

        settings = cls(
            transport=env.get("SEAMLINE_TRANSPORT", "inprocess"),
            nats_url=env.get("SEAMLINE_NATS_URL") or None,
            nats_stream=env.get("SEAMLINE_NATS_STREAM", cls.nats_stream),
            nats_subject_prefix=env.get("SEAMLINE_NATS_SUBJECT_PREFIX", cls.nats_subject_prefix),
            max_attempts=int(number("SEAMLINE_DELIVERY_MAX_ATTEMPTS", cls.max_attempts)),
            backoff_base_seconds=number("SEAMLINE_DELIVERY_BACKOFF_SECONDS", cls.backoff_base_seconds),
            backoff_cap_seconds=number("SEAMLINE_DELIVERY_BACKOFF_CAP_SECONDS", cls.backoff_cap_seconds),
            lease_seconds=number("SEAMLINE_DELIVERY_LEASE_SECONDS", cls.lease_seconds),
            poll_seconds=number("SEAMLINE_DISPATCH_POLL_SECONDS", cls.poll_seconds),
            relay_lease_seconds=number("SEAMLINE_RELAY_LEASE_SECONDS", cls.relay_lease_seconds),
            inbox_max_attempts=int(number("SEAMLINE_INBOX_MAX_ATTEMPTS", cls.inbox_max_attempts)),
            inbox_hold_recheck_seconds=number("SEAMLINE_INBOX_HOLD_RECHECK_SECONDS", cls.inbox_hold_recheck_seconds),
            retention_inbox_days=number("SEAMLINE_RETENTION_INBOX_DAYS", cls.retention_inbox_days),
            retention_outbox_days=number("SEAMLINE_RETENTION_OUTBOX_DAYS", cls.retention_outbox_days),
            cost_catchup_seconds=number("SEAMLINE_COST_CATCHUP_SECONDS", cls.cost_catchup_seconds),
            availability_coalesce_seconds=number(
                "SEAMLINE_AVAILABILITY_COALESCE_MS", cls.availability_coalesce_seconds * 1000
            )
            / 1000,
            webhooks=parse_webhooks(env.get("SEAMLINE_WEBHOOK_SUBSCRIBERS", "")),
        )
        settings.check()
        return settings

    def check(self) -> None:
        if self.transport not in TRANSPORTS:
            raise InvalidInput(f"SEAMLINE_TRANSPORT must be one of {', '.join(TRANSPORTS)}, not {self.transport!r}")
        if self.max_attempts < 1:
            raise InvalidInput("SEAMLINE_DELIVERY_MAX_ATTEMPTS must be at least 1")
        if self.lease_seconds <= 0 or self.poll_seconds <= 0 or self.relay_lease_seconds <= 0:
            raise InvalidInput("the delivery lease, the relay lease and the dispatch poll must be positive")

    @property
    def resolved_nats_url(self) -> str:
        return self.nats_url or DEFAULT_NATS_URL


def parse_webhooks(raw: str) -> tuple[WebhookConfig, ...]:
    """``SEAMLINE_WEBHOOK_SUBSCRIBERS``: a JSON list of ``{name, url, events, channels?, coalesce?,
    max_concurrency?, rate_per_second?}``."""
    if not raw.strip():
        return ()
    try:
        items: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"SEAMLINE_WEBHOOK_SUBSCRIBERS is not JSON: {exc}") from None
    if not isinstance(items, list):
        raise InvalidInput("SEAMLINE_WEBHOOK_SUBSCRIBERS must be a JSON list")
    out = []
    for item in items:
        if not isinstance(item, dict) or not item.get("name") or not item.get("url") or not item.get("events"):
            raise InvalidInput("each webhook subscriber needs a name, a url and a list of events")
        channels = item.get("channels")
        out.append(
            WebhookConfig(
                name=str(item["name"]),
                url=str(item["url"]),
                events=tuple(str(e) for e in item["events"]),
                channels=None if channels is None else tuple(str(c) for c in channels),
                coalesce=bool(item.get("coalesce", True)),
                max_concurrency=int(item.get("max_concurrency", 1)),
                rate_per_second=None if item.get("rate_per_second") is None else float(item["rate_per_second"]),
                timeout_seconds=float(item.get("timeout_seconds", 10.0)),
            )
        )
    return tuple(out)
