"""Wiring the integration layer onto an application: ``install`` registers the availability hook and the
subscribers; ``Integration.start`` runs the background workers (``seamline serve`` and ``seamline worker``)."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable
from typing import Any

from seamline.integration import tracing
from seamline.integration.availability import WROTE_JOURNAL, AvailabilityJournal, AvailabilityPublisher
from seamline.integration.catalog_events import CatalogEvents
from seamline.integration.dispatcher import Dispatcher
from seamline.integration.finance import FinancePublisher
from seamline.integration.inbox import HandlerRegistry, Inbox
from seamline.integration.order_events import OrderEvents
from seamline.integration.outbox import Outbox
from seamline.integration.retention import RetentionSweeper
from seamline.integration.settings import IntegrationSettings
from seamline.integration.status import integration_status
from seamline.integration.subscribers import Subscriber, SubscriberRegistry, webhook_subscriber
from seamline.integration.tills import TillCatalogEvents
from seamline.integration.transports.nats import NatsTransport
from seamline.integration.wakeup import CommitSignal, NotifyListener
from seamline.service import Seamline

log = logging.getLogger("seamline.integration")

_installed: weakref.WeakKeyDictionary[Seamline, Integration] = weakref.WeakKeyDictionary()


class Integration:
    def __init__(
        self,
        app: Seamline,
        settings: IntegrationSettings,
        registry: SubscriberRegistry,
        handlers: HandlerRegistry,
    ) -> None:
        self.app = app
        self.settings = settings
        self.registry = registry
        self.handlers = handlers
        sqlite = app.engine.dialect.name == "sqlite"
        self.outbox = Outbox(registry, app.clock, notify=settings.notify and not sqlite)
        self.journal = AvailabilityJournal(app.clock)
        self.availability = AvailabilityPublisher(
            app.engine, self.outbox, app.clock, coalesce_seconds=settings.availability_coalesce_seconds
        )
        self.finance = FinancePublisher(self.outbox)
        self.tills = TillCatalogEvents(self.outbox)
        self.catalog_events = CatalogEvents(self.outbox)
        self.order_events = OrderEvents(self.outbox)
        nats_mode = settings.transport == "nats"
        self.dispatcher = Dispatcher(
            app, registry, settings, fresh_grace=settings.nats_grace_seconds if nats_mode else None
        )
        self.inbox = Inbox(app, handlers, settings)
        self.retention = RetentionSweeper(app, settings)
        self.nats: NatsTransport | None = None
        self._signal = CommitSignal.for_engine(app.engine)
        self._journal_signal = CommitSignal.for_engine(app.engine, WROTE_JOURNAL)
        # A test or the CLI draining the dispatcher by hand sees the availability of what was just written.
        self.dispatcher.before_claim.append(self.availability.flush)
        self._listener: NotifyListener | None = None
        self._running = False

    def add_subscriber(self, subscriber: Subscriber) -> Subscriber:
        return self.registry.add(subscriber)

    # ------------------------------------------------------------------ lifecycle
    def start(self, *, listen: bool = False) -> None:
        """Run the dispatcher (or, with the NATS transport, the relay, the consumers and a dispatcher for
        retries), the inbox processor and retention. ``listen`` adds PostgreSQL LISTEN, for a worker process
        whose events are committed by another process."""
        if self._running:
            return
        self._running = True
        if self.settings.transport == "nats":
            self.nats = NatsTransport(self.app, self.registry, self.dispatcher, self.settings)
            self._signal.add(self.nats.wake)
            self.nats.start()
        else:
            self._signal.add(self.dispatcher.wake)
        self._journal_signal.add(self.availability.wake)
        self.availability.start()
        self.dispatcher.start()
        self.inbox.start()
        self.retention.start()
        # With NATS, any process may hold the relay's lease: it hears other processes' commits at once.
        if listen or self.nats is not None:
            wake = self.nats.wake if self.nats is not None else self.dispatcher.wake
            self._listener = NotifyListener(self.app.engine, wake)
            self._listener.start()
        log.info(
            "integration started: transport %s, subscribers %s",
            self.settings.transport,
            ", ".join(self.registry.names()) or "none",
        )

    def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        self._signal.discard(self.dispatcher.wake)
        if self.nats is not None:
            self._signal.discard(self.nats.wake)
            self.nats.stop()
            self.nats = None
        self.retention.stop()
        self.inbox.stop()
        self._journal_signal.discard(self.availability.wake)
        self.availability.stop()
        self.dispatcher.stop()

    def uninstall(self) -> None:
        """Stop and take every before-commit hook off the application (tests that build several)."""
        self.stop()
        for hook in self.hooks():
            if hook in self.app.before_commit:
                self.app.before_commit.remove(hook)
        _installed.pop(self.app, None)

    def hooks(self) -> list[Any]:
        """The before-commit hooks, in the order they run. The event hooks peek at notes (styles saved, orders
        shipped) that the tills and finance hooks then take, so they go first."""
        return [self.catalog_events, self.order_events, self.journal, self.finance, self.tills]

    def status(self) -> dict[str, Any]:
        return integration_status(self)


def install(
    app: Seamline,
    settings: IntegrationSettings | None = None,
    *,
    subscribers: Iterable[Subscriber] = (),
    handlers: HandlerRegistry | None = None,
) -> Integration:
    """Put the integration layer on ``app`` (once; a second call answers the first installation and adds any
    new subscribers). Events are written from now on, by every write transaction of ``app``."""
    existing = _installed.get(app)
    if existing is not None:
        for subscriber in subscribers:
            if existing.registry.get(subscriber.name) is None:
                existing.registry.add(subscriber)
        return existing
    settings = settings or IntegrationSettings.from_env()
    registry = SubscriberRegistry()
    for config in settings.webhooks:
        registry.add(webhook_subscriber(config))
    for subscriber in subscribers:
        registry.add(subscriber)
    integration = Integration(app, settings, registry, handlers or HandlerRegistry())
    peekers, takers = integration.hooks()[:2], integration.hooks()[2:]
    app.before_commit[:0] = peekers  # before any hook the service installed too
    app.before_commit.extend(takers)
    _installed[app] = integration
    return integration


def installed(app: Seamline) -> Integration | None:
    return _installed.get(app)


__all__ = ["Integration", "install", "installed", "tracing"]
