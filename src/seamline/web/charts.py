"""Small inline SVG charts: the geometry of a sparkline over a time window, with its axes, computed here,
drawn by the template (a polyline per unbroken run of values; no script, no library)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

WIDTH = 320
HEIGHT = 96
LEFT = 40  # room for the value axis' labels
RIGHT = 8
TOP = 8
BOTTOM = 18  # room for the time axis' labels


@dataclass(frozen=True)
class Sparkline:
    lines: list[str] = field(default_factory=list)  # "x,y x,y ..." per unbroken run
    dots: list[tuple[float, float]] = field(default_factory=list)  # single points between gaps
    top: float = 0.0  # the value at the top of the value axis (the scale; at least ``floor_top``)
    peak: float = 0.0  # the highest value drawn: 0 when there is none
    last: float | None = None
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    plot_top: int = TOP
    baseline: int = HEIGHT - BOTTOM

    @property
    def empty(self) -> bool:
        return not self.lines and not self.dots

    @property
    def all_zero(self) -> bool:
        """Nothing but zeros: drawn as a quiet baseline, never as an alarm."""
        return self.peak == 0


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
    values = [v for at, v in points if v is not None and at >= start]
    peak = max(values, default=0.0)
    top = max(floor_top, peak)
    right, baseline = width - RIGHT, height - BOTTOM
    runs: list[list[tuple[float, float]]] = [[]]
    for at, value in points:
        if value is None or at < start:
            if runs[-1]:
                runs.append([])
            continue
        x = LEFT + (right - LEFT) * min(1.0, (at - start).total_seconds() / span)
        y = baseline - (baseline - TOP) * (value / top if top else 0.0)
        runs[-1].append((round(x, 1), round(y, 1)))
    lines = [" ".join(f"{x},{y}" for x, y in run) for run in runs if len(run) > 1]
    dots = [run[0] for run in runs if len(run) == 1]
    return Sparkline(lines, dots, top, peak, values[-1] if values else None, width, height, LEFT, right, TOP, baseline)
