"""The Square connector: inbox handlers for its webhooks and the catalog push to the till.

- ``order.updated`` (``COMPLETED``): the order is fetched (``RetrieveOrder``), mapped to a till sale and
  recorded through the order queue (``force``: the goods have left the shop; an oversell raises an
  exception record). The sale is keyed by the Square order id on the store's till channel, so a repeated
  or reordered notification records it once; earlier versions arriving late are ``stale`` in the inbox.
- ``inventory.count.updated``: Seamline owns stock; the till's ``IN_STOCK`` counts are compared with the
  ledger's ``available`` at the linked store and the differences handed to ``on_drift``.
- ``publish_style``: the style as a Square ITEM (variations with SKU, GTIN and price), versioned.

What is not here yet: the HTTP route that receives Square's POSTs (it is ``inbound.verify`` then
``inbox.receive(inbound.inbound_message(...))``, like Shopify's) and a Subscriber that re-publishes a style
when its version changes (no catalog event exists in the outbox yet)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from seamline.catalog.model import Style
from seamline.channels.square import mapper
from seamline.channels.square.client import SquareClient
from seamline.channels.square.inbound import SOURCE
from seamline.integration import FunctionHandler, HandlerRegistry, InvalidMessage, StoredMessage
from seamline.service import Seamline
from seamline.service.orders import LineRequest, OrderDesk, SaleRequest, TenderRequest
from seamline.store import ledger_repo

CAPABILITIES = frozenset({"sales_in", "inventory_counts_in", "catalog_push", "price_push"})


@dataclass(frozen=True)
class CountDrift:
    sku: str
    location: str
    square: int
    seamline: int


DriftSink = Callable[[CountDrift], None]


class SquareConnector:
    def __init__(
        self,
        app: Seamline,
        client: SquareClient,
        lookups: Callable[[], mapper.SquareLookups],
        *,
        channel: str,
        on_drift: DriftSink | None = None,
    ) -> None:
        self.app = app
        self.client = client
        self.lookups = lookups
        self.channel = channel
        self.on_drift = on_drift or (lambda drift: None)

    @property
    def source(self) -> str:
        return f"{SOURCE}:{self.channel}"

    def register(self, handlers: HandlerRegistry) -> None:
        handlers.register(self.source, "order.updated", FunctionHandler(self._parse_order, self._apply_order))
        handlers.register(
            self.source, "inventory.count.updated", FunctionHandler(self._parse_counts, self._apply_counts)
        )

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
        except mapper.SquareMappingError as exc:
            raise InvalidMessage(str(exc)) from exc

    def _apply_order(self, conn: Connection, sale: Any) -> None:
        if sale is None:
            return
        assert isinstance(sale, mapper.SquareSale)
        body = sale.sale_body()
        OrderDesk(self.app).record_sale(
            conn,
            SaleRequest(
                location=body["location"],
                external_id=body["external_id"],
                lines=[LineRequest(li["sku"], li["qty"], li["unit_price"]) for li in body["lines"]],
                tenders=[TenderRequest(t["type"], t["amount"]) for t in body["tenders"]],
                currency=body["currency"],
                occurred_at=sale.occurred_at,
                force=True,
            ),
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

    def _apply_counts(self, conn: Connection, counts: Any) -> None:
        for (sku, store), quantity in sorted(counts.items()):
            ours = ledger_repo.available_at(conn, sku, store)
            if ours != quantity:
                self.on_drift(CountDrift(sku, store, quantity, ours))

    def publish_style(
        self, style: Style, *, currency: str, known: mapper.CatalogIds | None = None, idempotency_key: str
    ) -> mapper.CatalogIds:
        """Create or update the style at Square (price changes included); answers Square's ids and versions,
        which the next push needs."""
        body = mapper.catalog_upsert_body(style, currency=currency, idempotency_key=idempotency_key, known=known)
        return mapper.catalog_ids(self.client.upsert_catalog(body), style, known)
