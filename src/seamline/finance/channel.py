"""Documents built from the channel's own numbers (issue 17), so an invoice equals the channel's order total
to the cent and a credit note equals what the channel refunded.

Nothing here recomputes a price: every amount is the channel's line amount, discount allocation, tax line,
shipping line or refund figure, split over the units shipped by the largest-remainder method in the
currency's minor unit (so the invoices of an order shipped in parts add up to exactly the channel's line
amounts). What cannot be reproduced (a tax rate the chart has no tax code for, a channel total its own
lines do not add up to, a currency other than the order's) raises ``Unreproducible``
with the reason and the figures: the caller holds the document for a person and posts nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from seamline.domain.commerce import (
    CommerceLine,
    OrderCommerce,
    RefundCommerce,
    RefundedLine,
    ShippingLine,
    TaxLine,
)
from seamline.finance.amounts import ZERO, allocate, to_minor
from seamline.finance.chart import NO_TAX, FinanceConfig, TaxCode
from seamline.finance.documents import DocumentLine

SHIPPING_SKU = "shipping"
DUTY_SKU = "duty"
ADJUSTMENT_SKU = "adjustment"
#: Channel lines that take no stock and go on the first invoice (or the sale's receipt) as charged: a custom
#: item or amount, a till's service charge, a cash rounding adjustment.
NON_STOCK_KINDS = frozenset({"custom", "service_charge", "rounding"})


class Unreproducible(Exception):
    """The channel's total cannot be reproduced from its numbers and our configuration: hold, never post."""

    def __init__(self, reason: str, detail: str, figures: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.figures = dict(figures or {})


def tax_code_for(tax_lines: Sequence[TaxLine], config: FinanceConfig, what: str) -> TaxCode:
    """The chart's tax code for a channel line's taxes: the one whose rate is the lines' combined rate.
    No tax charged is the chart's zero-rate code (or ``NONE``); a rate the chart does not know is an
    unknown tax treatment."""
    charged = [t for t in tax_lines if t.amount != 0 or t.rate != 0]
    if not charged:
        zero = [c for c in config.tax_codes.values() if c.rate == 0]
        return sorted(zero, key=lambda c: c.code)[0] if zero else NO_TAX
    rate = sum((t.rate for t in charged), ZERO)
    found = sorted((c for c in config.tax_codes.values() if c.rate == rate), key=lambda c: c.code)
    if not found:
        names = ", ".join(f"{t.title or 'tax'} {t.rate}" for t in charged)
        raise Unreproducible(
            "unknown-tax",
            f"{what}: the channel charged {names} (rate {rate}); no tax code in the finance configuration has "
            f"that rate. Add one (PUT /v1/finance/config), then post pending.",
            {"rate": str(rate), "taxes": [t.as_json() for t in charged]},
        )
    return found[0]


def _slice(amount: Decimal, qty: int, start: int, units: int, currency: str) -> Decimal:
    """Units ``start`` .. ``start + units`` of an amount the channel computed for ``qty`` units: its
    per-unit split by largest remainder, so every slice of the line adds up to the line exactly."""
    if units == qty and start == 0:
        return amount
    parts = allocate(amount, [Decimal(1)] * qty, currency)
    return sum(parts[start : start + units], ZERO)


def _line(
    line_no: int,
    sku: str,
    description: str,
    qty: int,
    unit_price: Decimal,
    list_gross: Decimal,
    discount_gross: Decimal,
    tax: Decimal,
    code: TaxCode,
    taxes_included: bool,
    currency: str,
    order_line_no: int | None,
) -> DocumentLine:
    """A document line from the channel's amounts. Excluding tax: net is price less discount and tax is
    added; including tax: the price is gross, tax the channel's within it, the discount taken out of
    revenue net of tax at the line's rate."""
    if taxes_included:
        gross = list_gross - discount_gross
        net = gross - tax
        discount = to_minor(discount_gross / (1 + code.rate), currency) if discount_gross else ZERO
        list_net = net + discount
    else:
        net = list_gross - discount_gross
        gross = net + tax
        discount = discount_gross
        list_net = list_gross
    return DocumentLine(
        line_no=line_no,
        sku=sku,
        description=description,
        qty=qty,
        unit_price=unit_price,
        gross=gross,
        tax_code=code.code,
        tax_rate=code.rate,
        tax=tax,
        net=net,
        list_gross=list_gross if taxes_included else list_gross + tax,
        list_net=list_net,
        discount_gross=discount_gross,
        discount=discount,
        order_line_no=order_line_no,
    )


@dataclass(frozen=True)
class ChannelDocument:
    lines: tuple[DocumentLine, ...]
    total: Decimal
    #: The channel's own figure for what this document covers (its order total on the invoice that
    #: completes the order, its refund transactions on a credit note); None when it gives none.
    channel_total: Decimal | None
    figures: Mapping[str, Any] = field(default_factory=dict)


def check_order(commerce: OrderCommerce, currency: str) -> None:
    """The order's own numbers must add up to the channel's total before any of it is invoiced."""
    if commerce.currency != currency:
        raise Unreproducible(
            "currency",
            f"the channel's amounts are in {commerce.currency}, the order in {currency}: no rate to convert",
            {"channel_currency": commerce.currency, "order_currency": currency},
        )
    computed = to_minor(commerce.computed_total, currency)
    if commerce.channel_total is not None and computed != commerce.channel_total:
        raise Unreproducible(
            "channel-total",
            f"the channel's lines, discounts, tax and shipping add up to {computed} {currency}, but its order "
            f"total is {commerce.channel_total} {currency}",
            {"computed_total": str(computed), "channel_total": str(commerce.channel_total)},
        )


def invoice_lines(
    commerce: OrderCommerce,
    currency: str,
    config: FinanceConfig,
    ship: Mapping[int, int],
    invoiced: Mapping[int, int],
    *,
    first: bool,
    descriptions: Mapping[str, str] | None = None,
) -> ChannelDocument:
    """The invoice for ``ship`` (order line no → units shipped now) after ``invoiced`` units of each line
    went on earlier invoices. The first invoice also carries shipping, custom lines (fees, warranties:
    nothing to ship), gift cards sold (booked against the gift card clearing, not revenue) and duties. When
    every unit is invoiced the invoices add up to the channel's total."""
    check_order(commerce, currency)
    descriptions = descriptions or {}
    inc = commerce.taxes_included
    out: list[DocumentLine] = []

    def add(line: CommerceLine, start: int, units: int) -> None:
        code = tax_code_for(line.tax_lines, config, f"line {line.title or line.line_id}")
        out.append(
            _line(
                len(out) + 1,
                line.sku or (line.kind if line.kind != "goods" else line.line_id),
                descriptions.get(line.sku or "", "") or line.title,
                units,
                line.unit_price,
                line.unit_price * units,
                _slice(line.discount, line.qty, start, units, currency),
                _slice(line.tax, line.qty, start, units, currency),
                code,
                inc,
                currency,
                line.order_line_no,
            )
        )

    for line in commerce.lines:
        if line.order_line_no is not None and ship.get(line.order_line_no, 0) > 0:
            add(line, invoiced.get(line.order_line_no, 0), min(ship[line.order_line_no], line.qty))
        elif first and line.order_line_no is None and line.kind in (*NON_STOCK_KINDS, "gift_card") and line.qty > 0:
            # A gift card sold is on the first invoice at its price, as the sku ``gift_card``: its money is
            # booked to the gift card clearing (the card's issue moved it to the liability), not revenue.
            add(line, 0, line.qty)
    if first:
        for ship_line in commerce.shipping:
            out.append(_shipping(len(out) + 1, ship_line, config, inc, currency))
        for line in commerce.lines:
            if line.duty:
                out.append(
                    _line(
                        len(out) + 1,
                        DUTY_SKU,
                        f"duties on {line.title}",
                        1,
                        line.duty,
                        line.duty,
                        ZERO,
                        ZERO,
                        tax_code_for((), config, "duty"),
                        False,
                        currency,
                        None,
                    )
                )
    total = sum((li.gross for li in out), ZERO)
    invoiced_after = {no: invoiced.get(no, 0) + ship.get(no, 0) for no in {*invoiced, *ship}}
    complete = all(
        invoiced_after.get(li.order_line_no, 0) >= li.qty for li in commerce.lines if li.order_line_no is not None
    )
    channel_total = commerce.channel_total if complete and first else None
    return ChannelDocument(
        tuple(out), total, channel_total, {"complete": complete, "channel_order_total": _s(commerce.channel_total)}
    )


def _shipping(line_no: int, ship: ShippingLine, config: FinanceConfig, inc: bool, currency: str) -> DocumentLine:
    code = tax_code_for(ship.tax_lines, config, f"shipping {ship.title}")
    return _line(
        line_no, SHIPPING_SKU, ship.title, 1, ship.price, ship.price, ship.discount, ship.tax, code, inc, currency, None
    )


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def credit_note_lines(
    refund: RefundCommerce,
    order: OrderCommerce | None,
    currency: str,
    config: FinanceConfig,
    *,
    descriptions: Mapping[str, str] | None = None,
) -> ChannelDocument:
    """The credit note for what the channel refunded: each refunded line at the channel's subtotal (after
    its discounts) and tax, shipping refunds, and order adjustments (a discrepancy the channel booked). Its
    total must equal the channel's refund transactions, when it sent them."""
    if refund.currency and refund.currency != currency:
        raise Unreproducible(
            "currency",
            f"the refund is in {refund.currency}, the order in {currency}: no rate to convert",
            {"refund_currency": refund.currency, "order_currency": currency},
        )
    descriptions = descriptions or {}
    inc = bool(order and order.taxes_included)
    by_id = {li.line_id: li for li in order.lines} if order is not None else {}
    out: list[DocumentLine] = []
    for refunded in refund.lines:
        source = by_id.get(refunded.line_id)
        taxes = source.tax_lines if source is not None else ()
        code = _refund_code(taxes, refunded.tax, config, f"refunded line {refunded.title or refunded.line_id}")
        gross = refunded.subtotal if inc else refunded.subtotal + refunded.tax
        out.append(
            DocumentLine(
                line_no=len(out) + 1,
                sku=(source.sku if source is not None else None) or refunded.sku or refunded.line_id,
                description=descriptions.get(refunded.sku or "", "") or refunded.title,
                qty=refunded.qty,
                unit_price=source.unit_price if source is not None else to_minor(gross / refunded.qty, currency),
                gross=gross,
                tax_code=code.code,
                tax_rate=code.rate,
                tax=refunded.tax,
                net=gross - refunded.tax,
                list_gross=gross,
                list_net=gross - refunded.tax,
                discount_gross=ZERO,
                discount=ZERO,
                order_line_no=refunded.order_line_no
                if refunded.order_line_no is not None
                else (source.order_line_no if source is not None else None),
            )
        )
    for adj in refund.adjustments:
        if adj.amount == 0:
            continue
        sku = SHIPPING_SKU if adj.kind == "shipping" else ADJUSTMENT_SKU
        ship_taxes = order.shipping[0].tax_lines if order is not None and order.shipping else ()
        code = _refund_code(ship_taxes if adj.kind == "shipping" else (), adj.tax, config, f"{adj.kind} refund")
        out.append(
            DocumentLine(
                line_no=len(out) + 1,
                sku=sku,
                description=adj.reason or adj.kind,
                qty=1,
                unit_price=adj.amount,
                gross=adj.amount,
                tax_code=code.code,
                tax_rate=code.rate,
                tax=adj.tax,
                net=adj.amount - adj.tax,
                list_gross=adj.amount,
                list_net=adj.amount - adj.tax,
                discount_gross=ZERO,
                discount=ZERO,
            )
        )
    total = sum((li.gross for li in out), ZERO)
    if refund.channel_total is not None and total != refund.channel_total:
        raise Unreproducible(
            "refund-total",
            f"the channel's refund lines, shipping and adjustments add up to {total} {currency}, but it refunded "
            f"{refund.channel_total} {currency}",
            {"computed_total": str(total), "channel_total": str(refund.channel_total)},
        )
    return ChannelDocument(tuple(out), total, refund.channel_total, {"refund": refund.external_id})


def _refund_code(taxes: Sequence[TaxLine], tax: Decimal, config: FinanceConfig, what: str) -> TaxCode:
    """The tax code a refunded amount carries: that of the order line it refunds. Tax refunded on an amount
    whose order line charged none (or is not known) is an unknown tax treatment."""
    code = tax_code_for(taxes, config, what)
    if tax and code.rate == 0:
        raise Unreproducible(
            "unknown-tax",
            f"{what}: the channel refunded {tax} of tax on an amount it charged no known tax on",
            {"tax": str(tax)},
        )
    return code


def refund_tenders(refund: RefundCommerce) -> list[tuple[str, Decimal]]:
    """The channel's successful refund transactions, as (tender, amount) in the order they were made."""
    return [(p.tender, p.amount) for p in refund.payments if p.settled and p.kind == "refund" and p.amount > 0]


def refund_of_return(
    commerce: OrderCommerce, return_id: str, lines: Sequence[tuple[int, int]], returned: Mapping[int, int]
) -> RefundCommerce | None:
    """What a return booked here (no channel refund came with it) gives back, at the channel's own figures:
    per returned line (order line no, units; ``returned``: units of each line returned before) the units'
    share of the line's amount
    after discounts and of its tax, sliced per unit exactly as the invoices sliced them. So the credit note
    equals what those units were invoiced at, and a marketplace told of the return (Amazon's payment
    adjustment) is told the same figures. None when a returned line is not one of the channel's."""
    currency = commerce.currency
    out: list[RefundedLine] = []
    taken = dict(returned)
    for number, units in lines:
        line = commerce.line_for(number)
        if line is None or units <= 0:
            return None
        before = taken.get(number, 0)
        taken[number] = before + units
        amount = _slice(line.gross - line.discount, line.qty, before, units, currency)
        tax = _slice(line.tax, line.qty, before, units, currency)
        out.append(RefundedLine(line.line_id, units, amount, tax, number, line.sku, line.title))
    return RefundCommerce(commerce.source, return_id, currency, tuple(out), taxes_included=commerce.taxes_included)
