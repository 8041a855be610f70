"""Connector wiring by configuration: each channel row (``PUT /v1/channels/{code}`` with a ``kind`` and
``settings``) becomes the subscribers, inbox handlers and periodic jobs of its connector, in ``seamline
serve`` and ``seamline worker`` alike. Changing a channel's settings rewires it (at once in the process that
took the PUT, within ``VERSION_CHECK_SECONDS`` elsewhere); removing a kind's settings unwires it.

What each wired subscriber takes is recorded in the database (``subscriptions``) by the process that wired
it, before the PUT answers: every process's outbox creates deliveries from there, so a sale written through
a process that has not wired the channel yet still leaves its push pending for one that has (issue 16).

A kind's builder lives next to its connector (``seamline.channels.<kind>.wiring.build``) and answers a
``Wired``. Settings that point at an in-process sandbox (a URL starting with ``sandbox:``) are refused in
production (``SEAMLINE_ENV=production``): a real shop must never be mistaken for a test one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from seamline.domain.errors import InvalidInput
from seamline.integration import AVAILABILITY_CHANGED, Integration, Subscriber
from seamline.integration.availability import catch_up_channel
from seamline.integration.inbox import MessageHandler
from seamline.service import Seamline
from seamline.service.background import BackgroundLoop
from seamline.service.coordination import claim_period
from seamline.store import accounting_repo, channels_repo, subscriptions_repo
from seamline.store.db import run_transaction

log = logging.getLogger("seamline.wiring")

REFRESH_SECONDS = 30.0
#: How often a process asks whether any channel's or accounting connection's configuration changed (one
#: small read): a change made through another process is wired here within about this long.
VERSION_CHECK_SECONDS = 1.0
SANDBOX_SCHEME = "sandbox:"


@dataclass(frozen=True)
class ChannelConfig:
    code: str
    kind: str
    sources: tuple[str, ...]
    settings: Mapping[str, Any]

    def fingerprint(self) -> str:
        blob = json.dumps([self.kind, self.sources, self.settings], sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class PeriodicJob:
    """Work a connector does on a clock (poll orders, check feed results): ``run`` is called every
    ``every_seconds``; an exception is logged and the job runs again next time."""

    name: str
    every_seconds: float
    run: Callable[[], None]


@dataclass
class Wired:
    subscribers: list[Subscriber] = field(default_factory=list)
    #: (inbox source, message type, handler)
    handlers: list[tuple[str, str, MessageHandler]] = field(default_factory=list)
    jobs: list[PeriodicJob] = field(default_factory=list)
    #: Called when the channel is unwired (rewired, or its settings removed): close its connections.
    on_unwire: list[Callable[[], None]] = field(default_factory=list)
    #: Settings the connector wired without, each leaving part of it out (a Shopify channel with no
    #: location to publish at pushes no numbers): shown in the channel's ``wiring.missing``.
    missing: list[str] = field(default_factory=list)
    #: Run once each time the channel is wired (first wired, or rewired by changed settings): catch the
    #: platform up with what happened before (styles it does not hold in their current version, numbers it
    #: has not been shown). Each must compare with what the platform holds, so a rewire sends only the gap.
    on_wire: list[Callable[[], None]] = field(default_factory=list)


@dataclass(frozen=True)
class WiringContext:
    app: Seamline
    integration: Integration

    @property
    def production(self) -> bool:
        return self.app.settings.env == "production"

    def check_url(self, channel: str, name: str, url: str) -> bool:
        """True when ``url`` names the in-process sandbox; refused in production."""
        if not url.startswith(SANDBOX_SCHEME):
            return False
        if self.production:
            raise InvalidInput(f"channel {channel}: {name} points at a sandbox ({url}); production refuses it")
        return True


Builder = Callable[[WiringContext, ChannelConfig], Wired | None]
#: The settings keys a connector still needs before it can be wired whole.
Requirements = Callable[[Mapping[str, Any]], list[str]]

#: What a channel's ``wiring.state`` says: a connector running with all it needs, one waiting for settings
#: (``missing`` names them), one whose settings were refused when built (``error``), one configured but not
#: yet picked up by this process, a till that posts its own sales, a kind that has no connector at all.
WIRED, INCOMPLETE, FAILED, PENDING, MANUAL, NO_CONNECTOR = (
    "wired",
    "incomplete",
    "error",
    "pending",
    "manual",
    "no_connector",
)


def availability_catch_up(context: WiringContext, channel: str, subscribers: list[Subscriber]) -> Callable[[], None]:
    """An ``on_wire`` hook: the channel's current numbers for the subscribers that have not shown them yet."""
    names = [s.name for s in subscribers if AVAILABILITY_CHANGED in s.event_types]

    def catch_up() -> None:
        app, outbox = context.app, context.integration.outbox
        app.write(lambda uow: catch_up_channel(uow, outbox, app.clock, channel, names))

    return catch_up


class _ByProvider:
    """One channel kind served by several connectors, each wiring only the channels of its ``provider``."""

    def __init__(self, *modules: Any) -> None:
        self.modules = modules

    def build(self, context: WiringContext, config: ChannelConfig) -> Wired | None:
        for module in self.modules:
            wired: Wired | None = module.build(context, config)
            if wired is not None:
                return wired
        return None

    def missing(self, settings: Mapping[str, Any]) -> list[str]:
        return [key for module in self.modules for key in module.missing(settings)]


def _connector_modules() -> dict[str, Any]:
    """Each kind's ``channels.<name>.wiring`` module: its ``build`` wires the connector, its ``missing`` names
    the settings it still needs. Accounting connections (PUT /v1/finance/accounting/{code}) are wired like
    channels, as accounting:<code>."""
    from seamline.channels.amazon import wiring as amazon
    from seamline.channels.lightspeed import wiring as lightspeed
    from seamline.channels.mirakl import wiring as mirakl
    from seamline.channels.quickbooks import wiring as quickbooks
    from seamline.channels.shopify import wiring as shopify
    from seamline.channels.square import wiring as square
    from seamline.channels.threepl import wiring as threepl
    from seamline.channels.xero import wiring as xero

    return {
        "shopify": shopify,
        "pos": _ByProvider(square, lightspeed),  # settings.provider: square | lightspeed (else a manual till)
        "amazon": amazon,
        "mirakl": mirakl,
        "threepl": threepl,
        "xero": xero,
        "quickbooks": quickbooks,
    }


def default_builders() -> dict[str, Builder]:
    return {kind: module.build for kind, module in _connector_modules().items()}


def default_requirements() -> dict[str, Requirements]:
    return {kind: module.missing for kind, module in _connector_modules().items()}


class ConnectorWiring:
    def __init__(self, integration: Integration, builders: Mapping[str, Builder] | None = None) -> None:
        self.integration = integration
        self.app = integration.app
        self.builders = dict(default_builders() if builders is None else builders)
        self.requirements = default_requirements()
        self.context = WiringContext(self.app, integration)
        self._wired: dict[str, tuple[str, Wired]] = {}  # channel code -> (fingerprint, what it registered)
        self._due: dict[str, float] = {}  # job name -> monotonic time it runs next
        self._lock = threading.RLock()
        self._loop = BackgroundLoop("seamline-connectors", self._turn, logger=log)
        self._refreshed = 0.0
        #: The configuration version last seen (``subscriptions_repo.config_version``) and when it was read.
        self._version: tuple[Any, ...] | None = None
        self._checked = 0.0
        self.errors: dict[str, str] = {}  # channel code -> why it could not be wired

    # ------------------------------------------------------------------ wiring
    def configs(self) -> list[ChannelConfig]:
        return [c for c in self._all_configs() if c.kind in self.builders]

    def _all_configs(self) -> list[ChannelConfig]:
        rows = self.app.read(channels_repo.connector_configs) + self.app.read(accounting_repo.connector_configs)
        return [ChannelConfig(r["code"], r["kind"], tuple(r["sources"] or ()), dict(r["settings"] or {})) for r in rows]

    def refresh(self) -> list[str]:
        """Rewire the channels whose configuration changed; answers their codes."""
        changed: list[str] = []
        with self._lock:
            every = self._all_configs()
            configs = {c.code: c for c in every if c.kind in self.builders}
            # A connector kind this wiring was not given builders for (a test's) may be wired elsewhere.
            connectors = {c.code for c in every if c.kind in self.builders or c.kind in self.requirements}
            for code in list(self._wired):
                if code not in configs:
                    self._unwire(code)
                    changed.append(code)
            for code, config in configs.items():
                fingerprint = config.fingerprint()
                current = self._wired.get(code)
                if current is not None and current[0] == fingerprint:
                    continue
                if current is not None:
                    self._unwire(code)
                try:
                    refused = self.app.outbound.check_settings(config.kind, config.settings, must_resolve=False)
                    if refused:  # stored before the rule, or a host that now resolves inward (#20)
                        raise InvalidInput("; ".join(f"{e.field} {e.message}" for e in refused), refused)
                    wired = self.builders[config.kind](self.context, config)
                except Exception as exc:  # noqa: BLE001 - one bad channel must not keep the others unwired
                    log.error("channel %s (%s) not wired: %s", code, config.kind, exc)
                    self.errors[code] = str(exc)
                    self._wired[code] = (fingerprint, Wired())
                    changed.append(code)
                    continue
                self.errors.pop(code, None)
                wired = wired or Wired()
                try:
                    self._declare(code, wired.subscribers)
                except Exception:  # noqa: BLE001 - the database may be briefly away: wire it at the next refresh
                    log.exception("channel %s: could not record its subscriptions; retrying later", code)
                    self._close(code, wired)
                    continue
                self._wire(code, fingerprint, wired)
                changed.append(code)
            gone = [owner for owner in self._declared_owners() if owner not in connectors]
            if gone:
                run_transaction(self.app.engine, lambda conn: subscriptions_repo.forget(conn, gone))
        return changed

    def _declare(self, code: str, subscribers: list[Subscriber]) -> None:
        """Record what the channel's subscribers take, for every process's outbox (before the PUT answers).

        A configuration that failed to build records nothing: another process may have built it, and the
        deliveries of a channel nobody can reach wait, pending, for one that can."""
        rows = [
            subscriptions_repo.SubscriptionRow(
                s.name, tuple(s.event_types), None if s.channels is None else tuple(s.channels), s.coalesce
            )
            for s in subscribers
        ]
        now = self.app.clock.now()
        run_transaction(self.app.engine, lambda conn: subscriptions_repo.declare(conn, code, rows, now))

    def _declared_owners(self) -> list[str]:
        return run_transaction(self.app.engine, subscriptions_repo.declared_owners, write=False)

    def _wire(self, code: str, fingerprint: str, wired: Wired) -> None:
        registry, handlers = self.integration.registry, self.integration.handlers
        for subscriber in wired.subscribers:
            registry.add(subscriber, declared=True)
        for source, message_type, handler in wired.handlers:
            handlers.register(source, message_type, handler)
        for source in sorted({source for source, _, _ in wired.handlers}):
            # What was held for want of this channel's configuration (no handler yet, an unmapped location,
            # an unknown SKU) is tried again now that the channel is (re)wired.
            try:
                self.integration.inbox.release(source, everything=True)
            except Exception:  # noqa: BLE001 - the recheck picks them up later; wiring must not fail on it
                log.exception("channel %s: releasing held messages of %s failed", code, source)
        now = time.monotonic()
        for job in wired.jobs:
            self._due[job.name] = now + job.every_seconds
        self._wired[code] = (fingerprint, wired)
        for catch_up in wired.on_wire:
            try:
                catch_up()
            except Exception:  # noqa: BLE001 - the platform may be away; the channel stays wired
                log.exception("channel %s: catching up after wiring failed", code)
        log.info(
            "channel %s wired: subscribers %s, handlers %d, jobs %s",
            code,
            ", ".join(s.name for s in wired.subscribers) or "none",
            len(wired.handlers),
            ", ".join(j.name for j in wired.jobs) or "none",
        )
        self.integration.dispatcher.wake()

    def _unwire(self, code: str) -> None:
        _, wired = self._wired.pop(code)
        for subscriber in wired.subscribers:
            self.integration.registry.remove(subscriber.name)
        for source, message_type, _ in wired.handlers:
            self.integration.handlers.unregister(source, message_type)
        for job in wired.jobs:
            self._due.pop(job.name, None)
        self._close(code, wired)

    @staticmethod
    def _close(code: str, wired: Wired) -> None:
        for close in wired.on_unwire:
            try:
                close()
            except Exception:  # noqa: BLE001 - a connection that fails to close must not keep the channel wired
                log.exception("channel %s: closing its connections failed", code)

    def state(self, code: str, kind: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        """What is wired of a channel and what is missing: ``{state, missing: [settings keys], error?}``."""
        if kind not in self.builders:
            return {"state": NO_CONNECTOR, "missing": []}
        if kind == "pos" and settings.get("provider") is None:
            return {"state": MANUAL, "missing": []}
        needs = self.requirements.get(kind)
        missing = [] if needs is None else needs(settings)
        with self._lock:
            found = self._wired.get(code)
            error = self.errors.get(code)
        if found is not None:
            missing += [key for key in found[1].missing if key not in missing]
        answer: dict[str, Any] = {"state": WIRED, "missing": missing}
        if error is not None:
            answer["error"] = error
        if missing:
            answer["state"] = INCOMPLETE
        elif error is not None:
            answer["state"] = FAILED
        elif found is None or not (found[1].subscribers or found[1].handlers or found[1].jobs):
            answer["state"] = PENDING
        return answer

    def wired(self) -> dict[str, Wired]:
        with self._lock:
            return {code: wired for code, (_, wired) in self._wired.items()}

    # ------------------------------------------------------------------ periodic jobs
    def jobs(self) -> list[PeriodicJob]:
        with self._lock:
            return [job for _, wired in self._wired.values() for job in wired.jobs]

    def run_due(self, *, force: bool = False) -> list[str]:
        """Run the jobs that are due (all of them with ``force``); answers the names that ran.

        A due job runs here only if this process claims its period in the database: every process wires the
        same channels, and a marketplace pull or feed upload must happen once per period, not once per
        process. A process that dies simply stops claiming; another claims the next period. ``force`` (an
        operator's or a test's "now") skips the claim.
        """
        ran: list[str] = []
        now = time.monotonic()
        for job in self.jobs():
            if not force and self._due.get(job.name, 0.0) > now:
                continue
            self._due[job.name] = now + job.every_seconds
            if not force and not self._claim(job):
                continue
            try:
                job.run()
            except Exception:  # noqa: BLE001 - a failing job is logged and runs again next time
                log.exception("periodic job %s failed", job.name)
            ran.append(job.name)
        return ran

    def _claim(self, job: PeriodicJob) -> bool:
        try:
            return claim_period(self.app.engine, f"job:{job.name}", now=self.app.clock.now(), every=job.every_seconds)
        except Exception:  # noqa: BLE001 - the database may be briefly away: the job waits for its next turn
            log.exception("could not claim periodic job %s", job.name)
            return False

    def start(self) -> None:
        if self._loop.running:
            return
        self.refresh()
        self._refreshed = time.monotonic()
        self._version = self._config_version()
        self._checked = time.monotonic()
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()

    def _config_version(self) -> tuple[Any, ...] | None:
        try:
            return self.app.read(subscriptions_repo.config_version)
        except Exception:  # noqa: BLE001 - the database may be briefly away; the full refresh covers it
            return None

    def _turn(self) -> float:
        moved = False
        if time.monotonic() - self._checked >= VERSION_CHECK_SECONDS:
            self._checked = time.monotonic()
            latest = self._config_version()
            moved = latest is not None and latest != self._version
            self._version = latest if latest is not None else self._version
        if moved or time.monotonic() - self._refreshed > REFRESH_SECONDS:
            self._refreshed = time.monotonic()
            try:
                self.refresh()
            except Exception:  # noqa: BLE001 - the database may be briefly away
                log.exception("could not refresh connector wiring")
        self.run_due()
        due = list(self._due.values()) or [time.monotonic() + 1.0]
        return max(0.05, min(VERSION_CHECK_SECONDS, min(due) - time.monotonic()))
