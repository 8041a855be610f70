"""Wiring the integration layer onto an application: ``install`` plugs the outbox announcements and the
availability journal into the application's handler table (``service.handlers.Dependencies``) and registers
the subscribers; ``Integration.start`` runs the background workers (``seamline serve`` and ``seamline worker``)."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable
from typing import Any

from seamline.integration import tracing
from seamline.integration.announcements import OutboxAnnouncements
from seamline.integration.availability import AvailabilityJournal, AvailabilityPublisher
from seamline.integration.dispatcher import Dispatcher
from seamline.integration.inbox import HandlerRegistry, Inbox
from seamline.integration.outbox import Outbox
from seamline.integration.retention import RetentionSweeper
from seamline.integration.settings import IntegrationSettings
from seamline.integration.status import integration_status
from seamline.integration.subscribers import Subscriber, SubscriberRegistry, webhook_subscriber
from seamline.integration.transports.nats import NatsTransport
from seamline.integration.wakeup import CommitSignal, NotifyListener
from seamline.service import Seamline
from seamline.service.cost_catchup import CostCatchUp

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
        #: Fired after the commit of a transaction that wrote outbox events / availability journal rows.
        self.events_committed = CommitSignal()
        self.journal_committed = CommitSignal()
        self.outbox = Outbox(
            registry, app.clock, notify=settings.notify and not sqlite, on_commit=self.events_committed.fire
        )
        self.journal = AvailabilityJournal(app.clock, on_commit=self.journal_committed.fire)
        self.announcements = OutboxAnnouncements(self.outbox)
        self.availability = AvailabilityPublisher(
            app.engine, self.outbox, app.clock, coalesce_seconds=settings.availability_coalesce_seconds
        )
        nats_mode = settings.transport == "nats"
        self.dispatcher = Dispatcher(
            app, registry, settings, fresh_grace=settings.nats_grace_seconds if nats_mode else None
        )
        self.inbox = Inbox(app, handlers, settings)
        self.retention = RetentionSweeper(app, settings)
        self.cost_catchup = CostCatchUp(app, settings.cost_catchup_seconds)
        self.nats: NatsTransport | None = None
        # A test or the CLI draining the dispatcher by hand sees the availability of what was just written.
        self.dispatcher.before_claim.append(self.availability.flush)
        self._listener: NotifyListener | None = None
        self._running = False

    def add_subscriber(self, subscriber: Subscriber) -> Subscriber:
        return self.registry.add(subscriber)

    # ------------------------------------------------------------------ lifecycle
    def start(self, *, listen: bool = False) -> None:
        """Run the dispatcher (or, with the NATS transport, the relay, the consumers and a dispatcher for
        retries), the inbox processor, retention and the catch-up of cost journals. ``listen`` adds PostgreSQL
        LISTEN, for a worker process whose events are committed by another process."""
        if self._running:
            return
        self._running = True
        if self.settings.transport == "nats":
            self.nats = NatsTransport(self.app, self.registry, self.dispatcher, self.settings)
            self.events_committed.add(self.nats.wake)
            self.nats.start()
        else:
            self.events_committed.add(self.dispatcher.wake)
        self.journal_committed.add(self.availability.wake)
        self.availability.start()
        self.dispatcher.start()
        self.inbox.start()
        self.retention.start()
        self.cost_catchup.start()
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
        self.events_committed.discard(self.dispatcher.wake)
        if self.nats is not None:
            self.events_committed.discard(self.nats.wake)
            self.nats.stop()
            self.nats = None
        self.retention.stop()
        self.cost_catchup.stop()
        self.inbox.stop()
        self.journal_committed.discard(self.availability.wake)
        self.availability.stop()
        self.dispatcher.stop()

    def uninstall(self) -> None:
        """Stop and unplug the announcements and the journal from the application (tests that build several)."""
        self.stop()
        deps = self.app.bus.deps
        if deps.announcements is self.announcements:
            deps.announcements = None
        if deps.journal is self.journal:
            deps.journal = None
        _installed.pop(self.app, None)

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
    app.bus.deps.announcements = integration.announcements
    app.bus.deps.journal = integration.journal
    _installed[app] = integration
    return integration


def installed(app: Seamline) -> Integration | None:
    return _installed.get(app)


__all__ = ["Integration", "install", "installed", "tracing"]
