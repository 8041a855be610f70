"""The pure finance core: balanced entries, tax out of inclusive prices, exact splits, documents' journals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.domain.errors import InvalidInput
from seamline.finance import (
    Document,
    DocumentKind,
    EntryBuilder,
    FinanceConfig,
    JournalEntry,
    JournalLine,
    Posting,
    PricedLine,
    TaxCode,
    UnbalancedEntry,
    allocate,
    apply_tenders,
    balanced,
    document_entry,
    document_number,
    journal_document,
    priced_lines,
    split_inclusive,
    tender_shares,
    trial_balance,
)

D = Decimal
DAY = date(2026, 11, 27)
VAT = TaxCode("VAT20", D("0.20"), "VAT 20%", "OUTPUT2", "5")
ZERO_RATED = TaxCode("ZERO", D("0"), "Zero rated", "ZERORATEDOUTPUT", "9")
CONFIG = FinanceConfig(tax_codes={"VAT20": VAT, "ZERO": ZERO_RATED}, default_tax_code="VAT20")


def test_an_entry_whose_debits_and_credits_differ_by_a_cent_is_refused() -> None:
    entry = EntryBuilder(DAY, "EUR", "test", "test:1").debit("1100", D("10.00"), "a").credit("4000", D("9.99"), "b")
    with pytest.raises(UnbalancedEntry) as caught:
        entry.build()
    assert caught.value.code == "unbalanced-entry"


def test_signed_amounts_become_one_sided_lines_and_zero_lines_are_left_out() -> None:
    entry = (
        EntryBuilder(DAY, "EUR", "test", "test:1")
        .post("1000", D("-5.00"), "credit")
        .post("6110", D("0"), "nothing")
        .post("6120", D("5.00"), "debit")
        .build()
    )
    assert [(line.account, line.debit, line.credit) for line in entry.lines] == [
        ("1000", D("0"), D("5.00")),
        ("6120", D("5.00"), D("0")),
    ]
    assert entry.total == D("5.00")


def test_a_journal_document_carries_its_entry_and_the_entrys_cause() -> None:
    entry = EntryBuilder(DAY, "EUR", "gift card …1234 issue", "giftcard:gcm_1").debit("1090", D("50.00"), "a")
    built = entry.credit("2170", D("50.00"), "b").build()
    doc = journal_document("doc_1", built, order_id="ord_1", extra={"gift_card": True})
    assert (doc.kind, doc.posting) == (DocumentKind.JOURNAL, Posting.JOURNAL)
    assert (doc.total, doc.currency) == (D("50.00"), "EUR")
    assert (doc.issued_on, doc.memo, doc.source_key, doc.order_id) == (DAY, built.memo, "giftcard:gcm_1", "ord_1")
    assert doc.journal == built.as_json()
    assert doc.extra == {"gift_card": True}


def test_a_line_with_more_precision_than_the_currency_is_refused() -> None:
    entry = JournalEntry(
        DAY, "JPY", "yen", (JournalLine("1", D("1.5"), D(0), "x"), JournalLine("2", D(0), D("1.5"), "y")), "k"
    )
    with pytest.raises(UnbalancedEntry):
        balanced(entry)


def test_tax_comes_out_of_an_inclusive_price_and_net_plus_tax_is_the_price() -> None:
    assert split_inclusive(D("89.00"), D("0.20"), "EUR") == (D("74.17"), D("14.83"))
    assert split_inclusive(D("89.00"), D("0"), "EUR") == (D("89.00"), D("0"))


@given(
    total=st.integers(min_value=-(10**9), max_value=10**9),
    weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=6),
)
def test_an_allocation_adds_up_to_the_total_exactly(total: int, weights: list[int]) -> None:
    amount = D(total).scaleb(-2)
    parts = allocate(amount, [D(w) for w in weights], "EUR")
    assert sum(parts, D(0)) == amount
    assert len(parts) == len(weights)
    if sum(weights):
        assert all(p == 0 for p, w in zip(parts, weights, strict=True) if w == 0)


@given(st.integers(min_value=1, max_value=10**7), st.sampled_from(["0.20", "0.05", "0.075", "0.19", "0"]))
def test_inclusive_tax_always_splits_the_price_exactly(cents: int, rate: str) -> None:
    gross = D(cents).scaleb(-2)
    net, tax = split_inclusive(gross, D(rate), "EUR")
    assert net + tax == gross
    assert tax >= 0


def test_a_line_sold_below_list_books_revenue_at_list_and_the_discount_apart() -> None:
    [line] = priced_lines([PricedLine("SKU", "Navy overshirt M", 2, D("80.00"), VAT, D("89.00"))], "EUR")
    assert (line.gross, line.tax, line.net) == (D("160.00"), D("26.67"), D("133.33"))
    assert (line.list_gross, line.list_net) == (D("178.00"), D("148.33"))
    assert (line.discount_gross, line.discount) == (D("18.00"), D("15.00"))
    assert line.list_net - line.discount == line.net


def test_a_line_sold_above_list_has_no_negative_discount() -> None:
    [line] = priced_lines([PricedLine("SKU", "x", 1, D("95.00"), VAT, D("89.00"))], "EUR")
    assert (line.discount, line.list_gross) == (D(0), D("95.00"))


def invoice(total: str = "160.00") -> Document:
    lines = priced_lines(
        [
            PricedLine("OVS-M", "overshirt", 1, D("80.00"), VAT, D("89.00")),
            PricedLine("TEE-S", "tee", 1, D(total) - D("80.00"), ZERO_RATED),
        ],
        "EUR",
    )
    return Document("doc_1", DocumentKind.INVOICE, "EUR", DAY, Posting.JOURNAL, D(total), lines, number="INV-1")


def test_an_invoice_debits_receivable_and_credits_revenue_at_list_less_discounts_and_tax_per_code() -> None:
    entry = document_entry(invoice(), CONFIG)
    assert entry is not None
    lines = {(line.account, line.memo): line.signed for line in entry.lines}
    assert lines == {
        ("1100", "invoice INV-1"): D("160.00"),
        ("4000", "sales"): D("-154.17"),
        ("4010", "discounts"): D("7.50"),
        ("2200", "tax VAT20"): D("-13.33"),
    }
    assert sum(lines.values()) == 0


def test_a_credit_note_reverses_net_and_tax_against_the_receivable() -> None:
    doc = invoice()
    credit = Document(
        "doc_2", DocumentKind.CREDIT_NOTE, "EUR", DAY, Posting.JOURNAL, doc.total, doc.lines, number="CN-1"
    )
    entry = document_entry(credit, CONFIG)
    assert entry is not None
    assert {line.account: line.signed for line in entry.lines} == {
        "4020": D("146.67"),
        "2200": D("13.33"),
        "1100": D("-160.00"),
    }


def test_a_payment_moves_the_receivable_to_the_tenders_clearing_account() -> None:
    pay = Document(
        "doc_3", DocumentKind.PAYMENT, "EUR", DAY, Posting.JOURNAL, D("50.00"), tenders=(("card", D("50.00")),)
    )
    entry = document_entry(pay, CONFIG)
    assert entry is not None
    assert {line.account: line.signed for line in entry.lines} == {"1010": D("50.00"), "1100": D("-50.00")}


def test_a_till_sale_waits_for_its_settlement() -> None:
    receipt = Document("doc_4", DocumentKind.SALES_RECEIPT, "EUR", DAY, Posting.SETTLEMENT, D("10.00"))
    assert document_entry(receipt, CONFIG) is None


def test_split_tenders_carry_revenue_discount_and_tax_in_proportion_and_add_up_exactly() -> None:
    doc = Document(
        "doc_5",
        DocumentKind.SALES_RECEIPT,
        "EUR",
        DAY,
        Posting.SETTLEMENT,
        D("160.00"),
        invoice().lines,
        tenders=(("cash", D("100.00")), ("card", D("60.00"))),
    )
    shares = tender_shares(doc)
    assert [s.gross for s in shares] == [D("100.00"), D("60.00")]
    assert sum((s.tax["VAT20"] for s in shares), D(0)) == doc.tax_total
    assert sum((s.discount for s in shares), D(0)) == doc.discount_total
    for share in shares:
        assert share.revenue - share.discount + sum(share.tax.values(), D(0)) == share.gross


def test_payments_apply_the_orders_tenders_in_the_order_paid_up_to_what_is_left() -> None:
    tenders = [("gift_card", D("20.00")), ("card", D("140.00"))]
    assert apply_tenders(tenders, {}, D("100.00")) == [("gift_card", D("20.00")), ("card", D("80.00"))]
    assert apply_tenders(tenders, {"gift_card": D("20.00"), "card": D("80.00")}, D("100.00")) == [("card", D("60.00"))]


def test_trial_balance_of_balanced_entries_is_zero_per_currency() -> None:
    entries = [e for e in (document_entry(invoice(), CONFIG),) if e is not None]
    assert sum(trial_balance(entries).values(), D(0)) == 0


def test_document_numbers_fit_quickbooks_doc_number() -> None:
    assert document_number(DocumentKind.CREDIT_NOTE, 12) == "CN-00000012"
    assert len(document_number(DocumentKind.JOURNAL, 10**12)) <= 21


def test_a_document_survives_its_json_form() -> None:
    doc = invoice()
    assert Document.from_json(doc.as_json()) == doc


def test_the_configuration_refuses_unknown_roles_bad_codes_rates_and_zones() -> None:
    with pytest.raises(InvalidInput) as caught:
        FinanceConfig.from_json(
            {
                "accounts": {"revenu": "4000", "tax": "bad code!"},
                "tax_codes": [{"code": "VAT", "rate": "20"}],
                "tax_classes": {"standard": "NOPE"},
                "timezone": "Mars/Olympus",
            }
        )
    fields = {e.field for e in caught.value.errors}
    assert {"accounts.revenu", "accounts.tax", "tax_codes[0].rate", "tax_classes.standard", "timezone"} <= fields


def test_the_configuration_round_trips_and_maps_tax_classes_and_tenders() -> None:
    config = FinanceConfig.from_json(
        {
            "accounts": {"revenue": "200"},
            "tax_codes": [
                {"code": "VAT20", "rate": "0.20", "xero_tax_type": "OUTPUT2", "qbo_tax_code": "5"},
                {"code": "ZERO", "rate": "0"},
            ],
            "tax_classes": {"childrenswear": "ZERO"},
            "default_tax_code": "VAT20",
            "stores": {"STORE-1": {"timezone": "Europe/London", "float": "100.00"}},
        }
    )
    assert FinanceConfig.from_json(config.as_json()) == config
    assert config.account("revenue") == "200"
    assert config.tax_for_class("childrenswear").code == "ZERO"
    assert config.tax_for_class(None).code == "VAT20"
    assert (config.tender_account("cash"), config.tender_account("card")) == ("1000", "1010")
    assert config.tender_account("exchange_credit") == "2150"
    assert config.tender_account("voucher") == "1090"
    assert config.store("STORE-1").float == D("100.00")
