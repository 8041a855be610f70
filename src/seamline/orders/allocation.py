"""Allocation planning: which source locations give each order line its units, decided on a snapshot of
what is available. The store then applies the plan with one conditional statement per balance row, so a
plan made on stale numbers fails safe rather than oversells.

Rules (DESIGN 4.4, 5):
- Sources are tried in the channel's order. A line comes whole from the first source that has it all.
- Only a channel with ``allow_split`` may take one line from several locations.
- A prepack line is allocated in whole packs, each pack's component units from one location.
- Lines are served in line order; a line that cannot be served whole takes what it can (the rest is
  backordered, or the whole order rejected, by the channel's shortage policy).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from seamline.domain.errors import FieldError, InvalidInput, ShortLine
from seamline.ledger.atp import ChannelPolicy, usable_rows
from seamline.orders.model import LineState

Take = tuple[str, str, int]  # (component sku, location, units)
Components = tuple[tuple[str, int], ...]  # ((component sku, units per line unit), ...)


@dataclass(frozen=True, slots=True)
class DemandLine:
    """An order line still to allocate: ``qty`` line units, each made of ``components``."""

    line_no: int
    sku: str
    qty: int
    components: Components


@dataclass(slots=True)
class LinePlan:
    line_no: int
    sku: str
    wanted: int
    units: int = 0
    takes: list[Take] = field(default_factory=list)


@dataclass(slots=True)
class AllocationPlan:
    lines: list[LinePlan]
    bounds: dict[int, str] = field(default_factory=dict)  # line number -> the policy bound that left it short

    @property
    def complete(self) -> bool:
        return all(line.units == line.wanted for line in self.lines)

    @property
    def allocated_units(self) -> int:
        return sum(line.units for line in self.lines)

    def takes(self) -> list[Take]:
        """Every (sku, location) to commit, netted and in the fixed row order that avoids deadlocks."""
        return net(take for line in self.lines for take in line.takes)

    def shortages(self) -> list[ShortLine]:
        return [
            ShortLine(line.sku, line.wanted, line.units, None, self.bounds.get(line.line_no))
            for line in self.lines
            if line.units < line.wanted
        ]


def net(takes: Iterable[Take]) -> list[Take]:
    total: dict[tuple[str, str], int] = defaultdict(int)
    for sku, location, qty in takes:
        total[(sku, location)] += qty
    return sorted((sku, loc, qty) for (sku, loc), qty in total.items() if qty)


def component_demand(lines: Iterable[DemandLine]) -> dict[str, int]:
    """Units per component SKU, summed across lines that share a component."""
    demand: dict[str, int] = defaultdict(int)
    for line in lines:
        for sku, units in line.components:
            demand[sku] += line.qty * units
    return dict(demand)


def plan_allocation(
    lines: Sequence[DemandLine],
    sources: Sequence[str],
    available: Mapping[tuple[str, str], int],
    *,
    allow_split: bool,
) -> AllocationPlan:
    """Plan every line against ``available`` ((sku, location) -> units), never promising a unit twice."""
    left: dict[tuple[str, str], int] = {key: max(0, qty) for key, qty in available.items()}

    def capacity(components: Components, location: str) -> int:
        return min(left.get((sku, location), 0) // units for sku, units in components)

    def take(plan: LinePlan, components: Components, location: str, count: int) -> None:
        for sku, units in components:
            left[(sku, location)] = left.get((sku, location), 0) - count * units
            plan.takes.append((sku, location, count * units))
        plan.units += count

    plans: list[LinePlan] = []
    for line in lines:
        plan = LinePlan(line.line_no, line.sku, line.qty)
        plans.append(plan)
        whole = next((loc for loc in sources if capacity(line.components, loc) >= line.qty), None)
        if whole is not None:
            take(plan, line.components, whole, line.qty)
        elif allow_split:
            for location in sources:
                count = min(line.qty - plan.units, capacity(line.components, location))
                if count:
                    take(plan, line.components, location, count)
        else:
            # One location only: the one that can give the most (the earlier source on a tie).
            best = max(sources, key=lambda loc: (capacity(line.components, loc), -sources.index(loc)), default=None)
            if best is not None and capacity(line.components, best) > 0:
                take(plan, line.components, best, capacity(line.components, best))
    return AllocationPlan(plans)


def plan_channel_allocation(
    lines: Sequence[DemandLine],
    policy: ChannelPolicy | None,
    all_fences: Sequence[ChannelPolicy],
    sources: Sequence[str],
    available: Mapping[tuple[str, str], int],
    *,
    allow_split: bool,
) -> AllocationPlan:
    """Plan an order the channel already took (DESIGN 4.4): it may use the channel's own safety stock, never
    what other channels' ring-fences keep at its sources. A line short of that is short with its bound:
    ``ring_fence`` when the raw stock would have served it, else ``sources``."""
    usable = dict(available)
    if policy is not None:
        usable.update(usable_rows(policy, component_demand(lines), available, all_fences))
    plan = plan_allocation(lines, sources, usable, allow_split=allow_split)
    if plan.complete:
        return plan
    raw = {
        line.line_no: line.units for line in plan_allocation(lines, sources, available, allow_split=allow_split).lines
    }
    plan.bounds = {
        line.line_no: "ring_fence" if raw[line.line_no] >= line.wanted else "sources"
        for line in plan.lines
        if line.units < line.wanted
    }
    return plan


def hold_covers_exactly(lines: Iterable[DemandLine], held: Iterable[Take]) -> bool:
    """A hold turns into an order's allocations only when it holds exactly the order's component units."""
    have: dict[str, int] = defaultdict(int)
    for sku, _, qty in held:
        have[sku] += qty
    return dict(have) == component_demand(lines)


def plan_pick(lines: Sequence[LineState], requested: Sequence[tuple[str, int]] | None) -> dict[int, int]:
    """Line number -> units to pick. ``None`` picks everything allocated.

    A requested SKU is drawn from the order's lines of that SKU in line order; asking for more than is
    allocated, or for a SKU the order does not have, is refused whole.
    """
    if requested is None:
        return {line.line_no: line.allocated for line in lines if line.allocated}
    errors: list[FieldError] = []
    picks: dict[int, int] = defaultdict(int)
    remaining = {line.line_no: line.allocated for line in lines}
    unknown = over = False
    for i, (sku, qty) in enumerate(requested):
        mine = [line for line in lines if line.sku == sku]
        if not mine:
            errors.append(FieldError(f"lines[{i}].sku", f"the order has no line for {sku}"))
            unknown = True
            continue
        want = qty
        for line in mine:
            part = min(want, remaining[line.line_no])
            picks[line.line_no] += part
            remaining[line.line_no] -= part
            want -= part
        if want:
            allocated = sum(line.allocated for line in mine)
            errors.append(FieldError(f"lines[{i}].qty", f"{qty} asked, {allocated} of {sku} allocated and unpicked"))
            over = True
    if unknown and not over:
        raise InvalidInput("the order has no such lines", errors, code="sku-not-on-order")
    if over and not unknown:
        raise InvalidInput("cannot pick more than is allocated", errors, code="pick-exceeds-allocation")
    if errors:
        raise InvalidInput("cannot pick these lines", errors)
    return {no: qty for no, qty in picks.items() if qty}


def draw_allocations(
    open_allocations: Sequence[tuple[int, str, str, int]], needs: Mapping[str, int]
) -> list[tuple[int, int]]:
    """Which open allocations ((id, sku, location, qty), oldest first) a pick of ``needs`` (sku -> units)
    consumes, as (allocation id, units). The caller has checked the units are allocated."""
    out: list[tuple[int, int]] = []
    wanted = dict(needs)
    for alloc_id, sku, _location, qty in open_allocations:
        need = wanted.get(sku, 0)
        if need <= 0:
            continue
        part = min(need, qty)
        out.append((alloc_id, part))
        wanted[sku] = need - part
    missing = {sku: qty for sku, qty in wanted.items() if qty > 0}
    if missing:
        raise AssertionError(f"order allocations do not cover the pick: {missing}")
    return out
