"""Limits that hold across every process of an installation, kept in the database: a platform counts calls
per account, not per process, so N processes with a bucket each would send N times the allowed rate.

``SharedTokenBucket`` has ``TokenBucket``'s interface and arithmetic (``BucketState``); each call is one
short transaction on the bucket's row.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from typing import TypeVar

from sqlalchemy import Connection, Engine

from seamline.integration.retry import BucketState, Budget
from seamline.store import coordination_repo
from seamline.store.db import run_transaction

T = TypeVar("T")


class SharedTokenBucket:
    def __init__(
        self, engine: Engine, name: str, rate: float, burst: float | None = None, now: Callable[[], float] = time.time
    ) -> None:
        if rate <= 0:
            raise ValueError("a token bucket needs a positive rate")
        self.engine = engine
        self.name = name
        self.capacity = burst if burst is not None else max(1.0, rate)
        self._initial_rate = rate
        self._now = now
        self._rate = rate

    @property
    def rate(self) -> float:
        return self._rate

    def _apply(self, change: Callable[[BucketState, float], T]) -> T:
        def work(conn: Connection) -> T:
            now = self._now()
            initial = {"rate": self._initial_rate, "capacity": self.capacity, "tokens": self.capacity}
            stored = coordination_repo.lock_bucket(conn, self.name, {**initial, "stamp": now, "blocked_until": 0.0})
            state = BucketState(**{**stored, "capacity": self.capacity})  # the configured burst wins
            answer = change(state, now)
            coordination_repo.save_bucket(conn, self.name, asdict(state))
            self._rate = state.rate
            return answer

        return run_transaction(self.engine, work)

    def take(self, wanted: int) -> int:
        """Take up to ``wanted`` whole tokens from the shared bucket; answers how many were granted."""
        return self._apply(lambda state, now: state.take(wanted, now))

    def give_back(self, count: int) -> None:
        if count > 0:
            self._apply(lambda state, _now: state.give_back(count))

    def wait_time(self) -> float:
        """Seconds until a token is there, from the bucket as stored: a read, no lock and nothing written
        (the dispatcher asks on every idle turn; refilling is arithmetic on the time, not state)."""
        stored = run_transaction(self.engine, lambda conn: coordination_repo.read_bucket(conn, self.name), write=False)
        if stored is None:
            return 0.0
        state = BucketState(**{**stored, "capacity": self.capacity})
        return state.wait_time(self._now())

    def observe(self, budget: Budget) -> None:
        self._apply(lambda state, now: state.observe(budget, now))

    def pause(self, seconds: float) -> None:
        self._apply(lambda state, now: state.pause(seconds, now))
