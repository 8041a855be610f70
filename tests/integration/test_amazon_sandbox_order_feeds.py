"""The Amazon sandbox's order feeds with the SP-API client: an order acknowledgement cancels, a payment
adjustment refunds, each feed goes IN_QUEUE → IN_PROGRESS → DONE on the sandbox clock, and its XML processing
report has one result per message in error while the good messages of the same feed apply. Also the
``PROCEEDS`` dataset: an order's money as Amazon computed it."""

from __future__ import annotations

from decimal import Decimal

from seamline.channels.amazon.order_feeds import (
    ACKNOWLEDGEMENT_FEED,
    ADJUSTMENT_FEED,
    AdjustedItem,
    Adjustment,
    Cancellation,
    CancelledItem,
    acknowledgement_feed,
    adjustment_feed,
)
from tests.integration.test_amazon_sandbox import World

SKU, OTHER = "SKU-1", "SKU-2"


def shipped_order(world: World) -> str:
    world.sandbox.add_listing(SKU, "SHIRT", quantity=5)
    world.sandbox.add_listing(OTHER, "SHIRT", quantity=5)
    order = world.sandbox.place_order(
        [(SKU, 2, Decimal("50.00")), (OTHER, 1, Decimal("30.00"))], tax_rate=Decimal("0.19")
    )
    item = order.items[0].order_item_id
    world.client.confirm_shipment(
        order.amazon_order_id,
        order.marketplace_id,
        {
            "packageReferenceId": "1",
            "carrierCode": "DHL",
            "trackingNumber": "T1",
            "shipDate": "2026-11-27T08:00:00Z",
            "orderItems": [{"orderItemId": item, "quantity": 2}],
        },
    )
    return order.amazon_order_id


def test_a_feed_is_queued_then_in_progress_then_done_with_its_report() -> None:
    world = World(feed_processing_seconds=120)
    world.sandbox.add_listing(SKU, "SHIRT", quantity=3)
    order = world.sandbox.place_order([(SKU, 1, Decimal("50.00"))])
    feed = world.client.submit_order_feed(
        ACKNOWLEDGEMENT_FEED, acknowledgement_feed(world.config.seller_id, [Cancellation(order.amazon_order_id)])
    )
    assert world.client.order_feed_result(feed) == ("IN_QUEUE", None)
    world.clock.advance(61)
    assert world.client.order_feed_result(feed) == ("IN_PROGRESS", None)
    assert order.status == "Unshipped"
    world.clock.advance(60)
    status, report = world.client.order_feed_result(feed)
    assert status == "DONE"
    assert report is not None
    assert (report.processed, report.successful, report.with_error) == (1, 1, 0)
    assert order.status == "Canceled"
    assert world.sandbox.quantity(SKU) == 3  # the cancelled unit is back on sale


def test_one_bad_message_is_reported_and_the_others_of_the_feed_apply() -> None:
    world = World()
    shipped = shipped_order(world)
    open_order = world.sandbox.place_order([(OTHER, 1, Decimal("30.00"))])
    cancellations = [
        Cancellation("302-0000000-0000000"),  # no such order
        Cancellation(shipped),  # shipped in part: cannot be cancelled
        Cancellation(open_order.amazon_order_id, (CancelledItem(open_order.items[0].order_item_id, "BuyerCanceled"),)),
    ]
    feed = world.client.submit_order_feed(
        ACKNOWLEDGEMENT_FEED, acknowledgement_feed(world.config.seller_id, cancellations)
    )
    status, report = world.client.order_feed_result(feed)
    assert status == "DONE"
    assert report is not None
    assert (report.processed, report.successful, report.with_error) == (3, 1, 2)
    assert [i.code for i in report.errors(1)] == ["18028"]
    assert [i.code for i in report.errors(2)] == ["18201"]
    assert report.errors(3) == ()
    assert open_order.status == "Canceled"
    assert open_order.items[0].cancel_reason == "BuyerCanceled"
    assert world.sandbox.orders[shipped].status == "PartiallyShipped"


def test_a_refund_is_booked_per_component_and_never_beyond_what_the_buyer_paid() -> None:
    world = World()
    shipped = shipped_order(world)
    order = world.sandbox.orders[shipped]
    item = order.items[0]
    assert (item.tax, item.proceeds) == (Decimal("19.00"), Decimal("119.00"))
    first = Adjustment(
        shipped, "EUR", (AdjustedItem(item.order_item_id, Decimal("50.00"), tax=Decimal("9.50"), quantity=1),)
    )
    too_much = Adjustment(shipped, "EUR", (AdjustedItem(item.order_item_id, Decimal("60.00"), quantity=1),))
    wrong_currency = Adjustment(shipped, "GBP", (AdjustedItem(item.order_item_id, Decimal("1.00")),))
    content = adjustment_feed(world.config.seller_id, [first, too_much, wrong_currency])
    _, report = world.client.order_feed_result(world.client.submit_order_feed(ADJUSTMENT_FEED, content))
    assert report is not None
    assert (report.successful, report.with_error) == (1, 2)
    assert [i.code for i in report.errors(2)] == ["18107"]  # 50 + 60 > the 100.00 paid for the item
    assert [i.code for i in report.errors(3)] == ["18105"]
    assert (order.refunded(item.order_item_id, "Principal"), order.refunded(item.order_item_id, "Tax")) == (
        Decimal("50.00"),
        Decimal("9.50"),
    )


def test_an_order_nothing_of_which_shipped_is_cancelled_not_refunded() -> None:
    world = World()
    world.sandbox.add_listing(SKU, "SHIRT", quantity=3)
    order = world.sandbox.place_order([(SKU, 1, Decimal("50.00"))])
    refund = Adjustment(order.amazon_order_id, "EUR", (AdjustedItem(order.items[0].order_item_id, Decimal("50.00")),))
    content = adjustment_feed(world.config.seller_id, [refund])
    _, report = world.client.order_feed_result(world.client.submit_order_feed(ADJUSTMENT_FEED, content))
    assert report is not None
    assert [i.code for i in report.errors(1)] == ["18202"]
    assert order.adjustments == []


def test_a_feed_whose_envelope_is_not_the_sellers_ends_fatal_and_changes_nothing() -> None:
    world = World()
    world.sandbox.add_listing(SKU, "SHIRT", quantity=3)
    order = world.sandbox.place_order([(SKU, 1, Decimal("50.00"))])
    content = acknowledgement_feed("SOMEONE-ELSE", [Cancellation(order.amazon_order_id)])
    status, report = world.client.order_feed_result(world.client.submit_order_feed(ACKNOWLEDGEMENT_FEED, content))
    assert status == "FATAL"
    assert report is not None
    assert report.with_error == 1
    assert order.status == "Unshipped"


def test_search_orders_gives_each_items_proceeds_and_the_grand_total_when_asked() -> None:
    world = World()
    world.sandbox.add_listing(SKU, "SHIRT", quantity=3)
    world.sandbox.place_order(
        [(SKU, 2, Decimal("50.00"))],
        tax_rate=Decimal("0.19"),
        shipping=Decimal("4.99"),
        promotions={SKU: Decimal("10.00")},
    )
    page = world.client.search_orders(last_updated_after="2026-11-01T00:00:00Z")
    [order] = page.orders
    assert order["proceeds"]["grandTotal"] == {"amount": "113.04", "currencyCode": "EUR"}  # 90 + 4.99 + 17.10 + 0.95
    breakdowns = {b["type"]: b for b in order["orderItems"][0]["proceeds"]["breakdowns"]}
    assert breakdowns["ITEM"]["subtotal"]["amount"] == "100.00"
    assert breakdowns["DISCOUNT"]["subtotal"]["amount"] == "-10.00"
    assert [d["value"]["amount"] for d in breakdowns["TAX"]["detailedBreakdowns"]] == ["17.10", "0.95"]
    assert order["recipient"]["deliveryAddress"]["countryCode"] == "DE"
