"""The Amazon connector as the integration backbone sees it.

- **Real-time availability**: a ``Subscriber`` of the channel's ``AvailabilityChanged`` (coalesced per SKU,
  5 deliveries/s, burst 5: Amazon's ``patchListingsItem`` rate) that PATCHes ``fulfillment_availability``
  on each marketplace listing of the SKU. SKUs are listed by linking them (``PUT /v1/channels/{code}/
  listings/{sku}``), or all of them with the ``auto_list`` setting. The payload's ``available`` is sent: 0
  while the listing is paused under the channel's threshold. Listing state per marketplace is kept
  (``marketplace_listings``): a delivery older than the number already asked for is acknowledged without a
  call, so a late retry never shows an old number. Amazon's answers become the dispatcher's: 429 past the
  client's patience → ``RateLimited`` (Retry-After honoured), 5xx or no answer → ``DeliveryFailed``,
  ``INVALID`` or a 4xx → ``DeliveryRejected`` (dead-lettered; the listing shows ``error`` with the issues).
- **Bulk catch-up**: ``catch_up`` compares every listing with the channel's ATP and sends the differences
  as ``JSON_LISTINGS_FEED`` documents (≤ 25,000 messages each, one feed per marketplace); ``settle_feeds``
  polls them and applies the processing report line by line.
- **Orders**: ``pull_orders`` stores new and changed orders in the inbox; the handler from ``order_handler``
  puts accepted ones into the one order queue (kind ``marketplace``) and cancels cancelled ones. Set the
  channel's ``on_shortage`` to ``backorder``: Amazon has already sold the units, so refusing is no option.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from seamline.channels.amazon import inbound
from seamline.channels.amazon.client import AmazonClient, AmazonRejected, AmazonThrottled, AmazonUnavailable
from seamline.channels.amazon.mapper import (
    AvailabilityUpdate,
    Issue,
    chunks,
    listings_feed,
    map_order,
)
from seamline.channels.canonical import OrderCancellation, OrderMapping, queue_order
from seamline.integration import (
    AVAILABILITY_CHANGED,
    Delivered,
    Delivery,
    DeliveryFailed,
    DeliveryRejected,
    FunctionHandler,
    Integration,
    RateLimited,
    Subscriber,
)
from seamline.service import Seamline, channel_orders
from seamline.service.marketplaces import ImportLine, ListingIssue, Listings
from seamline.store import catalog_repo

CAPABILITIES = frozenset({"availability_push", "bulk_catch_up", "order_pull", "auto_pause"})
FEED_KIND = "amazon_listings_feed"
#: Amazon's documented patchListingsItem rate per selling-partner account: 5 requests/s, burst 5.
PATCH_RATE_PER_SECOND = 5.0
PATCH_BURST = 5.0


#: An order the connector will not put into the queue as it is (an unknown SKU, a foreign currency): the
#: inbox keeps it ``failed`` with this reason until someone links the SKU and retries it.
OrderHeld = channel_orders.OrderHeld


def _issues(issues: tuple[Issue, ...]) -> list[ListingIssue]:
    return [ListingIssue(i.message, i.code, i.severity) for i in issues]


@dataclass(frozen=True)
class CatchUpReport:
    listings: int
    feeds: list[int]


class AmazonConnector:
    def __init__(self, app: Seamline, channel: str, client: AmazonClient, *, currency: str | None = None) -> None:
        self.app = app
        self.channel = channel
        self.client = client
        self.currency = currency
        self.listings = Listings(app)
        self.orders = channel_orders.ChannelOrders(app)

    @property
    def name(self) -> str:
        return f"amazon:{self.channel}"

    # ------------------------------------------------------------------ wiring
    def subscriber(self) -> Subscriber:
        return Subscriber(
            name=self.name,
            event_types=frozenset({AVAILABILITY_CHANGED}),
            deliver=self.deliver,
            channels=frozenset({self.channel}),
            coalesce=True,
            max_concurrency=1,
            rate_per_second=PATCH_RATE_PER_SECOND,
            burst=PATCH_BURST,
        )

    def order_handler(self) -> FunctionHandler:
        return FunctionHandler(inbound.parse_order_message, self.apply_order)

    def install(self, integration: Integration) -> None:
        """Register the availability subscriber and the order handler (once)."""
        if integration.registry.get(self.name) is None:
            integration.add_subscriber(self.subscriber())
        source = inbound.source_for(self.channel)
        if integration.handlers.get(source, inbound.ORDER_MESSAGE) is None:
            integration.handlers.register(source, inbound.ORDER_MESSAGE, self.order_handler())

    # ------------------------------------------------------------------ real-time availability
    def deliver(self, delivery: Delivery) -> Delivered:
        sku = str(delivery.payload["sku"])
        qty = int(delivery.payload.get("available", delivery.payload.get("atp", 0)))
        paused = bool(delivery.payload.get("paused", False))
        config = self.client.config
        rows = self.listings.prepare_push(
            self.channel,
            sku,
            qty=qty,
            seq=delivery.event_seq,
            paused=paused,
            marketplaces=config.marketplace_ids,
            product_type=config.product_type,
            create=config.auto_list,
        )
        refused: list[str] = []
        for row in rows:
            marketplace = row["marketplace"]
            product_type = row["product_type"] or config.product_type
            if not product_type:
                issue = ListingIssue("no productType: link the listing or set the channel's product_type", "CONFIG")
                self.listings.refused(
                    self.channel, marketplace, sku, seq=delivery.event_seq, submission=None, issues=[issue]
                )
                refused.append(f"{marketplace}: {issue.message}")
                continue
            try:
                answer = self.client.patch_availability(
                    row["seller_sku"], product_type=product_type, quantity=qty, marketplace_ids=[marketplace]
                )
            except AmazonThrottled as exc:
                raise RateLimited(str(exc), retry_after=exc.retry_after) from exc
            except AmazonUnavailable as exc:
                raise DeliveryFailed(str(exc), retry_after=exc.retry_after) from exc
            except AmazonRejected as exc:
                issue = ListingIssue(str(exc), f"HTTP{exc.status}" if exc.status else None)
                self.listings.refused(
                    self.channel, marketplace, sku, seq=delivery.event_seq, submission=None, issues=[issue]
                )
                raise DeliveryRejected(str(exc)) from exc
            if answer.accepted:
                self.listings.published(
                    self.channel, marketplace, sku, qty=qty, seq=delivery.event_seq, submission=answer.submission_id
                )
                self.listings.record_issues(
                    self.channel, marketplace, sku, answer.submission_id, _issues(answer.issues)
                )
            else:
                self.listings.refused(
                    self.channel,
                    marketplace,
                    sku,
                    seq=delivery.event_seq,
                    submission=answer.submission_id,
                    issues=_issues(answer.issues),
                )
                refused.append(f"{marketplace}: " + "; ".join(i.message for i in answer.issues))
        if refused:
            raise DeliveryRejected(f"Amazon refused {sku}: " + " | ".join(refused))
        return Delivered()

    # ------------------------------------------------------------------ bulk catch-up
    def current_availability(self) -> dict[str, tuple[int, bool]]:
        """The channel's ATP for every active SKU: (what to show, paused)."""
        out: dict[str, tuple[int, bool]] = {}
        after: str | None = None
        while True:
            items, after = self.app.availability(self.channel, after=after, limit=500)
            for item in items:
                out[item["sku"]] = (int(item["available"]), bool(item["paused"]))
            if after is None:
                return out

    def catch_up(self, *, full: bool = False) -> CatchUpReport:
        """Send, as listings feeds, every listing whose shown number differs from ATP (all of them, ``full``)."""
        seq = self.listings.latest_seq()  # read first: the ATP read below is at least this new
        rows = self.listings.plan_catch_up(self.channel, self.current_availability(), seq=seq, full=full)
        config = self.client.config
        by_marketplace: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_marketplace[row["marketplace"]].append(row)
        feeds: list[int] = []
        for marketplace in sorted(by_marketplace):
            for chunk in chunks(by_marketplace[marketplace], config.max_feed_messages):
                updates = [
                    AvailabilityUpdate(
                        r["seller_sku"], r["product_type"] or config.product_type or "", r["desired_qty"]
                    )
                    for r in chunk
                ]
                document = listings_feed(
                    config.seller_id,
                    updates,
                    op=config.patch_op,
                    fulfillment_channel_code=config.fulfillment_channel_code,
                    max_messages=config.max_feed_messages,
                )
                feed_id = self.client.submit_feed(document, [marketplace])
                lines = [
                    ImportLine(n, marketplace, r["sku"], r["seller_sku"], r["desired_qty"], r["desired_seq"])
                    for n, r in enumerate(chunk, start=1)
                ]
                feeds.append(
                    self.listings.start_import(
                        self.channel, FEED_KIND, lines, external_id=feed_id, platform_status="IN_QUEUE"
                    )
                )
        return CatchUpReport(len(rows), feeds)

    def settle_feeds(self) -> dict[str, int]:
        """Poll every open feed; apply the report of each one that finished. Answers lines per outcome."""
        totals = {"accepted": 0, "refused": 0, "open": 0}
        for row in self.listings.open_imports(self.channel, FEED_KIND):
            result = self.client.feed_result(str(row["external_id"]))
            if result.status not in ("DONE", "FATAL", "CANCELLED"):
                self.listings.note_import_status(row["id"], result.status)
                totals["open"] += 1
                continue
            errors: dict[tuple[str, str], list[ListingIssue]] = {}
            failed = None if result.status == "DONE" else f"feed {result.feed_id} ended {result.status}"
            if result.report is not None:
                for line in row["lines"]:
                    found = result.report.issues.get(int(line["line"]), ())
                    if found:
                        errors[(line["marketplace"], line["sku"])] = _issues(found)
            counts = self.listings.finish_import(
                row["id"],
                platform_status=result.status,
                summary=None if result.report is None else dict(result.report.summary),
                errors=errors,
                failed=failed,
            )
            totals["accepted"] += counts["accepted"]
            totals["refused"] += counts["refused"]
        return totals

    # ------------------------------------------------------------------ orders
    def pull_orders(self, integration: Integration) -> inbound.PullReport:
        return inbound.pull_orders(
            self.channel, self.client, integration.inbox, self.listings, now=self.app.clock.now()
        )

    def apply_order(self, conn: Connection, stored: inbound.StoredOrder) -> None:
        """Inside the inbox's transaction: the order into the queue, or its cancellation."""
        seller_skus = [str(i.get("SellerSKU")) for i in stored.items if i.get("SellerSKU")]
        known = catalog_repo.known_skus(conn, seller_skus)
        mapped = map_order(stored.order, stored.items, known_skus=set(known), currency=self.currency)
        if isinstance(mapped, OrderCancellation):
            self._cancel(conn, mapped)
            return
        self._place(conn, mapped)

    def _cancel(self, conn: Connection, cancellation: OrderCancellation) -> None:
        self.orders.cancel(conn, self.channel, cancellation.external_id, None, kind="marketplace")

    def _place(self, conn: Connection, mapped: OrderMapping) -> None:
        self.orders.place(conn, self.channel, queue_order(mapped), kind="marketplace")
