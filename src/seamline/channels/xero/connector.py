"""The Xero connector as the integration backbone sees it: a ``Subscriber`` to ``FinanceDocumentPosted`` that
posts each document to one Xero organisation exactly once.

Before sending, it checks the export record (posted before: nothing to do); each call carries an
``Idempotency-Key`` derived from the document id (a redelivery after a lost answer replays Xero's first
answer); a ``must be unique`` refusal of our own number means an earlier attempt got through, so the
document is looked up by number and recorded. A payment waits (retried with backoff) until its invoice is in
Xero. Xero's errors become the dispatcher's outcomes through ``integration.delivery_outcome``: 429 waits
(``Retry-After`` honoured), no answer or 5xx retries, a ``ValidationException`` is a dead letter (shown in
the integration status)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from seamline.channels.accounting import (
    ExportLedger,
    Parties,
    WaitingFor,
    attempt_step,
    idempotency_key,
    needs,
    paid_by_exchange,
    settled_at_the_till,
)
from seamline.channels.xero import mapper
from seamline.channels.xero.client import XeroClient, XeroRejected
from seamline.finance import Document, DocumentKind, FinanceConfig
from seamline.finance.parties import Party
from seamline.integration import (
    FINANCE_DOCUMENT_POSTED,
    ChannelError,
    Delivered,
    Delivery,
    DeliveryFailed,
    DeliveryRejected,
    Subscriber,
    delivery_outcome,
)

#: Xero allows 60 calls a minute per organisation.
CALLS_PER_SECOND = 1.0


@dataclass(frozen=True)
class XeroSettings:
    name: str = "books"
    environment: str = "development"
    #: channel → Xero ContactID; unmapped channels post to a contact named "<channel> customers".
    contacts: Mapping[str, str] = field(default_factory=dict)
    #: Payment terms by order kind (days after the invoice date); others are due on the day.
    due_days: Mapping[str, int] = field(default_factory=lambda: {"wholesale": 30})
    #: A Xero tracking category whose options are store codes, for the settlement journals.
    tracking_category: str | None = None
    #: Our account code → the organisation's, where its chart differs (codes not listed are the same there):
    #: mapped once on the connection, applied to every line, payment and journal it is sent.
    accounts: Mapping[str, str] = field(default_factory=dict)


class XeroExporter:
    def __init__(
        self,
        client: XeroClient,
        exports: ExportLedger,
        config: Callable[[], FinanceConfig],
        settings: XeroSettings | None = None,
        parties: Parties | None = None,
    ) -> None:
        self.client = client
        self.exports = exports
        self.config = config
        self.settings = settings or XeroSettings()
        #: None: every document on its channel's contact (as before receivables per customer).
        self.parties = parties

    @property
    def target(self) -> str:
        return f"xero:{self.settings.name}"

    def _key(self, doc: Document, step: str = "create") -> str:
        return idempotency_key(self.settings.environment, doc.id, step)

    def _record(
        self, doc: Document, entity: str, external_id: str, number: str | None, total: Decimal | None = None
    ) -> None:
        self.exports.record_export(
            self.target, doc.id, entity=entity, external_id=external_id, external_number=number, remote_total=total
        )

    def export(self, doc: Document) -> str:
        """Post one document; answers what happened: ``created``, ``found`` (an earlier attempt had got
        through), ``exported_before``, ``covered`` (an exchange's refund, which its credit note's allocation
        carries) or ``not_exported`` (the settlement journal carries it)."""
        if self.exports.export_of(self.target, doc.id) is not None:
            return "exported_before"
        config = self.config()
        if settled_at_the_till(doc):
            return "not_exported"
        if doc.kind is DocumentKind.INVOICE:
            party = self.parties.party_of(doc) if self.parties is not None else None
            days = self.settings.due_days.get(str(doc.extra.get("order_kind")), 0)
            if party is not None and party.terms_days is not None:
                days = party.terms_days  # a wholesale account's own terms
            body = mapper.invoice_body(
                doc,
                config,
                due=doc.issued_on + timedelta(days=days),
                contacts=self.settings.contacts,
                contact=self._contact(doc, party),
            )
            return self._create(doc, "Invoices", body, "Invoice", "InvoiceID", "InvoiceNumber")
        if doc.kind is DocumentKind.CREDIT_NOTE:
            body = mapper.credit_note_body(doc, config, contacts=self.settings.contacts, contact=self._contact(doc))
            return self._create(doc, "CreditNotes", body, "CreditNote", "CreditNoteID", "CreditNoteNumber")
        if doc.kind is DocumentKind.PAYMENT:
            invoice = needs(self.exports, self.target, doc.applies_to, "invoice")
            source = doc.extra.get("credit_note_source")
            if paid_by_exchange(doc) and source:
                return self._allocate(doc, str(source), str(invoice["external_id"]))
            body = mapper.payment_body(doc, config, invoice_id=str(invoice["external_id"]))
            return self._create(doc, "Payments", body, "Payment", "PaymentID")
        if doc.kind is DocumentKind.REFUND:
            if paid_by_exchange(doc):
                # Allocated to the exchange's invoice when that one is paid: exported with its credit note
                # (else it stayed pending for ever, and every backfill queued it again).
                note = needs(self.exports, self.target, doc.applies_to, "credit note")
                self._record(doc, "CreditNote", str(note["external_id"]), note.get("external_number"))
                return "covered"
            note = needs(self.exports, self.target, doc.applies_to, "credit note")
            body = mapper.payment_body(doc, config, credit_note_id=str(note["external_id"]))
            return self._create(doc, "Payments", body, "Payment", "PaymentID")
        if doc.kind is DocumentKind.JOURNAL:
            body = mapper.manual_journal_body(doc, tracking_category=self.settings.tracking_category)
            return self._create(doc, "ManualJournals", body, "ManualJournal", "ManualJournalID")
        return "not_exported"

    def _contact(self, doc: Document, party: Party | None = None) -> dict[str, str] | None:
        """The document's receivable contact: the one on record for its party on this connection, else the
        one Xero holds with the party's ``ContactNumber`` (an earlier attempt whose answer was lost), else a
        new one; None for the channel's cash customer. A contact Xero refuses refuses the document, with
        Xero's messages."""
        if self.parties is None:
            return None
        party = party or self.parties.party_of(doc)
        if party.anonymous:
            return None
        known = self.parties.contact_of(self.target, party.key)
        if known is not None:
            return {"ContactID": known}
        found = self.client.find_contact(party.number)
        if found is not None:
            contact_id = str(found["ContactID"])
        else:
            step = attempt_step("contact", self.exports.export_attempts(self.target, doc.id))
            key = idempotency_key(self.settings.environment, party.key, step)
            answer = self.client.create("Contacts", mapper.contact_body(party), idempotency_key=key)
            try:
                contact_id, _ = mapper.created(answer, "Contacts", "ContactID")
            except mapper.XeroItemRefused as exc:
                raise XeroRejected([f"contact {party.display_name}: {m}" for m in exc.messages]) from None
        return {"ContactID": self.parties.record_contact(self.target, party, contact_id)}

    def _create(
        self, doc: Document, collection: str, body: object, entity: str, id_key: str, number_key: str | None = None
    ) -> str:
        try:
            step = attempt_step("create", self.exports.export_attempts(self.target, doc.id))
            body = mapper.map_accounts(body, self.settings.accounts)
            answer = self.client.create(collection, body, idempotency_key=self._key(doc, step))
            # Xero answers 200 with each item's own status (summarizeErrors=false): read the item.
            external_id, number = mapper.created(answer, collection, id_key, number_key)
        except (XeroRejected, mapper.XeroItemRefused) as exc:
            rejected = exc if isinstance(exc, XeroRejected) else XeroRejected(exc.messages)
            if not (rejected.duplicate_number and doc.number):
                raise rejected from None
            found = (
                self.client.find_invoice(doc.number)
                if collection == "Invoices"
                else self.client.find_credit_note(doc.number)
            )
            if found is None:
                raise rejected from None
            self._record(doc, entity, str(found[id_key]), doc.number, mapper.acknowledged_total(found))
            return "found"
        self._record(doc, entity, external_id, number, mapper.acknowledged_total(answer[collection][0]))
        return "created"

    def _allocate(self, doc: Document, credit_note_source: str, invoice_id: str) -> str:
        note = self.exports.document_for(credit_note_source)
        if note is None:
            raise WaitingFor(f"the credit note of {credit_note_source}")
        exported = needs(self.exports, self.target, str(note["id"]), "credit note")
        body = mapper.allocation_body(invoice_id, doc.total, doc.issued_on)
        answer = self.client.allocate_credit_note(
            str(exported["external_id"]), body, idempotency_key=self._key(doc, "allocate")
        )
        external_id, _ = mapper.created(answer, "Allocations", "AllocationID")
        self._record(doc, "Allocation", external_id, None)
        return "created"

    def deliver(self, delivery: Delivery) -> Delivered:
        doc = Document.from_json(delivery.payload["document"])
        try:
            self.export(doc)
        except ChannelError as exc:
            if isinstance(exc, XeroRejected):
                self.exports.record_refusal(self.target, doc.id, exc.messages)
            raise delivery_outcome(exc, refused=f"Xero refused {doc.kind.value} {doc.number}") from exc
        except WaitingFor as exc:
            raise DeliveryFailed(str(exc)) from exc
        except mapper.XeroMappingError as exc:
            raise DeliveryRejected(str(exc)) from exc
        return Delivered()


def accounting_subscriber(
    exporter: XeroExporter, *, max_attempts: int | None = None, rate_per_second: float | None = CALLS_PER_SECOND
) -> Subscriber:
    """Every ``FinanceDocumentPosted``, one at a time (a payment after its invoice), paced to Xero's limit."""
    return Subscriber(
        name=exporter.target,
        event_types=frozenset({FINANCE_DOCUMENT_POSTED}),
        deliver=exporter.deliver,
        coalesce=False,
        max_concurrency=1,
        rate_per_second=rate_per_second,
        burst=5 if rate_per_second else None,
        max_attempts=max_attempts,
    )
