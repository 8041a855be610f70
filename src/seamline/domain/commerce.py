"""The commercial truth of an order as its channel computed it (issue 17): per line the unit price, the
discounts allocated to it, its tax lines and duties; the shipping lines; the addresses, the customer and the
payments; the currency the amounts are in and the one the buyer saw; and the channel's own total.

Amounts are the channel's, in the order's (shop/settlement) currency, never recomputed from our price
list: finance builds documents from these numbers so that an invoice equals the channel's total to the cent.
A channel that does not send something (a POS sale has no shipping) leaves it empty. Pure data: JSON in and
out, no database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class TaxLine:
    """A tax the channel charged: its name, its rate (0.2 for 20 %) and the amount it computed."""

    title: str
    rate: Decimal
    amount: Decimal

    def as_json(self) -> dict[str, Any]:
        return {"title": self.title, "rate": str(self.rate), "amount": str(self.amount)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TaxLine:
        return cls(str(data.get("title") or ""), _d(data.get("rate") or 0), _d(data["amount"]))


@dataclass(frozen=True)
class DiscountAllocation:
    """The part of a discount (a code, an automatic discount, a manual one) the channel put on a line."""

    amount: Decimal
    source: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"amount": str(self.amount), "source": self.source}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DiscountAllocation:
        return cls(_d(data["amount"]), str(data.get("source") or ""))


def _sum(values: Sequence[Any], attr: str = "amount") -> Decimal:
    return sum((getattr(v, attr) for v in values), ZERO)


@dataclass(frozen=True)
class CommerceLine:
    """One channel line. ``order_line_no`` is our order line it became (None for a line that takes no
    stock: a gift card, a custom item); ``kind`` is ``goods``, ``gift_card``, ``custom``, or a till's
    ``service_charge`` or cash ``rounding`` (qty 1, the amount as ``unit_price``, negative for a round-down)."""

    line_id: str
    title: str
    qty: int
    unit_price: Decimal
    sku: str | None = None
    order_line_no: int | None = None
    kind: str = "goods"
    discounts: tuple[DiscountAllocation, ...] = ()
    tax_lines: tuple[TaxLine, ...] = ()
    duties: tuple[TaxLine, ...] = ()

    @property
    def gross(self) -> Decimal:
        """Price × quantity before discounts (tax included when the channel's prices include it)."""
        return self.unit_price * self.qty

    @property
    def discount(self) -> Decimal:
        return _sum(self.discounts)

    @property
    def tax(self) -> Decimal:
        return _sum(self.tax_lines)

    @property
    def duty(self) -> Decimal:
        return _sum(self.duties)

    def as_json(self) -> dict[str, Any]:
        return {
            "line_id": self.line_id,
            "title": self.title,
            "qty": self.qty,
            "unit_price": str(self.unit_price),
            "sku": self.sku,
            "order_line_no": self.order_line_no,
            "kind": self.kind,
            "discounts": [d.as_json() for d in self.discounts],
            "tax_lines": [t.as_json() for t in self.tax_lines],
            "duties": [t.as_json() for t in self.duties],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CommerceLine:
        return cls(
            line_id=str(data["line_id"]),
            title=str(data.get("title") or ""),
            qty=int(data["qty"]),
            unit_price=_d(data["unit_price"]),
            sku=_opt(data.get("sku")),
            order_line_no=None if data.get("order_line_no") is None else int(data["order_line_no"]),
            kind=str(data.get("kind") or "goods"),
            discounts=tuple(DiscountAllocation.from_json(d) for d in data.get("discounts") or ()),
            tax_lines=tuple(TaxLine.from_json(t) for t in data.get("tax_lines") or ()),
            duties=tuple(TaxLine.from_json(t) for t in data.get("duties") or ()),
        )


@dataclass(frozen=True)
class ShippingLine:
    """Shipping as charged: its price, the discounts on it and the tax on it."""

    title: str
    price: Decimal
    discounts: tuple[DiscountAllocation, ...] = ()
    tax_lines: tuple[TaxLine, ...] = ()

    @property
    def discount(self) -> Decimal:
        return _sum(self.discounts)

    @property
    def tax(self) -> Decimal:
        return _sum(self.tax_lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "price": str(self.price),
            "discounts": [d.as_json() for d in self.discounts],
            "tax_lines": [t.as_json() for t in self.tax_lines],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ShippingLine:
        return cls(
            str(data.get("title") or ""),
            _d(data["price"]),
            tuple(DiscountAllocation.from_json(d) for d in data.get("discounts") or ()),
            tuple(TaxLine.from_json(t) for t in data.get("tax_lines") or ()),
        )


ADDRESS_FIELDS = ("name", "company", "line1", "line2", "city", "region", "postcode", "country", "phone")


@dataclass(frozen=True)
class Address:
    name: str | None = None
    company: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postcode: str | None = None
    #: ISO 3166-1 alpha-2 where the channel gives it.
    country: str | None = None
    phone: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ADDRESS_FIELDS}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Address | None:
        if not data:
            return None
        return cls(**{name: _opt(data.get(name)) for name in ADDRESS_FIELDS})


@dataclass(frozen=True)
class Payment:
    """Money the channel took (or gave back): the tender we book it as, the gateway that moved it."""

    tender: str
    amount: Decimal
    gateway: str | None = None
    kind: str = "sale"  # sale | capture | authorization | refund
    status: str = "success"
    reference: str | None = None
    #: The card a gift card payment was taken from, as the channel names it (Shopify's ``gift_card_id``).
    card: str | None = None

    @property
    def settled(self) -> bool:
        return self.status == "success" and self.kind in ("sale", "capture", "refund")

    def as_json(self) -> dict[str, Any]:
        return {
            "tender": self.tender,
            "amount": str(self.amount),
            "gateway": self.gateway,
            "kind": self.kind,
            "status": self.status,
            "reference": self.reference,
            **({} if self.card is None else {"card": self.card}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Payment:
        return cls(
            str(data["tender"]),
            _d(data["amount"]),
            _opt(data.get("gateway")),
            str(data.get("kind") or "sale"),
            str(data.get("status") or "success"),
            _opt(data.get("reference")),
            _opt(data.get("card")),
        )


@dataclass(frozen=True)
class OrderCommerce:
    """What the channel sold, for how much, to whom, and how it was paid."""

    source: str
    currency: str
    presentment_currency: str
    taxes_included: bool
    lines: tuple[CommerceLine, ...]
    #: The channel's own total of the order (what the buyer was charged), in ``currency``.
    channel_total: Decimal | None
    shipping: tuple[ShippingLine, ...] = ()
    payments: tuple[Payment, ...] = ()
    ship_to: Address | None = None
    bill_to: Address | None = None
    #: The buyer as the channel names them: ``{external_id, email, name}``.
    customer: Mapping[str, Any] = field(default_factory=dict)
    #: Amounts the channel reported as totals, kept as sent (subtotal, tax, discounts, shipping, duties).
    channel_totals: Mapping[str, str] = field(default_factory=dict)
    #: The channel's reference shown to the buyer (a Shopify order name "#1001").
    name: str | None = None

    # ---------------------------------------------------------------------------- arithmetic
    @property
    def line_total(self) -> Decimal:
        """What the lines come to after discounts, tax added when prices exclude it, duties added."""
        total = ZERO
        for line in self.lines:
            total += line.gross - line.discount + line.duty
            if not self.taxes_included:
                total += line.tax
        return total

    @property
    def shipping_total(self) -> Decimal:
        total = ZERO
        for ship in self.shipping:
            total += ship.price - ship.discount
            if not self.taxes_included:
                total += ship.tax
        return total

    @property
    def computed_total(self) -> Decimal:
        """The order's total rebuilt from its lines and shipping, as the channel rounded each of them."""
        return self.line_total + self.shipping_total

    @property
    def paid(self) -> Decimal:
        return sum((p.amount for p in self.payments if p.settled and p.kind != "refund"), ZERO)

    def line_for(self, order_line_no: int) -> CommerceLine | None:
        for line in self.lines:
            if line.order_line_no == order_line_no:
                return line
        return None

    # ---------------------------------------------------------------------------- JSON
    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "name": self.name,
            "currency": self.currency,
            "presentment_currency": self.presentment_currency,
            "taxes_included": self.taxes_included,
            "channel_total": None if self.channel_total is None else str(self.channel_total),
            "computed_total": str(self.computed_total),
            "lines": [line.as_json() for line in self.lines],
            "shipping": [s.as_json() for s in self.shipping],
            "payments": [p.as_json() for p in self.payments],
            "ship_to": None if self.ship_to is None else self.ship_to.as_json(),
            "bill_to": None if self.bill_to is None else self.bill_to.as_json(),
            "customer": dict(self.customer),
            "channel_totals": dict(self.channel_totals),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OrderCommerce:
        total = data.get("channel_total")
        return cls(
            source=str(data.get("source") or ""),
            name=_opt(data.get("name")),
            currency=str(data["currency"]),
            presentment_currency=str(data.get("presentment_currency") or data["currency"]),
            taxes_included=bool(data.get("taxes_included")),
            channel_total=None if total is None else _d(total),
            lines=tuple(CommerceLine.from_json(li) for li in data.get("lines") or ()),
            shipping=tuple(ShippingLine.from_json(s) for s in data.get("shipping") or ()),
            payments=tuple(Payment.from_json(p) for p in data.get("payments") or ()),
            ship_to=Address.from_json(data.get("ship_to")),
            bill_to=Address.from_json(data.get("bill_to")),
            customer=dict(data.get("customer") or {}),
            channel_totals={str(k): str(v) for k, v in (data.get("channel_totals") or {}).items()},
        )


@dataclass(frozen=True)
class RefundedLine:
    """A line the channel refunded: units and the money for them (after discounts) and its tax."""

    line_id: str
    qty: int
    subtotal: Decimal
    tax: Decimal
    order_line_no: int | None = None
    sku: str | None = None
    title: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "line_id": self.line_id,
            "qty": self.qty,
            "subtotal": str(self.subtotal),
            "tax": str(self.tax),
            "order_line_no": self.order_line_no,
            "sku": self.sku,
            "title": self.title,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RefundedLine:
        no = data.get("order_line_no")
        return cls(
            str(data["line_id"]),
            int(data["qty"]),
            _d(data["subtotal"]),
            _d(data.get("tax") or 0),
            None if no is None else int(no),
            _opt(data.get("sku")),
            str(data.get("title") or ""),
        )


@dataclass(frozen=True)
class RefundAdjustment:
    """Money refunded beside the lines: ``shipping`` (a shipping refund) or ``adjustment`` (a discrepancy
    the channel booked between the calculated and the actual refund). ``amount`` is what went back to the
    buyer (negative when less went back), ``tax`` the tax within it."""

    kind: str
    amount: Decimal
    tax: Decimal = ZERO
    reason: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "amount": str(self.amount), "tax": str(self.tax), "reason": self.reason}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RefundAdjustment:
        return cls(str(data["kind"]), _d(data["amount"]), _d(data.get("tax") or 0), str(data.get("reason") or ""))


@dataclass(frozen=True)
class RefundCommerce:
    """What the channel refunded, as it computed it, and the money it actually paid back."""

    source: str
    external_id: str
    currency: str
    lines: tuple[RefundedLine, ...] = ()
    adjustments: tuple[RefundAdjustment, ...] = ()
    payments: tuple[Payment, ...] = ()
    #: The channel's own total of the refund: its successful refund transactions.
    channel_total: Decimal | None = None
    #: Each line's ``subtotal`` already includes its ``tax`` (a refund of a tax-inclusive order's lines, as
    #: ``finance.channel.refund_of_return`` makes it); False: ``computed_total`` adds each line's tax to it.
    taxes_included: bool = False

    @property
    def computed_total(self) -> Decimal:
        lines = sum((li.subtotal + (ZERO if self.taxes_included else li.tax) for li in self.lines), ZERO)
        return lines + sum((a.amount for a in self.adjustments), ZERO)

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "external_id": self.external_id,
            "currency": self.currency,
            "lines": [li.as_json() for li in self.lines],
            "adjustments": [a.as_json() for a in self.adjustments],
            "payments": [p.as_json() for p in self.payments],
            "channel_total": None if self.channel_total is None else str(self.channel_total),
            "computed_total": str(self.computed_total),
            "taxes_included": self.taxes_included,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RefundCommerce:
        total = data.get("channel_total")
        return cls(
            source=str(data.get("source") or ""),
            external_id=str(data.get("external_id") or ""),
            currency=str(data["currency"]),
            lines=tuple(RefundedLine.from_json(li) for li in data.get("lines") or ()),
            adjustments=tuple(RefundAdjustment.from_json(a) for a in data.get("adjustments") or ()),
            payments=tuple(Payment.from_json(p) for p in data.get("payments") or ()),
            channel_total=None if total is None else _d(total),
            taxes_included=bool(data.get("taxes_included")),
        )
