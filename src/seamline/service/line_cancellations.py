"""Cancelling units of an order's lines while the rest of it goes on (issue 21): a line Seamline cannot serve
after the channel's order was accepted, or one a person cancels. One transaction: the lines
(``orders.line_cancel``), the allocations given back to ``available``, and ``OrderLinesCancelled`` raised,
which the handler table announces to the order's channel (a marketplace cancels the units on its side: Mirakl
OR30). Kept apart from ``service.orders`` (the order desk) on purpose: it only adds a step.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from seamline.orders.events import OrderLinesCancelled
from seamline.orders.line_cancel import cancel_units
from seamline.orders.model import OrderStatus
from seamline.service.app import Seamline
from seamline.service.orders import OrderDesk, OrderView, unknown_order
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import catalog_repo, ledger_repo, orders_repo


class LineCancellations:
    def __init__(self, app: Seamline) -> None:
        self.app = app
        self.desk = OrderDesk(app)

    def cancel_lines(
        self, uow: UnitOfWork, order_id: str, wanted: Mapping[int, int], *, reason: str | None = None
    ) -> OrderView:
        """Cancel ``wanted`` (line number -> units not picked) of the order; answers the order's view with
        ``cancellation``, the id the channel is told this cancellation by."""
        conn = uow.conn
        order = orders_repo.get_order(conn, order_id, for_update=True)
        if order is None:
            raise unknown_order(order_id, in_body=False)
        plan = cancel_units(order["lines"], OrderStatus(order["status"]), wanted)
        by_no = {line.line_no: line for line in order["lines"]}
        packs = catalog_repo.prepack_map(conn, sorted({by_no[no].sku for no in plan.release}))
        for line_no, units in sorted(plan.release.items()):
            sku = by_no[line_no].sku
            for component, per_pack in packs.get(sku, [(sku, 1)]):
                ledger_repo.release_allocated(uow, order_id, component, units * per_pack)
        orders_repo.save_lines(conn, order_id, plan.lines)
        orders_repo.update_order(conn, order_id, status=plan.status.value, updated_at=self.app.clock.now())
        cancellation = "lc_" + uuid.uuid4().hex[:16]
        lines = tuple(sorted((no, qty) for no, qty in wanted.items()))
        uow.raise_event(OrderLinesCancelled(order_id, cancellation, lines, reason))
        view = self.desk.order_view(conn, order_id)
        view["cancellation"] = {"id": cancellation, "lines": [{"line_no": n, "qty": q} for n, q in lines]}
        return view
