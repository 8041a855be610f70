"""Gift cards' pure rules (issue 17): the balance is the sum of movements and never goes below zero, each
movement posts a balanced entry to the right accounts, the expiry policy, and a liability check that fails
naming the card."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from seamline.domain.errors import InvalidInput
from seamline.finance import FinanceConfig, Role
from seamline.finance.documents import (
    GIFT_CARD_SKU,
    Document,
    DocumentKind,
    DocumentLine,
    Posting,
    document_entry,
    tender_shares,
)
from seamline.finance.giftcards import (
    CardNotUsable,
    InsufficientBalance,
    Movement,
    MovementKind,
    balance_of,
    check_amount,
    clearing_check,
    document_clearing,
    expiry_for,
    liability_check,
    movement_clearing,
    movement_entry,
    redeem,
    sold_card_lines,
)
from seamline.finance.journal import trial_balance

CONFIG = FinanceConfig()
LIABILITY = CONFIG.account(Role.GIFT_CARDS)
CLEARING = CONFIG.tender_account("gift_card")
TODAY = date(2026, 12, 7)


def test_the_balance_is_the_signed_sum_of_the_movements() -> None:
    moves = [
        Movement(MovementKind.ISSUE, D("50.00")),
        Movement(MovementKind.REDEEM, D("20.00")),
        Movement(MovementKind.REFUND_TO_CARD, D("5.00")),
        Movement(MovementKind.REDEEM, D("35.00")),
    ]
    assert balance_of(moves) == D("0.00")
    assert balance_of(moves[:3]) == D("35.00")


def test_a_redemption_never_takes_a_balance_below_zero() -> None:
    assert redeem(D("30.00"), D("30.00"), status="active", expires_on=None, today=TODAY) == D("0.00")
    assert redeem(D("30.00"), D("12.50"), status="active", expires_on=None, today=TODAY) == D("17.50")
    with pytest.raises(InsufficientBalance):
        redeem(D("30.00"), D("30.01"), status="active", expires_on=None, today=TODAY)
    with pytest.raises(InvalidInput):
        redeem(D("30.00"), D("0"), status="active", expires_on=None, today=TODAY)


def test_an_expired_card_pays_nothing_even_before_the_sweep_closed_it() -> None:
    with pytest.raises(CardNotUsable):
        redeem(D("30.00"), D("1.00"), status="expired", expires_on=None, today=TODAY)
    with pytest.raises(CardNotUsable):
        redeem(D("30.00"), D("1.00"), status="active", expires_on=date(2026, 12, 6), today=TODAY)
    # its last day is still good
    assert redeem(D("30.00"), D("1.00"), status="active", expires_on=TODAY, today=TODAY) == D("29.00")


def test_expiry_follows_the_policy_in_months_clamped_to_the_months_end() -> None:
    assert expiry_for(date(2026, 1, 31), None) is None
    assert expiry_for(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert expiry_for(date(2027, 12, 15), 24) == date(2029, 12, 15)
    assert expiry_for(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_bad_amounts_and_currencies_are_refused_with_the_field() -> None:
    for amount, currency, field in (
        (D("-5.00"), "EUR", "amount"),
        (D("0"), "EUR", "amount"),
        (D("5.001"), "EUR", "amount"),
        (D("5.5"), "JPY", "amount"),
        (D("5.00"), "ZZZ", "currency"),
    ):
        with pytest.raises(InvalidInput) as caught:
            check_amount(amount, currency)
        assert field in {e.field for e in caught.value.errors}
    assert check_amount(D("500"), "JPY") == D("500")


def entry(kind: MovementKind, amount: str, source: str | None = None) -> dict[tuple[str, str], D]:
    built = movement_entry(
        movement_id="gcm_1",
        kind=kind,
        code="ABCD1234WXYZ",
        amount=D(amount),
        currency="EUR",
        on=TODAY,
        source=source,
        config=CONFIG,
    )
    assert built.source_key == "giftcard:gcm_1"
    assert "WXYZ" in built.memo
    assert "ABCD1234" not in built.memo
    return trial_balance([built])


def test_each_movement_posts_a_balanced_entry_to_the_liability() -> None:
    # Issued through the API: the money came in through the tender clearing; the liability, not revenue.
    assert entry(MovementKind.ISSUE, "50.00", "api:1") == {
        (CONFIG.account(Role.TENDER_CLEARING), "EUR"): D("50.00"),
        (LIABILITY, "EUR"): D("-50.00"),
    }
    # Sold on an order or at a till: the sale's document credits the gift card clearing with the money.
    assert entry(MovementKind.ISSUE, "50.00", "channel:web:1001:line:9")[(CLEARING, "EUR")] == D("50.00")
    assert entry(MovementKind.REDEEM, "20.00") == {(LIABILITY, "EUR"): D("20.00"), (CLEARING, "EUR"): D("-20.00")}
    assert entry(MovementKind.REFUND_TO_CARD, "5.00") == {
        (CLEARING, "EUR"): D("5.00"),
        (LIABILITY, "EUR"): D("-5.00"),
    }
    assert entry(MovementKind.EXPIRE, "7.00") == {
        (LIABILITY, "EUR"): D("7.00"),
        (CONFIG.account(Role.GIFT_CARD_BREAKAGE), "EUR"): D("-7.00"),
    }
    assert LIABILITY not in (CONFIG.account(Role.REVENUE), CLEARING)


def test_a_redemption_and_the_sales_gift_card_payment_leave_the_clearing_at_zero() -> None:
    """Dr liability / Cr clearing by the card, Dr clearing / Cr receivable by the order's payment document:
    together Dr liability / Cr receivable, and the sale's revenue stays on its invoice."""
    redemption = movement_entry(
        movement_id="gcm_2",
        kind=MovementKind.REDEEM,
        code="CARD0001",
        amount=D("30.00"),
        currency="EUR",
        on=TODAY,
        source="channel:web:1:payment:0",
        config=CONFIG,
    )
    payment = Document(
        "doc_1", DocumentKind.PAYMENT, "EUR", TODAY, Posting.JOURNAL, D("30.00"), tenders=(("gift_card", D("30.00")),)
    )
    booked = document_entry(payment, CONFIG)
    assert booked is not None
    balance = trial_balance([redemption, booked])
    assert balance.get((CLEARING, "EUR"), D(0)) == 0
    assert balance == {
        (LIABILITY, "EUR"): D("30.00"),
        (CONFIG.account(Role.RECEIVABLE), "EUR"): D("-30.00"),
        (CLEARING, "EUR"): D("0.00"),
    }


def line(no: int, sku: str, gross: str) -> DocumentLine:
    g = D(gross)
    return DocumentLine(no, sku, sku, 1, g, g, "NONE", D(0), D(0), g, g, g, D(0), D(0))


def test_an_invoice_books_a_gift_card_sold_to_the_clearing_not_revenue() -> None:
    invoice = Document(
        "doc_2",
        DocumentKind.INVOICE,
        "EUR",
        TODAY,
        Posting.JOURNAL,
        D("139.00"),
        lines=(line(1, "OVS-1", "89.00"), line(2, GIFT_CARD_SKU, "50.00")),
    )
    booked = document_entry(invoice, CONFIG)
    assert booked is not None
    balance = trial_balance([booked])
    assert balance[(CONFIG.account(Role.REVENUE), "EUR")] == D("-89.00")
    assert balance[(CLEARING, "EUR")] == D("-50.00")


def test_a_till_receipts_gift_card_share_is_not_revenue() -> None:
    receipt = Document(
        "doc_3",
        DocumentKind.SALES_RECEIPT,
        "EUR",
        TODAY,
        Posting.SETTLEMENT,
        D("139.00"),
        lines=(line(1, "OVS-1", "89.00"), line(2, GIFT_CARD_SKU, "50.00")),
        tenders=(("cash", D("100.00")), ("card", D("39.00"))),
    )
    shares = tender_shares(receipt)
    assert sum((s.gift_cards for s in shares), D(0)) == D("50.00")
    assert sum((s.revenue for s in shares), D(0)) == D("89.00")


def card(code: str, balance: str, currency: str = "EUR") -> dict[str, object]:
    return {"code": code, "currency": currency, "balance": D(balance)}


def test_the_liability_check_is_clean_when_cards_movements_and_journal_agree() -> None:
    cards = [card("A", "30.00"), card("B", "0.00"), card("C", "5000", "JPY")]
    sums = {"A": D("30.00"), "B": D("0.00"), "C": D("5000")}
    journal = {"EUR": D("30.00"), "JPY": D("5000")}
    assert liability_check(journal, {"A": D("30.00"), "C": D("5000")}, cards, sums) == []


def test_the_liability_check_fails_naming_the_card() -> None:
    sums = {"A": D("30.00"), "B": D("10.00")}
    by_card = {"A": D("30.00"), "B": D("10.00")}
    # a balance edited by hand
    [found] = liability_check({"EUR": D("40.00")}, by_card, [card("A", "30.00"), card("B", "99.00")], sums)
    assert (found.problem, found.card) == ("card-balance", "B")
    # a posting edited or lost: the card and the currency total both disagree
    found_all = liability_check(
        {"EUR": D("35.00")}, {"A": D("25.00"), "B": D("10.00")}, [card("A", "30.00"), card("B", "10.00")], sums
    )
    assert [(f.problem, f.card) for f in found_all] == [("card-posting", "A"), ("liability", None)]
    assert found_all[1].journal == D("35.00")
    assert found_all[1].cards == D("40.00")
    # a posting to the liability that belongs to no card
    [stray] = liability_check({"EUR": D("41.00")}, by_card, [card("A", "30.00"), card("B", "10.00")], sums)
    assert stray.problem == "liability"


def test_cards_sold_on_a_receipt_are_untaxed_lines_after_the_goods_and_not_revenue() -> None:
    sold = sold_card_lines([("ABCD1234", D("50.00")), ("PRINTED-7", D("20.00"))], CONFIG, first_line_no=2)
    assert [(li.line_no, li.sku, li.gross, li.tax, li.net) for li in sold] == [
        (2, GIFT_CARD_SKU, D("50.00"), D(0), D("50.00")),
        (3, GIFT_CARD_SKU, D("20.00"), D(0), D("20.00")),
    ]
    assert [li.description for li in sold] == ["gift card …1234", "gift card …ED-7"]
    receipt = Document(
        "doc_4",
        DocumentKind.SALES_RECEIPT,
        "EUR",
        TODAY,
        Posting.SETTLEMENT,
        D("159.00"),
        lines=(line(1, "OVS-1", "89.00"), *sold),
        tenders=(("card", D("159.00")),),
    )
    [share] = tender_shares(receipt)
    assert (share.gift_cards, share.revenue) == (D("70.00"), D("89.00"))


def test_what_each_movement_puts_on_the_gift_card_clearing() -> None:
    assert movement_clearing(MovementKind.ISSUE, D("50.00"), "sale:ord_1:card:0", CONFIG) == D("50.00")
    assert movement_clearing(MovementKind.ISSUE, D("50.00"), "api:abc", CONFIG) == 0  # the tender clearing's
    assert movement_clearing(MovementKind.REDEEM, D("30.00"), "api:abc", CONFIG) == D("-30.00")
    assert movement_clearing(MovementKind.REFUND_TO_CARD, D("30.00"), "api:abc", CONFIG) == D("30.00")
    assert movement_clearing(MovementKind.EXPIRE, D("20.00"), "api:abc", CONFIG) == 0


def test_a_till_receipt_debits_the_clearing_with_its_card_tender_and_credits_it_with_the_cards_it_sold() -> None:
    receipt = Document(
        "doc_5",
        DocumentKind.SALES_RECEIPT,
        "EUR",
        TODAY,
        Posting.SETTLEMENT,
        D("139.00"),
        lines=(line(1, "OVS-1", "89.00"), line(2, GIFT_CARD_SKU, "50.00")),
        tenders=(("gift_card", D("30.00")), ("cash", D("109.00"))),
    )
    assert document_clearing(receipt, CONFIG) == D("-20.00")  # +30 taken by card, -50 card sold
    refund = Document(
        "doc_6",
        DocumentKind.CREDIT_NOTE,
        "EUR",
        TODAY,
        Posting.SETTLEMENT,
        D("89.00"),
        lines=(line(1, "OVS-1", "89.00"),),
        tenders=(("gift_card", D("89.00")),),
    )
    assert document_clearing(refund, CONFIG) == D("-89.00")  # back on a card: its refund movement debits it
    invoice = Document(
        "doc_7",
        DocumentKind.INVOICE,
        "EUR",
        TODAY,
        Posting.JOURNAL,
        D("50.00"),
        lines=(line(1, GIFT_CARD_SKU, "50.00"),),
    )
    assert document_clearing(invoice, CONFIG) == D("-50.00")


def test_the_clearing_check_names_a_journal_that_disagrees_and_a_till_sale_whose_card_money_is_on_no_card() -> None:
    assert clearing_check({"EUR": D("-20")}, {"EUR": D("20")}, {"EUR": D("-40")}, {("ord_1", "EUR"): D(0)}) == []
    found = clearing_check(
        {"EUR": D("10")}, {"EUR": D("20")}, {"EUR": D("-20")}, {("ord_1", "EUR"): D("30"), ("ord_2", "EUR"): D("-5")}
    )
    assert [(d.problem, d.order, d.journal, d.cards) for d in found] == [
        ("clearing-journal", None, D("10"), D("0")),
        ("clearing-sale", "ord_1", None, D("30")),
        ("clearing-sale", "ord_2", None, D("-5")),
    ]
    assert "30 EUR taken by gift card came off no card" in found[1].detail
    assert "5 EUR of gift cards sold were never issued" in found[2].detail
