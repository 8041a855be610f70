"""What the processes of one installation agree on through the database (issue 16): which process runs a
periodic job's work this period, and which one holds a lease on work done by one process at a time.
(Shared rate limits: ``seamline.integration.shared_limits``.)"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta

from sqlalchemy import Engine

from seamline.domain.clock import Clock
from seamline.store import coordination_repo
from seamline.store.db import run_transaction

log = logging.getLogger("seamline.coordination")


def process_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_period(engine: Engine, name: str, *, now: datetime, every: float) -> bool:
    """True when this process runs job ``name`` now, for a period of ``every`` seconds.

    A process asks when its own timer says the job is due; the timer and ``now`` are read a moment apart,
    so the claim accepts a period that ends within a tenth of a period (at most a second) from now: without
    that, the owner would find its own period not quite over and skip every other turn.
    """
    slack = timedelta(seconds=min(1.0, every / 10))
    return run_transaction(
        engine,
        lambda conn: coordination_repo.claim_period(
            conn, name, now=now, every=timedelta(seconds=every), owner=process_owner(), slack=slack
        ),
    )


class Lease:
    """Work that one process of the installation does at a time (the outbox relay to NATS), held through a
    database row that runs out ``ttl`` seconds after its last renewal.

    ``held()`` answers whether this process may do the work now: the holder renews every third of ``ttl``; a
    process that is not the holder asks again at most that often. When the holder dies, its lease runs out
    and another process takes it within ``ttl`` plus a third of it. A holder that stalls longer than ``ttl``
    may overlap the next for a moment, so the work must stay safe to do twice (the relay's broker drops a
    second copy of a message by its id).
    """

    def __init__(self, engine: Engine, name: str, *, ttl: float, clock: Clock, owner: str | None = None) -> None:
        if ttl <= 0:
            raise ValueError("a lease needs a positive time to live")
        self.engine = engine
        self.name = name
        self.ttl = ttl
        self.clock = clock
        self.owner = owner or f"{process_owner()}:{uuid.uuid4().hex[:8]}"
        self._holding = False
        self._asked = -float("inf")
        self._lock = threading.Lock()

    @property
    def recheck_seconds(self) -> float:
        return self.ttl / 3

    def held(self, *, ask: bool = False) -> bool:
        """Whether this process holds the lease now (``ask``: from the database, whenever it last asked)."""
        with self._lock:
            if not ask and time.monotonic() - self._asked < self.recheck_seconds:
                return self._holding
            self._asked = time.monotonic()
            try:
                holding = run_transaction(
                    self.engine,
                    lambda conn: coordination_repo.hold_lease(
                        conn, self.name, owner=self.owner, now=self.clock.now(), ttl=timedelta(seconds=self.ttl)
                    ),
                )
            except Exception:  # noqa: BLE001 - the database is away: stop the work until it answers again
                log.warning("could not renew lease %s; stopping its work until the database answers", self.name)
                holding = False
            if holding != self._holding:
                log.info("lease %s %s by %s", self.name, "taken" if holding else "lost", self.owner)
            self._holding = holding
            return holding

    def release(self) -> None:
        with self._lock:
            if not self._holding:
                return
            self._holding = False
            self._asked = -float("inf")
        try:
            run_transaction(
                self.engine,
                lambda conn: coordination_repo.release_lease(conn, self.name, owner=self.owner, now=self.clock.now()),
            )
        except Exception:  # noqa: BLE001 - it runs out on its own
            log.warning("could not release lease %s; it runs out in %s s", self.name, self.ttl)
