"""Shopify's calculated-query-cost rate limit: a leaky bucket per (app, shop) that a request must find its
requested cost in, refunded down to the actual cost afterwards, refilled at ``restoreRate`` points per
second. Time comes from an injected clock so tests move it by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


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
