"""The subscriber registry: each connector declares the event types (and channels) it takes, how it wants
them (coalesced or every one), its concurrency, its rate limit and its delivery policy (what the dispatcher
asks around each delivery: ``PublishedNumbers`` for stock numbers). A subscriber answers a delivery by
returning (delivered, optionally with the platform's live budget) or raising one of the failures below;
``delivery_outcome`` turns a platform's ``ChannelError`` into one of them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import Connection

from seamline.integration.channel_errors import ChannelError, ChannelRejected, ChannelThrottled, ChannelUnavailable
from seamline.integration.events import AVAILABILITY_BATCH, AVAILABILITY_CHANGED, Delivery
from seamline.integration.retry import Budget
from seamline.integration.settings import WebhookConfig
from seamline.store import outbox_repo


@dataclass(frozen=True)
class Delivered:
    budget: Budget | None = None


class DeliveryFailed(Exception):
    """A temporary failure: retried with backoff (or after ``retry_after`` seconds when the platform said so)."""

    def __init__(self, reason: str, *, retry_after: float | None = None, budget: Budget | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.budget = budget


class RateLimited(DeliveryFailed):
    """The platform throttled us (HTTP 429): wait ``retry_after``; this does not use up an attempt."""


class DeliveryRejected(Exception):
    """The platform refused this event for good (a 4xx that retrying cannot fix): dead-lettered at once."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def delivery_outcome(
    error: ChannelError, *, refused: str | None = None, budget: Budget | None = None
) -> DeliveryFailed | DeliveryRejected:
    """The one translation of a platform's answer into what the dispatcher does with the delivery: throttled,
    wait ``retry_after`` without using an attempt (``RateLimited``); unavailable, retry with backoff, not
    before ``retry_after`` (``DeliveryFailed``); refused, dead-letter at once with the platform's messages
    (``DeliveryRejected``). ``refused`` names what was refused in that reason ("Xero refused invoice INV-1");
    ``budget`` is the platform's live rate budget, for the subscriber's token bucket."""
    if isinstance(error, ChannelThrottled):
        return RateLimited(str(error), retry_after=error.retry_after, budget=budget)
    if isinstance(error, ChannelUnavailable):
        return DeliveryFailed(str(error), retry_after=error.retry_after, budget=budget)
    if isinstance(error, ChannelRejected):
        return DeliveryRejected(f"{refused}: {error}" if refused else str(error))
    return DeliveryFailed(f"{type(error).__name__}: {error}", budget=budget)  # an unclassified platform answer


Handler = Callable[[Delivery], "Delivered | None"]
#: A batch handler answers one result per delivery, in order: ``Delivered`` (or None) for success, or the
#: failure (``DeliveryFailed``, ``RateLimited``, ``DeliveryRejected``, or the platform's ``ChannelError``) for
#: that delivery alone. Raising instead fails the whole batch the same way.
BatchHandler = Callable[
    [Sequence[Delivery]], Sequence["Delivered | DeliveryFailed | DeliveryRejected | ChannelError | None"]
]


class DeliveryPolicy:
    """What the dispatcher asks a subscriber's policy around each delivery, beyond calling the subscriber:
    what it was shown before (handed over as ``Delivery.previous``), whether an event is stale for it (a
    coalescing subscriber's stale event is retired without a call), and what to remember once it is
    delivered (in the transaction that records the success). This one asks nothing of anyone."""

    def previous(
        self, conn: Connection, subscriber: str, event_type: str, payload: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        return None

    def stale(self, delivery: Delivery) -> bool:
        return False

    def delivered(self, conn: Connection, subscriber: str, delivery: Delivery, now: datetime) -> None:
        return None

    def delivered_many(self, conn: Connection, subscriber: str, delivered: Sequence[Delivery], now: datetime) -> None:
        """``delivered`` for many deliveries at once (the SKUs of an ``AvailabilityBatch``)."""
        for delivery in delivered:
            self.delivered(conn, subscriber, delivery, now)


class PublishedNumbers(DeliveryPolicy):
    """The policy of a subscriber that shows stock numbers (``AvailabilityChanged``): the number last shown
    on the channel is the compare-and-set base of the next push (``previous``), a number older than that one
    is never pushed over it (``stale``: a dead letter replayed after newer numbers went out), and a pushed
    number is recorded as shown (``delivered``: drift checks and catch-up read it). Other event types of the
    same subscriber pass through untouched."""

    def previous(
        self, conn: Connection, subscriber: str, event_type: str, payload: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        if event_type != AVAILABILITY_CHANGED or not payload.get("channel") or not payload.get("sku"):
            return None
        published = outbox_repo.published(conn, subscriber, payload["channel"], payload["sku"])
        if published is None:
            return None
        return {k: published[k] for k in ("available", "atp", "paused", "event_seq")}

    def stale(self, delivery: Delivery) -> bool:
        previous = delivery.previous
        return (
            delivery.event_type == AVAILABILITY_CHANGED
            and previous is not None
            and int(previous.get("event_seq") or 0) > delivery.event_seq
        )

    def delivered(self, conn: Connection, subscriber: str, delivery: Delivery, now: datetime) -> None:
        payload = delivery.payload
        if delivery.event_type != AVAILABILITY_CHANGED or not payload.get("channel") or not payload.get("sku"):
            return
        outbox_repo.record_published(conn, _shown(subscriber, delivery, now))

    def delivered_many(self, conn: Connection, subscriber: str, delivered: Sequence[Delivery], now: datetime) -> None:
        rows = [
            _shown(subscriber, d, now)
            for d in delivered
            if d.event_type == AVAILABILITY_CHANGED and d.payload.get("channel") and d.payload.get("sku")
        ]
        outbox_repo.record_published_many(conn, rows)


def _shown(subscriber: str, delivery: Delivery, now: datetime) -> dict[str, Any]:
    """The published row of a delivered number; a SKU of a batch is recorded under the batch's event."""
    payload = delivery.payload
    return {
        "subscriber": subscriber,
        "channel": payload["channel"],
        "sku": payload["sku"],
        "available": int(payload.get("available", payload.get("atp", 0))),
        "atp": int(payload.get("atp", 0)),
        "paused": bool(payload.get("paused", False)),
        "event_seq": delivery.event_seq,
        "event_id": str(delivery.extra.get("batch_event_id") or delivery.event_id),
        "published_at": now,
    }


@dataclass(frozen=True)
class Subscriber:
    name: str
    event_types: frozenset[str]
    deliver: Handler
    #: None takes events of every channel; otherwise only events of these channels.
    channels: frozenset[str] | None = None
    #: True: a newer event with the same coalesce key replaces an undelivered older one (a stock number).
    #: False: every event is delivered (an audit feed).
    coalesce: bool = True
    max_concurrency: int = 1
    rate_per_second: float | None = None
    burst: float | None = None
    max_attempts: int | None = None
    #: When set, the dispatcher hands a claimed batch (up to ``batch_size`` deliveries) to this in one call
    #: instead of calling ``deliver`` once per delivery: a platform that takes 250 quantities per request
    #: (Shopify ``inventorySetQuantities``) answers 1,000 changes in 4 calls.
    deliver_batch: BatchHandler | None = None
    #: The most deliveries a batch call takes (the platform's limit); None: the dispatcher's batch size.
    batch_size: int | None = None
    #: What the dispatcher asks around each delivery (``DeliveryPolicy``). None: ``PublishedNumbers`` for a
    #: subscriber that takes ``AvailabilityChanged``, else a policy that asks nothing.
    policy: DeliveryPolicy | None = None

    def __post_init__(self) -> None:
        if self.policy is None:
            chosen = PublishedNumbers() if AVAILABILITY_CHANGED in self.event_types else DeliveryPolicy()
            object.__setattr__(self, "policy", chosen)

    @property
    def delivery_policy(self) -> DeliveryPolicy:
        assert self.policy is not None  # set in __post_init__
        return self.policy

    def takes(self, event_type: str, channel: str | None) -> bool:
        return _takes(self.event_types, self.channels, event_type, channel)


@dataclass(frozen=True)
class Subscription:
    """What a subscriber takes, without how it delivers: what a delivery row is created from. A configured
    connector's subscriptions are read from the database by every process (``store.subscriptions_repo``)."""

    name: str
    event_types: frozenset[str]
    channels: frozenset[str] | None = None
    coalesce: bool = True

    @classmethod
    def of(cls, subscriber: Subscriber) -> Subscription:
        return cls(subscriber.name, subscriber.event_types, subscriber.channels, subscriber.coalesce)

    def takes(self, event_type: str, channel: str | None) -> bool:
        return _takes(self.event_types, self.channels, event_type, channel)


@dataclass
class SubscriberRegistry:
    """The subscribers this process can deliver to. Those added ``declared`` (a connector wired from a
    channel's configuration) also have their subscription in the database, which is where deliveries for
    them are created from; the others (``SEAMLINE_WEBHOOK_SUBSCRIBERS``, a test's own) are known to this
    process only, and the outbox creates their deliveries from here."""

    _by_name: dict[str, Subscriber] = field(default_factory=dict)
    _declared: set[str] = field(default_factory=set)
    _local: list[Subscription] = field(default_factory=list)

    def add(self, subscriber: Subscriber, *, declared: bool = False) -> Subscriber:
        if subscriber.name in self._by_name:
            raise ValueError(f"a subscriber named {subscriber.name} is already registered")
        if subscriber.max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self._by_name[subscriber.name] = subscriber
        if declared:
            self._declared.add(subscriber.name)
        self._local = self._locals()
        return subscriber

    def remove(self, name: str) -> None:
        self._by_name.pop(name, None)
        self._declared.discard(name)
        self._local = self._locals()

    def _locals(self) -> list[Subscription]:
        return [Subscription.of(s) for n, s in sorted(self._by_name.items()) if n not in self._declared]

    def local(self) -> list[Subscription]:
        """The subscriptions of the subscribers known to this process only (not declared in the database)."""
        return self._local

    def is_declared(self, name: str) -> bool:
        return name in self._declared

    def get(self, name: str) -> Subscriber | None:
        return self._by_name.get(name)

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def __iter__(self) -> Iterator[Subscriber]:
        return iter([self._by_name[n] for n in sorted(self._by_name)])

    def __len__(self) -> int:
        return len(self._by_name)

    def for_event(self, event_type: str, channel: str | None) -> list[Subscriber]:
        return [s for s in self if s.takes(event_type, channel)]


def taken_types(types: frozenset[str]) -> frozenset[str]:
    """The event types a subscriber of ``types`` is handed deliveries of: ``AvailabilityBatch`` too when it
    takes ``AvailabilityChanged`` (the NATS consumers subscribe to each)."""
    return types | {AVAILABILITY_BATCH} if AVAILABILITY_CHANGED in types else types


def _takes(types: frozenset[str], channels: frozenset[str] | None, event_type: str, channel: str | None) -> bool:
    """A subscriber of ``AvailabilityChanged`` also takes ``AvailabilityBatch``: the dispatcher hands it the
    batch as one ``AvailabilityChanged`` per SKU."""
    if event_type not in types and not (event_type == AVAILABILITY_BATCH and AVAILABILITY_CHANGED in types):
        return False
    return channels is None or channel is None or channel in channels


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def answer_error(response: httpx.Response) -> ChannelError:
    """A webhook receiver's non-2xx answer: 429 throttled (Retry-After honoured); 408, 425 and 5xx unavailable;
    any other 4xx refused."""
    reason = f"HTTP {response.status_code}: {response.text[:200]}"
    status = response.status_code
    if status == 429:
        return ChannelThrottled(reason, retry_after=_retry_after(response), status=status)
    if status in (408, 425) or status >= 500:
        return ChannelUnavailable(reason, retry_after=_retry_after(response), status=status)
    return ChannelRejected(reason, status=status)


def webhook_subscriber(config: WebhookConfig, transport: httpx.BaseTransport | None = None) -> Subscriber:
    """POST each event as JSON; ``Idempotency-Key`` is the event id, ``traceparent`` carries the trace id.

    2xx delivered; 429 rate limited (Retry-After honoured); 408, 425 and 5xx retried; other 4xx dead-letter."""
    client = httpx.Client(timeout=config.timeout_seconds, transport=transport)

    def deliver(delivery: Delivery) -> Delivered:
        headers = {"Idempotency-Key": delivery.event_id, "Content-Type": "application/json"}
        if delivery.trace_id and len(delivery.trace_id) == 32:
            headers["traceparent"] = f"00-{delivery.trace_id}-{delivery.id % 2**64:016x}-01"
        try:
            response = client.post(config.url, content=json.dumps(delivery.as_json()), headers=headers)
        except httpx.HTTPError as exc:
            raise delivery_outcome(ChannelUnavailable(f"{type(exc).__name__}: {exc}")) from exc
        if response.is_success:
            return Delivered()
        raise delivery_outcome(answer_error(response))

    return Subscriber(
        name=config.name,
        event_types=frozenset(config.events),
        deliver=deliver,
        channels=None if config.channels is None else frozenset(config.channels),
        coalesce=config.coalesce,
        max_concurrency=config.max_concurrency,
        rate_per_second=config.rate_per_second,
    )
