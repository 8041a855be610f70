"""Documents equal the channel's numbers (issue 17), on Shopify's real payload shapes: the order and refund
bodies are the shopify.dev samples in tests/fixtures, with their money fields set (in the test) to the
amounts of the order the finance lead tried: an 18.00 discount and 10.00 shipping, Shopify's total 170.00."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seamline.channels.shopify import mapper
from seamline.domain.commerce import (
    CommerceLine,
    DiscountAllocation,
    OrderCommerce,
    RefundCommerce,
    ShippingLine,
    TaxLine,
)
from seamline.finance import Document, DocumentKind, FinanceConfig, Posting, TaxCode, document_entry
from seamline.finance.channel import Unreproducible, credit_note_lines, invoice_lines, refund_of_return
from seamline.finance.journal import trial_balance
from tests.shopify_payloads import commerce_of, load_fixture, refund_of, shopify_order, shopify_refund, tax_line

D = Decimal
VAT20 = TaxCode("VAT20", D("0.2"), "VAT 20%")
STATE6 = TaxCode("ST6", D("0.06"), "State tax 6%")
CONFIG = FinanceConfig(tax_codes={"NONE": TaxCode("NONE", D(0), "No tax"), "VAT20": VAT20, "ST6": STATE6})


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
    assert first.channel_total is None
    assert second.channel_total is None
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
            ("TEE-NAVY-M", "90.00", 1, "1001", [tax_line("State Tax", 0.06, "4.86")]),
            ("HOOD-GREY-L", "44.00", 2, "1002", [tax_line("State Tax", 0.06, "4.74")]),
        ],
        discounts={"1001": "9.00", "1002": "9.00"},
        shipping="10.00",
        shipping_taxes=[tax_line("State Tax", 0.06, "0.60")],
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
            ("TEE-NAVY-M", "90.00", 1, "1001", [tax_line("VAT", 0.2, "13.50")]),
            ("HOOD-GREY-L", "44.00", 2, "1002", [tax_line("VAT", 0.2, "13.17")]),
        ],
        discounts={"1001": "9.00", "1002": "9.00"},
        shipping="10.00",
        shipping_taxes=[tax_line("VAT", 0.2, "1.67")],
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
        [("TEE-NAVY-M", "90.00", 1, "1001", [tax_line("County Tax", 0.0725, "6.53")])],
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
    order = load_fixture("orders_create.json")
    mapped = mapper.map_order(order)
    assert mapped.order.commerce is not None
    with pytest.raises(Unreproducible) as caught:
        invoice_lines(mapped.order.commerce, "USD", CONFIG, {1: 1, 2: 1, 3: 1}, {}, first=True)
    assert caught.value.reason == "channel-total"
    assert caught.value.figures == {"computed_total": "414.95", "channel_total": "404.95"}


def test_the_reported_refund_credits_what_shopify_refunded() -> None:
    # 81.00 for the tee, of which Shopify kept 1.00 back (a refund discrepancy): 80.00 refunded.
    adjustments = (("refund_discrepancy", "1.00", "0.00"),)
    refund = refund_of(shopify_refund([("1001", 1, "81.00", "0.00")], refunded="80.00", adjustments=adjustments))
    doc = credit_note_lines(refund, commerce_of(REPORTED), "USD", CONFIG)
    assert doc.total == D("80.00")  # was 89.00: the list price, not what was refunded
    assert doc.channel_total == D("80.00")
    _balanced(_doc(DocumentKind.CREDIT_NOTE, doc.lines, doc.total))


def test_a_partial_refund_with_a_shipping_refund_taxed() -> None:
    order = shopify_order(
        [("HOOD-GREY-L", "44.00", 2, "1002", [tax_line("State Tax", 0.06, "4.74")])],
        discounts={"1002": "9.00"},
        shipping="10.00",
        shipping_taxes=[tax_line("State Tax", 0.06, "0.60")],
        total="94.34",
    )
    refund = refund_of(shopify_refund([("1002", 1, "39.50", "2.37")], refunded="52.47", shipping=("10.00", "0.60")))
    doc = credit_note_lines(refund, commerce_of(order), "USD", CONFIG)
    assert doc.total == D("52.47")
    assert [(li.sku, li.gross, li.tax) for li in doc.lines] == [
        ("HOOD-GREY-L", D("41.87"), D("2.37")),
        ("shipping", D("10.60"), D("0.60")),
    ]
    _balanced(_doc(DocumentKind.CREDIT_NOTE, doc.lines, doc.total))


def test_a_legacy_shipping_refund_adjustment_is_money_back() -> None:
    # Before API 2024-10 a shipping refund is an order adjustment of kind shipping_refund, amount negative.
    adjustments = (("shipping_refund", "-10.00", "0.00"),)
    refund = refund_of(shopify_refund([("1001", 1, "81.00", "0.00")], refunded="91.00", adjustments=adjustments))
    doc = credit_note_lines(refund, commerce_of(REPORTED), "USD", CONFIG)
    assert doc.total == D("91.00")


def test_a_refund_that_does_not_add_up_is_held() -> None:
    # The shopify.dev sample refund: 414.95 of lines, 85.00 of transactions.
    refund = refund_of(load_fixture("refunds_create.json"))
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
    refund = refund_of(shopify_refund([("1001", 1, "81.00", "0.00")], refunded="81.00"))
    cn = credit_note_lines(refund, commerce, "USD", CONFIG)
    entries = [
        document_entry(_doc(DocumentKind.INVOICE, inv.lines, inv.total), CONFIG),
        document_entry(_doc(DocumentKind.CREDIT_NOTE, cn.lines, cn.total), CONFIG),
    ]
    balances = trial_balance([e for e in entries if e is not None])
    assert balances[(CONFIG.account("receivable"), "USD")] == D("89.00")  # 170.00 invoiced less 81.00 credited


# -- any order, shipped in any parts, is invoiced to exactly the channel's total ------------------------------
@st.composite
def channel_orders(draw: st.DrawFn) -> tuple[OrderCommerce, list[dict[int, int]]]:
    """A channel order with per-line discounts and tax as a channel rounds them (per line, to the cent),
    shipping, inclusive or exclusive tax; and its units shipped in random parts."""
    inclusive = draw(st.booleans())
    rate = draw(st.sampled_from([D(0), D("0.06"), D("0.2")]))
    lines = []
    total = D(0)
    for no in range(1, draw(st.integers(1, 4)) + 1):
        qty = draw(st.integers(1, 7))
        price = D(draw(st.integers(1, 30000))) / 100
        gross = price * qty
        discount = D(draw(st.integers(0, int(gross * 100)))) / 100
        base = gross - discount
        tax = (base - base / (1 + rate) if inclusive else base * rate).quantize(D("0.01"))
        lines.append(
            CommerceLine(
                str(no),
                f"line {no}",
                qty,
                price,
                f"SKU-{no}",
                no,
                discounts=(DiscountAllocation(discount, "CODE"),) if discount else (),
                tax_lines=(TaxLine("tax", rate, tax),) if rate else (),
            )
        )
        total += base + (D(0) if inclusive else tax)
    ship_price = D(draw(st.integers(0, 2000))) / 100
    ship_tax = (ship_price - ship_price / (1 + rate) if inclusive else ship_price * rate).quantize(D("0.01"))
    shipping = (ShippingLine("post", ship_price, (), (TaxLine("tax", rate, ship_tax),) if rate else ()),)
    total += ship_price + (D(0) if inclusive else ship_tax)
    commerce = OrderCommerce("test", "USD", "USD", inclusive, tuple(lines), total, shipping)
    left = {li.order_line_no: li.qty for li in lines}
    parts: list[dict[int, int]] = []
    while any(left.values()):
        part = {no: draw(st.integers(0, n)) for no, n in left.items() if n}
        if not any(part.values()):
            no = next(no for no, n in left.items() if n)
            part[no] = left[no]
        for no, n in part.items():
            left[no] -= n
        parts.append({no: n for no, n in part.items() if n})
    return commerce, parts


@settings(max_examples=300, deadline=None)
@given(channel_orders())
def test_invoices_of_any_order_shipped_in_any_parts_add_up_to_the_channels_total(
    case: tuple[OrderCommerce, list[dict[int, int]]],
) -> None:
    commerce, parts = case
    invoiced: dict[int, int] = {}
    totals = []
    for i, part in enumerate(parts):
        doc = invoice_lines(commerce, "USD", CONFIG, part, invoiced, first=i == 0)
        _balanced(_doc(DocumentKind.INVOICE, doc.lines, doc.total))
        totals.append(doc.total)
        for no, n in part.items():
            invoiced[no] = invoiced.get(no, 0) + n
    assert sum(totals, D(0)) == commerce.channel_total


# -- a return booked here of a channel's order: credited at what the channel charged for those units --------
def test_returns_booked_here_are_credited_unit_by_unit_at_what_the_invoices_charged() -> None:
    line = CommerceLine(
        "item-1",
        "Overshirt",
        3,
        D("30.00"),
        "OVS-M",
        order_line_no=1,
        discounts=(DiscountAllocation(D("10.00"), "promo"),),
        tax_lines=(TaxLine("VAT", D("0.2"), D("16.00")),),
    )
    commerce = OrderCommerce("amazon", "USD", "USD", False, (line,), D("96.00"))
    invoiced = invoice_lines(commerce, "USD", CONFIG, {1: 3}, {}, first=True)
    per_unit = [refund_of_return(commerce, f"ret_{n}", [(1, 1)], {1: n}) for n in range(3)]
    notes = [credit_note_lines(r, commerce, "USD", CONFIG) for r in per_unit if r is not None]
    # One unit at a time, the odd cents first: the three credit notes add up to the invoice exactly.
    assert [n.total for n in notes] == [D("32.01"), D("32.00"), D("31.99")]
    assert sum(n.total for n in notes) == invoiced.total == D("96.00")
    two = refund_of_return(commerce, "ret_x", [(1, 1), (1, 1)], {})
    assert two is not None
    assert [(li.subtotal, li.tax) for li in two.lines] == [(D("26.67"), D("5.34")), (D("26.67"), D("5.33"))]
    assert refund_of_return(commerce, "ret_y", [(2, 1)], {}) is None  # not one of the channel's lines


def test_a_return_of_a_tax_inclusive_order_refunds_the_price_paid_once() -> None:
    line = CommerceLine("l-1", "Tee", 1, D("69.00"), "TEE", 1, tax_lines=(TaxLine("VAT", D("0.19"), D("11.02")),))
    commerce = OrderCommerce("mirakl", "EUR", "EUR", True, (line,), D("69.00"))
    refund = refund_of_return(commerce, "ret_1", [(1, 1)], {})
    assert refund is not None
    assert refund.computed_total == D("69.00")  # the tax is within the price, not added again
    assert RefundCommerce.from_json(refund.as_json()).computed_total == D("69.00")
    assert credit_note_lines(
        refund, commerce, "EUR", FinanceConfig(tax_codes={"V": TaxCode("V", D("0.19"), "19")})
    ).total == D("69.00")
