"""Shopify deliveries from the inbox into the one order queue, the ledger and the master (issue 5).

Each topic's handler ``parse``s a stored delivery (mapping it with the channel's lookups: the variant
mapping, our SKUs, the location map, the channel's currency) and ``apply``s it inside the inbox's
transaction through ``OrderDesk``, so its effect happens exactly once. Deliveries arrive at least once and
out of order; every handler is safe to repeat and says what it does when its order is not known yet.

Defined behaviour (each is tested in ``tests/integration/test_shopify_webhooks.py`` and, for the storm
of shuffled duplicates, ``test_shopify_outbound.py``):

- ``orders/create``: an order in the one queue (kind ``dtc``), lines by the line's ``sku`` or else the
  variant mapping, the customer matched by email/phone (an email or phone our matcher refuses is dropped
  rather than losing the order). ``(channel, Shopify order id)`` is unique: a repeat is a no-op.
  - **unknown SKU**: held (the message fails with the SKUs named and is retried; once ``seamline shopify
    link`` has mapped the variant the link command retries the held messages);
  - **foreign currency** (the order's shop currency is not the channel's ``currency`` setting): held;
  - **gift cards** and **custom line items**: skipped lines (no stock behind them); an order of only those
    is ignored, and so is a **test order** unless the channel sets ``accept_test_orders``. Ignored messages
    end ``rejected`` with the reason, so they are visible and never retried.
  - a shortage on a channel that rejects shortages holds the message (the units were sold; a person
    decides), on a backordering channel the order is backordered.
- ``orders/cancelled``: cancels the order and releases its allocations. Arriving before ``orders/create``
  (its body is the whole order), it places the order and cancels it at once, so the late create is a
  no-op. An order already shipped is left alone: what comes back is a refund.
- ``refunds/create``: one return per refund, one return line per refunded line that left stock:
  ``return``/``legacy_restock`` lines are ``sellable`` at the refund line's location (through
  ``location_map``), ``no_restock`` lines are booked ``damaged`` (refunded, never sellable again). A line
  refunding more units than shipped here waits (retried) for its ``fulfillments/create``. ``cancel`` lines
  are units removed before fulfilment (they never left stock): when they are all the order's open units
  the order is cancelled and its allocations released (nothing to do if ``orders/cancelled`` did it
  first); a refund that removes part of an unshipped order is held for a person (no partial cancellation
  in the order queue yet). A refund applies once per Shopify refund id; before its order is known it waits.
- ``fulfillments/create``: an order fulfilled outside Seamline is picked, packed and shipped here with the
  tracking number; one we shipped ourselves (or already shipped) is left alone. Units not allocated here
  (a backordered order) cannot be picked: the message is held and ends ``failed`` for a person.
- ``inventory_levels/update``: Shopify's number at the channel's publish location is drift when it is
  neither our number now (the ledger's ATP for the channel: Shopify taking its own sale off is not drift)
  nor the number we last pushed (the echo of our own push): the drift is recorded and ours is pushed again,
  compared against Shopify's number (the ledger is the truth). Reports older than our last push, and items
  we do not map, are ignored.
- ``products/update``: the mastered fields (title, per SKU barcode, price, options, the variant set) of a
  product we publish, against the master: differences are recorded as drift and the style is published
  again. Products we do not publish are ignored.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from seamline.channels.canonical import (
    FulfillmentReport,
    InboundRefund,
    InventoryLevelReport,
    OrderMapping,
    OrderVerdict,
    ProductReport,
    RefundMapping,
    RefundVerdict,
    RestockType,
    queue_order,
)
from seamline.channels.shopify import inbound, mapper
from seamline.channels.shopify.mapper import MappingError, ShopifyLookups
from seamline.domain.clock import ensure_utc
from seamline.domain.commerce import OrderCommerce, RefundCommerce
from seamline.finance.giftcards import GIFT_CARD_TENDER
from seamline.integration import HoldMessage, InvalidMessage, StoredMessage
from seamline.ledger.atp import sku_availability
from seamline.orders.model import OrderStatus
from seamline.orders.returns import ReturnRequestLine
from seamline.orders.state import ALLOWED_FROM, Step
from seamline.service import Seamline
from seamline.service.channel_orders import ChannelOrders, OrderHeld, PlaceAction, place_action
from seamline.service.giftcards import GiftCardDesk, channel_card_code
from seamline.service.orders import (
    GiftCardSaleRequest,
    LineRequest,
    OrderDesk,
    ReturnRequest,
    SaleRequest,
    TenderRequest,
)
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import (
    catalog_repo,
    channels_repo,
    finance_repo,
    ledger_repo,
    orders_repo,
    outbox_repo,
    shopify_repo,
)

log = logging.getLogger("seamline.shopify")


class HeldMessage(HoldMessage):
    """The delivery cannot be applied yet (unknown SKU, foreign currency, order not seen yet): the inbox keeps
    it ``held`` with this reason, spending no attempts, and tries it again when what it waits for happens
    (``waiting_for``: the order's next applied delivery), when the channel is rewired, or on its recheck."""


@dataclass(frozen=True)
class ShopifyChannel:
    """What the handlers know about one Shopify channel."""

    app: Seamline
    code: str
    #: Shopify location id → our location code, from the settings (over what ``shopify link`` recorded).
    location_map: Mapping[str, str]
    #: The Shopify location the channel's availability is published to.
    publish_location_id: str | None
    currency: str | None
    accept_test_orders: bool
    #: The availability subscriber's name (its published numbers are what we compare drift against).
    subscriber: str
    #: Re-push our number for these SKUs (an inventory drift); called inside the transaction.
    repush: Callable[[UnitOfWork, Sequence[tuple[str, int | None]]], None]
    #: Publish these styles again (a product drift); called inside the transaction.
    republish: Callable[[UnitOfWork, Sequence[str]], None]
    #: Read these Shopify gift cards (ids a payment named that no card of ours carries yet) to link them to the
    #: cards their sale issued; called inside the transaction. None without the Admin API: the payment is held.
    find_gift_cards: Callable[[UnitOfWork, Sequence[str]], None] | None = None

    @property
    def source(self) -> str:
        return inbound.inbox_source(self.code)

    def lookups(self, conn: Connection, payload: Any = None) -> ShopifyLookups:
        """The mapping for the variants ``payload`` names (all of the channel's without one)."""
        wanted = None if payload is None else sorted(_variant_ids(payload))
        return ShopifyLookups(
            variant_skus=shopify_repo.variant_skus(conn, self.code, wanted),
            known_skus=None,
            location_codes={**shopify_repo.location_codes(conn, self.code), **self.location_map},
            currency=self.currency,
            accept_test_orders=self.accept_test_orders,
        )

    def resolve_known(self, conn: Connection, mapping_skus: Sequence[str]) -> set[str]:
        return set(catalog_repo.known_skus(conn, mapping_skus))


@dataclass(frozen=True)
class Parsed:
    topic: str
    payload: Any
    headers: Mapping[str, str]


def _variant_ids(payload: Any) -> set[str]:
    """The variant ids an order, refund or fulfilment body names."""
    found: set[str] = set()
    if not isinstance(payload, Mapping):
        return found
    items = list(payload.get("line_items") or [])
    items += [e.get("line_item") for e in payload.get("refund_line_items") or [] if isinstance(e, Mapping)]
    for item in items:
        if isinstance(item, Mapping) and (variant := mapper.legacy_id(item.get("variant_id"))) is not None:
            found.add(variant)
    return found


def _load(message: StoredMessage) -> Parsed:
    try:
        payload = inbound.load_body(message.body)
    except MappingError as exc:
        raise InvalidMessage(str(exc)) from None
    if not isinstance(payload, Mapping):
        raise InvalidMessage("the body is not a JSON object")
    return Parsed(message.message_type, payload, message.headers)


def _map_order(channel: ShopifyChannel, conn: Connection, payload: Any) -> OrderMapping:
    """Map with Shopify's SKU text trusted only when it is one of our SKUs."""
    lookups = channel.lookups(conn, payload)
    texts = [str(i.get("sku")) for i in payload.get("line_items") or [] if isinstance(i, Mapping) and i.get("sku")]
    known = channel.resolve_known(conn, texts)
    lookups = ShopifyLookups(
        lookups.variant_skus, known, lookups.location_codes, lookups.currency, lookups.accept_test_orders
    )
    try:
        return mapper.map_order(payload, lookups)
    except MappingError as exc:
        raise InvalidMessage(str(exc)) from None


# ---------------------------------------------------------------------- orders
class OrderHandler:
    """``orders/create`` and ``orders/cancelled``."""

    def __init__(self, channel: ShopifyChannel) -> None:
        self.channel = channel
        self.orders = ChannelOrders(channel.app)

    def parse(self, message: StoredMessage) -> Parsed:
        """A created order that can never take stock (a test order, only gift cards or custom items) is
        rejected here with its reason: visible in the inbox, never retried."""
        parsed = _load(message)
        if parsed.topic == "orders/create":
            lookups = ShopifyLookups(accept_test_orders=self.channel.accept_test_orders)
            try:
                verdict = mapper.map_order(parsed.payload, lookups)
            except MappingError as exc:
                raise InvalidMessage(str(exc)) from None
            gift_cards_only = verdict.verdict is OrderVerdict.IGNORE_NOTHING_TO_FULFIL and verdict.order.has_gift_cards
            if verdict.verdict in (OrderVerdict.IGNORE_TEST_ORDER, OrderVerdict.IGNORE_NOTHING_TO_FULFIL) and not (
                gift_cards_only
            ):
                raise InvalidMessage(f"{verdict.verdict.value}: {verdict.detail}")
        return parsed

    def apply(self, uow: UnitOfWork, command: Parsed) -> None:
        conn = uow.conn
        mapping = _map_order(self.channel, conn, command.payload)
        if command.topic == "orders/cancelled":
            self._cancel(uow, mapping)
        else:
            self._place(uow, mapping)

    def _place(self, uow: UnitOfWork, mapping: OrderMapping) -> str | None:
        """Place the order if its verdict lets it in (the one channel-order use case); answers our order id.
        A Shopify POS sale (``source_name: pos``) is a till sale at the store its location maps to."""
        if mapping.order.source_name == "pos":
            return self._till_sale(uow, mapping)
        try:
            order_id = self.orders.place(uow, self.channel.code, queue_order(mapping), kind="dtc")
        except OrderHeld as exc:
            raise HeldMessage(str(exc)) from exc
        self._gift_cards(uow, mapping, order_id)
        return order_id

    def _gift_cards(self, uow: UnitOfWork, mapping: OrderMapping, order_id: str | None) -> None:
        """Its gift card lines issue cards (no stock: the mapper skips them) and its payments by gift card
        are taken off the cards they name (issue 17), in the order's transaction. A test order issues none."""
        order = mapping.order
        if order.commerce is None or mapping.verdict is OrderVerdict.IGNORE_TEST_ORDER:
            return
        GiftCardDesk(self.channel.app).channel_order(
            uow, self.channel.code, order.external_id, order.commerce, order_id=order_id
        )
        self._find_unlinked_cards(uow, order.external_id, order.commerce)

    def _find_unlinked_cards(self, uow: UnitOfWork, external_id: str, commerce: OrderCommerce) -> None:
        """A payment that named a Shopify gift card none of ours carries is held (``unknown-gift-card``); the
        card is read from Shopify (the order line that sold it) and linked, which takes the held payment."""
        if self.channel.find_gift_cards is None:
            return
        conn = uow.conn
        wanted: list[str] = []
        for i, payment in enumerate(commerce.payments):
            if payment.tender != GIFT_CARD_TENDER or payment.card is None or payment.card in wanted:
                continue
            hold = finance_repo.get_hold(conn, f"giftcard:channel:{self.channel.code}:{external_id}:payment:{i}")
            if hold is not None and hold["resolved_at"] is None and hold["reason"] == "unknown-gift-card":
                wanted.append(payment.card)
        if wanted:
            self.channel.find_gift_cards(uow, wanted)

    def _till_sale(self, uow: UnitOfWork, mapping: OrderMapping) -> str | None:
        """A sale rung up on Shopify POS: the goods left the store's shelf, so it is taken from that store's
        stock and booked in the store's day (a closed ``pos`` order, as a Square or Lightspeed till sale), never
        allocated from the warehouse as a web order would be. Held until the POS location is mapped."""
        conn = uow.conn
        order = mapping.order
        held = place_action(queue_order(mapping).verdict)
        if held is PlaceAction.HOLD:
            raise HeldMessage(f"Shopify POS sale {order.external_id}: {mapping.verdict.value}: {mapping.detail}")
        # A sale of gift cards only takes no stock, but it is a sale: the cards are issued and paid for.
        cards_only = mapping.verdict is OrderVerdict.IGNORE_NOTHING_TO_FULFIL and order.has_gift_cards
        if held is PlaceAction.IGNORE and not cards_only:
            return None
        codes = {**shopify_repo.location_codes(conn, self.channel.code), **self.channel.location_map}
        store = codes.get(order.location_id) if order.location_id is not None else None
        if store is None:
            raise HeldMessage(
                f"Shopify POS sale {order.external_id} at location {order.location_id or '(none given)'}: map that "
                "location to its store in the channel's location_map (or run seamline shopify link)"
            )
        existing = orders_repo.order_id_for(conn, self.channel.code, order.external_id)
        if existing is not None:
            return existing
        commerce = order.commerce
        paid = [] if commerce is None else [p for p in commerce.payments if p.settled and p.kind != "refund"]
        # Gift cards sold at the till (issue 17): a card per unit, coded by the line as on the web (Shopify's
        # own code is never in the order), issued with the sale into the liability, not revenue.
        cards = [
            (
                line.unit_price,
                channel_card_code(self.channel.code, line.line_id + ("" if line.qty == 1 else f"-{u + 1}")),
            )
            for line in order.lines
            if line.gift_card
            for u in range(line.qty)
        ]
        if paid:
            tenders = [TenderRequest(p.tender, str(p.amount)) for p in paid]
        else:  # no payment in the body: what the lines come to, paid at the till
            total = sum((line.unit_price * line.qty for line in mapping.stock_lines), Decimal(0))
            total += sum((amount for amount, _ in cards), Decimal(0))
            tenders = [TenderRequest("shopify_pos", str(total))]
        customer = queue_order(mapping).customer
        recorded = OrderDesk(self.channel.app).record_sale(
            uow,
            SaleRequest(
                location=store,
                external_id=order.external_id,
                lines=[LineRequest(str(line.sku), line.qty, str(line.unit_price)) for line in mapping.stock_lines],
                tenders=tenders,
                currency=order.currency,
                customer=customer,
                occurred_at=order.placed_at,
                channel=self.channel.code,
                force=True,  # the goods already left the shop floor
                commerce=commerce if paid else None,
                gift_cards=[GiftCardSaleRequest(str(amount), code) for amount, code in cards],
            ),
        )
        desk = GiftCardDesk(self.channel.app)
        desk.sell_at_till(uow, recorded.order, cards, created=recorded.created)
        if commerce is not None:
            # Paid by gift card at the till: taken off the card the payment names, or held for a person.
            desk.redeem_channel_payments(
                uow, self.channel.code, order.external_id, commerce, order_id=str(recorded.order["id"])
            )
            self._find_unlinked_cards(uow, order.external_id, commerce)
        return str(recorded.order["id"])

    def _cancel(self, uow: UnitOfWork, mapping: OrderMapping) -> None:
        """Cancel (or, never seen, place and cancel at once so the late create is a no-op); an order already
        shipped is left alone: what comes back is a refund."""
        try:
            self.orders.cancel(uow, self.channel.code, mapping.order.external_id, queue_order(mapping), kind="dtc")
        except OrderHeld as exc:
            raise HeldMessage(str(exc)) from exc


def _refund_commerce(refund: RefundCommerce | None, order: Mapping[str, Any] | None) -> RefundCommerce | None:
    """The channel's refund with each refunded line tied to our order line (through the order's stored
    commerce); None when the order came without the channel's numbers (finance then prices the return)."""
    if refund is None or not order:
        return None
    numbers = {li.line_id: li.order_line_no for li in OrderCommerce.from_json(order).lines}
    return replace(refund, lines=tuple(replace(li, order_line_no=numbers.get(li.line_id)) for li in refund.lines))


# ---------------------------------------------------------------------- refunds
class RefundHandler:
    def __init__(self, channel: ShopifyChannel) -> None:
        self.channel = channel
        self.desk = OrderDesk(channel.app)

    def parse(self, message: StoredMessage) -> Parsed:
        return _load(message)

    def apply(self, uow: UnitOfWork, command: Parsed) -> None:
        conn = uow.conn
        channel = self.channel
        try:
            mapping: RefundMapping = mapper.map_refund(command.payload, channel.lookups(conn, command.payload))
        except MappingError as exc:
            raise InvalidMessage(str(exc)) from None
        refund = mapping.refund
        if mapping.verdict is not RefundVerdict.ACCEPT:
            raise HeldMessage(f"{mapping.verdict.value}: {mapping.detail}")
        order_id = orders_repo.order_id_for(conn, channel.code, refund.order_external_id)
        if order_id is None:
            raise HeldMessage(
                f"refund {refund.external_id}: order {refund.order_external_id} is not known yet",
                waiting_for=inbound.order_aggregate(refund.order_external_id),
            )
        now = channel.app.clock.now()
        if not shopify_repo.claim_document(conn, channel.code, "refund", refund.external_id, now):
            return
        order = orders_repo.get_order(conn, order_id, for_update=True)
        assert order is not None
        returnable: dict[str, int] = defaultdict(int)
        for line in order["lines"]:
            returnable[line.sku] += line.returnable
        back: list[tuple[str, int, str, str | None]] = []  # sku, qty, condition, our location
        unshipped = 0
        for line in refund.lines:
            sku = str(line.sku)
            if line.restock_type is RestockType.CANCEL:
                unshipped += line.qty  # removed before it was fulfilled: it never left stock
                continue
            if line.qty > returnable[sku]:
                raise HeldMessage(
                    f"refund {refund.external_id}: {line.qty} of {sku} refunded but {returnable[sku]} shipped "
                    "here; waiting for the fulfilment",
                    waiting_for=inbound.order_aggregate(refund.order_external_id),
                )
            returnable[sku] -= line.qty
            back.append((sku, line.qty, "sellable" if line.restock else "damaged", line.location))
        if unshipped:
            self._cancel_unshipped(uow, order, unshipped, refund.external_id)
        if not back:
            self._refund_money_only(uow, order, refund, unshipped)
            return
        location = next((loc for _, _, _, loc in back if loc), None) or self._default_location(conn, order)
        lines = [ReturnRequestLine(sku, qty, condition) for sku, qty, condition, _ in back]
        commerce = _refund_commerce(refund.commerce, order.get("commerce"))
        view = self.desk.record_return(uow, ReturnRequest(order_id, location, lines, commerce=commerce))
        shopify_repo.set_document(conn, channel.code, "refund", refund.external_id, str(view["id"]))

    def _refund_money_only(
        self, uow: UnitOfWork, order: Mapping[str, Any], refund: InboundRefund, unshipped: int
    ) -> None:
        """Money refunded without goods coming back (shipping alone, a goodwill adjustment) is a return of no
        lines carrying what Shopify refunded: its credit note and refund are the channel's figures. A refund
        of units never shipped (a cancellation) credits nothing: nothing was invoiced for them."""
        conn = uow.conn
        commerce = _refund_commerce(refund.commerce, order.get("commerce"))
        if commerce is None or unshipped or not commerce.payments or commerce.lines:
            return
        location = self._default_location(conn, order)
        view = self.desk.record_return(uow, ReturnRequest(order["id"], location, [], commerce=commerce))
        shopify_repo.set_document(conn, self.channel.code, "refund", refund.external_id, str(view["id"]))

    def _cancel_unshipped(self, uow: UnitOfWork, order: Mapping[str, Any], units: int, refund_id: str) -> None:
        status = OrderStatus(order["status"])
        if status is OrderStatus.CANCELLED:
            return  # orders/cancelled came first and released them
        open_units = sum(line.open - line.picked for line in order["lines"])
        if units >= open_units and status in ALLOWED_FROM[Step.CANCEL]:
            self.desk.cancel(uow, order["id"])
            return
        raise HeldMessage(
            f"refund {refund_id} removes {units} of {open_units} unshipped units of order {order['id']}: "
            "a partial cancellation needs a person"
        )

    def _default_location(self, conn: Connection, order: Mapping[str, Any]) -> str:
        found = channels_repo.sourcing(conn, self.channel.code)
        if found and found[0]:
            return str(found[0][0])
        raise HeldMessage(f"order {order['id']}: no location to book the return at")


# ---------------------------------------------------------------------- fulfilments
class FulfillmentHandler:
    def __init__(self, channel: ShopifyChannel) -> None:
        self.channel = channel
        self.desk = OrderDesk(channel.app)

    def parse(self, message: StoredMessage) -> FulfillmentReport:
        parsed = _load(message)
        try:
            return mapper.map_fulfillment(parsed.payload)
        except MappingError as exc:
            raise InvalidMessage(str(exc)) from None

    def apply(self, uow: UnitOfWork, report: FulfillmentReport) -> None:
        conn = uow.conn
        channel = self.channel
        if report.external_id in shopify_repo.documents(conn, channel.code, "pushed_fulfillment"):
            return  # our own fulfilment coming back
        order_id = orders_repo.order_id_for(conn, channel.code, report.order_external_id)
        if order_id is None:
            raise HeldMessage(
                f"fulfilment {report.external_id}: order {report.order_external_id} is not known yet",
                waiting_for=inbound.order_aggregate(report.order_external_id),
            )
        now = channel.app.clock.now()
        if not shopify_repo.claim_document(conn, channel.code, "fulfillment", report.external_id, now):
            return
        order = orders_repo.get_order(conn, order_id)
        assert order is not None
        status = OrderStatus(order["status"])
        if status in (OrderStatus.SHIPPED, OrderStatus.CLOSED, OrderStatus.CANCELLED):
            return
        variant_skus = shopify_repo.variant_skus(
            conn, channel.code, [v for line in report.lines if (v := line.variant_id)]
        )
        picks: dict[str, int] = defaultdict(int)
        for line in report.lines:
            sku = mapper.resolve_sku(line.variant_id, line.sku, ShopifyLookups(variant_skus=variant_skus))
            if sku is not None:
                picks[sku] += line.qty
        on_order = {line.sku for line in order["lines"]}
        wanted = [(sku, qty) for sku, qty in sorted(picks.items()) if sku in on_order]
        if not wanted:
            return
        if status in ALLOWED_FROM[Step.PICK]:
            self.desk.pick(uow, order_id, wanted)
        self.desk.pack(uow, order_id)
        tracking = report.tracking_numbers[0] if report.tracking_numbers else None
        if report.tracking_company and tracking:
            tracking = f"{report.tracking_company} {tracking}"
        self.desk.ship(uow, order_id, tracking)
        shopify_repo.set_document(conn, channel.code, "fulfillment", report.external_id, order_id)


# ---------------------------------------------------------------------- drift
class InventoryLevelHandler:
    def __init__(self, channel: ShopifyChannel) -> None:
        self.channel = channel

    def parse(self, message: StoredMessage) -> InventoryLevelReport:
        parsed = _load(message)
        try:
            return mapper.map_inventory_level(parsed.payload)
        except MappingError as exc:
            raise InvalidMessage(str(exc)) from None

    def apply(self, uow: UnitOfWork, report: InventoryLevelReport) -> None:
        conn = uow.conn
        channel = self.channel
        if channel.publish_location_id is not None and report.location_id != channel.publish_location_id:
            return
        sku = shopify_repo.sku_of_inventory_item(conn, channel.code, report.inventory_item_id)
        if sku is None:
            return
        published = outbox_repo.published(conn, channel.subscriber, channel.code, sku)
        last_pushed = None
        if published is not None:
            last_pushed = int(published["available"])
            at = published.get("published_at")
            if report.updated_at is not None and at is not None and report.updated_at < ensure_utc(at):
                return  # news older than our last push
        current = current_availability(conn, channel.code, sku, channel.app.clock.now())
        if current is None:
            return
        ours = current[0]
        # Our number now (Shopify took its own sale off as we did), or the number we last pushed (the echo of
        # our push, a newer one on its way): neither is drift.
        if report.available in (ours, last_pushed):
            return
        shopify_repo.record_drift(
            conn,
            [
                {
                    "channel": channel.code,
                    "kind": "inventory",
                    "sku": sku,
                    "subject": report.inventory_item_id,
                    "field": "available",
                    "ours": str(ours),
                    "theirs": None if report.available is None else str(report.available),
                    "source": "webhook",
                    "recorded_at": channel.app.clock.now(),
                }
            ],
        )
        channel.repush(uow, [(sku, report.available)])


class ProductHandler:
    def __init__(self, channel: ShopifyChannel) -> None:
        self.channel = channel

    def parse(self, message: StoredMessage) -> ProductReport:
        parsed = _load(message)
        try:
            return mapper.map_product(parsed.payload)
        except MappingError as exc:
            raise InvalidMessage(str(exc)) from None

    def apply(self, uow: UnitOfWork, report: ProductReport) -> None:
        conn = uow.conn
        channel = self.channel
        code = shopify_repo.style_of_product(conn, channel.code, report.product_id)
        if code is None:
            return
        style = catalog_repo.get_style(conn, code)
        if style is None:
            return
        currency = channel.currency or _first_currency(style)
        if currency is None:
            return
        drift = mapper.product_drift(report, style, currency=currency, channel=self.channel.code)
        if not drift:
            return
        now = channel.app.clock.now()
        shopify_repo.record_drift(
            conn,
            [
                {
                    "channel": channel.code,
                    "kind": "product",
                    "sku": d.sku,
                    "subject": report.product_id,
                    "field": d.field,
                    "ours": d.ours,
                    "theirs": d.theirs,
                    "source": "webhook",
                    "recorded_at": now,
                }
                for d in drift
            ],
        )
        channel.republish(uow, [code])


def current_availability(conn: Connection, channel: str, sku: str, now: datetime) -> tuple[int, int, bool] | None:
    """(available to show, ATP, paused) of a SKU on the channel, from the ledger now: a prepack's is the whole
    packs its components make, as the publisher and the availability route count it."""
    components = catalog_repo.prepack_map(conn, [sku]).get(sku)
    units = [c for c, _ in components] if components is not None else [sku]
    policies = channels_repo.policies(conn, skus=sorted({sku, *units}))
    policy = next((p for p in policies if p.code == channel), None)
    if policy is None:
        return None
    available: dict[str, dict[str, int]] = defaultdict(dict)
    for b in ledger_repo.read_balances(conn, now, skus=units, locations_in=list(policy.sources)):
        available[b.sku][b.location] = b.available
    result = sku_availability(policy, sku, available, policies, components)
    return result.published, result.atp, result.paused


def _first_currency(style: Any) -> str | None:
    return next((p.currency for p in style.prices if p.list == "retail"), None)


def handlers(channel: ShopifyChannel) -> list[tuple[str, str, Any]]:
    """(inbox source, topic, handler) for every topic the channel takes."""
    orders = OrderHandler(channel)
    products = ProductHandler(channel)
    return [
        (channel.source, "orders/create", orders),
        (channel.source, "orders/cancelled", orders),
        (channel.source, "refunds/create", RefundHandler(channel)),
        (channel.source, "fulfillments/create", FulfillmentHandler(channel)),
        (channel.source, "inventory_levels/update", InventoryLevelHandler(channel)),
        (channel.source, "products/create", products),
        (channel.source, "products/update", products),
    ]
