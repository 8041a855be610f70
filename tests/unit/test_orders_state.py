"""The order state machine: the status follows the quantities, and illegal steps are errors."""

from __future__ import annotations

import pytest

from seamline.domain.errors import Conflict
from seamline.orders.model import LineState, OrderStatus
from seamline.orders.state import ALLOWED_FROM, Step, cancel_all, derive_status, pack_all, require_step, ship_all

S = OrderStatus


def line(no: int = 1, qty: int = 2, **stages: int) -> LineState:
    return LineState(no, f"SKU-{no}", qty, **stages)


@pytest.mark.parametrize(
    ("lines", "status"),
    [
        ([line()], S.BACKORDERED),
        ([line(allocated=1)], S.PARTIALLY_ALLOCATED),
        ([line(allocated=2)], S.ALLOCATED),
        ([line(allocated=1, picked=1)], S.PARTIALLY_PICKED),
        ([line(picked=2)], S.PICKED),
        ([line(picked=2, packed=1)], S.PARTIALLY_PACKED),
        ([line(picked=2, packed=2)], S.PACKED),
        ([line(picked=2, packed=2, shipped=1)], S.PARTIALLY_SHIPPED),
        ([line(picked=2, packed=2, shipped=2)], S.SHIPPED),
        ([line(cancelled=2)], S.CANCELLED),
        ([line(allocated=2), line(2, qty=1)], S.PARTIALLY_ALLOCATED),
        ([line(picked=1, cancelled=1)], S.PICKED),
    ],
)
def test_status_is_derived_from_the_lines_quantities(lines: list[LineState], status: OrderStatus) -> None:
    assert derive_status(lines) is status


def test_shipping_an_unpacked_order_is_an_illegal_transition() -> None:
    with pytest.raises(Conflict) as caught:
        ship_all([line(allocated=2)], S.ALLOCATED)
    assert caught.value.code == "illegal-transition"
    assert caught.value.extra == {"current": "allocated"}


def test_packing_needs_a_picked_unit_waiting() -> None:
    with pytest.raises(Conflict):
        pack_all([line(picked=2, packed=2, shipped=1)], S.PARTIALLY_SHIPPED)
    assert pack_all([line(picked=2, packed=1)], S.PARTIALLY_PACKED)[0].packed == 2


def test_ship_ships_every_packed_unit_and_no_more() -> None:
    shipped = ship_all([line(qty=3, allocated=1, picked=2, packed=2)], S.PARTIALLY_PACKED)
    assert (shipped[0].shipped, derive_status(shipped)) == (2, S.PARTIALLY_SHIPPED)


def test_cancel_keeps_picked_units_sold_and_cancels_the_rest() -> None:
    [cancelled] = cancel_all([line(qty=5, allocated=2, picked=1)], S.PARTIALLY_PICKED)
    assert (cancelled.cancelled, cancelled.allocated, cancelled.picked, cancelled.returnable) == (4, 0, 1, 1)


@pytest.mark.parametrize("status", [S.PARTIALLY_SHIPPED, S.SHIPPED, S.CLOSED, S.CANCELLED])
def test_nothing_that_has_shipped_or_ended_can_be_cancelled(status: OrderStatus) -> None:
    with pytest.raises(Conflict):
        cancel_all([line(picked=2, packed=2, shipped=2)], status)


def test_closed_and_cancelled_orders_take_no_step_at_all() -> None:
    for step in Step:
        for status in (S.CLOSED, S.CANCELLED):
            assert status not in ALLOWED_FROM[step]
            with pytest.raises(Conflict):
                require_step(step, status)


def test_only_a_shipped_order_closes() -> None:
    assert [s for s in S if s in ALLOWED_FROM[Step.CLOSE]] == [S.SHIPPED]


def test_line_backordered_counts_what_is_neither_allocated_picked_nor_cancelled() -> None:
    assert line(qty=10, allocated=3, picked=2, cancelled=1).backordered == 4
