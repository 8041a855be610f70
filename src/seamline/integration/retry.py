"""Retry policy and rate limits: exponential backoff with jitter, and a token bucket a connector can correct
with the platform's live budget (Shopify's cost bucket, Amazon's request rate)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    base_seconds: float = 1.0
    cap_seconds: float = 600.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Delay before retry number ``attempt`` (1 after the first failure): base * 2^(attempt-1), capped,
        with "equal jitter" (between half and all of it) so retries spread out but still grow."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempt - 1))
        return rng.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class Budget:
    """A platform's live rate budget as it reports it: tokens left now and how fast they come back."""

    remaining: float
    per_second: float


@dataclass
class BucketState:
    """A token bucket's arithmetic, apart from where it lives (a process's memory, or a database row that
    every process of an installation shares) and what its clock is. ``now`` is in seconds."""

    rate: float
    capacity: float
    tokens: float
    stamp: float
    blocked_until: float = 0.0

    def refill(self, now: float) -> None:
        if now >= self.blocked_until:
            self.tokens = min(self.capacity, self.tokens + (now - max(self.stamp, self.blocked_until)) * self.rate)
        self.stamp = now

    def take(self, wanted: int, now: float) -> int:
        self.refill(now)
        if now < self.blocked_until:
            return 0
        granted = max(0, min(wanted, int(self.tokens)))
        self.tokens -= granted
        return granted

    def give_back(self, count: int) -> None:
        self.tokens = min(self.capacity, self.tokens + count)

    def wait_time(self, now: float) -> float:
        self.refill(now)
        if now < self.blocked_until:
            return self.blocked_until - now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def observe(self, budget: Budget, now: float) -> None:
        self.refill(now)
        if budget.per_second > 0:
            self.rate = budget.per_second
        self.tokens = max(0.0, min(self.capacity, budget.remaining))

    def pause(self, seconds: float, now: float) -> None:
        self.refill(now)
        self.tokens = 0.0
        self.blocked_until = max(self.blocked_until, now + seconds)


class TokenBucket:
    """A bucket in this process's memory."""

    def __init__(self, rate: float, burst: float | None = None, now: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("a token bucket needs a positive rate")
        capacity = burst if burst is not None else max(1.0, rate)
        self._now = now
        self._state = BucketState(rate, capacity, capacity, now())
        self._lock = threading.Lock()

    @property
    def rate(self) -> float:
        return self._state.rate

    @property
    def capacity(self) -> float:
        return self._state.capacity

    def take(self, wanted: int) -> int:
        """Take up to ``wanted`` whole tokens; answers how many were granted (possibly 0)."""
        with self._lock:
            return self._state.take(wanted, self._now())

    def give_back(self, count: int) -> None:
        with self._lock:
            self._state.give_back(count)

    def wait_time(self) -> float:
        """Seconds until at least one token is available."""
        with self._lock:
            return self._state.wait_time(self._now())

    def observe(self, budget: Budget) -> None:
        """Adopt the platform's own view: it knows other clients' use of the same account."""
        with self._lock:
            self._state.observe(budget, self._now())

    def pause(self, seconds: float) -> None:
        """Retry-After: no tokens at all until then."""
        with self._lock:
            self._state.pause(seconds, self._now())
