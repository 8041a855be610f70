"""The Mirakl order's money (OR11) as the operator computed it, and the slices of it sent back (OR30, OR28)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from seamline.channels.mirakl.commerce import (
    CommerceError,
    TakenLine,
    adjustment,
    order_commerce,
    shipping_given_back,
    with_shipping_back,
)
from seamline.finance.channel import Unreproducible, check_order


def line(line_id: str, sku: str, qty: int, unit: str, price: str, **extra: Any) -> dict[str, Any]:
    return {
        "order_line_id": line_id,
        "offer_sku": sku,
        "quantity": qty,
        "price_unit": float(unit),
        "price": float(price),
        "order_line_state": "WAITING_ACCEPTANCE",
        **extra,
    }


def vat(amount: str, rate: float = 19.0) -> list[dict[str, Any]]:
    return [{"code": "VAT19", "rate": rate, "amount": float(amount)}]


def included_order() -> dict[str, Any]:
    return {
        "order_id": "O-1-A",
        "commercial_id": "O-1",
        "currency_iso_code": "EUR",
        "order_tax_mode": "TAX_INCLUDED",
        "total_price": 340.95,
        "order_lines": [
            line(
                "O-1-A-1",
                "M",
                2,
                "89.00",
                "178.00",
                taxes=vat("28.42"),
                shipping_price=4.95,
                shipping_taxes=vat("0.79"),
                total_price=182.95,
            ),
            line(
                "O-1-A-2",
                "L",
                1,
                "79.00",
                "69.00",
                taxes=vat("11.02"),
                total_price=69.0,
                promotions=[{"id": "P1", "promo_code": "SPRING10", "deduced_amount": 10.0}],
            ),
            line("O-1-A-3", "XL", 1, "89.00", "89.00", taxes=vat("14.21"), total_price=89.0),
        ],
        "customer": {
            "customer_id": "C-1",
            "firstname": "Ada",
            "lastname": "Lovelace",
            "shipping_address": {
                "street_1": "1 Rue",
                "city": "Paris",
                "zip_code": "75001",
                "country_iso_code": "FRA",
                "firstname": "Ada",
                "lastname": "L",
            },
        },
    }


TAKEN = {"O-1-A-1": TakenLine(1, "M"), "O-1-A-2": TakenLine(2, "L"), "O-1-A-3": TakenLine(3, "XL")}


def test_a_tax_included_order_is_carried_at_the_operators_numbers_and_adds_up_to_its_total() -> None:
    commerce = order_commerce(included_order(), TAKEN, tax_mode="TAX_INCLUDED")
    assert (commerce.taxes_included, commerce.currency) == (True, "EUR")
    assert commerce.channel_total == Decimal("340.95")
    promo = commerce.lines[1]
    assert (promo.unit_price, promo.discount, promo.discounts[0].source) == (
        Decimal("79.0"),
        Decimal("10.0"),
        "SPRING10",
    )
    assert [(t.title, t.rate, t.amount) for t in promo.tax_lines] == [("VAT19", Decimal("0.19"), Decimal("11.02"))]
    assert [(s.price, s.tax) for s in commerce.shipping] == [(Decimal("4.95"), Decimal("0.79"))]
    assert commerce.ship_to is not None
    assert commerce.ship_to.country == "FRA"
    check_order(commerce, "EUR")  # lines + shipping == the operator's total: nothing to hold


def test_a_line_refused_is_left_out_of_the_lines_and_of_the_total() -> None:
    taken = {k: v for k, v in TAKEN.items() if k != "O-1-A-3"}
    commerce = order_commerce(included_order(), taken, tax_mode="TAX_INCLUDED")
    assert [li.sku for li in commerce.lines] == ["M", "L"]
    assert commerce.channel_total == Decimal("251.95")
    check_order(commerce, "EUR")


def test_a_tax_excluded_order_adds_its_taxes_to_what_the_buyer_paid() -> None:
    body = {
        "order_id": "O-2-A",
        "currency_iso_code": "EUR",
        "order_tax_mode": "TAX_EXCLUDED",
        "total_price": 105.0,
        "order_lines": [
            line(
                "O-2-A-1",
                "M",
                1,
                "100.00",
                "100.00",
                taxes=vat("19.00"),
                shipping_price=5.0,
                shipping_taxes=vat("0.95"),
                total_price=105.0,
            ),
        ],
    }
    commerce = order_commerce(body, {"O-2-A-1": TakenLine(1, "M")}, tax_mode="TAX_INCLUDED")
    assert not commerce.taxes_included
    assert commerce.channel_total == Decimal("124.95")
    check_order(commerce, "EUR")


def test_an_operator_total_the_lines_do_not_reach_is_held_by_finance_not_posted() -> None:
    body = included_order()
    body["total_price"] = 345.95  # a fee the lines do not carry
    commerce = order_commerce(body, TAKEN, tax_mode="TAX_INCLUDED")
    with pytest.raises(Unreproducible, match="order total is 345.95"):
        check_order(commerce, "EUR")


def test_a_tax_without_a_rate_gets_the_rate_its_amount_means_and_a_bad_amount_is_refused() -> None:
    body = included_order()
    body["order_lines"][2]["taxes"] = [{"code": "VAT19", "amount": 14.21}]
    commerce = order_commerce(body, TAKEN, tax_mode="TAX_INCLUDED")
    assert commerce.lines[2].tax_lines[0].rate == Decimal("0.1900")
    body["order_lines"][2]["taxes"] = [{"code": "VAT19", "amount": "lots"}]
    with pytest.raises(CommerceError, match="not an amount"):
        order_commerce(body, TAKEN, tax_mode="TAX_INCLUDED")


def test_cancellations_and_refunds_send_the_operators_amounts_for_the_units_split_to_the_cent() -> None:
    commerce = order_commerce(included_order(), TAKEN, tax_mode="TAX_INCLUDED")
    first = commerce.lines[0]
    one = adjustment(commerce, first, 0, 1, reason_code="17", with_shipping=False)
    two = adjustment(commerce, first, 1, 1, reason_code="17", with_shipping=False)
    assert (one["amount"], two["amount"]) == ("89.00", "89.00")
    # 28.42 of tax over two units: 14.21 each, and the two slices add up to the line's tax.
    assert [t["amount"] for t in one["taxes"]] == ["14.21"]
    assert [t["amount"] for t in two["taxes"]] == ["14.21"]
    whole = adjustment(commerce, first, 0, 2, reason_code="35", with_shipping=True)
    assert (whole["amount"], whole["shipping_amount"], whole["reason_code"]) == ("178.00", "4.95", "35")
    assert whole["shipping_taxes"] == [{"code": "VAT19", "amount": "0.79"}]


def test_items_that_leave_the_buyer_nothing_give_back_each_lines_shipping_once() -> None:
    commerce = order_commerce(included_order(), TAKEN, tax_mode="TAX_INCLUDED")
    second = commerce.lines[1]
    items = [adjustment(commerce, second, 0, 1, reason_code="17", with_shipping=False)]
    # Line 1 went back before (its units, not its shipping): its shipping goes now, alone, quantity 0.
    out = with_shipping_back(commerce, items, {"O-1-A-1": Decimal(0), "O-1-A-2": Decimal(0)}, reason_code="17")
    assert [(x["order_line_id"], x["quantity"], x["amount"], x["shipping_amount"]) for x in out] == [
        ("O-1-A-2", 1, "69.00", "0"),
        ("O-1-A-1", 0, "0", "4.95"),
    ]
    assert out[1]["shipping_taxes"] == [{"code": "VAT19", "amount": "0.79"}]
    assert items[0]["shipping_amount"] == "0", "the items given are not changed"
    # Its shipping given back already (Mirakl shows it): nothing more.
    assert with_shipping_back(commerce, items, {"O-1-A-1": Decimal("4.95")}, reason_code="17") == items


def test_the_shipping_given_back_is_read_from_the_lines_refunds_and_cancellations() -> None:
    body = included_order()
    body["order_lines"][0]["refunds"] = [{"quantity": 1, "amount": 89.0, "shipping_amount": 0.0}]
    body["order_lines"][0]["cancelations"] = [{"quantity": 1, "amount": 89.0, "shipping_amount": 4.95}]
    assert shipping_given_back(body) == {"O-1-A-1": Decimal("4.95"), "O-1-A-2": Decimal(0), "O-1-A-3": Decimal(0)}
