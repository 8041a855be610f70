"""The demo's world outside Seamline: a simulated clock, the channels' screens (what each channel was told,
applied in event order), a marketplace API that goes down for a while, and the Shopify sandbox with the
real Shopify connector as the web channel's subscriber."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from seamline.catalog import Style
from seamline.channels.shopify import mapper
from seamline.channels.shopify.client import Drift, ShopifyClient, ShopifyConfig
from seamline.channels.shopify.connector import availability_subscriber
from seamline.integration import AVAILABILITY_CHANGED, Delivered, Delivery, DeliveryFailed, Subscriber
from seamline.integration.events import ORDER_SHIPPED
from seamline.sandbox.shopify import ShopifySandbox
from seamline.sandbox.shopify.sandbox import SandboxConfig


class SimulatedClock:
    """Business time: ``speed`` simulated seconds per wall second, from ``start``. ``run_from`` jumps forward
    (never back) and changes the speed: setting up runs at 1x, the drop at the chosen speed, and the time
    after it at 1x again, so the dashboard's "5 minutes ago" means five minutes once the run is over.

    It remembers its segments, so ``wall_seconds`` turns any business-time interval into the wall time it
    took (a latency measured in business time during the drop, divided by the speed then)."""

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        #: (business start, business end or None for the running one, speed)
        self._segments: list[tuple[datetime, datetime | None, float]] = [(start, None, speed)]

    @property
    def speed(self) -> float:
        return self._segments[-1][2]

    def _now(self) -> datetime:
        start, _, speed = self._segments[-1]
        return start + timedelta(seconds=(time.monotonic() - self._t0) * speed)

    def now(self) -> datetime:
        with self._lock:
            return self._now()

    def run_from(self, at: datetime, speed: float) -> datetime:
        with self._lock:
            now = self._now()
            start, _, old_speed = self._segments[-1]
            self._segments[-1] = (start, now, old_speed)
            begin = max(now, at)
            self._segments.append((begin, None, speed))
            self._t0 = time.monotonic()
            return begin

    def wall_seconds(self, start: datetime, end: datetime) -> float:
        """Wall seconds that passed while business time went from ``start`` to ``end`` (jumps take none)."""
        with self._lock:
            segments = list(self._segments)
            now = self._now()
        total = 0.0
        for i, (begin, finish, speed) in enumerate(segments):
            stop = finish if finish is not None else max(now, end)
            if i == 0:
                begin = min(begin, start)  # before the clock started: at its first speed
            overlap = (min(end, stop) - max(start, begin)).total_seconds()
            if overlap > 0:
                total += overlap / speed
        return total

    def sleep(self, simulated_seconds: float) -> None:
        time.sleep(max(0.0, simulated_seconds) / self.speed)


@dataclass
class ChannelScreen:
    """The numbers one channel shows, as its connector was told them. A delivery older than the number
    already shown (a late retry, a replayed dead letter) is acknowledged and skipped: applied by sequence."""

    channel: str
    numbers: dict[str, tuple[int, int, bool]] = field(default_factory=dict)  # sku -> (event seq, available, paused)
    applied: int = 0
    stale_skipped: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def apply(self, delivery: Delivery) -> Delivered:
        sku = str(delivery.payload["sku"])
        with self._lock:
            current = self.numbers.get(sku)
            if current is not None and current[0] >= delivery.event_seq:
                self.stale_skipped += 1
                return Delivered()
            self.numbers[sku] = (
                delivery.event_seq,
                int(delivery.payload["available"]),
                bool(delivery.payload.get("paused", False)),
            )
            self.applied += 1
        return Delivered()

    def shown(self, sku: str) -> int | None:
        with self._lock:
            current = self.numbers.get(sku)
        return None if current is None else current[1]


def screen_subscriber(name: str, screens: dict[str, ChannelScreen]) -> Subscriber:
    """A channel that takes pushes and always answers (POS tills, a marketplace's listings API)."""

    def deliver(delivery: Delivery) -> Delivered:
        return screens[str(delivery.payload["channel"])].apply(delivery)

    return Subscriber(name, frozenset({AVAILABILITY_CHANGED}), deliver, channels=frozenset(screens))


def flaky_subscriber(name: str, screen: ChannelScreen, down: Callable[[], bool], *, max_attempts: int) -> Subscriber:
    """A marketplace API that answers 503 while ``down()``: deliveries back off, some use up their attempts
    and are dead-lettered, and the rest go through when it comes back."""

    def deliver(delivery: Delivery) -> Delivered:
        if down():
            raise DeliveryFailed("HTTP 503 Service Unavailable from the marketplace API (simulated outage)")
        return screen.apply(delivery)

    return Subscriber(
        name,
        frozenset({AVAILABILITY_CHANGED}),
        deliver,
        channels=frozenset({screen.channel}),
        max_attempts=max_attempts,
    )


class ShopifyShop:
    """The Shopify sandbox as the web channel: the catalog published to it, and the real connector pushing
    availability to its online location through an in-process transport."""

    def __init__(self, clock: SimulatedClock, on_drift: Callable[[Drift], None]) -> None:
        self.sandbox = ShopifySandbox(SandboxConfig(currency="EUR"), clock=clock)
        self.location_id = self.sandbox.add_location("Online store")
        self.client = ShopifyClient(
            ShopifyConfig("http://sandbox.test/admin/api/2026-07", self.sandbox.config.access_token),
            transport=self.sandbox.transport(),
            clock=clock,
            sleep=clock.sleep,
        )
        self.items: dict[str, str] = {}
        self.on_drift = on_drift
        #: The shop's orders marked fulfilled, with their tracking numbers (external id -> tracking).
        self.fulfilled: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def publish(self, styles: Iterable[Style]) -> None:
        for style in styles:
            published = self.client.publish_product(mapper.product_set_variables(style, currency="EUR"))
            self.items.update({v.sku: v.inventory_item_id for v in published.variants if v.sku})

    def fulfilment_subscriber(self, channel: str) -> Subscriber:
        """The shop learns that its orders shipped (``OrderShipped``), as the real fulfilment pusher tells
        Shopify; the demo's order numbers are not Shopify order ids, so the shop keeps them itself."""

        def deliver(delivery: Delivery) -> Delivered:
            with self._lock:
                self.fulfilled[str(delivery.payload["external_id"])] = delivery.payload.get("tracking")
            return Delivered()

        return Subscriber(
            f"shopify-fulfilments:{channel}",
            frozenset({ORDER_SHIPPED}),
            deliver,
            channels=frozenset({channel}),
            coalesce=False,
        )

    def subscriber(self, channel: str) -> Subscriber:
        """The connector, told to skip SKUs the shop does not list (prepacks are wholesale-only): the
        connector itself dead-letters an unlinked SKU, which is right for a SKU that should be listed."""
        connector = availability_subscriber(
            channel,
            self.client,
            location_id=str(self.location_id),
            item_for_sku=self.items.get,
            on_drift=self.on_drift,
        )

        def deliver(delivery: Delivery) -> Delivered | None:
            if str(delivery.payload.get("sku")) not in self.items:
                return Delivered()
            return connector.deliver(delivery)

        return replace(connector, deliver=deliver)

    def _item_number(self, sku: str) -> int | None:
        item = self.items.get(sku)
        return None if item is None else int(item.rsplit("/", 1)[1])

    def available(self, sku: str) -> int | None:
        number = self._item_number(sku)
        return None if number is None else self.sandbox.quantity(number, self.location_id)

    def merchant_edit(self, sku: str, available: int) -> None:
        """Someone changes the number in the Shopify admin: drift the next push finds and overwrites."""
        number = self._item_number(sku)
        if number is not None:
            self.sandbox.set_quantity(number, self.location_id, available)
