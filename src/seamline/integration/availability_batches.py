"""One event per channel per burst, one push per SKU: the rules of an ``AvailabilityBatch`` (issue 18).

A receipt of a whole catalog changes the number of every SKU on every channel at once. One
``AvailabilityChanged`` per (channel, sku) made that 100k events and 100k delivery rows per channel, each
claimed, pushed and recorded on its own. Above ``BATCH_FROM`` changed SKUs the publisher instead emits one
``AvailabilityBatch`` per channel, whose numbers are the ``channel_availability`` rows naming it, and the
dispatcher expands it here, per subscriber, into the ``AvailabilityChanged`` deliveries the subscriber
would have been handed one by one, then pushes them in the platform's own batch calls.

The rules, each the one the per-SKU events keep:
- newest number wins: a SKU recomputed after the batch names its newer event in ``channel_availability``,
  so the batch no longer carries it (the coalescing of undelivered numbers, per SKU);
- a SKU the subscriber already shows at this event or a newer one is not pushed again (``expand``): a
  retried batch pushes only what did not go out, and a crash mid-batch redelivers only unrecorded SKUs;
- each SKU's outcome is its own (``settle``): delivered SKUs are recorded as shown, a SKU the platform
  refused becomes its own dead letter, and a temporary failure retries the batch for the SKUs left.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from seamline.integration.events import AVAILABILITY_CHANGED, Delivery

#: The fewest SKUs of one channel whose changed numbers in one burst become one ``AvailabilityBatch``; fewer
#: are each their own ``AvailabilityChanged`` (a sale: no read of the numbers at delivery, the per-key
#: coalescing of the outbox). 250 is one Shopify ``inventorySetQuantities`` call.
BATCH_FROM = 250


def coalesce_key(channel: str, sku: str) -> str:
    """The key that coalesces the numbers of one (channel, sku): a newer one replaces an undelivered older."""
    return f"availability:{channel}:{sku}"


def member_id(batch_event_id: str, sku: str) -> str:
    """The event id a SKU of a batch is handed under: unique per SKU (a subscriber's idempotency key), and
    naming the batch it came from."""
    return f"{batch_event_id}/{sku}"


def member_payload(channel: str, sku: str, atp: int, paused: bool, pause_below: int) -> dict[str, Any]:
    """The ``AvailabilityChanged`` payload of one number: the same shape whether batched or not."""
    return {
        "channel": channel,
        "sku": sku,
        "atp": atp,
        "available": 0 if paused else atp,
        "paused": paused,
        "pause_below": pause_below,
    }


def expand(
    batch: Delivery,
    numbers: Sequence[Mapping[str, Any]],
    shown: Mapping[str, Mapping[str, Any]],
    waiting: Collection[str] = (),
) -> list[Delivery]:
    """The batch's deliveries to one subscriber: one ``AvailabilityChanged`` per SKU in ``numbers`` (the rows
    still naming the batch: ``{sku, atp, paused}``) that the subscriber does not already show at the batch's
    event or a newer one (``shown``: its published rows by SKU) and that has no newer delivery of its own
    waiting for the subscriber (``waiting``: their coalesce keys; a SKU refused earlier is a dead letter
    there). ``previous`` is what it shows, the compare-and-set base, as for a single delivery."""
    channel = str(batch.payload["channel"])
    pause_below = int(batch.payload.get("pause_below", 0))
    extra = {"batch_event_id": batch.event_id, "coalesce_key": None}
    out: list[Delivery] = []
    for number in numbers:
        sku = str(number["sku"])
        if waiting and coalesce_key(channel, sku) in waiting:
            continue
        before = shown.get(sku)
        if before is not None and int(before.get("event_seq") or 0) >= batch.event_seq:
            continue
        previous = None if before is None else {k: before[k] for k in ("available", "atp", "paused", "event_seq")}
        out.append(
            Delivery(  # built directly: ``dataclasses.replace`` cost more than the push at 100k SKUs
                id=batch.id,
                subscriber=batch.subscriber,
                event_id=member_id(batch.event_id, sku),
                event_type=AVAILABILITY_CHANGED,
                event_seq=batch.event_seq,
                payload=member_payload(channel, sku, int(number["atp"]), bool(number["paused"]), pause_below),
                trace_id=batch.trace_id,
                created_at=batch.created_at,
                attempt=batch.attempt,
                previous=previous,
                extra=extra,
            )
        )
    return out


@dataclass
class Settled:
    """What one call's answers do to the batch: SKUs to record as shown, SKUs refused for good (each its own
    dead letter, with the reason), and the first temporary failure (the batch is retried for the rest)."""

    shown: list[Delivery] = field(default_factory=list)
    refused: list[tuple[Delivery, str]] = field(default_factory=list)
    retry: tuple[str, str | None, float | None] | None = None  # (result, error, retry_after)
    waiting: int = 0


def settle(answers: Sequence[tuple[Delivery, str, str | None, float | None]]) -> Settled:
    """``answers``: per member delivery, the dispatcher's result (``succeeded``, ``stale``, ``rejected``,
    ``failed``, ``rate_limited``), its error and its retry-after. A throttle outranks a failure as the reason
    the batch waits (it does not use up an attempt, and says how long to wait)."""
    settled = Settled()
    for delivery, result, error, retry_after in answers:
        if result == "succeeded":
            settled.shown.append(delivery)
        elif result == "rejected":
            settled.refused.append((delivery, error or "refused"))
        elif result == "stale":
            continue
        else:
            settled.waiting += 1
            if settled.retry is None or (result == "rate_limited" and settled.retry[0] != "rate_limited"):
                settled.retry = (result, error, retry_after)
    return settled
