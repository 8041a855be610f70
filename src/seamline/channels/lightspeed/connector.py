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
  waits Lightspeed's ``Retry-After`` (``integration.delivery_outcome``), for the SKUs not yet sent."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from seamline.channels.lightspeed import mapper
from seamline.channels.lightspeed.client import (
    LightspeedClient,
)
from seamline.channels.lightspeed.inbound import CUSTOMER_UPDATE, SALE_UPDATE, SOURCE
from seamline.domain.errors import InvalidInput
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
from seamline.orders.returns import ReturnRequestLine
from seamline.service import Seamline
from seamline.service.customers import Contact, ContactRequest, attach_customer, parse_contact
from seamline.service.orders import LineRequest, OrderDesk, ReturnRequest, SaleRequest, TenderRequest, pos_channel
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import orders_repo, shopify_repo

log = logging.getLogger("seamline.channels.lightspeed")

#: Deliveries handed over at once; each distinct SKU among them is one call.
STOCK_BATCH = 50


def contact_request(contact: mapper.LightspeedContact) -> ContactRequest:
    return ContactRequest(email=contact.email, phone=contact.phone, name=contact.name)


class LightspeedConnector:
    def __init__(
        self,
        app: Seamline,
        client: LightspeedClient,
        lookups: Callable[[], mapper.LightspeedLookups],
        *,
        channel: str,
        currency: str = "EUR",
    ) -> None:
        self.app = app
        self.client = client
        self.lookups = lookups
        self.channel = channel
        self.currency = currency

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
        OrderDesk(self.app).record_sale(
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
