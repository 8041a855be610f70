"""Mirakl listings from the product master (issue 21): a style saved here is listed there, with its content,
category and attributes in the operator's model, and its price.

- The ``Subscriber`` takes ``StyleChanged`` and records that the style's version is to be listed (a durable
  hand-off in ``channel_confirmations``, kind ``product``), acknowledged at once.
- ``publish_once`` (a periodic job) first settles the product import in flight (OF02 until it ends, then
  OF03: every row in error is a listing in ``error`` with Mirakl's message in the channel's issues, the
  others live), then writes every style waiting into one OF01 file that also carries product information
  (``with_products``, NORMAL mode: ``listings.products_csv``) and uploads it.

What is never listed: prepacks and wholesale-only styles (``listings.product_rows``). What cannot be listed
yet (no category mapped, no price, the operator's required attributes not mapped: checked against PM11) is an
issue on the SKU's listing, visible with the channel's listing issues, and the style waits to be saved again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from seamline.channels.mirakl.client import MiraklClient
from seamline.channels.mirakl.connector import settle_imports
from seamline.channels.mirakl.listings import CatalogMapping, ProductRow, Skipped, product_rows, products_csv
from seamline.integration import ChannelError, Delivered, Delivery, Subscriber
from seamline.integration.events import STYLE_CHANGED
from seamline.service import Seamline
from seamline.service.channel_orders import ChannelOrders
from seamline.service.marketplaces import DEFAULT_MARKETPLACE, ImportLine, ListingIssue, Listings
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import catalog_repo, channel_orders_repo, channels_repo, marketplace_repo

PRODUCT = "product"
IMPORT_KIND = "mirakl_products"
ISSUE_SOURCE = "catalog"

log = logging.getLogger("seamline.channels.mirakl")


@dataclass(frozen=True)
class CatalogReport:
    settled: int = 0
    accepted: int = 0
    refused: int = 0
    #: Our import id of the file uploaded this round, and its rows.
    uploaded: int | None = None
    rows: int = 0
    #: SKUs left out this round (never listed, or waiting for a fix), and imports still running.
    skipped: int = 0
    waiting: int = 0
    error: str | None = None


class MiraklCatalog:
    def __init__(
        self, app: Seamline, channel: str, client: MiraklClient, mapping: CatalogMapping, *, currency: str
    ) -> None:
        self.app = app
        self.channel = channel
        self.client = client
        self.mapping = mapping
        self.currency = currency
        self.listings = Listings(app)

    @property
    def name(self) -> str:
        return f"mirakl-catalog:{self.channel}"

    def subscriber(self) -> Subscriber:
        return Subscriber(
            name=self.name,
            event_types=frozenset({STYLE_CHANGED}),
            deliver=self.deliver,
            channels=frozenset({self.channel}),
            coalesce=True,
            max_concurrency=1,
        )

    def deliver(self, delivery: Delivery) -> Delivered:
        """Record the style's version as to be listed; the next product import carries it."""
        style, version = str(delivery.payload["style"]), int(delivery.payload.get("version") or 0)
        self.queue([(style, version)])
        return Delivered()

    def queue(self, styles: Sequence[tuple[str, int]]) -> None:
        now = self.app.clock.now()

        def work(uow: UnitOfWork) -> None:
            for style, version in styles:
                detail = {"style": style, "version": version}
                channel_orders_repo.decide(uow.conn, self.channel, PRODUCT, f"{style}@{version}", detail, now)

        self.app.write(work)

    # ------------------------------------------------------------------ the import cycle
    def publish_once(self, *, force: bool = False) -> CatalogReport:
        try:
            settled, accepted, refused, waiting = settle_imports(self.listings, self.client, self.channel, IMPORT_KIND)
            if waiting:
                return CatalogReport(settled, accepted, refused, waiting=waiting)
            uploaded, rows, skipped = self._upload(force=force)
        except ChannelError as exc:  # throttled, unavailable or refused: the styles stay queued
            return CatalogReport(error=str(exc))
        return CatalogReport(settled, accepted, refused, uploaded, rows, skipped)

    def _upload(self, *, force: bool) -> tuple[int | None, int, int]:
        config = self.client.config
        if not force:
            last = self.listings.last_import_at(self.channel, IMPORT_KIND)
            if last is not None and (self.app.clock.now() - last).total_seconds() < config.min_import_interval_seconds:
                return None, 0, 0
        queued = self.app.read(lambda conn: channel_orders_repo.unsent(conn, self.channel, PRODUCT, limit=500))
        if not queued:
            return None, 0, 0
        latest: dict[str, int] = {}
        for row in queued:
            style = str(row["detail"]["style"])
            latest[style] = max(latest.get(style, 0), int(row["detail"].get("version") or 0))
        required = [str(a["code"]) for a in self.client.attributes() if a.get("required")]
        unmapped = self.mapping.unmapped(required)
        rows, skipped = self.app.read(lambda conn: self._rows(conn, sorted(latest), unmapped))
        uploaded = None
        if rows:
            content = products_csv(rows, self.mapping)
            import_id = self.client.import_offers(content, file_name="products.csv", with_products=True, mode="NORMAL")
            uploaded = self._start(rows, str(import_id))
        self._settle_queue(queued, skipped)
        return uploaded, len(rows), len(skipped)

    def _rows(
        self, conn: Connection, styles: Sequence[str], unmapped: Sequence[str]
    ) -> tuple[list[ProductRow], list[Skipped]]:
        found = catalog_repo.get_styles(conn, styles)
        skus = [v.sku for style in found.values() for v in style.variants]
        quantities = self._quantities(conn, skus)
        sellers = {sku: self._seller_sku(conn, sku) for sku in skus}
        rows: list[ProductRow] = []
        skipped: list[Skipped] = []
        for code in styles:
            style = found.get(code)
            if style is None:
                continue
            listed, left = product_rows(
                style, self.channel, self.mapping, currency=self.currency, quantities=quantities
            )
            if unmapped and listed:
                reason = (
                    "the operator requires attribute(s) "
                    + ", ".join(unmapped)
                    + " that nothing is mapped to: add them to the channel's settings.catalog.attributes"
                )
                left = [*left, *(Skipped(r.sku, reason) for r in listed)]
                listed = []
            rows.extend(ProductRow(sellers[r.sku], r.values, r.price, r.qty) for r in listed)
            skipped.extend(left)
        return rows, skipped

    def _quantities(self, conn: Connection, skus: Sequence[str]) -> dict[str, int]:
        """What each offer shows: the number the stock sync last decided for its listing (0 while paused),
        else the channel's ATP now (0 under the channel's ``pause_below``)."""
        out: dict[str, int] = {}
        missing = []
        for sku in skus:
            rows = [
                r
                for r in marketplace_repo.get_listings(conn, self.channel, sku)
                if r["marketplace"] == DEFAULT_MARKETPLACE
            ]
            if rows and rows[0]["desired_qty"] is not None:
                out[sku] = 0 if rows[0]["paused"] else int(rows[0]["desired_qty"])
            else:
                missing.append(sku)
        channel = channels_repo.get_channel(conn, self.channel)
        pause_below = int((channel or {}).get("pause_below") or 0)
        for sku, atp in ChannelOrders(self.app).available(conn, self.channel, missing).items():
            out[sku] = 0 if pause_below > 0 and atp < pause_below else atp
        return out

    def _seller_sku(self, conn: Connection, sku: str) -> str:
        found = [
            r for r in marketplace_repo.get_listings(conn, self.channel, sku) if r["marketplace"] == DEFAULT_MARKETPLACE
        ]
        return str(found[0]["seller_sku"]) if found else sku

    def _start(self, rows: Sequence[ProductRow], external_id: str) -> int:
        """Create the listings the file carries and record the import, each row at the quantity it sent."""
        now = self.app.clock.now()

        def work(uow: UnitOfWork) -> list[ImportLine]:
            conn = uow.conn
            seq = marketplace_repo.latest_event_seq(conn)
            by_seller: dict[str, str] = {}
            seqs: dict[str, int] = {}
            for row in rows:
                sku = self._our_sku(conn, row.sku)
                category = row.values.get(self.mapping.attributes.get("category", ""), None)
                marketplace_repo.ensure_listings(
                    conn, self.channel, sku, [DEFAULT_MARKETPLACE], product_type=category, now=now
                )
                key = (self.channel, DEFAULT_MARKETPLACE, sku)
                [listing] = [
                    r for r in marketplace_repo.get_listings(conn, self.channel, sku) if r["marketplace"] == key[1]
                ]
                if listing["desired_seq"] is None:
                    # A new listing: the number in the file is the ATP now, asked for as of the latest event.
                    marketplace_repo.record_desired(conn, key, qty=row.qty, seq=seq, paused=False, now=now)
                    seqs[row.sku] = seq
                else:
                    seqs[row.sku] = int(listing["desired_seq"])  # the stock sync's own number (``_quantities``)
                by_seller[row.sku] = sku
            return [
                ImportLine(n, DEFAULT_MARKETPLACE, by_seller[r.sku], r.sku, r.qty, seqs[r.sku])
                for n, r in enumerate(rows, 1)
            ]

        lines = self.app.write(work)
        return self.listings.start_import(
            self.channel, IMPORT_KIND, lines, external_id=external_id, platform_status="WAITING"
        )

    def _our_sku(self, conn: Connection, seller_sku: str) -> str:
        mapped = channel_orders_repo.skus_for_seller_skus(conn, self.channel, [seller_sku])
        return mapped.get(seller_sku, seller_sku)

    def _settle_queue(self, queued: Sequence[Mapping[str, Any]], skipped: Sequence[Skipped]) -> None:
        """The queued versions are done; a SKU left out for a reason a person can fix gets an issue."""
        now = self.app.clock.now()
        problems = [s for s in skipped if not s.never]
        for item in problems:
            self.listings.record_issues(
                self.channel, DEFAULT_MARKETPLACE, item.sku, ISSUE_SOURCE, [ListingIssue(item.reason, "NOT_LISTED")]
            )

        def work(uow: UnitOfWork) -> None:
            for row in queued:
                channel_orders_repo.mark(uow.conn, self.channel, PRODUCT, str(row["ref"]), sent_at=now, error=None)

        self.app.write(work)
        if problems:
            log.info("Mirakl %s: %d SKU(s) not listed yet: %s", self.channel, len(problems), problems[0].reason)
