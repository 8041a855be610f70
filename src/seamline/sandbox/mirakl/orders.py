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
- **OR28** ``PUT /api/orders/refund``: ``{refunds: [{order_line_id, quantity, amount, shipping_amount,
  taxes, shipping_taxes, reason_code, currency_iso_code}], order_tax_mode}`` for shipped units not refunded
  yet; **OR30** ``PUT /api/orders/cancel``: ``{cancelations: [...]}`` the same fields, for units not shipped
  and not cancelled. Both: the amount, shipping amount and each tax within what the line still holds (its
  price after promotions less what refunds and cancellations took), taxes required when the line carries
  them, a reason code of the operator's list of the right type (``REFUND``, ``CANCELATION``; **RE01** ``GET
  /api/reasons``). They show on the line (``refunds[]``, ``cancelations[]``); a line whose units all shipped
  or were cancelled is ``SHIPPED`` (``CANCELED`` when none shipped), and the order follows its lines.
- **OR29** ``PUT /api/orders/{id}/cancel``: the whole order, while nothing of it has shipped.
- **Money** (OR11): each line's ``price_unit``, ``price`` (after its ``promotions``), ``shipping_price``,
  ``taxes[]`` and ``shipping_taxes[]`` (``code``, ``rate`` in percent, ``amount``) and ``total_price``; the
  order's ``price``, ``shipping_price`` and ``total_price`` (refused lines left out), in the
  ``order_tax_mode`` asked for (the order's own by default): ``TAX_INCLUDED`` prices include the taxes
  listed, ``TAX_EXCLUDED`` ones do not.

Errors are Mirakl's ``{"status": <code>, "message": "..."}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
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


CENT = Decimal("0.01")
TAX_MODES = ("TAX_INCLUDED", "TAX_EXCLUDED")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _f(value: Decimal) -> float:
    return float(_cents(value))


@dataclass(frozen=True)
class Reason:
    """A reason of the operator's list (RE01): its code, type (``REFUND``, ``CANCELATION``, ...), label and
    whether a shop may use it."""

    code: str
    type: str
    label: str
    is_shop_right: bool = True

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "type": self.type, "label": self.label, "is_shop_right": self.is_shop_right}


#: An operator's reasons, shaped like the RE01 answers integrators publish (numeric codes per type).
DEFAULT_REASONS = (
    Reason("14", "REFUND", "No response from the shop", False),
    Reason("15", "REFUND", "Out of stock"),
    Reason("16", "REFUND", "Cancelled by the client prior to shipping"),
    Reason("17", "REFUND", "Item returned"),
    Reason("18", "REFUND", "Item not received"),
    Reason("34", "CANCELATION", "Cancelled by the client prior to shipping"),
    Reason("35", "CANCELATION", "Out of stock product"),
)


@dataclass
class Adjustment:
    """A refund (OR28) or a cancellation (OR30) on a line: amounts in the order's own tax mode."""

    id: str
    quantity: int
    amount: Decimal
    shipping_amount: Decimal
    taxes: dict[str, Decimal]
    shipping_taxes: dict[str, Decimal]
    reason_code: str
    created_date: datetime

    def as_json(self, order: Order, mode: str, *, refund: bool) -> dict[str, Any]:
        amount = order.convert(self.amount, sum(self.taxes.values(), Decimal(0)), mode)
        shipping = order.convert(self.shipping_amount, sum(self.shipping_taxes.values(), Decimal(0)), mode)
        out: dict[str, Any] = {
            "id": self.id,
            "quantity": self.quantity,
            "amount": _f(amount),
            "shipping_amount": _f(shipping),
            "taxes": [{"code": c, "amount": _f(a)} for c, a in sorted(self.taxes.items())],
            "shipping_taxes": [{"code": c, "amount": _f(a)} for c, a in sorted(self.shipping_taxes.items())],
            "reason_code": self.reason_code,
            "created_date": _iso(self.created_date),
        }
        if refund:
            out["state"] = "WAITING_REFUND_PAYMENT"
        return out


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
    #: Shipping charged for the line, a promotion's deduced amount, and the tax rates (None: no tax); amounts
    #: in the order's own tax mode.
    shipping_price: Decimal = Decimal(0)
    promotion: Decimal = Decimal(0)
    tax_rate: Decimal | None = None
    shipping_tax_rate: Decimal | None = None
    refunds: list[Adjustment] = field(default_factory=list)
    cancelations: list[Adjustment] = field(default_factory=list)

    @property
    def refunded(self) -> int:
        return sum(r.quantity for r in self.refunds)

    @property
    def cancelled(self) -> int:
        return sum(c.quantity for c in self.cancelations)

    @property
    def price(self) -> Decimal:
        """The line's price without shipping, after its promotion."""
        return self.price_unit * self.quantity - self.promotion

    def tax(self, included: bool) -> Decimal:
        return _tax(self.price, self.tax_rate, included)

    def shipping_tax(self, included: bool) -> Decimal:
        return _tax(self.shipping_price, self.shipping_tax_rate, included)

    def taken(self, attr: str) -> Decimal:
        """What refunds and cancellations already took of ``amount`` or ``shipping_amount``."""
        return sum((getattr(a, attr) for a in [*self.refunds, *self.cancelations]), Decimal(0))

    def taxes_taken(self, attr: str) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for adj in [*self.refunds, *self.cancelations]:
            for code, amount in getattr(adj, attr).items():
                out[code] = out.get(code, Decimal(0)) + amount
        return out

    def as_json(self, order: Order, mode: str) -> dict[str, Any]:
        inc = order.tax_mode == "TAX_INCLUDED"
        tax, ship_tax = self.tax(inc), self.shipping_tax(inc)
        price = order.convert(self.price, tax, mode)
        shipping = order.convert(self.shipping_price, ship_tax, mode)
        unit = (
            self.price_unit if mode == order.tax_mode else _cents(order.convert(self.price, tax, mode) / self.quantity)
        )
        taxes = (
            []
            if self.tax_rate is None
            else [{"code": _code(self.tax_rate), "rate": float(self.tax_rate * 100), "amount": _f(tax)}]
        )
        ship_taxes = (
            []
            if self.shipping_tax_rate is None
            else [
                {
                    "code": _code(self.shipping_tax_rate),
                    "rate": float(self.shipping_tax_rate * 100),
                    "amount": _f(ship_tax),
                }
            ]
        )
        return {
            "order_line_id": self.id,
            "order_line_index": self.index,
            "order_line_state": self.state,
            "offer_sku": self.offer_sku,
            "product_title": self.title,
            "quantity": self.quantity,
            "price_unit": _f(unit),
            "price": _f(price),
            "shipping_price": _f(shipping),
            "total_price": _f(price + shipping),
            "taxes": taxes,
            "shipping_taxes": ship_taxes,
            "promotions": []
            if not self.promotion
            else [{"id": f"PROMO-{self.id}", "deduced_amount": _f(self.promotion), "apportioned": False}],
            "currency_iso_code": order.currency,
            "refunds": [r.as_json(order, mode, refund=True) for r in self.refunds],
            "cancelations": [c.as_json(order, mode, refund=False) for c in self.cancelations],
            "can_refund": self.shipped > self.refunded,
        }


def _tax(amount: Decimal, rate: Decimal | None, included: bool) -> Decimal:
    if rate is None:
        return Decimal(0)
    return _cents(amount * rate / (1 + rate)) if included else _cents(amount * rate)


def _code(rate: Decimal) -> str:
    return f"VAT{format((rate * 100).normalize(), 'f')}"


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
    #: The platform's order tax mode: whether the order's price fields include its taxes.
    tax_mode: str = "TAX_INCLUDED"

    def line(self, line_id: str) -> OrderLine | None:
        return next((line for line in self.lines if line.id == line_id), None)

    def convert(self, amount: Decimal, tax: Decimal, mode: str) -> Decimal:
        """``amount`` (in the order's own mode, ``tax`` its tax) as the price fields show it in ``mode``."""
        if mode == self.tax_mode:
            return amount
        return amount - tax if self.tax_mode == "TAX_INCLUDED" else amount + tax

    def as_json(self, mode: str | None = None) -> dict[str, Any]:
        mode = mode or self.tax_mode
        live = [line for line in self.lines if line.state != "REFUSED"]
        lines = [line.as_json(self, mode) for line in self.lines]
        shown = [doc for line, doc in zip(self.lines, lines, strict=True) if line in live]
        price = sum((Decimal(str(doc["price"])) for doc in shown), Decimal(0))
        shipping = sum((Decimal(str(doc["shipping_price"])) for doc in shown), Decimal(0))
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
            "order_lines": lines,
            "order_tax_mode": mode,
            "price": float(price),
            "shipping_price": float(shipping),
            "total_price": float(price + shipping),
            "can_cancel": self.state == "SHIPPING" and not any(line.shipped for line in self.lines),
            "shipping_carrier_code": self.tracking.get("carrier_code"),
            "shipping_company": self.tracking.get("carrier_name"),
            "shipping_tracking": self.tracking.get("tracking_number"),
            "shipping_tracking_url": self.tracking.get("carrier_url"),
            "has_incident": False,
        }


class OrderBook:
    """The shop's orders, shipments and refunds. Not thread-safe by itself: the sandbox holds its lock."""

    def __init__(
        self, *, acceptance_window: timedelta, auto_debit: bool, reasons: tuple[Reason, ...] = DEFAULT_REASONS
    ) -> None:
        self.reasons = {r.code: r for r in reasons}
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
        tax_mode: str = "TAX_INCLUDED",
        tax_rate: Decimal | None = None,
        shipping: Mapping[int, Decimal] | None = None,
        promotions: Mapping[int, Decimal] | None = None,
    ) -> Order:
        """``shipping`` and ``promotions`` by line number (1, 2, ...); ``tax_rate`` (0.19) on prices and
        shipping; amounts in ``tax_mode``."""
        if tax_mode not in TAX_MODES:
            raise ValueError(f"tax_mode must be one of {TAX_MODES}")
        rate = None if tax_rate is None else Decimal(str(tax_rate))
        order = Order(
            order_id,
            order_id.rsplit("-", 1)[0],
            currency,
            [
                OrderLine(
                    f"{order_id}-{n}",
                    n,
                    sku,
                    qty,
                    Decimal(str(price)),
                    f"{sku} (marketplace title)",
                    shipping_price=Decimal(str((shipping or {}).get(n, 0))),
                    promotion=Decimal(str((promotions or {}).get(n, 0))),
                    tax_rate=rate,
                    shipping_tax_rate=rate if (shipping or {}).get(n) else None,
                )
                for n, (sku, qty, price) in enumerate(lines, start=1)
            ],
            now,
            now,
            dict(customer or {"customer_id": f"C-{order_id}", "firstname": "Ada", "lastname": "Lovelace"}),
            tax_mode=tax_mode,
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
        mode = params.get("order_tax_mode") or None
        if mode is not None and mode not in TAX_MODES:
            return _error(400, f"order_tax_mode must be one of {', '.join(TAX_MODES)}")
        page = found[offset : offset + size]
        return 200, {"orders": [o.as_json(mode) for o in page], "total_count": len(found)}

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
                line.shipped, line.state = line.quantity - line.cancelled, "SHIPPED"
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
            if line.shipped + self._unsent(line.id) + pending[line.id] > line.quantity - line.cancelled:
                wanted = line.quantity - line.cancelled
                return {"message": f"Order line {line.id}: more units shipped than ordered ({wanted})"}
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
            self._settle_line(order, line)
        if shipment.tracking:
            order.tracking = {k: v for k, v in shipment.tracking.items() if v is not None}
        order.updated = now

    def list_shipments(self, params: Mapping[str, str]) -> Answer:
        found = list(self.shipments)
        if params.get("order_id"):
            wanted = set(params["order_id"].split(","))
            found = [s for s in found if s.order_id in wanted]
        return 200, {"data": [s.as_json() for s in found], "next_page_token": None}

    # -- OR28 / OR30 / OR29 -----------------------------------------------------------------------------
    def refund(self, body: Any, now: datetime) -> Answer:
        """OR28: refunds of shipped units, each within what the line still holds (amount, shipping, taxes)."""
        return self._adjust(body, now, refund=True)

    def cancel_lines(self, body: Any, now: datetime) -> Answer:
        """OR30: cancellations of units not shipped, each within what the line still holds."""
        return self._adjust(body, now, refund=False)

    def _adjust(self, body: Any, now: datetime, *, refund: bool) -> Answer:
        key, kind = ("refunds", "REFUND") if refund else ("cancelations", "CANCELATION")
        items = body.get(key) if isinstance(body, Mapping) else None
        if not isinstance(items, list) or not items:
            return _error(400, f"{key} is required")
        mode = body.get("order_tax_mode") if isinstance(body, Mapping) else None
        if mode is not None and mode not in TAX_MODES:
            return _error(400, f"order_tax_mode must be one of {', '.join(TAX_MODES)}")
        planned: list[tuple[Order, OrderLine, Adjustment]] = []
        pending: dict[str, tuple[int, Decimal, Decimal]] = {}
        for item in items:
            found = self._adjustment(item, mode, kind, now, pending)
            if isinstance(found, str):
                return _error(400, found)
            planned.append(found)
        out = []
        for order, line, adj in planned:
            self._refund_seq += 1
            adj.id = f"{'RF' if refund else 'CA'}-{self._refund_seq}"
            (line.refunds if refund else line.cancelations).append(adj)
            if not refund:
                self._settle_line(order, line)
            order.updated = now
            shown = adj.as_json(order, mode or order.tax_mode, refund=refund)
            shown[("refund_id" if refund else "cancelation_id")] = shown.pop("id")
            out.append({"order_line_id": line.id, "currency_iso_code": order.currency, **shown})
        return 200, {key: out, "order_tax_mode": mode}

    def _adjustment(
        self,
        item: Any,
        mode: str | None,
        kind: str,
        now: datetime,
        pending: dict[str, tuple[int, Decimal, Decimal]],
    ) -> tuple[Order, OrderLine, Adjustment] | str:
        refund = kind == "REFUND"
        if not isinstance(item, Mapping) or not item.get("order_line_id"):
            return "Each item needs an order_line_id"
        line_id = str(item["order_line_id"])
        order = next((o for o in self.orders.values() if o.line(line_id) is not None), None)
        line = None if order is None else order.line(line_id)
        if order is None or line is None:
            return f"Order line {line_id} not found"
        reason = self.reasons.get(str(item.get("reason_code") or ""))
        if reason is None or reason.type != kind or not reason.is_shop_right:
            return f"Order line {line.id}: reason_code must be one of the shop's {kind} reasons (RE01)"
        if item.get("currency_iso_code") not in (None, order.currency):
            return f"Order line {line.id}: the order is in {order.currency}"
        qty = item.get("quantity", 0 if refund else None)
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0 or (not refund and qty <= 0):
            return f"Order line {line.id}: quantity must be a {'whole number' if refund else 'positive integer'}"
        before_qty, before_amount, before_ship = pending.get(line.id, (0, Decimal(0), Decimal(0)))
        if refund:
            if line.state in ("WAITING_ACCEPTANCE", "REFUSED") or before_qty + qty > line.shipped - line.refunded:
                left = line.shipped - line.refunded - before_qty
                return f"Order line {line.id}: {qty} to refund but {left} shipped and not refunded"
        else:
            if line.state not in ("WAITING_DEBIT_PAYMENT", "SHIPPING"):
                return f"Order line {line.id} is {line.state}: only units not shipped can be cancelled"
            left = line.quantity - line.shipped - line.cancelled - before_qty
            if qty > left:
                return f"Order line {line.id}: {qty} to cancel but {left} not shipped and not cancelled"
        inc_order = order.tax_mode == "TAX_INCLUDED"
        values: dict[str, Decimal] = {}
        for name in ("amount", "shipping_amount"):
            raw = item.get(name)
            if raw is None:
                return f"Order line {line.id}: {name} is required"
            try:
                values[name] = Decimal(str(raw))
            except InvalidOperation:
                return f"Order line {line.id}: {name} is not a number"
            if not values[name].is_finite() or values[name] < 0:
                return f"Order line {line.id}: {name} must be 0 or more"
        taxes = _tax_amounts(item.get("taxes"))
        ship_taxes = _tax_amounts(item.get("shipping_taxes"))
        if taxes is None or ship_taxes is None:
            return f"Order line {line.id}: taxes and shipping_taxes are lists of {{code, amount}}"
        line_tax_code = None if line.tax_rate is None else _code(line.tax_rate)
        ship_tax_code = None if line.shipping_tax_rate is None else _code(line.shipping_tax_rate)
        for given, code, what in ((taxes, line_tax_code, "taxes"), (ship_taxes, ship_tax_code, "shipping_taxes")):
            if set(given) - ({code} if code else set()):
                return f"Order line {line.id}: {what} names a tax the line does not carry"
        if line_tax_code and values["amount"] and line_tax_code not in taxes:
            return f"Order line {line.id}: taxes is required (the order has taxes)"
        if ship_tax_code and values["shipping_amount"] and ship_tax_code not in ship_taxes:
            return f"Order line {line.id}: shipping_taxes is required (the order has shipping taxes)"
        # Amounts into the order's own mode, then within what the line still holds.
        request_inc = (mode or order.tax_mode) == "TAX_INCLUDED"
        tax_sum, ship_tax_sum = sum(taxes.values(), Decimal(0)), sum(ship_taxes.values(), Decimal(0))
        amount, shipping = values["amount"], values["shipping_amount"]
        if request_inc != inc_order:
            amount = amount - tax_sum if request_inc else amount + tax_sum
            shipping = shipping - ship_tax_sum if request_inc else shipping + ship_tax_sum
        remaining = line.price - line.taken("amount") - before_amount
        if amount > remaining:
            return (
                f"Order line {line.id}: amount {values['amount']} is more than the {_cents(remaining)} left on the line"
            )
        ship_left = line.shipping_price - line.taken("shipping_amount") - before_ship
        if shipping > ship_left:
            return f"Order line {line.id}: shipping_amount is more than the {_cents(ship_left)} of shipping left"
        taken = line.taxes_taken("taxes")
        if line_tax_code and taxes.get(line_tax_code, Decimal(0)) > line.tax(inc_order) - taken.get(
            line_tax_code, Decimal(0)
        ):
            return f"Order line {line.id}: more tax than the line has left"
        ship_taken = line.taxes_taken("shipping_taxes")
        if ship_tax_code and ship_taxes.get(ship_tax_code, Decimal(0)) > line.shipping_tax(inc_order) - ship_taken.get(
            ship_tax_code, Decimal(0)
        ):
            return f"Order line {line.id}: more shipping tax than the line has left"
        pending[line.id] = (before_qty + qty, before_amount + amount, before_ship + shipping)
        adj = Adjustment("", qty, amount, shipping, taxes, ship_taxes, reason.code, now)
        return order, line, adj

    def _settle_line(self, order: Order, line: OrderLine) -> None:
        """A line whose units are all shipped or cancelled is ``SHIPPED`` (or ``CANCELED``, none shipped);
        the order follows its lines."""
        if line.shipped + line.cancelled >= line.quantity:
            line.state = "SHIPPED" if line.shipped else "CANCELED"
        states = {ln.state for ln in order.lines if ln.state != "REFUSED"}
        if states and states <= {"CANCELED"}:
            order.state = "CANCELED"
        elif states and states <= {"SHIPPED", "CANCELED"}:
            order.state = "SHIPPED"

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


def _tax_amounts(raw: Any) -> dict[str, Decimal] | None:
    """``[{code, amount}]`` by code (None when it is not that shape)."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        return None
    out: dict[str, Decimal] = {}
    for item in raw:
        if not isinstance(item, Mapping) or not item.get("code"):
            return None
        try:
            amount = Decimal(str(item.get("amount")))
        except InvalidOperation:
            return None
        if not amount.is_finite() or amount < 0:
            return None
        out[str(item["code"])] = out.get(str(item["code"]), Decimal(0)) + amount
    return out
