"""Balances are a projection; reconcile recomputes them from movements and holds and lists every gap."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Key = tuple[str, str]  # (sku, location)


@dataclass(frozen=True, slots=True)
class Difference:
    sku: str
    location: str
    field: str
    stored: int
    expected: int


def compare_balances(
    stored: Mapping[Key, tuple[int, int, int]],
    movements: Iterable[tuple[str, str, str, int]],
    live_holds: Mapping[Key, int],
    open_allocations: Mapping[Key, int],
) -> list[Difference]:
    """``stored`` maps (sku, location) to (on_hand, committed, reserved).

    ``movements`` are (sku, from, to, qty). Returns every field whose stored value disagrees with the
    value rebuilt from history, in a stable order.
    """
    on_hand: dict[Key, int] = {}
    for sku, src, dst, qty in movements:
        on_hand[(sku, src)] = on_hand.get((sku, src), 0) - qty
        on_hand[(sku, dst)] = on_hand.get((sku, dst), 0) + qty
    keys = sorted(set(stored) | set(on_hand) | set(live_holds) | set(open_allocations))
    out: list[Difference] = []
    for key in keys:
        s_on, s_com, s_res = stored.get(key, (0, 0, 0))
        for name, have, want in (
            ("on_hand", s_on, on_hand.get(key, 0)),
            ("committed", s_com, open_allocations.get(key, 0)),
            ("reserved", s_res, live_holds.get(key, 0)),
        ):
            if have != want:
                out.append(Difference(key[0], key[1], name, have, want))
    return out
