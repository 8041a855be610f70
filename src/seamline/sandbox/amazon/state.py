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
