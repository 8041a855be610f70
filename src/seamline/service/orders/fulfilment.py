"""An order's steps after placing: pick, pack, ship, cancel and close (the state machine is
``orders.state``); each step writes its stock movements and the order's new line states together."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from seamline.domain.errors import Conflict
from seamline.ledger.model import MovementKind, PlannedMovement
from seamline.orders.allocation import draw_allocations, plan_pick
from seamline.orders.events import OrderCancelled, OrderShipped
from seamline.orders.model import LineState, OrderKind, OrderStatus
from seamline.orders.state import Step, cancel_all, derive_status, illegal, pack_all, require_step, ship_all
from seamline.orders.wholesale import require_in_window
from seamline.service import metrics
from seamline.service.orders.common import OrderPart, components_of, locked_order
from seamline.service.orders.views import OrderView, read_order_view
from seamline.service.unit_of_work import UnitOfWork


class Fulfilment(OrderPart):
    def save_step(
        self, uow: UnitOfWork, order: Mapping[str, Any], lines: Sequence[LineState], status: OrderStatus, **extra: Any
    ) -> OrderView:
        conn = uow.conn
        uow.orders.save_lines(conn, order["id"], lines)
        uow.orders.update_order(conn, order["id"], status=status.value, updated_at=self._now(), **extra)
        return read_order_view(conn, order["id"], uow.repositories)

    def pick(
        self,
        uow: UnitOfWork,
        order_id: str,
        requested: Sequence[tuple[str, int]] | None = None,
        *,
        trace_id: str | None = None,
    ) -> OrderView:
        """Pick allocated units (all, or the given SKUs and quantities): each leaves its location with a
        ``pick`` movement to the customer and its allocation ends. Picking more than allocated is refused."""
        conn = uow.conn
        order = locked_order(uow, order_id)
        status = OrderStatus(order["status"])
        require_step(Step.PICK, status)
        lines: list[LineState] = order["lines"]
        picks = plan_pick(lines, requested)
        if not picks:
            raise illegal(Step.PICK, status, "nothing is allocated")
        components = components_of(uow, sorted({line.sku for line in lines}))
        needs: dict[str, int] = defaultdict(int)
        for line in lines:
            for sku, units in components[line.sku]:
                needs[sku] += picks.get(line.line_no, 0) * units
        open_allocations = uow.ledger.open_allocations(conn, order_id)
        where = {alloc_id: (sku, loc) for alloc_id, sku, loc, _ in open_allocations}
        now = self._now()
        for alloc_id, qty in sorted(draw_allocations(open_allocations, needs), key=lambda d: (where[d[0]], d[0])):
            sku, location = where[alloc_id]
            move = PlannedMovement(
                kind=MovementKind.PICK,
                sku=sku,
                qty=qty,
                from_location=location,
                to_location="customer",
                reason=None,
                document=order_id,
                channel=order["channel"],
                checked=False,
            )
            if uow.ledger.pick_allocation(uow, alloc_id, qty, move, now=now, trace_id=trace_id) is None:
                raise Conflict(
                    f"{sku} is not on hand at {location} to pick: see GET /v1/exceptions",
                    code="allocation-oversold",
                )
            metrics.MOVEMENTS.labels("pick").inc()
            metrics.MOVEMENT_UNITS.labels("pick").inc(qty)
        new_lines = [
            replace(
                line,
                allocated=line.allocated - picks.get(line.line_no, 0),
                picked=line.picked + picks.get(line.line_no, 0),
            )
            for line in lines
        ]
        metrics.ORDER_STEPS.labels("pick").inc()
        return self.save_step(uow, order, new_lines, derive_status(new_lines))

    def pack(self, uow: UnitOfWork, order_id: str) -> OrderView:
        order = locked_order(uow, order_id)
        new_lines = pack_all(order["lines"], OrderStatus(order["status"]))
        metrics.ORDER_STEPS.labels("pack").inc()
        return self.save_step(uow, order, new_lines, derive_status(new_lines))

    def ship(
        self, uow: UnitOfWork, order_id: str, tracking: str | None = None, *, carrier: str | None = None
    ) -> OrderView:
        """Ship every packed unit as one shipment (its lines, carrier and tracking are kept in
        ``order_shipments``, so a channel confirms each parcel). A wholesale order ships only inside its ship
        window."""
        conn = uow.conn
        order = locked_order(uow, order_id)
        new_lines = ship_all(order["lines"], OrderStatus(order["status"]))
        if order["kind"] == OrderKind.WHOLESALE.value:
            require_in_window(order["ship_start"], order["cancel_date"], self._now().date())
        extra = {"tracking": tracking} if tracking else {}
        before = {line.line_no: line.shipped for line in order["lines"]}
        parcel = [
            {"line_no": line.line_no, "sku": line.sku, "qty": line.shipped - before.get(line.line_no, 0)}
            for line in new_lines
            if line.shipped > before.get(line.line_no, 0)
        ]
        uow.channel_orders.record_shipment(conn, order_id, parcel, carrier=carrier, tracking=tracking, now=self._now())
        metrics.ORDER_STEPS.labels("ship").inc()
        uow.raise_event(OrderShipped(order_id))
        return self.save_step(uow, order, new_lines, derive_status(new_lines), **extra)

    def cancel(self, uow: UnitOfWork, order_id: str) -> OrderView:
        """Cancel what is not picked: open allocations go back to ``available``, backorders are dropped.
        Units already picked stay sold (``awaiting_return`` lists them): bringing them back is a return."""
        order = locked_order(uow, order_id)
        new_lines = cancel_all(order["lines"], OrderStatus(order["status"]))
        uow.ledger.cancel_allocations(uow, order_id)
        metrics.ORDER_STEPS.labels("cancel").inc()
        uow.raise_event(OrderCancelled(order_id))
        return self.save_step(uow, order, new_lines, OrderStatus.CANCELLED)

    def close(self, uow: UnitOfWork, order_id: str) -> OrderView:
        order = locked_order(uow, order_id)
        require_step(Step.CLOSE, OrderStatus(order["status"]))
        metrics.ORDER_STEPS.labels("close").inc()
        return self.save_step(uow, order, order["lines"], OrderStatus.CLOSED)
