"""Telling Amazon that an order was cancelled or refunded, as pure functions: the XML order feeds and their
processing reports.

Neither the Orders API v0 nor the Orders API 2026-01-01 has a call that cancels or refunds an order (2026-01-01
has ``searchOrders`` and ``getOrder`` only: ``models/orders-api-model/orders_2026-01-01.json`` in
amzn/selling-partner-api-models); a seller does both through the Feeds API 2021-06-30 (``createFeedDocument``
→ upload → ``createFeed`` → ``getFeed`` → ``getFeedDocument``) with the XML order feeds, which have no JSON
equivalent (``JSON_LISTINGS_FEED`` covers listings only):

- ``POST_ORDER_ACKNOWLEDGEMENT_DATA`` (message type ``OrderAcknowledgement``): ``StatusCode`` ``Failure``
  cancels the whole order; ``Success`` with ``Item`` entries carrying a ``CancelReason`` cancels those
  items only. Each item names ``AmazonOrderItemCode``.
- ``POST_PAYMENT_ADJUSTMENT_DATA`` (message type ``OrderAdjustment``): per ``AdjustedItem`` an
  ``AdjustmentReason`` and ``ItemPriceAdjustments`` components (``Principal``, ``Tax``, ``Shipping``,
  ``ShippingTax``), each an ``Amount`` with its ``currency`` attribute: the money given back, positive.

Both are an ``AmazonEnvelope`` (``Header`` with ``DocumentVersion`` 1.01 and ``MerchantIdentifier``, then
``MessageType`` and numbered ``Message`` elements). The processing report Amazon leaves as the feed's result
document is an ``AmazonEnvelope`` of message type ``ProcessingReport``: ``StatusCode`` ``Complete``, a
``ProcessingSummary`` (``MessagesProcessed``, ``MessagesSuccessful``, ``MessagesWithError``,
``MessagesWithWarning``) and one ``Result`` per message with an error or warning (``MessageID``,
``ResultCode`` Error/Warning, ``ResultMessageCode``, ``ResultDescription``). Element names and reason codes as
in Amazon's XSDs (``amzn-envelope.xsd``, ``OrderAcknowledgement.xsd``, ``OrderAdjustment.xsd``,
``ProcessingReport.xsd``) as integrators use them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from seamline.channels.amazon.mapper import Issue, MappingError

ACKNOWLEDGEMENT_FEED = "POST_ORDER_ACKNOWLEDGEMENT_DATA"
ADJUSTMENT_FEED = "POST_PAYMENT_ADJUSTMENT_DATA"
XML_CONTENT_TYPE = "text/xml; charset=UTF-8"
DOCUMENT_VERSION = "1.01"
#: ``CancelReason`` of ``OrderAcknowledgement`` and ``AdjustmentReason`` of ``OrderAdjustment`` share this list.
REASONS = frozenset(
    {
        "NoInventory",
        "ShippingAddressUndeliverable",
        "CustomerExchange",
        "BuyerCanceled",
        "GeneralAdjustment",
        "CarrierCreditDecision",
        "RiskAssessmentInformationNotValid",
        "CarrierCoverageFailure",
        "CustomerReturn",
        "MerchandiseNotReceived",
    }
)
#: An order cancelled here before anything shipped: the units could not be served.
DEFAULT_CANCEL_REASON = "NoInventory"
#: Goods that came back.
DEFAULT_REFUND_REASON = "CustomerReturn"
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class CancelledItem:
    order_item_id: str
    reason: str = DEFAULT_CANCEL_REASON


@dataclass(frozen=True)
class Cancellation:
    """Cancel ``items`` of an Amazon order; no items: the whole order."""

    amazon_order_id: str
    items: tuple[CancelledItem, ...] = ()
    reason: str = DEFAULT_CANCEL_REASON
    merchant_order_id: str | None = None


@dataclass(frozen=True)
class AdjustedItem:
    """Money given back on one order item (each amount positive, in the order's currency)."""

    order_item_id: str
    principal: Decimal
    tax: Decimal = Decimal(0)
    shipping: Decimal = Decimal(0)
    shipping_tax: Decimal = Decimal(0)
    quantity: int | None = None
    reason: str = DEFAULT_REFUND_REASON

    @property
    def total(self) -> Decimal:
        return self.principal + self.tax + self.shipping + self.shipping_tax


@dataclass(frozen=True)
class Adjustment:
    amazon_order_id: str
    currency: str
    items: tuple[AdjustedItem, ...]


def _check_reason(reason: str) -> str:
    if reason not in REASONS:
        raise ValueError(f"{reason!r} is not one of Amazon's reasons ({', '.join(sorted(REASONS))})")
    return reason


def _envelope(seller_id: str, message_type: str) -> ET.Element:
    root = ET.Element("AmazonEnvelope")
    root.set("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
    root.set("xsi:noNamespaceSchemaLocation", "amzn-envelope.xsd")
    header = ET.SubElement(root, "Header")
    ET.SubElement(header, "DocumentVersion").text = DOCUMENT_VERSION
    ET.SubElement(header, "MerchantIdentifier").text = seller_id
    ET.SubElement(root, "MessageType").text = message_type
    return root


def _bytes(root: ET.Element) -> bytes:
    content: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return content


def acknowledgement_feed(seller_id: str, cancellations: Sequence[Cancellation]) -> bytes:
    """A ``POST_ORDER_ACKNOWLEDGEMENT_DATA`` document: message ``n`` cancels ``cancellations[n - 1]``."""
    if not cancellations:
        raise ValueError("a feed needs at least one message")
    root = _envelope(seller_id, "OrderAcknowledgement")
    for number, cancel in enumerate(cancellations, start=1):
        message = ET.SubElement(root, "Message")
        ET.SubElement(message, "MessageID").text = str(number)
        ack = ET.SubElement(message, "OrderAcknowledgement")
        ET.SubElement(ack, "AmazonOrderID").text = cancel.amazon_order_id
        if cancel.merchant_order_id:
            ET.SubElement(ack, "MerchantOrderID").text = cancel.merchant_order_id
        ET.SubElement(ack, "StatusCode").text = "Success" if cancel.items else "Failure"
        for item in cancel.items:
            entry = ET.SubElement(ack, "Item")
            ET.SubElement(entry, "AmazonOrderItemCode").text = item.order_item_id
            ET.SubElement(entry, "CancelReason").text = _check_reason(item.reason)
        if not cancel.items:
            _check_reason(cancel.reason)
    return _bytes(root)


def _component(parent: ET.Element, kind: str, amount: Decimal, currency: str) -> None:
    if amount == 0:
        return
    if amount < 0:
        raise ValueError(f"{kind} {amount}: an adjustment gives money back, its amounts are positive")
    component = ET.SubElement(parent, "Component")
    ET.SubElement(component, "Type").text = kind
    value = ET.SubElement(component, "Amount")
    value.set("currency", currency)
    value.text = str(amount.quantize(_CENT))


def adjustment_feed(seller_id: str, adjustments: Sequence[Adjustment]) -> bytes:
    """A ``POST_PAYMENT_ADJUSTMENT_DATA`` document: message ``n`` refunds ``adjustments[n - 1]``."""
    if not adjustments:
        raise ValueError("a feed needs at least one message")
    root = _envelope(seller_id, "OrderAdjustment")
    for number, adjustment in enumerate(adjustments, start=1):
        if not adjustment.items:
            raise ValueError(f"the adjustment of {adjustment.amazon_order_id} names no item")
        message = ET.SubElement(root, "Message")
        ET.SubElement(message, "MessageID").text = str(number)
        body = ET.SubElement(message, "OrderAdjustment")
        ET.SubElement(body, "AmazonOrderID").text = adjustment.amazon_order_id
        for item in adjustment.items:
            entry = ET.SubElement(body, "AdjustedItem")
            ET.SubElement(entry, "AmazonOrderItemCode").text = item.order_item_id
            ET.SubElement(entry, "AdjustmentReason").text = _check_reason(item.reason)
            prices = ET.SubElement(entry, "ItemPriceAdjustments")
            _component(prices, "Principal", item.principal, adjustment.currency)
            _component(prices, "Shipping", item.shipping, adjustment.currency)
            _component(prices, "Tax", item.tax, adjustment.currency)
            _component(prices, "ShippingTax", item.shipping_tax, adjustment.currency)
            if not len(prices):
                raise ValueError(f"item {item.order_item_id}: an adjustment of nothing")
            if item.quantity:
                ET.SubElement(entry, "QuantityCancelled").text = str(item.quantity)
    return _bytes(root)


# ---------------------------------------------------------------------- the processing report
@dataclass(frozen=True)
class OrderFeedReport:
    status: str
    processed: int
    successful: int
    with_error: int
    with_warning: int
    #: MessageID → its errors and warnings (a message with none succeeded).
    results: dict[int, tuple[Issue, ...]] = field(default_factory=dict)

    def errors(self, message_id: int) -> tuple[Issue, ...]:
        return tuple(i for i in self.results.get(message_id, ()) if i.severity == "ERROR")


def _int(parent: ET.Element, name: str) -> int:
    text = parent.findtext(name)
    try:
        return int(text or 0)
    except ValueError:
        raise MappingError(f"{name} {text!r} is not a whole number") from None


def parse_order_feed_report(content: bytes) -> OrderFeedReport:
    """An XML ``ProcessingReport`` → the summary and the issues per message."""
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        raise MappingError(f"the processing report is not XML: {exc}") from None
    report = root.find("./Message/ProcessingReport")
    if report is None:
        report = root if root.tag == "ProcessingReport" else root.find(".//ProcessingReport")
    if report is None:
        raise MappingError("no ProcessingReport in the document")
    summary = report.find("ProcessingSummary")
    if summary is None:
        raise MappingError("the ProcessingReport has no ProcessingSummary")
    results: dict[int, list[Issue]] = {}
    for result in report.findall("Result"):
        number = _int(result, "MessageID")
        code = (result.findtext("ResultCode") or "").strip()
        severity = "WARNING" if code == "Warning" else "ERROR"
        results.setdefault(number, []).append(
            Issue(
                (result.findtext("ResultDescription") or "").strip(),
                (result.findtext("ResultMessageCode") or "").strip() or None,
                severity,
            )
        )
    return OrderFeedReport(
        status=(report.findtext("StatusCode") or "").strip(),
        processed=_int(summary, "MessagesProcessed"),
        successful=_int(summary, "MessagesSuccessful"),
        with_error=_int(summary, "MessagesWithError"),
        with_warning=_int(summary, "MessagesWithWarning"),
        results={k: tuple(v) for k, v in results.items()},
    )
