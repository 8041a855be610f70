"""compare_balances rebuilds on_hand, committed and reserved from history and lists every disagreement."""

from __future__ import annotations

from seamline.ledger import Balance, Difference, compare_balances

SKU = "OVS-001-NVY-M"
RECEIPT = (SKU, "supplier", "WH", 10)
SALE = (SKU, "WH", "customer", 3)


def test_balances_that_match_history_report_no_differences() -> None:
    stored = {(SKU, "supplier"): (-10, 0, 0), (SKU, "WH"): (7, 2, 1), (SKU, "customer"): (3, 0, 0)}
    differences = compare_balances(
        stored, [RECEIPT, SALE], live_holds={(SKU, "WH"): 1}, open_allocations={(SKU, "WH"): 2}
    )
    assert differences == []


def test_wrong_on_hand_is_reported_with_stored_and_expected_values() -> None:
    stored = {(SKU, "supplier"): (-10, 0, 0), (SKU, "WH"): (8, 0, 0), (SKU, "customer"): (3, 0, 0)}
    assert compare_balances(stored, [RECEIPT, SALE], {}, {}) == [Difference(SKU, "WH", "on_hand", 8, 7)]


def test_missing_balance_row_is_reported_against_zero() -> None:
    stored = {(SKU, "supplier"): (-10, 0, 0)}
    assert compare_balances(stored, [RECEIPT], {}, {}) == [Difference(SKU, "WH", "on_hand", 0, 10)]


def test_balance_with_no_history_behind_it_is_reported() -> None:
    assert compare_balances({(SKU, "WH"): (5, 0, 0)}, [], {}, {}) == [Difference(SKU, "WH", "on_hand", 5, 0)]


def test_committed_is_checked_against_open_allocations_and_reserved_against_live_holds() -> None:
    stored = {(SKU, "supplier"): (-10, 0, 0), (SKU, "WH"): (10, 1, 4)}
    differences = compare_balances(stored, [RECEIPT], live_holds={(SKU, "WH"): 2}, open_allocations={(SKU, "WH"): 3})
    assert differences == [
        Difference(SKU, "WH", "committed", 1, 3),
        Difference(SKU, "WH", "reserved", 4, 2),
    ]


def test_a_hold_or_allocation_with_no_balance_row_is_reported() -> None:
    differences = compare_balances({}, [], live_holds={(SKU, "STORE-1"): 1}, open_allocations={(SKU, "WH"): 2})
    assert differences == [
        Difference(SKU, "STORE-1", "reserved", 0, 1),
        Difference(SKU, "WH", "committed", 0, 2),
    ]


def test_differences_come_in_stable_order_by_sku_location_then_field() -> None:
    stored = {
        ("B", "WH"): (1, 1, 1),
        ("A", "WH"): (1, 1, 1),
        ("A", "STORE-1"): (1, 0, 0),
    }
    differences = compare_balances(stored, [], {}, {})
    assert [(d.sku, d.location, d.field) for d in differences] == [
        ("A", "STORE-1", "on_hand"),
        ("A", "WH", "on_hand"),
        ("A", "WH", "committed"),
        ("A", "WH", "reserved"),
        ("B", "WH", "on_hand"),
        ("B", "WH", "committed"),
        ("B", "WH", "reserved"),
    ]
    assert compare_balances(dict(reversed(list(stored.items()))), [], {}, {}) == differences


def test_movements_accumulate_in_and_out_per_location() -> None:
    movements = [RECEIPT, (SKU, "WH", "STORE-1", 4), (SKU, "STORE-1", "customer", 1), (SKU, "supplier", "WH", 2)]
    stored = {
        (SKU, "supplier"): (-12, 0, 0),
        (SKU, "WH"): (8, 0, 0),
        (SKU, "STORE-1"): (3, 0, 0),
        (SKU, "customer"): (1, 0, 0),
    }
    assert compare_balances(stored, movements, {}, {}) == []


def test_balance_available_is_on_hand_less_committed_and_reserved() -> None:
    assert Balance(SKU, "WH", on_hand=10, committed=3, reserved=2).available == 5
    assert Balance(SKU, "WH", on_hand=1, committed=3, reserved=0).available == -2
