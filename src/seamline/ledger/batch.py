"""Deciding a batch of hold requests in memory, in arrival order (group commit, DESIGN 11).

The database work of a batch is: lock the rows it touches, read them once, let this module decide every
request against the running balance exactly as the one-at-a-time path would, then write one net change per
row. Each request keeps its own all-or-nothing answer; a request that cannot be served leaves the running
balance as it found it, so it never fails its neighbours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass

from seamline.domain.errors import ShortLine
from seamline.ledger.atp import ChannelPolicy, usable_rows

Key = tuple[str, str]  # (sku, location)


@dataclass(frozen=True, slots=True)
class ChannelRule:
    """The bounds a channel's policy puts on a hold (DESIGN 4.4): only its sources, never what other
    channels' ring-fences keep there, never its own safety stock (orders: ``plan_channel_allocation``)."""

    policy: ChannelPolicy
    fences: tuple[ChannelPolicy, ...]  # every channel with a ring-fence (the policy's own is skipped)


@dataclass(frozen=True, slots=True)
class Demand:
    """One request's demand after validation: units per (sku, location), location None = "from the sources"."""

    lines: tuple[tuple[str, str | None, int], ...]
    sources: tuple[str, ...] = ()
    allow_split: bool = False
    rule: ChannelRule | None = None


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
            if demand.rule is not None:  # the channel bound reads every source of the SKU
                rows.update((sku, source) for source in demand.rule.policy.sources)
    return rows


def decide(available: MutableMapping[Key, int], demand: Demand) -> Granted | Short:
    """Serve ``demand`` from ``available`` (updated in place only when the whole request is granted).

    The same rules as the one-at-a-time path: lines in (sku, location) order; an explicit location must
    have the line; an unlocated line takes the first source with all of it, else (when the channel allows
    splitting) parts in source order. Under a channel rule a line may take at each source only what other
    channels' ring-fences do not keep there, and a hold must leave the channel's safety stock over its
    sources: the same numbers ``ledger.atp.channel_atp`` publishes, checked on the locked rows.
    """
    rule = demand.rule
    taken_at: dict[Key, int] = {}
    cap: dict[Key, int] = {}
    if rule is not None:
        cap = usable_rows(rule.policy, {line[0] for line in demand.lines}, available, rule.fences)

    def raw(key: Key) -> int:
        return available.get(key, 0) - taken_at.get(key, 0)

    def have(key: Key) -> int:
        if rule is None:
            return raw(key)
        return cap.get(key, 0) - taken_at.get(key, 0)

    def serves(get: Callable[[Key], int], sku: str, qty: int) -> bool:
        if any(get((sku, src)) >= qty for src in demand.sources):
            return True
        return demand.allow_split and sum(max(0, get((sku, src))) for src in demand.sources) >= qty

    def bound(served_raw: bool) -> str | None:
        if rule is None:
            return None
        return "ring_fence" if served_raw else "sources"

    taken: list[tuple[str, str, int]] = []
    short: list[ShortLine] = []
    short_skus: set[str] = set()
    for sku, location, qty in sorted(demand.lines, key=lambda line: (line[0], line[1] or "")):
        if location is not None:
            if have((sku, location)) >= qty:
                taken_at[(sku, location)] = taken_at.get((sku, location), 0) + qty
                taken.append((sku, location, qty))
            else:
                short.append(
                    ShortLine(sku, qty, max(0, have((sku, location))), location, bound(raw((sku, location)) >= qty))
                )
                short_skus.add(sku)
            continue
        whole = next((src for src in demand.sources if have((sku, src)) >= qty), None)
        if whole is not None:
            taken_at[(sku, whole)] = taken_at.get((sku, whole), 0) + qty
            taken.append((sku, whole, qty))
            continue
        pooled = sum(max(0, have((sku, src))) for src in demand.sources)
        if demand.allow_split and pooled >= qty:
            remaining = qty
            for src in demand.sources:
                part = min(remaining, max(0, have((sku, src))))
                if part:
                    taken_at[(sku, src)] = taken_at.get((sku, src), 0) + part
                    taken.append((sku, src, part))
                    remaining -= part
                if remaining == 0:
                    break
            continue
        if rule is not None:
            pooled = max(0, pooled - rule.policy.safety_for(sku))
        short.append(ShortLine(sku, qty, pooled, None, bound(serves(raw, sku, qty))))
        short_skus.add(sku)
    if rule is not None:
        short.extend(_safety_shorts(rule.policy, demand, cap, taken_at, short_skus))
    if short:
        return Short(tuple(short))
    for key, units in taken_at.items():
        available[key] = available.get(key, 0) - units
    return Granted(tuple(sorted(taken)))


def _safety_shorts(
    policy: ChannelPolicy, demand: Demand, cap: Mapping[Key, int], taken_at: Mapping[Key, int], skip: set[str]
) -> list[ShortLine]:
    """A hold is bounded by the channel's ATP: after it, the channel's sources must still have its safety
    stock (beyond other channels' fences). Orders the channel already took may dip into it; holds may not."""
    out: list[ShortLine] = []
    wanted: dict[str, int] = {}
    for sku, _, qty in demand.lines:
        wanted[sku] = wanted.get(sku, 0) + qty
    for sku in sorted(wanted):
        safety = policy.safety_for(sku)
        if sku in skip or safety <= 0:
            continue
        before = sum(cap.get((sku, loc), 0) for loc in policy.sources)
        after = before - sum(taken_at.get((sku, loc), 0) for loc in policy.sources)
        if after < safety:
            out.append(ShortLine(sku, wanted[sku], max(0, before - safety), None, "safety_stock"))
    return out


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
