"""Orders against the ledger: every order line's allocated units must be exactly its open allocations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

Key = tuple[str, str]  # (order id, component sku)


@dataclass(frozen=True, slots=True)
class OrderDifference:
    order_id: str
    sku: str
    line_units: int
    open_allocations: int


def compare_order_allocations(
    line_units: Mapping[Key, int], open_allocations: Mapping[Key, int]
) -> list[OrderDifference]:
    """``line_units``: units the orders' lines say are allocated, per (order, component SKU);
    ``open_allocations``: what the ledger's open allocations of those orders hold."""
    out = []
    for key in sorted(set(line_units) | set(open_allocations)):
        have, want = line_units.get(key, 0), open_allocations.get(key, 0)
        if have != want:
            out.append(OrderDifference(key[0], key[1], have, want))
    return out
