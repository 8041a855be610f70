"""The Shopify availability subscriber, handed deliveries the way the dispatcher hands them, against the
sandbox shop: compare-and-set, replay on redelivery, drift, and the dispatcher's failure types."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from seamline.catalog.model import Colour, Price, Style, Variant
from seamline.channels.shopify import mapper
from seamline.channels.shopify.client import Drift, ShopifyClient, ShopifyConfig
from seamline.channels.shopify.connector import availability_subscriber
from seamline.domain.clock import FixedClock
from seamline.integration import (
    AVAILABILITY_CHANGED,
    Delivered,
    Delivery,
    DeliveryFailed,
    DeliveryRejected,
    RateLimited,
    Subscriber,
)
from seamline.sandbox.shopify import ShopifySandbox, gid

START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
SKU = "OVS-001-NVY-M"


class World:
    def __init__(self, **config: Any) -> None:
        self.clock = FixedClock(START)
        self.sandbox = ShopifySandbox(clock=self.clock)
        self.location_id = self.sandbox.add_location("Online")
        settings = ShopifyConfig("http://sandbox.test/admin/api/2026-07", self.sandbox.config.access_token, **config)
        self.client = ShopifyClient(
            settings, transport=self.sandbox.transport(), clock=self.clock, sleep=self.clock.advance
        )
        style = Style(
            "OVS-001",
            "Navy overshirt",
            "SS27",
            "Shirts",
            ("M",),
            (Colour("NVY", "Navy"),),
            (Variant(SKU, "NVY", "M", "05012345678900"),),
            prices=(Price("retail", "USD", Decimal("49.00")),),
        )
        published = self.client.publish_product(mapper.product_set_variables(style, currency="USD"))
        self.items = {v.sku: v.inventory_item_id for v in published.variants}
        self.drift: list[Drift] = []
        self.subscriber: Subscriber = availability_subscriber(
            "web",
            self.client,
            location_id=str(self.location_id),
            item_for_sku=self.items.get,
            on_drift=self.drift.append,
        )

    def delivery(self, event: str, available: int, previous: int | None, sku: str = SKU) -> Delivery:
        return Delivery(
            id=1,
            subscriber=self.subscriber.name,
            event_id=event,
            event_type=AVAILABILITY_CHANGED,
            event_seq=1,
            payload={"channel": "web", "sku": sku, "atp": available, "available": available, "paused": False},
            trace_id=None,
            created_at=START,
            attempt=1,
            previous=None if previous is None else {"available": previous},
        )

    def available(self) -> int | None:
        return self.sandbox.quantity(int(self.items[SKU].rsplit("/", 1)[1]), self.location_id)


def test_the_subscriber_takes_only_availability_of_its_own_channel() -> None:
    subscriber = World().subscriber
    assert subscriber.takes(AVAILABILITY_CHANGED, "web")
    assert not subscriber.takes(AVAILABILITY_CHANGED, "pos-london")
    assert not subscriber.takes("ListingPaused", "web")


def test_a_delivery_sets_shopify_available_compare_and_set_and_reports_the_live_budget() -> None:
    world = World()
    answer = world.subscriber.deliver(world.delivery("ev-1", 4, previous=None))
    answer = world.subscriber.deliver(world.delivery("ev-2", 3, previous=4))
    assert world.available() == 3
    assert isinstance(answer, Delivered)
    assert answer.budget is not None
    assert answer.budget.per_second == 10.0  # 100 points a second, 10 a push
    sent = [c.variables["input"] for c in world.sandbox.calls if c.root_fields == ("inventorySetQuantities",)]
    assert [q["changeFromQuantity"] for i in sent for q in i["quantities"]] == [None, 4]
    assert sent[-1]["referenceDocumentUri"] == "seamline://events/ev-2"
    assert world.drift == []


def test_a_redelivered_event_replays_at_shopify_instead_of_applying_twice() -> None:
    world = World()
    world.subscriber.deliver(world.delivery("ev-1", 5, previous=None))
    world.sandbox.fail_next(after_apply=True)
    with pytest.raises(DeliveryFailed):
        world.subscriber.deliver(world.delivery("ev-2", 2, previous=5))
    world.subscriber.deliver(world.delivery("ev-2", 2, previous=5))
    assert world.available() == 2
    assert world.sandbox.calls[-1].outcome == "replayed"
    assert world.drift == []


def test_a_number_changed_in_shopify_is_reported_as_drift_and_overwritten() -> None:
    world = World()
    world.subscriber.deliver(world.delivery("ev-1", 5, previous=None))
    world.sandbox.set_quantity(int(world.items[SKU].rsplit("/", 1)[1]), world.location_id, 9)
    world.subscriber.deliver(world.delivery("ev-2", 4, previous=5))
    assert world.drift == [Drift(world.items[SKU], gid("Location", world.location_id), SKU, 5, 9, 4)]
    assert world.available() == 4


def test_an_unlinked_sku_is_rejected_for_the_dead_letter_queue() -> None:
    world = World()
    with pytest.raises(DeliveryRejected, match="not linked"):
        world.subscriber.deliver(world.delivery("ev-1", 1, None, sku="NOT-PUBLISHED"))


def test_an_exhausted_bucket_is_handed_back_as_rate_limited_with_a_retry_after() -> None:
    world = World(max_throttle_wait_seconds=0.05)
    world.subscriber.deliver(world.delivery("ev-1", 5, previous=None))
    world.sandbox.drain(2000)
    with pytest.raises(RateLimited) as caught:
        world.subscriber.deliver(world.delivery("ev-2", 4, previous=5))
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 0
    assert world.available() == 5
