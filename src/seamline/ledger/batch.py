"""Deciding a batch of hold requests in memory, in arrival order (group commit, DESIGN 11).

The database work of a batch is: lock the rows it touches, read them once, let this module decide every
request against the running balance exactly as the one-at-a-time path would, then write one net change per
row. Each request keeps its own all-or-nothing answer; a request that cannot be served leaves the running
balance as it found it, so it never fails its neighbours.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass

from seamline.domain.errors import ShortLine

Key = tuple[str, str]  # (sku, location)


@dataclass(frozen=True, slots=True)
class Demand:
    """One request's demand after validation: units per (sku, location), location None = "from the sources"."""

    lines: tuple[tuple[str, str | None, int], ...]
    sources: tuple[str, ...] = ()
    allow_split: bool = False


@dataclass(frozen=True, slots=True)
class Granted:
    lines: tuple[tuple[str, str, int], ...]  # (sku, location, qty), in (sku, location) order


@dataclass(frozen=True, slots=True)
class Short:
    lines: tuple[ShortLine, ...]


def rows_needed(demands: Iterable[Demand]) -> set[Key]:
    """Every balance row a batch may touch: explicit locations and each unlocated line's sources."""
    rows: set[Key] = set()
    for demand in demands:
        for sku, location, _ in demand.lines:
            if location is not None:
                rows.add((sku, location))
            else:
                rows.update((sku, source) for source in demand.sources)
    return rows


def decide(available: MutableMapping[Key, int], demand: Demand) -> Granted | Short:
    """Serve ``demand`` from ``available`` (updated in place only when the whole request is granted).

    The same rules as the one-at-a-time path: lines in (sku, location) order; an explicit location must
    have the line; an unlocated line takes the first source with all of it, else (when the channel allows
    splitting) parts in source order.
    """
    scratch: dict[Key, int] = {}

    def have(key: Key) -> int:
        return scratch[key] if key in scratch else available.get(key, 0)

    taken: list[tuple[str, str, int]] = []
    short: list[ShortLine] = []
    for sku, location, qty in sorted(demand.lines, key=lambda line: (line[0], line[1] or "")):
        if location is not None:
            if have((sku, location)) >= qty:
                scratch[(sku, location)] = have((sku, location)) - qty
                taken.append((sku, location, qty))
            else:
                short.append(ShortLine(sku, qty, max(0, have((sku, location))), location))
            continue
        whole = next((src for src in demand.sources if have((sku, src)) >= qty), None)
        if whole is not None:
            scratch[(sku, whole)] = have((sku, whole)) - qty
            taken.append((sku, whole, qty))
            continue
        pooled = sum(max(0, have((sku, src))) for src in demand.sources)
        if demand.allow_split and pooled >= qty:
            remaining = qty
            for src in demand.sources:
                part = min(remaining, max(0, have((sku, src))))
                if part:
                    scratch[(sku, src)] = have((sku, src)) - part
                    taken.append((sku, src, part))
                    remaining -= part
                if remaining == 0:
                    break
            continue
        short.append(ShortLine(sku, qty, pooled))
    if short:
        return Short(tuple(short))
    available.update(scratch)
    return Granted(tuple(sorted(taken)))


def decide_all(available: Mapping[Key, int], demands: Sequence[Demand]) -> tuple[list[Granted | Short], dict[Key, int]]:
    """Decide every request in arrival order. Returns the decisions and the net units reserved per row."""
    running = dict(available)
    decisions = [decide(running, demand) for demand in demands]
    net: dict[Key, int] = {}
    for decision in decisions:
        if isinstance(decision, Granted):
            for sku, location, qty in decision.lines:
                net[(sku, location)] = net.get((sku, location), 0) + qty
    return decisions, net
