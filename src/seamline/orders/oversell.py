"""Oversell exceptions (DESIGN 4.3): only goods that physically left (a forced POS sale, a count) may drive
``on_hand`` below what is promised. Each such case names the orders now short."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ShortAllocation:
    allocation_id: int
    document: str
    units_short: int


def oversold_units(moved: int, on_hand: int, committed: int, reserved: int) -> int:
    """Units of this movement that were promised elsewhere: the part of it that pushed available below 0."""
    return max(0, min(moved, committed + reserved - on_hand))


def short_allocations(
    on_hand: int, open_allocations_newest_first: Sequence[tuple[int, str, int]]
) -> list[ShortAllocation]:
    """The allocations no longer backed by stock, newest first: the last promise made is the one broken.

    ``open_allocations_newest_first`` is (allocation id, document, qty) for one (sku, location)."""
    shortfall = sum(qty for _, _, qty in open_allocations_newest_first) - max(0, on_hand)
    out: list[ShortAllocation] = []
    for alloc_id, document, qty in open_allocations_newest_first:
        if shortfall <= 0:
            break
        part = min(qty, shortfall)
        out.append(ShortAllocation(alloc_id, document, part))
        shortfall -= part
    return out
