"""Documents equal the channel's numbers (issue 17), on Shopify's real payload shapes: the order and refund
bodies are the shopify.dev samples in tests/fixtures, with their money fields set (in the test) to the
amounts of the order the finance lead tried: an 18.00 discount and 10.00 shipping, Shopify's total 170.00."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from seamline.channels.shopify import mapper
from seamline.domain.commerce import OrderCommerce, RefundCommerce
from seamline.finance import Document, DocumentKind, FinanceConfig, Posting, TaxCode, document_entry
from seamline.finance.channel import Unreproducible, credit_note_lines, invoice_lines
from seamline.finance.journal import trial_balance
from tests.paths import FIXTURES

D = Decimal
VAT20 = TaxCode("VAT20", D("0.2"), "VAT 20%")
STATE6 = TaxCode("ST6", D("0.06"), "State tax 6%")
CONFIG = FinanceConfig(tax_codes={"NONE": TaxCode("NONE", D(0), "No tax"), "VAT20": VAT20, "ST6": STATE6})


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "shopify" / name).read_text())
    return data


def _money_set(amount: str, currency: str = "USD") -> dict[str, Any]:
    return {
        "shop_money": {"amount": amount, "currency_code": currency},
        "presentment_money": {"amount": amount, "currency_code": currency},
    }


def _tax(title: str, rate: float, amount: str) -> dict[str, Any]:
    # Shopify sends the rate as a JSON number (0.06), the amount as a string with its *_set twin.
    return {"title": title, "rate": rate, "price": amount, "price_set": _money_set(amount)}


def _alloc(amount: str, index: int = 0) -> dict[str, Any]:
    return {"amount": amount, "amount_set": _money_set(amount), "discount_application_index": index}


def shopify_order(
    lines: list[tuple[str, str, int, str, list[dict[str, Any]]]],
    *,
    discounts: dict[str, str],
    shipping: str,
    total: str,
    taxes_included: bool = False,
    shipping_taxes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The fixture's order with its line items replaced by ``(sku, price, qty, id, tax lines)``, a
    discount code allocated per ``discounts`` (line id → amount) and one shipping line."""
    order = _load("orders_create.json")
    template = order["line_items"][0]
    items = []
    for sku, price, qty, line_id, taxes in lines:
        item = copy.deepcopy(template)
        item.update(
            id=int(line_id),
            sku=sku,
            price=price,
            price_set=_money_set(price),
            quantity=qty,
            variant_id=int(line_id) + 1,
            tax_lines=taxes,
            discount_allocations=[_alloc(discounts[line_id])] if line_id in discounts else [],
        )
        items.append(item)
    order["line_items"] = items
    order["discount_applications"] = [{"type": "discount_code", "code": "SPRING18", "value": "18.0"}]
    ship = order["shipping_lines"][0]
    ship.update(
        price=shipping,
        price_set=_money_set(shipping),
        discounted_price=shipping,
        discounted_price_set=_money_set(shipping),
        tax_lines=shipping_taxes or [],
    )
    order.update(
        total_price=total,
        total_price_set=_money_set(total),
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
    adjustments: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    """The fixture's refund with ``(line id, qty, subtotal, tax)`` lines, a shipping refund (amount, tax),
    order adjustments (kind, amount, tax) and one successful refund transaction of ``refunded``."""
    refund = _load("refunds_create.json")
    template = refund["refund_line_items"][0]
    items = []
    for line_id, qty, subtotal, tax in lines:
        item = copy.deepcopy(template)
        item.update(
            line_item_id=int(line_id),
            quantity=qty,
            subtotal=float(subtotal),
            subtotal_set=_money_set(subtotal),
            total_tax=float(tax),
            total_tax_set=_money_set(tax),
        )
        item["line_item"]["id"] = int(line_id)
        items.append(item)
    refund["refund_line_items"] = items
    if shipping is not None:
        refund["refund_shipping_lines"] = [
            {
                "id": 1,
                "shipping_line_id": 271878346596884015,
                "subtotal_amount_set": _money_set(shipping[0]),
                "tax_amount_set": _money_set(shipping[1]),
            }
        ]
    refund["order_adjustments"] = [
        {"id": i, "kind": kind, "reason": kind, "amount": amount, "amount_set": _money_set(amount),
         "tax_amount": tax, "tax_amount_set": _money_set(tax)}
        for i, (kind, amount, tax) in enumerate(adjustments, start=1)
    ]
    txn = refund["transactions"][0]
    txn.update(amount=refunded, gateway="shopify_payments")
    refund["transactions"] = [txn]
    return refund


def refund_of(refund: dict[str, Any]) -> RefundCommerce:
    commerce = mapper.map_refund(refund).refund.commerce
    assert commerce is not None
    return commerce


def _doc(kind: DocumentKind, lines: Any, total: Decimal) -> Document:
    return Document("doc_1", kind, "USD", date(2026, 12, 7), Posting.JOURNAL, total, lines, number="X-1")


def _balanced(doc: Document) -> None:
    entry = document_entry(doc, CONFIG)
    assert entry is not None
    assert sum((line.debit for line in entry.lines), D(0)) == sum((line.credit for line in entry.lines), D(0))


# -- the reported order: 178.00 at list, 18.00 off, 10.00 shipping, Shopify says 170.00 ---------------------
REPORTED = shopify_order(
    [("TEE-NAVY-M", "90.00", 1, "1001", []), ("HOOD-GREY-L", "44.00", 2, "1002", [])],
    discounts={"1001": "9.00", "1002": "9.00"},
    shipping="10.00",
    total="170.00",
)


def test_the_reported_order_invoices_at_shopifys_total_not_at_list() -> None:
    commerce = commerce_of(REPORTED)
    assert commerce.channel_total == D("170.00")
    doc = invoice_lines(commerce, "USD", CONFIG, {1: 1, 2: 2}, {}, first=True)
    assert doc.total == D("170.00")  # was 178.00: the discount and the shipping were ignored
    assert doc.channel_total == D("170.00")
    assert [(li.sku, li.gross, li.discount) for li in doc.lines] == [
        ("TEE-NAVY-M", D("81.00"), D("9.00")),
        ("HOOD-GREY-L", D("79.00"), D("9.00")),
        ("shipping", D("10.00"), D("0")),
    ]
    _balanced(_doc(DocumentKind.INVOICE, doc.lines, doc.total))


def test_a_partial_shipment_takes_its_units_share_and_the_parts_add_up_to_the_channel() -> None:
    commerce = commerce_of(REPORTED)
    first = invoice_lines(commerce, "USD", CONFIG, {2: 1}, {}, first=True)
    second = invoice_lines(commerce, "USD", CONFIG, {1: 1, 2: 1}, {2: 1}, first=False)
    # 9.00 of discount on two hoodies: 4.50 each; shipping goes on the first invoice only.
    assert [li.gross for li in first.lines] == [D("39.50"), D("10.00")]
    assert first.channel_total is None and second.channel_total is None
    assert first.total + second.total == D("170.00")


def test_an_odd_cent_discount_split_over_units_loses_no_cent() -> None:
    order = shopify_order(
        [("TEE-NAVY-M", "10.00", 3, "1001", [])], discounts={"1001": "1.00"}, shipping="0.00", total="29.00"
    )
    commerce = commerce_of(order)
    parts = [invoice_lines(commerce, "USD", CONFIG, {1: 1}, {1: i}, first=i == 0).total for i in range(3)]
    assert sorted(parts) == [D("9.66"), D("9.67"), D("9.67")]
    assert sum(parts) == D("29.00")


def test_tax_exclusive_uses_shopifys_tax_lines_and_taxes_shipping() -> None:
    # US: 6 % state tax on each line (Shopify rounds per line) and on shipping.
    order = shopify_order(
        [
            ("TEE-NAVY-M", "90.00", 1, "1001", [_tax("State Tax", 0.06, "4.86")]),
            ("HOOD-GREY-L", "44.00", 2, "1002", [_tax("State Tax", 0.06, "4.74")]),
        ],
        discounts={"1001": "9.00", "1002": "9.00"},
        shipping="10.00",
        shipping_taxes=[_tax("State Tax", 0.06, "0.60")],
        total="180.20",
    )
    doc = invoice_lines(commerce_of(order), "USD", CONFIG, {1: 1, 2: 2}, {}, first=True)
    assert doc.total == D("180.20")
    assert {li.tax_code for li in doc.lines} == {"ST6"}
    assert sum((li.tax for li in doc.lines), D(0)) == D("10.20")
    _balanced(_doc(DocumentKind.INVOICE, doc.lines, doc.total))


def test_tax_inclusive_takes_shopifys_tax_out_of_the_price() -> None:
    # UK: prices include 20 % VAT; Shopify's tax on 81.00 is 13.50, on 79.00 is 13.17, on shipping 1.67.
    order = shopify_order(
        [
            ("TEE-NAVY-M", "90.00", 1, "1001", [_tax("VAT", 0.2, "13.50")]),
            ("HOOD-GREY-L", "44.00", 2, "1002", [_tax("VAT", 0.2, "13.17")]),
        ],
        discounts={"1001": "9.00", "1002": "9.00"},
        shipping="10.00",
        shipping_taxes=[_tax("VAT", 0.2, "1.67")],
        total="170.00",
        taxes_included=True,
    )
    doc = invoice_lines(commerce_of(order), "USD", CONFIG, {1: 1, 2: 2}, {}, first=True)
    assert doc.total == D("170.00")
    assert [li.net for li in doc.lines] == [D("67.50"), D("65.83"), D("8.33")]
    assert doc.lines[0].discount == D("7.50")  # 9.00 off at 20 % is 7.50 of revenue
    _balanced(_doc(DocumentKind.INVOICE, doc.lines, doc.total))


def test_a_tax_rate_the_chart_does_not_know_holds_with_the_reason() -> None:
    order = shopify_order(
        [("TEE-NAVY-M", "90.00", 1, "1001", [_tax("County Tax", 0.0725, "6.53")])],
        discounts={},
        shipping="0.00",
        total="96.53",
    )
    with pytest.raises(Unreproducible) as caught:
        invoice_lines(commerce_of(order), "USD", CONFIG, {1: 1}, {}, first=True)
    assert caught.value.reason == "unknown-tax"
    assert "0.0725" in caught.value.detail


def test_shopifys_own_sample_does_not_add_up_and_is_held_not_posted() -> None:
    # The shopify.dev sample order: lines 414.95, shipping 10.00 discounted to 0.00, total_price 404.95.
    order = _load("orders_create.json")
    mapped = mapper.map_order(order)
    assert mapped.order.commerce is not None
    with pytest.raises(Unreproducible) as caught:
        invoice_lines(mapped.order.commerce, "USD", CONFIG, {1: 1, 2: 1, 3: 1}, {}, first=True)
    assert caught.value.reason == "channel-total"
    assert caught.value.figures == {"computed_total": "414.95", "channel_total": "404.95"}


def test_the_reported_refund_credits_what_shopify_refunded() -> None:
    # 81.00 for the tee, of which Shopify kept 1.00 back (a refund discrepancy): 80.00 refunded.
    refund = refund_of(
        shopify_refund([("1001", 1, "81.00", "0.00")], refunded="80.00", adjustments=[("refund_discrepancy", "1.00", "0.00")])
    )
    doc = credit_note_lines(refund, commerce_of(REPORTED), "USD", CONFIG)
    assert doc.total == D("80.00")  # was 89.00: the list price, not what was refunded
    assert doc.channel_total == D("80.00")
    _balanced(_doc(DocumentKind.CREDIT_NOTE, doc.lines, doc.total))


def test_a_partial_refund_with_a_shipping_refund_taxed() -> None:
    order = shopify_order(
        [("HOOD-GREY-L", "44.00", 2, "1002", [_tax("State Tax", 0.06, "4.74")])],
        discounts={"1002": "9.00"},
        shipping="10.00",
        shipping_taxes=[_tax("State Tax", 0.06, "0.60")],
        total="94.34",
    )
    refund = refund_of(
        shopify_refund([("1002", 1, "39.50", "2.37")], refunded="52.47", shipping=("10.00", "0.60"))
    )
    doc = credit_note_lines(refund, commerce_of(order), "USD", CONFIG)
    assert doc.total == D("52.47")
    assert [(li.sku, li.gross, li.tax) for li in doc.lines] == [
        ("HOOD-GREY-L", D("41.87"), D("2.37")),
        ("shipping", D("10.60"), D("0.60")),
    ]
    _balanced(_doc(DocumentKind.CREDIT_NOTE, doc.lines, doc.total))


def test_a_legacy_shipping_refund_adjustment_is_money_back() -> None:
    # Before API 2024-10 a shipping refund is an order adjustment of kind shipping_refund, amount negative.
    refund = refund_of(
        shopify_refund([("1001", 1, "81.00", "0.00")], refunded="91.00", adjustments=[("shipping_refund", "-10.00", "0.00")])
    )
    doc = credit_note_lines(refund, commerce_of(REPORTED), "USD", CONFIG)
    assert doc.total == D("91.00")


def test_a_refund_that_does_not_add_up_is_held() -> None:
    # The shopify.dev sample refund: 414.95 of lines, 85.00 of transactions.
    refund = refund_of(_load("refunds_create.json"))
    with pytest.raises(Unreproducible) as caught:
        credit_note_lines(refund, None, "USD", CONFIG)
    assert caught.value.reason == "refund-total"
    assert caught.value.figures["channel_total"] == "85.00"


def test_payments_come_from_what_shopify_took() -> None:
    commerce = commerce_of(REPORTED)
    assert [(p.tender, p.amount) for p in commerce.payments] == [("shopify_payments", D("170.00"))]
    unpaid = commerce_of({**REPORTED, "financial_status": "pending"})
    assert unpaid.payments == ()


def test_commerce_round_trips_through_json() -> None:
    commerce = commerce_of(REPORTED)
    assert OrderCommerce.from_json(json.loads(json.dumps(commerce.as_json()))) == commerce
    refund = refund_of(shopify_refund([("1001", 1, "81.00", "0.00")], refunded="81.00"))
    assert RefundCommerce.from_json(json.loads(json.dumps(refund.as_json()))) == refund


def test_the_journal_of_invoice_and_credit_note_balances_in_total() -> None:
    commerce = commerce_of(REPORTED)
    inv = invoice_lines(commerce, "USD", CONFIG, {1: 1, 2: 2}, {}, first=True)
    cn = credit_note_lines(refund_of(shopify_refund([("1001", 1, "81.00", "0.00")], refunded="81.00")), commerce, "USD", CONFIG)
    entries = [
        document_entry(_doc(DocumentKind.INVOICE, inv.lines, inv.total), CONFIG),
        document_entry(_doc(DocumentKind.CREDIT_NOTE, cn.lines, cn.total), CONFIG),
    ]
    balances = trial_balance([e for e in entries if e is not None])
    assert balances[(CONFIG.account("receivable"), "USD")] == D("89.00")  # 170.00 invoiced less 81.00 credited
