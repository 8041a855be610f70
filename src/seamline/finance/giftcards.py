"""Gift cards as one liability across channels (issue 17), as pure rules: a card's balance is the sum of
its movements, never below zero; each movement's balanced journal entry; the expiry date a brand's policy
gives a new card; and the check that the journal's liability equals the open cards' balances.

A card is money the brand owes its holder, not revenue. Every change of a balance is an immutable movement
(like the inventory ledger's), posted the moment it happens, so the liability account always equals the
sum of open balances:

    issue            Dr funding (the gift-card tender clearing of the sale that sold it, or the tender
                     clearing for a card issued through the API)        Cr gift card liability
    redeem           Dr gift card liability     Cr gift-card tender clearing
    refund_to_card   Dr gift-card tender clearing     Cr gift card liability
    expire           Dr gift card liability     Cr breakage income

The sale that redeems a card books its ``gift_card`` tender through the same clearing account (a till's
settlement debits the tender's takings, an order's payment document debits the tender against the
receivable), so once both are booked the clearing nets to zero and the redemption is, in effect, Dr
liability / Cr receivable (or revenue), while the sale's revenue stays on the sale's own document.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from seamline.domain.errors import Conflict, FieldError, InvalidInput
from seamline.domain.money import minor_exponent
from seamline.finance.amounts import ZERO, quantum
from seamline.finance.chart import NO_TAX, FinanceConfig, Role
from seamline.finance.documents import (
    GIFT_CARD_SKU,
    Document,
    DocumentKind,
    DocumentLine,
    Posting,
    document_entry,
    tender_shares,
)
from seamline.finance.journal import EntryBuilder, JournalEntry

#: The tender a gift card pays with, on every channel (POS ``gift_card``, Shopify's ``gift_card`` gateway).
GIFT_CARD_TENDER = "gift_card"
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{3,63}$")

#: ISO 4217 active codes (the currencies a card can hold; a made-up code is refused).
ISO_4217 = frozenset(
    {
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XCG",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWG",
    }
)


class MovementKind(StrEnum):
    ISSUE = "issue"
    REDEEM = "redeem"
    REFUND_TO_CARD = "refund_to_card"
    EXPIRE = "expire"


#: The sign of each kind on the balance.
SIGN = {MovementKind.ISSUE: 1, MovementKind.REDEEM: -1, MovementKind.REFUND_TO_CARD: 1, MovementKind.EXPIRE: -1}


class CardStatus(StrEnum):
    ACTIVE = "active"
    #: Balance zero, not expired: spent.
    REDEEMED = "redeemed"
    EXPIRED = "expired"


class InsufficientBalance(Conflict):
    """A redemption larger than what the card holds: refused whole, nothing taken."""

    default_code = "gift-card-insufficient"


class CardNotUsable(Conflict):
    default_code = "gift-card-not-usable"


@dataclass(frozen=True)
class Movement:
    kind: MovementKind
    amount: Decimal  # positive; the kind gives the sign

    @property
    def signed(self) -> Decimal:
        return self.amount * SIGN[self.kind]


def balance_of(movements: Iterable[Movement]) -> Decimal:
    return sum((m.signed for m in movements), ZERO)


def status_of(balance: Decimal, expired: bool) -> CardStatus:
    if expired:
        return CardStatus.EXPIRED
    return CardStatus.ACTIVE if balance > 0 else CardStatus.REDEEMED


def check_amount(amount: Decimal, currency: str, field: str = "amount") -> Decimal:
    """A positive amount at the currency's precision, in a real currency."""
    errors = []
    if currency not in ISO_4217:
        errors.append(FieldError("currency", f"{currency} is not an ISO 4217 currency"))
    elif amount != amount.quantize(quantum(currency)):
        errors.append(FieldError(field, f"{currency} has at most {minor_exponent(currency)} decimal places"))
    if amount <= 0:
        errors.append(FieldError(field, "must be more than zero"))
    if errors:
        raise InvalidInput("bad gift card amount", errors)
    return amount


def check_code(code: str) -> str:
    if not CODE_RE.match(code):
        raise InvalidInput(
            "bad gift card code", [FieldError("code", "4-64 letters, digits, - or _, starting with a letter or digit")]
        )
    return code


def redeem(balance: Decimal, amount: Decimal, *, status: str, expires_on: date | None, today: date) -> Decimal:
    """The balance after taking ``amount``: refused when the card is expired (or past its date) or holds
    less. Never negative."""
    if status == CardStatus.EXPIRED or (expires_on is not None and today > expires_on):
        raise CardNotUsable("the gift card has expired")
    if amount <= 0:
        raise InvalidInput("bad redemption", [FieldError("amount", "must be more than zero")])
    if amount > balance:
        raise InsufficientBalance(f"the gift card holds {balance}, less than the {amount} asked")
    return balance - amount


def expiry_for(issued: datetime | date, months: int | None) -> date | None:
    """The last day a card issued on ``issued`` can be used under a policy of ``months`` (None: never
    expires). The same day-of-month ``months`` later, clamped to the month's end (31 Jan + 1 month: 28/29 Feb)."""
    if months is None:
        return None
    day = issued.date() if isinstance(issued, datetime) else issued
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_to_expire(expires_on: date | None, today: date) -> bool:
    return expires_on is not None and today > expires_on


# ---------------------------------------------------------------------------------------------- postings
def funding_account(config: FinanceConfig, source: str | None) -> str:
    """What a card's issue is paid from: a sale's or order's gift-card clearing (the sale's document books
    the money it took against it), else (the API) the shared tender clearing account."""
    if source is None or source.startswith("api:"):
        return config.account(Role.TENDER_CLEARING)
    return config.tender_account(GIFT_CARD_TENDER)


def movement_entry(
    *,
    movement_id: str,
    kind: MovementKind,
    code: str,
    amount: Decimal,
    currency: str,
    on: date,
    source: str | None,
    config: FinanceConfig,
) -> JournalEntry:
    """The balanced entry of one movement (see the module's table)."""
    liability = config.account(Role.GIFT_CARDS)
    clearing = config.tender_account(GIFT_CARD_TENDER)
    last4 = code[-4:]
    entry = EntryBuilder(on, currency, f"gift card …{last4} {kind.value}", f"giftcard:{movement_id}")
    if kind is MovementKind.ISSUE:
        entry.debit(funding_account(config, source), amount, f"gift card …{last4} sold", tender=GIFT_CARD_TENDER)
        entry.credit(liability, amount, f"gift card …{last4} issued")
    elif kind is MovementKind.REDEEM:
        entry.debit(liability, amount, f"gift card …{last4} redeemed")
        entry.credit(clearing, amount, f"gift card …{last4} tender", tender=GIFT_CARD_TENDER)
    elif kind is MovementKind.REFUND_TO_CARD:
        entry.debit(clearing, amount, f"refund to gift card …{last4}", tender=GIFT_CARD_TENDER)
        entry.credit(liability, amount, f"gift card …{last4} refunded to")
    else:
        entry.debit(liability, amount, f"gift card …{last4} expired")
        entry.credit(config.account(Role.GIFT_CARD_BREAKAGE), amount, f"breakage on gift card …{last4}")
    return entry.build()


def sold_card_lines(
    cards: Sequence[tuple[str, Decimal]], config: FinanceConfig, *, first_line_no: int
) -> tuple[DocumentLine, ...]:
    """The document lines of cards sold on a receipt, (code, face value) each: the sku ``gift_card``, no tax
    (a card is a means of payment, taxed when it is spent on goods), numbered after the receipt's goods.
    Their money is credited to the gift card clearing, which the card's issue debited (not revenue)."""
    zero = [c for c in config.tax_codes.values() if c.rate == 0]
    code = sorted(zero, key=lambda c: c.code)[0] if zero else NO_TAX
    return tuple(
        DocumentLine(
            line_no=first_line_no + i,
            sku=GIFT_CARD_SKU,
            description=f"gift card …{card[-4:]}",
            qty=1,
            unit_price=amount,
            gross=amount,
            tax_code=code.code,
            tax_rate=code.rate,
            tax=ZERO,
            net=amount,
            list_gross=amount,
            list_net=amount,
            discount_gross=ZERO,
            discount=ZERO,
        )
        for i, (card, amount) in enumerate(cards)
    )


# ---------------------------------------------------------------------------------------------- the check
@dataclass(frozen=True)
class LiabilityDifference:
    """The journal's gift card liability and the cards' open balances disagree (per currency), or one card's
    stored balance is not the sum of its movements."""

    currency: str
    journal: Decimal | None
    cards: Decimal | None
    problem: str  # liability | card-balance | card-posting | clearing-journal | clearing-sale
    card: str | None = None
    detail: str = ""
    order: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "check": "gift_cards",
            "currency": self.currency,
            "journal": None if self.journal is None else str(self.journal),
            "cards": None if self.cards is None else str(self.cards),
            "problem": self.problem,
            "card": self.card,
            "order": self.order,
            "detail": self.detail,
        }


def liability_check(
    journal_total: Mapping[str, Decimal],
    journal_by_card: Mapping[str, Decimal],
    cards: Sequence[Mapping[str, Any]],
    movement_sums: Mapping[str, Decimal],
) -> list[LiabilityDifference]:
    """Three ways, each naming what disagrees:

    - each card's stored balance is the sum of its movements (a balance edited by hand);
    - each card's movements are what the journal credited the liability with for them (a posting missing,
      or edited): ``journal_by_card`` is code → the liability's credit balance over its movements' entries;
    - per currency, the liability account's whole balance (``journal_total``) is the cards' (a posting to
      the liability that belongs to no card).

    ``cards`` are rows with ``code``, ``currency``, ``balance``; ``movement_sums`` code → signed sum."""
    out: list[LiabilityDifference] = []
    by_currency: dict[str, Decimal] = {}
    for card in cards:
        code, cur = str(card["code"]), str(card["currency"])
        moved = movement_sums.get(code, ZERO)
        balance = Decimal(card["balance"])
        by_currency[cur] = by_currency.get(cur, ZERO) + moved
        if balance != moved:
            out.append(
                LiabilityDifference(
                    cur,
                    None,
                    balance,
                    "card-balance",
                    code,
                    f"gift card {code}: balance {balance}, its movements add up to {moved}",
                )
            )
        posted = journal_by_card.get(code, ZERO)
        if posted != moved:
            out.append(
                LiabilityDifference(
                    cur,
                    posted,
                    moved,
                    "card-posting",
                    code,
                    f"gift card {code}: its movements add up to {moved} {cur}, the journal's liability for them "
                    f"is {posted} {cur}",
                )
            )
    for cur in sorted({*by_currency, *journal_total}):
        ours, theirs = by_currency.get(cur, ZERO), journal_total.get(cur, ZERO)
        if ours != theirs:
            out.append(
                LiabilityDifference(
                    cur,
                    theirs,
                    ours,
                    "liability",
                    None,
                    f"the gift card liability in the journal is {theirs} {cur}, the cards hold {ours} {cur}",
                )
            )
    return out


# ---------------------------------------------------------------------------------------------- the clearing
def movement_clearing(kind: MovementKind, amount: Decimal, card_source: str | None, config: FinanceConfig) -> Decimal:
    """What one movement's entry puts on the gift card clearing (debit positive): an issue paid at a sale
    debits it (the API's issue debits the tender clearing instead), a redemption credits it, a refund to a
    card debits it, an expiry does not touch it."""
    if kind is MovementKind.ISSUE:
        return amount if funding_account(config, card_source) == config.tender_account(GIFT_CARD_TENDER) else ZERO
    if kind is MovementKind.REDEEM:
        return -amount
    return amount if kind is MovementKind.REFUND_TO_CARD else ZERO


def document_clearing(doc: Document, config: FinanceConfig) -> Decimal:
    """What a document puts on the gift card clearing once booked (debit positive): a till document through
    its store's settlement (its ``gift_card`` tender's takings debit it, the cards it sold credit it; a credit
    note the other way), any other through its own entry. Journal documents (the movements', the
    settlements') are counted where they come from."""
    if doc.kind is DocumentKind.JOURNAL:
        return ZERO
    if doc.posting is Posting.SETTLEMENT:
        sign = -1 if doc.kind is DocumentKind.CREDIT_NOTE else 1
        moved = sum(
            (
                (share.gross if share.tender == GIFT_CARD_TENDER else ZERO) - share.gift_cards
                for share in tender_shares(doc)
            ),
            ZERO,
        )
        return sign * moved
    entry = document_entry(doc, config)
    clearing = config.tender_account(GIFT_CARD_TENDER)
    return ZERO if entry is None else sum((li.signed for li in entry.lines if li.account == clearing), ZERO)


def clearing_check(
    journal: Mapping[str, Decimal],
    movements: Mapping[str, Decimal],
    booked: Mapping[str, Decimal],
    till_sales: Mapping[tuple[str, str], Decimal],
) -> list[LiabilityDifference]:
    """The gift card clearing (issue 17), two ways, each naming what disagrees:

    - per currency, its balance in the journal (``journal``, debit positive) is what the card movements
      (``movements``) and the documents booked so far (``booked``: settled till documents, posted invoices,
      payments and refunds) put on it: a posting missing or edited, or a settlement that did not book the
      gift card part of its day;
    - per till sale, (order id, currency) → its movements and its documents together (``till_sales``) net to
      zero: the money a ``gift_card`` tender took came off a card, and every card the sale sold was issued.
      What is left is card money booked against nothing (a platform's own gift card, a card that could not
      pay) or a card sold with no money behind it."""
    out: list[LiabilityDifference] = []
    for cur in sorted({*journal, *movements, *booked}):
        theirs = journal.get(cur, ZERO)
        ours = movements.get(cur, ZERO) + booked.get(cur, ZERO)
        if theirs != ours:
            out.append(
                LiabilityDifference(
                    cur,
                    theirs,
                    ours,
                    "clearing-journal",
                    None,
                    f"the gift card clearing in the journal is {theirs} {cur} (debit), the card movements and the "
                    f"documents booked so far put {ours} {cur} on it",
                )
            )
    for (order_id, cur), left in sorted(till_sales.items()):
        if left == 0:
            continue
        what = (
            f"{left} {cur} taken by gift card came off no card"
            if left > 0
            else f"{-left} {cur} of gift cards sold were never issued"
        )
        out.append(
            LiabilityDifference(
                cur,
                None,
                left,
                "clearing-sale",
                None,
                f"till sale {order_id}: {what}: the gift card clearing keeps it",
                order=order_id,
            )
        )
    return out
