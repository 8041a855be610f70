"""Shopify webhooks in: verify the signature over the raw body, read the delivery headers, parse by topic.

The route answers 401 and stores nothing unless ``verify`` passes; it stores the raw delivery keyed by
``WebhookHeaders.dedupe_key`` and answers 200 at once; ``parse`` runs later, from the inbox."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from seamline.channels.canonical import (
    FulfillmentReport,
    InventoryLevelReport,
    OrderCancellation,
    OrderMapping,
    ProductReport,
    RefundMapping,
)
from seamline.channels.shopify import mapper
from seamline.channels.shopify.mapper import MappingError, ShopifyLookups

SOURCE = "shopify"


def inbox_source(channel: str) -> str:
    """Each Shopify channel is its own inbox source, so two shops never share handlers or webhook ids."""
    return f"{SOURCE}:{channel}"


HEADER_HMAC = "x-shopify-hmac-sha256"
HEADER_TOPIC = "x-shopify-topic"
HEADER_SHOP = "x-shopify-shop-domain"
HEADER_WEBHOOK_ID = "x-shopify-webhook-id"
HEADER_EVENT_ID = "x-shopify-event-id"
HEADER_TRIGGERED_AT = "x-shopify-triggered-at"
HEADER_API_VERSION = "x-shopify-api-version"


class WebhookRejected(Exception):
    """The delivery is not one we may store: the route answers 401 (signature) or 400 (headers)."""

    def __init__(self, reason: str, *, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class UnsupportedTopic(Exception):
    def __init__(self, topic: str) -> None:
        super().__init__(f"no parser for Shopify topic {topic!r}")
        self.topic = topic


def compute_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signature_valid(body: bytes, signature: str | None, secrets: Sequence[str]) -> bool:
    """True when ``signature`` is base64(HMAC-SHA256(secret, body)) for any of ``secrets`` (the current
    and, during a rotation, the previous one). Digests are compared in constant time, and every secret is
    tried so the time taken does not tell which one matched."""
    if not signature or not secrets:
        return False
    try:
        given = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    matched = False
    for secret in secrets:
        if not secret:
            continue
        expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        matched |= hmac.compare_digest(expected, given)
    return matched


@dataclass(frozen=True)
class WebhookHeaders:
    topic: str
    shop_domain: str
    webhook_id: str
    #: Shared by every delivery one merchant action caused (several topics, and their retries).
    event_id: str | None
    #: When Shopify raised the event: tells a stale retry from news.
    triggered_at: datetime | None
    api_version: str | None

    @property
    def dedupe_key(self) -> tuple[str, str]:
        """Shopify's at-least-once delivery repeats a webhook id; the inbox stores each one once."""
        return (self.shop_domain, self.webhook_id)

    @property
    def external_id(self) -> str:
        """The inbox's ``external_id`` for source ``shopify``: unique per (shop, webhook id)."""
        return f"{self.shop_domain}/{self.webhook_id}"


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def read_headers(headers: Mapping[str, str]) -> WebhookHeaders:
    h = _lower(headers)
    missing = [name for name in (HEADER_TOPIC, HEADER_SHOP, HEADER_WEBHOOK_ID) if not h.get(name, "").strip()]
    if missing:
        raise WebhookRejected("missing " + ", ".join(missing))
    triggered = h.get(HEADER_TRIGGERED_AT)
    try:
        triggered_at = mapper.parse_time(triggered) if triggered else None
    except MappingError:
        triggered_at = None  # informative only; a bad stamp must not lose the delivery
    return WebhookHeaders(
        topic=h[HEADER_TOPIC].strip(),
        shop_domain=h[HEADER_SHOP].strip().lower(),
        webhook_id=h[HEADER_WEBHOOK_ID].strip(),
        event_id=(h.get(HEADER_EVENT_ID) or "").strip() or None,
        triggered_at=triggered_at,
        api_version=(h.get(HEADER_API_VERSION) or "").strip() or None,
    )


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[str],
    *,
    shop_domain: str | None = None,
) -> WebhookHeaders:
    """Check the signature first (nothing about an unsigned delivery is trusted), then the headers, then
    that it comes from the channel's shop. Raises ``WebhookRejected`` (status 401 for the signature)."""
    if not signature_valid(body, _lower(headers).get(HEADER_HMAC), secrets):
        raise WebhookRejected("bad or missing X-Shopify-Hmac-Sha256", status=401)
    parsed = read_headers(headers)
    if shop_domain is not None and parsed.shop_domain != shop_domain.lower():
        raise WebhookRejected(f"delivery from {parsed.shop_domain}, channel is {shop_domain}", status=401)
    return parsed


def load_body(body: bytes) -> Any:
    """JSON with exact decimals (refund subtotals are JSON numbers) and big integer ids intact."""
    try:
        return json.loads(body, parse_float=Decimal)
    except ValueError as exc:
        raise MappingError(f"body is not JSON: {exc}") from None


Parsed = OrderMapping | OrderCancellation | RefundMapping | InventoryLevelReport | ProductReport | FulfillmentReport

_PARSERS: dict[str, Callable[[Any, ShopifyLookups], Parsed]] = {
    "orders/create": mapper.map_order,
    "orders/updated": mapper.map_order,
    "orders/cancelled": lambda payload, _: mapper.map_order_cancelled(payload),
    "refunds/create": mapper.map_refund,
    "inventory_levels/update": lambda payload, _: mapper.map_inventory_level(payload),
    "products/create": lambda payload, _: mapper.map_product(payload),
    "products/update": lambda payload, _: mapper.map_product(payload),
    "fulfillments/create": lambda payload, _: mapper.map_fulfillment(payload),
}
TOPICS = frozenset(_PARSERS)


def order_aggregate(order_id: str) -> str:
    """The inbox aggregate key of a Shopify order (its legacy id): its create, cancel, fulfilment and refund
    deliveries are applied in arrival order, and one held for the order waits for this key."""
    return f"order:{order_id}"


def aggregate(topic: str, payload: Any) -> tuple[str | None, int | None]:
    """The entity a delivery is about and its version, for the inbox's in-order processing: deliveries
    arrive shuffled, so an older ``orders/updated`` must not overwrite a newer one. The version is
    ``updated_at`` in microseconds (None when the topic carries none)."""
    if not isinstance(payload, Mapping):
        return None, None
    if topic.startswith("orders/") or topic.startswith("products/"):
        key = mapper.legacy_id(payload.get("id"))
        if key is None:
            entity = None
        elif topic.startswith("orders/"):
            entity = order_aggregate(str(key))
        else:
            entity = f"product:{key}"
    elif topic in ("refunds/create", "fulfillments/create"):
        # Ordered with their order, without a version (they change the order, not replace it). One that
        # arrives before its order is held waiting for the order's key, so it does not block the order's own
        # creation queued behind it, and goes back in line when the order is applied.
        order = mapper.legacy_id(payload.get("order_id"))
        return (None if order is None else order_aggregate(str(order))), None
    elif topic == "inventory_levels/update":
        item, location = (
            mapper.legacy_id(payload.get("inventory_item_id")),
            mapper.legacy_id(payload.get("location_id")),
        )
        entity = None if item is None or location is None else f"level:{item}@{location}"
    else:
        return None, None
    try:
        stamp = mapper.parse_time(payload.get("updated_at"))
    except MappingError:
        stamp = None
    version = None if stamp is None else int(stamp.timestamp() * 1_000_000)
    return entity, version


def parse(topic: str, body: bytes | Any, lookups: ShopifyLookups | None = None) -> Parsed:
    """A stored delivery → its canonical object. ``body`` is the raw bytes (or an already-loaded payload)."""
    parser = _PARSERS.get(topic)
    if parser is None:
        raise UnsupportedTopic(topic)
    payload = load_body(bytes(body)) if isinstance(body, bytes | bytearray) else body
    return parser(payload, lookups or ShopifyLookups())
