"""The QuickBooks Online connector: a ``Subscriber`` to ``FinanceDocumentPosted`` posting each document to
one QuickBooks company exactly once (export record checked first; ``requestid`` derived from the document id,
so a redelivery after a lost answer replays; a ``6140 Duplicate Document Number`` of our own number means an
earlier attempt got through: looked up by ``DocNumber`` and recorded). QuickBooks' errors become the
dispatcher's outcomes through ``integration.delivery_outcome``: throttling waits, no answer or 5xx retries,
a ``Fault`` is a dead letter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from seamline.channels.accounting import (
    ExportLedger,
    WaitingFor,
    attempt_step,
    idempotency_key,
    needs,
    settled_at_the_till,
)
from seamline.channels.quickbooks import mapper
from seamline.channels.quickbooks.client import (
    QuickBooksClient,
    QuickBooksRejected,
)
from seamline.finance import EXCHANGE_CREDIT, Document, DocumentKind, FinanceConfig
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
    ) -> None:
        self.client = client
        self.exports = exports
        self.config = config
        self.settings = settings or QuickBooksSettings()

    @property
    def target(self) -> str:
        return f"quickbooks:{self.settings.name}"

    def export(self, doc: Document) -> str:
        """Post one document: ``created``, ``found``, ``exported_before``, ``covered`` (a payment that its
        sales receipt already carries) or ``not_exported`` (the settlement journal carries it)."""
        if self.exports.export_of(self.target, doc.id) is not None:
            return "exported_before"
        if settled_at_the_till(doc):
            return "not_exported"
        config, refs, env = self.config(), self.settings.refs, self.settings.environment
        if doc.kind is DocumentKind.INVOICE:
            tender = paid_at_once(doc) if self.settings.sales_receipts else None
            if tender is not None:
                return self._create(doc, "SalesReceipt", mapper.sales_receipt_body(doc, config, refs, env, tender))
            days = self.settings.due_days.get(str(doc.extra.get("order_kind")), 0)
            body = mapper.invoice_body(doc, config, refs, env, due=doc.issued_on + timedelta(days=days))
            return self._create(doc, "Invoice", body)
        if doc.kind is DocumentKind.PAYMENT:
            invoice = needs(self.exports, self.target, doc.applies_to, "invoice")
            if invoice["entity"] == "SalesReceipt":
                return "covered"
            body = mapper.payment_body(doc, config, refs, env, str(invoice["external_id"]))
            return self._create(doc, "Payment", body)
        if doc.kind is DocumentKind.CREDIT_NOTE:
            return self._create(doc, "CreditMemo", mapper.credit_memo_body(doc, config, refs, env))
        if doc.kind is DocumentKind.REFUND:
            return self._create(doc, "JournalEntry", mapper.refund_journal_body(doc, config, refs, env))
        if doc.kind is DocumentKind.JOURNAL:
            return self._create(doc, "JournalEntry", mapper.journal_entry_body(doc, refs, env))
        return "not_exported"

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
                self.target, doc.id, entity=entity, external_id=str(found["Id"]), external_number=doc.number
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
        )
        return "created"

    def deliver(self, delivery: Delivery) -> Delivered:
        doc = Document.from_json(delivery.payload["document"])
        try:
            self.export(doc)
        except ChannelError as exc:
            if isinstance(exc, QuickBooksRejected):
                self.exports.record_refusal(self.target, doc.id, [f"{code} {text}" for code, text in exc.errors])
            raise delivery_outcome(exc, refused=f"QuickBooks refused {doc.kind.value} {doc.number}") from exc
        except WaitingFor as exc:
            raise DeliveryFailed(str(exc)) from exc
        except mapper.QuickBooksMappingError as exc:
            raise DeliveryRejected(str(exc)) from exc
        return Delivered()


def accounting_subscriber(
    exporter: QuickBooksExporter,
    *,
    max_attempts: int | None = None,
    rate_per_second: float | None = CALLS_PER_SECOND,
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
    )
