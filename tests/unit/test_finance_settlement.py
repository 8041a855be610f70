"""End-of-day settlement maths, in Decimal: expected per tender, over/short, the processor tie-out, and the
one balanced entry per tender a close books."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from seamline.finance import (
    CashCount,
    CashMovement,
    Document,
    DocumentKind,
    FinanceConfig,
    Posting,
    PricedLine,
    ProcessorImport,
    ProcessorTransaction,
    SettlementInput,
    StoreConfig,
    TaxCode,
    compute,
    journal_entries,
    priced_lines,
)

D = Decimal
DAY = date(2026, 11, 27)
VAT = TaxCode("VAT20", D("0.20"), "VAT 20%")
CONFIG = FinanceConfig(
    tax_codes={"VAT20": VAT}, default_tax_code="VAT20", stores={"STORE-1": StoreConfig("Europe/London", D("100.00"))}
)


def doc(
    kind: DocumentKind, lines: list[tuple[int, str, str | None]], tenders: list[tuple[str, str]], n: int
) -> Document:
    priced = priced_lines(
        [
            PricedLine("OVS-001-NVY-M", "overshirt", qty, D(price), VAT, D(lst) if lst else None)
            for qty, price, lst in lines
        ],
        "EUR",
    )
    return Document(
        f"doc_{n}",
        kind,
        "EUR",
        DAY,
        Posting.SETTLEMENT,
        sum((line.gross for line in priced), D(0)),
        priced,
        tuple((t, D(a)) for t, a in tenders),
        store="STORE-1",
    )


def txn(n: int, kind: str, amount: int, fee: int) -> ProcessorImport:
    created = datetime(2026, 11, 27, 12, tzinfo=UTC)
    return ProcessorImport(
        "card",
        ProcessorTransaction(
            "stripe",
            f"txn_{n}",
            kind,
            "EUR",
            D(amount).scaleb(-2),
            D(fee).scaleb(-2),
            D(amount - fee).scaleb(-2),
            created,
            "available",
        ),
    )


SALE, REFUND = DocumentKind.SALES_RECEIPT, DocumentKind.CREDIT_NOTE
DAY_DOCS = [
    doc(SALE, [(2, "89.00", "89.00")], [("cash", "178.00")], 1),
    doc(SALE, [(1, "89.00", "89.00")], [("card", "89.00")], 2),
    doc(SALE, [(1, "80.00", "89.00")], [("cash", "30.00"), ("card", "50.00")], 3),
    doc(REFUND, [(1, "89.00", None)], [("card", "89.00")], 4),  # sale 2 comes back
    doc(REFUND, [(1, "89.00", None)], [("exchange_credit", "89.00")], 5),  # one of sale 1, exchanged...
    doc(SALE, [(1, "89.00", "89.00")], [("exchange_credit", "89.00")], 6),  # ...for another size
]
DAY_INPUT = SettlementInput(
    "STORE-1",
    DAY,
    DAY_DOCS,
    cash_movements=[CashMovement("paid_out", "cash", "EUR", D("12.50"), "milk for the staff room")],
    counts=[CashCount("cash", "EUR", D("290.50"), D("100.00"))],
    processor=[
        txn(1, "charge", 8900, 160),
        txn(2, "charge", 5000, 95),
        txn(3, "refund", -8900, 0),
        txn(4, "payout", -4745, 0),
    ],
)


def lines(entries: list, tender: str) -> dict[tuple[str, str], Decimal]:
    [entry] = [e for e in entries if e.tender == tender]
    return {(line.account, line.memo): line.signed for line in entry.lines}


def test_expected_cash_is_float_plus_takings_plus_paid_in_less_paid_out_and_the_count_gives_over_short() -> None:
    figures = compute(DAY_INPUT, CONFIG)
    cash = figures.tender("cash", "EUR")
    assert cash is not None
    assert (cash.sales, cash.refunds, cash.paid_out, cash.float) == (D("208.00"), D(0), D("12.50"), D("100.00"))
    assert cash.expected == D("295.50")
    assert cash.over_short == D("-5.00")
    assert [(v.tender, v.kind, v.difference) for v in figures.variances] == [("cash", "over_short", D("-5.00"))]


def test_the_card_tender_ties_out_to_the_processors_gross_and_payouts_are_set_aside() -> None:
    figures = compute(DAY_INPUT, CONFIG)
    card = figures.tender("card", "EUR")
    assert card is not None
    assert (card.sales, card.refunds, card.takings) == (D("139.00"), D("89.00"), D("50.00"))
    assert (card.processor_gross, card.processor_fee, card.processor_net) == (D("50.00"), D("2.55"), D("47.45"))
    assert card.processor_variance == 0
    assert [p.transaction.id for p in figures.set_aside] == ["txn_4"]


def test_each_tender_books_one_balanced_entry_with_sales_tax_discounts_refunds_fees_and_over_short() -> None:
    entries = journal_entries(compute(DAY_INPUT, CONFIG), CONFIG, "set_1")
    assert [(e.tender, e.currency) for e in entries] == [("card", "EUR"), ("cash", "EUR"), ("exchange_credit", "EUR")]
    for entry in entries:
        assert sum((line.signed for line in entry.lines), D(0)) == 0
    assert lines(entries, "cash") == {
        ("4000", "sales"): D("-176.14"),
        ("4010", "discounts"): D("2.81"),
        ("2200", "tax VAT20 on sales"): D("-34.67"),
        ("6120", "milk for the staff room"): D("12.50"),
        ("6110", "cash over/short"): D("5.00"),
        ("1000", "cash takings"): D("190.50"),
    }
    assert lines(entries, "card") == {
        ("4000", "sales"): D("-120.53"),
        ("4010", "discounts"): D("4.69"),
        ("2200", "tax VAT20 on sales"): D("-23.16"),
        ("4020", "refunds"): D("74.17"),
        ("2200", "tax VAT20 on refunds"): D("14.83"),
        ("6100", "stripe fees"): D("2.55"),
        ("1010", "stripe net settlement"): D("47.45"),
    }
    assert lines(entries, "exchange_credit") == {
        ("4000", "sales"): D("-74.17"),
        ("2200", "tax VAT20 on sales"): D("-14.83"),
        ("4020", "refunds"): D("74.17"),
        ("2200", "tax VAT20 on refunds"): D("14.83"),
    }


def test_a_processor_short_of_the_tills_is_a_listed_variance_booked_to_its_own_account() -> None:
    day = SettlementInput("STORE-1", DAY, DAY_DOCS[1:2], processor=[txn(1, "charge", 8800, 158)])
    figures = compute(day, CONFIG)
    [variance] = figures.variances
    assert (variance.kind, variance.expected, variance.actual, variance.difference) == (
        "processor_gross",
        D("89.00"),
        D("88.00"),
        D("-1.00"),
    )
    [entry] = journal_entries(figures, CONFIG, "set_2")
    assert {line.account: line.signed for line in entry.lines if line.account in ("6130", "1010", "6100")} == {
        "6130": D("1.00"),
        "6100": D("1.58"),
        "1010": D("86.42"),
    }


def test_card_takings_without_a_processor_settlement_stay_in_the_receivable_and_are_flagged() -> None:
    figures = compute(SettlementInput("STORE-1", DAY, DAY_DOCS[1:2]), CONFIG)
    assert [v.kind for v in figures.variances] == ["processor_missing"]
    [entry] = journal_entries(figures, CONFIG, "set_3")
    assert {line.account: line.signed for line in entry.lines}["1010"] == D("89.00")


def test_an_over_drawer_credits_over_short_and_deposits_what_was_counted_less_the_float() -> None:
    day = SettlementInput(
        "STORE-1",
        DAY,
        DAY_DOCS[:1],
        cash_movements=[CashMovement("paid_in", "cash", "EUR", D("20.00"), "change from the bank")],
        counts=[CashCount("cash", "EUR", D("300.00"), D("100.00"))],
    )
    figures = compute(day, CONFIG)
    cash = figures.tender("cash", "EUR")
    assert cash is not None
    assert cash.over_short == D("2.00")
    [entry] = journal_entries(figures, CONFIG, "set_4")
    signed = {line.account: line.signed for line in entry.lines}
    assert (signed["6110"], signed["4900"], signed["1000"]) == (D("-2.00"), D("-20.00"), D("200.00"))
