"""Amazon SP-API JSON ↔ canonical objects, as pure functions (tested on ``tests/fixtures/marketplaces``).

- **Availability** goes out as a Listings Items ``PATCH`` body: ``productType`` (required by the API, absent
  from the fixture) and one patch on ``/attributes/fulfillment_availability`` with op ``merge`` (the issue's
  and the fixture's choice: it leaves other fulfilment channels' entries alone) or ``replace``.
- **Bulk catch-up** is a ``JSON_LISTINGS_FEED`` document (header ``sellerId`` + ``version: "2.0"``, one
  ``PATCH`` message per SKU, ``messageId`` from 1), at most 25,000 messages per feed (Amazon's limit since
  May 2025; the published v2 JSON schema still says 10,000, so ``max_messages`` is a setting).
- **Answers**: a ``ListingsItemSubmissionResponse`` (``ACCEPTED``/``INVALID`` with issues) and a feed's
  processing report (issues keyed by ``messageId``).
- **Orders** (Orders API v0): ``ItemPrice`` is the price of the whole line (unit price × quantity), so the
  unit price is divided back out; an FBA (``AFN``) order is Amazon's stock, not ours, and is ignored; a
  ``Canceled`` order is a cancellation; a line whose ``SellerSKU`` we cannot resolve holds the order.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from seamline.channels.canonical import (
    CustomerRef,
    InboundOrder,
    OrderCancellation,
    OrderLine,
    OrderMapping,
    OrderVerdict,
    SkippedLine,
    SkipReason,
)
from seamline.domain.commerce import (
    Address,
    CommerceLine,
    DiscountAllocation,
    OrderCommerce,
    Payment,
    ShippingLine,
    TaxLine,
)

FEED_TYPE = "JSON_LISTINGS_FEED"
FEED_VERSION = "2.0"
FEED_CONTENT_TYPE = "application/json; charset=UTF-8"
MAX_FEED_MESSAGES = 25_000
AVAILABILITY_PATH = "/attributes/fulfillment_availability"
PATCH_OPS = ("merge", "replace")
DEFAULT_FULFILLMENT_CHANNEL = "DEFAULT"
#: Order statuses that take stock: Amazon has already taken the units off the listing's quantity.
STOCK_STATUSES = frozenset({"Pending", "Unshipped", "PartiallyShipped", "Shipped", "InvoiceUnconfirmed"})
_CENT = Decimal("0.0001")
ZERO = Decimal(0)


class MappingError(ValueError):
    """The payload is not the shape SP-API documents: the message is rejected with this reason."""


# ---------------------------------------------------------------------- availability out
@dataclass(frozen=True)
class AvailabilityUpdate:
    """One number for one listing: Amazon's SKU for it, its product type, and the quantity to show."""

    seller_sku: str
    product_type: str
    quantity: int


def availability_patches(
    quantity: int, *, op: str = "merge", fulfillment_channel_code: str = DEFAULT_FULFILLMENT_CHANNEL
) -> list[dict[str, Any]]:
    if op not in PATCH_OPS:
        raise ValueError(f"op must be one of {', '.join(PATCH_OPS)}")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise ValueError("quantity must be a whole number, 0 or more")
    return [
        {
            "op": op,
            "path": AVAILABILITY_PATH,
            "value": [{"fulfillment_channel_code": fulfillment_channel_code, "quantity": quantity}],
        }
    ]


def patch_listing_body(
    product_type: str,
    quantity: int,
    *,
    op: str = "merge",
    fulfillment_channel_code: str = DEFAULT_FULFILLMENT_CHANNEL,
) -> dict[str, Any]:
    """The body of ``PATCH /listings/2021-08-01/items/{sellerId}/{sku}``."""
    if not product_type:
        raise ValueError("a listings PATCH needs the productType")
    return {
        "productType": product_type,
        "patches": availability_patches(quantity, op=op, fulfillment_channel_code=fulfillment_channel_code),
    }


def listings_feed(
    seller_id: str,
    updates: Sequence[AvailabilityUpdate],
    *,
    op: str = "merge",
    fulfillment_channel_code: str = DEFAULT_FULFILLMENT_CHANNEL,
    issue_locale: str | None = None,
    max_messages: int = MAX_FEED_MESSAGES,
) -> dict[str, Any]:
    """A ``JSON_LISTINGS_FEED`` document: message ``n`` is ``updates[n - 1]``."""
    if not updates:
        raise ValueError("a feed needs at least one message")
    if len(updates) > max_messages:
        raise ValueError(f"a feed holds at most {max_messages} messages; split it (see chunks)")
    header: dict[str, Any] = {"sellerId": seller_id, "version": FEED_VERSION}
    if issue_locale:
        header["issueLocale"] = issue_locale
    return {
        "header": header,
        "messages": [
            {
                "messageId": number,
                "sku": update.seller_sku,
                "operationType": "PATCH",
                "productType": update.product_type,
                "patches": availability_patches(
                    update.quantity, op=op, fulfillment_channel_code=fulfillment_channel_code
                ),
            }
            for number, update in enumerate(updates, start=1)
        ],
    }


def chunks(items: Sequence[Any], size: int = MAX_FEED_MESSAGES) -> list[list[Any]]:
    if size < 1:
        raise ValueError("size must be at least 1")
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


@dataclass(frozen=True)
class FeedMessage:
    """What one feed message does to stock: the quantity it sets (None when it sets none, e.g. DELETE)."""

    message_id: int
    sku: str
    operation: str
    product_type: str | None
    quantity: int | None
    fulfillment_channel_code: str | None


def _availability_of(values: Any) -> tuple[int | None, str | None]:
    if not isinstance(values, list):
        return None, None
    for entry in values:
        if isinstance(entry, Mapping) and "quantity" in entry:
            quantity = entry["quantity"]
            if isinstance(quantity, bool) or not isinstance(quantity, int):
                raise MappingError(f"fulfillment_availability quantity {quantity!r} is not a whole number")
            return quantity, entry.get("fulfillment_channel_code")
    return None, None


def read_feed(document: Any) -> list[FeedMessage]:
    """A ``JSON_LISTINGS_FEED`` document's messages, reduced to what they do to availability."""
    if not isinstance(document, Mapping):
        raise MappingError("a listings feed is a JSON object")
    header = document.get("header")
    if not isinstance(header, Mapping) or header.get("version") != FEED_VERSION or not header.get("sellerId"):
        raise MappingError('the feed header needs sellerId and version "2.0"')
    messages = document.get("messages")
    if not isinstance(messages, list) or not messages:
        raise MappingError("the feed has no messages")
    out = []
    for message in messages:
        if not isinstance(message, Mapping):
            raise MappingError("a feed message is a JSON object")
        number, sku, operation = message.get("messageId"), message.get("sku"), message.get("operationType")
        if not isinstance(number, int) or not sku or operation not in ("UPDATE", "PARTIAL_UPDATE", "PATCH", "DELETE"):
            raise MappingError(f"message {number!r} needs a messageId, a sku and a known operationType")
        quantity, channel = None, None
        if operation in ("UPDATE", "PARTIAL_UPDATE"):
            quantity, channel = _availability_of((message.get("attributes") or {}).get("fulfillment_availability"))
        elif operation == "PATCH":
            for patch in message.get("patches") or []:
                if (
                    isinstance(patch, Mapping)
                    and patch.get("path") == AVAILABILITY_PATH
                    and patch.get("op") != "delete"
                ):
                    quantity, channel = _availability_of(patch.get("value"))
        out.append(FeedMessage(number, str(sku), str(operation), message.get("productType"), quantity, channel))
    return out


# ---------------------------------------------------------------------- answers
@dataclass(frozen=True)
class Issue:
    message: str
    code: str | None = None
    severity: str = "ERROR"
    attribute_names: tuple[str, ...] = ()


def _issues(values: Any) -> tuple[Issue, ...]:
    out = []
    for item in values or []:
        if not isinstance(item, Mapping):
            continue
        names = item.get("attributeNames") or ([item["attributeName"]] if item.get("attributeName") else [])
        out.append(
            Issue(
                str(item.get("message") or ""),
                None if item.get("code") is None else str(item["code"]),
                str(item.get("severity") or "ERROR"),
                tuple(str(n) for n in names),
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class Submission:
    """A ``ListingsItemSubmissionResponse``: ``ACCEPTED`` means queued for processing, not yet live."""

    sku: str
    status: str
    submission_id: str | None
    issues: tuple[Issue, ...]

    @property
    def accepted(self) -> bool:
        return self.status == "ACCEPTED"


def parse_submission(body: Any) -> Submission:
    if not isinstance(body, Mapping) or body.get("status") not in ("ACCEPTED", "INVALID", "VALID"):
        raise MappingError("not a ListingsItemSubmissionResponse")
    return Submission(
        str(body.get("sku") or ""), str(body["status"]), body.get("submissionId"), _issues(body.get("issues"))
    )


@dataclass(frozen=True)
class ProcessingReport:
    feed_id: str | None
    #: Issues per messageId (messages without issues were accepted).
    issues: Mapping[int, tuple[Issue, ...]]
    summary: Mapping[str, Any]

    def refused(self, message_id: int) -> bool:
        return any(issue.severity == "ERROR" for issue in self.issues.get(message_id, ()))


def parse_processing_report(body: Any) -> ProcessingReport:
    if not isinstance(body, Mapping) or not isinstance(body.get("summary"), Mapping):
        raise MappingError("not a listings feed processing report")
    grouped: dict[int, list[Issue]] = {}
    for item in body.get("issues") or []:
        if isinstance(item, Mapping) and isinstance(item.get("messageId"), int):
            grouped.setdefault(item["messageId"], []).extend(_issues([item]))
    header: Mapping[str, Any] = body["header"] if isinstance(body.get("header"), Mapping) else {}
    return ProcessingReport(header.get("feedId"), {k: tuple(v) for k, v in grouped.items()}, dict(body["summary"]))


# ---------------------------------------------------------------------- orders in
def parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise MappingError(f"{value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise MappingError(f"{value!r} has no zone")
    return parsed.astimezone(UTC)


def _money(value: Any) -> tuple[Decimal, str] | None:
    if not isinstance(value, Mapping) or value.get("Amount") in (None, ""):
        return None
    try:
        return Decimal(str(value["Amount"])), str(value.get("CurrencyCode") or "")
    except InvalidOperation:
        raise MappingError(f"{value.get('Amount')!r} is not an amount") from None


def _order_verdict(
    *,
    fba: bool,
    status: str | None,
    skipped: Sequence[SkippedLine],
    sku_field: str,
    currency: str | None,
    line_currency: str | None,
    has_lines: bool,
) -> tuple[OrderVerdict, str]:
    """Whether an Amazon order takes stock here, for either Orders API version: ``status`` is the order's
    status when it is one that takes no stock (None when it takes stock); ``sku_field`` names the SKU field
    as that version spells it."""
    if fba:
        return OrderVerdict.IGNORE_NOTHING_TO_FULFIL, "fulfilled by Amazon (FBA) from Amazon's own stock"
    if status is not None:
        return OrderVerdict.IGNORE_NOTHING_TO_FULFIL, f"status {status} takes no stock"
    unknown = sorted({str(s.sku) for s in skipped if s.reason is SkipReason.UNKNOWN_SKU})
    if unknown:
        return OrderVerdict.HOLD_UNKNOWN_SKU, f"unknown {sku_field}: {', '.join(unknown)}"
    if currency and line_currency and line_currency != currency:
        return OrderVerdict.HOLD_FOREIGN_CURRENCY, f"priced in {line_currency}, channel sells in {currency}"
    if not has_lines:
        return OrderVerdict.IGNORE_NOTHING_TO_FULFIL, "no line takes stock"
    return OrderVerdict.ACCEPT, ""


def map_order(
    order: Mapping[str, Any],
    items: Sequence[Mapping[str, Any]],
    *,
    known_skus: Collection[str],
    seller_skus: Mapping[str, str] | None = None,
    currency: str | None = None,
) -> OrderMapping | OrderCancellation:
    """An order (``getOrders``) and its items (``getOrderItems``) → what the queue does with it.

    ``seller_skus`` maps Amazon's SKU to ours where they differ; otherwise Amazon's SKU must be ours."""
    order_id = order.get("AmazonOrderId")
    if not order_id:
        raise MappingError("the order has no AmazonOrderId")
    status = str(order.get("OrderStatus") or "")
    if status == "Canceled":
        return OrderCancellation(str(order_id), parse_time(order.get("LastUpdateDate")), "Canceled on Amazon")
    total = _money(order.get("OrderTotal"))
    lines: list[OrderLine] = []
    skipped: list[SkippedLine] = []
    line_currency = total[1] if total else ""
    for item in items:
        item_id = str(item.get("OrderItemId") or "")
        seller_sku = item.get("SellerSKU")
        qty = item.get("QuantityOrdered")
        if isinstance(qty, bool) or not isinstance(qty, int):
            raise MappingError(f"item {item_id}: QuantityOrdered {qty!r} is not a whole number")
        price = _money(item.get("ItemPrice"))
        unit = Decimal(0) if price is None or qty <= 0 else (price[0] / qty).quantize(_CENT)
        if price is not None and price[1]:
            line_currency = price[1]
        ours = (seller_skus or {}).get(str(seller_sku), str(seller_sku)) if seller_sku else None
        title = str(item.get("Title") or seller_sku or item_id)
        if qty <= 0:
            skipped.append(SkippedLine(item_id, SkipReason.NO_QUANTITY, ours, qty, title, unit))
            continue
        if ours is None or ours not in known_skus:
            skipped.append(SkippedLine(item_id, SkipReason.UNKNOWN_SKU, ours, qty, title, unit))
            continue
        lines.append(OrderLine(item_id, ours, str(item.get("ASIN") or "") or None, None, qty, unit, title))
    buyer: Mapping[str, Any] = order["BuyerInfo"] if isinstance(order.get("BuyerInfo"), Mapping) else {}
    email = buyer.get("BuyerEmail") or None
    name = buyer.get("BuyerName") or None
    inbound = InboundOrder(
        external_id=str(order_id),
        name=str(order_id),
        placed_at=parse_time(order.get("PurchaseDate")),
        currency=line_currency,
        presentment_currency=line_currency,
        lines=tuple(lines),
        customer=CustomerRef(email, None, name) if email or name else None,
        test=False,
        total=None if total is None else total[0],
        source_name=str(order.get("SalesChannel") or "") or None,
    )
    verdict, detail = _order_verdict(
        fba=order.get("FulfillmentChannel") == "AFN",
        status=None if status in STOCK_STATUSES else (status or "missing"),
        skipped=skipped,
        sku_field="SellerSKU",
        currency=currency,
        line_currency=line_currency,
        has_lines=bool(lines),
    )
    return OrderMapping(inbound, verdict, tuple(lines), tuple(skipped), detail)


#: Orders API 2026-01-01 ``fulfillmentStatus`` values whose units are the buyer's and ours to ship.
STOCK_STATUSES_2026 = frozenset({"PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"})


def _money_2026(value: Any) -> tuple[Decimal, str] | None:
    if not isinstance(value, Mapping) or value.get("amount") in (None, ""):
        return None
    try:
        return Decimal(str(value["amount"])), str(value.get("currencyCode") or "")
    except InvalidOperation:
        raise MappingError(f"{value.get('amount')!r} is not an amount") from None


def map_order_2026(
    order: Mapping[str, Any],
    *,
    known_skus: Collection[str],
    seller_skus: Mapping[str, str] | None = None,
    currency: str | None = None,
) -> OrderMapping | OrderCancellation:
    """An order of the Orders API 2026-01-01 (``searchOrders`` with the ``FULFILLMENT`` and ``BUYER``
    datasets: its items inside it, each with a unit price) → what the queue does with it, by the same rules
    as a v0 order."""
    order_id = order.get("orderId")
    if not order_id:
        raise MappingError("the order has no orderId")
    fulfillment: Mapping[str, Any] = order["fulfillment"] if isinstance(order.get("fulfillment"), Mapping) else {}
    status = str(fulfillment.get("fulfillmentStatus") or "")
    if not status:
        raise MappingError(f"order {order_id}: no fulfillment.fulfillmentStatus (ask for the FULFILLMENT dataset)")
    if status == "CANCELLED":
        return OrderCancellation(str(order_id), parse_time(order.get("lastUpdatedTime")), "Cancelled on Amazon")
    items = order.get("orderItems")
    if not isinstance(items, list):
        raise MappingError(f"order {order_id}: orderItems is required")
    lines: list[OrderLine] = []
    skipped: list[SkippedLine] = []
    line_currency = ""
    for item in items:
        if not isinstance(item, Mapping):
            raise MappingError(f"order {order_id}: an order item is not an object")
        item_id = str(item.get("orderItemId") or "")
        qty = item.get("quantityOrdered")
        if isinstance(qty, bool) or not isinstance(qty, int):
            raise MappingError(f"item {item_id}: quantityOrdered {qty!r} is not a whole number")
        product: Mapping[str, Any] = item["product"] if isinstance(item.get("product"), Mapping) else {}
        price_block = product.get("price") if isinstance(product.get("price"), Mapping) else {}
        price = _money_2026(price_block.get("unitPrice") if isinstance(price_block, Mapping) else None)
        unit = Decimal(0) if price is None else price[0].quantize(_CENT)
        if price is not None and price[1]:
            line_currency = price[1]
        seller_sku = product.get("sellerSku")
        ours = (seller_skus or {}).get(str(seller_sku), str(seller_sku)) if seller_sku else None
        title = str(product.get("title") or seller_sku or item_id)
        if qty <= 0:
            skipped.append(SkippedLine(item_id, SkipReason.NO_QUANTITY, ours, qty, title, unit))
            continue
        if ours is None or ours not in known_skus:
            skipped.append(SkippedLine(item_id, SkipReason.UNKNOWN_SKU, ours, qty, title, unit))
            continue
        lines.append(OrderLine(item_id, ours, str(product.get("asin") or "") or None, None, qty, unit, title))
    buyer: Mapping[str, Any] = order["buyer"] if isinstance(order.get("buyer"), Mapping) else {}
    email = buyer.get("buyerEmail") or None
    name = buyer.get("buyerName") or None
    channel: Mapping[str, Any] = order["salesChannel"] if isinstance(order.get("salesChannel"), Mapping) else {}
    commerce = order_commerce_2026(order, lines)
    inbound = InboundOrder(
        external_id=str(order_id),
        name=str(order_id),
        placed_at=parse_time(order.get("createdTime")),
        currency=line_currency,
        presentment_currency=line_currency,
        lines=tuple(lines),
        customer=CustomerRef(email, None, name) if email or name else None,
        test=False,
        total=None if commerce is None else commerce.channel_total,
        source_name=str(channel.get("marketplaceName") or channel.get("channelName") or "") or None,
        commerce=commerce,
    )
    verdict, detail = _order_verdict(
        fba=fulfillment.get("fulfilledBy") == "AMAZON",
        status=None if status in STOCK_STATUSES_2026 else str(status),
        skipped=skipped,
        sku_field="sellerSku",
        currency=currency,
        line_currency=line_currency,
        has_lines=bool(lines),
    )
    return OrderMapping(inbound, verdict, tuple(lines), tuple(skipped), detail)


# ---------------------------------------------------------------------- the order's money (issue 17)
def _breakdowns(proceeds: Any) -> dict[str, tuple[Decimal, dict[str, Decimal]]]:
    """``proceeds.breakdowns`` → type → (subtotal, {detailed subtype: value})."""
    out: dict[str, tuple[Decimal, dict[str, Decimal]]] = {}
    if not isinstance(proceeds, Mapping):
        return out
    for entry in proceeds.get("breakdowns") or ():
        if not isinstance(entry, Mapping) or not entry.get("type"):
            continue
        amount = _money_2026(entry.get("subtotal"))
        details: dict[str, Decimal] = {}
        for detail in entry.get("detailedBreakdowns") or ():
            value = _money_2026(detail.get("value")) if isinstance(detail, Mapping) else None
            if value is not None and detail.get("subtype"):
                details[str(detail["subtype"])] = details.get(str(detail["subtype"]), ZERO) + value[0]
        previous = out.get(str(entry["type"]), (ZERO, {}))
        out[str(entry["type"])] = (previous[0] + (ZERO if amount is None else amount[0]), {**previous[1], **details})
    return out


def _part(breakdowns: Mapping[str, tuple[Decimal, dict[str, Decimal]]], kind: str, subtype: str) -> Decimal:
    """The part of a ``TAX`` or ``DISCOUNT`` breakdown on ``subtype`` (``ITEM``/``SHIPPING``); a breakdown with
    no detail is all on the item. A discount is money off, whatever its sign in the payload."""
    total, details = breakdowns.get(kind, (ZERO, {}))
    value = details.get(subtype, ZERO) if details else (total if subtype == "ITEM" else ZERO)
    return abs(value) if kind == "DISCOUNT" else value


def tax_rate(tax: Decimal, net: Decimal) -> Decimal:
    """The rate Amazon charged ``tax`` at on ``net`` (it sends amounts, not rates): to the tenth of a percent
    when that rate gives the tax to the cent (19 %, 7.7 %), else to four places (the chart then has no
    such code and the order is held as an unknown tax treatment, never posted wrong)."""
    if tax == 0 or net <= 0:
        return ZERO
    exact = tax / net
    coarse = exact.quantize(Decimal("0.001"))
    if (net * coarse).quantize(Decimal("0.01")) == tax.quantize(Decimal("0.01")):
        return coarse.normalize()
    return exact.quantize(Decimal("0.0001"))


def _address_2026(value: Any) -> Address | None:
    if not isinstance(value, Mapping):
        return None
    return Address(
        name=value.get("name") or None,
        company=value.get("companyName") or None,
        line1=value.get("addressLine1") or None,
        line2=" ".join(str(v) for v in (value.get("addressLine2"), value.get("addressLine3")) if v) or None,
        city=value.get("city") or None,
        region=value.get("stateOrRegion") or None,
        postcode=value.get("postalCode") or None,
        country=value.get("countryCode") or None,
        phone=value.get("phone") or None,
    )


def shipping_title(order_item_id: str) -> str:
    """An item's shipping line is named after it: Amazon charges (and refunds) shipping per order item."""
    return f"shipping ({order_item_id})"


def shipping_item(title: str) -> str | None:
    """The order item a shipping line (``shipping_title``) was charged with; None for one named otherwise."""
    if title.startswith("shipping (") and title.endswith(")"):
        return title[len("shipping (") : -1] or None
    return None


def order_commerce_2026(order: Mapping[str, Any], stock: Sequence[OrderLine]) -> OrderCommerce | None:
    """The order's money as Amazon computed it (the ``PROCEEDS`` dataset of Orders API 2026-01-01): per item
    ``proceeds.breakdowns`` of type ``ITEM`` (unit price × quantity), ``SHIPPING``, ``TAX`` and ``DISCOUNT``
    (their ``detailedBreakdowns`` split them between ``ITEM`` and ``SHIPPING``), and the order's
    ``proceeds.grandTotal`` as the channel's total. None when the order carries no proceeds.

    Amazon sends amounts, not whether they include tax: the published example adds ``TAX`` to ``ITEM`` and
    ``SHIPPING`` to make ``grandTotal``, so tax is exclusive when the items add up that way and inclusive
    when they add up without it; when neither reproduces ``grandTotal`` the figures are kept as they are and
    finance holds the order (its computed total differs from Amazon's)."""
    proceeds = order.get("proceeds")
    if not isinstance(proceeds, Mapping):
        return None
    grand = _money_2026(proceeds.get("grandTotal"))
    stock_no = {line.line_id: i for i, line in enumerate(stock, start=1)}
    lines: list[CommerceLine] = []
    shipping: list[ShippingLine] = []
    currency = grand[1] if grand else ""
    exclusive = inclusive = ZERO
    totals = {"ITEM": ZERO, "SHIPPING": ZERO, "TAX": ZERO, "DISCOUNT": ZERO}
    for item in order.get("orderItems") or ():
        if not isinstance(item, Mapping):
            continue
        item_id = str(item.get("orderItemId") or "")
        product: Mapping[str, Any] = item["product"] if isinstance(item.get("product"), Mapping) else {}
        price_block = product.get("price") if isinstance(product.get("price"), Mapping) else {}
        unit = _money_2026(price_block.get("unitPrice") if isinstance(price_block, Mapping) else None)
        qty = int(item.get("quantityOrdered") or 0)
        parts = _breakdowns(item.get("proceeds"))
        gross = parts["ITEM"][0] if "ITEM" in parts else (ZERO if unit is None else unit[0] * qty)
        unit_price = unit[0] if unit is not None else (gross / qty if qty else ZERO)
        item_tax, item_discount = _part(parts, "TAX", "ITEM"), _part(parts, "DISCOUNT", "ITEM")
        ship = parts.get("SHIPPING", (ZERO, {}))[0]
        ship_tax, ship_discount = _part(parts, "TAX", "SHIPPING"), _part(parts, "DISCOUNT", "SHIPPING")
        if unit is not None and unit[1]:
            currency = currency or unit[1]
        for key, value in (("ITEM", gross), ("SHIPPING", ship), ("TAX", item_tax + ship_tax)):
            totals[key] += value
        totals["DISCOUNT"] += item_discount + ship_discount
        exclusive += gross - item_discount + item_tax + ship - ship_discount + ship_tax
        inclusive += gross - item_discount + ship - ship_discount
        seller_sku = product.get("sellerSku")
        ours = next((line.sku for line in stock if line.line_id == item_id), None)
        lines.append(
            CommerceLine(
                line_id=item_id,
                title=str(product.get("title") or seller_sku or item_id),
                qty=qty,
                unit_price=unit_price,
                sku=ours or (str(seller_sku) if seller_sku else None),
                order_line_no=stock_no.get(item_id),
                discounts=(DiscountAllocation(item_discount, "promotion"),) if item_discount else (),
                tax_lines=(TaxLine("tax", ZERO, item_tax),) if item_tax else (),
            )
        )
        if ship or ship_tax:
            shipping.append(
                ShippingLine(
                    shipping_title(item_id),
                    ship,
                    (DiscountAllocation(ship_discount, "promotion"),) if ship_discount else (),
                    (TaxLine("tax", ZERO, ship_tax),) if ship_tax else (),
                )
            )
    total = None if grand is None else grand[0]
    taxes_included = total is not None and total == inclusive and total != exclusive
    # Each tax line's rate, now that it is known whether the amounts include it.
    lines = [_with_rate(line, line.gross - line.discount - (line.tax if taxes_included else ZERO)) for line in lines]
    shipping = [
        ShippingLine(
            s.title,
            s.price,
            s.discounts,
            tuple(
                TaxLine(
                    t.title, tax_rate(t.amount, s.price - s.discount - (t.amount if taxes_included else ZERO)), t.amount
                )
                for t in s.tax_lines
            ),
        )
        for s in shipping
    ]
    buyer: Mapping[str, Any] = order["buyer"] if isinstance(order.get("buyer"), Mapping) else {}
    recipient: Mapping[str, Any] = order["recipient"] if isinstance(order.get("recipient"), Mapping) else {}
    return OrderCommerce(
        source="amazon",
        name=str(order.get("orderId") or "") or None,
        currency=currency,
        presentment_currency=currency,
        taxes_included=taxes_included,
        lines=tuple(lines),
        channel_total=total,
        shipping=tuple(shipping),
        payments=() if not total else (Payment("amazon", total, "amazon", "sale", "success", None),),
        ship_to=_address_2026(recipient.get("deliveryAddress")),
        customer={"email": buyer.get("buyerEmail"), "name": buyer.get("buyerName")},
        channel_totals={k.lower(): str(v) for k, v in totals.items()},
    )


def _net(amount: Decimal, tax: Decimal, taxes_included: bool) -> Decimal:
    return amount - tax if taxes_included else amount


def _with_rate(line: CommerceLine, net: Decimal) -> CommerceLine:
    if not line.tax_lines:
        return line
    taxes = tuple(TaxLine(t.title, tax_rate(t.amount, net), t.amount) for t in line.tax_lines)
    return CommerceLine(
        line.line_id,
        line.title,
        line.qty,
        line.unit_price,
        line.sku,
        line.order_line_no,
        line.kind,
        line.discounts,
        taxes,
        line.duties,
    )
