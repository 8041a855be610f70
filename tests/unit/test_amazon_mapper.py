"""Contract tests of the Amazon mapper on the fixtures copied from Amazon's own documentation and models
(``tests/fixtures/marketplaces``), and its defined behaviour on the awkward cases."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from seamline.channels.amazon import mapper
from seamline.channels.canonical import OrderCancellation, OrderMapping, OrderVerdict, SkipReason
from tests.paths import FIXTURES as FIXTURE_ROOT

FIXTURES = FIXTURE_ROOT / "marketplaces"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_the_patch_body_is_the_documented_merge_example_plus_the_required_product_type() -> None:
    example = fixture("amazon_patchListingsItem_merge_quantity.json")
    body = mapper.patch_listing_body("SHIRT", 20)
    assert body["patches"] == example["patches"]
    assert body["productType"] == "SHIRT"


def test_a_patch_without_product_type_or_with_a_bad_quantity_is_refused_before_it_is_sent() -> None:
    with pytest.raises(ValueError, match="productType"):
        mapper.patch_listing_body("", 1)
    with pytest.raises(ValueError, match="whole number"):
        mapper.patch_listing_body("SHIRT", -1)
    with pytest.raises(ValueError, match="op"):
        mapper.patch_listing_body("SHIRT", 1, op="add")


def test_every_message_of_the_documented_feed_example_is_read_with_the_quantity_it_sets() -> None:
    messages = mapper.read_feed(fixture("amazon_json_listings_feed_example.json"))
    assert [(m.message_id, m.sku, m.operation, m.quantity, m.fulfillment_channel_code) for m in messages] == [
        (1, "My-SKU-A", "DELETE", None, None),
        (2, "My-SKU-B", "PARTIAL_UPDATE", 10, "DEFAULT"),
        (3, "My-SKU-C", "UPDATE", 10, "AMAZON_NA"),
        (4, "My-SKU-D", "PATCH", 10, "DEFAULT"),
        (5, "My-SKU-E", "PATCH", 10, "DEFAULT"),
    ]


def test_the_feed_we_write_has_the_shape_of_the_documented_example_and_reads_back() -> None:
    example = fixture("amazon_json_listings_feed_example.json")
    ours = mapper.listings_feed(
        "AXXXXXXXXXXXX",
        [mapper.AvailabilityUpdate("My-SKU-E", "LUGGAGE", 10)],
        issue_locale="en_US",
    )
    documented = example["messages"][4]  # the PATCH/merge message
    assert {**ours["messages"][0], "messageId": 5} == documented
    assert dict(ours["header"].items()) == {k: v for k, v in example["header"].items() if k != "report"}
    assert [(m.sku, m.quantity) for m in mapper.read_feed(ours)] == [("My-SKU-E", 10)]


def test_a_feed_holds_at_most_25000_messages_and_chunks_split_larger_runs() -> None:
    updates = [mapper.AvailabilityUpdate(f"SKU-{n}", "SHIRT", n % 7) for n in range(25_001)]
    with pytest.raises(ValueError, match="25000"):
        mapper.listings_feed("SELLER", updates)
    parts = mapper.chunks(updates)
    assert [len(p) for p in parts] == [25_000, 1]
    assert mapper.listings_feed("SELLER", parts[0])["messages"][-1]["messageId"] == 25_000


def test_a_bad_feed_document_is_a_mapping_error() -> None:
    with pytest.raises(mapper.MappingError):
        mapper.read_feed({"header": {"sellerId": "S", "version": "1.0"}, "messages": []})
    with pytest.raises(mapper.MappingError):
        mapper.read_feed({"header": {"sellerId": "S", "version": "2.0"}, "messages": [{"messageId": 1}]})


def test_a_processing_report_groups_issues_by_message() -> None:
    report = mapper.parse_processing_report(
        {
            "header": {"sellerId": "S", "version": "2.0", "feedId": "123"},
            "issues": [
                {"messageId": 4, "sku": "B", "code": "90220", "severity": "ERROR", "message": "required"},
                {
                    "messageId": 5,
                    "sku": "C",
                    "code": "99022",
                    "severity": "WARNING",
                    "message": "note",
                    "attributeName": "purchasable_offer.our_price",
                },
            ],
            "summary": {
                "errors": 1,
                "warnings": 1,
                "messagesProcessed": 5,
                "messagesAccepted": 4,
                "messagesInvalid": 1,
            },
        }
    )
    assert report.feed_id == "123"
    assert report.refused(4)
    assert not report.refused(5)
    assert not report.refused(1)
    assert report.issues[5][0].attribute_names == ("purchasable_offer.our_price",)


def amazon_order(**overrides: Any) -> dict[str, Any]:
    order = {
        "AmazonOrderId": "302-0000001-0007919",
        "PurchaseDate": "2026-11-27T08:00:00Z",
        "LastUpdateDate": "2026-11-27T08:01:00Z",
        "OrderStatus": "Unshipped",
        "FulfillmentChannel": "MFN",
        "OrderTotal": {"CurrencyCode": "EUR", "Amount": "178.00"},
        "BuyerInfo": {"BuyerEmail": "x1y2@marketplace.amazon.de"},
    }
    order.update(overrides)
    return order


def item(sku: str = "OVS-001-NVY-M", qty: int = 2, line_total: str = "178.00") -> dict[str, Any]:
    return {
        "ASIN": "B000000001",
        "SellerSKU": sku,
        "OrderItemId": "11111",
        "QuantityOrdered": qty,
        "ItemPrice": {"CurrencyCode": "EUR", "Amount": line_total},
    }


def test_an_order_line_price_is_the_line_total_divided_by_the_quantity() -> None:
    mapped = mapper.map_order(amazon_order(), [item()], known_skus={"OVS-001-NVY-M"}, currency="EUR")
    assert isinstance(mapped, OrderMapping)
    assert mapped.verdict is OrderVerdict.ACCEPT
    [line] = mapped.stock_lines
    assert (line.sku, line.qty, line.unit_price) == ("OVS-001-NVY-M", 2, Decimal("89.0000"))
    assert mapped.order.customer is not None
    assert mapped.order.customer.email == "x1y2@marketplace.amazon.de"


def test_fba_orders_are_amazons_stock_and_cancelled_orders_are_cancellations() -> None:
    fba = mapper.map_order(amazon_order(FulfillmentChannel="AFN"), [item()], known_skus={"OVS-001-NVY-M"})
    assert isinstance(fba, OrderMapping)
    assert fba.verdict is OrderVerdict.IGNORE_NOTHING_TO_FULFIL
    cancelled = mapper.map_order(amazon_order(OrderStatus="Canceled"), [], known_skus=set())
    assert isinstance(cancelled, OrderCancellation)
    assert cancelled.external_id == "302-0000001-0007919"


def test_an_unknown_seller_sku_holds_the_order_and_a_foreign_currency_too() -> None:
    held = mapper.map_order(amazon_order(), [item(sku="NOT-OURS")], known_skus={"OVS-001-NVY-M"})
    assert isinstance(held, OrderMapping)
    assert held.verdict is OrderVerdict.HOLD_UNKNOWN_SKU
    assert held.skipped[0].reason is SkipReason.UNKNOWN_SKU
    foreign = mapper.map_order(amazon_order(), [item()], known_skus={"OVS-001-NVY-M"}, currency="GBP")
    assert isinstance(foreign, OrderMapping)
    assert foreign.verdict is OrderVerdict.HOLD_FOREIGN_CURRENCY
    mapped = mapper.map_order(
        amazon_order(), [item(sku="AMZ-1")], known_skus={"OVS-001-NVY-M"}, seller_skus={"AMZ-1": "OVS-001-NVY-M"}
    )
    assert isinstance(mapped, OrderMapping)
    assert mapped.stock_lines[0].sku == "OVS-001-NVY-M"


def _order_2026(status: str = "UNSHIPPED", fulfilled_by: str = "MERCHANT", **extra: Any) -> dict[str, Any]:
    """The shape of the Orders API 2026-01-01 ``searchOrders`` example, with the FULFILLMENT dataset."""
    return {
        "orderId": "123-4567890-1234567",
        "createdTime": "2026-11-27T08:00:00Z",
        "lastUpdatedTime": "2026-11-27T08:01:00Z",
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9", "marketplaceName": "Amazon.de"},
        "buyer": {"buyerName": "Ada", "buyerEmail": "ada@marketplace.amazon.de"},
        "fulfillment": {"fulfillmentStatus": status, "fulfilledBy": fulfilled_by},
        "orderItems": [
            {
                "orderItemId": "11111111111111",
                "quantityOrdered": 2,
                "product": {
                    "asin": "B0TEST0001",
                    "title": "Navy overshirt M",
                    "sellerSku": "OVS-001-NVY-M",
                    "price": {"unitPrice": {"amount": "89.00", "currencyCode": "EUR"}},
                },
            }
        ],
        **extra,
    }


def test_a_2026_order_maps_its_items_unit_price_and_buyer() -> None:
    mapped = mapper.map_order_2026(_order_2026(), known_skus={"OVS-001-NVY-M"}, currency="EUR")
    assert isinstance(mapped, OrderMapping)
    assert mapped.verdict is OrderVerdict.ACCEPT
    [line] = mapped.stock_lines
    assert (line.line_id, line.sku, line.qty, line.unit_price) == (
        "11111111111111",
        "OVS-001-NVY-M",
        2,
        Decimal("89.00"),
    )
    assert mapped.order.customer is not None
    assert mapped.order.customer.email == "ada@marketplace.amazon.de"


@pytest.mark.parametrize(
    ("order", "known", "verdict"),
    [
        (_order_2026(), set(), OrderVerdict.HOLD_UNKNOWN_SKU),
        (_order_2026(fulfilled_by="AMAZON"), {"OVS-001-NVY-M"}, OrderVerdict.IGNORE_NOTHING_TO_FULFIL),
        (_order_2026(status="PENDING_AVAILABILITY"), {"OVS-001-NVY-M"}, OrderVerdict.IGNORE_NOTHING_TO_FULFIL),
    ],
)
def test_a_2026_order_is_held_or_ignored_by_the_same_rules_as_a_v0_one(
    order: dict[str, Any], known: set[str], verdict: OrderVerdict
) -> None:
    mapped = mapper.map_order_2026(order, known_skus=known, currency="EUR")
    assert isinstance(mapped, OrderMapping)
    assert mapped.verdict is verdict


def test_a_2026_order_in_another_currency_is_held_and_a_cancelled_one_is_a_cancellation() -> None:
    held = mapper.map_order_2026(_order_2026(), known_skus={"OVS-001-NVY-M"}, currency="GBP")
    assert isinstance(held, OrderMapping)
    assert held.verdict is OrderVerdict.HOLD_FOREIGN_CURRENCY
    cancelled = mapper.map_order_2026(_order_2026(status="CANCELLED"), known_skus=set())
    assert isinstance(cancelled, OrderCancellation)
    assert cancelled.external_id == "123-4567890-1234567"


def test_a_2026_order_without_the_fulfillment_dataset_is_refused_as_unreadable() -> None:
    order = _order_2026()
    del order["fulfillment"]
    with pytest.raises(mapper.MappingError, match="FULFILLMENT"):
        mapper.map_order_2026(order, known_skus=set())
