"""Shopify's calculated-query-cost rate limit: a leaky bucket per (app, shop) that a request must find its
requested cost in, refunded down to the actual cost afterwards, refilled at ``restoreRate`` points per
second. Time comes from an injected clock so tests move it by hand."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock only ``advance`` moves: the sandbox and a client sharing one never really wait."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)


@dataclass
class CostBucket:
    maximum: float
    restore_rate: float
    available: float
    stamp: datetime

    def refill(self, now: datetime) -> None:
        elapsed = max(0.0, (now - self.stamp).total_seconds())
        self.available = min(self.maximum, self.available + elapsed * self.restore_rate)
        self.stamp = now

    def status(self) -> dict[str, Any]:
        return {
            "maximumAvailable": float(self.maximum),
            "currentlyAvailable": float(int(self.available)),
            "restoreRate": float(self.restore_rate),
        }
