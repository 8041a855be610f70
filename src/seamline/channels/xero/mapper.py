"""Our finance documents → Xero Accounting API bodies (``tests/fixtures/accounting``), and Xero's answers
back to the ids we keep. Pure: no HTTP, no database.

- invoice → ``Invoices`` ``ACCREC``, tax-inclusive lines at list price on the revenue account, the discount
  as its own negative line on the discounts account, each with our ``TaxAmount`` (so Xero's totals are ours
  to the cent); ``InvoiceNumber`` is our document number, ``Reference`` the channel's order id;
- payment → ``Payments`` against the invoice, from the tender's clearing account; an exchange's payment by
  the goods brought back is an ``Allocation`` of the return's credit note to the new invoice instead;
- credit note → ``CreditNotes`` ``ACCRECCREDIT`` on the returns account; refund → ``Payments`` against the
  credit note; settlement journal → ``ManualJournals`` (debits positive, credits negative).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from seamline.finance import Document, FinanceConfig, Role
from seamline.finance.parties import Party


class XeroMappingError(ValueError):
    """Xero answered in a shape its API does not document."""


def number(value: Decimal) -> int | float:
    """Xero takes money as JSON numbers; amounts here have at most 4 decimals and 14 digits, which a float
    carries exactly to the printed decimal."""
    return int(value) if value == value.to_integral_value() else float(value)


def contact_for(doc: Document, contacts: Mapping[str, str] | None = None) -> dict[str, str]:
    """The channel's cash customer ("web customers") unless the channel is mapped to a ContactID: for buyers
    we never identified (``finance.parties``), and for every document when no parties are wired."""
    channel = doc.channel or "seamline"
    contact_id = (contacts or {}).get(channel)
    if contact_id:
        return {"ContactID": contact_id}
    return {"Name": f"{channel} customers"}


def _tax_type(config: FinanceConfig, code: str) -> str:
    return config.tax_code(code).xero_tax_type


def _sales_lines(doc: Document, config: FinanceConfig, account: str, *, with_discounts: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for line in doc.lines:
        gross = line.list_gross if with_discounts else line.gross
        net = line.list_net if with_discounts else line.net
        out.append(
            {
                "Description": line.description or line.sku,
                "Quantity": line.qty,
                "UnitAmount": number(gross / line.qty),
                "AccountCode": account,
                "TaxType": _tax_type(config, line.tax_code),
                "TaxAmount": number(gross - net),
                "LineAmount": number(gross),
            }
        )
        if with_discounts and line.discount_gross:
            out.append(
                {
                    "Description": f"Discount on {line.description or line.sku}",
                    "Quantity": 1,
                    "UnitAmount": number(-line.discount_gross),
                    "AccountCode": config.account(Role.DISCOUNTS),
                    "TaxType": _tax_type(config, line.tax_code),
                    "TaxAmount": number(-(line.discount_gross - line.discount)),
                    "LineAmount": number(-line.discount_gross),
                }
            )
    return out


def contact_body(party: Party) -> dict[str, Any]:
    """``PUT /Contacts`` for a receivable party: ``ContactNumber`` is our reference ("used to identify contacts
    in external systems", xero_accounting.yaml Contact), found again with ``where=ContactNumber==``; the
    name carries the reference too, because Xero wants contact names unique across active contacts."""
    contact: dict[str, Any] = {"Name": party.display_name, "ContactNumber": party.number, "IsCustomer": True}
    if party.kind == "account":
        contact["AccountNumber"] = party.reference[:50]
    if party.email:
        contact["EmailAddress"] = party.email
    return {"Contacts": [contact]}


def invoice_body(
    doc: Document,
    config: FinanceConfig,
    *,
    due: date | None = None,
    contacts: Mapping[str, str] | None = None,
    contact: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "Invoices": [
            {
                "Type": "ACCREC",
                "Contact": dict(contact) if contact else contact_for(doc, contacts),
                "LineItems": _sales_lines(doc, config, config.account(Role.REVENUE), with_discounts=True),
                "Date": doc.issued_on.isoformat(),
                "DueDate": (due or doc.issued_on).isoformat(),
                "InvoiceNumber": doc.number,
                "Reference": doc.order_ref or doc.number,
                "Status": "AUTHORISED",
                "LineAmountTypes": "Inclusive",
                "CurrencyCode": doc.currency,
            }
        ]
    }


def credit_note_body(
    doc: Document,
    config: FinanceConfig,
    *,
    contacts: Mapping[str, str] | None = None,
    contact: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "CreditNotes": [
            {
                "Type": "ACCRECCREDIT",
                "Contact": dict(contact) if contact else contact_for(doc, contacts),
                "Date": doc.issued_on.isoformat(),
                "LineItems": _sales_lines(doc, config, config.account(Role.RETURNS), with_discounts=False),
                "CreditNoteNumber": doc.number,
                "Reference": doc.order_ref or doc.number,
                "Status": "AUTHORISED",
                "LineAmountTypes": "Inclusive",
                "CurrencyCode": doc.currency,
            }
        ]
    }


def payment_body(
    doc: Document,
    config: FinanceConfig,
    *,
    invoice_id: str | None = None,
    credit_note_id: str | None = None,
) -> dict[str, Any]:
    """A payment against an invoice (money in) or a credit note (a refund: money out), from the tender's
    account. Xero needs that account to accept payments (a bank account, or payments enabled on it)."""
    [(tender, amount)] = doc.tenders
    target: dict[str, Any] = (
        {"Invoice": {"LineItems": [], "InvoiceID": invoice_id}}
        if invoice_id is not None
        else {"CreditNote": {"CreditNoteID": credit_note_id}}
    )
    return {
        "Payments": [
            {
                **target,
                "Account": {"Code": config.tender_account(tender)},
                "Date": doc.issued_on.isoformat(),
                "Amount": number(amount),
                "Reference": doc.number,
            }
        ]
    }


def allocation_body(invoice_id: str, amount: Decimal, on: date) -> dict[str, Any]:
    return {
        "Allocations": [
            {"Invoice": {"LineItems": [], "InvoiceID": invoice_id}, "Amount": number(amount), "Date": on.isoformat()}
        ]
    }


def manual_journal_body(doc: Document, *, tracking_category: str | None = None) -> dict[str, Any]:
    """A settlement journal as posted: debits positive, credits negative; the store as a tracking option
    when the organisation tracks stores."""
    if doc.journal is None:
        raise ValueError(f"{doc.id} is not a journal document")
    lines = []
    for line in doc.journal["lines"]:
        amount = Decimal(line["debit"]) - Decimal(line["credit"])
        out: dict[str, Any] = {
            "LineAmount": number(amount),
            "AccountCode": line["account"],
            "Description": line["memo"],
        }
        if tracking_category and doc.store:
            out["Tracking"] = [{"Name": tracking_category, "Option": doc.store}]
        lines.append(out)
    return {
        "ManualJournals": [
            {
                "Narration": f"{doc.number}: {doc.memo}",
                "JournalLines": lines,
                "Date": doc.issued_on.isoformat(),
                "Status": "POSTED",
                "LineAmountTypes": "NoTax",
            }
        ]
    }


def map_accounts(body: Any, accounts: Mapping[str, str]) -> Any:
    """The body with our account codes replaced by the organisation's (``AccountCode`` of line items and
    journal lines, a payment's ``Account.Code``)."""
    if not accounts:
        return body

    def walk(value: Any) -> Any:
        if isinstance(value, list):
            return [walk(v) for v in value]
        if not isinstance(value, dict):
            return value
        out = {k: walk(v) for k, v in value.items()}
        if isinstance(out.get("AccountCode"), str):
            out["AccountCode"] = accounts.get(out["AccountCode"], out["AccountCode"])
        account = out.get("Account")
        if isinstance(account, dict) and isinstance(account.get("Code"), str):
            out["Account"] = {**account, "Code": accounts.get(account["Code"], account["Code"])}
        return out

    return walk(body)


def item_errors(item: Mapping[str, Any]) -> list[str]:
    """The validation messages of one item of a create answer. With ``summarizeErrors=false`` (Xero's
    default) a call answers 200 and each item says for itself: ``StatusAttributeString`` ``ERROR`` (or
    ``HasErrors``) with its ``ValidationErrors``; an HTTP 200 alone says nothing about an item."""
    messages = [
        str(e["Message"]) for e in item.get("ValidationErrors") or [] if isinstance(e, Mapping) and e.get("Message")
    ]
    refused = str(item.get("StatusAttributeString") or "").upper() == "ERROR" or bool(item.get("HasErrors"))
    if refused and not messages:
        messages = ["Xero refused the item without a message"]
    return messages if refused or messages else []


def created(response: Any, key: str, id_key: str, number_key: str | None = None) -> tuple[str, str | None]:
    """(Xero's id, its number) of the one thing a create call answered; ``XeroItemRefused`` when Xero
    answered 200 but refused the item."""
    try:
        item = response[key][0]
    except (KeyError, IndexError, TypeError) as exc:
        raise XeroMappingError(f"Xero answered without {key}[0]") from exc
    if not isinstance(item, Mapping):
        raise XeroMappingError(f"Xero answered {key}[0] that is not an object")
    refused = item_errors(item)
    if refused:
        raise XeroItemRefused(refused)
    try:
        found = str(item[id_key])
    except KeyError as exc:
        raise XeroMappingError(f"Xero answered without {key}[0].{id_key}") from exc
    return found, (str(item[number_key]) if number_key and item.get(number_key) else None)


def acknowledged_total(item: Any) -> Decimal | None:
    """The total Xero holds for what it created: an invoice's or credit note's ``Total``, a payment's
    ``Amount``; None when it says neither."""
    if not isinstance(item, Mapping):
        return None
    for key in ("Total", "Amount"):
        value = item.get(key)
        if value is not None and not isinstance(value, bool):
            try:
                return Decimal(str(value))
            except ArithmeticError:
                return None
    return None


class XeroItemRefused(ValueError):
    """Xero answered the call (200) and refused this item with validation messages."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def validation_messages(response: Any) -> list[str]:
    """The messages of a ``ValidationException``."""
    out: list[str] = []
    if isinstance(response, Mapping):
        for element in response.get("Elements") or []:
            for error in element.get("ValidationErrors") or []:
                if isinstance(error, Mapping) and error.get("Message"):
                    out.append(str(error["Message"]))
        if not out and response.get("Message"):
            out.append(str(response["Message"]))
    return out
