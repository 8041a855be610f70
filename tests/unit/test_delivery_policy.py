"""A subscriber's delivery policy (issue #19): the stock-number rules live with the subscribers that show stock
numbers, not as special cases of the generic dispatcher. The policy's reads and writes of the published
numbers are covered against both databases in tests/integration/test_integration_outbox.py (a replayed dead
letter older than the shown number is retired) and the Shopify compare-and-set tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from seamline.integration import AVAILABILITY_CHANGED, Delivery, Subscriber
from seamline.integration.events import ORDER_SHIPPED
from seamline.integration.subscribers import DeliveryPolicy, PublishedNumbers

AT = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def delivery(event_type: str, seq: int, previous: dict[str, Any] | None) -> Delivery:
    return Delivery(
        id=1,
        subscriber="s",
        event_id="e",
        event_type=event_type,
        event_seq=seq,
        payload={"channel": "web", "sku": "A", "available": 3},
        trace_id=None,
        created_at=AT,
        attempt=1,
        previous=previous,
    )


def test_a_number_older_than_the_one_shown_is_stale_and_a_newer_or_first_one_is_not() -> None:
    policy = PublishedNumbers()
    assert policy.stale(delivery(AVAILABILITY_CHANGED, 5, {"event_seq": 9}))
    assert not policy.stale(delivery(AVAILABILITY_CHANGED, 9, {"event_seq": 9}))
    assert not policy.stale(delivery(AVAILABILITY_CHANGED, 12, {"event_seq": 9}))
    assert not policy.stale(delivery(AVAILABILITY_CHANGED, 5, None)), "nothing shown yet"


def test_other_event_types_are_never_stale_even_for_a_stock_subscriber() -> None:
    assert not PublishedNumbers().stale(delivery(ORDER_SHIPPED, 5, {"event_seq": 9}))


def test_a_subscriber_taking_stock_numbers_gets_the_published_numbers_policy_and_others_a_neutral_one() -> None:
    def noop(d: Delivery) -> None:
        return None

    stock = Subscriber("stock", frozenset({AVAILABILITY_CHANGED, ORDER_SHIPPED}), noop)
    orders = Subscriber("orders", frozenset({ORDER_SHIPPED}), noop)
    assert isinstance(stock.delivery_policy, PublishedNumbers)
    assert type(orders.delivery_policy) is DeliveryPolicy
    assert not orders.delivery_policy.stale(delivery(AVAILABILITY_CHANGED, 1, {"event_seq": 9}))


def test_a_subscriber_may_bring_its_own_policy() -> None:
    class NeverStale(DeliveryPolicy):
        pass

    own = NeverStale()
    sub = Subscriber("x", frozenset({AVAILABILITY_CHANGED}), lambda d: None, policy=own)
    assert sub.delivery_policy is own
