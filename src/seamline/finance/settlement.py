"""POS end-of-day settlement, per store per business day (DESIGN 7), as pure arithmetic.

For each tender (and currency) the day's till documents give what the drawer or the processor should hold:

    expected = float + sales - refunds + paid in - paid out          (cash: the drawer, float included)
    expected = sales - refunds                                       (every other tender)

Counted cash gives over/short (``counted - expected``: negative is short). A card processor's settlement
(gross, fee, net) is tied out against the card tender's expected takings; every difference is listed as a
variance, never absorbed silently. Closing books one balanced entry per tender and currency:

    Cr revenue (at list)   Dr discounts   Cr tax (per code)      the day's sales carried by the tender
    Dr returns             Dr tax (per code)                     the day's refunds to the tender
    cash:      Cr paid in   Dr paid out   Dr/Cr over-short   Dr cash deposit (counted - float)
    processor: Dr fees   Dr/Cr processor variance   Dr processor receivable (net)
    other:     Dr the tender's clearing account (sales - refunds)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from seamline.finance.amounts import ZERO, quantum
from seamline.finance.chart import FinanceConfig, Role
from seamline.finance.documents import (
    GIFT_CARD_SKU,
    Document,
    DocumentKind,
    TenderShare,
    sum_shares,
    tender_shares,
)
from seamline.finance.journal import EntryBuilder, JournalEntry
from seamline.finance.processors import ProcessorTransaction

PAID_IN = "paid_in"
PAID_OUT = "paid_out"
CASH_MOVEMENT_KINDS = (PAID_IN, PAID_OUT)


@dataclass(frozen=True)
class CashMovement:
    kind: str  # paid_in | paid_out
    tender: str
    currency: str
    amount: Decimal
    reason: str
    #: The account the money came from or went to (a petty-cash expense); the role's account when not set.
    account: str | None = None


@dataclass(frozen=True)
class CashCount:
    tender: str
    currency: str
    counted: Decimal
    float: Decimal


@dataclass(frozen=True)
class ProcessorImport:
    tender: str
    transaction: ProcessorTransaction


@dataclass(frozen=True)
class SettlementInput:
    store: str
    business_date: date
    documents: Sequence[Document]
    cash_movements: Sequence[CashMovement] = ()
    counts: Sequence[CashCount] = ()
    processor: Sequence[ProcessorImport] = ()


@dataclass
class TenderDay:
    tender: str
    currency: str
    mode: str  # cash | processor | other
    sales: Decimal = ZERO
    refunds: Decimal = ZERO
    sale_count: int = 0
    refund_count: int = 0
    paid_in: Decimal = ZERO
    paid_out: Decimal = ZERO
    float: Decimal = ZERO
    counted: Decimal | None = None
    processor: str | None = None
    processor_gross: Decimal | None = None
    processor_fee: Decimal | None = None
    processor_net: Decimal | None = None
    processor_count: int = 0
    sold: TenderShare | None = None
    refunded: TenderShare | None = None
    movements: list[CashMovement] = field(default_factory=list)

    @property
    def takings(self) -> Decimal:
        return self.sales - self.refunds

    @property
    def expected(self) -> Decimal:
        if self.mode == "cash":
            return self.float + self.takings + self.paid_in - self.paid_out
        return self.takings

    @property
    def over_short(self) -> Decimal | None:
        return None if self.counted is None else self.counted - self.expected

    @property
    def processor_variance(self) -> Decimal | None:
        """Expected takings less what the processor settled gross: positive means the processor is short."""
        return None if self.processor_gross is None else self.takings - self.processor_gross

    def as_json(self) -> dict[str, Any]:
        q = quantum(self.currency)

        def m(value: Decimal | None) -> str | None:
            return None if value is None else str(value.quantize(q))

        out: dict[str, Any] = {
            "tender": self.tender,
            "currency": self.currency,
            "mode": self.mode,
            "sales": m(self.sales),
            "sale_count": self.sale_count,
            "refunds": m(self.refunds),
            "refund_count": self.refund_count,
            "expected": m(self.expected),
        }
        if self.mode == "cash":
            out.update(
                float=m(self.float),
                paid_in=m(self.paid_in),
                paid_out=m(self.paid_out),
                counted=m(self.counted),
                over_short=m(self.over_short),
            )
        if self.mode == "processor":
            out["processor"] = {
                "name": self.processor,
                "imported": self.processor_gross is not None,
                "gross": m(self.processor_gross),
                "fee": m(self.processor_fee),
                "net": m(self.processor_net),
                "transactions": self.processor_count,
                "variance": m(self.processor_variance),
            }
        return out


@dataclass(frozen=True)
class Variance:
    tender: str
    currency: str
    kind: str  # over_short | processor_gross | processor_missing | processor_unmatched
    expected: Decimal | None
    actual: Decimal | None
    difference: Decimal | None
    detail: str

    def as_json(self) -> dict[str, Any]:
        q = quantum(self.currency)

        def m(value: Decimal | None) -> str | None:
            return None if value is None else str(value.quantize(q))

        return {
            "tender": self.tender,
            "currency": self.currency,
            "kind": self.kind,
            "expected": m(self.expected),
            "actual": m(self.actual),
            "difference": m(self.difference),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class SettlementFigures:
    store: str
    business_date: date
    tenders: tuple[TenderDay, ...]
    variances: tuple[Variance, ...]
    #: Processor transactions that are not takings (payouts, transfers): kept aside, listed.
    set_aside: tuple[ProcessorImport, ...]

    def tender(self, tender: str, currency: str) -> TenderDay | None:
        return next((t for t in self.tenders if (t.tender, t.currency) == (tender, currency)), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "tenders": [t.as_json() for t in self.tenders],
            "variances": [v.as_json() for v in self.variances],
            "set_aside": [{"tender": p.tender, **p.transaction.as_json()} for p in self.set_aside],
        }


def _mode(tender: str, config: FinanceConfig) -> str:
    if tender in config.cash_tenders:
        return "cash"
    if tender in config.processor_tenders:
        return "processor"
    return "other"


def compute(day: SettlementInput, config: FinanceConfig) -> SettlementFigures:
    """Expected per tender from the day's till documents and cash movements, against what was counted and
    what the processor settled."""
    tenders: dict[tuple[str, str], TenderDay] = {}

    def slot(tender: str, currency: str) -> TenderDay:
        key = (tender, currency)
        if key not in tenders:
            mode = _mode(tender, config)
            tenders[key] = TenderDay(tender, currency, mode, processor=config.processor_tenders.get(tender))
            if mode == "cash":
                tenders[key].float = config.store(day.store).float
        return tenders[key]

    sold: dict[str, list[TenderShare]] = {}
    refunded: dict[str, list[TenderShare]] = {}
    for doc in day.documents:
        refund = doc.kind is DocumentKind.CREDIT_NOTE
        for share in tender_shares(doc):
            t = slot(share.tender, doc.currency)
            if refund:
                t.refunds += share.gross
                t.refund_count += 1
            else:
                t.sales += share.gross
                t.sale_count += 1
            (refunded if refund else sold).setdefault(f"{share.tender}\0{doc.currency}", []).append(share)
    for key, shares in sold.items():
        tender, currency = key.split("\0")
        slot(tender, currency).sold = sum_shares(shares)[tender]
    for key, shares in refunded.items():
        tender, currency = key.split("\0")
        slot(tender, currency).refunded = sum_shares(shares)[tender]
    for move in day.cash_movements:
        t = slot(move.tender, move.currency)
        t.movements.append(move)
        if move.kind == PAID_IN:
            t.paid_in += move.amount
        else:
            t.paid_out += move.amount
    for count in day.counts:
        t = slot(count.tender, count.currency)
        t.counted = count.counted
        t.float = count.float
    set_aside: list[ProcessorImport] = []
    for item in day.processor:
        txn = item.transaction
        if not txn.is_taking:
            set_aside.append(item)
            continue
        t = slot(item.tender, txn.currency)
        t.processor_gross = (t.processor_gross or ZERO) + txn.amount
        t.processor_fee = (t.processor_fee or ZERO) + txn.fee
        t.processor_net = (t.processor_net or ZERO) + txn.net
        t.processor_count += 1
    variances: list[Variance] = []
    ordered = tuple(sorted(tenders.values(), key=lambda t: (t.tender, t.currency)))
    for t in ordered:
        over_short = t.over_short
        if over_short:
            word = "over" if over_short > 0 else "short"
            variances.append(
                Variance(t.tender, t.currency, "over_short", t.expected, t.counted, over_short, f"the drawer is {word}")
            )
        if t.mode == "processor":
            variance = t.processor_variance
            if variance is None and t.takings:
                variances.append(
                    Variance(
                        t.tender,
                        t.currency,
                        "processor_missing",
                        t.takings,
                        None,
                        None,
                        f"no {t.processor} settlement imported: the takings stay in the receivable",
                    )
                )
            elif variance:
                variances.append(
                    Variance(
                        t.tender,
                        t.currency,
                        "processor_gross",
                        t.takings,
                        t.processor_gross,
                        -variance,
                        f"{t.processor} settled {t.processor_count} transactions gross {t.processor_gross}, "
                        f"the tills took {t.takings}",
                    )
                )
    return SettlementFigures(day.store, day.business_date, ordered, tuple(variances), tuple(set_aside))


def journal_entries(figures: SettlementFigures, config: FinanceConfig, settlement_id: str) -> list[JournalEntry]:
    """One balanced entry per tender and currency (tenders with nothing to book make none)."""
    out: list[JournalEntry] = []
    for t in figures.tenders:
        entry = EntryBuilder(
            figures.business_date,
            t.currency,
            f"{figures.store} {figures.business_date.isoformat()} {t.tender} settlement",
            f"settlement:{settlement_id}:{t.tender}:{t.currency}",
            figures.store,
            t.tender,
        )
        kw: dict[str, Any] = {"tender": t.tender}
        if t.sold is not None:
            entry.credit(config.account(Role.REVENUE), t.sold.revenue, "sales", **kw)
            # Gift cards sold at the till: their issue moved the money to the liability (finance.giftcards).
            entry.credit(config.tender_account(GIFT_CARD_SKU), t.sold.gift_cards, "gift cards sold", **kw)
            entry.debit(config.account(Role.DISCOUNTS), t.sold.discount, "discounts", **kw)
            for code, tax in sorted(t.sold.tax.items()):
                entry.credit(config.tax_account(code), tax, f"tax {code} on sales", tax_code=code, **kw)
        if t.refunded is not None:
            entry.debit(config.account(Role.RETURNS), t.refunded.revenue, "refunds", **kw)
            entry.debit(config.tender_account(GIFT_CARD_SKU), t.refunded.gift_cards, "gift cards refunded", **kw)
            for code, tax in sorted(t.refunded.tax.items()):
                entry.debit(config.tax_account(code), tax, f"tax {code} on refunds", tax_code=code, **kw)
        if t.mode == "cash":
            for move in t.movements:
                if move.kind == PAID_IN:
                    entry.credit(move.account or config.account(Role.PAID_IN), move.amount, move.reason, **kw)
                else:
                    entry.debit(move.account or config.account(Role.PAID_OUT), move.amount, move.reason, **kw)
            over_short = t.over_short or ZERO
            entry.credit(config.account(Role.OVER_SHORT), over_short, "cash over/short", **kw)
            deposit = t.expected + over_short - t.float
            entry.debit(config.tender_account(t.tender), deposit, "cash takings", **kw)
        elif t.mode == "processor" and t.processor_gross is not None:
            assert t.processor_fee is not None
            assert t.processor_net is not None
            entry.debit(config.account(Role.PROCESSOR_FEES), t.processor_fee, f"{t.processor} fees", **kw)
            entry.debit(
                config.account(Role.PROCESSOR_VARIANCE), t.processor_variance or ZERO, f"{t.processor} variance", **kw
            )
            entry.debit(config.tender_account(t.tender), t.processor_net, f"{t.processor} net settlement", **kw)
        else:
            entry.debit(config.tender_account(t.tender), t.takings, f"{t.tender} takings", **kw)
        built = entry.build()
        if built.lines:
            out.append(built)
    return out
