"""Small inline SVG charts: the geometry of a sparkline over a time window, computed here, drawn by the
template (a polyline per unbroken run of values; no script, no library)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

WIDTH = 320
HEIGHT = 64
PAD = 4
TOP = 16  # room for the label above the line


@dataclass(frozen=True)
class Sparkline:
    lines: list[str] = field(default_factory=list)  # "x,y x,y ..." per unbroken run
    dots: list[tuple[float, float]] = field(default_factory=list)  # single points between gaps
    top: float = 0.0  # the value at the top of the chart
    last: float | None = None
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def empty(self) -> bool:
        return not self.lines and not self.dots


def sparkline(
    points: Sequence[tuple[datetime, float | None]],
    *,
    start: datetime,
    end: datetime,
    floor_top: float = 1.0,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Sparkline:
    """Place ``(time, value)`` points between ``start`` and ``end``; None breaks the line."""
    span = max((end - start).total_seconds(), 1e-9)
    values = [v for _, v in points if v is not None]
    top = max([floor_top, *values])
    runs: list[list[tuple[float, float]]] = [[]]
    for at, value in points:
        if value is None or at < start:
            if runs[-1]:
                runs.append([])
            continue
        x = PAD + (width - 2 * PAD) * min(1.0, (at - start).total_seconds() / span)
        y = height - PAD - (height - PAD - TOP) * (value / top if top else 0.0)
        runs[-1].append((round(x, 1), round(y, 1)))
    lines = [" ".join(f"{x},{y}" for x, y in run) for run in runs if len(run) > 1]
    dots = [run[0] for run in runs if len(run) == 1]
    return Sparkline(lines, dots, top, values[-1] if values else None, width, height)
