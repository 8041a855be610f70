"""The sandbox's processing of Amazon's XML order feeds, as a seller's feed is processed:
``POST_ORDER_ACKNOWLEDGEMENT_DATA`` (``OrderAcknowledgement``: ``StatusCode`` ``Failure`` cancels the whole
order, ``Success`` with ``Item``/``CancelReason`` entries cancels those items) and
``POST_PAYMENT_ADJUSTMENT_DATA`` (``OrderAdjustment``: per ``AdjustedItem`` an ``AdjustmentReason`` and
``ItemPriceAdjustments`` components). Each message is applied on its own; the processing report (an
``AmazonEnvelope`` of message type ``ProcessingReport``) counts them and has one ``Result`` per message in
error, so one bad message never sinks the others. Result message codes are the sandbox's own.

What Amazon refuses here: an order it does not know, one of another seller's marketplace, cancelling an order
that has shipped (a refund is an adjustment), refunding an order nothing of which has shipped (that is a
cancellation), a reason or component type outside Amazon's lists, a currency other than the order's, and
giving back more of a component than the buyer paid for it (over all adjustments of the item)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from seamline.sandbox.amazon.state import Listing, Order, OrderItem

ACKNOWLEDGEMENT_FEED = "POST_ORDER_ACKNOWLEDGEMENT_DATA"
ADJUSTMENT_FEED = "POST_PAYMENT_ADJUSTMENT_DATA"
ORDER_FEEDS = {ACKNOWLEDGEMENT_FEED: "OrderAcknowledgement", ADJUSTMENT_FEED: "OrderAdjustment"}
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
COMPONENTS = ("Principal", "Shipping", "Tax", "ShippingTax")


class Refused(Exception):
    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@dataclass
class Outcome:
    processed: int = 0
    successful: int = 0
    #: (message id, code, description) per message in error.
    errors: list[tuple[int, str, str]] = field(default_factory=list)
    fatal: str | None = None


def _text(parent: ET.Element, name: str) -> str:
    return (parent.findtext(name) or "").strip()


def process(
    feed_type: str,
    content: bytes,
    *,
    seller_id: str,
    marketplace_ids: list[str],
    orders: dict[str, Order],
    listings: dict[str, Listing],
    now: datetime,
) -> Outcome:
    """Apply an order feed's messages to the sandbox's orders; answers what the report says."""
    outcome = Outcome()
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        outcome.fatal = f"The feed document is not well-formed XML: {exc}"
        return outcome
    header = root.find("Header")
    if root.tag != "AmazonEnvelope" or header is None:
        outcome.fatal = "The document is not an AmazonEnvelope with a Header."
        return outcome
    if _text(header, "MerchantIdentifier") != seller_id:
        outcome.fatal = "The MerchantIdentifier is not this seller."
        return outcome
    expected = ORDER_FEEDS[feed_type]
    if _text(root, "MessageType") != expected:
        outcome.fatal = f"A {feed_type} feed carries MessageType {expected}, not {_text(root, 'MessageType')!r}."
        return outcome
    seen: set[int] = set()
    for message in root.findall("Message"):
        outcome.processed += 1
        try:
            number = int(_text(message, "MessageID"))
        except ValueError:
            number = 0
        try:
            if number < 1 or number in seen:
                raise Refused("90001", "MessageID must be a unique whole number from 1.")
            seen.add(number)
            body = message.find(expected)
            if body is None:
                raise Refused("90002", f"The message has no {expected} element.")
            order = orders.get(_text(body, "AmazonOrderID"))
            if order is None or order.marketplace_id not in marketplace_ids:
                raise Refused("18028", f"The order {_text(body, 'AmazonOrderID')!r} was not found for this seller.")
            if feed_type == ACKNOWLEDGEMENT_FEED:
                _acknowledge(order, body, listings, now)
            else:
                _adjust(order, body, now)
        except Refused as refused:
            outcome.errors.append((number, refused.code, refused.description))
            continue
        outcome.successful += 1
    if outcome.processed == 0:
        outcome.fatal = "The feed has no messages."
    return outcome


def _item(order: Order, code: str) -> OrderItem:
    for item in order.items:
        if item.order_item_id == code:
            return item
    raise Refused("18025", f"The order item {code!r} is not in order {order.amazon_order_id}.")


def _reason(value: str) -> str:
    if value not in REASONS:
        raise Refused("18100", f"{value!r} is not a valid reason.")
    return value


def _acknowledge(order: Order, body: ET.Element, listings: dict[str, Listing], now: datetime) -> None:
    status = _text(body, "StatusCode")
    if status not in ("Success", "Failure"):
        raise Refused("90003", "StatusCode must be Success or Failure.")
    entries = body.findall("Item")
    # Validate the whole message before changing anything.
    reasons = {
        _text(e, "AmazonOrderItemCode"): _reason(_text(e, "CancelReason")) for e in entries if _text(e, "CancelReason")
    }
    for code in reasons:
        _item(order, code)
    cancel: list[tuple[OrderItem, str]] = []
    if status == "Failure":
        cancel = [(item, reasons.get(item.order_item_id, "NoInventory")) for item in order.items]
    else:
        cancel = [(_item(order, code), reason) for code, reason in reasons.items()]
    if not cancel:
        return  # an acknowledgement that cancels nothing
    if order.status == "Canceled":
        raise Refused("18200", f"Order {order.amazon_order_id} is already cancelled.")
    if any(item.quantity_shipped for item, _ in cancel) or order.status not in ("Pending", "Unshipped"):
        raise Refused(
            "18201",
            f"Order {order.amazon_order_id} is {order.status}: shipped units cannot be cancelled; refund them with "
            "a payment adjustment.",
        )
    for item, reason in cancel:
        units = item.quantity - item.quantity_cancelled
        item.quantity_cancelled += units
        item.cancelled_by, item.cancel_reason = "MERCHANT", reason
        listing = listings.get(item.seller_sku)
        if order.fulfillment_channel == "MFN" and listing is not None:  # Amazon puts the units back on sale
            listing.availability["DEFAULT"] = listing.availability.get("DEFAULT", 0) + units
    if all(i.quantity_cancelled >= i.quantity for i in order.items):
        order.status = "Canceled"
    order.last_update_date = now


def _adjust(order: Order, body: ET.Element, now: datetime) -> None:
    if not any(item.quantity_shipped for item in order.items):
        raise Refused(
            "18202",
            f"Order {order.amazon_order_id} has not shipped: cancel it with an order acknowledgement instead.",
        )
    entries = body.findall("AdjustedItem")
    if not entries:
        raise Refused("90004", "An OrderAdjustment needs at least one AdjustedItem.")
    planned: list[dict[str, Any]] = []
    pending: dict[tuple[str, str], Decimal] = {}
    for entry in entries:
        item = _item(order, _text(entry, "AmazonOrderItemCode"))
        reason = _reason(_text(entry, "AdjustmentReason"))
        components: dict[str, Decimal] = {}
        prices = entry.find("ItemPriceAdjustments")
        for component in [] if prices is None else prices.findall("Component"):
            kind = _text(component, "Type")
            if kind not in COMPONENTS:
                raise Refused("18103", f"Component type {kind!r} is not one of {', '.join(COMPONENTS)}.")
            amount_element = component.find("Amount")
            if amount_element is None:
                raise Refused("18104", f"The {kind} component has no Amount.")
            if amount_element.get("currency") != order.currency:
                raise Refused("18105", f"Amounts of order {order.amazon_order_id} are in {order.currency}.")
            try:
                amount = Decimal((amount_element.text or "").strip())
            except InvalidOperation:
                raise Refused("18104", f"The {kind} amount is not a number.") from None
            if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
                raise Refused("18104", f"The {kind} amount must be positive, to the cent.")
            components[kind] = components.get(kind, Decimal(0)) + amount
        if not components:
            raise Refused("18106", f"Item {item.order_item_id}: an adjustment needs ItemPriceAdjustments.")
        paid = {
            "Principal": item.unit_price * item.quantity - item.discount,
            "Tax": item.tax,
            "Shipping": item.shipping - item.shipping_discount,
            "ShippingTax": item.shipping_tax,
        }
        for kind, amount in components.items():
            before = order.refunded(item.order_item_id, kind) + pending.get((item.order_item_id, kind), Decimal(0))
            if before + amount > paid[kind]:
                raise Refused(
                    "18107",
                    f"Item {item.order_item_id}: {kind} of {before + amount} {order.currency} would exceed the "
                    f"{paid[kind]} {order.currency} the buyer paid.",
                )
        for kind, amount in components.items():
            pending[(item.order_item_id, kind)] = pending.get((item.order_item_id, kind), Decimal(0)) + amount
        quantity = _text(entry, "QuantityCancelled")
        planned.append(
            {
                "orderItemId": item.order_item_id,
                "reason": reason,
                "components": components,
                "quantity": int(quantity) if quantity.isdigit() else None,
                "postedDate": now,
            }
        )
    order.adjustments.extend(planned)
    order.last_update_date = now


def report(seller_id: str, feed_id: str, outcome: Outcome) -> bytes:
    """The ``ProcessingReport`` envelope for an order feed."""
    root = ET.Element("AmazonEnvelope")
    header = ET.SubElement(root, "Header")
    ET.SubElement(header, "DocumentVersion").text = "1.02"
    ET.SubElement(header, "MerchantIdentifier").text = seller_id
    ET.SubElement(root, "MessageType").text = "ProcessingReport"
    message = ET.SubElement(root, "Message")
    ET.SubElement(message, "MessageID").text = "1"
    body = ET.SubElement(message, "ProcessingReport")
    ET.SubElement(body, "DocumentTransactionID").text = feed_id
    ET.SubElement(body, "StatusCode").text = "Complete"
    summary = ET.SubElement(body, "ProcessingSummary")
    errors = outcome.errors if outcome.fatal is None else [(0, "90000", outcome.fatal)]
    ET.SubElement(summary, "MessagesProcessed").text = str(outcome.processed)
    ET.SubElement(summary, "MessagesSuccessful").text = str(outcome.successful)
    ET.SubElement(summary, "MessagesWithError").text = str(len({n for n, _, _ in errors}))
    ET.SubElement(summary, "MessagesWithWarning").text = "0"
    for number, code, description in errors:
        result = ET.SubElement(body, "Result")
        ET.SubElement(result, "MessageID").text = str(number)
        ET.SubElement(result, "ResultCode").text = "Error"
        ET.SubElement(result, "ResultMessageCode").text = code
        ET.SubElement(result, "ResultDescription").text = description
    content: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return content
