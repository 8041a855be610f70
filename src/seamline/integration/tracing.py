"""The business transaction id (DESIGN 8 tracing): bound per request or message, read by the outbox when it
writes events and by the log filter, so one id ties an HTTP call, its movements, events, deliveries and logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from seamline.domain.ids import random_hex

_current: ContextVar[str | None] = ContextVar("seamline_trace_id", default=None)


def bind(trace_id: str | None) -> None:
    """Make ``trace_id`` the current one for this context (a request's task, a worker's message)."""
    _current.set(trace_id)


def current() -> str | None:
    return _current.get()


def new_trace_id() -> str:
    return random_hex()


@contextmanager
def traced(trace_id: str | None) -> Iterator[str | None]:
    token = _current.set(trace_id)
    try:
        yield trace_id
    finally:
        _current.reset(token)


class TraceIdFilter(logging.Filter):
    """Adds ``trace_id`` to every record (from ``extra`` if given, else the bound one) for structured logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "trace_id", None):
            record.trace_id = current() or "-"
        return True
