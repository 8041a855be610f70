"""Issue #16: what a delivery row is created from. A configured connector's subscribers are declared in the
database; the registry hands the outbox only the subscribers this process alone knows."""

from __future__ import annotations

from seamline.integration import AVAILABILITY_CHANGED, Delivered, Delivery, Subscriber
from seamline.integration.subscribers import SubscriberRegistry, Subscription


def deliver(_delivery: Delivery) -> Delivered:
    return Delivered()


def test_a_subscription_takes_its_event_types_of_its_channels_and_channel_less_events() -> None:
    web = Subscription("shopify:web", frozenset({AVAILABILITY_CHANGED}), frozenset({"web"}))
    assert web.takes(AVAILABILITY_CHANGED, "web")
    assert not web.takes(AVAILABILITY_CHANGED, "amazon")
    assert web.takes(AVAILABILITY_CHANGED, None)
    assert not web.takes("OrderShipped", "web")


def test_a_subscription_of_a_subscriber_keeps_what_it_takes_and_whether_it_coalesces() -> None:
    feed = Subscriber("feed", frozenset({"OrderShipped"}), deliver, channels=None, coalesce=False)
    assert Subscription.of(feed) == Subscription("feed", frozenset({"OrderShipped"}), None, False)


def test_the_registry_hands_the_outbox_only_the_subscribers_no_database_row_declares() -> None:
    registry = SubscriberRegistry()
    registry.add(Subscriber("env-webhook", frozenset({AVAILABILITY_CHANGED}), deliver))
    registry.add(Subscriber("shopify:web", frozenset({AVAILABILITY_CHANGED}), deliver), declared=True)
    assert [s.name for s in registry.local()] == ["env-webhook"]
    assert registry.is_declared("shopify:web")
    assert registry.names() == ["env-webhook", "shopify:web"]  # both are delivered to from this process
    registry.remove("shopify:web")
    assert not registry.is_declared("shopify:web")
    registry.remove("env-webhook")
    assert registry.local() == []
