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


class TokenBucket:
    def __init__(self, rate: float, burst: float | None = None, now: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("a token bucket needs a positive rate")
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate)
        self._tokens = self.capacity
        self._now = now
        self._stamp = now()
        self._blocked_until = 0.0
        self._lock = threading.Lock()

    def _refill(self) -> float:
        now = self._now()
        if now < self._blocked_until:
            self._stamp = now
            return now
        self._tokens = min(self.capacity, self._tokens + (now - max(self._stamp, self._blocked_until)) * self.rate)
        self._stamp = now
        return now

    def take(self, wanted: int) -> int:
        """Take up to ``wanted`` whole tokens; answers how many were granted (possibly 0)."""
        with self._lock:
            now = self._refill()
            if now < self._blocked_until:
                return 0
            granted = min(wanted, int(self._tokens))
            self._tokens -= granted
            return granted

    def give_back(self, count: int) -> None:
        with self._lock:
            self._tokens = min(self.capacity, self._tokens + count)

    def wait_time(self) -> float:
        """Seconds until at least one token is available."""
        with self._lock:
            now = self._refill()
            if now < self._blocked_until:
                return self._blocked_until - now
            return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate

    def observe(self, budget: Budget) -> None:
        """Adopt the platform's own view: it knows other clients' use of the same account."""
        with self._lock:
            self._refill()
            if budget.per_second > 0:
                self.rate = budget.per_second
            self._tokens = max(0.0, min(self.capacity, budget.remaining))

    def pause(self, seconds: float) -> None:
        """Retry-After: no tokens at all until then."""
        with self._lock:
            self._refill()
            self._tokens = 0.0
            self._blocked_until = max(self._blocked_until, self._now() + seconds)
