"""Transfers, counts, oversell exceptions and wholesale terms: the small rules around the queue."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from seamline.domain.errors import Conflict, InvalidInput
from seamline.orders.oversell import oversold_units, short_allocations
from seamline.orders.reconcile import OrderDifference, compare_order_allocations
from seamline.orders.stock_documents import (
    CountStatus,
    TransferStatus,
    count_variance,
    receipt_lines,
    require_count_open,
    require_transfer_step,
)
from seamline.orders.wholesale import allocation_priority, check_window, past_cancel, require_in_window


def test_a_receipt_without_lines_receives_what_shipped() -> None:
    [line] = receipt_lines({"M": 3}, None)
    assert (line.arrived, line.short, line.over) == (3, 0, 0)


def test_short_and_over_receipts_are_split_from_what_arrived() -> None:
    lines = {line.sku: line for line in receipt_lines({"M": 4, "L": 2}, {"M": 3, "L": 3, "XL": 1})}
    assert (lines["M"].arrived, lines["M"].short, lines["M"].over) == (3, 1, 0)
    assert (lines["L"].arrived, lines["L"].short, lines["L"].over) == (2, 0, 1)
    assert (lines["XL"].arrived, lines["XL"].short, lines["XL"].over) == (0, 0, 1)


def test_transfer_steps_follow_open_in_transit_received() -> None:
    require_transfer_step("ship", TransferStatus.OPEN)
    require_transfer_step("receive", TransferStatus.IN_TRANSIT)
    for step, status in (("receive", TransferStatus.OPEN), ("ship", TransferStatus.IN_TRANSIT)):
        with pytest.raises(Conflict) as caught:
            require_transfer_step(step, status)
        assert caught.value.code == "illegal-transition"
    with pytest.raises(Conflict):
        require_count_open(CountStatus.POSTED, "post")


def test_count_variance_is_net_of_what_moved_before_the_count_was_entered() -> None:
    # Expected 10 at the start; 2 sold during the count, so the ledger says 8 when 7 are counted.
    assert count_variance(on_hand_at_entry=8, counted=7) == -1
    assert count_variance(on_hand_at_entry=8, counted=9) == 1


def test_oversold_units_are_only_the_part_that_was_promised() -> None:
    assert oversold_units(moved=2, on_hand=1, committed=1, reserved=0) == 0
    assert oversold_units(moved=2, on_hand=0, committed=1, reserved=0) == 1
    assert oversold_units(moved=1, on_hand=-3, committed=0, reserved=0) == 1


def test_the_newest_allocations_are_the_ones_short() -> None:
    short = short_allocations(
        on_hand=1, open_allocations_newest_first=[(3, "ord_c", 1), (2, "ord_b", 2), (1, "ord_a", 1)]
    )
    assert [(s.document, s.units_short) for s in short] == [("ord_c", 1), ("ord_b", 2)]
    assert short_allocations(on_hand=5, open_allocations_newest_first=[(1, "ord_a", 2)]) == []


def test_order_allocations_reconcile_per_order_and_sku() -> None:
    assert compare_order_allocations({("o1", "M"): 2}, {("o1", "M"): 2}) == []
    assert compare_order_allocations({("o1", "M"): 2}, {("o1", "M"): 1, ("o2", "L"): 1}) == [
        OrderDifference("o1", "M", 2, 1),
        OrderDifference("o2", "L", 0, 1),
    ]


def test_ship_window_rules() -> None:
    with pytest.raises(InvalidInput):
        check_window(date(2027, 2, 1), date(2027, 1, 1))
    require_in_window(date(2027, 2, 1), date(2027, 2, 28), date(2027, 2, 1))
    with pytest.raises(Conflict) as early:
        require_in_window(date(2027, 2, 1), None, date(2027, 1, 31))
    assert early.value.code == "outside-ship-window"
    with pytest.raises(Conflict):
        require_in_window(None, date(2027, 2, 28), date(2027, 3, 1))
    assert past_cancel(date(2027, 2, 28), date(2027, 3, 1))
    assert not past_cancel(None, date(2030, 1, 1))


def test_backorders_are_served_by_ship_date_then_first_come() -> None:
    placed = datetime(2026, 11, 1, tzinfo=UTC)
    later = datetime(2026, 11, 2, tzinfo=UTC)
    keys = {
        "march": allocation_priority(date(2027, 3, 1), placed, 1),
        "feb": allocation_priority(date(2027, 2, 1), later, 2),
        "dtc": allocation_priority(None, later, 3),
    }
    assert sorted(keys, key=keys.__getitem__) == ["dtc", "feb", "march"]
