"""The Shopify connector as the integration backbone sees it: a ``Subscriber`` that publishes
``AvailabilityChanged`` to one Shopify location, compare-and-set against the number last published there.

Each delivery is one push: ``changeFromQuantity`` is ``delivery.previous["available"]``, the
``@idempotent`` key derives from the event id (a redelivery replays instead of applying twice), and
``referenceDocumentUri`` names the event. Shopify's errors (bucket exhausted, no answer or 5xx, refused for
good) become the dispatcher's outcomes through ``integration.delivery_outcome``. Drift found on the way is
handed to ``on_drift``; the live cost bucket rides back on ``Delivered.budget``.

The inbox handlers for the webhook topics live in ``handlers``; ``wiring`` builds this subscriber (batched),
the product publisher and the fulfilment pusher from a channel's settings."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

from seamline.channels.canonical import AvailabilityPush
from seamline.channels.shopify.client import Drift, ShopifyClient
from seamline.channels.shopify.mapper import MAX_QUANTITIES_PER_CALL, to_gid
from seamline.integration import (
    AVAILABILITY_CHANGED,
    Budget,
    ChannelError,
    Delivered,
    Delivery,
    DeliveryFailed,
    DeliveryRejected,
    Subscriber,
    delivery_outcome,
)

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
    batch: bool = False,
    items_for_skus: Callable[[Sequence[str]], Mapping[str, str]] | None = None,
    skip_unlinked: bool = False,
) -> Subscriber:
    """``AvailabilityChanged`` of ``channel`` → ``available`` of the SKU's inventory item at ``location_id``
    (the Shopify location that carries online availability). With ``batch`` the dispatcher hands up to 250
    deliveries at once and they go out as one ``inventorySetQuantities`` call; ``items_for_skus`` then looks
    the batch's inventory items up in one read instead of one per SKU. ``skip_unlinked`` answers a SKU the
    shop does not list (a prepack, a style not published there) as delivered with nothing to set, instead of
    dead-lettering it; publishing the style later pushes its numbers."""
    location = to_gid("Location", location_id)

    def deliver(delivery: Delivery) -> Delivered:
        sku = str(delivery.payload["sku"])
        item = item_for_sku(sku)
        if item is None:
            raise DeliveryRejected(f"{sku} is not linked to a Shopify inventory item")
        push = AvailabilityPush(item, location, int(delivery.payload["available"]), _previous(delivery), sku)
        try:
            report = client.set_available(
                [push],
                reference_document_uri=f"seamline://events/{delivery.event_id}",
                idempotency_key=delivery.event_id,
            )
        except ChannelError as exc:
            raise delivery_outcome(exc, budget=_budget(client)) from exc
        for drift in report.drift:
            on_drift(drift)
        if report.rejected:
            refused = report.rejected[0]
            raise DeliveryRejected(f"{refused.code}: {refused.message}")
        return Delivered(budget=_budget(client))

    def deliver_batch(deliveries: Sequence[Delivery]) -> list[Delivered | DeliveryFailed | DeliveryRejected | None]:
        results: list[Delivered | DeliveryFailed | DeliveryRejected | None] = [None] * len(deliveries)
        pushes: list[AvailabilityPush] = []
        owners: dict[str, list[int]] = {}  # inventory item gid -> indexes of the deliveries it answers
        skus = [str(d.payload["sku"]) for d in deliveries]
        known = items_for_skus(skus) if items_for_skus is not None else {s: i for s in skus if (i := item_for_sku(s))}
        for index, delivery in enumerate(deliveries):
            sku = skus[index]
            item = known.get(sku)
            if item is None:
                unlinked = f"{sku} is not linked to a Shopify inventory item"
                results[index] = Delivered() if skip_unlinked else DeliveryRejected(unlinked)
                continue
            item = to_gid("InventoryItem", item)
            available = int(delivery.payload["available"])
            pushes.append(AvailabilityPush(item, location, available, _previous(delivery), sku))
            owners.setdefault(item, []).append(index)
        if not pushes:
            return results
        first, last = deliveries[0].event_id, deliveries[-1].event_id
        uri = f"seamline://events/{first}" if len(deliveries) == 1 else f"seamline://events/{first}?through={last}"
        key = hashlib.sha256("|".join(sorted(d.event_id for d in deliveries)).encode()).hexdigest()
        try:
            report = client.set_available(pushes, reference_document_uri=uri, idempotency_key=key)
        except ChannelError as exc:
            failure = delivery_outcome(exc, budget=_budget(client))
            return [failure if r is None else r for r in results]
        for drift in report.drift:
            on_drift(drift)
        for refused in report.rejected:
            for index in owners.get(to_gid("InventoryItem", refused.push.inventory_item_id), []):
                results[index] = DeliveryRejected(f"{refused.code}: {refused.message}")
        done = Delivered(budget=_budget(client))
        return [done if r is None else r for r in results]

    return Subscriber(
        name=name or f"shopify:{channel}",
        event_types=frozenset({AVAILABILITY_CHANGED}),
        deliver=deliver,
        channels=frozenset({channel}),
        coalesce=True,
        max_concurrency=1,
        deliver_batch=deliver_batch if batch else None,
        batch_size=MAX_QUANTITIES_PER_CALL if batch else None,
    )


def _previous(delivery: Delivery) -> int | None:
    """What Shopify should hold now: the number an inventory report just told us (a re-push after drift,
    ``seen`` in the payload), else the number we last published there."""
    if "seen" in delivery.payload:
        seen = delivery.payload["seen"]
        return None if seen is None else int(seen)
    return None if delivery.previous is None else delivery.previous.get("available")
