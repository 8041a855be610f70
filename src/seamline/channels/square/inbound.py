"""Square webhooks in: verify ``x-square-hmacsha256-signature`` = base64(HMAC-SHA256(signature key,
notification URL + raw body)) in constant time (every key tried, during a rotation), then read the envelope.
The route answers 401 and stores nothing unless ``verify`` passes; the inbox keeps the raw delivery keyed by
``event_id`` (Square retries deliveries: a repeat is a duplicate, never processed twice) and processes later."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence

from seamline.channels.square.mapper import (
    SquareEvent,
    SquareMappingError,
    map_inventory_count_updated,
    map_order_updated,
    read_event,
)
from seamline.integration import InboundMessage

SOURCE = "square"
HEADER_SIGNATURE = "x-square-hmacsha256-signature"
TOPICS = frozenset({"order.updated", "inventory.count.updated"})


class WebhookRejected(Exception):
    def __init__(self, reason: str, *, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def compute_signature(signature_key: str, notification_url: str, body: bytes) -> str:
    digest = hmac.new(signature_key.encode(), notification_url.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signature_valid(body: bytes, signature: str | None, keys: Sequence[str], notification_url: str) -> bool:
    """Square signs the URL it posted to followed by the raw body: the URL must be exactly the one
    configured in the Square dashboard (scheme, host, path and query)."""
    if not signature or not keys:
        return False
    try:
        given = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    matched = False
    for key in keys:
        if key:
            expected = hmac.new(key.encode(), notification_url.encode() + body, hashlib.sha256).digest()
            matched |= hmac.compare_digest(expected, given)
    return matched


def verify(body: bytes, headers: Mapping[str, str], keys: Sequence[str], notification_url: str) -> SquareEvent:
    lowered = {k.lower(): v for k, v in headers.items()}
    if not signature_valid(body, lowered.get(HEADER_SIGNATURE), keys, notification_url):
        raise WebhookRejected(f"bad or missing {HEADER_SIGNATURE}", status=401)
    try:
        return read_event(json.loads(body))
    except (ValueError, SquareMappingError) as exc:
        raise WebhookRejected(str(exc)) from exc


def inbound_message(event: SquareEvent, body: bytes, headers: Mapping[str, str], *, channel: str) -> InboundMessage:
    """What the inbox stores: deduplicated on (``square:<channel>``, ``event_id``); an order's updates are
    applied in ``version`` order (an older one arriving late is ``stale``), a count's by ``calculated_at``."""
    key: str | None = None
    version: int | None = None
    try:
        if event.type == "order.updated":
            update = map_order_updated(event)
            key, version = f"order:{update.order_id}", update.version
        elif event.type == "inventory.count.updated":
            first = map_inventory_count_updated(event)[0]
            key = f"count:{first.catalog_object_id}@{first.location_id}"
            version = int(first.calculated_at.timestamp() * 1_000_000)
    except SquareMappingError:
        key = version = None  # stored as it came; the handler rejects it with the reason
    return InboundMessage(
        source=f"{SOURCE}:{channel}",
        external_id=event.event_id,
        message_type=event.type,
        body=body,
        headers={k.lower(): v for k, v in headers.items() if k.lower() != HEADER_SIGNATURE},
        aggregate_key=key,
        aggregate_version=version,
    )
