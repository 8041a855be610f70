"""Marketplace payouts as plain records, and what they settle (issue 17: payments settle the receivable).

A marketplace takes the buyer's money and pays it out later, less its fees, per period. Seamline books the
buyer's payment when the order is invoiced (a ``payment`` document with the marketplace's tender: the
invoice is paid, and the money sits in the marketplace's clearing account, which is what the marketplace
owes us). A payout clears that account: one balanced entry per payout,

    Dr bank (what was deposited)          Cr clearing (each order's principal, tax, shipping, promotions)
    Dr marketplace fees (commissions...)  Dr clearing (refunds given back to buyers)
    Dr tax (tax the marketplace withheld and remits itself)
    Dr/Cr clearing (reserves held back or released)

so the clearing account returns to zero when every order is paid out, order by order. What a payout says
about an order is matched against our documents for it (``match_order``); an order we never invoiced or an
amount that is not what we invoiced is a discrepancy a person sees, never absorbed.

Two reports are read:

- Amazon's Settlement report, flat file V2 (``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2``): tab separated,
  a header line, a first row carrying the settlement's ``total-amount`` and ``deposit-date``, then one row per
  amount (``transaction-type``, ``order-id``, ``amount-type``, ``amount-description``, ``amount``...).
- Mirakl's transaction lines (TL02 ``GET /api/sellerpayment/transactions_logs``): ``transaction_type``
  (``ORDER_AMOUNT``, ``COMMISSION_FEE``, ``PAYMENT``...), ``amount`` (signed, to the seller positive),
  ``currency_iso_code``, ``entities.order.id``, grouped into payouts by ``payment_voucher_number`` (else
  ``accounting_document_number``); a payout's ``PAYMENT`` line is the transfer to the bank.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from seamline.domain.errors import FieldError, InvalidInput
from seamline.finance.amounts import ZERO, quantum
from seamline.finance.chart import FinanceConfig, Role
from seamline.finance.journal import EntryBuilder, JournalEntry


class LineKind(StrEnum):
    #: The buyer's money for an order: principal, tax, shipping, gift wrap, promotions (negative).
    SALE = "sale"
    #: Money given back to a buyer (negative).
    REFUND = "refund"
    #: The marketplace's commissions and fees, and their refunds: an expense.
    FEE = "fee"
    #: Tax the marketplace collected and remits itself (marketplace facilitator tax): off the tax payable.
    TAX_WITHHELD = "tax_withheld"
    #: Held back by the marketplace (negative) or released (positive): still owed, stays in the clearing.
    RESERVE = "reserve"


ORDER_MONEY = frozenset({LineKind.SALE, LineKind.REFUND})


@dataclass(frozen=True)
class PayoutLine:
    kind: LineKind
    #: The marketplace's name for the amount: ``Order/ItemPrice/Principal``, ``COMMISSION_FEE``...
    category: str
    #: Signed as the marketplace reports it: positive is money to the seller.
    amount: Decimal
    #: The marketplace's order id, when the amount belongs to an order.
    order_ref: str | None = None
    posted: date | None = None
    sku: str | None = None
    #: The marketplace's id of the line (Mirakl's transaction id), when it has one.
    reference: str | None = None

    def as_json(self, currency: str) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "category": self.category,
            "amount": str(self.amount.quantize(quantum(currency))),
            "order_ref": self.order_ref,
            "posted": None if self.posted is None else self.posted.isoformat(),
            "sku": self.sku,
            "reference": self.reference,
        }


@dataclass(frozen=True)
class Payout:
    source: str  # amazon | mirakl: the marketplace, and the tender its orders are paid with
    id: str
    currency: str
    #: What reached the bank: the sum of the lines, to the cent.
    total: Decimal
    lines: tuple[PayoutLine, ...]
    start: date | None = None
    end: date | None = None
    deposit_date: date | None = None

    def sum_of(self, *kinds: LineKind) -> Decimal:
        return sum((li.amount for li in self.lines if li.kind in kinds), ZERO)

    def order_money(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Order ref → (sales, refunds) this payout settles for it (refunds negative)."""
        out: dict[str, tuple[Decimal, Decimal]] = {}
        for li in self.lines:
            if li.kind not in ORDER_MONEY or li.order_ref is None:
                continue
            sales, refunds = out.get(li.order_ref, (ZERO, ZERO))
            if li.kind is LineKind.SALE:
                sales += li.amount
            else:
                refunds += li.amount
            out[li.order_ref] = (sales, refunds)
        return out

    @property
    def day(self) -> date | None:
        """The day the money is booked: the deposit, else the period's end."""
        return self.deposit_date or self.end

    def as_json(self) -> dict[str, Any]:
        q = quantum(self.currency)
        return {
            "source": self.source,
            "id": self.id,
            "currency": self.currency,
            "total": str(self.total.quantize(q)),
            "start": None if self.start is None else self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "deposit_date": None if self.deposit_date is None else self.deposit_date.isoformat(),
            "sales": str(self.sum_of(LineKind.SALE).quantize(q)),
            "refunds": str(self.sum_of(LineKind.REFUND).quantize(q)),
            "fees": str(self.sum_of(LineKind.FEE).quantize(q)),
            "tax_withheld": str(self.sum_of(LineKind.TAX_WITHHELD).quantize(q)),
            "reserve": str(self.sum_of(LineKind.RESERVE).quantize(q)),
            "lines": [li.as_json(self.currency) for li in self.lines],
        }


# ------------------------------------------------------------------------------------------------ parsing
def _amount(text: Any) -> Decimal | None:
    """A report amount: ``12.34``, ``-1,234.56`` or the continental ``-12,34``."""
    raw = str(text if text is not None else "").strip()
    if not raw:
        return None
    if "," in raw and "." not in raw:
        raw = raw.replace(",", ".")
    raw = raw.replace(",", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _day(text: Any) -> date | None:
    """A report date: ISO 8601 (``2026-11-05T06:53:52+00:00``, ``2026-11-05``), Amazon's
    ``2026-11-05 06:53:52 UTC`` or the continental ``05.11.2026 06:53:52 UTC``; the calendar day as given."""
    raw = str(text or "").strip().removesuffix(" UTC").removesuffix("Z").strip()
    if not raw:
        return None
    for form in ("%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(raw, form).date()  # noqa: DTZ007 - the day as the report states it
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(raw).date()
    except ValueError:
        return None


def _currency(text: Any) -> str | None:
    code = str(text or "").strip().upper()
    return code if len(code) == 3 and code.isalpha() else None


AMAZON_REQUIRED = ("settlement-id", "transaction-type", "amount-type", "amount-description", "amount", "currency")


def amazon_kind(transaction_type: str, amount_type: str, description: str) -> LineKind:
    """How an Amazon settlement amount is booked. ``ItemPrice`` and ``Promotion`` are the buyer's money
    (on a ``Refund``, given back); ``ItemWithheldTax`` is tax Amazon remits; a reserve is still owed; every
    other amount (``ItemFees``, service fees, storage, shipping labels, reimbursements) is the marketplace's
    charge or credit."""
    if "reserve" in description.lower():
        return LineKind.RESERVE
    if amount_type == "ItemWithheldTax":
        return LineKind.TAX_WITHHELD
    if amount_type in ("ItemPrice", "Promotion"):
        return LineKind.REFUND if transaction_type == "Refund" else LineKind.SALE
    return LineKind.FEE


def parse_amazon_settlement(payload: Any) -> list[Payout]:
    """The flat file V2 text (tab separated, header first) as payouts, one per ``settlement-id``. Each
    settlement's summary row (``total-amount`` set) gives the deposit; its amounts must add up to it."""
    if not isinstance(payload, str) or not payload.strip():
        raise InvalidInput(
            "not a settlement report", [FieldError("report", "the flat file V2 text, tab separated, header first")]
        )
    rows = list(csv.DictReader(io.StringIO(payload.lstrip("\ufeff")), delimiter="\t"))
    header = set(rows[0].keys()) if rows else set()
    missing = [c for c in AMAZON_REQUIRED if c not in header]
    if not rows or missing:
        raise InvalidInput(
            "not a settlement report",
            [FieldError("report", f"the header lacks {', '.join(missing) or 'rows'} (flat file V2 columns)")],
        )
    errors: list[FieldError] = []
    summaries: dict[str, Mapping[str, Any]] = {}
    lines: dict[str, list[PayoutLine]] = {}
    currencies: dict[str, str] = {}
    broken: set[str] = set()  # a bad amount: its settlement's sum would only repeat the error
    for i, row in enumerate(rows, start=2):  # line 1 is the header
        where = f"report.line{i}"
        settlement = str(row.get("settlement-id") or "").strip()
        if not settlement:
            errors.append(FieldError(f"{where}.settlement-id", "is required"))
            continue
        currency = _currency(row.get("currency"))
        if currency is None:
            errors.append(FieldError(f"{where}.currency", f"{row.get('currency')!r} is not a currency"))
            continue
        if currencies.setdefault(settlement, currency) != currency:
            errors.append(FieldError(f"{where}.currency", f"settlement {settlement} is in {currencies[settlement]}"))
            continue
        if str(row.get("total-amount") or "").strip():
            if settlement in summaries:
                errors.append(FieldError(f"{where}.total-amount", f"settlement {settlement} has two summary rows"))
            summaries[settlement] = {**row, "_where": where}
            continue
        amount = _amount(row.get("amount"))
        if amount is None:
            errors.append(FieldError(f"{where}.amount", f"{row.get('amount')!r} is not an amount"))
            broken.add(settlement)
            continue
        ttype, atype, desc = (str(row.get(c) or "").strip() for c in AMAZON_REQUIRED[1:4])
        posted = row.get("posted-date-time") or row.get("posted-date")
        lines.setdefault(settlement, []).append(
            PayoutLine(
                amazon_kind(ttype, atype, desc),
                "/".join(p for p in (ttype, atype, desc) if p),
                amount,
                str(row.get("order-id") or "").strip() or None,
                _day(posted),
                str(row.get("sku") or "").strip() or None,
                str(row.get("adjustment-id") or row.get("shipment-id") or "").strip() or None,
            )
        )
    out: list[Payout] = []
    for settlement in sorted((set(summaries) | set(lines)) - broken):
        summary = summaries.get(settlement)
        if summary is None:
            errors.append(FieldError("report", f"settlement {settlement} has no summary row (total-amount)"))
            continue
        where = summary["_where"]
        total = _amount(summary.get("total-amount"))
        currency = currencies[settlement]
        found = tuple(lines.get(settlement, ()))
        added = sum((li.amount for li in found), ZERO)
        if total is None:
            errors.append(FieldError(f"{where}.total-amount", f"{summary.get('total-amount')!r} is not an amount"))
            continue
        if added.quantize(quantum(currency)) != total.quantize(quantum(currency)):
            errors.append(
                FieldError(f"{where}.total-amount", f"{total} is not the sum of the settlement's amounts ({added})")
            )
            continue
        out.append(
            Payout(
                "amazon",
                settlement,
                currency,
                total,
                found,
                _day(summary.get("settlement-start-date")),
                _day(summary.get("settlement-end-date")),
                _day(summary.get("deposit-date")),
            )
        )
    if errors:
        raise InvalidInput("the settlement report is not valid", errors)
    return out


MIRAKL_SALES = frozenset({"ORDER_AMOUNT", "ORDER_AMOUNT_TAX", "ORDER_SHIPPING_AMOUNT", "ORDER_SHIPPING_AMOUNT_TAX"})
MIRAKL_REFUNDS = frozenset({f"REFUND_{t}" for t in MIRAKL_SALES})
MIRAKL_PAYMENT = "PAYMENT"


def mirakl_kind(transaction_type: str) -> LineKind:
    """How a Mirakl transaction line is booked: the order's amounts (and their refunds) are the buyer's money,
    ``OPERATOR_REMITTED_*`` tax is remitted by the operator, everything else (commissions and their VAT,
    subscriptions, manual credits and invoices) is the operator's charge or credit."""
    if transaction_type in MIRAKL_SALES:
        return LineKind.SALE
    if transaction_type in MIRAKL_REFUNDS:
        return LineKind.REFUND
    if transaction_type.startswith("OPERATOR_REMITTED_"):
        return LineKind.TAX_WITHHELD
    if "RESERVE" in transaction_type:
        return LineKind.RESERVE
    return LineKind.FEE


def _mirakl_items(payload: Any) -> list[Any]:
    if isinstance(payload, Mapping) and "data" in payload:
        data = payload.get("data")
        return list(data) if isinstance(data, list) else [data]
    if isinstance(payload, list):
        return payload
    return [payload]


def _mirakl_amount(item: Mapping[str, Any]) -> Decimal | None:
    if item.get("amount") is not None:
        return _amount(item.get("amount"))
    credited, debited = _amount(item.get("amount_credited")), _amount(item.get("amount_debited"))
    if credited is None and debited is None:
        return None
    return (credited or ZERO) - (debited or ZERO)


def parse_mirakl_transaction_logs(payload: Any) -> list[Payout]:
    """TL02's answer (``{"data": [...]}``) or its lines, as payouts: one per payment voucher that has its
    ``PAYMENT`` line (lines not paid out yet are refused: import them once paid). The ``PAYMENT`` is the
    transfer, debited from the seller's balance: its size must be the sum of the payout's other lines."""
    items = _mirakl_items(payload)
    if not items:
        raise InvalidInput("no transaction lines", [FieldError("report", "needs at least one")])
    errors: list[FieldError] = []
    groups: dict[str, list[PayoutLine]] = {}
    payments: dict[str, tuple[Decimal, date | None]] = {}
    currencies: dict[str, str] = {}
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"report.data[{i}]"
        if not isinstance(item, Mapping):
            errors.append(FieldError(where, "must be a Mirakl transaction line object"))
            continue
        ttype = str(item.get("transaction_type") or item.get("type") or "").strip()
        amount = _mirakl_amount(item)
        currency = _currency(item.get("currency_iso_code"))
        voucher = str(item.get("payment_voucher_number") or item.get("accounting_document_number") or "").strip()
        bad = [
            name
            for name, ok in (
                ("transaction_type", bool(ttype)),
                ("amount", amount is not None),
                ("currency_iso_code", currency is not None),
                ("payment_voucher_number", bool(voucher)),
            )
            if not ok
        ]
        for name in bad:
            errors.append(FieldError(f"{where}.{name}", "is missing or not what Mirakl documents"))
        if bad:
            continue
        assert amount is not None
        assert currency is not None
        txn_id = str(item.get("id") or "").strip() or None
        if txn_id is not None:
            if txn_id in seen:
                errors.append(FieldError(f"{where}.id", f"{txn_id} is listed twice"))
                continue
            seen.add(txn_id)
        if currencies.setdefault(voucher, currency) != currency:
            errors.append(FieldError(f"{where}.currency_iso_code", f"payout {voucher} is in {currencies[voucher]}"))
            continue
        when = _day(item.get("transaction_date") or item.get("date_created"))
        if ttype == MIRAKL_PAYMENT:
            if voucher in payments:
                errors.append(FieldError(where, f"payout {voucher} has two PAYMENT lines"))
            payments[voucher] = (amount, when)
            continue
        entities = item.get("entities")
        order = entities.get("order") if isinstance(entities, Mapping) else None
        order_ref = order.get("id") if isinstance(order, Mapping) else item.get("order_id")
        line = entities.get("order_line") if isinstance(entities, Mapping) else None
        sku = line.get("offer_sku") if isinstance(line, Mapping) else None
        groups.setdefault(voucher, []).append(
            PayoutLine(
                mirakl_kind(ttype),
                ttype,
                amount,
                str(order_ref) if order_ref else None,
                when,
                str(sku) if sku else None,
                txn_id,
            )
        )
    out: list[Payout] = []
    for voucher in sorted(set(groups) | set(payments)):
        found = tuple(groups.get(voucher, ()))
        if voucher not in payments:
            errors.append(FieldError("report", f"payout {voucher} has no PAYMENT line: it is not paid out yet"))
            continue
        paid, when = payments[voucher]
        currency = currencies[voucher]
        added = sum((li.amount for li in found), ZERO)
        if abs(paid).quantize(quantum(currency)) != added.quantize(quantum(currency)):
            errors.append(FieldError("report", f"payout {voucher} paid {abs(paid)}, its lines add up to {added}"))
            continue
        days = [li.posted for li in found if li.posted is not None]
        out.append(
            Payout("mirakl", voucher, currency, added, found, min(days, default=None), max(days, default=None), when)
        )
    if errors:
        raise InvalidInput("the transaction lines are not valid", errors)
    return out


PARSERS = {"amazon": parse_amazon_settlement, "mirakl": parse_mirakl_transaction_logs}


def parse_payout_report(source: str, payload: Any) -> list[Payout]:
    """The marketplace's payout report as payouts (see each parser for the shape it reads)."""
    parser = PARSERS.get(source)
    if parser is None:
        raise InvalidInput(
            "no payout report for this channel", [FieldError("channel", f"payouts are read for {', '.join(PARSERS)}")]
        )
    return parser(payload)


# ------------------------------------------------------------------------------------------------ booking
def payout_entry(
    payout: Payout,
    config: FinanceConfig,
    source_key: str,
    booked_on: date,
    refund_tenders: Mapping[str, str] | None = None,
) -> JournalEntry:
    """The payout's balanced entry (see the module's docstring): the bank gets the deposit, the clearing
    account of the marketplace's tender loses what the buyers paid for orders. A refund clears the account
    its refund document credited: ``refund_tenders`` names that tender per order ref (the marketplace's by
    default; ``original_payment`` when the order queue recorded the channel as holding the payment)."""
    clearing = config.tender_account(payout.source)
    entry = EntryBuilder(booked_on, payout.currency, f"{payout.source} payout {payout.id}", source_key)
    kw: dict[str, Any] = {"tender": payout.source}
    entry.debit(config.account(Role.MARKETPLACE_BANK), payout.total, f"{payout.source} payout {payout.id}")
    entry.credit(clearing, payout.sum_of(LineKind.SALE), "orders paid out", **kw)
    refunds: dict[str, Decimal] = {}
    for li in payout.lines:
        if li.kind is LineKind.REFUND:
            tender = (refund_tenders or {}).get(li.order_ref or "", payout.source)
            refunds[tender] = refunds.get(tender, ZERO) + li.amount
    for tender, amount in sorted(refunds.items()):
        entry.credit(config.tender_account(tender), amount, "refunds to buyers", tender=tender)
    entry.credit(clearing, payout.sum_of(LineKind.RESERVE), "reserve held back or released", **kw)
    entry.credit(config.account(Role.MARKETPLACE_FEES), payout.sum_of(LineKind.FEE), f"{payout.source} fees")
    entry.credit(config.account(Role.TAX), payout.sum_of(LineKind.TAX_WITHHELD), "tax the marketplace remits")
    return entry.build()


# ------------------------------------------------------------------------------------------------ paying invoices
#: The tender the order queue records a refund under when the channel holds the payment (``orders.returns``):
#: for a marketplace order, the marketplace gave the money back.
ORIGINAL_PAYMENT = "original_payment"


def invoice_payments(
    settled: Decimal, paid: Decimal, unpaid: Sequence[tuple[str, Decimal]]
) -> list[tuple[str, Decimal]] | None:
    """The payments a payout makes against an order's invoices nobody paid yet (a marketplace that reports
    the buyer's payment only by paying out, as Mirakl does for an order without ``customer_debited_date``).
    ``settled``: what all payouts so far paid for the order's sales; ``paid``: what its payment documents
    at the marketplace's tender hold; ``unpaid``: (invoice id, amount still open) in the order invoiced.
    The rest of ``settled`` must pay the first open invoices exactly, one payment each; None when it does
    not (a discrepancy: nothing is paid, the money stays visible in the clearing account)."""
    rest = settled - paid
    if rest == 0:
        return []
    out: list[tuple[str, Decimal]] = []
    for invoice_id, open_amount in unpaid:
        if rest <= 0:
            break
        if open_amount <= 0:
            continue
        out.append((invoice_id, open_amount))
        rest -= open_amount
    return out if rest == 0 and out else None


# ------------------------------------------------------------------------------------------------ matching
@dataclass(frozen=True)
class OrderMoney:
    """What our documents hold for one order at the marketplace's tender, in the order they were posted."""

    order_id: str
    currency: str
    payments: tuple[Decimal, ...]
    refunds: tuple[Decimal, ...]
    documents: tuple[str, ...] = ()


@dataclass(frozen=True)
class PayoutDiscrepancy:
    source: str  # the channel
    order_ref: str
    problem: str  # unknown_order | currency | sale_amount | refund_amount
    currency: str
    theirs: Decimal
    ours: Decimal | None
    payouts: tuple[str, ...]
    documents: tuple[str, ...] = ()
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        q = quantum(self.currency) if self.currency else Decimal("0.01")
        return {
            "channel": self.source,
            "order_ref": self.order_ref,
            "problem": self.problem,
            "currency": self.currency,
            "theirs": str(self.theirs.quantize(q)),
            "ours": None if self.ours is None else str(self.ours.quantize(q)),
            "payouts": list(self.payouts),
            "documents": list(self.documents),
            "detail": self.detail,
        }


def _prefixes(amounts: Sequence[Decimal]) -> list[Decimal]:
    out, running = [], ZERO
    for amount in amounts:
        running += amount
        out.append(running)
    return out


def match_order(
    channel: str,
    order_ref: str,
    currency: str,
    sales: Decimal,
    refunds: Decimal,
    ours: OrderMoney | None,
    payouts: Sequence[str],
) -> list[PayoutDiscrepancy]:
    """Everything the payouts imported so far settled for one order (``sales``, ``refunds`` negative)
    against our documents. A marketplace pays a shipment when it ships: what it paid must be the order's
    first payments exactly (one, two... all of them: the rest are shipments not paid out yet), and what it
    took back its first refunds. Anything else (an order we never invoiced, another currency, an amount
    that is no run of our documents) is a discrepancy."""
    where = tuple(payouts)
    if ours is None:
        return [
            PayoutDiscrepancy(
                channel, order_ref, "unknown_order", currency, sales + refunds, None, where,
                detail=f"{channel} paid out order {order_ref}, which was never invoiced here",
            )
        ]  # fmt: skip
    if ours.currency != currency:
        return [
            PayoutDiscrepancy(
                channel, order_ref, "currency", currency, sales + refunds, None, where, ours.documents,
                f"paid out in {currency}, invoiced in {ours.currency}",
            )
        ]  # fmt: skip
    out: list[PayoutDiscrepancy] = []
    for problem, theirs, mine, word in (
        ("sale_amount", sales, ours.payments, "payments"),
        ("refund_amount", -refunds, ours.refunds, "refunds"),
    ):
        if not theirs:
            continue
        runs = _prefixes(mine)
        if theirs in runs:
            continue
        closest = min(runs, key=lambda r: abs(r - theirs)) if runs else None
        out.append(
            PayoutDiscrepancy(
                channel,
                order_ref,
                problem,
                currency,
                theirs,
                closest,
                where,
                ours.documents,
                f"{channel} settled {theirs} of {word} for order {order_ref}; our {word} add up to "
                + (", ".join(str(r) for r in runs) if runs else "nothing")
                + " in the order posted",
            )
        )
    return out
