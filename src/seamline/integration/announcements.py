"""Business facts to the outbox: what the handler table (``seamline.service.handlers``) hands the integration
layer to announce, written in the same transaction as the facts themselves (no event without its state, no
state without its event). Installed by ``integration.install`` as ``Dependencies.announcements``.

- ``styles_changed``: ``StyleChanged`` per style saved, so a storefront (Shopify) publishes the master again.
- ``orders_shipped``: ``OrderShipped`` per order whose units shipped, with its channel, external id and
  tracking, on the order's own trace, so the channel it came from creates its fulfilment.
- ``orders_cancelled``: ``OrderCancelled`` per whole order cancelled here, to the order's channel (Amazon is
  told by its order acknowledgement feed).
- ``order_lines_cancelled``: ``OrderLinesCancelled`` per cancellation of some lines' units, to the order's
  channel (a marketplace cancels them on its side).
- ``returns_booked``: ``ReturnBooked`` per return, to its order's channel (a marketplace refunds it).
- ``documents_posted``: ``FinanceDocumentPosted`` per finance document; the accounting connectors (Xero,
  QuickBooks Online) subscribe to it.
- ``till_catalog_changed``: ``StoreCatalogChanged`` per new till catalog version; a POS connector pushes the
  changed styles and prices to its platform.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from seamline.catalog.events import TillCatalogChanged
from seamline.integration.catalog_events import style_coalesce_key
from seamline.integration.events import (
    FINANCE_DOCUMENT_POSTED,
    ORDER_CANCELLED,
    ORDER_LINES_CANCELLED,
    ORDER_SHIPPED,
    RETURN_BOOKED,
    STORE_CATALOG_CHANGED,
    STYLE_CHANGED,
    NewEvent,
)
from seamline.integration.outbox import Outbox
from seamline.orders.events import OrderLinesCancelled
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import catalog_repo, channel_orders_repo, orders_repo


class OutboxAnnouncements:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def styles_changed(self, uow: UnitOfWork, styles: Sequence[str]) -> None:
        events = []
        found = catalog_repo.style_states(uow.conn, styles)  # one read for an import's thousands of styles
        for code in styles:
            if code not in found:
                continue
            version, status = found[code]
            payload = {"style": code, "version": version, "status": status}
            events.append(NewEvent(STYLE_CHANGED, payload, None, style_coalesce_key(code)))
        self.outbox.emit(uow, events)

    def orders_shipped(self, uow: UnitOfWork, order_ids: Sequence[str]) -> None:
        events = []
        for order_id in order_ids:
            order = orders_repo.get_order(uow.conn, order_id)
            if order is None:
                continue
            payload: dict[str, Any] = {
                "order_id": order_id,
                "channel": order["channel"],
                "external_id": order["external_id"],
                "tracking": order["tracking"],
                "status": order["status"],
            }
            parcels = channel_orders_repo.shipments(uow.conn, order_id)
            if parcels:
                # The shipment just recorded: its lines, carrier and tracking, so the channel fulfils only what
                # left (a partial shipment included), not everything still open on its side.
                last = parcels[-1]
                payload["shipment_no"] = last["shipment_no"]
                payload["lines"] = [{"sku": line["sku"], "qty": line["qty"]} for line in last["lines"]]
                payload["carrier"] = last["carrier"]
                payload["tracking"] = last["tracking"] or order["tracking"]
            # The order's own trace: its shipment notice is part of its story, and the order page finds
            # the channel's fulfilment delivery by it (the request that shipped may carry none).
            events.append(NewEvent(ORDER_SHIPPED, payload, order["channel"], trace_id=order["trace_id"]))
        self.outbox.emit(uow, events)

    def orders_cancelled(self, uow: UnitOfWork, order_ids: Sequence[str]) -> None:
        """``OrderCancelled`` per order of a channel cancelled whole here, on the order's own trace."""
        events = []
        for order_id in order_ids:
            order = orders_repo.get_order(uow.conn, order_id)
            if order is None or not order["channel"]:
                continue
            payload = {"order_id": order_id, "channel": order["channel"], "external_id": order["external_id"]}
            events.append(NewEvent(ORDER_CANCELLED, payload, order["channel"], trace_id=order["trace_id"]))
        self.outbox.emit(uow, events)

    def order_lines_cancelled(self, uow: UnitOfWork, cancelled: Sequence[OrderLinesCancelled]) -> None:
        """``OrderLinesCancelled`` per cancellation, to the order's channel, with the lines and units (our line
        numbers and SKUs), on the order's own trace."""
        events = []
        for fact in cancelled:
            order = orders_repo.get_order(uow.conn, fact.order_id)
            if order is None:
                continue
            skus = {line.line_no: line.sku for line in order["lines"]}
            payload: dict[str, Any] = {
                "order_id": fact.order_id,
                "channel": order["channel"],
                "external_id": order["external_id"],
                "cancellation": fact.cancellation,
                "lines": [{"line_no": no, "sku": skus.get(no), "qty": qty} for no, qty in fact.lines],
                "reason": fact.reason,
                "status": order["status"],
            }
            events.append(NewEvent(ORDER_LINES_CANCELLED, payload, order["channel"], trace_id=order["trace_id"]))
        self.outbox.emit(uow, events)

    def returns_booked(self, uow: UnitOfWork, return_ids: Sequence[str]) -> None:
        """``ReturnBooked`` per return, to its order's channel, on the order's trace: a marketplace refunds it."""
        events = []
        for return_id in return_ids:
            ret = orders_repo.get_return(uow.conn, return_id)
            order = None if ret is None else orders_repo.get_order(uow.conn, ret["order_id"])
            if ret is None or order is None:
                continue
            payload = {
                "return_id": return_id,
                "order_id": order["id"],
                "channel": order["channel"],
                "external_id": order["external_id"],
                "lines": [
                    {"order_line_no": li["order_line_no"], "sku": li["sku"], "qty": li["qty"]} for li in ret["lines"]
                ],
            }
            events.append(NewEvent(RETURN_BOOKED, payload, order["channel"], trace_id=order["trace_id"]))
        self.outbox.emit(uow, events)

    def documents_posted(self, uow: UnitOfWork, documents: Sequence[dict[str, Any]]) -> None:
        self.outbox.emit(uow, [NewEvent(FINANCE_DOCUMENT_POSTED, {"document": doc}) for doc in documents])

    def till_catalog_changed(self, uow: UnitOfWork, changes: Sequence[TillCatalogChanged]) -> None:
        self.outbox.emit(uow, [NewEvent(STORE_CATALOG_CHANGED, change.as_payload()) for change in changes])


__all__ = ["OutboxAnnouncements"]
