"""The Square connector: inbox handlers for its webhooks and the catalog push to the till.

- ``order.updated`` (``COMPLETED``): the order is fetched (``RetrieveOrder``), mapped to a till sale and
  recorded through the order queue (``force``: the goods have left the shop; an oversell raises an
  exception record). The sale is keyed by the Square order id on the store's till channel, so a repeated
  or reordered notification records it once; earlier versions arriving late are ``stale`` in the inbox.
- ``inventory.count.updated``: Seamline owns stock; the till's ``IN_STOCK`` counts are compared with the
  ledger's ``available`` at the linked store and the differences handed to ``on_drift``.
- ``publish_style``: the style as a Square ITEM (variations with SKU, GTIN and price), versioned.

- ``catalog_subscriber``: a ``Subscriber`` to ``StoreCatalogChanged`` that pushes each changed style (its
  current version, keyed ``<channel>:<style>:v<version>`` so a retry replays Square's first answer) and keeps
  Square's ids and versions in ``channel_catalog_refs``; ``push_stale`` catches up styles never pushed.
- Drift is recorded (``pos_count_drifts``) in the inbox transaction; ``repush_drifts`` sends the ledger's
  number back as a physical count (Seamline owns stock).

The signed webhooks arrive at ``POST /webhooks/square/{channel}`` (``seamline.api.routes.square``)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from seamline.catalog.model import Style
from seamline.channels.square import mapper
from seamline.channels.square.client import (
    SquareClient,
    SquareRejected,
)
from seamline.channels.square.inbound import SOURCE
from seamline.channels.till_catalog import TillCatalogPush
from seamline.domain.clock import iso_utc
from seamline.domain.errors import NotFound
from seamline.integration import (
    ChannelError,
    Delivered,
    Delivery,
    DeliveryFailed,
    DeliveryRejected,
    FunctionHandler,
    HandlerRegistry,
    HoldMessage,
    InvalidMessage,
    StoredMessage,
    Subscriber,
    delivery_outcome,
)
from seamline.integration.events import AVAILABILITY_CHANGED
from seamline.integration.inbox import MessageHandler
from seamline.service import Seamline
from seamline.service.giftcards import GiftCardDesk, channel_card_code
from seamline.service.orders import GiftCardSaleRequest, LineRequest, OrderDesk, SaleRequest, TenderRequest
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import ledger_repo, tills_repo

log = logging.getLogger("seamline.channels.square")


@dataclass(frozen=True)
class CountDrift:
    sku: str
    location: str
    square: int
    seamline: int


DriftSink = Callable[[CountDrift], None]


class SquareConnector(TillCatalogPush):
    platform = "Square"
    refused = "Square refused the catalog push"
    mapping_error = mapper.SquareMappingError
    rejected = SquareRejected

    def __init__(
        self,
        app: Seamline,
        client: SquareClient,
        lookups: Callable[[], mapper.SquareLookups],
        *,
        channel: str,
        on_drift: DriftSink | None = None,
        currency: str = "EUR",
        record_drift: bool = False,
    ) -> None:
        self.app = app
        self.client = client
        self.lookups = lookups
        self.channel = channel
        self.on_drift = on_drift or (lambda drift: None)
        self.currency = currency
        self.record_drift = record_drift

    @property
    def source(self) -> str:
        return f"{SOURCE}:{self.channel}"

    def handlers(self) -> list[tuple[str, str, MessageHandler]]:
        return [
            (self.source, "order.updated", FunctionHandler(self._parse_order, self._apply_order)),
            (self.source, "inventory.count.updated", FunctionHandler(self._parse_counts, self._apply_counts)),
        ]

    def register(self, handlers: HandlerRegistry) -> None:
        for source, message_type, handler in self.handlers():
            handlers.register(source, message_type, handler)

    @staticmethod
    def _event(message: StoredMessage) -> mapper.SquareEvent:
        try:
            return mapper.read_event(message.json())
        except mapper.SquareMappingError as exc:
            raise InvalidMessage(str(exc)) from exc

    def _parse_order(self, message: StoredMessage) -> mapper.SquareSale | None:
        try:
            update = mapper.map_order_updated(self._event(message))
            if not update.completed:
                return None  # an open or cancelled ticket sold nothing
            return mapper.map_order(self.client.retrieve_order(update.order_id), self.lookups())
        except mapper.SquareUnmapped as exc:
            raise HoldMessage(str(exc)) from exc
        except mapper.SquareMappingError as exc:
            raise InvalidMessage(str(exc)) from exc

    def _apply_order(self, uow: UnitOfWork, sale: Any) -> None:
        """The stock lines as a till sale (when the order sold goods) and its non-stock lines (gift cards,
        custom amounts, service charges, rounding) kept beside it with their amounts, in one transaction."""
        conn = uow.conn
        if sale is None:
            return
        assert isinstance(sale, mapper.SquareSale)
        order_id: str | None = None
        # A gift card sold at the till is a card in Seamline's liability (issue 17), coded by the line's uid
        # (Square's gift card number is not in the order), sold with the sale: on its receipt, paid by its
        # tenders, so the money Square took for it clears the gift card clearing its issue debited.
        cards = [
            (other.amount, channel_card_code(self.channel, other.uid))
            for other in sale.other_lines
            if other.kind == mapper.GIFT_CARD and other.amount > 0
        ]
        if sale.lines or cards:
            goods = sum((li.qty * li.unit_price for li in sale.lines), Decimal(0))
            # With Square's numbers the sale is the whole order (its custom amounts, service charges and
            # rounding are lines of its commerce): it is paid by everything the till took. Without them, by
            # the tenders' share for the goods and the cards.
            tenders = (
                mapper.split_tenders(sale.till_tenders, goods + sum((a for a, _ in cards), Decimal(0)))
                if sale.commerce is None
                else sale.till_tenders
            )
            recorded = OrderDesk(self.app).record_sale(
                uow,
                SaleRequest(
                    location=sale.location,
                    external_id=sale.order_id,
                    lines=[LineRequest(li.sku, li.qty, str(li.unit_price)) for li in sale.lines],
                    tenders=[TenderRequest(kind, str(amount)) for kind, amount in tenders],
                    currency=sale.currency,
                    occurred_at=sale.occurred_at,
                    force=True,
                    commerce=sale.commerce,
                    # Square's numbers already carry the cards as lines of the sale's commerce (its receipt
                    # books them); without them the cards are sold with the goods, on the receipt and paid.
                    gift_cards=()
                    if sale.commerce is not None
                    else [GiftCardSaleRequest(str(amount), code) for amount, code in cards],
                ),
            )
            order_id = str(recorded.order["id"])
            GiftCardDesk(self.app).sell_at_till(
                uow, recorded.order, cards, created=recorded.created, channel=self.channel
            )
        # Paid by a Square gift card (issue 17): Square took it off a card of its own program, and the tender
        # names no Seamline card (only its last 4 digits and the payment): held for a person, not taken.
        GiftCardDesk(self.app).hold_platform_card_tenders(
            uow,
            sale.till_tenders,
            channel=self.channel,
            external_id=sale.order_id,
            currency=sale.currency,
            order_id=order_id,
            platform="Square",
            why="a Square gift card is Square's own (its number, the GAN, is not in the order), so Seamline cannot "
            "tell which of its cards paid. Find the card by the payment in Square's gift card activities and take "
            "the amount off the Seamline card it was sold as.",
            references=sale.gift_card_refs,
        )
        if sale.other_lines:
            now = self.app.clock.now()
            tills_repo.record_sale_extras(
                conn,
                [
                    {
                        "channel": self.channel,
                        "external_id": sale.order_id,
                        "uid": other.uid[:64],
                        "order_id": order_id,
                        "location": sale.location,
                        "kind": other.kind,
                        "name": other.name[:200],
                        "amount": other.amount,
                        "currency": sale.currency,
                        "occurred_at": sale.occurred_at,
                        "recorded_at": now,
                    }
                    for other in sale.other_lines
                ],
            )

    def _parse_counts(self, message: StoredMessage) -> dict[tuple[str, str], int]:
        try:
            counts = mapper.map_inventory_count_updated(self._event(message))
        except mapper.SquareMappingError as exc:
            raise InvalidMessage(str(exc)) from exc
        lookups = self.lookups()
        out: dict[tuple[str, str], int] = {}
        for (variation, location), quantity in mapper.in_stock(counts).items():
            sku, store = lookups.sku_for_variation.get(variation), lookups.location_for.get(location)
            if sku is not None and store is not None:
                out[(sku, store)] = quantity
        return out

    def _apply_counts(self, uow: UnitOfWork, counts: Any) -> None:
        conn = uow.conn
        for (sku, store), quantity in sorted(counts.items()):
            ours = ledger_repo.available_at(conn, sku, store)
            if ours != quantity:
                self.on_drift(CountDrift(sku, store, quantity, ours))
                if self.record_drift:
                    tills_repo.record_drift(
                        conn,
                        {
                            "channel": self.channel,
                            "sku": sku,
                            "location": store,
                            "theirs": quantity,
                            "ours": ours,
                            "detected_at": self.app.clock.now(),
                            "repushed": False,
                        },
                    )

    def repush_drifts(self) -> int:
        """Send the ledger's available number for every drift not yet answered, as physical counts; answers
        how many counts were sent. Safe to repeat: the key names the drifts it answers."""
        pending = self.app.read(lambda conn: tills_repo.pending_drifts(conn, self.channel))
        if not pending:
            return 0
        lookups = self.lookups()
        variation_for = {sku: vid for vid, sku in lookups.sku_for_variation.items()}
        square_location = {store: sq for sq, store in lookups.location_for.items()}
        wanted = sorted({(d["sku"], d["location"]) for d in pending})
        ours = self.app.read(lambda conn: {k: ledger_repo.available_at(conn, *k) for k in wanted})
        counts = [
            (variation_for[sku], square_location[store], max(ours[(sku, store)], 0))
            for sku, store in wanted
            if sku in variation_for and store in square_location
        ]
        if counts:
            key = f"{self.channel}:drift:{pending[0]['id']}-{pending[-1]['id']}"
            self.client.set_counts(counts, idempotency_key=key[:128], occurred_at=iso_utc(self.app.clock.now()))
        ids = [int(d["id"]) for d in pending]
        self.app.write(lambda uow: tills_repo.mark_repushed(uow.conn, ids))
        return len(counts)

    # ------------------------------------------------------------------------------------ stock push
    def deliver_counts(
        self, deliveries: Sequence[Delivery], *, square_location: str
    ) -> list[Delivered | DeliveryFailed | DeliveryRejected | None]:
        """The channel's new numbers (``AvailabilityChanged``) as physical counts at the store's Square
        location, up to 100 in one ``BatchChangeInventory``; SKUs Square has never been given are skipped
        (the catalog push comes first)."""
        variation_for = self.lookups().variation_for
        latest: dict[str, int] = {}
        for delivery in deliveries:  # in event order: the last number for a SKU wins
            latest[str(delivery.payload["sku"])] = max(int(delivery.payload["available"]), 0)
        counts = [(variation_for[sku], square_location, n) for sku, n in sorted(latest.items()) if sku in variation_for]
        if counts:
            ids = ",".join(sorted(d.event_id for d in deliveries))
            key = f"{self.channel}:counts:" + hashlib.sha256(ids.encode()).hexdigest()[:40]
            try:
                self.client.set_counts(counts, idempotency_key=key, occurred_at=iso_utc(self.app.clock.now()))
            except ChannelError as exc:
                failure = delivery_outcome(exc, refused="Square refused the counts")
                return [failure for _ in deliveries]
        return [Delivered() for _ in deliveries]

    def stock_subscriber(self, square_location: str) -> Subscriber:
        """Seamline owns stock: every change of the channel's number reaches the till's count."""

        def one(delivery: Delivery) -> Delivered | None:
            [outcome] = self.deliver_counts([delivery], square_location=square_location)
            if isinstance(outcome, DeliveryFailed | DeliveryRejected):
                raise outcome
            return outcome

        return Subscriber(
            name=f"{self.source}:stock",
            event_types=frozenset({AVAILABILITY_CHANGED}),
            deliver=one,
            channels=frozenset({self.channel}),
            coalesce=True,
            deliver_batch=lambda batch: self.deliver_counts(batch, square_location=square_location),
            batch_size=100,
        )

    # ------------------------------------------------------------------------------------ catalog push
    def known_ids(self) -> dict[str, mapper.CatalogIds]:
        """Square's ids and versions for our styles, as the last push left them."""
        rows = self.app.read(lambda conn: tills_repo.catalog_refs(conn, self.channel))
        return {code: refs_from_json(row["refs"]) for code, row in rows.items()}

    def push_styles(self, codes: Sequence[str]) -> list[str]:
        """Push each style as it is now (skipping those Square already has in this version); answers the
        styles pushed."""
        pushed: list[str] = []
        for code in sorted(set(codes)):
            try:
                style = self.app.get_style(code)
            except NotFound:
                continue
            done = self._refs(code)
            if code in done and done[code]["style_version"] >= style.version:
                continue
            known = refs_from_json(done[code]["refs"]) if code in done else None
            key = f"{self.channel}:{code}:v{style.version}"
            ids = self.publish_style(style, currency=self.currency, known=known, idempotency_key=key)
            self._save_refs(code, ids, style.version)
            pushed.append(code)
        return pushed

    def _refs(self, code: str) -> dict[str, dict[str, Any]]:
        def work(conn: Connection) -> dict[str, dict[str, Any]]:
            return tills_repo.catalog_refs(conn, self.channel, code)

        return self.app.read(work)

    def _save_refs(self, code: str, ids: mapper.CatalogIds, version: int) -> None:
        def work(uow: UnitOfWork) -> None:
            conn = uow.conn
            tills_repo.save_catalog_refs(conn, self.channel, code, refs_to_json(ids), version, self.app.clock.now())

        self.app.write(work)

    def publish_style(
        self, style: Style, *, currency: str, known: mapper.CatalogIds | None = None, idempotency_key: str
    ) -> mapper.CatalogIds:
        """Create or update the style at Square (price changes included); answers Square's ids and versions,
        which the next push needs."""
        body = mapper.catalog_upsert_body(style, currency=currency, idempotency_key=idempotency_key, known=known)
        return mapper.catalog_ids(self.client.upsert_catalog(body), style, known)


def refs_to_json(ids: mapper.CatalogIds) -> dict[str, Any]:
    return {
        "item": list(ids.item) if ids.item else None,
        "variations": {sku: list(ref) for sku, ref in ids.variations.items()},
    }


def refs_from_json(value: Any) -> mapper.CatalogIds:
    item = value.get("item")
    return mapper.CatalogIds(
        (str(item[0]), int(item[1])) if item else None,
        {str(sku): (str(ref[0]), int(ref[1])) for sku, ref in (value.get("variations") or {}).items()},
    )
