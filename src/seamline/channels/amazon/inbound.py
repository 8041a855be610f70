"""Amazon orders in. Amazon does not push orders to us by HTTP (its notifications go to SQS/EventBridge), so
the connector pulls them: the Orders API 2026-01-01 ``searchOrders`` by ``lastUpdatedAfter`` from the stored
cursor (each order with its items: no ``getOrderItems`` call per order as with the deprecated v0
``getOrders``), each order stored in the inbox *before* the cursor moves, keyed by (order id, last update
time) so a repeated pull stores nothing twice, and versioned by that time so an older state of an order never
overwrites a newer one. ``parse`` checks the stored message (a v0 message stored before the move still
reads); mapping to the queue happens in the handler's ``apply``, which can see the catalog."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from seamline.channels.amazon.client import AmazonClient
from seamline.channels.amazon.mapper import MappingError, parse_time
from seamline.domain.clock import iso_utc
from seamline.integration import InboundMessage, InvalidMessage, Receipt, StoredMessage

ORDER_MESSAGE = "order"
#: The ``version`` of a stored message of the Orders API 2026-01-01 (v0 messages have none).
ORDERS_2026 = "2026-01-01"
CURSOR = "orders"
#: How far back the first pull looks when a channel has no cursor yet.
FIRST_PULL_LOOKBACK = timedelta(days=1)


def source_for(channel: str) -> str:
    """The inbox source of one Amazon channel (each channel maps SKUs and currency its own way)."""
    return f"amazon:{channel}"


class _Inbox(Protocol):
    def receive(self, message: InboundMessage) -> Receipt: ...


class _Cursors(Protocol):
    def cursor(self, channel: str, name: str) -> str | None: ...

    def set_cursor(self, channel: str, name: str, value: str) -> None: ...


@dataclass(frozen=True)
class PullReport:
    orders: int
    stored: int
    duplicates: int
    cursor: str | None


def order_message(channel: str, order: Mapping[str, Any], items: list[dict[str, Any]]) -> InboundMessage:
    order_id = str(order["AmazonOrderId"])
    updated = str(order.get("LastUpdateDate") or "")
    try:
        stamp = parse_time(updated)
    except MappingError:
        stamp = None
    return InboundMessage(
        source=source_for(channel),
        external_id=f"{order_id}@{updated}",
        message_type=ORDER_MESSAGE,
        body=json.dumps({"order": dict(order), "items": items}).encode(),
        headers={"channel": channel},
        aggregate_key=f"order:{order_id}",
        aggregate_version=None if stamp is None else int(stamp.timestamp() * 1_000_000),
    )


def order_message_2026(channel: str, order: Mapping[str, Any]) -> InboundMessage:
    order_id = str(order["orderId"])
    updated = str(order.get("lastUpdatedTime") or "")
    try:
        stamp = parse_time(updated)
    except MappingError:
        stamp = None
    return InboundMessage(
        source=source_for(channel),
        external_id=f"{order_id}@{updated}",
        message_type=ORDER_MESSAGE,
        body=json.dumps({"version": ORDERS_2026, "order": dict(order)}).encode(),
        headers={"channel": channel},
        aggregate_key=f"order:{order_id}",
        aggregate_version=None if stamp is None else int(stamp.timestamp() * 1_000_000),
    )


def pull_orders(channel: str, client: AmazonClient, inbox: _Inbox, cursors: _Cursors, *, now: datetime) -> PullReport:
    """Store every order updated since the cursor in the inbox (``searchOrders``), then move the cursor to
    Amazon's ``lastUpdatedBefore``. A crash before the move repeats the pull; the inbox answers the repeats as
    duplicates."""
    after: str = cursors.cursor(channel, CURSOR) or iso_utc(now - FIRST_PULL_LOOKBACK)
    token: str | None = None
    seen = stored = duplicates = 0
    until: str | None = None
    while True:
        page = client.search_orders(last_updated_after=None if token else after, pagination_token=token)
        until = page.last_updated_before or until
        for order in page.orders:
            seen += 1
            receipt = inbox.receive(order_message_2026(channel, order))
            if receipt.duplicate:
                duplicates += 1
            else:
                stored += 1
        token = page.next_token
        if not token:
            break
    if until:
        cursors.set_cursor(channel, CURSOR, until)
    return PullReport(seen, stored, duplicates, until or after)


@dataclass(frozen=True)
class StoredOrder:
    order: Mapping[str, Any]
    items: list[Mapping[str, Any]]
    #: ``ORDERS_2026`` (the items are inside the order), or None for a v0 order stored with its items.
    version: str | None = None


def parse_order_message(message: StoredMessage) -> StoredOrder:
    """The inbox handler's ``parse``: an order and its items, or ``InvalidMessage``."""
    body = message.json()
    if isinstance(body, Mapping) and body.get("version") == ORDERS_2026:
        order = body.get("order")
        if not isinstance(order, Mapping) or not order.get("orderId"):
            raise InvalidMessage("a 2026-01-01 order message holds {version, order} with an orderId")
        if not isinstance(order.get("orderItems"), list):
            raise InvalidMessage("the order has no orderItems")
        return StoredOrder(order, [i for i in order["orderItems"] if isinstance(i, Mapping)], ORDERS_2026)
    if not isinstance(body, Mapping) or not isinstance(body.get("order"), Mapping):
        raise InvalidMessage("an Amazon order message holds {order, items}")
    items = body.get("items") or []
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise InvalidMessage("items must be a list of order items")
    if not body["order"].get("AmazonOrderId"):
        raise InvalidMessage("the order has no AmazonOrderId")
    return StoredOrder(body["order"], items)
