"""The allocation run: backordered units (wholesale pre-books first, by ship date) allocated as stock arrives."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from seamline.domain.clock import iso_utc
from seamline.orders.allocation import DemandLine
from seamline.orders.model import LineState, OrderStatus
from seamline.orders.state import ALLOWED_FROM, Step, derive_status
from seamline.orders.wholesale import allocation_priority, past_cancel
from seamline.service.orders.common import OrderPart, components_of, locked_order
from seamline.service.orders.fulfilment import Fulfilment
from seamline.service.orders.placing import OrderPlacing
from seamline.service.unit_of_work import UnitOfWork


class AllocationRun(OrderPart):
    def run_allocation(self, uow: UnitOfWork, *, limit: int = 500) -> dict[str, Any]:
        """Allocate backordered units as stock has arrived: wholesale pre-books by ship date, then every
        other backorder by the day it was placed. Orders past their cancel date are skipped."""
        conn = uow.conn
        now = self._now()
        today = now.date()
        candidates = uow.orders.backorder_candidates(conn, ALLOWED_FROM[Step.ALLOCATE], limit)
        candidates.sort(key=lambda c: allocation_priority(c["ship_start"], c["placed_at"], c["seq"]))
        allocated: list[dict[str, Any]] = []
        skipped: list[str] = []
        sourcing: dict[str, tuple[list[str], bool]] = {}
        for candidate in candidates:
            if past_cancel(candidate["cancel_date"], today):
                skipped.append(candidate["id"])
                continue
            order = locked_order(uow, candidate["id"])
            status = OrderStatus(order["status"])
            if status not in ALLOWED_FROM[Step.ALLOCATE]:
                continue
            code = order["channel"]
            if code not in sourcing:
                sourcing[code] = uow.channels.sourcing(conn, code) or ([], False)
            sources, allow_split = sourcing[code]
            lines: list[LineState] = order["lines"]
            components = components_of(uow, sorted({line.sku for line in lines}))
            demand = [
                DemandLine(line.line_no, line.sku, line.backordered, components[line.sku])
                for line in lines
                if line.backordered > 0
            ]
            units = OrderPlacing(self.app).allocate(uow, order["id"], code, sources, allow_split, demand, reject=False)
            if not any(units.values()):
                continue
            new_lines = [replace(line, allocated=line.allocated + units.get(line.line_no, 0)) for line in lines]
            new_status = derive_status(new_lines)
            Fulfilment(self.app).save_step(uow, order, new_lines, new_status)
            allocated.append({"order_id": order["id"], "units": sum(units.values()), "status": new_status.value})
        return {
            "orders": allocated,
            "allocated_units": sum(item["units"] for item in allocated),
            "skipped_past_cancel_date": skipped,
            "ran_at": iso_utc(now),
        }
