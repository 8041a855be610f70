"""The QuickBooks Online connector: a ``Subscriber`` to ``FinanceDocumentPosted`` posting each document to
one QuickBooks company exactly once (export record checked first; ``requestid`` derived from the document id,
so a redelivery after a lost answer replays; a ``6140 Duplicate Document Number`` of our own number means an
earlier attempt got through: looked up by ``DocNumber`` and recorded). QuickBooks' errors become the
dispatcher's outcomes through ``integration.delivery_outcome``: throttling waits, no answer or 5xx retries,
a ``Fault`` is a dead letter."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from seamline.channels.accounting import (
    ExportLedger,
    Parties,
    WaitingFor,
    attempt_step,
    idempotency_key,
    needs,
    settled_at_the_till,
)
from seamline.channels.quickbooks import mapper
from seamline.channels.quickbooks.client import (
    BATCH_LIMIT,
    QuickBooksClient,
    QuickBooksRejected,
)
from seamline.finance import EXCHANGE_CREDIT, Document, DocumentKind, FinanceConfig
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

#: QuickBooks allows 500 requests a minute per company; stay well under it.
CALLS_PER_SECOND = 5.0
#: ``requestid``: 50 characters at most.
REQUEST_ID_LIMIT = 50


@dataclass(frozen=True)
class QuickBooksSettings:
    name: str = "books"
    environment: str = "development"
    refs: mapper.QuickBooksRefs = field(default_factory=mapper.QuickBooksRefs)
    due_days: dict[str, int] = field(default_factory=lambda: {"wholesale": 30})
    #: A web order paid in full at once by one tender posts as a SalesReceipt (not Invoice + Payment).
    sales_receipts: bool = True


def paid_at_once(doc: Document) -> str | None:
    """The one tender that paid the whole invoice when it was raised, if that is how it was paid."""
    paid = doc.extra.get("paid") or []
    if len(paid) == 1 and Decimal(paid[0]["amount"]) == doc.total and paid[0]["tender"] != EXCHANGE_CREDIT:
        return str(paid[0]["tender"])
    return None


class QuickBooksExporter:
    def __init__(
        self,
        client: QuickBooksClient,
        exports: ExportLedger,
        config: Callable[[], FinanceConfig],
        settings: QuickBooksSettings | None = None,
        parties: Parties | None = None,
    ) -> None:
        self.client = client
        self.exports = exports
        self.config = config
        self.settings = settings or QuickBooksSettings()
        #: None: every document on its channel's customer (as before receivables per customer).
        self.parties = parties

    @property
    def target(self) -> str:
        return f"quickbooks:{self.settings.name}"

    def export(self, doc: Document) -> str:
        """Post one document: ``created``, ``found``, ``exported_before``, ``covered`` (a payment that its
        sales receipt already carries) or ``not_exported`` (the settlement journal carries it)."""
        planned = self._plan(doc)
        if isinstance(planned, str):
            return planned
        return self._create(doc, *planned)

    def _plan(self, doc: Document) -> str | tuple[str, dict[str, Any]]:
        """What to create for a document (entity, body), or what happened without a call."""
        if self.exports.export_of(self.target, doc.id) is not None:
            return "exported_before"
        if settled_at_the_till(doc):
            return "not_exported"
        config, refs, env = self.config(), self.settings.refs, self.settings.environment
        if doc.kind is DocumentKind.INVOICE:
            party = self.parties.party_of(doc) if self.parties is not None else None
            customer = self._customer(doc, party)
            tender = paid_at_once(doc) if self.settings.sales_receipts else None
            if tender is not None:
                return "SalesReceipt", mapper.sales_receipt_body(doc, config, refs, env, tender, customer)
            days = self.settings.due_days.get(str(doc.extra.get("order_kind")), 0)
            if party is not None and party.terms_days is not None:
                days = party.terms_days  # a wholesale account's own terms
            due = doc.issued_on + timedelta(days=days)
            return "Invoice", mapper.invoice_body(doc, config, refs, env, due=due, customer=customer)
        if doc.kind is DocumentKind.PAYMENT:
            invoice = needs(self.exports, self.target, doc.applies_to, "invoice")
            if invoice["entity"] == "SalesReceipt":
                # Part of its sales receipt: exported with it (else it would stay pending, and be backfilled).
                self.exports.record_export(
                    self.target,
                    doc.id,
                    entity="SalesReceipt",
                    external_id=str(invoice["external_id"]),
                    external_number=invoice.get("external_number"),
                )
                return "covered"
            customer = self._booked_on(invoice) or self._customer(doc)
            return "Payment", mapper.payment_body(doc, config, refs, env, str(invoice["external_id"]), customer)
        if doc.kind is DocumentKind.CREDIT_NOTE:
            customer = self._booked_on(self._export(doc.applies_to)) or self._customer(doc)
            return "CreditMemo", mapper.credit_memo_body(doc, config, refs, env, customer)
        if doc.kind is DocumentKind.REFUND:
            customer = self._booked_on(self._export(doc.applies_to)) or self._customer(doc)
            return "JournalEntry", mapper.refund_journal_body(doc, config, refs, env, customer)
        if doc.kind is DocumentKind.JOURNAL:
            return "JournalEntry", mapper.journal_entry_body(doc, refs, env)
        return "not_exported"

    def _export(self, document_id: str | None) -> Mapping[str, Any] | None:
        return None if document_id is None else self.exports.export_of(self.target, document_id)

    @staticmethod
    def _booked_on(export: Mapping[str, Any] | None) -> dict[str, str] | None:
        """The customer the document a follow-up settles was booked on: QuickBooks links a Payment to an
        Invoice (and a credit to its customer's balance) only under the same customer, so a change of the
        ``receivables`` setting since then must not move the follow-up to another one."""
        ref = None if export is None else export.get("customer_ref")
        return {"value": str(ref)} if ref else None

    def _customer(self, doc: Document, party: Party | None = None) -> dict[str, str] | None:
        """The document's receivable customer: the one on record for its party on this connection, else the
        one QuickBooks holds under the party's ``DisplayName`` (an earlier attempt whose answer was lost),
        else a new one; None for the channel's cash customer (``refs.customers``, then the default one)."""
        if self.parties is None:
            return None
        party = party or self.parties.party_of(doc)
        if party.anonymous:
            return None
        known = self.parties.contact_of(self.target, party.key)
        if known is None:
            found = self.client.find_customer(party.display_name)
            if found is None:
                step = attempt_step("cu", self.exports.export_attempts(self.target, doc.id))
                request_id = idempotency_key(self.settings.environment, party.key, step, limit=REQUEST_ID_LIMIT)
                try:
                    answer = self.client.create("Customer", mapper.customer_body(party), request_id=request_id)
                except QuickBooksRejected as exc:
                    errors = [(code, f"customer {party.display_name}: {text}") for code, text in exc.errors]
                    raise QuickBooksRejected(errors) from None
                found = answer["Customer"] if isinstance(answer, dict) and "Customer" in answer else None
                if found is None:
                    raise mapper.QuickBooksMappingError("QuickBooks answered without Customer.Id")
            known = self.parties.record_contact(self.target, party, str(found["Id"]))
        return {"value": known}

    def _create(self, doc: Document, entity: str, body: dict[str, Any]) -> str:
        step = attempt_step("c", self.exports.export_attempts(self.target, doc.id))
        request_id = idempotency_key(self.settings.environment, doc.id, step, limit=REQUEST_ID_LIMIT)
        try:
            answer = self.client.create(entity, body, request_id=request_id)
        except QuickBooksRejected as exc:
            found = self.client.find(entity, doc.number) if exc.duplicate_number and doc.number else None
            if found is None:
                raise
            self.exports.record_export(
                self.target,
                doc.id,
                entity=entity,
                external_id=str(found["Id"]),
                external_number=doc.number,
                customer_ref=mapper.customer_of(found) or mapper.customer_of(body),
            )
            return "found"
        external_id, number = mapper.created(answer, entity)
        self.exports.record_export(
            self.target,
            doc.id,
            entity=entity,
            external_id=external_id,
            external_number=number,
            remote_total=mapper.acknowledged_total(answer, entity),
            customer_ref=mapper.customer_of(body),
        )
        return "created"

    def deliver(self, delivery: Delivery) -> Delivered:
        doc = Document.from_json(delivery.payload["document"])
        try:
            self.export(doc)
        except (ChannelError, WaitingFor, mapper.QuickBooksMappingError) as exc:
            raise self._outcome(doc, exc) from exc
        return Delivered()

    def _outcome(self, doc: Document, exc: Exception) -> DeliveryFailed | DeliveryRejected:
        """A failed export as the dispatcher's outcome; a refusal is recorded with QuickBooks' messages."""
        if isinstance(exc, ChannelError):
            if isinstance(exc, QuickBooksRejected):
                self.exports.record_refusal(self.target, doc.id, [f"{code} {text}" for code, text in exc.errors])
            return delivery_outcome(exc, refused=f"QuickBooks refused {doc.kind.value} {doc.number}")
        if isinstance(exc, WaitingFor):
            return DeliveryFailed(str(exc))
        return DeliveryRejected(str(exc))

    def deliver_batch(self, deliveries: Sequence[Delivery]) -> list[Delivered | DeliveryFailed | DeliveryRejected]:
        """Up to ``BATCH_LIMIT`` documents in one ``POST /batch``, read item by item: the created ones are
        ``exported`` with their ids, the refused ones ``refused`` with their own ``Fault``'s messages (a
        ``6140`` of our own number: found by number and recorded), the rest retried. Payments are posted one
        by one after the batch (their invoice may be in it; a payment has no ``DocNumber`` to find it again by
        after a lost answer, so it keeps its own ``requestid``)."""
        docs = [Document.from_json(d.payload["document"]) for d in deliveries]
        out: dict[int, Delivered | DeliveryFailed | DeliveryRejected] = {}
        planned: dict[str, tuple[int, Document, str, dict[str, Any]]] = {}
        later: list[int] = []
        for i, doc in enumerate(docs):
            if doc.kind is DocumentKind.PAYMENT:
                later.append(i)
                continue
            try:
                plan = self._plan(doc)
            except (ChannelError, WaitingFor, mapper.QuickBooksMappingError) as exc:
                out[i] = self._outcome(doc, exc)
                continue
            if isinstance(plan, str):
                out[i] = Delivered()
            else:
                planned[str(len(planned) + 1)] = (i, doc, *plan)
        if planned:
            self._send_batch(planned, out)
        for i in later:
            try:
                self.export(docs[i])
                out[i] = Delivered()
            except (ChannelError, WaitingFor, mapper.QuickBooksMappingError) as exc:
                out[i] = self._outcome(docs[i], exc)
        return [out[i] for i in range(len(docs))]

    def _send_batch(
        self,
        planned: Mapping[str, tuple[int, Document, str, dict[str, Any]]],
        out: dict[int, Delivered | DeliveryFailed | DeliveryRejected],
    ) -> None:
        items = [mapper.batch_item(bid, entity, body) for bid, (_, _, entity, body) in planned.items()]
        steps = [f"{doc.id}.{self.exports.export_attempts(self.target, doc.id)}" for _, doc, _, _ in planned.values()]
        digest = hashlib.sha256(" ".join(steps).encode()).hexdigest()[:24]
        request_id = idempotency_key(self.settings.environment, f"b{digest}", "c", limit=REQUEST_ID_LIMIT)
        try:
            answered = self.client.batch(items, request_id=request_id)
        except ChannelError as exc:
            for i, doc, _, _ in planned.values():
                out[i] = self._outcome(doc, exc)
            return
        results = mapper.batch_results(answered, {bid: entity for bid, (_, _, entity, _) in planned.items()})
        for bid, (i, doc, entity, body) in planned.items():
            result = results.get(bid)
            if isinstance(result, dict):
                self.exports.record_export(
                    self.target,
                    doc.id,
                    entity=entity,
                    external_id=str(result["Id"]),
                    external_number=result.get("DocNumber"),
                    remote_total=mapper.acknowledged_total({entity: result}, entity),
                    customer_ref=mapper.customer_of(result) or mapper.customer_of(body),
                )
                out[i] = Delivered()
            elif isinstance(result, list):
                refused = QuickBooksRejected(result)
                found = self.client.find(entity, doc.number) if refused.duplicate_number and doc.number else None
                if found is not None:
                    self.exports.record_export(
                        self.target,
                        doc.id,
                        entity=entity,
                        external_id=str(found["Id"]),
                        external_number=doc.number,
                        customer_ref=mapper.customer_of(found) or mapper.customer_of(body),
                    )
                    out[i] = Delivered()
                else:
                    out[i] = self._outcome(doc, refused)
            else:
                out[i] = DeliveryFailed(f"QuickBooks answered no item {bid} of the batch")


def accounting_subscriber(
    exporter: QuickBooksExporter,
    *,
    max_attempts: int | None = None,
    rate_per_second: float | None = CALLS_PER_SECOND,
    batch: bool = True,
) -> Subscriber:
    return Subscriber(
        name=exporter.target,
        event_types=frozenset({FINANCE_DOCUMENT_POSTED}),
        deliver=exporter.deliver,
        coalesce=False,
        max_concurrency=1,
        rate_per_second=rate_per_second,
        burst=10 if rate_per_second else None,
        max_attempts=max_attempts,
        deliver_batch=exporter.deliver_batch if batch else None,
        batch_size=BATCH_LIMIT if batch else None,
    )
