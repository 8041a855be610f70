"""The cost of goods' arithmetic (``finance.cost``), without a database: the moving weighted average, what a
movement carries at cost, where its value is booked, and the properties reconcile relies on (a cost row is the
sum of its movements; valuation as of any moment is the sum of the movements by then; averages are never
negative; a transfer conserves value to the cent)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seamline.domain.errors import InvalidInput
from seamline.finance.cost import (
    CostRow,
    booking,
    cause_of,
    issue,
    parse_unit_cost,
    receive,
    revaluation_cause,
    revalue,
    round_cost,
    uncosted_units,
    valued,
)

EUR = "EUR"


def test_two_receipts_average_by_quantity_to_four_decimals() -> None:
    row = receive(CostRow(), 10, Decimal("10.00"), EUR)
    row = receive(row, 30, Decimal("14.00"), EUR)
    assert row == CostRow(40, Decimal("520.00"), Decimal("13.0000"))
    row = receive(row, 3, Decimal("1.00"), EUR)  # (40 * 13 + 3) / 43 = 12.16279...
    assert row.unit_cost == Decimal("12.1628")


def test_a_receipt_onto_nothing_or_less_takes_its_own_cost() -> None:
    oversold = CostRow(-2, Decimal("-20.00"), Decimal("10.0000"))
    row = receive(oversold, 5, Decimal("12.00"), EUR)
    assert (row.qty, row.unit_cost, row.value) == (3, Decimal("12.0000"), Decimal("40.00"))
    assert receive(CostRow(0, Decimal(0), Decimal("99.0000")), 1, Decimal("5.00"), EUR).unit_cost == Decimal("5.0000")


def test_goods_leave_at_the_average_and_the_last_unit_takes_what_is_left() -> None:
    row = receive(CostRow(), 3, Decimal("7.3333"), EUR)  # 21.9999 -> 22.00
    assert row.value == Decimal("22.00")
    row, first = issue(row, 1, EUR)
    assert (first.unit_cost, first.value, first.source) == (Decimal("7.3333"), Decimal("7.33"), "average")
    row, rest = issue(row, 2, EUR)
    assert rest.value == Decimal("14.67")  # not 14.67 by luck: whatever was left on the row
    assert (row.qty, row.value) == (0, Decimal("0.00"))


def test_a_document_fixes_the_cost_goods_leave_at() -> None:
    row = receive(CostRow(), 4, Decimal("10.00"), EUR)
    row, out = issue(row, 1, EUR, Decimal("12.5000"))
    assert (out.value, out.source) == (Decimal("12.50"), "document")
    assert row.unit_cost == Decimal("10.0000")  # the average itself does not move when goods leave


@pytest.mark.parametrize("raw", ["-1", "abc", "NaN", "Infinity", "1.00001", True, None, [], "1e20"])
def test_a_bad_unit_cost_is_refused_naming_the_field(raw: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_unit_cost(raw)
    assert [e.field for e in caught.value.errors] == ["unit_cost"]


def test_a_unit_cost_is_a_decimal_to_four_places() -> None:
    assert parse_unit_cost("12.5") == Decimal("12.5")
    assert parse_unit_cost("0") == Decimal(0)
    assert parse_unit_cost(3) == Decimal(3)


def role(kind: str, source: str, target: str) -> str | None:
    found = booking(kind, source, target)
    return None if found is None else found.account_role


def test_value_crossing_the_walls_is_booked_by_kind_and_transfers_are_not() -> None:
    assert role("receipt", "supplier", "WH") == "goods_received"
    assert role("sale", "STORE-1", "customer") == "cogs"
    assert role("pick", "WH", "customer") == "cogs"
    assert role("return", "customer", "WH") == "cogs"
    assert role("count", "WH", "adjustment") == "shrinkage"
    assert role("damage", "WH", "damaged") == "shrinkage"
    assert booking("transfer_out", "WH", "in_transit") is None
    assert booking("return", "customer", "damaged") is None  # written off already: no reversal
    assert not valued("customer")
    assert valued("in_transit")


def test_each_cause_is_one_journal_entry() -> None:
    assert cause_of("sale", "ord_1", None, "t1") == "cost:sale:ord_1:t1"
    assert cause_of("receipt", "asn-7", None, "t2") == "cost:receipt:asn-7:t2"  # a part of a document, once
    assert cause_of("return", "ord_1", "return ret_9", "t1") == "cost:return:ret_9"
    assert cause_of("pick", "ord_1", None, "t1") is None  # booked when the order ships
    assert cause_of("adjustment", None, "lost", "t3") == "cost:adjustment:movement:t3"


# ------------------------------------------------------------------------------------------------ properties
LOCATIONS = ("WH", "STORE-1", "STORE-2")
Step = tuple[str, str, int, object]  # (receipt | issue | transfer, location, qty, cost or target)
costs = st.decimals(min_value=Decimal(0), max_value=Decimal(500), places=4, allow_nan=False, allow_infinity=False)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("receipt"), st.sampled_from(LOCATIONS), st.integers(1, 50), costs),
        st.tuples(st.just("issue"), st.sampled_from(LOCATIONS), st.integers(1, 60), st.none()),
        st.tuples(st.just("transfer"), st.sampled_from(LOCATIONS), st.integers(1, 60), st.sampled_from(LOCATIONS)),
    ),
    max_size=60,
)


def run(history: list[Step]) -> tuple[dict[str, CostRow], list[tuple[str, Decimal]]]:
    """Apply a history; answers the rows and every movement side as (location, signed value), in order.
    Goods only leave what is there (a sale or transfer of more than on hand takes what there is)."""
    rows = {loc: CostRow() for loc in LOCATIONS}
    sides: list[tuple[str, Decimal]] = []
    for kind, loc, qty, extra in history:
        if kind == "receipt":
            assert isinstance(extra, Decimal)
            before = rows[loc]
            rows[loc] = receive(before, qty, extra, EUR)
            sides.append((loc, rows[loc].value - before.value))
            continue
        qty = min(qty, rows[loc].qty)
        if qty <= 0:
            continue
        rows[loc], out = issue(rows[loc], qty, EUR)
        sides.append((loc, -out.value))
        if kind == "transfer":
            assert isinstance(extra, str)
            target = extra if extra != loc else "STORE-2" if loc != "STORE-2" else "WH"
            before = rows[target]
            rows[target] = receive(before, qty, out.unit_cost, EUR, out.value)
            assert rows[target].value - before.value == out.value  # a transfer conserves value to the cent
            sides.append((target, out.value))
    return rows, sides


@settings(max_examples=200, deadline=None)
@given(steps)
def test_a_cost_row_is_the_sum_of_its_movements_and_never_averages_below_zero(history: list[Step]) -> None:
    rows, sides = run(history)
    for loc, row in rows.items():
        assert row.value == sum((v for where, v in sides if where == loc), Decimal(0))
        assert row.unit_cost >= 0
        assert row.unit_cost == round_cost(row.unit_cost)
        assert row.qty >= 0
        if row.qty == 0:
            assert row.value == 0  # no rounding residue is left at cost on an empty shelf
        assert row.value >= 0


@settings(max_examples=200, deadline=None)
@given(steps, st.integers(0, 60))
def test_valuation_as_of_any_moment_is_the_sum_of_the_movements_by_then(history: list[Step], cut: int) -> None:
    then = history[: min(cut, len(history))]
    rows_then, sides_then = run(then)
    _, sides_all = run(history)
    # The movements written by then are the first of all movements: later ones do not change the past.
    assert sides_all[: len(sides_then)] == sides_then
    assert sum((r.value for r in rows_then.values()), Decimal(0)) == sum((v for _, v in sides_then), Decimal(0))


@settings(max_examples=200, deadline=None)
@given(steps)
def test_transfers_conserve_value_over_all_locations(history: list[Step]) -> None:
    """Without sales, the value over every location is exactly what the receipts brought in, however the
    goods were moved between locations since."""
    kept = [step for step in history if step[0] != "issue"]
    rows, _ = run(kept)
    brought_in = Decimal(0)
    for kind, _loc, qty, extra in kept:
        if kind == "receipt":
            assert isinstance(extra, Decimal)
            brought_in += receive(CostRow(), qty, extra, EUR).value
    assert sum((row.value for row in rows.values()), Decimal(0)) == brought_in


# ------------------------------------------------------------------------------------------------ revaluation
def test_units_received_at_nothing_are_revalued_at_the_cost_now_known() -> None:
    row = receive(CostRow(), 6, Decimal(0), EUR)
    assert row == CostRow(6, Decimal("0.00"), Decimal("0.0000"))
    after, revalued = revalue(row, 6, Decimal("12.50"), EUR)
    assert after == CostRow(6, Decimal("75.00"), Decimal("12.5000"))
    assert (revalued.units, revalued.old_unit_cost, revalued.new_unit_cost, revalued.amount) == (
        6,
        Decimal(0),
        Decimal("12.50"),
        Decimal("75.00"),
    )
    # What leaves afterwards leaves at the new cost, and the row empties to exactly nothing.
    rest, out = issue(after, 6, EUR)
    assert (rest.value, out.value) == (Decimal(0), Decimal("75.00"))


def test_a_revaluation_of_part_of_a_row_rounds_the_amount_to_the_minor_unit_and_averages_the_rest() -> None:
    row = CostRow(4, Decimal("0"), Decimal("0"))
    after, revalued = revalue(row, 3, Decimal("0.3333"), EUR)
    assert revalued.amount == Decimal("1.00")  # 3 x 0.3333 = 0.9999, to the cent
    assert after == CostRow(4, Decimal("1.00"), Decimal("0.2500"))


@pytest.mark.parametrize(
    ("units", "cost", "said"),
    [(0, "1.00", "at least one unit"), (5, "1.00", "at most the units"), (2, "0", "above 0"), (2, "-1", "above 0")],
)
def test_a_revaluation_needs_units_on_the_row_and_a_cost_above_0(units: int, cost: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        revalue(CostRow(4, Decimal(0), Decimal(0)), units, Decimal(cost), EUR)


@pytest.mark.parametrize(
    ("row", "counted", "expected"),
    [
        (CostRow(5, Decimal(0), Decimal(0)), 5, 5),
        (CostRow(5, Decimal(0), Decimal(0)), 8, 5),  # some left: never more than on hand
        (CostRow(5, Decimal(0), Decimal(0)), -2, 0),  # units at an explicit cost of 0 left: never below 0
        (CostRow(0, Decimal(0), Decimal(0)), 3, 0),
        (CostRow(-2, Decimal(0), Decimal(0)), 3, 0),
        (CostRow(5, Decimal("50"), Decimal("10")), 5, 0),  # the row has a cost: nothing is at nothing
    ],
)
def test_uncosted_units_are_the_counted_ones_still_on_hand(row: CostRow, counted: int, expected: int) -> None:
    assert uncosted_units(row, counted) == expected


def test_a_revaluation_is_its_own_journal_entry_against_the_revaluation_account() -> None:
    assert revaluation_cause("rev_1") == "cost:revaluation:rev_1"
    assert booking("revaluation", "supplier", "WH") is not None
    assert booking("revaluation", "supplier", "WH").account_role == "cost_revaluation"  # type: ignore[union-attr]


@settings(max_examples=200, deadline=None)
@given(
    qty=st.integers(1, 500),
    part=st.integers(1, 500),
    cost=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("9999"), places=4),
)
def test_a_revaluation_moves_exactly_its_amount_into_the_row(qty: int, part: int, cost: Decimal) -> None:
    row = receive(CostRow(), qty, Decimal(0), EUR)
    units = min(part, qty)
    after, revalued = revalue(row, units, cost, EUR)
    assert after.qty == row.qty
    assert after.value - row.value == revalued.amount == (units * cost).quantize(Decimal("0.01"))
    assert after.unit_cost == round_cost(units * cost / qty)
