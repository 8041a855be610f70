"""The rules of the one channel-order use case (``seamline.service.channel_orders``), without a database:
what a verdict does to an order, what a cancellation does in each state, and which marketplace lines are
accepted, refused or held."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from seamline.channels.canonical import (
    CustomerRef,
    InboundOrder,
    OrderLine,
    OrderMapping,
    OrderVerdict,
    queue_order,
)
from seamline.orders.model import OrderStatus
from seamline.service.channel_orders import (
    CancelAction,
    OfferedLine,
    PlaceAction,
    Verdict,
    cancel_action,
    decide_acceptance,
    place_action,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
MARGIN = timedelta(hours=2)


def test_an_accepted_order_is_placed_a_held_one_held_and_a_test_order_ignored() -> None:
    assert place_action(Verdict.ACCEPT) is PlaceAction.PLACE
    assert place_action(Verdict.HOLD) is PlaceAction.HOLD
    assert place_action(Verdict.IGNORE) is PlaceAction.IGNORE


@pytest.mark.parametrize(
    ("verdict", "expected"),
    [
        (OrderVerdict.ACCEPT, Verdict.ACCEPT),
        (OrderVerdict.HOLD_UNKNOWN_SKU, Verdict.HOLD),
        (OrderVerdict.HOLD_FOREIGN_CURRENCY, Verdict.HOLD),
        (OrderVerdict.IGNORE_TEST_ORDER, Verdict.IGNORE),
        (OrderVerdict.IGNORE_NOTHING_TO_FULFIL, Verdict.IGNORE),
    ],
)
def test_every_canonical_verdict_has_one_effect_in_the_queue(verdict: OrderVerdict, expected: Verdict) -> None:
    line = OrderLine("1", "OVS-001-NVY-M", None, None, 2, Decimal("89.00"), "Overshirt")
    order = InboundOrder("A-1", "#1", NOW, "EUR", "EUR", (line,), CustomerRef("a@example.com", None, "A"), False, None)
    queued = queue_order(OrderMapping(order, verdict, (line,), (), "why"))
    assert queued.verdict is expected
    assert [(x.sku, x.qty, x.unit_price) for x in queued.lines] == [("OVS-001-NVY-M", 2, "89.00")]
    assert queued.customer is not None
    assert queued.customer.email == "a@example.com"
    assert verdict.value in queued.detail


@pytest.mark.parametrize(
    "status",
    [
        OrderStatus.PLACED,
        OrderStatus.BACKORDERED,
        OrderStatus.PARTIALLY_ALLOCATED,
        OrderStatus.ALLOCATED,
        OrderStatus.PICKED,  # picked units stay sold (awaiting return); the rest is released
    ],
)
def test_an_order_nothing_of_which_shipped_is_cancelled(status: OrderStatus) -> None:
    assert cancel_action(status, Verdict.ACCEPT) is CancelAction.CANCEL
    assert cancel_action(status, None) is CancelAction.CANCEL


@pytest.mark.parametrize(
    "status", [OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED, OrderStatus.CLOSED, OrderStatus.CANCELLED]
)
def test_an_order_shipped_in_part_or_whole_or_cancelled_is_left_alone(status: OrderStatus) -> None:
    assert cancel_action(status, Verdict.ACCEPT) is CancelAction.LEAVE


def test_a_cancellation_of_an_order_never_seen_places_and_cancels_it_holds_it_or_does_nothing() -> None:
    assert cancel_action(None, Verdict.ACCEPT) is CancelAction.PLACE_THEN_CANCEL
    assert cancel_action(None, Verdict.HOLD) is CancelAction.HOLD, "a late create must not place it"
    assert cancel_action(None, Verdict.IGNORE) is CancelAction.NOTHING
    assert cancel_action(None, None) is CancelAction.NOTHING, "no body: nothing was taken"


def test_lines_the_ledger_can_serve_are_accepted_whole_and_the_rest_refused_in_line_order() -> None:
    lines = [
        OfferedLine("L1", "A", 2),
        OfferedLine("L2", "B", 1),
        OfferedLine("L3", "A", 2),  # only 1 of A left after L1
        OfferedLine("L4", "C", 1),  # none of C
    ]
    decision = decide_acceptance(
        lines, {"A", "B", "C"}, {"A": 3, "B": 5}, now=NOW, deadline=NOW + timedelta(days=1), margin=MARGIN
    )
    assert decision.held is None
    assert [x.line_id for x in decision.accepted] == ["L1", "L2"]
    assert [(x.line_id, why) for x, why in decision.refused] == [("L3", "1 of 2 available"), ("L4", "0 of 1 available")]


def test_an_unknown_sku_holds_the_decision_while_the_window_leaves_time_then_only_its_line_is_refused() -> None:
    lines = [OfferedLine("L1", "A", 1), OfferedLine("L2", None, 1), OfferedLine("L3", "Z", 1)]
    deadline = NOW + timedelta(hours=3)
    early = decide_acceptance(lines, {"A"}, {"A": 5}, now=NOW, deadline=deadline, margin=MARGIN)
    assert early.held is not None
    assert "Z" in early.held
    assert "line L2" in early.held
    assert early.accepted == ()
    assert early.refused == ()
    late = decide_acceptance(
        lines, {"A"}, {"A": 5}, now=NOW + timedelta(hours=1, minutes=1), deadline=deadline, margin=MARGIN
    )
    assert late.held is None
    assert [x.line_id for x in late.accepted] == ["L1"]
    assert [x.line_id for x, _ in late.refused] == ["L2", "L3"]


def test_a_negative_balance_serves_nothing_and_a_zero_quantity_line_is_refused() -> None:
    lines = [OfferedLine("L1", "A", 1), OfferedLine("L2", "A", 0)]
    decision = decide_acceptance(lines, {"A"}, {"A": -4}, now=NOW, deadline=None, margin=MARGIN)
    assert decision.accepted == ()
    assert [(x.line_id, why) for x, why in decision.refused] == [("L1", "0 of 1 available"), ("L2", "no quantity")]
