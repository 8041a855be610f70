"""Orders of the Mirakl sandbox shop, as the Seller API's order and shipment endpoints answer:

- **OR11** ``GET /api/orders``: offset pagination (``offset``, ``max`` 1..100, default 10; ``total_count``),
  filtered by ``order_ids``, ``order_state_codes`` and ``start_update_date`` (inclusive), oldest first.
- **OR21** ``PUT /api/orders/{id}/accept``: ``{order_lines: [{id, accepted}]}`` for an order in
  ``WAITING_ACCEPTANCE``; every line must be named. Accepted lines wait for the customer's debit
  (``WAITING_DEBIT_PAYMENT``; ``SHIPPING`` at once with ``auto_debit``), refused lines are ``REFUSED``, and an
  order with every line refused is ``REFUSED``. An order not answered within ``acceptance_window_seconds`` of
  its creation is refused by the platform.
- **OR23** ``PUT /api/orders/{id}/tracking``: carrier (``carrier_code`` for a registered carrier, else
  ``carrier_name``) and ``tracking_number``, in ``SHIPPING`` (or ``SHIPPED``, to correct it).
- **OR24** ``PUT /api/orders/{id}/ship``: ``SHIPPING`` → ``SHIPPED``, every accepted unit.
- **ST01** ``POST /api/shipments``: partial shipments, each ``{order_id, shipment_lines: [{order_line_id,
  quantity}], tracking: {...}, shipped}``, answered 201 with ``shipment_success`` and ``shipment_errors`` (one
  bad shipment does not fail the others). A line is ``SHIPPED`` once all its units have shipped; the order
  once all its lines have. **ST11** ``GET /api/shipments?order_id=`` lists them (``data``,
  ``next_page_token``).
- **OR28** ``PUT /api/orders/refund``: ``{refunds: [{order_line_id, quantity, amount, reason_code,
  currency_iso_code}]}``, only for shipped units not refunded yet; the refunds show on the line in OR11.
- **OR29** ``PUT /api/orders/{id}/cancel``: the whole order, while nothing of it has shipped.

Errors are Mirakl's ``{"status": <code>, "message": "..."}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

Answer = tuple[int, Any]

ORDER_STATES = (
    "STAGING",
    "WAITING_ACCEPTANCE",
    "WAITING_DEBIT",
    "WAITING_DEBIT_PAYMENT",
    "SHIPPING",
    "SHIPPED",
    "TO_COLLECT",
    "RECEIVED",
    "CLOSED",
    "REFUSED",
    "CANCELED",
)
MAX_PAGE = 100


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _error(status: int, message: str) -> Answer:
    return status, {"status": status, "message": message}


@dataclass
class Refund:
    id: str
    quantity: int
    amount: Decimal
    reason_code: str
    created_date: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "quantity": self.quantity,
            "amount": float(self.amount),
            "reason_code": self.reason_code,
            "created_date": _iso(self.created_date),
            "state": "WAITING_REFUND_PAYMENT",
        }


@dataclass
class OrderLine:
    id: str
    index: int
    offer_sku: str
    quantity: int
    price_unit: Decimal
    title: str
    state: str = "WAITING_ACCEPTANCE"
    shipped: int = 0
    refunds: list[Refund] = field(default_factory=list)

    @property
    def refunded(self) -> int:
        return sum(r.quantity for r in self.refunds)

    def as_json(self, currency: str) -> dict[str, Any]:
        return {
            "order_line_id": self.id,
            "order_line_index": self.index,
            "order_line_state": self.state,
            "offer_sku": self.offer_sku,
            "product_title": self.title,
            "quantity": self.quantity,
            "price_unit": float(self.price_unit),
            "price": float(self.price_unit * self.quantity),
            "currency_iso_code": currency,
            "refunds": [r.as_json() for r in self.refunds],
            "cancelations": [],
        }


@dataclass
class Shipment:
    id: str
    order_id: str
    lines: list[tuple[str, str, int]]  # order line id, offer sku, quantity
    tracking: dict[str, Any]
    state: str
    created_date: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "order_id": self.order_id,
            "shipment_state": self.state,
            "shipment_lines": [
                {"order_line_id": line_id, "offer_sku": sku, "quantity": qty} for line_id, sku, qty in self.lines
            ],
            "tracking": dict(self.tracking),
            "created_date": _iso(self.created_date),
            "last_updated_date": _iso(self.created_date),
        }


@dataclass
class Order:
    id: str
    commercial_id: str
    currency: str
    lines: list[OrderLine]
    created: datetime
    updated: datetime
    customer: dict[str, Any]
    state: str = "WAITING_ACCEPTANCE"
    reason: str | None = None
    acceptance_decision_date: datetime | None = None
    tracking: dict[str, Any] = field(default_factory=dict)

    def line(self, line_id: str) -> OrderLine | None:
        return next((line for line in self.lines if line.id == line_id), None)

    def as_json(self) -> dict[str, Any]:
        live = [line for line in self.lines if line.state not in ("REFUSED", "CANCELED")]
        return {
            "order_id": self.id,
            "commercial_id": self.commercial_id,
            "order_state": self.state,
            "order_state_reason_code": self.reason,
            "created_date": _iso(self.created),
            "last_updated_date": _iso(self.updated),
            "acceptance_decision_date": None
            if self.acceptance_decision_date is None
            else _iso(self.acceptance_decision_date),
            "currency_iso_code": self.currency,
            "customer": dict(self.customer),
            "order_lines": [line.as_json(self.currency) for line in self.lines],
            "total_price": float(sum((line.price_unit * line.quantity for line in live), Decimal(0))),
            "can_cancel": self.state == "SHIPPING" and not any(line.shipped for line in self.lines),
            "shipping_carrier_code": self.tracking.get("carrier_code"),
            "shipping_company": self.tracking.get("carrier_name"),
            "shipping_tracking": self.tracking.get("tracking_number"),
            "shipping_tracking_url": self.tracking.get("carrier_url"),
            "has_incident": False,
        }


class OrderBook:
    """The shop's orders, shipments and refunds. Not thread-safe by itself: the sandbox holds its lock."""

    def __init__(self, *, acceptance_window: timedelta, auto_debit: bool) -> None:
        self.acceptance_window = acceptance_window
        self.auto_debit = auto_debit
        self.orders: dict[str, Order] = {}
        self.shipments: list[Shipment] = []
        self._refund_seq = 0

    # -- knobs ------------------------------------------------------------------------------------------
    def add(
        self,
        order_id: str,
        lines: list[tuple[str, int, Decimal]],
        *,
        now: datetime,
        currency: str = "EUR",
        customer: Mapping[str, Any] | None = None,
    ) -> Order:
        order = Order(
            order_id,
            order_id.rsplit("-", 1)[0],
            currency,
            [
                OrderLine(f"{order_id}-{n}", n, sku, qty, Decimal(str(price)), f"{sku} (marketplace title)")
                for n, (sku, qty, price) in enumerate(lines, start=1)
            ],
            now,
            now,
            dict(customer or {"customer_id": f"C-{order_id}", "firstname": "Ada", "lastname": "Lovelace"}),
        )
        self.orders[order_id] = order
        return order

    def debit(self, order_id: str, *, now: datetime, ok: bool = True) -> None:
        order = self.orders[order_id]
        if order.state != "WAITING_DEBIT_PAYMENT":
            raise ValueError(f"{order_id} is {order.state}, not waiting for its debit")
        order.state = "SHIPPING" if ok else "CANCELED"
        for line in order.lines:
            if line.state == "WAITING_DEBIT_PAYMENT":
                line.state = "SHIPPING" if ok else "CANCELED"
        order.updated = now

    def expire(self, now: datetime) -> None:
        """The platform refuses what was not answered within the acceptance window."""
        for order in self.orders.values():
            if order.state == "WAITING_ACCEPTANCE" and now >= order.created + self.acceptance_window:
                order.state, order.reason, order.updated = "REFUSED", "ACCEPTANCE_TIMEOUT", now
                for line in order.lines:
                    line.state = "REFUSED"

    # -- OR11 -------------------------------------------------------------------------------------------
    def list(self, params: Mapping[str, str], now: datetime) -> Answer:
        self.expire(now)
        try:
            offset = int(params.get("offset", "0"))
            size = int(params.get("max", "10"))
        except ValueError:
            return _error(400, "offset and max must be integers")
        if offset < 0 or not 1 <= size <= MAX_PAGE:
            return _error(400, f"max must be between 1 and {MAX_PAGE}, offset 0 or more")
        found = sorted(self.orders.values(), key=lambda o: (o.created, o.id))
        if params.get("order_ids"):
            wanted = set(params["order_ids"].split(","))
            found = [o for o in found if o.id in wanted]
        if params.get("order_state_codes"):
            states = set(params["order_state_codes"].split(","))
            unknown = states - set(ORDER_STATES)
            if unknown:
                return _error(400, f"Unknown order state code(s): {', '.join(sorted(unknown))}")
            found = [o for o in found if o.state in states]
        if params.get("start_update_date"):
            try:
                since = datetime.fromisoformat(params["start_update_date"].replace("Z", "+00:00"))
            except ValueError:
                return _error(400, "start_update_date is not an ISO 8601 date")
            found = [o for o in found if o.updated >= since]
        page = found[offset : offset + size]
        return 200, {"orders": [o.as_json() for o in page], "total_count": len(found)}

    # -- OR21 -------------------------------------------------------------------------------------------
    def accept(self, order_id: str, body: Any, now: datetime) -> Answer:
        self.expire(now)
        order = self.orders.get(order_id)
        if order is None:
            return _error(404, f"Order {order_id} not found")
        if order.state != "WAITING_ACCEPTANCE":
            return _error(400, f"Order {order_id} is in state {order.state}, not WAITING_ACCEPTANCE")
        answers = body.get("order_lines") if isinstance(body, Mapping) else None
        if not isinstance(answers, list) or not answers:
            return _error(400, "order_lines is required")
        decided: dict[str, bool] = {}
        for item in answers:
            if not isinstance(item, Mapping) or not isinstance(item.get("accepted"), bool) or not item.get("id"):
                return _error(400, "Each order line needs an id and accepted (true or false)")
            if order.line(str(item["id"])) is None:
                return _error(400, f"Order line {item['id']} does not belong to order {order_id}")
            decided[str(item["id"])] = bool(item["accepted"])
        missing = [line.id for line in order.lines if line.id not in decided]
        if missing:
            return _error(400, f"Every order line must be accepted or refused; missing: {', '.join(missing)}")
        waiting = "SHIPPING" if self.auto_debit else "WAITING_DEBIT_PAYMENT"
        for line in order.lines:
            line.state = waiting if decided[line.id] else "REFUSED"
        order.state = waiting if any(decided.values()) else "REFUSED"
        order.acceptance_decision_date = now
        order.updated = now
        return 204, None

    # -- OR23 / OR24 ------------------------------------------------------------------------------------
    def tracking(self, order_id: str, body: Any, now: datetime) -> Answer:
        order = self.orders.get(order_id)
        if order is None:
            return _error(404, f"Order {order_id} not found")
        if order.state not in ("SHIPPING", "SHIPPED"):
            return _error(400, f"Order {order_id} is in state {order.state}: tracking needs SHIPPING or SHIPPED")
        if not isinstance(body, Mapping) or not (body.get("carrier_code") or body.get("carrier_name")):
            return _error(400, "carrier_code (a registered carrier) or carrier_name is required")
        keys = ("carrier_code", "carrier_name", "carrier_standard_code", "carrier_url", "tracking_number")
        order.tracking = {k: body.get(k) for k in keys if body.get(k) is not None}
        order.updated = now
        return 204, None

    def ship(self, order_id: str, now: datetime) -> Answer:
        order = self.orders.get(order_id)
        if order is None:
            return _error(404, f"Order {order_id} not found")
        if order.state != "SHIPPING":
            return _error(400, f"Order {order_id} is in state {order.state}, not SHIPPING")
        for line in order.lines:
            if line.state == "SHIPPING":
                line.shipped, line.state = line.quantity, "SHIPPED"
        order.state, order.updated = "SHIPPED", now
        return 204, None

    # -- ST01 / ST11 ------------------------------------------------------------------------------------
    def create_shipments(self, body: Any, now: datetime) -> Answer:
        items = body.get("shipments") if isinstance(body, Mapping) else None
        if not isinstance(items, list) or not 1 <= len(items) <= 1000:
            return _error(400, "shipments: 1 to 1000 shipments are required")
        success: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for item in items:
            problem = self._shipment_problem(item)
            if problem is not None:
                errors.append({"order_id": item.get("order_id") if isinstance(item, Mapping) else None, **problem})
                continue
            order = self.orders[str(item["order_id"])]
            lines = []
            for part in item["shipment_lines"]:
                line = order.line(str(part["order_line_id"]))
                assert line is not None
                lines.append((line.id, line.offer_sku, int(part["quantity"])))
            shipped = bool(item.get("shipped", True))
            shipment = Shipment(
                f"SH-{len(self.shipments) + 1}",
                order.id,
                lines,
                dict(item.get("tracking") or {}),
                "SHIPPED" if shipped else "SHIPPING",
                now,
            )
            self.shipments.append(shipment)
            if shipped:
                self._apply_shipment(order, shipment, now)
            success.append(shipment.as_json())
        return 201, {"shipment_success": success, "shipment_errors": errors}

    def _shipment_problem(self, item: Any) -> dict[str, str] | None:
        if not isinstance(item, Mapping) or not item.get("order_id"):
            return {"message": "order_id is required"}
        order = self.orders.get(str(item["order_id"]))
        if order is None:
            return {"message": f"Order {item['order_id']} not found"}
        if order.state != "SHIPPING":
            return {"message": f"Order {order.id} is in state {order.state}, not SHIPPING"}
        parts = item.get("shipment_lines")
        if not isinstance(parts, list) or not parts:
            return {"message": "shipment_lines is required"}
        pending: dict[str, int] = {}
        for part in parts:
            if not isinstance(part, Mapping) or not part.get("order_line_id"):
                return {"message": "Each shipment line needs an order_line_id"}
            line = order.line(str(part["order_line_id"]))
            if line is None:
                return {"message": f"Order line {part['order_line_id']} does not belong to order {order.id}"}
            qty = part.get("quantity")
            if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
                return {"message": f"Order line {line.id}: quantity must be a positive integer"}
            if line.state != "SHIPPING":
                return {"message": f"Order line {line.id} is in state {line.state}, not SHIPPING"}
            pending[line.id] = pending.get(line.id, 0) + qty
            if line.shipped + self._unsent(line.id) + pending[line.id] > line.quantity:
                return {"message": f"Order line {line.id}: more units shipped than ordered ({line.quantity})"}
        tracking = item.get("tracking")
        if tracking is not None and not isinstance(tracking, Mapping):
            return {"message": "tracking must be an object"}
        return None

    def _unsent(self, line_id: str) -> int:
        return sum(q for s in self.shipments if s.state == "SHIPPING" for lid, _, q in s.lines if lid == line_id)

    def _apply_shipment(self, order: Order, shipment: Shipment, now: datetime) -> None:
        for line_id, _, qty in shipment.lines:
            line = order.line(line_id)
            assert line is not None
            line.shipped += qty
            if line.shipped >= line.quantity:
                line.state = "SHIPPED"
        if shipment.tracking:
            order.tracking = {k: v for k, v in shipment.tracking.items() if v is not None}
        if all(line.state in ("SHIPPED", "REFUSED", "CANCELED") for line in order.lines):
            order.state = "SHIPPED"
        order.updated = now

    def list_shipments(self, params: Mapping[str, str]) -> Answer:
        found = list(self.shipments)
        if params.get("order_id"):
            wanted = set(params["order_id"].split(","))
            found = [s for s in found if s.order_id in wanted]
        return 200, {"data": [s.as_json() for s in found], "next_page_token": None}

    # -- OR28 / OR29 ------------------------------------------------------------------------------------
    def refund(self, body: Any, now: datetime) -> Answer:
        items = body.get("refunds") if isinstance(body, Mapping) else None
        if not isinstance(items, list) or not items:
            return _error(400, "refunds is required")
        planned: list[tuple[Order, OrderLine, int, Decimal, str]] = []
        for item in items:
            if not isinstance(item, Mapping) or not item.get("order_line_id"):
                return _error(400, "Each refund needs an order_line_id")
            line_id = str(item["order_line_id"])
            order = next((o for o in self.orders.values() if o.line(line_id) is not None), None)
            line = None if order is None else order.line(line_id)
            if order is None or line is None:
                return _error(400, f"Order line {line_id} not found")
            qty = item.get("quantity")
            if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
                return _error(400, f"Order line {line.id}: quantity must be a positive integer")
            if qty > line.shipped - line.refunded:
                left = line.shipped - line.refunded
                return _error(400, f"Order line {line.id}: {qty} to refund but {left} shipped and not refunded")
            try:
                amount = Decimal(str(item.get("amount")))
            except InvalidOperation:
                return _error(400, f"Order line {line.id}: amount is not a number")
            if amount < 0 or amount > line.price_unit * qty:
                return _error(400, f"Order line {line.id}: amount must be between 0 and the units' price")
            if not item.get("reason_code"):
                return _error(400, "reason_code is required")
            planned.append((order, line, qty, amount, str(item["reason_code"])))
        out = []
        for order, line, qty, amount, reason in planned:
            self._refund_seq += 1
            refund = Refund(f"RF-{self._refund_seq}", qty, amount, reason, now)
            line.refunds.append(refund)
            order.updated = now
            out.append({"order_line_id": line.id, "refund_id": refund.id, "quantity": qty, "amount": float(amount)})
        return 200, {"refunds": out}

    def cancel(self, order_id: str, now: datetime) -> Answer:
        order = self.orders.get(order_id)
        if order is None:
            return _error(404, f"Order {order_id} not found")
        if order.state != "SHIPPING" or any(line.shipped for line in order.lines):
            return _error(400, f"Order {order_id} cannot be cancelled in state {order.state}")
        order.state, order.updated = "CANCELED", now
        for line in order.lines:
            if line.state == "SHIPPING":
                line.state = "CANCELED"
        return 204, None
