"""Time is injected, never read from the wall inside the core, and always UTC-aware."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock tests move by hand, so TTL expiry is exact rather than slept for."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now = self._now + timedelta(seconds=seconds)


def ensure_utc(value: datetime) -> datetime:
    """Reject naive datetimes: a time without a zone is a bug waiting for a DST change."""
    if value.tzinfo is None:
        raise ValueError("naive datetime; Seamline stores UTC-aware times only")
    return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """The wire form of a time: ISO 8601 in UTC with a ``Z``, as every API answer and event carries it."""
    return ensure_utc(value).isoformat().replace("+00:00", "Z")
