"""Cancelling units of some lines while the rest of the order goes on (``orders.line_cancel``)."""

from __future__ import annotations

import pytest

from seamline.domain.errors import Conflict, InvalidInput
from seamline.orders.line_cancel import cancel_units
from seamline.orders.model import LineState, OrderStatus


def lines() -> list[LineState]:
    return [
        LineState(1, "M", 2, allocated=1, picked=1, packed=1, shipped=1),  # one shipped, one allocated
        LineState(2, "L", 3, allocated=1),  # one allocated, two backordered
    ]


def test_backordered_units_go_first_then_allocated_ones_are_released() -> None:
    plan = cancel_units(lines(), OrderStatus.PARTIALLY_SHIPPED, {2: 3})
    assert (plan.lines[1].cancelled, plan.lines[1].allocated) == (3, 0)
    assert plan.release == {2: 1}, "two units were backordered: only one allocation to give back"
    assert plan.status is OrderStatus.PARTIALLY_SHIPPED


def test_cancelling_the_last_unshipped_units_leaves_the_order_shipped_and_all_of_them_cancelled() -> None:
    plan = cancel_units(lines(), OrderStatus.PARTIALLY_SHIPPED, {1: 1, 2: 3})
    assert plan.status is OrderStatus.SHIPPED
    nothing_shipped = [LineState(1, "M", 2, allocated=2)]
    assert cancel_units(nothing_shipped, OrderStatus.ALLOCATED, {1: 2}).status is OrderStatus.CANCELLED


def test_picked_units_an_unknown_line_or_no_units_are_refused_all_at_once() -> None:
    with pytest.raises(InvalidInput) as caught:
        cancel_units(lines(), OrderStatus.PARTIALLY_SHIPPED, {1: 2, 3: 1, 2: 0})
    assert [e.field for e in caught.value.errors] == ["lines.1.qty", "lines.2.qty", "lines.3"]
    assert "picked units come back as a return" in caught.value.errors[0].message


def test_a_shipped_or_closed_order_has_no_line_to_cancel() -> None:
    for status in (OrderStatus.SHIPPED, OrderStatus.CLOSED, OrderStatus.CANCELLED):
        with pytest.raises(Conflict, match="cannot cancel lines"):
            cancel_units(lines(), status, {2: 1})
