"""The Shopify connector as the integration backbone sees it: a ``Subscriber`` that publishes
``AvailabilityChanged`` to one Shopify location, compare-and-set against the number last published there.

Each delivery is one push: ``changeFromQuantity`` is ``delivery.previous["available"]``, the
``@idempotent`` key derives from the event id (a redelivery replays instead of applying twice), and
``referenceDocumentUri`` names the event. Shopify's errors become the dispatcher's: bucket exhausted →
``RateLimited``, no answer or 5xx → ``DeliveryFailed``, refused for good → ``DeliveryRejected``. Drift found
on the way is handed to ``on_drift``; the live cost bucket rides back on ``Delivered.budget``.

Not here yet, waiting on the order queue (issue 3): the inbox handlers for ``orders/*``, ``refunds/create``,
``fulfillments/create``, and the channel mapping tables ``item_for_sku`` reads from."""

from __future__ import annotations

from collections.abc import Callable

from seamline.channels.canonical import AvailabilityPush
from seamline.channels.shopify.client import (
    Drift,
    ShopifyClient,
    ShopifyRejected,
    ShopifyThrottled,
    ShopifyUnavailable,
)
from seamline.channels.shopify.mapper import to_gid
from seamline.integration import (
    AVAILABILITY_CHANGED,
    Budget,
    Delivered,
    Delivery,
    DeliveryFailed,
    DeliveryRejected,
    RateLimited,
    Subscriber,
)

#: What the connector delivers through the dispatcher today; product publish and fulfilment join when their
#: events exist.
CAPABILITIES = frozenset({"availability_push"})
#: An ``inventorySetQuantities`` call costs 10 points: the dispatcher's bucket counts deliveries, not points.
POINTS_PER_DELIVERY = 10.0

ItemLookup = Callable[[str], str | None]
DriftSink = Callable[[Drift], None]


def _budget(client: ShopifyClient) -> Budget | None:
    status = client.throttle
    if status is None:
        return None
    now = client.clock.now()
    return Budget(status.available_at(now) / POINTS_PER_DELIVERY, status.restore_rate / POINTS_PER_DELIVERY)


def availability_subscriber(
    channel: str,
    client: ShopifyClient,
    *,
    location_id: str,
    item_for_sku: ItemLookup,
    on_drift: DriftSink,
    name: str | None = None,
) -> Subscriber:
    """``AvailabilityChanged`` of ``channel`` → ``available`` of the SKU's inventory item at ``location_id``
    (the Shopify location that carries online availability)."""
    location = to_gid("Location", location_id)

    def deliver(delivery: Delivery) -> Delivered:
        sku = str(delivery.payload["sku"])
        item = item_for_sku(sku)
        if item is None:
            raise DeliveryRejected(f"{sku} is not linked to a Shopify inventory item")
        previous = None if delivery.previous is None else delivery.previous.get("available")
        push = AvailabilityPush(item, location, int(delivery.payload["available"]), previous, sku)
        try:
            report = client.set_available(
                [push],
                reference_document_uri=f"seamline://events/{delivery.event_id}",
                idempotency_key=delivery.event_id,
            )
        except ShopifyThrottled as exc:
            raise RateLimited(str(exc), retry_after=exc.retry_after, budget=_budget(client)) from exc
        except ShopifyUnavailable as exc:
            raise DeliveryFailed(str(exc), retry_after=exc.retry_after, budget=_budget(client)) from exc
        except ShopifyRejected as exc:
            raise DeliveryRejected(str(exc)) from exc
        for drift in report.drift:
            on_drift(drift)
        if report.rejected:
            refused = report.rejected[0]
            raise DeliveryRejected(f"{refused.code}: {refused.message}")
        return Delivered(budget=_budget(client))

    return Subscriber(
        name=name or f"shopify:{channel}",
        event_types=frozenset({AVAILABILITY_CHANGED}),
        deliver=deliver,
        channels=frozenset({channel}),
        coalesce=True,
        max_concurrency=1,
    )
