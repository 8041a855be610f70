"""Retention: processed inbox messages and delivered (or superseded) deliveries and their events are purged
after a configurable age, in small batches. Dead letters, rejected and failed messages are never purged
automatically: someone has to look at them first."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from seamline.domain.clock import Clock
from seamline.integration import metrics
from seamline.integration.settings import IntegrationSettings
from seamline.service import Seamline
from seamline.service.background import BackgroundLoop
from seamline.service.coordination import claim_period
from seamline.store import inbox_repo, outbox_repo
from seamline.store.db import run_transaction

log = logging.getLogger("seamline.retention")


@dataclass(frozen=True)
class Purged:
    inbox_messages: int = 0
    deliveries: int = 0
    events: int = 0


def purge(app: Seamline, settings: IntegrationSettings, *, clock: Clock | None = None, batch: int = 1000) -> Purged:
    """Purge everything past retention, a batch per transaction so writers are never held up for long.
    A retention of 0 days keeps rows forever."""
    now = (clock or app.clock).now()
    inbox = deliveries = events = 0
    if settings.retention_inbox_days > 0:
        before = now - timedelta(days=settings.retention_inbox_days)
        while True:
            n = run_transaction(app.engine, lambda c: inbox_repo.purge_processed(c, before, batch))
            inbox += n
            if n < batch:
                break
    if settings.retention_outbox_days > 0:
        before = now - timedelta(days=settings.retention_outbox_days)
        while True:
            d, e = run_transaction(app.engine, lambda c: outbox_repo.purge_finished(c, before, batch))
            deliveries += d
            events += e
            if d < batch and e < batch:
                break
    metrics.PURGED.labels("inbox_messages").inc(inbox)
    metrics.PURGED.labels("deliveries").inc(deliveries)
    metrics.PURGED.labels("events").inc(events)
    return Purged(inbox, deliveries, events)


class RetentionSweeper:
    def __init__(self, app: Seamline, settings: IntegrationSettings) -> None:
        self.app = app
        self.settings = settings
        every = settings.retention_interval_seconds
        self._loop = BackgroundLoop("seamline-retention", self._purge, first_wait=every, error_wait=every, logger=log)

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()

    def _purge(self) -> float:
        every = self.settings.retention_interval_seconds
        # Another process of the installation may have claimed this period: it purges, we wait for the next.
        if claim_period(self.app.engine, "retention", now=self.app.clock.now(), every=every):
            purged = purge(self.app, self.settings)
            if purged.inbox_messages or purged.deliveries or purged.events:
                log.info("retention purged %s", purged)
        return every
