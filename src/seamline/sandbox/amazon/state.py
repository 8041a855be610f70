"""The sandbox's own clock and rate limiter, and the seller's listings, feeds and orders.

A sandbox imports nothing of Seamline outside ``seamline.sandbox``: it stands in for Amazon."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass
class RateBucket:
    """SP-API's token bucket for one operation: ``burst`` tokens, refilled at ``rate`` per second."""

    rate: float
    burst: float
    tokens: float
    stamp: datetime

    def refill(self, now: datetime) -> None:
        elapsed = max(0.0, (now - self.stamp).total_seconds())
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.stamp = now

    def take(self, now: datetime) -> float | None:
        """Take a token; None when granted, else the seconds until one is there."""
        self.refill(now)
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.rate


@dataclass
class Listing:
    sku: str
    product_type: str
    marketplace_ids: set[str]
    #: fulfillment_channel_code -> quantity
    availability: dict[str, int] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None


@dataclass
class FeedDocument:
    id: str
    content_type: str
    content: bytes | None = None


@dataclass
class Feed:
    id: str
    feed_type: str
    marketplace_ids: list[str]
    input_document_id: str
    created_at: datetime
    status: str = "IN_QUEUE"
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result_document_id: str | None = None


@dataclass
class OrderItem:
    order_item_id: str
    seller_sku: str
    asin: str
    title: str
    quantity: int
    unit_price: Decimal
    quantity_shipped: int = 0
    #: The money Amazon computed for the item (the 2026-01-01 ``PROCEEDS`` dataset): tax on the item, the
    #: promotion taken off it, the shipping charged with it and the tax and promotion on that shipping.
    tax: Decimal = Decimal(0)
    discount: Decimal = Decimal(0)
    shipping: Decimal = Decimal(0)
    shipping_tax: Decimal = Decimal(0)
    shipping_discount: Decimal = Decimal(0)
    #: Units the seller cancelled (an order acknowledgement feed), and why.
    quantity_cancelled: int = 0
    cancelled_by: str | None = None
    cancel_reason: str | None = None

    @property
    def proceeds(self) -> Decimal:
        """What the buyer pays for the item: its price less promotions, shipping less promotions, and tax."""
        return (
            self.unit_price * self.quantity
            - self.discount
            + self.tax
            + self.shipping
            - self.shipping_discount
            + self.shipping_tax
        )


@dataclass
class Order:
    amazon_order_id: str
    marketplace_id: str
    purchase_date: datetime
    last_update_date: datetime
    status: str
    fulfillment_channel: str
    currency: str
    items: list[OrderItem]
    buyer_email: str | None = None
    #: Confirmed shipments (confirmShipment ``packageDetail``), as the 2026-01-01 ``packages`` dataset shows them.
    packages: list[dict[str, Any]] = field(default_factory=list)
    #: Refunds the seller made (payment adjustment feeds): one entry per adjusted item, as Amazon books them.
    adjustments: list[dict[str, Any]] = field(default_factory=list)

    def refunded(self, order_item_id: str, component: str | None = None) -> Decimal:
        """What was given back on an item: one component (``Principal``, ``Tax``, ...) or all of them."""
        total = Decimal(0)
        for entry in self.adjustments:
            if entry["orderItemId"] != order_item_id:
                continue
            for kind, amount in entry["components"].items():
                if component is None or kind == component:
                    total += amount
        return total
