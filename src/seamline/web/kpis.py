"""The KPI history behind the dashboard's charts: a sample every half business-minute, kept in memory for
this process (the last hour and a little more). Counters are read incrementally (movements and failures
past the last id seen), so a sample costs the same on a day-old database as on a fresh one.

Times are business time (the application's clock); latencies are converted to wall seconds with
``wall_seconds(start, end)`` (the plain difference in production; the demo's simulated clock knows better).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from seamline.service import Seamline
from seamline.service.background import BackgroundLoop
from seamline.store import dashboard_repo, outbox_repo

log = logging.getLogger("seamline.web")

SAMPLE_EVERY = timedelta(seconds=30)
LAG_WINDOW = timedelta(minutes=5)
HISTORY = timedelta(minutes=75)
MIN_WALL_SECONDS = 0.25


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(p * len(ordered))))
    return ordered[rank - 1]


@dataclass(frozen=True)
class KpiSample:
    at: datetime
    sold_units: int  # since the previous sample
    oversold_units: int  # since the previous sample
    sold_total: int
    oversold_total: int
    lag_p50: float | None  # wall seconds, events of the last LAG_WINDOW
    lag_p99: float | None
    delivered: int  # in the last LAG_WINDOW
    settled: int  # delivered or dead-lettered in the last LAG_WINDOW
    first_try: int  # delivered on the first attempt in the last LAG_WINDOW
    failed_attempts: int  # since the previous sample
    dead_letters: int
    dead_letter_oldest_seconds: float | None  # business seconds

    @property
    def oversell_rate(self) -> float | None:
        return None if self.sold_units == 0 else self.oversold_units / self.sold_units

    @property
    def posting_success(self) -> float | None:
        return None if self.settled == 0 else self.delivered / self.settled


class KpiHistory:
    def __init__(self, service: Seamline, wall_seconds: Callable[[datetime, datetime], float]) -> None:
        self.service = service
        self.wall_seconds = wall_seconds
        self._samples: deque[KpiSample] = deque()
        self._lock = threading.Lock()
        self._movement_cursor: int | None = None
        self._failure_cursor: int | None = None
        self._sold_total = 0
        self._oversold_total: int | None = None
        self._last_wall = 0.0
        self._loop = BackgroundLoop(
            "seamline-kpis", self._sample, first_wait=MIN_WALL_SECONDS, join_timeout=5, logger=log
        )

    # ------------------------------------------------------------------ sampling
    def sample(self) -> KpiSample:
        with self._lock:
            now = self.service.clock.now()
            taken = self.service.read(lambda conn: self._measure(conn, now))
            self._samples.append(taken)
            while self._samples and self._samples[0].at < now - HISTORY:
                self._samples.popleft()
            self._last_wall = time.monotonic()
            return taken

    def _measure(self, conn: Connection, now: datetime) -> KpiSample:
        first = self._movement_cursor is None
        self._movement_cursor, sold = dashboard_repo.sold_units_after(conn, self._movement_cursor or 0)
        self._failure_cursor, failed = dashboard_repo.failed_attempts_after(conn, self._failure_cursor or 0)
        oversold_total = dashboard_repo.oversold_units_total(conn)
        oversold = 0 if self._oversold_total is None else oversold_total - self._oversold_total
        self._oversold_total = oversold_total
        self._sold_total += sold
        if first:  # the first sample is the baseline: history before this process started is not one interval
            sold, oversold, failed = 0, 0, 0
        lags: list[float] = []
        delivered = settled = first_try = 0
        for row in dashboard_repo.deliveries_since(conn, now - LAG_WINDOW):
            if row["status"] == "delivered" and row["delivered_at"] is not None:
                delivered += 1
                settled += 1
                first_try += int(row["attempts"] <= 1)
                lags.append(max(0.0, self.wall_seconds(row["created_at"], row["delivered_at"])))
            elif row["status"] == "dead":
                settled += 1
        depth = outbox_repo.dead_letter_depth(conn)
        oldest = [at for _, at in depth.values() if at is not None]
        return KpiSample(
            at=now,
            sold_units=sold,
            oversold_units=oversold,
            sold_total=self._sold_total,
            oversold_total=oversold_total,
            lag_p50=percentile(lags, 0.5),
            lag_p99=percentile(lags, 0.99),
            delivered=delivered,
            settled=settled,
            first_try=first_try,
            failed_attempts=failed,
            dead_letters=sum(count for count, _ in depth.values()),
            dead_letter_oldest_seconds=(now - min(oldest)).total_seconds() if oldest else None,
        )

    def maybe_sample(self) -> None:
        """Sample when half a business minute has passed since the last one (and a quarter of a wall second,
        so a fast simulated clock does not turn this into a busy loop)."""
        with self._lock:
            last = self._samples[-1].at if self._samples else None
            wall_ok = time.monotonic() - self._last_wall >= MIN_WALL_SECONDS
        if last is None or (wall_ok and self.service.clock.now() - last >= SAMPLE_EVERY):
            self.sample()

    def fresh(self, max_wall_age: float = 3.0) -> None:
        """Sample now unless the last sample is younger than ``max_wall_age`` wall seconds: the KPI page's
        headline numbers are current, and its refreshes cannot turn into a sample storm."""
        with self._lock:
            young = bool(self._samples) and time.monotonic() - self._last_wall < max_wall_age
        if not young:
            self.sample()

    def samples(self, window: timedelta = timedelta(hours=1)) -> list[KpiSample]:
        with self._lock:
            if not self._samples:
                return []
            since = self._samples[-1].at - window
            return [s for s in self._samples if s.at >= since]

    # ------------------------------------------------------------------ the background sampler
    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()

    def _sample(self) -> float:
        try:
            self.maybe_sample()
        except Exception:  # noqa: BLE001 - a missed sample is a gap in a chart, not a reason to stop
            log.warning("could not sample the KPIs", exc_info=True)
        return MIN_WALL_SECONDS
