"""The Amazon connector as the integration backbone sees it.

- **Real-time availability**: a ``Subscriber`` of the channel's ``AvailabilityChanged`` (coalesced per SKU,
  5 deliveries/s, burst 5: Amazon's ``patchListingsItem`` rate) that PATCHes ``fulfillment_availability``
  on each marketplace listing of the SKU. SKUs are listed by linking them (``PUT /v1/channels/{code}/
  listings/{sku}``), or all of them with the ``auto_list`` setting. The payload's ``available`` is sent: 0
  while the listing is paused under the channel's threshold. Listing state per marketplace is kept
  (``marketplace_listings``): a delivery older than the number already asked for is acknowledged without a
  call, so a late retry never shows an old number. Amazon's answers become the dispatcher's
  through ``integration.delivery_outcome``: 429 past the client's patience waits (Retry-After honoured), 5xx
  or no answer retries, a 4xx dead-letters; ``INVALID`` dead-letters too (the listing shows ``error`` with
  the issues).
- **Bulk catch-up**: ``catch_up`` compares every listing with the channel's ATP and sends the differences
  as ``JSON_LISTINGS_FEED`` documents (≤ 25,000 messages each, one feed per marketplace); ``settle_feeds``
  polls them and applies the processing report line by line.
- **Orders**: ``pull_orders`` stores new and changed orders in the inbox (Orders API 2026-01-01
  ``searchOrders``); the handler from ``order_handler`` puts accepted ones into the one order queue (kind
  ``marketplace``) and cancels cancelled ones, by the one channel-order use case
  (``seamline.service.channel_orders``: held, never rejected, when a SKU is unknown). Set the channel's
  ``on_shortage`` to ``backorder``: Amazon has already sold the units, so refusing is no option.
- **Shipments**: ``shipment_subscriber`` takes ``OrderShipped`` of the channel's orders and confirms each
  shipment the ledger recorded (partial ones included) with ``confirmShipment``: one package per shipment,
  its items and quantities, carrier (``carrier_codes``, else ``Other`` with its name) and tracking.
- **Listings from the master**: ``content_subscriber`` takes ``StyleChanged`` and publishes each listable
  variant of the style on each marketplace it is linked to (every marketplace with ``auto_list``): the
  first time with ``putListingsItem`` (the content, the variant's colour, size and GTIN, the price, and the
  quantity to show), after that with ``patchListingsItem`` replacing the content attributes
  (``listings``). The productType is the listing's own, else the channel's ``product_types`` for the
  style's category, else its ``product_type``. Amazon's ``issues`` are kept on the listing; an
  ``INVALID`` answer dead-letters the delivery with them. Prepacks and wholesale-only styles are never
  listed (nor are their numbers sent): a linked one gets an issue saying why.
- **Cancellations and refunds out**: ``adjustment_subscriber`` takes ``OrderCancelled`` and ``ReturnBooked``
  of the channel's orders. A cancellation made here goes as a ``POST_ORDER_ACKNOWLEDGEMENT_DATA`` feed
  (``StatusCode`` ``Failure``, reason ``NoInventory``); one that came from Amazon is not sent back. A return
  goes as a ``POST_PAYMENT_ADJUSTMENT_DATA`` feed: per returned line its Amazon order item, and the money
  the return refunds for it, which for an order carrying Amazon's figures is what Amazon charged for those
  units (principal after promotions, and tax when Amazon's amounts exclude it), the credit note's amounts.
  Each is recorded in ``channel_confirmations`` (kinds ``cancel`` and ``refund``) with its feed id;
  ``settle_order_feeds`` polls the feeds and marks each told, or records the processing report's error.
  Neither Orders API version has a cancel or refund call (see ``order_feeds``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from seamline.channels.amazon import inbound
from seamline.channels.amazon.client import AmazonClient
from seamline.channels.amazon.listings import (
    ListingSettings,
    content_patch_body,
    not_listable,
    parent_attributes,
    put_body,
    variant_attributes,
)
from seamline.channels.amazon.mapper import (
    AvailabilityUpdate,
    Issue,
    chunks,
    listings_feed,
    map_order,
    map_order_2026,
    shipping_item,
)
from seamline.channels.amazon.order_feeds import (
    ACKNOWLEDGEMENT_FEED,
    ADJUSTMENT_FEED,
    DEFAULT_CANCEL_REASON,
    AdjustedItem,
    Adjustment,
    Cancellation,
    CancelledItem,
    acknowledgement_feed,
    adjustment_feed,
)
from seamline.channels.canonical import OrderCancellation, OrderMapping, queue_order
from seamline.domain.clock import iso_utc
from seamline.domain.commerce import OrderCommerce, RefundAdjustment, RefundCommerce
from seamline.integration import (
    AVAILABILITY_CHANGED,
    ChannelError,
    ChannelRejected,
    Delivered,
    Delivery,
    DeliveryRejected,
    FunctionHandler,
    HoldMessage,
    Integration,
    Subscriber,
    delivery_outcome,
)
from seamline.integration.events import (
    ORDER_CANCELLED,
    ORDER_LINES_CANCELLED,
    ORDER_SHIPPED,
    RETURN_BOOKED,
    STYLE_CHANGED,
)
from seamline.service import Seamline, channel_orders
from seamline.service.marketplaces import ImportLine, ListingIssue, Listings
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import catalog_repo, channel_orders_repo, marketplace_repo, orders_repo

FEED_KIND = "amazon_listings_feed"
#: ``channel_confirmations`` kinds: an order's lines ↔ Amazon order items, and each shipment confirmed.
LINES, SHIPMENT = "lines", "shipment"
#: ``channel_confirmations`` kinds: a cancellation (ref: Amazon's order id) and a refund (ref: our return id).
CANCEL, REFUND = "cancel", "refund"
#: ``channel_confirmations`` kind: a listing Amazon created from the master (ref ``marketplace/sku``).
CONTENT = "content"
#: Our cancellation reasons (``POST /v1/orders/{id}/cancel-lines`` ``reason``) → Amazon's ``CancelReason``.
CANCEL_REASONS = {
    "out_of_stock": "NoInventory",
    "customer": "BuyerCanceled",
    "address": "ShippingAddressUndeliverable",
}
#: Amazon's documented patchListingsItem rate per selling-partner account: 5 requests/s, burst 5.
PATCH_RATE_PER_SECOND = 5.0
PATCH_BURST = 5.0


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
        """Register the availability and shipment subscribers and the order handler (once)."""
        if integration.registry.get(self.name) is None:
            integration.add_subscriber(self.subscriber())
        if integration.registry.get(f"amazon-shipments:{self.channel}") is None:
            integration.add_subscriber(self.shipment_subscriber())
        if integration.registry.get(f"amazon-content:{self.channel}") is None:
            integration.add_subscriber(self.content_subscriber())
        if integration.registry.get(f"amazon-adjustments:{self.channel}") is None:
            integration.add_subscriber(self.adjustment_subscriber())
        source = inbound.source_for(self.channel)
        if integration.handlers.get(source, inbound.ORDER_MESSAGE) is None:
            integration.handlers.register(source, inbound.ORDER_MESSAGE, self.order_handler())

    # ------------------------------------------------------------------ real-time availability
    def deliver(self, delivery: Delivery) -> Delivered:
        sku = str(delivery.payload["sku"])
        qty = int(delivery.payload.get("available", delivery.payload.get("atp", 0)))
        paused = bool(delivery.payload.get("paused", False))
        config = self.client.config
        if self._is_prepack(sku):
            return Delivered()  # a prepack is wholesale only: never listed, so no number to show
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
            except ChannelError as exc:
                if isinstance(exc, ChannelRejected):  # the listing shows why, beside the dead letter
                    issue = ListingIssue(str(exc), f"HTTP{exc.status}" if exc.status else None)
                    self.listings.refused(
                        self.channel, marketplace, sku, seq=delivery.event_seq, submission=None, issues=[issue]
                    )
                raise delivery_outcome(exc) from exc
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

    def _prepacks(self, skus: list[str]) -> set[str]:
        def read(conn: Connection) -> set[str]:
            found: set[str] = set()
            for part in chunks(sorted(set(skus)), 1000):
                found |= catalog_repo.prepack_map(conn, part).keys()
            return found

        return self.app.read(read) if skus else set()

    def _is_prepack(self, sku: str) -> bool:
        row = self.app.read(lambda conn: catalog_repo.get_sku(conn, sku))
        return row is not None and row.get("kind") == "prepack"

    # ------------------------------------------------------------------ listings from the master
    def content_subscriber(self) -> Subscriber:
        return Subscriber(
            name=f"amazon-content:{self.channel}",
            event_types=frozenset({STYLE_CHANGED}),
            deliver=self.deliver_style,
            channels=frozenset({self.channel}),
            coalesce=True,
            max_concurrency=1,
        )

    def listing_settings(self) -> ListingSettings:
        settings = self.listings.settings(self.channel)
        currency = self.currency or str(settings.get("currency") or "")
        return ListingSettings.from_settings(
            {**settings, "product_type": settings.get("product_type") or self.client.config.product_type},
            currency=currency,
        )

    def deliver_style(self, delivery: Delivery) -> Delivered:
        """``StyleChanged``: every listable variant of the style on each of its marketplaces, created with
        ``putListingsItem`` the first time and its content replaced with ``patchListingsItem`` after."""
        code = str(delivery.payload["style"])
        config = self.client.config
        settings = self.listing_settings()

        def read(conn: Connection) -> tuple[Any, dict[str, list[dict[str, Any]]], set[str]]:
            style = catalog_repo.get_style(conn, code)
            if style is None:
                return None, {}, set()
            skus = [v.sku for v in style.variants] + [p.sku for p in style.prepacks]
            rows = {sku: marketplace_repo.get_listings(conn, self.channel, sku) for sku in skus}
            created = {
                f"{row['marketplace']}/{sku}"
                for sku, found in rows.items()
                for row in found
                if (c := channel_orders_repo.get(conn, self.channel, CONTENT, f"{row['marketplace']}/{sku}"))
                and c["sent_at"] is not None
            }
            created |= {  # the variation parents sent (no listing row of their own: they are never stocked)
                f"{marketplace}/{code}"
                for marketplace in config.marketplace_ids
                if (c := channel_orders_repo.get(conn, self.channel, CONTENT, f"{marketplace}/{code}"))
                and c["sent_at"] is not None
            }
            return style, rows, created

        style, rows, created = self.app.read(read)
        if style is None or style.status != "active":
            return Delivered()  # nothing to show (a discontinued style's listings keep what they have)
        refused: list[str] = []
        parents_sent: set[str] = set()
        for sku in [v.sku for v in style.sorted_variants()] + [p.sku for p in style.prepacks]:
            linked = {r["marketplace"]: r for r in rows.get(sku, []) if r["marketplace"] in config.marketplace_ids}
            marketplaces = sorted(linked) if not config.auto_list else list(config.marketplace_ids)
            reason = not_listable(style, sku, settings)
            if reason is not None:
                for marketplace in sorted(linked):  # linked by someone: say why it is not listed
                    issue = ListingIssue(reason, "NOT_LISTABLE")
                    self.listings.record_issues(self.channel, marketplace, sku, None, [issue])
                continue
            variant = style.variant(sku)
            for marketplace in marketplaces:
                row = linked.get(marketplace)
                product_type = (row or {}).get("product_type") or settings.product_type(style)
                if marketplace not in parents_sent:  # the family's parent first: its variants name it
                    parents_sent.add(marketplace)
                    problem = self._send_parent(style, marketplace, product_type, settings, created)
                    if problem:
                        refused.append(problem)
                seller_sku = str((row or {}).get("seller_sku") or sku)
                attributes = variant_attributes(
                    style, variant, channel=self.channel, marketplace=marketplace, settings=settings
                )
                ref = f"{marketplace}/{sku}"
                try:
                    if ref in created:
                        answer = self.client.patch_listing(
                            seller_sku, content_patch_body(product_type, attributes, marketplace), [marketplace]
                        )
                    else:
                        available = self._available(sku)
                        attributes["fulfillment_availability"] = [
                            {"fulfillment_channel_code": config.fulfillment_channel_code, "quantity": available}
                        ]
                        answer = self.client.put_listing(seller_sku, put_body(product_type, attributes), [marketplace])
                except ChannelError as exc:
                    raise delivery_outcome(exc) from exc
                issues = _issues(answer.issues)
                self.listings.record_issues(self.channel, marketplace, sku, answer.submission_id, issues)
                self._content_answer(
                    ref, marketplace, sku, seller_sku, product_type, style.version, answer.accepted, issues
                )
                if not answer.accepted:
                    refused.append(f"{ref}: " + "; ".join(i.message for i in issues if i.severity == "ERROR"))
        if refused:
            raise DeliveryRejected(f"Amazon refused listings of {code}: " + " | ".join(refused))
        return Delivered()

    def _send_parent(
        self, style: Any, marketplace: str, product_type: str, settings: ListingSettings, created: set[str]
    ) -> str | None:
        """The variation parent (SKU = the style's code) on ``marketplace``: created with ``putListingsItem``
        (``LISTING_PRODUCT_ONLY``: never bought, no offer) the first time, its content replaced after.
        Answers what Amazon refused, if anything."""
        ref = f"{marketplace}/{style.code}"
        attributes = parent_attributes(style, channel=self.channel, marketplace=marketplace, settings=settings)
        try:
            if ref in created:
                answer = self.client.patch_listing(
                    style.code, content_patch_body(product_type, attributes, marketplace), [marketplace]
                )
            else:
                body = put_body(product_type, attributes, "LISTING_PRODUCT_ONLY")
                answer = self.client.put_listing(style.code, body, [marketplace])
        except ChannelError as exc:
            raise delivery_outcome(exc) from exc
        issues = _issues(answer.issues)
        self._content_answer(
            ref, marketplace, style.code, style.code, product_type, style.version, answer.accepted, issues, link=False
        )
        if answer.accepted:
            return None
        return f"{ref}: " + "; ".join(i.message for i in issues if i.severity == "ERROR")

    def _available(self, sku: str) -> int:
        items, _ = self.app.availability(self.channel, sku=sku, limit=1)
        return int(items[0]["available"]) if items and items[0]["sku"] == sku else 0

    def _content_answer(
        self,
        ref: str,
        marketplace: str,
        sku: str,
        seller_sku: str,
        product_type: str,
        version: int,
        accepted: bool,
        issues: list[ListingIssue],
        *,
        link: bool = True,
    ) -> None:
        now = self.app.clock.now()
        error = None if accepted else "; ".join(i.message for i in issues if i.severity == "ERROR") or "INVALID"
        detail = {"product_type": product_type, "version": version}

        def work(uow: UnitOfWork) -> None:
            conn = uow.conn
            channel_orders_repo.decide(conn, self.channel, CONTENT, ref, detail, now)
            channel_orders_repo.mark(conn, self.channel, CONTENT, ref, sent_at=now if accepted else None, error=error)
            if accepted and link:  # the listing's productType is the one Amazon now has: quantity PATCHes name it
                marketplace_repo.link_listing(
                    conn, self.channel, marketplace, sku, seller_sku=seller_sku, product_type=product_type, now=now
                )

        self.app.write(work)

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
        packs = self._prepacks([r["sku"] for r in rows])
        rows = [r for r in rows if r["sku"] not in packs]  # a prepack is never listed, even when linked
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

    def apply_order(self, uow: UnitOfWork, stored: inbound.StoredOrder) -> None:
        """Inside the inbox's transaction: the order into the queue, or its cancellation."""
        conn = uow.conn
        mapped: OrderMapping | OrderCancellation
        if stored.version == inbound.ORDERS_2026:
            skus = [
                str(p["sellerSku"])
                for i in stored.items
                if isinstance(p := i.get("product"), Mapping) and p.get("sellerSku")
            ]
            known = catalog_repo.known_skus(conn, skus)
            mapped = map_order_2026(stored.order, known_skus=set(known), currency=self.currency)
        else:
            seller_skus = [str(i.get("SellerSKU")) for i in stored.items if i.get("SellerSKU")]
            known = catalog_repo.known_skus(conn, seller_skus)
            mapped = map_order(stored.order, stored.items, known_skus=set(known), currency=self.currency)
        if isinstance(mapped, OrderCancellation):
            self._cancel(uow, mapped)
            return
        self._place(uow, mapped, self._marketplace_of(stored))

    def _marketplace_of(self, stored: inbound.StoredOrder) -> str:
        channel = stored.order.get("salesChannel")
        found = channel.get("marketplaceId") if isinstance(channel, Mapping) else stored.order.get("MarketplaceId")
        return str(found or self.client.config.marketplace_ids[0])

    def _cancel(self, uow: UnitOfWork, cancellation: OrderCancellation) -> None:
        # Amazon cancelled it: recorded as told, so the OrderCancelled this raises sends nothing back.
        now = self.app.clock.now()
        ref = cancellation.external_id
        if channel_orders_repo.decide(uow.conn, self.channel, CANCEL, ref, {"by": "amazon"}, now):
            channel_orders_repo.mark(uow.conn, self.channel, CANCEL, ref, sent_at=now, error=None)
        self.orders.cancel(uow, self.channel, cancellation.external_id, None, kind="marketplace")

    def _place(self, uow: UnitOfWork, mapped: OrderMapping, marketplace: str) -> None:
        conn = uow.conn
        try:
            order_id = self.orders.place(uow, self.channel, queue_order(mapped), kind="marketplace")
        except channel_orders.OrderHeld as exc:
            raise HoldMessage(str(exc)) from exc  # held in the inbox, rechecked, applied once the SKU is linked
        if order_id is None:
            return
        # Which Amazon order item each of our lines is: a shipment is confirmed item by item.
        row = orders_repo.get_order(conn, order_id)
        assert row is not None
        numbers = [line.line_no for line in row["lines"]]
        items = [
            {"line_no": n, "order_item_id": line.line_id, "sku": line.sku, "qty": line.qty}
            for line, n in zip(mapped.stock_lines, numbers, strict=False)
        ]
        detail = {"order_id": order_id, "marketplace_id": marketplace, "items": items}
        now = self.app.clock.now()
        if channel_orders_repo.decide(conn, self.channel, LINES, mapped.order.external_id, detail, now):
            channel_orders_repo.mark(conn, self.channel, LINES, mapped.order.external_id, sent_at=now, error=None)

    # ------------------------------------------------------------------ shipments out
    def shipment_subscriber(self) -> Subscriber:
        return Subscriber(
            name=f"amazon-shipments:{self.channel}",
            event_types=frozenset({ORDER_SHIPPED}),
            deliver=self.deliver_shipment,
            channels=frozenset({self.channel}),
            coalesce=False,
            max_concurrency=1,
        )

    def deliver_shipment(self, delivery: Delivery) -> Delivered:
        """``OrderShipped`` of one of the channel's orders: every shipment the ledger recorded and Amazon was
        not told of yet is confirmed (``confirmShipment``), one package each, with its items, carrier and
        tracking. A repeat finds nothing left to confirm."""
        order_id = str(delivery.payload["order_id"])
        external_id = str(delivery.payload["external_id"])

        def read(conn: Connection) -> tuple[dict[str, Any] | None, list[dict[str, Any]], set[str]]:
            lines = channel_orders_repo.get(conn, self.channel, LINES, external_id)
            shipments = channel_orders_repo.shipments(conn, order_id)
            done = set()
            for shipment in shipments:
                ref = f"{order_id}/{shipment['shipment_no']}"
                found = channel_orders_repo.get(conn, self.channel, SHIPMENT, ref)
                if found is not None and found["sent_at"] is not None:
                    done.add(ref)
            return lines, shipments, done

        lines, shipments, done = self.app.read(read)
        if lines is None:
            return Delivered()  # not an order taken from Amazon
        items = {int(x["line_no"]): x for x in lines["detail"]["items"]}
        for shipment in shipments:
            ref = f"{order_id}/{shipment['shipment_no']}"
            if ref in done:
                continue
            package = self._package(ref, shipment, items)
            try:
                self.client.confirm_shipment(external_id, str(lines["detail"]["marketplace_id"]), package)
            except ChannelError as exc:
                if isinstance(exc, ChannelRejected):  # recorded against the shipment, beside the dead letter
                    self._record(ref, package, str(exc))
                raise delivery_outcome(exc) from exc
            self._record(ref, package, None)
        return Delivered()

    def _package(self, ref: str, shipment: Mapping[str, Any], items: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
        if not shipment.get("tracking"):
            raise DeliveryRejected(f"shipment {ref}: Amazon needs a tracking number to confirm it")
        order_items = []
        for part in shipment["lines"]:
            item = items.get(int(part["line_no"]))
            if item is None:
                raise DeliveryRejected(f"shipment {ref}: order line {part['line_no']} has no Amazon order item")
            order_items.append({"orderItemId": item["order_item_id"], "quantity": int(part["qty"])})
        carrier = str(shipment.get("carrier") or "")
        code = self.client.config.carrier_codes.get(carrier) if carrier else None
        package: dict[str, Any] = {
            "packageReferenceId": str(shipment["shipment_no"]),
            "carrierCode": code or "Other",
            "trackingNumber": str(shipment["tracking"]),
            "shipDate": iso_utc(shipment["shipped_at"]),
            "orderItems": order_items,
        }
        if not code:
            package["carrierName"] = carrier or "Other"
        return package

    def _record(self, ref: str, package: Mapping[str, Any], error: str | None) -> None:
        now = self.app.clock.now()

        def work(uow: UnitOfWork) -> None:
            conn = uow.conn
            channel_orders_repo.decide(conn, self.channel, SHIPMENT, ref, package, now)
            channel_orders_repo.mark(conn, self.channel, SHIPMENT, ref, sent_at=None if error else now, error=error)

        self.app.write(work)

    # ------------------------------------------------------------------ cancellations and refunds out
    def adjustment_subscriber(self) -> Subscriber:
        return Subscriber(
            name=f"amazon-adjustments:{self.channel}",
            event_types=frozenset({ORDER_CANCELLED, ORDER_LINES_CANCELLED, RETURN_BOOKED}),
            deliver=self.deliver_adjustment,
            channels=frozenset({self.channel}),
            coalesce=False,
            max_concurrency=1,
        )

    def deliver_adjustment(self, delivery: Delivery) -> Delivered:
        """``OrderCancelled`` → an order acknowledgement feed cancelling it; ``ReturnBooked`` → a payment
        adjustment feed refunding the returned units. A repeat finds the feed recorded and sends nothing."""
        if delivery.event_type == ORDER_CANCELLED:
            return self._tell_cancellation(str(delivery.payload["order_id"]), str(delivery.payload["external_id"]))
        if delivery.event_type == ORDER_LINES_CANCELLED:
            return self._tell_line_cancellation(delivery.payload)
        return self._tell_refund(str(delivery.payload["return_id"]), str(delivery.payload["external_id"]))

    def _tell_cancellation(self, order_id: str, external_id: str) -> Delivered:
        def read(conn: Connection) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
            return (
                channel_orders_repo.get(conn, self.channel, LINES, external_id),
                channel_orders_repo.get(conn, self.channel, CANCEL, external_id),
            )

        lines, told = self.app.read(read)
        if lines is None or told is not None:
            return Delivered()  # not an order taken from Amazon, or Amazon knows (it cancelled, or a feed went)
        cancellation = Cancellation(external_id, merchant_order_id=order_id)
        content = acknowledgement_feed(self.client.config.seller_id, [cancellation])
        marketplace = str(lines["detail"]["marketplace_id"])
        detail = {"order_id": order_id, "feed_type": ACKNOWLEDGEMENT_FEED, "message_id": 1, "status": "Failure"}
        return self._submit(CANCEL, external_id, ACKNOWLEDGEMENT_FEED, content, marketplace, detail)

    def _tell_line_cancellation(self, payload: Mapping[str, Any]) -> Delivered:
        """Units of some lines cancelled here: Amazon's order acknowledgement cancels an order item whole
        (``StatusCode`` ``Success``, the item with its ``CancelReason``), before any of it ships. A line
        cancelled whole goes; one cancelled in part (or with units shipped) cannot be said to Amazon, and that
        is recorded against the cancellation for a person, with nothing sent."""
        order_id, external_id = str(payload["order_id"]), str(payload["external_id"])
        ref = f"{external_id}/{payload['cancellation']}"

        def read(conn: Connection) -> tuple[dict[str, Any] | None, dict[str, Any] | None, dict[str, Any] | None]:
            return (
                channel_orders_repo.get(conn, self.channel, LINES, external_id),
                channel_orders_repo.get(conn, self.channel, CANCEL, ref),
                orders_repo.get_order(conn, order_id),
            )

        lines, told, order = self.app.read(read)
        if lines is None or told is not None or order is None:
            return Delivered()
        items = {int(x["line_no"]): str(x["order_item_id"]) for x in lines["detail"]["items"]}
        states = {line.line_no: line for line in order["lines"]}
        reason = CANCEL_REASONS.get(str(payload.get("reason") or ""), DEFAULT_CANCEL_REASON)
        whole: list[CancelledItem] = []
        partial: list[str] = []
        for entry in payload.get("lines") or ():
            number = int(entry["line_no"])
            state = states.get(number)
            if state is None or number not in items:
                partial.append(f"line {number} has no Amazon order item")
            elif state.shipped or state.cancelled < state.qty:
                partial.append(
                    f"line {number}: {state.cancelled} of {state.qty} units cancelled, {state.shipped} shipped"
                )
            else:
                whole.append(CancelledItem(items[number], reason))
        marketplace = str(lines["detail"]["marketplace_id"])
        detail = {"order_id": order_id, "feed_type": ACKNOWLEDGEMENT_FEED, "message_id": 1, "status": "Success"}
        if partial:
            problem = "Amazon cancels an order item whole, before any of it ships: " + "; ".join(partial)
            self._record_feed(CANCEL, ref, {**detail, "feed_id": None}, problem)
            return Delivered()
        content = acknowledgement_feed(self.client.config.seller_id, [Cancellation(external_id, tuple(whole))])
        return self._submit(CANCEL, ref, ACKNOWLEDGEMENT_FEED, content, marketplace, detail)

    def _tell_refund(self, return_id: str, external_id: str) -> Delivered:
        def read(
            conn: Connection,
        ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, dict[str, Any] | None, dict[str, Any] | None]:
            ret = orders_repo.get_return(conn, return_id)
            order = None if ret is None else orders_repo.get_order(conn, ret["order_id"])
            return (
                channel_orders_repo.get(conn, self.channel, LINES, external_id),
                channel_orders_repo.get(conn, self.channel, REFUND, return_id),
                ret,
                order,
            )

        lines, told, ret, order = self.app.read(read)
        if lines is None or told is not None or ret is None or order is None:
            return Delivered()
        adjustment = refund_adjustment(
            external_id,
            ret,
            order,
            {int(x["line_no"]): str(x["order_item_id"]) for x in lines["detail"]["items"]},
        )
        content = adjustment_feed(self.client.config.seller_id, [adjustment])
        detail = {
            "order_id": order["id"],
            "external_id": external_id,
            "feed_type": ADJUSTMENT_FEED,
            "message_id": 1,
            "currency": adjustment.currency,
            "items": [
                {
                    "order_item_id": i.order_item_id,
                    "quantity": i.quantity,
                    "principal": str(i.principal),
                    "tax": str(i.tax),
                    "shipping": str(i.shipping),
                    "shipping_tax": str(i.shipping_tax),
                }
                for i in adjustment.items
            ],
            "total": str(sum((i.total for i in adjustment.items), Decimal(0))),
        }
        return self._submit(REFUND, return_id, ADJUSTMENT_FEED, content, str(lines["detail"]["marketplace_id"]), detail)

    def _submit(
        self, kind: str, ref: str, feed_type: str, content: bytes, marketplace: str, detail: dict[str, Any]
    ) -> Delivered:
        try:
            feed_id = self.client.submit_order_feed(feed_type, content, [marketplace])
        except ChannelError as exc:
            if isinstance(exc, ChannelRejected):  # a visible record beside the dead letter
                self._record_feed(kind, ref, {**detail, "feed_id": None}, str(exc))
            raise delivery_outcome(exc) from exc
        self._record_feed(kind, ref, {**detail, "feed_id": feed_id}, None)
        return Delivered()

    def _record_feed(self, kind: str, ref: str, detail: Mapping[str, Any], error: str | None) -> None:
        now = self.app.clock.now()

        def work(uow: UnitOfWork) -> None:
            channel_orders_repo.decide(uow.conn, self.channel, kind, ref, detail, now)
            if error is not None:
                channel_orders_repo.mark(uow.conn, self.channel, kind, ref, sent_at=None, error=error)

        self.app.write(work)

    def settle_order_feeds(self) -> dict[str, int]:
        """Poll every cancellation and refund feed not settled yet: a message Amazon processed without error
        marks it told; an error in the processing report (or a feed that ended FATAL) is recorded against it,
        for a person to see. Answers how many of each."""
        totals = {"told": 0, "refused": 0, "open": 0}

        def read(conn: Connection) -> list[dict[str, Any]]:
            return [
                row
                for kind in (CANCEL, REFUND)
                for row in channel_orders_repo.unsent(conn, self.channel, kind)
                if row["error"] is None and (row["detail"] or {}).get("feed_id")
            ]

        for row in self.app.read(read):
            detail = row["detail"]
            status, report = self.client.order_feed_result(str(detail["feed_id"]))
            if status not in ("DONE", "FATAL", "CANCELLED"):
                totals["open"] += 1
                continue
            error: str | None = None
            if status != "DONE" or report is None:
                error = f"feed {detail['feed_id']} ended {status}"
            else:
                found = report.errors(int(detail.get("message_id") or 1))
                if found:
                    error = "; ".join(f"{i.code}: {i.message}" if i.code else i.message for i in found)
            self._settled(str(row["kind"]), str(row["ref"]), error)
            totals["refused" if error else "told"] += 1
        return totals

    def _settled(self, kind: str, ref: str, error: str | None) -> None:
        now = self.app.clock.now()

        def work(uow: UnitOfWork) -> None:
            channel_orders_repo.mark(uow.conn, self.channel, kind, ref, sent_at=None if error else now, error=error)

        self.app.write(work)


def refund_adjustment(
    external_id: str, ret: Mapping[str, Any], order: Mapping[str, Any], items: Mapping[int, str]
) -> Adjustment:
    """What Amazon gives back for a return: per returned line, its order item and the money the return
    refunds for it. A return of an order that carries Amazon's figures refunds them (the credit note's
    amounts, ``finance.refunds``: principal after promotions and tax, sliced per unit as the invoices were,
    and, when the return leaves the buyer nothing, each item's shipping as ``Shipping`` and ``ShippingTax``);
    one of an order without them, the price paid."""
    commerce = RefundCommerce.from_json(ret["commerce"]) if ret.get("commerce") else None
    order_commerce = OrderCommerce.from_json(order["commerce"]) if order.get("commerce") else None
    inclusive = bool(order_commerce and order_commerce.taxes_included)
    out: list[AdjustedItem] = []
    if commerce is not None and commerce.lines:
        for refunded in commerce.lines:
            number = refunded.order_line_no
            item_id = items.get(number) if number is not None else None
            if item_id is None:
                raise DeliveryRejected(f"return {ret['id']}: order line {number} has no Amazon order item")
            if inclusive:  # Amazon's amounts include the tax: the principal is what the buyer paid
                out.append(AdjustedItem(item_id, refunded.subtotal, quantity=refunded.qty))
            else:
                out.append(AdjustedItem(item_id, refunded.subtotal, tax=refunded.tax, quantity=refunded.qty))
        for adj in commerce.adjustments:
            if adj.kind == "shipping" and adj.amount:
                out = _with_shipping(out, adj, inclusive, items)
        return Adjustment(external_id, str(ret["currency"]), tuple(out))
    for line in ret["lines"]:
        number, qty = int(line["order_line_no"]), int(line["qty"])
        item_id = items.get(number)
        if item_id is None:
            raise DeliveryRejected(f"return {ret['id']}: order line {number} has no Amazon order item")
        out.append(AdjustedItem(item_id, Decimal(str(line["amount"])), quantity=qty))
    return Adjustment(external_id, str(ret["currency"]), tuple(out))


def _with_shipping(
    out: list[AdjustedItem], adj: RefundAdjustment, inclusive: bool, items: Mapping[int, str]
) -> list[AdjustedItem]:
    """A shipping refund on the item Amazon charged it with (named by its shipping line, else the order's
    first item): on that item's adjustment in the feed, or on one of its own."""
    item_id = shipping_item(adj.reason) or items[min(items)]
    shipping, tax = (adj.amount, Decimal(0)) if inclusive else (adj.amount - adj.tax, adj.tax)
    for i, found in enumerate(out):
        if found.order_item_id == item_id:
            out[i] = replace(found, shipping=found.shipping + shipping, shipping_tax=found.shipping_tax + tax)
            return out
    return [*out, AdjustedItem(item_id, Decimal(0), shipping=shipping, shipping_tax=tax)]
