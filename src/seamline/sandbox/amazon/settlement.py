"""The Settlement report Amazon publishes every settlement period (flat file V2,
``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2``), made from the sandbox's orders.

As Amazon's report: tab separated, a header line, a summary row carrying the settlement's period, its
``deposit-date`` and ``total-amount`` (the sum of every amount below it), then one row per amount. An
item is settled once it has shipped in full (``Order`` rows: ``ItemPrice`` Principal/Tax/Shipping/
ShippingTax, ``Promotion`` Principal/Shipping as negatives, ``ItemFees`` Commission as a negative, and
``FBAPerUnitFulfillmentFee`` for Amazon-fulfilled orders); a seller refund once made (``Refund`` rows: the
components given back as negatives, the commission refunded less Amazon's ``RefundCommission``). Amazon's
referral fee is a percentage of the total sales price (item, shipping and gift wrap, tax included)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from seamline.sandbox.amazon.state import Order, OrderItem

COLUMNS = (
    "settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date", "total-amount", "currency",
    "transaction-type", "order-id", "merchant-order-id", "adjustment-id", "shipment-id", "marketplace-name",
    "amount-type", "amount-description", "amount", "fulfillment-id", "posted-date", "posted-date-time",
    "order-item-code", "merchant-order-item-id", "merchant-adjustment-item-id", "sku", "quantity-purchased",
    "promotion-id",
)  # fmt: skip
CENT = Decimal("0.01")
#: Amazon keeps 20 % of the commission it refunds (capped at 5.00 in the published fee schedule).
REFUND_ADMINISTRATION = Decimal("0.20")


@dataclass(frozen=True)
class Row:
    transaction_type: str
    order_id: str
    amount_type: str
    description: str
    amount: Decimal
    posted: datetime
    item: OrderItem
    adjustment_id: str = ""


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def _money(amount: Decimal) -> str:
    return str(amount.quantize(CENT))


def _commission(item: OrderItem, rate: Decimal) -> Decimal:
    return ((item.proceeds) * rate).quantize(CENT, ROUND_HALF_UP)


def order_rows(order: Order, item: OrderItem, rate: Decimal, fba_fee: Decimal, posted: datetime) -> list[Row]:
    """What Amazon settles for an item that shipped: the buyer's money and the fees taken from it."""
    out = []
    fulfilment = fba_fee * item.quantity if order.fulfillment_channel == "AFN" else Decimal(0)
    for amount_type, description, amount in (
        ("ItemPrice", "Principal", item.unit_price * item.quantity),
        ("ItemPrice", "Tax", item.tax),
        ("ItemPrice", "Shipping", item.shipping),
        ("ItemPrice", "ShippingTax", item.shipping_tax),
        ("Promotion", "Principal", -item.discount),
        ("Promotion", "Shipping", -item.shipping_discount),
        ("ItemFees", "Commission", -_commission(item, rate)),
        ("ItemFees", "FBAPerUnitFulfillmentFee", -fulfilment),
    ):
        if amount:
            out.append(Row("Order", order.amazon_order_id, amount_type, description, Decimal(amount), posted, item))
    return out


def refund_rows(order: Order, item: OrderItem, adjustment: dict[str, object], rate: Decimal, number: int) -> list[Row]:
    """A seller refund as Amazon settles it: the components given back, the commission on them refunded
    less the administration fee Amazon keeps."""
    components = adjustment["components"]
    assert isinstance(components, dict)
    posted = adjustment["postedDate"]
    assert isinstance(posted, datetime)
    ref = f"{order.amazon_order_id}-R{number}"
    out = [
        Row("Refund", order.amazon_order_id, "ItemPrice", kind, -Decimal(amount), posted, item, ref)
        for kind, amount in components.items()
        if amount
    ]
    given = sum((Decimal(a) for a in components.values()), Decimal(0))
    commission = (given * rate).quantize(CENT, ROUND_HALF_UP)
    kept = (commission * REFUND_ADMINISTRATION).quantize(CENT, ROUND_HALF_UP).min(Decimal("5.00"))
    if commission:
        out.append(Row("Refund", order.amazon_order_id, "ItemFees", "Commission", commission, posted, item, ref))
        out.append(Row("Refund", order.amazon_order_id, "ItemFees", "RefundCommission", -kept, posted, item, ref))
    return out


def render(
    settlement_id: str,
    start: datetime,
    end: datetime,
    deposit: datetime,
    currency: str,
    marketplace: str,
    rows: Iterable[Row],
) -> str:
    """The report's text: the header, the summary row, a row per amount."""
    found = list(rows)
    total = sum((r.amount for r in found), Decimal(0))
    lines = ["\t".join(COLUMNS)]
    summary = dict.fromkeys(COLUMNS, "")
    summary.update(
        {
            "settlement-id": settlement_id,
            "settlement-start-date": _stamp(start),
            "settlement-end-date": _stamp(end),
            "deposit-date": _stamp(deposit),
            "total-amount": _money(total),
            "currency": currency,
        }
    )
    lines.append("\t".join(summary[c] for c in COLUMNS))
    for r in found:
        row = dict.fromkeys(COLUMNS, "")
        row.update(
            {
                "settlement-id": settlement_id,
                "currency": currency,
                "transaction-type": r.transaction_type,
                "order-id": r.order_id,
                "adjustment-id": r.adjustment_id,
                "shipment-id": "" if r.adjustment_id else f"S{r.order_id[-7:]}",
                "marketplace-name": marketplace,
                "amount-type": r.amount_type,
                "amount-description": r.description,
                "amount": _money(r.amount),
                "fulfillment-id": "MFN" if r.transaction_type == "Order" else "",
                "posted-date": r.posted.strftime("%Y-%m-%d"),
                "posted-date-time": _stamp(r.posted),
                "order-item-code": r.item.order_item_id,
                "sku": r.item.seller_sku,
                "quantity-purchased": str(r.item.quantity) if r.transaction_type == "Order" else "",
            }
        )
        lines.append("\t".join(row[c] for c in COLUMNS))
    return "\n".join(lines) + "\n"
