"""The one order queue (DESIGN 5): orders from every channel, POS sales, returns and exchanges, the allocation
run and oversell exceptions, one module per seam:

- ``requests``: what a caller asks (``OrderRequest``, ``SaleRequest``, ``ReturnRequest``, ``ExchangeRequest``);
- ``common``: checking lines, tenders and locations; claiming (channel, external id);
- ``placing``: an order placed and allocated by its channel's policy (``OrderPlacing``);
- ``fulfilment``: pick, pack, ship, cancel, close (``Fulfilment``);
- ``allocation_run``: backorders allocated as stock arrives, wholesale pre-books by ship date (``AllocationRun``);
- ``pos_sales``: till sales and oversell exceptions (``PosSales``);
- ``returns``: returns and exchanges (``Returns``);
- ``views``: orders, returns and exceptions as the API's JSON (``OrderViews``).

Channel orders (Shopify, Amazon, Mirakl) enter through ``service.channel_orders``. Each command taking a
``uow`` is the whole of one transaction: the API and the CLI run it through ``Seamline.write``/``idempotent``.
``OrderDesk`` holds one of each part and keeps the names its callers used before the split.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from seamline.service.app import Seamline
from seamline.service.orders.allocation_run import AllocationRun
from seamline.service.orders.common import (
    EXCHANGE_CREDIT,
    MARKETPLACE_CHANNEL_KINDS,
    ParsedLine,
    order_kind_for,
    pos_channel,
    unknown_order,
)
from seamline.service.orders.fulfilment import Fulfilment
from seamline.service.orders.placing import OrderPlacing, PlacedOrder
from seamline.service.orders.pos_sales import PosSales, RecordedSale, record_oversell
from seamline.service.orders.requests import (
    ExchangeRequest,
    GiftCardSaleRequest,
    LineRequest,
    OrderRequest,
    ReturnRequest,
    SaleRequest,
    TenderRequest,
)
from seamline.service.orders.returns import Returns
from seamline.service.orders.views import (
    ExceptionView,
    ExchangeView,
    OrderView,
    OrderViews,
    ReturnView,
    exception_view,
    order_view,
    read_order_view,
    read_return_view,
    return_view,
)
from seamline.service.principal import Principal
from seamline.service.unit_of_work import UnitOfWork


class OrderDesk:
    """The order queue's parts over one ``Seamline`` application."""

    def __init__(self, app: Seamline) -> None:
        self.app = app
        self.placing = OrderPlacing(app)
        self.fulfilment = Fulfilment(app)
        self.allocation_run = AllocationRun(app)
        self.sales = PosSales(app)
        self.returns = Returns(app)
        self.views = OrderViews(app)

    # ------------------------------------------------------------------------------------ placing
    def place_order(self, uow: UnitOfWork, req: OrderRequest, *, trace_id: str | None = None) -> PlacedOrder:
        return self.placing.place_order(uow, req, trace_id=trace_id)

    # ------------------------------------------------------------------------------------ fulfilment
    def pick(
        self,
        uow: UnitOfWork,
        order_id: str,
        requested: Sequence[tuple[str, int]] | None = None,
        *,
        trace_id: str | None = None,
    ) -> OrderView:
        return self.fulfilment.pick(uow, order_id, requested, trace_id=trace_id)

    def pack(self, uow: UnitOfWork, order_id: str) -> OrderView:
        return self.fulfilment.pack(uow, order_id)

    def ship(
        self, uow: UnitOfWork, order_id: str, tracking: str | None = None, *, carrier: str | None = None
    ) -> OrderView:
        return self.fulfilment.ship(uow, order_id, tracking, carrier=carrier)

    def cancel(self, uow: UnitOfWork, order_id: str) -> OrderView:
        return self.fulfilment.cancel(uow, order_id)

    def close(self, uow: UnitOfWork, order_id: str) -> OrderView:
        return self.fulfilment.close(uow, order_id)

    def run_allocation(self, uow: UnitOfWork, *, limit: int = 500) -> dict[str, Any]:
        return self.allocation_run.run_allocation(uow, limit=limit)

    # ------------------------------------------------------------------------------------ POS sales
    def record_sale(
        self, uow: UnitOfWork, req: SaleRequest, *, trace_id: str | None = None, caller: Principal | None = None
    ) -> RecordedSale:
        return self.sales.record_sale(uow, req, trace_id=trace_id, caller=caller)

    def check_sale(self, uow: UnitOfWork, req: SaleRequest, caller: Principal | None = None) -> None:
        self.sales.check_sale(uow, req, caller)

    # ------------------------------------------------------------------------------------ returns
    def record_return(self, uow: UnitOfWork, req: ReturnRequest, *, trace_id: str | None = None) -> ReturnView:
        return self.returns.record_return(uow, req, trace_id=trace_id)

    def exchange(self, uow: UnitOfWork, req: ExchangeRequest, *, trace_id: str | None = None) -> ExchangeView:
        return self.returns.exchange(uow, req, trace_id=trace_id)

    # ------------------------------------------------------------------------------------ reads
    def order_view(self, conn: Connection, order_id: str) -> OrderView:
        return read_order_view(conn, order_id)

    def get_order(self, order_id: str) -> OrderView:
        return self.views.get_order(order_id)

    def list_orders(
        self,
        *,
        channel: str | None = None,
        status: Sequence[str] | None = None,
        kind: str | None = None,
        customer_id: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> tuple[list[OrderView], str | None]:
        return self.views.list_orders(
            channel=channel, status=status, kind=kind, customer_id=customer_id, cursor=cursor, limit=limit
        )

    def return_view(self, conn: Connection, return_id: str) -> ReturnView:
        return read_return_view(conn, return_id)

    def get_return(self, return_id: str) -> ReturnView:
        return self.views.get_return(return_id)

    def exceptions(
        self, *, sku: str | None = None, location: str | None = None, cursor: str | None = None, limit: int = 100
    ) -> tuple[list[ExceptionView], str | None]:
        return self.views.exceptions(sku=sku, location=location, cursor=cursor, limit=limit)


__all__ = [
    "EXCHANGE_CREDIT",
    "MARKETPLACE_CHANNEL_KINDS",
    "AllocationRun",
    "ExceptionView",
    "ExchangeRequest",
    "ExchangeView",
    "Fulfilment",
    "LineRequest",
    "GiftCardSaleRequest",
    "OrderDesk",
    "OrderPlacing",
    "OrderRequest",
    "OrderView",
    "OrderViews",
    "ParsedLine",
    "PlacedOrder",
    "PosSales",
    "RecordedSale",
    "ReturnRequest",
    "ReturnView",
    "Returns",
    "SaleRequest",
    "TenderRequest",
    "exception_view",
    "order_kind_for",
    "order_view",
    "pos_channel",
    "read_order_view",
    "read_return_view",
    "record_oversell",
    "return_view",
    "unknown_order",
]
