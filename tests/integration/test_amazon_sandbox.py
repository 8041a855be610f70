"""The Amazon sandbox and the SP-API client against it: the per-operation rate limit and its 429 with
Retry-After, listings PATCH validation, feed processing from upload to report, and order pulls."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from seamline.channels.amazon import mapper
from seamline.channels.amazon.client import AmazonClient, AmazonConfig, AmazonRejected, AmazonThrottled
from seamline.domain.clock import FixedClock
from seamline.sandbox.amazon import AmazonSandbox, SandboxConfig

START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
MARKETPLACE = "A1PA6795UKMFR9"


class World:
    def __init__(self, *, max_wait: float = 30.0, **sandbox_config: Any) -> None:
        self.clock = FixedClock(START)
        self.sandbox = AmazonSandbox(SandboxConfig(**sandbox_config), clock=self.clock)
        self.config = AmazonConfig(
            endpoint="https://sellingpartnerapi-eu.amazon.sandbox.test",
            seller_id=self.sandbox.config.seller_id,
            access_token=self.sandbox.config.access_token,
            marketplace_ids=(MARKETPLACE,),
            product_type="SHIRT",
            max_throttle_wait_seconds=max_wait,
        )
        self.client = AmazonClient(
            self.config, transport=self.sandbox.transport(), clock=self.clock, sleep=self.clock.advance
        )
        self.raw = httpx.Client(
            transport=self.sandbox.transport(),
            base_url=self.config.endpoint,
            headers={"x-amz-access-token": self.config.access_token},
        )

    def patch_raw(self, sku: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.raw.patch(
            f"/listings/2021-08-01/items/{self.config.seller_id}/{sku}",
            params={"marketplaceIds": MARKETPLACE},
            json=body if body is not None else mapper.patch_listing_body("SHIRT", 1),
        )


def test_the_sandbox_allows_a_burst_of_five_patches_then_answers_429_with_retry_after() -> None:
    """Listings Items v2021-08-01: patchListingsItem is 5 requests/s with a burst of 5 (not v2020-09-01's 10)."""
    world = World()
    world.sandbox.add_listing("SKU-1", "SHIRT", quantity=0)
    answers = [world.patch_raw("SKU-1") for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    throttled = answers[-1]
    assert throttled.json()["errors"][0]["code"] == "QuotaExceeded"
    assert float(throttled.headers["retry-after"]) == pytest.approx(0.2)
    assert throttled.headers["x-amzn-ratelimit-limit"] == "5.0"
    world.clock.advance(0.2)
    assert world.patch_raw("SKU-1").status_code == 200, "a token is back after 1/5 s"


def test_the_client_paces_itself_at_five_a_second_and_is_never_throttled() -> None:
    world = World()
    world.sandbox.add_listing("SKU-1", "SHIRT", quantity=0)
    for n in range(30):
        answer = world.client.patch_availability(
            "SKU-1", product_type="SHIRT", quantity=n, marketplace_ids=[MARKETPLACE]
        )
        assert answer.accepted
    assert world.sandbox.quantity("SKU-1") == 29
    assert [c.status for c in world.sandbox.operations("patchListingsItem")] == [200] * 30
    waited = (world.clock.now() - START).total_seconds()
    assert waited == pytest.approx((30 - 5) / 5, abs=0.05), "burst of 5, then 5 a second"


def test_a_429_is_waited_out_for_its_retry_after_and_handed_back_past_the_clients_patience() -> None:
    world = World()
    world.sandbox.add_listing("SKU-1", "SHIRT", quantity=0)
    world.sandbox.throttle_next(1, retry_after=3.0)
    assert world.client.patch_availability(
        "SKU-1", product_type="SHIRT", quantity=4, marketplace_ids=[MARKETPLACE]
    ).accepted
    assert (world.clock.now() - START).total_seconds() >= 3.0
    assert world.client.throttled == 1
    impatient = World(max_wait=1.0)
    impatient.sandbox.add_listing("SKU-1", "SHIRT", quantity=0)
    impatient.sandbox.throttle_next(1, retry_after=3.0)
    with pytest.raises(AmazonThrottled) as caught:
        impatient.client.patch_availability("SKU-1", product_type="SHIRT", quantity=4, marketplace_ids=[MARKETPLACE])
    assert caught.value.retry_after == 3.0
    assert impatient.sandbox.quantity("SKU-1") == 0


def test_a_patch_needs_product_type_and_a_known_listing_and_merge_keeps_other_channels() -> None:
    world = World()
    world.sandbox.add_listing("SKU-1", "SHIRT", quantity=5)
    world.sandbox.listings["SKU-1"].availability["AMAZON_EU"] = 7
    missing = world.patch_raw("SKU-1", {"patches": mapper.availability_patches(1)})
    assert missing.status_code == 400
    assert "productType" in missing.json()["errors"][0]["message"]
    unknown = world.client.patch_availability("NOPE", product_type="SHIRT", quantity=1, marketplace_ids=[MARKETPLACE])
    assert unknown.status == "INVALID"
    assert unknown.issues[0].code == "SKU_NOT_FOUND"
    wrong = world.client.patch_availability("SKU-1", product_type="SHOES", quantity=1, marketplace_ids=[MARKETPLACE])
    assert wrong.status == "INVALID"
    ok = world.client.patch_availability("SKU-1", product_type="SHIRT", quantity=2, marketplace_ids=[MARKETPLACE])
    assert ok.accepted
    assert ok.submission_id
    assert world.sandbox.listings["SKU-1"].availability == {"DEFAULT": 2, "AMAZON_EU": 7}


def test_a_wrong_token_is_refused_for_good() -> None:
    world = World()
    bad = AmazonClient(
        AmazonConfig(
            endpoint=world.config.endpoint, seller_id="S", access_token="stolen", marketplace_ids=(MARKETPLACE,)
        ),
        transport=world.sandbox.transport(),
        clock=world.clock,
        sleep=world.clock.advance,
    )
    with pytest.raises(AmazonRejected) as caught:
        bad.patch_availability("SKU-1", product_type="SHIRT", quantity=1, marketplace_ids=[MARKETPLACE])
    assert caught.value.status == 403


def test_a_listings_feed_is_queued_processed_and_reported_per_message() -> None:
    world = World(feed_processing_seconds=60)
    world.sandbox.add_listing("SKU-1", "SHIRT", quantity=0)
    world.sandbox.add_listing("SKU-2", "SHIRT", quantity=0)
    document = mapper.listings_feed(
        world.config.seller_id,
        [
            mapper.AvailabilityUpdate("SKU-1", "SHIRT", 8),
            mapper.AvailabilityUpdate("SKU-404", "SHIRT", 3),
            mapper.AvailabilityUpdate("SKU-2", "SHIRT", 0),
        ],
    )
    feed_id = world.client.submit_feed(document)
    assert [c.operation for c in world.sandbox.calls] == ["createFeedDocument", "uploadDocument", "createFeed"]
    assert world.client.feed_result(feed_id).status == "IN_QUEUE"
    world.clock.advance(30)
    assert world.client.feed_result(feed_id).status == "IN_PROGRESS"
    assert world.sandbox.quantity("SKU-1") == 0, "nothing applies before the feed is processed"
    world.clock.advance(30)
    result = world.client.feed_result(feed_id)
    assert result.status == "DONE"
    assert result.report is not None
    assert result.report.summary["messagesAccepted"] == 2
    assert result.report.summary["messagesInvalid"] == 1
    assert result.report.refused(2)
    assert not result.report.refused(1)
    assert (world.sandbox.quantity("SKU-1"), world.sandbox.quantity("SKU-2")) == (8, 0)


def test_a_feed_over_25000_messages_ends_fatal_and_changes_nothing() -> None:
    world = World()
    world.sandbox.add_listing("SKU-1", "SHIRT", quantity=1)
    messages = [
        {
            "messageId": n,
            "sku": "SKU-1",
            "operationType": "PATCH",
            "productType": "SHIRT",
            "patches": mapper.availability_patches(9),
        }
        for n in range(1, 25_002)
    ]
    feed_id = world.client.submit_feed(
        {"header": {"sellerId": world.config.seller_id, "version": "2.0"}, "messages": messages}
    )
    assert world.client.feed_result(feed_id).status == "FATAL"
    assert world.sandbox.quantity("SKU-1") == 1


def test_orders_are_pulled_by_last_update_with_pages_and_line_totals() -> None:
    world = World(orders_page_size=2)
    world.sandbox.add_listing("SKU-1", "SHIRT", quantity=10)
    for _ in range(3):
        world.sandbox.place_order([("SKU-1", 2, Decimal("89.00"))])
    assert world.sandbox.quantity("SKU-1") == 4, "Amazon takes sold units off the listing"
    first = world.client.get_orders(last_updated_after=START)
    assert len(first.orders) == 2
    assert first.next_token
    second = world.client.get_orders(next_token=first.next_token)
    assert len(second.orders) == 1
    assert second.next_token is None
    items = world.client.get_order_items(first.orders[0]["AmazonOrderId"])
    assert items[0]["ItemPrice"] == {"CurrencyCode": "EUR", "Amount": "178.00"}
    with pytest.raises(ValueError, match="Amazon would not sell"):
        world.sandbox.place_order([("SKU-1", 5, Decimal("89.00"))])
    raw = world.raw.get("/orders/v0/orders", params={"MarketplaceIds": MARKETPLACE})
    assert raw.status_code == 400
    assert json.loads(raw.text)["errors"][0]["code"] == "InvalidInput"


def test_search_orders_2026_needs_exactly_one_start_and_gives_each_dataset_only_when_asked() -> None:
    world = World(orders_page_size=2)
    world.sandbox.add_listing("SKU-1", "SHIRT", quantity=10)
    for _ in range(3):
        world.sandbox.place_order([("SKU-1", 2, Decimal("89.00"))])
    first = world.client.search_orders(last_updated_after=START)
    assert (len(first.orders), first.next_token) == (3, None), "maxResultsPerPage defaults to 100"
    order = first.orders[0]
    assert order["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"
    assert order["orderItems"][0]["product"]["price"]["unitPrice"] == {"amount": "89.00", "currencyCode": "EUR"}
    bare = world.raw.get("/orders/2026-01-01/orders", params={"createdAfter": "2026-11-27T00:00:00Z"})
    assert bare.status_code == 200
    assert "fulfillment" not in bare.json()["orders"][0]
    assert "buyer" not in bare.json()["orders"][0]
    both = world.raw.get(
        "/orders/2026-01-01/orders",
        params={"createdAfter": "2026-11-27T00:00:00Z", "lastUpdatedAfter": "2026-11-27T00:00:00Z"},
    )
    assert both.status_code == 400
    assert both.json()["errors"][0]["code"] == "InvalidInput"
    paged = world.raw.get(
        "/orders/2026-01-01/orders", params={"lastUpdatedAfter": "2026-11-27T00:00:00Z", "maxResultsPerPage": 2}
    )
    token = paged.json()["pagination"]["nextToken"]
    assert len(world.client.search_orders(pagination_token=token).orders) == 1


def test_confirm_shipment_ships_a_package_of_some_items_and_refuses_more_than_unshipped() -> None:
    world = World()
    world.sandbox.add_listing("SKU-1", "SHIRT", quantity=10)
    order = world.sandbox.place_order([("SKU-1", 3, Decimal("89.00"))])
    item = order.items[0].order_item_id
    package = {
        "packageReferenceId": "1",
        "carrierCode": "DHL",
        "trackingNumber": "00340434161234567890",
        "shipDate": "2026-11-27T09:00:00Z",
        "orderItems": [{"orderItemId": item, "quantity": 2}],
    }
    world.client.confirm_shipment(order.amazon_order_id, MARKETPLACE, package)
    assert (order.status, order.items[0].quantity_shipped) == ("PartiallyShipped", 2)
    world.client.confirm_shipment(order.amazon_order_id, MARKETPLACE, package)  # the same package again
    assert order.items[0].quantity_shipped == 2
    too_many = {**package, "packageReferenceId": "2", "orderItems": [{"orderItemId": item, "quantity": 2}]}
    with pytest.raises(AmazonRejected, match="exceeds what is unshipped"):
        world.client.confirm_shipment(order.amazon_order_id, MARKETPLACE, too_many)
    other = {
        **package,
        "packageReferenceId": "2",
        "carrierCode": "Other",
        "orderItems": [{"orderItemId": item, "quantity": 1}],
    }
    with pytest.raises(AmazonRejected, match="carrierName is required"):
        world.client.confirm_shipment(order.amazon_order_id, MARKETPLACE, other)
    world.client.confirm_shipment(order.amazon_order_id, MARKETPLACE, {**other, "carrierName": "Hermes"})
    assert order.status == "Shipped"
    [seen] = world.client.search_orders(last_updated_after=START).orders
    assert [(p["trackingNumber"], p["packageItems"]) for p in seen["packages"]] == [
        ("00340434161234567890", [{"orderItemId": item, "quantity": 2}]),
        ("00340434161234567890", [{"orderItemId": item, "quantity": 1}]),
    ]
