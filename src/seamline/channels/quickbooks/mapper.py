"""Our finance documents → QuickBooks Online Accounting API entities, and QuickBooks' answers back. Pure.

- invoice → ``Invoice`` (tax-inclusive ``SalesItemLineDetail`` lines at list price, the discount as a
  ``DiscountLineDetail`` on the discounts account); an invoice paid in full at once by one tender (a web
  order) is a ``SalesReceipt`` deposited to that tender's account instead, and its payment is then part of it;
- payment → ``Payment`` linked to its invoice; credit note → ``CreditMemo`` (the returns item);
- refund → ``JournalEntry`` (receivable, naming the customer, against the tender's account): QuickBooks has
  no refund of a credit memo in the five entities we post;
- settlement journal → ``JournalEntry``.
QuickBooks names accounts, items, customers and tax codes by id: ``QuickBooksRefs`` maps ours to theirs.
``DocNumber`` is our document number (21 characters at most); ``PrivateNote`` carries our document id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from seamline.finance import Document, FinanceConfig, Role
from seamline.finance.parties import Party


class QuickBooksMappingError(ValueError):
    """QuickBooks answered in a shape its API does not document."""


@dataclass(frozen=True)
class QuickBooksRefs:
    #: channel → QuickBooks customer id ("1" for all unmapped channels).
    customers: Mapping[str, str] = field(default_factory=dict)
    default_customer: str = "1"
    sales_item: str = "1"
    returns_item: str = "2"
    #: our account code → QuickBooks account id (codes not listed are taken to be the ids).
    accounts: Mapping[str, str] = field(default_factory=dict)

    def customer(self, channel: str | None) -> dict[str, str]:
        return {"value": self.customers.get(channel or "", self.default_customer)}

    def account(self, code: str) -> dict[str, str]:
        return {"value": self.accounts.get(code, code)}


def number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def private_note(doc: Document, environment: str) -> str:
    return f"seamline:{environment}:{doc.id}"


def _item_lines(
    doc: Document, config: FinanceConfig, refs: QuickBooksRefs, item: str, *, with_discounts: bool
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    discounts: list[dict[str, Any]] = []
    for line in doc.lines:
        gross = line.list_gross if with_discounts else line.gross
        out.append(
            {
                "LineNum": len(out) + 1,
                "Description": line.description or line.sku,
                "Amount": number(gross),
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": item, "name": line.sku},
                    "Qty": line.qty,
                    "UnitPrice": number(gross / line.qty),
                    "TaxCodeRef": {"value": config.tax_code(line.tax_code).qbo_tax_code},
                    "TaxInclusiveAmt": number(gross),
                },
            }
        )
        if with_discounts and line.discount_gross:
            discounts.append(
                {
                    "Description": f"Discount on {line.description or line.sku}",
                    "Amount": number(line.discount_gross),
                    "DetailType": "DiscountLineDetail",
                    "DiscountLineDetail": {
                        "PercentBased": False,
                        "DiscountAccountRef": refs.account(config.account(Role.DISCOUNTS)),
                    },
                }
            )
    return out + discounts


Customer = dict[str, str] | None


def _sales_entity(
    doc: Document,
    config: FinanceConfig,
    refs: QuickBooksRefs,
    environment: str,
    item: str,
    *,
    with_discounts: bool,
    customer: Customer = None,
) -> dict[str, Any]:
    return {
        "DocNumber": doc.number,
        "TxnDate": doc.issued_on.isoformat(),
        "PrivateNote": private_note(doc, environment),
        "CustomerRef": customer or refs.customer(doc.channel),
        "CurrencyRef": {"value": doc.currency},
        "GlobalTaxCalculation": "TaxInclusive",
        "Line": _item_lines(doc, config, refs, item, with_discounts=with_discounts),
        "TxnTaxDetail": {"TotalTax": number(doc.tax_total)},
    }


def invoice_body(
    doc: Document,
    config: FinanceConfig,
    refs: QuickBooksRefs,
    environment: str,
    *,
    due: date | None = None,
    customer: Customer = None,
) -> dict[str, Any]:
    body = _sales_entity(doc, config, refs, environment, refs.sales_item, with_discounts=True, customer=customer)
    body["DueDate"] = (due or doc.issued_on).isoformat()
    if doc.order_ref:
        body["CustomerMemo"] = {"value": f"Order {doc.order_ref}"}
    return body


def sales_receipt_body(
    doc: Document, config: FinanceConfig, refs: QuickBooksRefs, environment: str, tender: str, customer: Customer = None
) -> dict[str, Any]:
    body = _sales_entity(doc, config, refs, environment, refs.sales_item, with_discounts=True, customer=customer)
    body["DepositToAccountRef"] = refs.account(config.tender_account(tender))
    body["PaymentRefNum"] = (doc.order_ref or doc.number or "")[:21]
    return body


def credit_memo_body(
    doc: Document, config: FinanceConfig, refs: QuickBooksRefs, environment: str, customer: Customer = None
) -> dict[str, Any]:
    return _sales_entity(doc, config, refs, environment, refs.returns_item, with_discounts=False, customer=customer)


def payment_body(
    doc: Document,
    config: FinanceConfig,
    refs: QuickBooksRefs,
    environment: str,
    invoice_id: str,
    customer: Customer = None,
) -> dict[str, Any]:
    [(tender, amount)] = doc.tenders
    return {
        "TotalAmt": number(amount),
        "CustomerRef": customer or refs.customer(doc.channel),
        "TxnDate": doc.issued_on.isoformat(),
        "PaymentRefNum": doc.number,
        "PrivateNote": private_note(doc, environment),
        "DepositToAccountRef": refs.account(config.tender_account(tender)),
        "Line": [{"Amount": number(amount), "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}],
    }


def _journal_line(
    amount: Decimal, posting: str, account: dict[str, str], memo: str, customer: dict[str, str] | None = None
) -> dict[str, Any]:
    detail: dict[str, Any] = {"PostingType": posting, "AccountRef": account}
    if customer is not None:
        detail["Entity"] = {"Type": "Customer", "EntityRef": customer}
    return {
        "Description": memo,
        "Amount": number(amount),
        "DetailType": "JournalEntryLineDetail",
        "JournalEntryLineDetail": detail,
    }


def refund_journal_body(
    doc: Document, config: FinanceConfig, refs: QuickBooksRefs, environment: str, customer: Customer = None
) -> dict[str, Any]:
    [(tender, amount)] = doc.tenders
    customer = customer or refs.customer(doc.channel)
    return {
        "DocNumber": doc.number,
        "TxnDate": doc.issued_on.isoformat(),
        "PrivateNote": private_note(doc, environment),
        "CurrencyRef": {"value": doc.currency},
        "Line": [
            _journal_line(amount, "Debit", refs.account(config.account(Role.RECEIVABLE)), doc.memo, customer),
            _journal_line(amount, "Credit", refs.account(config.tender_account(tender)), f"{tender} refund"),
        ],
    }


def journal_entry_body(doc: Document, refs: QuickBooksRefs, environment: str) -> dict[str, Any]:
    if doc.journal is None:
        raise ValueError(f"{doc.id} is not a journal document")
    lines = []
    for line in doc.journal["lines"]:
        debit, credit = Decimal(line["debit"]), Decimal(line["credit"])
        posting, amount = ("Debit", debit) if debit else ("Credit", credit)
        lines.append(_journal_line(amount, posting, refs.account(line["account"]), line["memo"]))
    return {
        "DocNumber": doc.number,
        "TxnDate": doc.issued_on.isoformat(),
        "PrivateNote": f"{private_note(doc, environment)} {doc.memo}",
        "CurrencyRef": {"value": doc.currency},
        "Line": lines,
    }


def customer_of(entity: Any) -> str | None:
    """The ``CustomerRef`` value an entity (our body, or QuickBooks' answer) is booked on, if it names one."""
    ref = entity.get("CustomerRef") if isinstance(entity, Mapping) else None
    value = ref.get("value") if isinstance(ref, Mapping) else None
    return str(value) if value else None


def customer_body(party: Party) -> dict[str, Any]:
    """A ``Customer`` for a receivable party: ``DisplayName`` is unique per company (``6240 Duplicate Name
    Exists Error`` otherwise) and carries our reference, so the customer is found again by it."""
    body: dict[str, Any] = {"DisplayName": party.display_name, "Notes": f"seamline:{party.key}"}
    if party.kind == "account":
        body["CompanyName"] = party.name[:100]
    if party.email:
        body["PrimaryEmailAddr"] = {"Address": party.email}
    return body


def created(response: Any, entity: str) -> tuple[str, str | None]:
    try:
        item = response[entity]
        return str(item["Id"]), item.get("DocNumber")
    except (KeyError, TypeError) as exc:
        raise QuickBooksMappingError(f"QuickBooks answered without {entity}.Id") from exc


def acknowledged_total(response: Any, entity: str) -> Decimal | None:
    """The total QuickBooks holds for what it created: ``TotalAmt`` of an invoice, receipt, memo or payment
    (a journal entry has none: None)."""
    try:
        value = response[entity].get("TotalAmt")
    except (KeyError, TypeError, AttributeError):
        return None
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def fault_errors(response: Any) -> list[tuple[str, str]]:
    """(code, message + detail) of each error in a ``Fault``."""
    fault = response.get("Fault") if isinstance(response, Mapping) else None
    errors = fault.get("Error") if isinstance(fault, Mapping) else None
    out = []
    for error in errors or []:
        if isinstance(error, Mapping):
            out.append((str(error.get("code")), f"{error.get('Message')}: {error.get('Detail')}"))
    return out


def batch_item(bid: str, entity: str, body: dict[str, Any]) -> dict[str, Any]:
    """One ``BatchItemRequest``: create ``entity`` with ``body``, answered under the same ``bId``."""
    return {"bId": bid, "operation": "create", entity: body}


def batch_results(answered: list[dict[str, Any]], entity_of: Mapping[str, str]) -> dict[str, Any]:
    """Each ``bId``'s answer: its created entity (a dict with ``Id``), or its ``Fault``'s (code, message)
    pairs (a list). An item QuickBooks did not answer at all is missing from the result."""
    out: dict[str, Any] = {}
    for item in answered:
        bid = str(item.get("bId"))
        if bid not in entity_of:
            continue
        if isinstance(item.get("Fault"), Mapping):
            out[bid] = fault_errors(item) or [("?", "refused without a message")]
        elif isinstance(item.get(entity_of[bid]), Mapping):
            out[bid] = dict(item[entity_of[bid]])
    return out
