"""Shopify order and refund bodies with their money set: the shopify.dev samples in tests/fixtures (real
payload shapes), with the amounts a test needs derived in code (the fixtures stay unedited)."""

from __future__ import annotations

import copy
import json
from typing import Any

from seamline.channels.shopify import mapper
from seamline.domain.commerce import OrderCommerce, RefundCommerce
from tests.paths import FIXTURES

CURRENCY = "USD"


def load_fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "shopify" / name).read_text())
    return data


def _money_set(amount: str, currency: str = CURRENCY) -> dict[str, Any]:
    return {
        "shop_money": {"amount": amount, "currency_code": currency},
        "presentment_money": {"amount": amount, "currency_code": currency},
    }


def tax_line(title: str, rate: float, amount: str, currency: str = CURRENCY) -> dict[str, Any]:
    # Shopify sends the rate as a JSON number (0.06), the amount as a string with its *_set twin.
    return {"title": title, "rate": rate, "price": amount, "price_set": _money_set(amount, currency)}


def _alloc(amount: str, currency: str, index: int = 0) -> dict[str, Any]:
    return {"amount": amount, "amount_set": _money_set(amount, currency), "discount_application_index": index}


def shopify_order(
    lines: list[tuple[str, str, int, str, list[dict[str, Any]]]],
    *,
    discounts: dict[str, str],
    shipping: str,
    total: str,
    taxes_included: bool = False,
    shipping_taxes: list[dict[str, Any]] | None = None,
    currency: str = CURRENCY,
) -> dict[str, Any]:
    """The fixture's order with its line items replaced by ``(sku, price, qty, id, tax lines)``, a
    discount code allocated per ``discounts`` (line id → amount) and one shipping line."""
    order = load_fixture("orders_create.json")
    template = order["line_items"][0]
    items = []
    for sku, price, qty, line_id, taxes in lines:
        item = copy.deepcopy(template)
        item.update(
            id=int(line_id),
            sku=sku,
            price=price,
            price_set=_money_set(price, currency),
            quantity=qty,
            variant_id=int(line_id) + 1,
            tax_lines=taxes,
            discount_allocations=[_alloc(discounts[line_id], currency)] if line_id in discounts else [],
        )
        items.append(item)
    order["line_items"] = items
    order["discount_applications"] = [{"type": "discount_code", "code": "SPRING18", "value": "18.0"}]
    ship = order["shipping_lines"][0]
    ship.update(
        price=shipping,
        price_set=_money_set(shipping, currency),
        discounted_price=shipping,
        discounted_price_set=_money_set(shipping, currency),
        tax_lines=shipping_taxes or [],
    )
    order.update(
        currency=currency,
        presentment_currency=currency,
        total_price=total,
        total_price_set=_money_set(total, currency),
        taxes_included=taxes_included,
        financial_status="paid",
        total_outstanding="0.00",
        payment_gateway_names=["shopify_payments"],
    )
    return order


def commerce_of(order: dict[str, Any]) -> OrderCommerce:
    commerce = mapper.map_order(order).order.commerce
    assert commerce is not None
    return commerce


def shopify_refund(
    lines: list[tuple[str, int, str, str]],
    *,
    refunded: str,
    shipping: tuple[str, str] | None = None,
    adjustments: tuple[tuple[str, str, str], ...] = (),
    currency: str = CURRENCY,
) -> dict[str, Any]:
    """The fixture's refund with ``(line id, qty, subtotal, tax)`` lines, a shipping refund (amount, tax),
    order adjustments (kind, amount, tax) and one successful refund transaction of ``refunded``."""
    refund = load_fixture("refunds_create.json")
    template = refund["refund_line_items"][0]
    items = []
    for line_id, qty, subtotal, tax in lines:
        item = copy.deepcopy(template)
        item.update(
            line_item_id=int(line_id),
            quantity=qty,
            subtotal=float(subtotal),
            subtotal_set=_money_set(subtotal, currency),
            total_tax=float(tax),
            total_tax_set=_money_set(tax, currency),
        )
        item["line_item"]["id"] = int(line_id)
        items.append(item)
    refund["refund_line_items"] = items
    if shipping is not None:
        refund["refund_shipping_lines"] = [
            {
                "id": 1,
                "shipping_line_id": 271878346596884015,
                "subtotal_amount_set": _money_set(shipping[0], currency),
                "tax_amount_set": _money_set(shipping[1], currency),
            }
        ]
    refund["order_adjustments"] = [
        {
            "id": i,
            "kind": kind,
            "reason": kind,
            "amount": amount,
            "amount_set": _money_set(amount, currency),
            "tax_amount": tax,
            "tax_amount_set": _money_set(tax, currency),
        }
        for i, (kind, amount, tax) in enumerate(adjustments, start=1)
    ]
    txn = refund["transactions"][0]
    txn.update(amount=refunded, gateway="shopify_payments", currency=currency)
    refund["transactions"] = [txn]
    return refund


def refund_of(refund: dict[str, Any]) -> RefundCommerce:
    commerce = mapper.map_refund(refund).refund.commerce
    assert commerce is not None
    return commerce
