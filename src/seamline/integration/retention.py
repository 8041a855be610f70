"""Retention: processed inbox messages and delivered (or superseded) deliveries and their events are purged
after a configurable age, in small batches. Dead letters, rejected and failed messages are never purged
automatically: someone has to look at them first."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from seamline.domain.clock import Clock
from seamline.integration import metrics
from seamline.integration.settings import IntegrationSettings
from seamline.service import Seamline
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
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="seamline-retention", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        every = self.settings.retention_interval_seconds
        while not self._stop.wait(every):
            try:
                if not claim_period(self.app.engine, "retention", now=self.app.clock.now(), every=every):
                    continue  # another process of the installation purges this period
                purged = purge(self.app, self.settings)
                if purged.inbox_messages or purged.deliveries or purged.events:
                    log.info("retention purged %s", purged)
            except Exception:  # noqa: BLE001
                log.exception("retention purge failed; will retry")
