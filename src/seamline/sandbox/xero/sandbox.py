"""A local Xero organisation speaking the Accounting API (``/api.xro/2.0``): Invoices, CreditNotes with
Allocations, Payments, ManualJournals and Contacts (found again with ``GET /Contacts?where=``), created with
``PUT`` as the Xero SDKs do and read back with ``GET``.

It checks what Xero checks for these calls (a contact by ``ContactID`` or ``Name``; line items with an
``AccountCode`` of the chart; ``LineAmount`` = ``Quantity`` x ``UnitAmount`` less any discount; a unique
``InvoiceNumber``/``CreditNoteNumber``; payments and allocations against an ``AUTHORISED`` document and no
more than is due; a manual journal that balances) and answers as Xero does (``xero_accounting.yaml``,
parameter ``summarizeErrors``, default false): a create of several items answers 200 with every item, the
ones refused with ``HasErrors``, ``StatusAttributeString: ERROR`` and their ``ValidationErrors`` (the
others created, ``StatusAttributeString: OK``); with ``summarizeErrors=true`` a refused item fails the
whole call with a ``ValidationException`` (400) and nothing is created. It honours
``Idempotency-Key`` (the first answer is replayed), needs ``Authorization: Bearer`` and ``xero-tenant-id``,
and throttles with 429 + ``Retry-After`` + ``X-Rate-Limit-Problem`` on request."""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fastapi import FastAPI

from seamline.sandbox.http import Answer, HttpSandbox, SandboxError

BASE = "/api.xro/2.0"
CENT = Decimal("0.01")
FIXTURE_CONTACT = "430fa14a-f945-44d3-9f97-5df5e28441b8"


@dataclass
class XeroSandboxConfig:
    access_token: str = "xero-sandbox-token"
    tenant_id: str = "xero-sandbox-tenant"
    #: The chart's account codes (None: any code is on the chart).
    accounts: frozenset[str] | None = None
    #: Codes on the chart but archived: a line posted to one is refused until it is restored.
    archived: set[str] = field(default_factory=set)


@dataclass
class Document:
    """An invoice or credit note as Xero holds it."""

    id: str
    kind: str  # Invoice | CreditNote
    data: dict[str, Any]
    total: Decimal
    paid: Decimal = Decimal(0)
    credited: Decimal = Decimal(0)
    allocations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def due(self) -> Decimal:
        return self.total - self.paid - self.credited


def _num(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _date(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


class XeroSandbox(HttpSandbox):
    name = "xero"

    def __init__(self, config: XeroSandboxConfig | None = None) -> None:
        super().__init__()
        self.config = config or XeroSandboxConfig()
        self.contacts: dict[str, str] = {}  # ContactID -> Name
        self.contact_records: dict[str, dict[str, Any]] = {}  # ContactID -> the contact as PUT /Contacts made it
        self.invoices: dict[str, Document] = {}
        self.credit_notes: dict[str, Document] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.manual_journals: dict[str, dict[str, Any]] = {}

    # -- seeding --------------------------------------------------------------------------------------
    def add_contact(self, name: str, contact_id: str | None = None) -> str:
        with self._lock:
            cid = contact_id or str(uuid.uuid4())
            self.contacts[cid] = name
            return cid

    def add_invoice(self, invoice_id: str, total: Decimal, *, number: str | None = None) -> None:
        """An invoice created in Xero by hand (the fixtures' payment and allocation name one)."""
        with self._lock:
            self.invoices[invoice_id] = Document(
                invoice_id,
                "Invoice",
                {"InvoiceID": invoice_id, "InvoiceNumber": number, "Type": "ACCREC", "Status": "AUTHORISED"},
                total,
            )

    def by_number(self, number: str) -> Document | None:
        for doc in [*self.invoices.values(), *self.credit_notes.values()]:
            if number in (doc.data.get("InvoiceNumber"), doc.data.get("CreditNoteNumber")):
                return doc
        return None

    # -- platform hooks -------------------------------------------------------------------------------
    def authorised(self, headers: dict[str, str]) -> bool:
        return (
            headers.get("authorization") == f"Bearer {self.config.access_token}"
            and headers.get("xero-tenant-id") == self.config.tenant_id
        )

    def idempotency_key(self, headers: dict[str, str], query: dict[str, str], body: Any) -> str | None:
        return headers.get("idempotency-key")

    def error_body(self, status: int, message: str) -> Any:
        if status == 429:
            return {"Title": "Too Many Requests", "Detail": "TooManyRequests", "Status": 429}
        if status == 401:
            return {"Type": None, "Title": "Unauthorized", "Status": 401, "Detail": message}
        return {"Title": "Service Unavailable", "Status": status, "Detail": message}

    def encode(self, answer: Answer) -> Any:
        if answer.status == 429:
            answer.headers.setdefault("x-rate-limit-problem", "minute")
        return super().encode(answer)

    def _invalid(self, element: dict[str, Any], messages: list[str]) -> SandboxError:
        body = {
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": [{**element, "ValidationErrors": [{"Message": m} for m in messages]}],
        }
        return SandboxError(Answer(400, body, "rejected"))

    def _envelope(self, key: str, items: list[dict[str, Any]]) -> Answer:
        return Answer(
            200,
            {
                "Id": str(uuid.uuid4()),
                "Status": "OK",
                "ProviderName": "Seamline",
                "DateTimeUTC": datetime.now(UTC).isoformat(),
                key: items,
            },
        )

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> Answer:
        if not path.startswith(BASE + "/"):
            return Answer(404, {"Message": "The resource you're looking for cannot be found"}, "not_found")
        parts = path[len(BASE) + 1 :].strip("/").split("/")
        if method in ("PUT", "POST") and not isinstance(body, dict):
            raise self._invalid({}, ["The request body is not JSON"])
        summarize = str(query.get("summarizeErrors", "false")).lower() == "true"
        match (method, parts):
            case ("PUT" | "POST", ["Contacts"]):
                items = self._items(body, "Contacts")
                return self._batch("Contacts", "ContactID", items, self._new_contact, summarize)
            case ("GET", ["Contacts"]):
                wanted = re.fullmatch(r'(\w+)=="([^"]*)"', query.get("where", ""))
                if query.get("where") and wanted is None:
                    raise self._invalid({}, [f"The where clause {query.get('where')!r} is not understood"])
                listed = [
                    c
                    for c in self.contact_records.values()
                    if wanted is None or str(c.get(wanted.group(1))) == wanted.group(2)
                ]
                return self._envelope("Contacts", listed)
            case ("PUT" | "POST", ["Invoices"]):
                items = self._items(body, "Invoices")
                return self._batch("Invoices", "InvoiceID", items, lambda i: self._create(i, "Invoice"), summarize)
            case ("PUT" | "POST", ["CreditNotes"]):
                items = self._items(body, "CreditNotes")
                create = lambda i: self._create(i, "CreditNote")  # noqa: E731
                return self._batch("CreditNotes", "CreditNoteID", items, create, summarize)
            case ("PUT", ["CreditNotes", credit_id, "Allocations"]):
                items = self._items(body, "Allocations")
                return self._envelope("Allocations", [self._allocate(credit_id, item) for item in items])
            case ("PUT" | "POST", ["Payments"]):
                items = self._items(body, "Payments")
                return self._batch("Payments", "PaymentID", items, self._pay, summarize)
            case ("PUT" | "POST", ["ManualJournals"]):
                items = self._items(body, "ManualJournals")
                return self._batch("ManualJournals", "ManualJournalID", items, self._journal, summarize)
            case ("GET", ["Invoices"]):
                numbers = [n for n in query.get("InvoiceNumbers", "").split(",") if n]
                found = [d for d in self.invoices.values() if not numbers or d.data.get("InvoiceNumber") in numbers]
                return self._envelope("Invoices", [self._view(d) for d in found])
            case ("GET", ["Invoices", invoice_id]):
                doc = self.invoices.get(invoice_id) or self.by_number(invoice_id)
                if doc is None:
                    return Answer(404, {"Message": "The resource you're looking for cannot be found"}, "not_found")
                return self._envelope("Invoices", [self._view(doc)])
            case ("GET", ["CreditNotes"]):
                wanted = re.fullmatch(r'CreditNoteNumber=="([^"]*)"', query.get("where", ""))
                notes = [
                    d
                    for d in self.credit_notes.values()
                    if wanted is None or d.data.get("CreditNoteNumber") == wanted.group(1)
                ]
                return self._envelope("CreditNotes", [self._view(d) for d in notes])
        return Answer(404, {"Message": "The resource you're looking for cannot be found"}, "not_found")

    def _batch(
        self,
        key: str,
        id_key: str,
        items: list[dict[str, Any]],
        make: Callable[[dict[str, Any]], dict[str, Any]],
        summarize: bool,
    ) -> Answer:
        """Create each item. ``summarizeErrors=false`` (Xero's default): 200 with every item, a refused one
        carrying its ``ValidationErrors``, an empty id and ``StatusAttributeString: ERROR``, the valid ones
        created. ``true``: the first refusal fails the call (400) and nothing of it is created."""
        if summarize:
            held = (self.contacts, self.contact_records, self.invoices, self.credit_notes)
            state = copy.deepcopy((*held, self.payments, self.manual_journals))
            try:
                return self._envelope(key, [{**make(i), "StatusAttributeString": "OK"} for i in items])
            except SandboxError:
                (
                    self.contacts,
                    self.contact_records,
                    self.invoices,
                    self.credit_notes,
                    self.payments,
                    self.manual_journals,
                ) = state
                raise
        out: list[dict[str, Any]] = []
        for item in items:
            try:
                made = make(item)
            except SandboxError as exc:
                if exc.answer.status != 400 or not isinstance(exc.answer.body, dict):
                    raise
                [element] = exc.answer.body.get("Elements") or [{"ValidationErrors": []}]
                out.append(
                    {
                        **element,
                        id_key: "00000000-0000-0000-0000-000000000000",
                        "HasErrors": True,
                        "StatusAttributeString": "ERROR",
                    }
                )
                continue
            out.append({**made, "HasErrors": False, "StatusAttributeString": "OK"})
        return self._envelope(key, out)

    def _items(self, body: dict[str, Any], key: str) -> list[dict[str, Any]]:
        items = body.get(key)
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            raise self._invalid({}, [f"{key} must be a non-empty list of objects"])
        return items

    @staticmethod
    def _archived(code: str) -> str:
        return (
            f"Account code '{code}' has been archived, or has been deleted. Each line item must reference a valid "
            "account."
        )

    # -- contacts -------------------------------------------------------------------------------------
    def _new_contact(self, item: dict[str, Any]) -> dict[str, Any]:
        """A contact as ``PUT /Contacts`` makes it (xero_accounting.yaml, Contact): a ``Name`` unique across
        active contacts (the OpenAPI example's message when it is not), ``ContactNumber`` and
        ``AccountNumber`` of 50 characters at most."""
        errors: list[str] = []
        name = item.get("Name")
        if not isinstance(name, str) or not name.strip():
            errors.append("The contact name must be specified")
        elif len(name) > 255:
            errors.append("The contact name must be 255 characters at most")
        elif name in self.contacts.values():
            errors.append(
                f"The contact name {name} is already assigned to another contact. "
                "The contact name must be unique across all active contacts."
            )
        for key in ("ContactNumber", "AccountNumber"):
            value = item.get(key)
            if value is not None and (not isinstance(value, str) or len(value) > 50):
                errors.append(f"{key} must be text of 50 characters at most")
        if errors:
            raise self._invalid(item, errors)
        cid = self.add_contact(str(name))
        record = {**item, "ContactID": cid, "ContactStatus": "ACTIVE"}
        self.contact_records[cid] = record
        return record

    # -- invoices and credit notes --------------------------------------------------------------------
    def _contact(self, raw: Any, errors: list[str]) -> dict[str, Any]:
        if not isinstance(raw, dict):
            errors.append("A Contact must be specified")
            return {}
        cid = raw.get("ContactID")
        if cid:
            if cid not in self.contacts:
                errors.append(f"Contact with ContactID {cid} could not be found")
                return {}
            return {"ContactID": cid, "Name": self.contacts[cid]}
        name = raw.get("Name")
        if not isinstance(name, str) or not name.strip():
            errors.append("A Contact must have a ContactID or a Name")
            return {}
        existing = next((k for k, v in self.contacts.items() if v == name), None)
        return {"ContactID": existing or self.add_contact(name), "Name": name}

    def _create(self, item: dict[str, Any], kind: str) -> dict[str, Any]:
        errors: list[str] = []
        types = ("ACCREC", "ACCPAY") if kind == "Invoice" else ("ACCRECCREDIT", "ACCPAYCREDIT")
        if item.get("Type") not in types:
            errors.append(f"Type must be one of {', '.join(types)}")
        number_key = "InvoiceNumber" if kind == "Invoice" else "CreditNoteNumber"
        number = item.get(number_key)
        if number is not None and (not isinstance(number, str) or len(number) > 255):
            errors.append(f"{number_key} must be text of 255 characters at most")
        elif number and self.by_number(number) is not None:
            errors.append("Invoice # must be unique." if kind == "Invoice" else "Credit Note # must be unique.")
        issued = _date(item.get("Date"))
        if "Date" in item and issued is None:
            errors.append("Date is not a valid date (YYYY-MM-DD)")
        if "DueDate" in item and _date(item.get("DueDate")) is None:
            errors.append("DueDate is not a valid date (YYYY-MM-DD)")
        status = item.get("Status", "DRAFT")
        if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
            errors.append("Status must be DRAFT, SUBMITTED or AUTHORISED")
        amount_types = item.get("LineAmountTypes", "Exclusive")
        if amount_types not in ("Exclusive", "Inclusive", "NoTax"):
            errors.append("LineAmountTypes must be Exclusive, Inclusive or NoTax")
        contact = self._contact(item.get("Contact"), errors)
        lines, subtotal, tax = self._lines(item.get("LineItems"), errors)
        if errors:
            raise self._invalid({k: v for k, v in item.items() if k != "LineItems"}, errors)
        total = subtotal + (tax if amount_types == "Exclusive" else Decimal(0))
        doc_id = str(uuid.uuid4())
        id_key = "InvoiceID" if kind == "Invoice" else "CreditNoteID"
        store = self.invoices if kind == "Invoice" else self.credit_notes
        auto = f"{'INV' if kind == 'Invoice' else 'CN'}-{len(store) + 1:04d}"
        data = {
            **{k: v for k, v in item.items() if k not in ("Contact", "LineItems")},
            id_key: doc_id,
            number_key: number or auto,
            "Contact": contact,
            "Status": status,
            "LineAmountTypes": amount_types,
            "LineItems": lines,
            "SubTotal": subtotal if amount_types != "Inclusive" else subtotal - tax,
            "TotalTax": tax,
            "Total": total,
        }
        store[doc_id] = Document(doc_id, kind, data, total)
        return self._view(store[doc_id])

    def _lines(self, raw: Any, errors: list[str]) -> tuple[list[dict[str, Any]], Decimal, Decimal]:
        if not isinstance(raw, list) or not raw:
            errors.append("At least one line item is required")
            return [], Decimal(0), Decimal(0)
        lines: list[dict[str, Any]] = []
        subtotal = tax = Decimal(0)
        for i, line in enumerate(raw):
            if not isinstance(line, dict):
                errors.append(f"Line item {i + 1} is not an object")
                continue
            if not line.get("Description") and not line.get("ItemCode"):
                errors.append("Description is required when no ItemCode is given")
            qty = _num(line.get("Quantity", 1))
            unit = _num(line.get("UnitAmount", 0))
            discount = _num(line.get("DiscountAmount", 0))
            if qty is None or unit is None or discount is None:
                errors.append(f"Line item {i + 1}: Quantity, UnitAmount and DiscountAmount are numbers")
                continue
            expected = _money(qty * unit - discount)
            given = _num(line.get("LineAmount", expected))
            if given is None or _money(given) != expected:
                errors.append(f"The line total {line.get('LineAmount')} does not match Quantity x UnitAmount")
                continue
            code = line.get("AccountCode")
            if not isinstance(code, str) or not code:
                errors.append("Account code must be specified")
            elif self.config.accounts is not None and code not in self.config.accounts:
                errors.append(f"Account code '{code}' is not a valid code for this document.")
            elif code in self.config.archived:
                errors.append(self._archived(code))
            tax_type = line.get("TaxType", "NONE")
            if not isinstance(tax_type, str):
                errors.append("TaxType must be text")
            line_tax = _num(line.get("TaxAmount", 0)) or Decimal(0)
            subtotal += expected
            tax += line_tax
            lines.append({**line, "LineItemID": str(uuid.uuid4()), "LineAmount": expected, "TaxAmount": line_tax})
        return lines, subtotal, tax

    def _view(self, doc: Document) -> dict[str, Any]:
        out = dict(doc.data)
        out["Total"] = doc.total
        if doc.kind == "Invoice":
            out.update(AmountDue=doc.due, AmountPaid=doc.paid, AmountCredited=doc.credited)
        else:
            out.update(RemainingCredit=doc.due, Allocations=list(doc.allocations))
        return out

    # -- allocations, payments, journals --------------------------------------------------------------
    def _allocate(self, credit_id: str, item: dict[str, Any]) -> dict[str, Any]:
        note = self.credit_notes.get(credit_id)
        if note is None:
            raise SandboxError(Answer(404, {"Message": f"CreditNote {credit_id} not found"}, "not_found"))
        errors: list[str] = []
        invoice_ref = item.get("Invoice")
        invoice = self.invoices.get(invoice_ref.get("InvoiceID", "")) if isinstance(invoice_ref, dict) else None
        amount = _num(item.get("Amount"))
        if note.data.get("Status") != "AUTHORISED":
            errors.append("Credit note must be AUTHORISED to be allocated")
        if invoice is None:
            errors.append("Invoice could not be found")
        if amount is None or amount <= 0:
            errors.append("Amount must be greater than zero")
        if _date(item.get("Date")) is None:
            errors.append("Date is not a valid date (YYYY-MM-DD)")
        if invoice is not None and amount is not None:
            if amount > note.due:
                errors.append("Allocation amount exceeds the remaining credit")
            if amount > invoice.due:
                errors.append("Allocation amount exceeds the amount due on the invoice")
        if errors:
            raise self._invalid(item, errors)
        assert invoice is not None
        assert amount is not None
        allocation = {
            "AllocationID": str(uuid.uuid4()),
            "Amount": amount,
            "Date": _date(item.get("Date")),
            "Invoice": {"InvoiceID": invoice.id, "InvoiceNumber": invoice.data.get("InvoiceNumber")},
            "CreditNote": {"CreditNoteID": note.id, "CreditNoteNumber": note.data.get("CreditNoteNumber")},
        }
        note.credited += amount
        invoice.credited += amount
        note.allocations.append(allocation)
        return allocation

    def _pay(self, item: dict[str, Any]) -> dict[str, Any]:
        errors: list[str] = []
        target: Document | None = None
        if isinstance(item.get("Invoice"), dict):
            ref = item["Invoice"]
            target = self.invoices.get(ref.get("InvoiceID", "")) or (
                self.by_number(ref["InvoiceNumber"]) if ref.get("InvoiceNumber") else None
            )
        elif isinstance(item.get("CreditNote"), dict):
            target = self.credit_notes.get(item["CreditNote"].get("CreditNoteID", ""))
        if target is None:
            errors.append("An Invoice or CreditNote that exists must be specified")
        account = item.get("Account")
        code = account.get("Code") or account.get("AccountID") if isinstance(account, dict) else None
        if not code:
            errors.append("An Account must be specified by Code or AccountID")
        elif self.config.accounts is not None and code not in self.config.accounts:
            errors.append(f"Account code '{code}' is not a valid code")
        elif code in self.config.archived:
            errors.append(self._archived(code))
        amount = _num(item.get("Amount"))
        if amount is None or amount <= 0:
            errors.append("Payment amount must be greater than zero")
        if _date(item.get("Date")) is None:
            errors.append("Date is not a valid date (YYYY-MM-DD)")
        if target is not None and target.data.get("Status") != "AUTHORISED":
            errors.append("Payments can only be made against AUTHORISED documents")
        if target is not None and amount is not None and amount > target.due:
            errors.append(f"Payment amount exceeds the amount outstanding ({target.due})")
        if errors:
            raise self._invalid(item, errors)
        assert target is not None
        assert amount is not None
        target.paid += amount
        payment = {
            **item,
            "PaymentID": str(uuid.uuid4()),
            "Amount": amount,
            "Status": "AUTHORISED",
            "PaymentType": "ACCRECPAYMENT" if target.kind == "Invoice" else "ARCREDITPAYMENT",
        }
        self.payments[payment["PaymentID"]] = payment
        return payment

    def _journal(self, item: dict[str, Any]) -> dict[str, Any]:
        errors: list[str] = []
        if not isinstance(item.get("Narration"), str) or not item["Narration"].strip():
            errors.append("Narration must be specified")
        lines = item.get("JournalLines")
        if not isinstance(lines, list) or len(lines) < 2:
            errors.append("A journal needs at least two lines")
            lines = []
        debits = credits = Decimal(0)
        for i, line in enumerate(lines):
            amount = _num(line.get("LineAmount")) if isinstance(line, dict) else None
            if amount is None or not isinstance(line.get("AccountCode"), str):
                errors.append(f"Journal line {i + 1} needs a LineAmount and an AccountCode")
                continue
            if self.config.accounts is not None and line["AccountCode"] not in self.config.accounts:
                errors.append(f"Account code '{line['AccountCode']}' is not a valid code")
            elif line["AccountCode"] in self.config.archived:
                errors.append(self._archived(line["AccountCode"]))
            if amount > 0:
                debits += amount
            else:
                credits -= amount
        if debits != credits:
            errors.append(f"The total debits ({debits}) must equal total credits ({credits})")
        if "Date" in item and _date(item.get("Date")) is None:
            errors.append("Date is not a valid date (YYYY-MM-DD)")
        if errors:
            raise self._invalid({k: v for k, v in item.items() if k != "JournalLines"}, errors)
        journal = {**item, "ManualJournalID": str(uuid.uuid4()), "Status": item.get("Status", "DRAFT")}
        self.manual_journals[journal["ManualJournalID"]] = journal
        return journal


def create_app(sandbox: XeroSandbox) -> FastAPI:
    return sandbox.asgi("Xero Accounting API sandbox")
