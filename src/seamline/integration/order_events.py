"""Shipments to the outbox: a before-commit hook that announces each order whose units shipped in the
transaction as ``OrderShipped`` (with its channel, external id and tracking), in that same transaction, so
the channel the order came from (Shopify) creates its fulfilment.

``OrderDesk.ship`` notes the shipment for finance (``finance.note_shipment``); this hook reads that note
without taking it (finance takes it after), so it is put first in the hook list."""

from __future__ import annotations

from sqlalchemy import Connection

from seamline.integration.events import ORDER_SHIPPED, NewEvent
from seamline.integration.outbox import Outbox
from seamline.service import finance
from seamline.store import orders_repo


class OrderEvents:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def __call__(self, conn: Connection) -> None:
        pending = conn.info.get(finance.PENDING)
        if not pending:
            return
        shipped = sorted({key for kind, key in pending if kind == "shipment"})
        events = []
        for order_id in shipped:
            order = orders_repo.get_order(conn, order_id)
            if order is None:
                continue
            payload = {
                "order_id": order_id,
                "channel": order["channel"],
                "external_id": order["external_id"],
                "tracking": order["tracking"],
                "status": order["status"],
            }
            # The order's own trace: its shipment notice is part of its story, and the order page finds
            # the channel's fulfilment delivery by it (the request that shipped may carry none).
            events.append(NewEvent(ORDER_SHIPPED, payload, order["channel"], trace_id=order["trace_id"]))
        self.outbox.emit(conn, events)
