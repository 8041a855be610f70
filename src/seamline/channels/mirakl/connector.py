"""The Mirakl connector: offer stock by offers import (OF01), status polling (OF02) and error reports (OF03).

Mirakl takes stock in files, not one number at a time, so the push has two halves:

- the ``Subscriber`` takes the channel's ``AvailabilityChanged`` and records the number on the offer's
  listing (``pending``): a durable hand-off, acknowledged at once, in the order the numbers were decided
  (an older one never overwrites a newer one);
- ``sync_once`` (run by ``OfferSync`` in the background, or by hand) first settles the import in flight:
  OF02 until ``COMPLETE``/``FAILED``, then OF03 when lines failed, every line in error recorded against its
  SKU (listing ``error`` + ``listing_issues``), the rest accepted; then, when no import is in flight and the
  minimum interval has passed, it writes every pending listing into one ``PARTIAL_UPDATE`` file
  (``sku;quantity``) and uploads it with OF01. A number that changes while its import runs waits for the
  next file. Never OF24: it would reset the offers' price, description and lead time.

A paused listing (ATP under the channel's ``pause_below``) gets quantity 0 and is restored with the next
number, like any other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from seamline.channels.mirakl.client import MiraklClient
from seamline.channels.mirakl.mapper import OfferStock, offers_csv
from seamline.integration import AVAILABILITY_CHANGED, ChannelError, Delivered, Delivery, Integration, Subscriber
from seamline.service import Seamline
from seamline.service.background import BackgroundLoop
from seamline.service.marketplaces import DEFAULT_MARKETPLACE, ImportLine, ListingIssue, Listings
from seamline.store import catalog_repo

IMPORT_KIND = "mirakl_offers"

log = logging.getLogger("seamline.channels.mirakl")


@dataclass(frozen=True)
class SyncReport:
    #: Imports settled this round, and their lines by outcome.
    settled: int = 0
    accepted: int = 0
    refused: int = 0
    #: The import uploaded this round (our id), and how many offers it carries.
    uploaded: int | None = None
    lines: int = 0
    #: Still running at Mirakl.
    waiting: int = 0
    #: Why nothing could be done this round (throttled, Mirakl unavailable).
    error: str | None = None


class MiraklConnector:
    def __init__(self, app: Seamline, channel: str, client: MiraklClient) -> None:
        self.app = app
        self.channel = channel
        self.client = client
        self.listings = Listings(app)

    @property
    def name(self) -> str:
        return f"mirakl:{self.channel}"

    def subscriber(self) -> Subscriber:
        return Subscriber(
            name=self.name,
            event_types=frozenset({AVAILABILITY_CHANGED}),
            deliver=self.deliver,
            channels=frozenset({self.channel}),
            coalesce=True,
            max_concurrency=1,
        )

    def install(self, integration: Integration) -> None:
        if integration.registry.get(self.name) is None:
            integration.add_subscriber(self.subscriber())

    def deliver(self, delivery: Delivery) -> Delivered:
        """Record the number to show on the SKU's offer; the next import carries it."""
        sku = str(delivery.payload["sku"])
        # A prepack is a wholesale unit: never listed on a consumer marketplace, whatever ``auto_list`` says.
        create = self.client.config.auto_list and not self._is_prepack(sku)
        self.listings.prepare_push(
            self.channel,
            sku,
            qty=int(delivery.payload.get("available", delivery.payload.get("atp", 0))),
            seq=delivery.event_seq,
            paused=bool(delivery.payload.get("paused", False)),
            marketplaces=[DEFAULT_MARKETPLACE],
            create=create,
        )
        return Delivered()

    def _is_prepack(self, sku: str) -> bool:
        found = self.app.read(lambda conn: catalog_repo.get_sku(conn, sku))
        return found is not None and found.get("kind") == "prepack"

    # ------------------------------------------------------------------ the import cycle
    def sync_once(self, *, force: bool = False) -> SyncReport:
        """Settle the import in flight, then upload the next one (``force`` ignores the minimum interval)."""
        settled = accepted = refused = waiting = 0
        try:
            settled, accepted, refused, waiting = settle_imports(self.listings, self.client, self.channel, IMPORT_KIND)
            if waiting:
                return SyncReport(settled, accepted, refused, waiting=waiting)
            uploaded, lines = self._upload(force=force)
        except ChannelError as exc:  # throttled, unavailable or refused: the listings stay pending
            return SyncReport(settled, accepted, refused, waiting=waiting, error=str(exc))
        return SyncReport(settled, accepted, refused, uploaded, lines, waiting)

    def _upload(self, *, force: bool) -> tuple[int | None, int]:
        config = self.client.config
        if not force:
            last = self.listings.last_import_at(self.channel, IMPORT_KIND)
            if last is not None and (self.app.clock.now() - last).total_seconds() < config.min_import_interval_seconds:
                return None, 0
        pending = self.listings.pending(self.channel, config.max_lines)
        if not pending:
            return None, 0
        offers = [OfferStock(row["seller_sku"], int(row["desired_qty"])) for row in pending]
        import_id = self.client.import_offers(offers_csv(offers, mode=config.import_mode))
        lines = [
            ImportLine(
                n, row["marketplace"], row["sku"], row["seller_sku"], int(row["desired_qty"]), int(row["desired_seq"])
            )
            for n, row in enumerate(pending, start=1)
        ]
        ours = self.listings.start_import(
            self.channel, IMPORT_KIND, lines, external_id=str(import_id), platform_status="WAITING"
        )
        return ours, len(lines)


def settle_imports(listings: Listings, client: MiraklClient, channel: str, kind: str) -> tuple[int, int, int, int]:
    """Settle the channel's OF01 imports of ``kind`` in flight: OF02 until ``COMPLETE``/``FAILED``, then OF03
    when lines failed, every line in error recorded against its SKU (listing ``error`` + ``listing_issues``,
    with Mirakl's message), the others accepted. Answers (settled, accepted, refused, still waiting)."""
    settled = accepted = refused = waiting = 0
    for row in listings.open_imports(channel, kind):
        status = client.import_status(int(row["external_id"]))
        if not status.finished:
            listings.note_import_status(row["id"], status.status)
            waiting += 1
            continue
        errors: dict[tuple[str, str], list[ListingIssue]] = {}
        if status.lines_in_error or status.has_error_report:
            by_sku = {line["seller_sku"]: line for line in row["lines"]}
            by_line = {int(line["line"]): line for line in row["lines"]}
            for error in client.error_report(int(row["external_id"])):
                line = by_sku.get(error.shop_sku or "") or by_line.get(error.line or 0)
                if line is not None:
                    errors.setdefault((line["marketplace"], line["sku"]), []).append(
                        ListingIssue(error.message, "OF01_LINE_ERROR")
                    )
        failed = None if status.status == "COMPLETE" else f"import {status.import_id} ended {status.status}"
        counts = listings.finish_import(
            row["id"],
            platform_status=status.status,
            summary={
                "lines_read": status.lines_read,
                "lines_in_success": status.lines_in_success,
                "lines_in_error": status.lines_in_error,
            },
            errors=errors,
            failed=failed,
        )
        settled += 1
        accepted += counts["accepted"]
        refused += counts["refused"]
    return settled, accepted, refused, waiting


class OfferSync:
    """Runs ``sync_once`` every ``interval_seconds`` in a thread (``seamline serve`` / ``worker``)."""

    def __init__(self, connector: MiraklConnector, interval_seconds: float = 15.0) -> None:
        self.connector = connector
        self.interval_seconds = interval_seconds
        self._loop = BackgroundLoop(
            f"mirakl-sync-{connector.channel}", self._sync, error_wait=interval_seconds, logger=log
        )

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()

    def _sync(self) -> float:
        # A turn that raises is logged by the loop and tried again next interval; the listing state says
        # what is pending.
        report = self.connector.sync_once()
        if report.error:
            log.warning("Mirakl sync of %s: %s", self.connector.channel, report.error)
        return self.interval_seconds
