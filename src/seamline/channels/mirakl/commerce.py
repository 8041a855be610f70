"""A Mirakl order's money as the operator computed it (issue 17), as pure functions: OR11 → ``OrderCommerce``,
and the per-unit slices of it a cancellation (OR30) or a refund (OR28) sends back.

Read from the OR11 order model (Mirakl Seller API, "List orders with pagination"; fields as the Seller
API's OpenAPI-generated models name them): per line ``price_unit``, ``quantity``, ``price`` (the line's price
without shipping, after its ``promotions``' ``deduced_amount``), ``shipping_price``, ``taxes[]`` and
``shipping_taxes[]`` (``code``, ``rate``, ``amount``), ``total_price`` (price with shipping and fees); per order
``order_tax_mode`` (``TAX_INCLUDED``: the price fields include the taxes listed beside them;
``TAX_EXCLUDED``: they do not, and the buyer paid them on top), ``total_price`` (the sum of the order's
price, shipping price and fees) and ``currency_iso_code``.

Nothing is recomputed from our price list: the line's ``price`` is its amount; what ``price_unit ×
quantity`` exceeds it by is the line's discount (its promotions). Only the lines Seamline took (accepted)
are carried; the order's total is the operator's less the lines refused, so finance checks our lines and
shipping against the operator's own total and holds the invoice when they disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from seamline.domain.commerce import (
    Address,
    CommerceLine,
    DiscountAllocation,
    OrderCommerce,
    Payment,
    ShippingLine,
    TaxLine,
)
from seamline.finance.amounts import allocate, to_minor

ZERO = Decimal(0)
SOURCE = "mirakl"


class CommerceError(ValueError):
    """The order's money is not the shape Mirakl documents."""


def _amount(value: Any, what: str) -> Decimal:
    try:
        found = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise CommerceError(f"{what} {value!r} is not an amount") from None
    if not found.is_finite():
        raise CommerceError(f"{what} {value!r} is not an amount")
    return found


def _rate(raw: Mapping[str, Any], base: Decimal) -> Decimal:
    """A tax's rate as a fraction. Mirakl gives ``rate`` in percent (19.0); without one it is read from the
    amount over the base it was charged on, to four places (finance then needs a tax code of that rate, or
    holds the document)."""
    if raw.get("rate") is not None:
        rate = _amount(raw["rate"], "tax rate")
        return rate / 100 if rate > 1 else rate
    amount = _amount(raw.get("amount") or 0, "tax amount")
    if not base or not amount:
        return ZERO
    return (amount / base).quantize(Decimal("0.0001"))


def _taxes(items: Any, base: Decimal, included: bool, what: str) -> tuple[TaxLine, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise CommerceError(f"{what}: taxes must be a list")
    out = []
    for raw in items:
        if not isinstance(raw, Mapping) or raw.get("amount") is None:
            raise CommerceError(f"{what}: each tax needs an amount")
        amount = _amount(raw["amount"], f"{what} tax")
        # The rate is on the price before tax: in TAX_INCLUDED mode the base is the price less its taxes.
        net = base - sum((_amount(t.get("amount") or 0, "tax") for t in items if isinstance(t, Mapping)), ZERO)
        out.append(TaxLine(str(raw.get("code") or "tax"), _rate(raw, net if included else base), amount))
    return tuple(out)


def _address(block: Any) -> Address | None:
    if not isinstance(block, Mapping):
        return None

    def text(key: str) -> str | None:
        value = block.get(key)
        return None if value in (None, "") else str(value)

    name = " ".join(str(block[k]) for k in ("firstname", "lastname") if block.get(k)) or None
    return Address(
        name=name,
        company=text("company"),
        line1=text("street_1"),
        line2=text("street_2"),
        city=text("city"),
        region=text("state"),
        postcode=text("zip_code"),
        country=text("country_iso_code") or text("country"),
        phone=text("phone"),
    )


@dataclass(frozen=True)
class TakenLine:
    """A Mirakl line Seamline took: the order line it became and our SKU."""

    order_line_no: int
    sku: str


def _line_total(raw: Mapping[str, Any], included: bool) -> Decimal:
    """What the buyer pays for one Mirakl line: its ``total_price``, plus its taxes when prices exclude them."""
    if raw.get("total_price") is not None:
        total = _amount(raw["total_price"], "line total_price")
    else:
        total = _amount(raw.get("price") or 0, "line price") + _amount(raw.get("shipping_price") or 0, "shipping")
    if not included:
        for key in ("taxes", "shipping_taxes"):
            total += sum(
                (_amount(t.get("amount") or 0, "tax") for t in raw.get(key) or () if isinstance(t, Mapping)), ZERO
            )
    return total


def order_commerce(body: Mapping[str, Any], taken: Mapping[str, TakenLine], *, tax_mode: str) -> OrderCommerce:
    """The order's money for the lines Seamline took (Mirakl line id → ``TakenLine``). ``tax_mode`` is the
    mode the order was read in, used when the payload does not say (it answers in the mode asked)."""
    mode = str(body.get("order_tax_mode") or tax_mode)
    if mode not in ("TAX_INCLUDED", "TAX_EXCLUDED"):
        raise CommerceError(f"order_tax_mode {mode!r} is not TAX_INCLUDED or TAX_EXCLUDED")
    included = mode == "TAX_INCLUDED"
    currency = str(body.get("currency_iso_code") or "")
    lines: list[CommerceLine] = []
    shipping: list[ShippingLine] = []
    left_out = ZERO
    raw_lines = [raw for raw in body.get("order_lines") or () if isinstance(raw, Mapping)]
    for raw in raw_lines:
        line_id = str(raw.get("order_line_id") or "")
        if line_id not in taken:
            if str(raw.get("order_line_state") or "") != "REFUSED":
                left_out += _line_total(raw, included)  # refused by us: not part of what the buyer pays
            continue
        qty = int(raw.get("quantity") or 0)
        unit = _amount(raw.get("price_unit") if raw.get("price_unit") is not None else 0, "price_unit")
        price = _amount(raw["price"], "line price") if raw.get("price") is not None else unit * qty
        if raw.get("price_unit") is None and qty:
            unit = price / qty
        promotions = [p for p in raw.get("promotions") or () if isinstance(p, Mapping)]
        discounts: tuple[DiscountAllocation, ...] = ()
        if unit * qty != price:
            names = ", ".join(str(p.get("promo_code") or p.get("id") or "promotion") for p in promotions)
            discounts = (DiscountAllocation(unit * qty - price, names or "price"),)
        lines.append(
            CommerceLine(
                line_id=line_id,
                title=str(raw.get("product_title") or raw.get("offer_sku") or line_id),
                qty=qty,
                unit_price=unit,
                sku=taken[line_id].sku,
                order_line_no=taken[line_id].order_line_no,
                discounts=discounts,
                tax_lines=_taxes(raw.get("taxes"), price, included, f"line {line_id}"),
            )
        )
        ship_price = _amount(raw.get("shipping_price") or 0, "shipping_price")
        ship_taxes = _taxes(raw.get("shipping_taxes"), ship_price, included, f"shipping of {line_id}")
        if ship_price or ship_taxes:
            shipping.append(ShippingLine(f"shipping ({line_id})", ship_price, (), ship_taxes))
    total = None
    totals: dict[str, str] = {"order_tax_mode": mode}
    if body.get("total_price") is not None:
        order_total = _amount(body["total_price"], "total_price")
        totals["total_price"] = str(order_total)
        if not included:
            for raw in raw_lines:
                if str(raw.get("order_line_state") or "") == "REFUSED":
                    continue
                for key in ("taxes", "shipping_taxes"):
                    for tax in raw.get(key) or ():
                        if isinstance(tax, Mapping):
                            order_total += _amount(tax.get("amount") or 0, "tax")
        total = order_total - left_out
    for key in ("price", "shipping_price"):
        if body.get(key) is not None:
            totals[key] = str(body[key])
    found = body.get("customer")
    customer: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    name = " ".join(str(customer[k]) for k in ("firstname", "lastname") if customer.get(k)) or None
    payments: tuple[Payment, ...] = ()
    if body.get("customer_debited_date") and total is not None:
        # The operator collected the order's total from the buyer (it pays the shop out later, net of commission).
        payments = (Payment(tender=SOURCE, amount=total, gateway=str(body.get("payment_type") or SOURCE)),)
    return OrderCommerce(
        source=SOURCE,
        name=str(body.get("commercial_id") or body.get("order_id") or "") or None,
        currency=currency,
        presentment_currency=currency,
        taxes_included=included,
        lines=tuple(lines),
        channel_total=total,
        shipping=tuple(shipping),
        payments=payments,
        ship_to=_address(customer.get("shipping_address")),
        bill_to=_address(customer.get("billing_address")),
        customer={
            "external_id": customer.get("customer_id"),
            "email": body.get("customer_notification_email"),
            "name": name,
        },
        channel_totals=totals,
    )


# ---------------------------------------------------------------------- slices sent back (OR30, OR28)
def _part(amount: Decimal, qty: int, start: int, units: int, currency: str) -> Decimal:
    """Units ``start .. start + units`` of an amount computed for ``qty`` units, split by largest remainder in
    the currency's minor unit (every slice of a line adds up to the line)."""
    if qty <= 0 or units <= 0:
        return ZERO
    if start == 0 and units == qty:
        return to_minor(amount, currency)
    return sum(allocate(amount, [Decimal(1)] * qty, currency)[start : start + units], ZERO)


def line_slice(line: CommerceLine, start: int, units: int, currency: str, *, included: bool) -> dict[str, Any]:
    """The amount (in the order's tax mode, as Mirakl's price fields) and taxes of units ``start ..
    start + units`` of ``line``: what an OR30 cancellation or an OR28 refund of those units sends."""
    price = line.gross - line.discount
    amount = _part(price, line.qty, start, units, currency)
    taxes = [
        {"code": t.title, "amount": str(_part(t.amount, line.qty, start, units, currency))} for t in line.tax_lines
    ]
    return {"amount": str(amount), "taxes": taxes, "included": included}


def shipping_of(commerce: OrderCommerce, line_id: str) -> ShippingLine | None:
    return next((s for s in commerce.shipping if s.title == f"shipping ({line_id})"), None)


def adjustment(
    commerce: OrderCommerce,
    line: CommerceLine,
    start: int,
    units: int,
    *,
    reason_code: str,
    with_shipping: bool,
) -> dict[str, Any]:
    """One OR30/OR28 item: ``units`` of ``line`` after ``start`` units already taken, the line's shipping
    (all of it) when ``with_shipping``."""
    part = line_slice(line, start, units, commerce.currency, included=commerce.taxes_included)
    ship = shipping_of(commerce, line.line_id) if with_shipping else None
    return {
        "order_line_id": line.line_id,
        "quantity": units,
        "amount": part["amount"],
        "taxes": part["taxes"],
        "shipping_amount": str(to_minor(ship.price, commerce.currency)) if ship is not None else "0",
        "shipping_taxes": [
            {"code": t.title, "amount": str(to_minor(t.amount, commerce.currency))} for t in ship.tax_lines
        ]
        if ship
        else [],
        "currency_iso_code": commerce.currency,
        "reason_code": reason_code,
    }


def shipping_given_back(body: Mapping[str, Any]) -> dict[str, Decimal]:
    """Per Mirakl order line id, the shipping its refunds and cancellations gave back already (OR11's
    ``refunds[]`` and ``cancelations[]``, their ``shipping_amount``)."""
    out: dict[str, Decimal] = {}
    for raw in body.get("order_lines") or ():
        if not isinstance(raw, Mapping):
            continue
        taken = ZERO
        for key in ("refunds", "cancelations"):
            for adj in raw.get(key) or ():
                if isinstance(adj, Mapping):
                    taken += _amount(adj.get("shipping_amount") or 0, "shipping_amount")
        out[str(raw.get("order_line_id") or "")] = taken
    return out


def with_shipping_back(
    commerce: OrderCommerce,
    items: Sequence[Mapping[str, Any]],
    given_back: Mapping[str, Decimal],
    *,
    reason_code: str,
) -> list[dict[str, Any]]:
    """``items`` (OR28 refunds or OR30 cancellations) when they leave the buyer nothing of the order: each line's
    shipping not given back yet goes with its item, or alone (quantity 0) for a line whose units went
    before, so the buyer gets back all the shipping they paid, once."""
    out = [dict(item) for item in items]
    by_line = {str(item["order_line_id"]): item for item in out}
    for line in commerce.lines:
        ship = shipping_of(commerce, line.line_id)
        if ship is None or given_back.get(line.line_id, ZERO) > 0:
            continue
        found = by_line.get(line.line_id)
        if found is None:
            found = adjustment(commerce, line, line.qty, 0, reason_code=reason_code, with_shipping=False)
            out.append(found)
        found["shipping_amount"] = str(to_minor(ship.price - ship.discount, commerce.currency))
        found["shipping_taxes"] = [
            {"code": t.title, "amount": str(to_minor(t.amount, commerce.currency))} for t in ship.tax_lines
        ]
    return out


def lines_by_id(commerce: OrderCommerce) -> dict[str, CommerceLine]:
    return {line.line_id: line for line in commerce.lines}


def taken_lines(accepted: Sequence[Mapping[str, Any]]) -> dict[str, TakenLine]:
    """A recorded acceptance's lines (``line_id``, ``line_no``, ``sku``) as ``order_commerce`` takes them."""
    return {str(x["line_id"]): TakenLine(int(x["line_no"]), str(x["sku"])) for x in accepted}
