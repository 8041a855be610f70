"""Allocation planning: sources in order, whole lines first, splits only where allowed, whole packs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.domain.errors import InvalidInput
from seamline.orders.allocation import (
    DemandLine,
    component_demand,
    draw_allocations,
    hold_covers_exactly,
    plan_allocation,
    plan_pick,
)
from seamline.orders.model import LineState

M = "OVS-M"
PACK = DemandLine(1, "PACK", 1, (("OVS-S", 1), (M, 2), ("OVS-L", 2)))


def unit(no: int, qty: int, sku: str = M) -> DemandLine:
    return DemandLine(no, sku, qty, ((sku, 1),))


def test_a_line_comes_whole_from_the_first_source_that_has_it_all() -> None:
    plan = plan_allocation([unit(1, 2)], ["WH", "STORE"], {(M, "WH"): 1, (M, "STORE"): 5}, allow_split=False)
    assert plan.complete
    assert plan.takes() == [(M, "STORE", 2)]


def test_without_split_a_short_line_takes_the_most_one_source_can_give() -> None:
    plan = plan_allocation([unit(1, 5)], ["WH", "STORE"], {(M, "WH"): 1, (M, "STORE"): 3}, allow_split=False)
    assert not plan.complete
    assert plan.takes() == [(M, "STORE", 3)]
    [short] = plan.shortages()
    assert (short.sku, short.requested, short.available) == (M, 5, 3)


def test_with_split_a_line_draws_on_sources_in_order() -> None:
    plan = plan_allocation([unit(1, 3)], ["WH", "STORE"], {(M, "WH"): 1, (M, "STORE"): 2}, allow_split=True)
    assert plan.lines[0].takes == [(M, "WH", 1), (M, "STORE", 2)]


def test_lines_sharing_a_component_never_get_the_same_unit_twice() -> None:
    available = {("OVS-S", "WH"): 1, (M, "WH"): 3, ("OVS-L", "WH"): 2}
    plan = plan_allocation([PACK, unit(2, 2)], ["WH"], available, allow_split=False)
    assert [(line.line_no, line.units) for line in plan.lines] == [(1, 1), (2, 1)]
    assert plan.takes() == [("OVS-L", "WH", 2), (M, "WH", 3), ("OVS-S", "WH", 1)], "netted, in row order"


def test_a_pack_is_allocated_whole_or_not_at_all() -> None:
    available = {("OVS-S", "WH"): 5, (M, "WH"): 5, ("OVS-L", "WH"): 1}
    plan = plan_allocation([PACK], ["WH"], available, allow_split=True)
    assert plan.lines[0].units == 0
    assert plan.takes() == []


def test_each_pack_takes_its_components_from_one_location() -> None:
    available = {("OVS-S", "A"): 1, (M, "A"): 2, ("OVS-L", "A"): 1, ("OVS-S", "B"): 1, (M, "B"): 2, ("OVS-L", "B"): 2}
    plan = plan_allocation([PACK], ["A", "B"], available, allow_split=True)
    assert {loc for _, loc, _ in plan.takes()} == {"B"}


def test_component_demand_sums_across_lines() -> None:
    assert component_demand([PACK, unit(2, 3)]) == {"OVS-S": 1, M: 5, "OVS-L": 2}


def test_a_hold_must_hold_exactly_the_orders_component_units() -> None:
    assert hold_covers_exactly([unit(1, 2)], [(M, "WH", 1), (M, "STORE", 1)])
    assert not hold_covers_exactly([unit(1, 2)], [(M, "WH", 3)])
    assert not hold_covers_exactly([PACK], [(M, "WH", 2)])


@given(
    qtys=st.lists(st.integers(1, 6), min_size=1, max_size=4),
    stock=st.lists(st.integers(-2, 8), min_size=3, max_size=3),
    split=st.booleans(),
)
def test_a_plan_never_promises_more_than_is_available(qtys: list[int], stock: list[int], split: bool) -> None:
    sources = ["A", "B", "C"]
    available = {(M, loc): qty for loc, qty in zip(sources, stock, strict=True)}
    plan = plan_allocation([unit(i, q) for i, q in enumerate(qtys, start=1)], sources, available, allow_split=split)
    for sku, loc, qty in plan.takes():
        assert qty <= max(0, available[(sku, loc)])
    for line, wanted in zip(plan.lines, qtys, strict=True):
        assert 0 <= line.units <= wanted
        assert sum(q for _, _, q in line.takes) == line.units
        if not split:
            assert len({loc for _, loc, _ in line.takes}) <= 1


def test_pick_everything_allocated_by_default() -> None:
    lines = [LineState(1, M, 3, allocated=2), LineState(2, "L", 1)]
    assert plan_pick(lines, None) == {1: 2}


def test_pick_of_a_sku_fills_its_lines_in_order_and_refuses_more_than_allocated() -> None:
    lines = [LineState(1, M, 3, allocated=1), LineState(2, M, 3, allocated=2)]
    assert plan_pick(lines, [(M, 2)]) == {1: 1, 2: 1}
    with pytest.raises(InvalidInput) as caught:
        plan_pick(lines, [(M, 4)])
    assert caught.value.code == "pick-exceeds-allocation"
    assert caught.value.errors[0].field == "lines[0].qty"
    with pytest.raises(InvalidInput) as unknown:
        plan_pick(lines, [("XL", 1)])
    assert unknown.value.code == "sku-not-on-order"


def test_draw_allocations_consumes_the_oldest_first() -> None:
    allocations = [(10, M, "WH", 1), (11, M, "STORE", 2), (12, "L", "WH", 1)]
    assert draw_allocations(allocations, {M: 2}) == [(10, 1), (11, 1)]
    with pytest.raises(AssertionError):
        draw_allocations(allocations, {"L": 2})
