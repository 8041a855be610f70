"""The Lightspeed Retail (X-Series) connector: the inbox handler for its sales and the till's stock from the
ledger.

- ``sale.update`` (a closed sale): mapped to a till sale and recorded through the order queue at the store the
  register's outlet is linked to (``force``: the goods have left the shop; an oversell raises an exception
  record), keyed by the Lightspeed sale id on the store's till channel, so a retried or re-sent webhook
  records it once, with its customer when the sale names one with an email or phone. A sale still open
  (saved, parked) sold nothing and is skipped. A return (negative quantities) is not taken yet: it is
  rejected with that reason, visible in the inbox. A sale naming an outlet or product the settings do not
  link yet is held (not rejected) and applies once the channel is rewired with the link.
- ``customer.update``: a customer with an email or phone is matched to ours (or created), conflicts recorded,
  never merged (``attach_customer``); the walk-in customer (neither) is skipped.
- Stock out: every change of the channel's number (``AvailabilityChanged``) sets the product's count at the
  linked outlet (one call per product: the documented limit is 300 x registers + 50 calls per 5 minutes, so
  deliveries are coalesced per SKU), so the till shows the ledger's number (Seamline owns stock); a 429
  waits Lightspeed's ``Retry-After`` (``integration.delivery_outcome``), for the SKUs not yet sent.
- Products out (``catalog_subscriber``): every ``StoreCatalogChanged`` (a saved style whose till-visible fields
  changed: ``service.handlers`` republishes the till catalog and ``integration.announcements`` announces it)
  pushes each named style as it is now (``channels.lightspeed.catalog``): a style Lightspeed does not have yet
  becomes one variant family (Colour and Size attributes, each variant's SKU, barcode and price), whose product
  ids are read back and kept per SKU (``channel_catalog_refs``); a style it has is updated product by product
  (``PUT /api/2.1/products/{id}``), so a re-save changes the products and never adds a second family. A create
  whose answer was lost is found again by SKU before anything is created twice. A SKU added to a style
  Lightspeed already has is not created (the 2.1 update cannot add a variant): it is logged and left out.
  A style that cannot be sent as it is (no price in the channel's currency) is refused for a person.
  ``push_stale`` (a periodic job) catches up the styles saved before the channel was wired."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from seamline.catalog.model import Style
from seamline.channels.lightspeed import catalog, mapper
from seamline.channels.lightspeed.client import LightspeedClient, LightspeedRejected
from seamline.channels.lightspeed.inbound import CUSTOMER_UPDATE, SALE_UPDATE, SOURCE
from seamline.channels.till_catalog import TillCatalogPush
from seamline.domain.errors import InvalidInput, NotFound
from seamline.integration import (
    ChannelError,
    ChannelThrottled,
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
from seamline.ledger.atp import sku_availability
from seamline.orders.returns import ReturnRequestLine
from seamline.service import Seamline
from seamline.service.customers import Contact, ContactRequest, attach_customer, parse_contact
from seamline.service.giftcards import GiftCardDesk
from seamline.service.orders import LineRequest, OrderDesk, ReturnRequest, SaleRequest, TenderRequest, pos_channel
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import channels_repo, ledger_repo, orders_repo, shopify_repo, tills_repo

log = logging.getLogger("seamline.channels.lightspeed")

#: Deliveries handed over at once; each distinct SKU among them is one call.
STOCK_BATCH = 50


def contact_request(contact: mapper.LightspeedContact) -> ContactRequest:
    return ContactRequest(email=contact.email, phone=contact.phone, name=contact.name)


class LightspeedConnector(TillCatalogPush):
    platform = "Lightspeed"
    refused = "Lightspeed refused the product push"
    mapping_error = catalog.LightspeedCatalogError
    rejected = LightspeedRejected

    def __init__(
        self,
        app: Seamline,
        client: LightspeedClient,
        lookups: Callable[[], mapper.LightspeedLookups],
        *,
        channel: str,
        currency: str = "EUR",
        tax_inclusive: bool = True,
    ) -> None:
        self.app = app
        self.client = client
        self.lookups = lookups
        self.channel = channel
        self.currency = currency
        #: Whether the outlets' prices include tax (the retailer's tax setup): which price field is sent.
        self.tax_inclusive = tax_inclusive
        self._attribute_ids: dict[str, str] | None = None
        #: The outlet whose counts the stock subscriber sets (None when the channel sets none).
        self.outlet: str | None = None

    @property
    def source(self) -> str:
        return f"{SOURCE}:{self.channel}"

    def handlers(self) -> list[tuple[str, str, MessageHandler]]:
        return [
            (self.source, SALE_UPDATE, FunctionHandler(self._parse_sale, self._apply_sale)),
            (self.source, CUSTOMER_UPDATE, FunctionHandler(self._parse_customer, self._apply_customer)),
        ]

    def register(self, handlers: HandlerRegistry) -> None:
        for source, message_type, handler in self.handlers():
            handlers.register(source, message_type, handler)

    def _parse_sale(self, message: StoredMessage) -> mapper.LightspeedSale | None:
        try:
            sale = mapper.map_sale(message.json(), self.lookups(), self.currency)
        except mapper.LightspeedUnmapped as exc:
            raise HoldMessage(f"{exc}: held until the channel's settings link it") from exc
        except (ValueError, mapper.LightspeedMappingError) as exc:
            raise InvalidMessage(str(exc)) from exc
        if sale is not None and sale.is_return and sale.return_for is None:
            raise InvalidMessage(
                f"sale {sale.sale_id} returns goods without naming the sale they came from (return_for): an "
                "unreferenced return is not taken; record it with POST /v1/returns against the original order"
            )
        return sale

    def _apply_sale(self, uow: UnitOfWork, sale: Any) -> None:
        if sale is None:
            return
        assert isinstance(sale, mapper.LightspeedSale)
        if sale.is_return:
            self._apply_return(uow, sale)
            return
        recorded = OrderDesk(self.app).record_sale(
            uow,
            SaleRequest(
                location=sale.location,
                external_id=sale.sale_id,
                lines=[LineRequest(li.sku, li.qty, str(li.unit_price)) for li in sale.lines],
                tenders=[TenderRequest(kind, str(amount)) for kind, amount in sale.tenders],
                currency=sale.currency,
                customer=None if sale.customer is None else contact_request(sale.customer),
                occurred_at=sale.occurred_at,
                force=True,
            ),
        )
        # Paid by a Lightspeed gift card (issue 17): the payment carries a name and an amount, no card: held for
        # a person, not taken off any card here.
        GiftCardDesk(self.app).hold_platform_card_tenders(
            uow,
            sale.tenders,
            channel=self.channel,
            external_id=sale.sale_id,
            currency=sale.currency,
            order_id=str(recorded.order["id"]),
            platform="Lightspeed",
            why="a Lightspeed payment (register_sale_payments) names no card, only the payment type, so Seamline "
            "cannot tell which of its cards paid. Look the card up in Lightspeed and take the amount off the "
            "Seamline card by hand.",
        )

    def _apply_return(self, uow: UnitOfWork, sale: mapper.LightspeedSale) -> None:
        conn = uow.conn
        assert sale.return_for is not None
        stores = sorted(set(self.lookups().location_for.values()))
        found = (orders_repo.order_id_for(conn, pos_channel(store), sale.return_for) for store in stores)
        order_id = next((order for order in found if order is not None), None)
        if order_id is None:
            raise HoldMessage(f"return {sale.sale_id}: sale {sale.return_for} is not recorded here (yet)")
        order = orders_repo.get_order(conn, order_id, for_update=True)
        assert order is not None
        prices = {line.sku: line.unit_price for line in order["lines"]}
        value = sum((-line.qty * prices.get(line.sku, line.unit_price) for line in sale.lines), Decimal(0))
        refunded = sum((amount for _, amount in sale.tenders), Decimal(0))
        if value != refunded:
            raise InvalidMessage(
                f"return {sale.sale_id}: Lightspeed refunded {refunded} {sale.currency}, the returned units were "
                f"sold for {value}: record it with POST /v1/returns and the refund it needs"
            )
        # One effect per return sale, whatever Lightspeed re-sends (the claim is the channel's document key).
        if not shopify_repo.claim_document(conn, self.channel, "ls_return", sale.sale_id[:64], self.app.clock.now()):
            return
        tenders = {kind for kind, _ in sale.tenders}
        view = OrderDesk(self.app).record_return(
            uow,
            ReturnRequest(
                order_id=order_id,
                location=sale.location,
                lines=[ReturnRequestLine(line.sku, -line.qty, "sellable") for line in sale.lines],
                refund_tender=tenders.pop() if len(tenders) == 1 else None,
            ),
        )
        shopify_repo.set_document(conn, self.channel, "ls_return", sale.sale_id[:64], str(view["id"]))

    # ------------------------------------------------------------------------------------ customers in
    def _parse_customer(self, message: StoredMessage) -> tuple[str, Contact] | None:
        """A customer with an email or phone becomes (or matches) our customer; one without is skipped."""
        try:
            found = mapper.map_customer(message.json())
        except mapper.LightspeedMappingError as exc:
            raise InvalidMessage(str(exc)) from exc
        if not found.matchable:
            return None
        try:
            contact = parse_contact(contact_request(found))
        except InvalidInput as exc:
            raise InvalidMessage(f"customer {found.customer_id}: {exc}") from exc
        assert contact is not None
        return found.customer_id, contact

    def _apply_customer(self, uow: UnitOfWork, command: Any) -> None:
        conn = uow.conn
        if command is None:
            return
        customer_id, contact = command
        attach_customer(conn, contact, document=f"{self.source}:customer:{customer_id}", now=self.app.clock.now())

    # ------------------------------------------------------------------------------------ products out
    def _refs(self, code: str) -> dict[str, Any] | None:
        rows = self.app.read(lambda conn: tills_repo.catalog_refs(conn, self.channel, code))
        return rows.get(code)

    def _attributes(self) -> dict[str, str]:
        """The ids of the Colour and Size variant attributes, created the first time they are needed."""
        if self._attribute_ids is None:
            found = self.client.variant_attributes()
            for name in (catalog.COLOUR, catalog.SIZE):
                if name not in found:
                    found[name] = self.client.create_variant_attribute(name)
            self._attribute_ids = found
        return self._attribute_ids

    def push_style(self, style: Style) -> dict[str, str]:
        """The style at Lightspeed as it is now; answers SKU → Lightspeed product id."""
        done = self._refs(style.code)
        known: dict[str, str] = dict((done or {}).get("refs", {}).get("products") or {})
        linked = {sku: pid for pid, sku in self.lookups().sku_for_product.items()}
        for variant in style.variants:  # a product the settings link already is that SKU's product
            if variant.sku not in known and variant.sku in linked:
                known[variant.sku] = linked[variant.sku]
        attributes = self._attributes()
        created: dict[str, str] = {}
        if not known:
            known = created = self._adopt(style) or self._create(style, attributes)
        else:
            for variant in style.sorted_variants():
                if variant.sku not in known:
                    log.warning(
                        "Lightspeed channel %s: %s is new in %s; the family exists and the 2.1 update cannot add "
                        "a variant: add it in Lightspeed, then link it in the channel settings",
                        self.channel,
                        variant.sku,
                        style.code,
                    )
                    continue
                body = catalog.update_body(
                    style, variant, attributes, currency=self.currency, tax_inclusive=self.tax_inclusive
                )
                self.client.update_product(known[variant.sku], body)
        refs = {"products": known}

        def work(uow: UnitOfWork) -> None:
            tills_repo.save_catalog_refs(uow.conn, self.channel, style.code, refs, style.version, self.app.clock.now())

        self.app.write(work)
        if created:
            self._show_stock(created)
        return known

    def _show_stock(self, products: dict[str, str]) -> None:
        """New products are shown the channel's numbers at once (earlier numbers skipped them: Lightspeed had
        no product for them); a failure is logged and the next change of a number sends it."""
        if self.outlet is None:
            return
        skus = sorted(products)

        def numbers(conn: Connection) -> dict[str, int]:
            policies = channels_repo.policies(conn)
            policy = next((p for p in policies if p.code == self.channel), None)
            if policy is None or not policy.sources:
                return {}
            available: dict[str, dict[str, int]] = {}
            now = self.app.clock.now()
            for balance in ledger_repo.read_balances(conn, now, skus=skus, locations_in=list(policy.sources)):
                available.setdefault(balance.sku, {})[balance.location] = balance.available
            return {sku: max(sku_availability(policy, sku, available, policies).published, 0) for sku in skus}

        try:
            for sku, count in self.app.read(numbers).items():
                self.client.set_inventory(products[sku], self.outlet, count)
        except ChannelError as exc:
            log.warning("Lightspeed channel %s: new products' counts not sent yet: %s", self.channel, exc)

    def _adopt(self, style: Style) -> dict[str, str]:
        """The family Lightspeed already has for this style (a create whose answer was lost), if any: a family
        is created whole, so its first SKU tells (one call, not one per SKU)."""
        variants = style.sorted_variants()
        found = self.client.products_with_sku(variants[0].sku) if variants else []
        if not found:
            return {}
        family = catalog.ids_by_sku(self.client.family(str(found[0]["id"])))
        return {sku: pid for sku, pid in family.items() if sku in {v.sku for v in variants}}

    def _create(self, style: Style, attributes: dict[str, str]) -> dict[str, str]:
        body = catalog.family_body(style, attributes, currency=self.currency, tax_inclusive=self.tax_inclusive)
        ids = self.client.create_products(body)
        # The ids come in Lightspeed's order, not ours: pair them with SKUs by reading the family back.
        return catalog.ids_by_sku(self.client.family(ids[0]))

    def push_styles(self, codes: Sequence[str]) -> list[str]:
        """Push each style Lightspeed does not have in its current version; answers the styles pushed."""
        pushed = []
        for code in sorted(set(codes)):
            try:
                style = self.app.get_style(code)
            except NotFound:
                continue
            done = self._refs(code)
            if done is not None and done["style_version"] >= style.version:
                continue
            self.push_style(style)
            pushed.append(code)
        return pushed

    # ------------------------------------------------------------------------------------ stock push
    def deliver_counts(
        self, deliveries: Sequence[Delivery], *, outlet: str
    ) -> list[Delivered | DeliveryFailed | DeliveryRejected | None]:
        """The channel's new numbers as the outlet's counts (the last number per SKU wins); SKUs Lightspeed has
        no product for are skipped. A SKU whose call failed leaves its deliveries to be retried; those of the
        SKUs already set are delivered."""
        product_for = {sku: pid for pid, sku in self.lookups().sku_for_product.items()}
        latest: dict[str, int] = {}
        for delivery in deliveries:
            latest[str(delivery.payload["sku"])] = max(int(delivery.payload["available"]), 0)
        failed: dict[str, Delivered | DeliveryFailed | DeliveryRejected] = {}
        for sku, count in sorted(latest.items()):
            if sku not in product_for:
                continue
            try:
                self.client.set_inventory(product_for[sku], outlet, count)
            except ChannelThrottled as exc:
                # The window is spent: this SKU and every one after it wait for Lightspeed's Retry-After.
                for later in (s for s in sorted(latest) if s >= sku):
                    failed[later] = delivery_outcome(exc)
                break
            except ChannelError as exc:
                failed[sku] = delivery_outcome(exc, refused=f"Lightspeed refused the count of {sku}")
        return [failed.get(str(d.payload["sku"]), Delivered()) for d in deliveries]

    def stock_subscriber(self, outlet: str) -> Subscriber:
        self.outlet = outlet

        def one(delivery: Delivery) -> Delivered | None:
            [outcome] = self.deliver_counts([delivery], outlet=outlet)
            if isinstance(outcome, DeliveryFailed | DeliveryRejected):
                raise outcome
            return outcome

        return Subscriber(
            name=f"{self.source}:stock",
            event_types=frozenset({AVAILABILITY_CHANGED}),
            deliver=one,
            channels=frozenset({self.channel}),
            coalesce=True,
            deliver_batch=lambda batch: self.deliver_counts(batch, outlet=outlet),
            batch_size=STOCK_BATCH,
        )
