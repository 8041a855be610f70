"""Event types the outbox carries, and what a subscriber is handed (DESIGN 4.4, 8).

Events are in the past tense and name the business fact. Payloads are JSON objects:

- ``AvailabilityChanged``: ``{channel, sku, atp, available, paused, pause_below}``; ``available`` is what
  the channel should show (0 while paused). Coalesced per (channel, sku).
- ``AvailabilityBatch``: ``{channel, skus, pause_below}``, one event for the numbers of ``skus`` SKUs of one
  channel that one burst of the publisher changed (a receipt of a whole catalog): the numbers themselves
  are the ``channel_availability`` rows that name this event, so a later number of a SKU (its own event)
  takes the SKU out of it. Never handed to a subscriber as it is: the dispatcher expands it into one
  ``AvailabilityChanged`` delivery per SKU still carrying its number (``integration.availability_batches``),
  so subscribers and webhooks see ``AvailabilityChanged`` only.
- ``ListingPaused`` / ``ListingResumed``: ``{channel, sku, atp, pause_below}`` when ATP crosses the
  channel's pause threshold.
- ``FinanceDocumentPosted``: ``{document}``, a finance document as posted (invoice, payment, credit note,
  refund, sales receipt, settlement journal; ``seamline.finance.Document.as_json``). Never coalesced: the
  accounting connectors post each one, keyed by the document id.
- ``StoreCatalogChanged``: ``{price_list, version, skus, styles}`` when saving styles changed what a store's
  till sells (names, GTINs, prices on the stores' price list); the POS connectors push those styles.
- ``StyleChanged``: ``{style, version, status}`` when a style is saved (``PUT /v1/styles``, an import), or
  for one channel when it shows the style differently from the master; the storefront connectors
  (Shopify) publish the style again, or archive it when discontinued. Coalesced per style.
- ``OrderShipped``: ``{order_id, channel, external_id, tracking, status}`` when units of an order ship; the
  channel the order came from (Shopify) creates its fulfilment with the tracking.
- ``OrderCancelled``: ``{order_id, channel, external_id}`` when a whole order is cancelled here; the
  marketplace the order came from (Amazon) is told, unless the cancellation came from it.
- ``OrderLinesCancelled``: ``{order_id, channel, external_id, cancellation, lines, reason, status}`` when
  units of some lines are cancelled; ``ReturnBooked``: ``{return_id, order_id, channel, external_id,
  lines}`` when goods come back against a channel's order (a marketplace refunds them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

AVAILABILITY_CHANGED = "AvailabilityChanged"
AVAILABILITY_BATCH = "AvailabilityBatch"
LISTING_PAUSED = "ListingPaused"
LISTING_RESUMED = "ListingResumed"
FINANCE_DOCUMENT_POSTED = "FinanceDocumentPosted"
STORE_CATALOG_CHANGED = "StoreCatalogChanged"
STYLE_CHANGED = "StyleChanged"
ORDER_SHIPPED = "OrderShipped"
ORDER_CANCELLED = "OrderCancelled"
ORDER_LINES_CANCELLED = "OrderLinesCancelled"
RETURN_BOOKED = "ReturnBooked"
EVENT_TYPES = (
    AVAILABILITY_CHANGED,
    AVAILABILITY_BATCH,
    LISTING_PAUSED,
    LISTING_RESUMED,
    FINANCE_DOCUMENT_POSTED,
    STORE_CATALOG_CHANGED,
    STYLE_CHANGED,
    ORDER_SHIPPED,
    ORDER_CANCELLED,
    ORDER_LINES_CANCELLED,
    RETURN_BOOKED,
)


@dataclass(frozen=True)
class NewEvent:
    type: str
    payload: Mapping[str, Any]
    channel: str | None = None
    #: Deliveries with the same key to the same subscriber replace each other while undelivered.
    coalesce_key: str | None = None
    #: The trace of the change that caused the event when it is not the current one (the availability
    #: publisher emits on behalf of the writers whose changes it computes).
    trace_id: str | None = None


@dataclass(frozen=True)
class Delivery:
    """One attempt to hand one event to one subscriber. ``event_id`` is the idempotency key to apply it by."""

    id: int
    subscriber: str
    event_id: str
    event_type: str
    event_seq: int
    payload: Mapping[str, Any]
    trace_id: str | None
    created_at: datetime
    attempt: int
    #: For AvailabilityChanged: what this subscriber last published for the (channel, sku), for a
    #: compare-and-set push (``{available, atp, paused, event_seq}``); None if nothing was published yet.
    previous: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.event_id,
            "type": self.event_type,
            "seq": self.event_seq,
            "payload": dict(self.payload),
            "trace_id": self.trace_id,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "attempt": self.attempt,
            "previous": None if self.previous is None else dict(self.previous),
        }
