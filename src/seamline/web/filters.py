"""Template filters: durations, times, percentages and counts the way an operator reads them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jinja2

DASH = "—"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _when(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def clock(value: datetime | str | None) -> str:
    when = _when(value)
    return DASH if when is None else when.strftime("%H:%M:%S")


def stamp(value: datetime | str | None) -> str:
    when = _when(value)
    return DASH if when is None else when.strftime("%Y-%m-%d %H:%M:%S")


def pct(value: float | None, digits: int = 1) -> str:
    return DASH if value is None else f"{value * 100:.{digits}f} %"


def num(value: Any) -> str:
    if value is None:
        return DASH
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{int(value):,}"


def short(value: str | None, length: int = 12) -> str:
    if not value:
        return DASH
    return value if len(value) <= length else value[:length] + "…"


def plural(count: int, noun: str) -> str:
    return f"{num(count)} {noun}{'' if count == 1 else 's'}"


def install(env: jinja2.Environment) -> None:
    env.filters.update(duration=duration, clock=clock, stamp=stamp, pct=pct, num=num, short=short, plural=plural)
