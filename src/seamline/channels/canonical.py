"""What every connector's mapper turns vendor JSON into, and takes to build vendor requests: plain frozen
dataclasses, money as ``Decimal`` with its currency beside it, quantities as ``int``, times UTC-aware,
external ids as strings (a channel's ids are opaque to us, and JSON numbers above 2**53 are not safe).

A mapper never drops something silently: a line it will not turn into stock demand is kept as a
``SkippedLine`` with a ``SkipReason``, and a whole message it will not act on gets a verdict saying why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from seamline.domain.commerce import OrderCommerce, RefundCommerce
from seamline.service.channel_orders import ChannelLine, ChannelOrder, Verdict
from seamline.service.customers import ContactRequest


class SkipReason(StrEnum):
    """Why a channel line takes no stock: each has one defined behaviour."""

    #: A gift card is a liability sold for money, not a unit on a shelf: finance books it, the ledger does not.
    GIFT_CARD = "gift_card"
    #: A custom line item (no product, no variant: a fee, a warranty, a hand-typed item) names no stock.
    CUSTOM_LINE_ITEM = "custom_line_item"
    #: The line names a product we cannot resolve to one of our SKUs: the message is held until it is linked.
    UNKNOWN_SKU = "unknown_sku"
    #: The line's quantity is zero or less (removed by an order edit): nothing to take.
    NO_QUANTITY = "no_quantity"


@dataclass(frozen=True)
class SkippedLine:
    line_id: str
    reason: SkipReason
    sku: str | None
    qty: int
    title: str
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class CustomerRef:
    """How the channel names the buyer; the customers package matches it to our one customer id."""

    email: str | None
    phone: str | None
    name: str | None
    external_id: str | None = None


@dataclass(frozen=True)
class OrderLine:
    line_id: str
    #: Our SKU when the mapper resolved one (variant mapping first, then the channel's own SKU text).
    sku: str | None
    variant_id: str | None
    product_id: str | None
    qty: int
    #: In the order's (shop) currency.
    unit_price: Decimal
    title: str
    gift_card: bool = False
    custom: bool = False


class OrderVerdict(StrEnum):
    """What the connector does with a mapped order. Only ``accept`` reaches the order queue."""

    ACCEPT = "accept"
    #: A test order (Shopify's Bogus gateway, a dev store): stored and acknowledged, never touches stock.
    IGNORE_TEST_ORDER = "ignore_test_order"
    #: Every line was a gift card or custom item: money only, nothing for the order queue.
    IGNORE_NOTHING_TO_FULFIL = "ignore_nothing_to_fulfil"
    #: A line names a product we do not know: held (inbox ``failed``) until linked, then replayed.
    HOLD_UNKNOWN_SKU = "hold_unknown_sku"
    #: The order is priced in a currency the channel is not configured for: held for a person.
    HOLD_FOREIGN_CURRENCY = "hold_foreign_currency"


@dataclass(frozen=True)
class InboundOrder:
    external_id: str
    name: str | None
    placed_at: datetime | None
    #: The currency amounts are in: the shop's (settlement) currency.
    currency: str
    #: The currency the buyer saw and paid in; differs from ``currency`` for a multi-currency sale.
    presentment_currency: str
    lines: tuple[OrderLine, ...]
    customer: CustomerRef | None
    test: bool
    total: Decimal | None
    cancelled_at: datetime | None = None
    source_name: str | None = None
    #: The channel location the order was placed at (a Shopify POS sale's store), when it names one.
    location_id: str | None = None
    #: The channel's commercial truth (prices, discounts, tax, shipping, payments, its total), when mapped.
    commerce: OrderCommerce | None = None

    @property
    def has_gift_cards(self) -> bool:
        return any(line.gift_card for line in self.lines)

    @property
    def has_custom_items(self) -> bool:
        return any(line.custom for line in self.lines)


@dataclass(frozen=True)
class OrderMapping:
    order: InboundOrder
    verdict: OrderVerdict
    #: The lines that become order lines (resolved SKU, quantity > 0).
    stock_lines: tuple[OrderLine, ...]
    skipped: tuple[SkippedLine, ...]
    detail: str = ""


_VERDICTS = {
    OrderVerdict.ACCEPT: Verdict.ACCEPT,
    OrderVerdict.HOLD_UNKNOWN_SKU: Verdict.HOLD,
    OrderVerdict.HOLD_FOREIGN_CURRENCY: Verdict.HOLD,
    OrderVerdict.IGNORE_TEST_ORDER: Verdict.IGNORE,
    OrderVerdict.IGNORE_NOTHING_TO_FULFIL: Verdict.IGNORE,
}


def queue_order(mapping: OrderMapping) -> ChannelOrder:
    """The mapped order as the one channel-order use case takes it (``seamline.service.channel_orders``)."""
    order = mapping.order
    customer = None
    if order.customer is not None:
        customer = ContactRequest(order.customer.email, order.customer.phone, order.customer.name)
    return ChannelOrder(
        external_id=order.external_id,
        currency=order.currency,
        lines=tuple(ChannelLine(str(line.sku), line.qty, str(line.unit_price)) for line in mapping.stock_lines),
        customer=customer,
        verdict=_VERDICTS[mapping.verdict],
        detail=f"{mapping.verdict.value}: {mapping.detail}" if mapping.detail else mapping.verdict.value,
        commerce=order.commerce,
    )


@dataclass(frozen=True)
class OrderCancellation:
    external_id: str
    cancelled_at: datetime | None
    reason: str | None


class RestockType(StrEnum):
    NO_RESTOCK = "no_restock"
    CANCEL = "cancel"
    RETURN = "return"
    LEGACY_RESTOCK = "legacy_restock"

    @property
    def restocks(self) -> bool:
        return self is not RestockType.NO_RESTOCK


@dataclass(frozen=True)
class RefundLine:
    line_id: str
    line_item_id: str
    sku: str | None
    variant_id: str | None
    qty: int
    restock_type: RestockType
    #: The channel's location id the units went back to (None when not restocked).
    location_id: str | None
    #: Our location code for ``location_id``, from the channel's location map.
    location: str | None
    subtotal: Decimal | None

    @property
    def restock(self) -> bool:
        return self.restock_type.restocks


class RefundVerdict(StrEnum):
    ACCEPT = "accept"
    #: A line goes back on a shelf at a channel location we have no mapping for.
    HOLD_UNMAPPED_LOCATION = "hold_unmapped_location"
    #: A restocked line names a product we do not know.
    HOLD_UNKNOWN_SKU = "hold_unknown_sku"


@dataclass(frozen=True)
class InboundRefund:
    external_id: str
    order_external_id: str
    created_at: datetime | None
    note: str | None
    currency: str | None
    lines: tuple[RefundLine, ...]
    #: What the channel refunded in money (lines, shipping, adjustments, transactions), when mapped.
    commerce: RefundCommerce | None = None


@dataclass(frozen=True)
class RefundMapping:
    refund: InboundRefund
    verdict: RefundVerdict
    skipped: tuple[SkippedLine, ...]
    detail: str = ""


@dataclass(frozen=True)
class InventoryLevelReport:
    """A channel telling us the number it shows. Ours is the truth: a difference is drift to record and
    overwrite, never a movement."""

    inventory_item_id: str
    location_id: str
    #: None when the channel does not track the item.
    available: int | None
    updated_at: datetime | None


@dataclass(frozen=True)
class VariantReport:
    variant_id: str
    inventory_item_id: str | None
    sku: str | None
    barcode: str | None
    price: Decimal | None
    #: Option values in the product's option order, e.g. ("Navy", "M").
    options: tuple[str, ...]
    title: str | None = None


@dataclass(frozen=True)
class ProductReport:
    product_id: str
    title: str | None
    handle: str | None
    status: str | None
    #: Option names in order, e.g. ("Colour", "Size").
    options: tuple[str, ...]
    variants: tuple[VariantReport, ...]
    updated_at: datetime | None


@dataclass(frozen=True)
class FieldDrift:
    """A mastered field the channel shows differently from the product master."""

    sku: str | None
    field: str
    ours: str | None
    theirs: str | None


@dataclass(frozen=True)
class FulfilledLine:
    line_item_id: str
    sku: str | None
    variant_id: str | None
    qty: int


@dataclass(frozen=True)
class FulfillmentReport:
    external_id: str
    order_external_id: str
    status: str | None
    location_id: str | None
    tracking_company: str | None
    tracking_numbers: tuple[str, ...]
    tracking_urls: tuple[str, ...]
    lines: tuple[FulfilledLine, ...]
    created_at: datetime | None


@dataclass(frozen=True)
class AvailabilityPush:
    """One number to publish: what the channel should show for an item at a location, and what we last
    published there (compare-and-set against it; None when we never published, which opts out of the check)."""

    inventory_item_id: str
    location_id: str
    available: int
    previous: int | None
    sku: str | None = None


@dataclass(frozen=True)
class Tracking:
    company: str | None
    number: str | None
    url: str | None = None
