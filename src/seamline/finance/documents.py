"""Finance documents (DESIGN 7): what the accounting system is told, derived from what the order queue did.

- ``invoice``: a DTC, wholesale or marketplace order's units when they ship (one per shipment);
- ``payment``: a tender the order was paid with, applied to its invoice;
- ``credit_note``: a return, valued at the price paid; ``refund``: a tender paid back against it;
- ``sales_receipt``: a till sale (paid at once); ``journal``: a store day's settlement, per tender.

Documents are immutable once posted. ``posting`` says where the ledger sees them: ``journal`` documents get
their own balanced entry at once; ``settlement`` documents (till sales and till refunds) are booked by their
store's end-of-day settlement, summarised per tender, so the journal is not the till roll.

Every line carries its tax taken out of the tax-inclusive price it was sold at, and, when it was sold below
the price list, the discount: revenue is booked at list and the discount separately (net is the same).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from seamline.finance.amounts import ZERO, allocate, quantum, split_inclusive, to_minor
from seamline.finance.chart import FinanceConfig, Role, TaxCode
from seamline.finance.journal import EntryBuilder, JournalEntry


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    PAYMENT = "payment"
    CREDIT_NOTE = "credit_note"
    REFUND = "refund"
    SALES_RECEIPT = "sales_receipt"
    JOURNAL = "journal"


class Posting(StrEnum):
    JOURNAL = "journal"
    SETTLEMENT = "settlement"


NUMBER_PREFIX = {
    DocumentKind.INVOICE: "INV",
    DocumentKind.PAYMENT: "PAY",
    DocumentKind.CREDIT_NOTE: "CN",
    DocumentKind.REFUND: "RF",
    DocumentKind.SALES_RECEIPT: "SR",
    DocumentKind.JOURNAL: "JNL",
}
#: A line that sold a gift card (``finance.giftcards``): its money is a liability, never revenue; its account
#: is the gift card tender's clearing, which the card's issue debited.
GIFT_CARD_SKU = "gift_card"
#: What pays an exchange's new goods with the value of those brought back (the order queue's name for it).
EXCHANGE_CREDIT = "exchange_credit"


def document_number(kind: DocumentKind, seq: int) -> str:
    """At most 21 characters: QuickBooks Online's ``DocNumber`` limit."""
    return f"{NUMBER_PREFIX[kind]}-{seq:08d}"


@dataclass(frozen=True)
class PricedLine:
    """A line as the order queue sold it: the tax-inclusive unit price paid, and the list price it had."""

    sku: str
    description: str
    qty: int
    unit_price: Decimal
    tax: TaxCode
    list_unit_price: Decimal | None = None
    order_line_no: int | None = None


@dataclass(frozen=True)
class DocumentLine:
    line_no: int
    sku: str
    description: str
    qty: int
    unit_price: Decimal
    gross: Decimal
    tax_code: str
    tax_rate: Decimal
    tax: Decimal
    net: Decimal
    #: At list price (gross and net of tax) and the discount from it; equal to gross/net and zero at list.
    list_gross: Decimal
    list_net: Decimal
    discount_gross: Decimal
    discount: Decimal
    order_line_no: int | None = None

    def as_json(self, currency: str) -> dict[str, Any]:
        q = quantum(currency)
        money = ("gross", "tax", "net", "list_gross", "list_net", "discount_gross", "discount")
        return {
            "line_no": self.line_no,
            "sku": self.sku,
            "description": self.description,
            "qty": self.qty,
            "unit_price": str(self.unit_price),
            "tax_code": self.tax_code,
            "tax_rate": str(self.tax_rate),
            **{name: str(getattr(self, name).quantize(q)) for name in money},
            "order_line_no": self.order_line_no,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DocumentLine:
        return cls(
            line_no=int(data["line_no"]),
            sku=str(data["sku"]),
            description=str(data["description"]),
            qty=int(data["qty"]),
            unit_price=Decimal(data["unit_price"]),
            gross=Decimal(data["gross"]),
            tax_code=str(data["tax_code"]),
            tax_rate=Decimal(data["tax_rate"]),
            tax=Decimal(data["tax"]),
            net=Decimal(data["net"]),
            list_gross=Decimal(data["list_gross"]),
            list_net=Decimal(data["list_net"]),
            discount_gross=Decimal(data["discount_gross"]),
            discount=Decimal(data["discount"]),
            order_line_no=None if data.get("order_line_no") is None else int(data["order_line_no"]),
        )


def price_line(line: PricedLine, currency: str, line_no: int) -> DocumentLine:
    gross = to_minor(line.unit_price * line.qty, currency)
    net, tax = split_inclusive(gross, line.tax.rate, currency)
    list_gross, list_net = gross, net
    if line.list_unit_price is not None:
        at_list = to_minor(line.list_unit_price * line.qty, currency)
        if at_list > gross:  # sold above list is simply the price: no negative discount
            list_gross = at_list
            list_net, _ = split_inclusive(at_list, line.tax.rate, currency)
    return DocumentLine(
        line_no=line_no,
        sku=line.sku,
        description=line.description,
        qty=line.qty,
        unit_price=line.unit_price,
        gross=gross,
        tax_code=line.tax.code,
        tax_rate=line.tax.rate,
        tax=tax,
        net=net,
        list_gross=list_gross,
        list_net=list_net,
        discount_gross=list_gross - gross,
        discount=list_net - net,
        order_line_no=line.order_line_no,
    )


@dataclass(frozen=True)
class Document:
    id: str
    kind: DocumentKind
    currency: str
    issued_on: date
    posting: Posting
    total: Decimal
    lines: tuple[DocumentLine, ...] = ()
    #: (tender, amount): how a sales receipt was paid, how a credit note was refunded (or exchanged), or the
    #: one tender of a payment or refund.
    tenders: tuple[tuple[str, Decimal], ...] = ()
    number: str | None = None
    store: str | None = None
    channel: str | None = None
    order_id: str | None = None
    return_id: str | None = None
    #: The channel's own id of the order (a receipt number, a Shopify order name): the external reference.
    order_ref: str | None = None
    customer_id: str | None = None
    contact_name: str | None = None
    #: A payment's invoice, a refund's credit note, a credit note's invoice (when there is one).
    applies_to: str | None = None
    memo: str = ""
    #: A ``journal`` document's entry.
    journal: Mapping[str, Any] | None = None
    source_key: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tax_total(self) -> Decimal:
        return sum((line.tax for line in self.lines), ZERO)

    @property
    def net_total(self) -> Decimal:
        return sum((line.net for line in self.lines), ZERO)

    @property
    def discount_total(self) -> Decimal:
        return sum((line.discount for line in self.lines), ZERO)

    def tax_by_code(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for line in self.lines:
            out[line.tax_code] = out.get(line.tax_code, ZERO) + line.tax
        return out

    def as_json(self) -> dict[str, Any]:
        q = quantum(self.currency)
        return {
            "id": self.id,
            "kind": self.kind.value,
            "number": self.number,
            "currency": self.currency,
            "issued_on": self.issued_on.isoformat(),
            "posting": self.posting.value,
            "total": str(self.total.quantize(q)),
            "tax_total": str(self.tax_total.quantize(q)),
            "net_total": str(self.net_total.quantize(q)),
            "discount_total": str(self.discount_total.quantize(q)),
            "lines": [line.as_json(self.currency) for line in self.lines],
            "tenders": [{"tender": t, "amount": str(a.quantize(q))} for t, a in self.tenders],
            "store": self.store,
            "channel": self.channel,
            "order_id": self.order_id,
            "return_id": self.return_id,
            "order_ref": self.order_ref,
            "customer_id": self.customer_id,
            "contact_name": self.contact_name,
            "applies_to": self.applies_to,
            "memo": self.memo,
            "journal": None if self.journal is None else dict(self.journal),
            "source": self.source_key,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Document:
        return cls(
            id=str(data["id"]),
            kind=DocumentKind(data["kind"]),
            currency=str(data["currency"]),
            issued_on=date.fromisoformat(data["issued_on"]),
            posting=Posting(data["posting"]),
            total=Decimal(data["total"]),
            lines=tuple(DocumentLine.from_json(line) for line in data.get("lines") or ()),
            tenders=tuple((str(t["tender"]), Decimal(t["amount"])) for t in data.get("tenders") or ()),
            number=data.get("number"),
            store=data.get("store"),
            channel=data.get("channel"),
            order_id=data.get("order_id"),
            return_id=data.get("return_id"),
            order_ref=data.get("order_ref"),
            customer_id=data.get("customer_id"),
            contact_name=data.get("contact_name"),
            applies_to=data.get("applies_to"),
            memo=str(data.get("memo") or ""),
            journal=data.get("journal"),
            source_key=str(data.get("source") or ""),
            extra=dict(data.get("extra") or {}),
        )


def journal_document(
    doc_id: str,
    entry: JournalEntry,
    *,
    order_id: str | None = None,
    store: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Document:
    """A ``journal`` document carrying ``entry`` (a settlement's, a cost booking's, a gift card movement's),
    exported to the accounting connections as a manual journal; its cause is the entry's."""
    return Document(
        id=doc_id,
        kind=DocumentKind.JOURNAL,
        currency=entry.currency,
        issued_on=entry.entry_date,
        posting=Posting.JOURNAL,
        total=entry.total,
        order_id=order_id,
        store=store,
        memo=entry.memo,
        journal=entry.as_json(),
        source_key=entry.source_key,
        extra=dict(extra or {}),
    )


def priced_lines(lines: Sequence[PricedLine], currency: str) -> tuple[DocumentLine, ...]:
    return tuple(price_line(line, currency, i) for i, line in enumerate(lines, start=1))


def apply_tenders(
    tenders: Sequence[tuple[str, Decimal]], already: Mapping[str, Decimal], due: Decimal
) -> list[tuple[str, Decimal]]:
    """Which of the order's tenders pay ``due`` now: each in the order paid, up to what it has left after the
    payments already applied to earlier invoices of the same order."""
    left: dict[str, Decimal] = {}
    for tender, amount in tenders:
        left[tender] = left.get(tender, ZERO) + amount
    for tender, amount in already.items():
        left[tender] = left.get(tender, ZERO) - amount
    out: list[tuple[str, Decimal]] = []
    for tender, room in left.items():
        part = min(room, due)
        if part > 0:
            out.append((tender, part))
            due -= part
    return out


# ---------------------------------------------------------------------------------------------- journals
def document_entry(doc: Document, config: FinanceConfig) -> JournalEntry | None:
    """The balanced entry a ``journal``-posted document makes now; None for those a settlement books."""
    if doc.posting is not Posting.JOURNAL or doc.kind is DocumentKind.JOURNAL:
        return None
    ref = doc.number or doc.id
    entry = EntryBuilder(doc.issued_on, doc.currency, f"{doc.kind.value} {ref}", f"document:{doc.id}", doc.store)
    receivable = config.account(Role.RECEIVABLE)
    if doc.kind is DocumentKind.INVOICE:
        entry.debit(receivable, doc.total, f"invoice {ref}")
        sold = [li for li in doc.lines if li.sku != GIFT_CARD_SKU]
        entry.credit(config.account(Role.REVENUE), sum((li.list_net for li in sold), ZERO), "sales")
        # Gift cards sold are not revenue: their issue credited the liability against the gift card clearing.
        cards = sum((li.list_net for li in doc.lines if li.sku == GIFT_CARD_SKU), ZERO)
        entry.credit(config.tender_account(GIFT_CARD_SKU), cards, "gift cards sold", tender=GIFT_CARD_SKU)
        entry.debit(config.account(Role.DISCOUNTS), doc.discount_total, "discounts")
        for code, tax in sorted(doc.tax_by_code().items()):
            entry.credit(config.tax_account(code), tax, f"tax {code}", tax_code=code)
    elif doc.kind is DocumentKind.CREDIT_NOTE:
        entry.debit(config.account(Role.RETURNS), doc.net_total, "returns")
        for code, tax in sorted(doc.tax_by_code().items()):
            entry.debit(config.tax_account(code), tax, f"tax {code}", tax_code=code)
        entry.credit(receivable, doc.total, f"credit note {ref}")
    elif doc.kind is DocumentKind.PAYMENT:
        for tender, amount in doc.tenders:
            entry.debit(config.tender_account(tender), amount, f"{tender} payment", tender=tender)
        entry.credit(receivable, doc.total, f"payment {ref}")
    elif doc.kind is DocumentKind.REFUND:
        entry.debit(receivable, doc.total, f"refund {ref}")
        for tender, amount in doc.tenders:
            entry.credit(config.tender_account(tender), amount, f"{tender} refund", tender=tender)
    else:  # a sales receipt is always settlement-posted
        return None
    return entry.build()


# ---------------------------------------------------------------------------------------------- tender shares
@dataclass(frozen=True)
class TenderShare:
    """The part of one document a tender carries: gross paid (or refunded) and, within it, revenue at list,
    discount and tax by code, so a settlement can book each tender's entry exactly."""

    tender: str
    gross: Decimal
    revenue: Decimal
    discount: Decimal
    tax: Mapping[str, Decimal]
    #: Gift cards sold within it: booked to the gift card clearing, not revenue.
    gift_cards: Decimal = ZERO


def tender_shares(doc: Document) -> list[TenderShare]:
    """Split a sales receipt (or a till credit note) over its tenders in proportion to what each paid.
    Each component is split by largest remainder, so the tenders' parts add up to the document exactly."""
    tenders = list(doc.tenders)
    if not tenders:
        return []
    weights = [amount for _, amount in tenders]
    cur = doc.currency
    discount = allocate(doc.discount_total, weights, cur)
    tax_parts = {code: allocate(amount, weights, cur) for code, amount in sorted(doc.tax_by_code().items())}
    cards = allocate(sum((li.list_net for li in doc.lines if li.sku == GIFT_CARD_SKU), ZERO), weights, cur)
    out = []
    for i, (tender, amount) in enumerate(tenders):
        tax = {code: parts[i] for code, parts in tax_parts.items()}
        revenue = amount - sum(tax.values(), ZERO) + discount[i] - cards[i]
        out.append(TenderShare(tender, amount, revenue, discount[i], tax, cards[i]))
    return out


def sum_shares(shares: Iterable[TenderShare]) -> dict[str, TenderShare]:
    out: dict[str, TenderShare] = {}
    for share in shares:
        prior = out.get(share.tender)
        if prior is None:
            out[share.tender] = share
            continue
        tax = dict(prior.tax)
        for code, amount in share.tax.items():
            tax[code] = tax.get(code, ZERO) + amount
        out[share.tender] = TenderShare(
            share.tender,
            prior.gross + share.gross,
            prior.revenue + share.revenue,
            prior.discount + share.discount,
            tax,
            prior.gift_cards + share.gift_cards,
        )
    return out
