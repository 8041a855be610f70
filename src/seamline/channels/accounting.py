"""What the accounting connectors (Xero, QuickBooks Online) share: where they remember what they posted, the
stable idempotency key of each call, and which documents an accounting system is told about at all.

A document is posted once per accounting system: its export (the platform's id for it) is recorded after
the platform answers, and checked before anything is sent; the platform's idempotency key covers the gap
between the two (a crash after the answer, before the record: the retry replays the platform's answer)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

from seamline.finance import EXCHANGE_CREDIT, Document, DocumentKind, Posting
from seamline.finance.parties import Party


class ExportLedger(Protocol):
    """``FinanceDesk`` is one; tests may bring a dictionary."""

    def export_of(self, target: str, document_id: str) -> Mapping[str, Any] | None: ...

    def record_export(
        self,
        target: str,
        document_id: str,
        *,
        entity: str,
        external_id: str,
        external_number: str | None,
        remote_total: Decimal | None = None,
        customer_ref: str | None = None,
    ) -> None:
        """Record the export; ``customer_ref``: the receivable customer the platform booked it on, which the
        documents that follow it (a payment, a credit note, a refund) must name again."""

    def record_refusal(self, target: str, document_id: str, messages: Sequence[str]) -> None:
        """The platform refused the document with these messages (its export state becomes ``refused``)."""

    def export_attempts(self, target: str, document_id: str) -> int:
        """How often the document's export state changed without it being exported (refused, queued again
        by a backfill): 0 for a first export. Part of the idempotency key, so a re-export after a fix is a
        new request and not the platform's replay of its first refusal."""
        return 0

    def document_for(self, source_key: str) -> Mapping[str, Any] | None: ...


class Parties(Protocol):
    """Who a document's receivable belongs to and the contact each connection made for it
    (``service.receivables.ReceivableParties``; tests may bring a dictionary)."""

    def party_of(self, doc: Document) -> Party: ...

    def contact_of(self, target: str, party: str) -> str | None: ...

    def record_contact(self, target: str, party: Party, external_id: str) -> str: ...


class WaitingFor(Exception):
    """The document needs another one posted first (a payment its invoice): retry later."""

    def __init__(self, what: str) -> None:
        super().__init__(f"waiting for {what} to be posted first")


def attempt_step(step: str, attempts: int) -> str:
    """``create`` for a first export, ``create2``... once it was refused or queued again."""
    return step if attempts <= 0 else f"{step}{attempts + 1}"


def idempotency_key(environment: str, document_id: str, step: str = "create", *, limit: int = 128) -> str:
    """Stable per document and call, and naming the environment (DESIGN 10): a staging retry can never
    replay as production's. QuickBooks' ``requestid`` takes 50 characters at most."""
    key = f"sl-{environment[:4]}-{document_id}-{step}"
    return key[:limit]


def settled_at_the_till(doc: Document) -> bool:
    """Till sales and till refunds reach the books through their store's settlement journal only."""
    return doc.kind is DocumentKind.SALES_RECEIPT or (
        doc.kind is DocumentKind.CREDIT_NOTE and doc.posting is Posting.SETTLEMENT
    )


def paid_by_exchange(doc: Document) -> bool:
    return any(tender == EXCHANGE_CREDIT for tender, _ in doc.tenders)


def needs(exports: ExportLedger, target: str, document_id: str | None, what: str) -> Mapping[str, Any]:
    """The export of a document this one depends on, or ``WaitingFor``."""
    found = None if document_id is None else exports.export_of(target, document_id)
    if found is None:
        raise WaitingFor(f"{what} {document_id}")
    return found
