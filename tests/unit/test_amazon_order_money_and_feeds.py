"""Pure tests of what Amazon's orders are worth and of the order feeds that tell Amazon of cancellations and
refunds: the commercial truth read from Amazon's published ``getOrder`` example (Orders API 2026-01-01,
``tests/fixtures/marketplaces``), the XML documents the connector builds, and the processing report it
reads."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

import pytest

from seamline.channels.amazon import mapper, order_feeds
from seamline.channels.amazon.connector import refund_adjustment
from seamline.channels.amazon.order_feeds import AdjustedItem, Adjustment, Cancellation, CancelledItem
from seamline.channels.canonical import OrderMapping
from seamline.domain.commerce import OrderCommerce, RefundAdjustment, RefundCommerce, RefundedLine
from seamline.finance.channel import Unreproducible, check_order
from tests.paths import FIXTURES

EXAMPLE = FIXTURES / "marketplaces" / "amazon_getOrder_2026-01-01_example.json"


def example_order() -> dict[str, Any]:
    order: dict[str, Any] = json.loads(EXAMPLE.read_text())["order"]
    order["fulfillment"]["fulfillmentStatus"] = "UNSHIPPED"  # the example has shipped; ours is still to ship
    return order


def test_amazons_published_order_maps_to_its_commercial_truth_and_adds_up_to_its_grand_total() -> None:
    mapped = mapper.map_order_2026(example_order(), known_skus={"ECHO-DOT-4-UK-CHARCOAL-3PACK"})
    assert isinstance(mapped, OrderMapping)
    commerce = mapped.order.commerce
    assert commerce is not None
    assert commerce.channel_total == Decimal("103.97")
    assert mapped.order.total == Decimal("103.97")
    # ITEM 89.97 + SHIPPING 10.00 + TAX 4.00 = 103.97: Amazon adds the tax, so its amounts exclude it.
    assert commerce.taxes_included is False
    [line] = commerce.lines
    assert (line.qty, line.unit_price, line.gross, line.tax, line.order_line_no) == (
        3,
        Decimal("29.99"),
        Decimal("89.97"),
        Decimal("3.00"),
        1,
    )
    [ship] = commerce.shipping
    assert (ship.price, ship.tax) == (Decimal("10.00"), Decimal("1.00"))
    assert commerce.computed_total == commerce.channel_total
    check_order(commerce, "GBP")  # finance can invoice it as it is
    assert commerce.ship_to is not None
    assert (commerce.ship_to.city, commerce.ship_to.country) == ("Manchester", "GB")
    assert commerce.customer["email"] == "buyer-email@marketplace.amazon.co.uk"
    assert [(p.tender, p.amount) for p in commerce.payments] == [("amazon", Decimal("103.97"))]


def test_a_discount_is_money_off_the_line_and_its_shipping_whatever_its_sign() -> None:
    order = example_order()
    item = order["orderItems"][0]
    money = {"currencyCode": "GBP"}
    item["proceeds"]["breakdowns"].append(
        {
            "type": "DISCOUNT",
            "subtotal": {**money, "amount": "-7.00"},
            "detailedBreakdowns": [
                {"subtype": "ITEM", "value": {**money, "amount": "-5.00"}},
                {"subtype": "SHIPPING", "value": {**money, "amount": "-2.00"}},
            ],
        }
    )
    order["proceeds"]["grandTotal"]["amount"] = "96.97"
    mapped = mapper.map_order_2026(order, known_skus={"ECHO-DOT-4-UK-CHARCOAL-3PACK"})
    assert isinstance(mapped, OrderMapping)
    commerce = mapped.order.commerce
    assert commerce is not None
    assert (commerce.lines[0].discount, commerce.shipping[0].discount) == (Decimal("5.00"), Decimal("2.00"))
    assert commerce.computed_total == Decimal("96.97") == commerce.channel_total


def test_a_grand_total_the_items_do_not_add_up_to_is_kept_as_sent_so_finance_holds_it() -> None:
    order = example_order()
    order["proceeds"]["grandTotal"]["amount"] = "110.00"
    mapped = mapper.map_order_2026(order, known_skus={"ECHO-DOT-4-UK-CHARCOAL-3PACK"})
    assert isinstance(mapped, OrderMapping)
    commerce = mapped.order.commerce
    assert commerce is not None
    assert commerce.channel_total == Decimal("110.00")
    with pytest.raises(Unreproducible, match="order total is 110.00"):
        check_order(commerce, "GBP")


def test_an_order_pulled_without_its_proceeds_has_no_commercial_truth() -> None:
    order = example_order()
    del order["proceeds"]
    mapped = mapper.map_order_2026(order, known_skus={"ECHO-DOT-4-UK-CHARCOAL-3PACK"})
    assert isinstance(mapped, OrderMapping)
    assert mapped.order.commerce is None


@pytest.mark.parametrize(
    ("tax", "net", "rate"),
    [
        (Decimal("31.92"), Decimal("168.00"), Decimal("0.19")),
        (Decimal("0.95"), Decimal("4.99"), Decimal("0.19")),
        (Decimal("7.70"), Decimal("100.00"), Decimal("0.077")),
        (Decimal("3.00"), Decimal("89.97"), Decimal("0.0333")),  # no round rate gives 3.00: kept to 4 places
        (Decimal("0"), Decimal("10.00"), Decimal("0")),
    ],
)
def test_the_rate_of_a_tax_amazon_sends_as_an_amount(tax: Decimal, net: Decimal, rate: Decimal) -> None:
    assert mapper.tax_rate(tax, net) == rate


def test_a_cancellation_is_an_order_acknowledgement_with_status_failure() -> None:
    content = order_feeds.acknowledgement_feed(
        "A2SELLER",
        [
            Cancellation("302-1", merchant_order_id="ord_1"),
            Cancellation("302-2", (CancelledItem("i-1", "BuyerCanceled"),)),
        ],
    )
    root = ET.fromstring(content)
    assert root.findtext("Header/MerchantIdentifier") == "A2SELLER"
    assert root.findtext("Header/DocumentVersion") == "1.01"
    assert root.findtext("MessageType") == "OrderAcknowledgement"
    first, second = root.findall("Message")
    assert first.findtext("MessageID") == "1"
    assert first.findtext("OrderAcknowledgement/AmazonOrderID") == "302-1"
    assert first.findtext("OrderAcknowledgement/MerchantOrderID") == "ord_1"
    assert first.findtext("OrderAcknowledgement/StatusCode") == "Failure"
    assert second.findtext("OrderAcknowledgement/StatusCode") == "Success"
    assert second.findtext("OrderAcknowledgement/Item/AmazonOrderItemCode") == "i-1"
    assert second.findtext("OrderAcknowledgement/Item/CancelReason") == "BuyerCanceled"
    with pytest.raises(ValueError, match="reasons"):
        order_feeds.acknowledgement_feed("A2SELLER", [Cancellation("302-1", reason="OutOfStock")])
    with pytest.raises(ValueError, match="at least one"):
        order_feeds.acknowledgement_feed("A2SELLER", [])


def test_a_refund_is_an_order_adjustment_with_positive_components_in_the_orders_currency() -> None:
    adjustment = Adjustment("302-1", "EUR", (AdjustedItem("i-1", Decimal("84"), tax=Decimal("15.96"), quantity=1),))
    root = ET.fromstring(order_feeds.adjustment_feed("A2SELLER", [adjustment]))
    assert root.findtext("MessageType") == "OrderAdjustment"
    item = root.find("Message/OrderAdjustment/AdjustedItem")
    assert item is not None
    assert item.findtext("AmazonOrderItemCode") == "i-1"
    assert item.findtext("AdjustmentReason") == "CustomerReturn"
    assert item.findtext("QuantityCancelled") == "1"
    components = [
        (c.findtext("Type"), c.findtext("Amount"), c.find("Amount").get("currency"))  # type: ignore[union-attr]
        for c in item.findall("ItemPriceAdjustments/Component")
    ]
    assert components == [("Principal", "84.00", "EUR"), ("Tax", "15.96", "EUR")]
    with pytest.raises(ValueError, match="positive"):
        order_feeds.adjustment_feed("A2SELLER", [Adjustment("302-1", "EUR", (AdjustedItem("i-1", Decimal("-1")),))])
    with pytest.raises(ValueError, match="nothing"):
        order_feeds.adjustment_feed("A2SELLER", [Adjustment("302-1", "EUR", (AdjustedItem("i-1", Decimal(0)),))])


REPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">
  <Header><DocumentVersion>1.02</DocumentVersion><MerchantIdentifier>A2SELLER</MerchantIdentifier></Header>
  <MessageType>ProcessingReport</MessageType>
  <Message>
    <MessageID>1</MessageID>
    <ProcessingReport>
      <DocumentTransactionID>50001</DocumentTransactionID>
      <StatusCode>Complete</StatusCode>
      <ProcessingSummary>
        <MessagesProcessed>3</MessagesProcessed><MessagesSuccessful>1</MessagesSuccessful>
        <MessagesWithError>1</MessagesWithError><MessagesWithWarning>1</MessagesWithWarning>
      </ProcessingSummary>
      <Result>
        <MessageID>2</MessageID><ResultCode>Error</ResultCode><ResultMessageCode>18028</ResultMessageCode>
        <ResultDescription>The order was not found.</ResultDescription>
      </Result>
      <Result>
        <MessageID>3</MessageID><ResultCode>Warning</ResultCode><ResultMessageCode>5001</ResultMessageCode>
        <ResultDescription>Reason defaulted.</ResultDescription>
      </Result>
    </ProcessingReport>
  </Message>
</AmazonEnvelope>"""


def test_the_processing_report_gives_each_messages_errors_and_warnings_apart() -> None:
    report = order_feeds.parse_order_feed_report(REPORT)
    assert (report.status, report.processed, report.successful, report.with_error, report.with_warning) == (
        "Complete",
        3,
        1,
        1,
        1,
    )
    assert report.errors(1) == ()
    assert [(i.code, i.message) for i in report.errors(2)] == [("18028", "The order was not found.")]
    assert report.errors(3) == ()  # a warning is not an error
    assert [i.severity for i in report.results[3]] == ["WARNING"]
    with pytest.raises(order_feeds.MappingError):
        order_feeds.parse_order_feed_report(b"<AmazonEnvelope><Message/></AmazonEnvelope>")
    with pytest.raises(order_feeds.MappingError):
        order_feeds.parse_order_feed_report(b"not xml")


def test_a_refund_that_gives_back_the_order_carries_each_items_shipping_and_its_tax() -> None:
    def ret(*adjustments: RefundAdjustment) -> dict[str, Any]:
        refund = RefundCommerce(
            "amazon", "ret_1", "EUR", (RefundedLine("I-2", 1, Decimal("79.00"), Decimal("15.01"), 2),), adjustments
        )
        return {"id": "ret_1", "currency": "EUR", "commerce": refund.as_json(), "lines": []}

    order = {"commerce": OrderCommerce("amazon", "EUR", "EUR", False, (), None).as_json()}
    items = {1: "I-1", 2: "I-2"}
    shipping = RefundAdjustment("shipping", Decimal("5.94"), Decimal("0.95"), mapper.shipping_title("I-1"))
    found = refund_adjustment("A-1", ret(shipping), order, items)
    assert [(i.order_item_id, i.principal, i.tax, i.shipping, i.shipping_tax) for i in found.items] == [
        ("I-2", Decimal("79.00"), Decimal("15.01"), Decimal(0), Decimal(0)),
        ("I-1", Decimal(0), Decimal(0), Decimal("4.99"), Decimal("0.95")),
    ]
    feed = ET.fromstring(order_feeds.adjustment_feed("SELLER", [found]))
    [_, charged_with] = feed.findall(".//AdjustedItem")
    assert [(c.findtext("Type"), c.findtext("Amount")) for c in charged_with.iter("Component")] == [
        ("Shipping", "4.99"),
        ("ShippingTax", "0.95"),
    ]
    # On the returned item itself when it is the one the shipping was charged with.
    on_it = RefundAdjustment("shipping", Decimal("5.94"), Decimal("0.95"), mapper.shipping_title("I-2"))
    [item] = refund_adjustment("A-1", ret(on_it), order, items).items
    assert (item.principal, item.shipping, item.shipping_tax, item.quantity) == (
        Decimal("79.00"),
        Decimal("4.99"),
        Decimal("0.95"),
        1,
    )
    # Amounts including tax (Amazon's inclusive figures): the whole shipping as Shipping.
    inclusive = {"commerce": OrderCommerce("amazon", "EUR", "EUR", True, (), None).as_json()}
    [item] = refund_adjustment("A-1", ret(on_it), inclusive, items).items
    assert (item.shipping, item.shipping_tax) == (Decimal("5.94"), Decimal(0))
