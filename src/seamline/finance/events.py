"""Finance's domain events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from seamline.domain.events import DomainEvent


@dataclass(frozen=True)
class DocumentPosted(DomainEvent):
    """A finance document (sales receipt, invoice, credit note, ...) was posted and numbered; ``document`` is
    its JSON as stored."""

    document: dict[str, Any]


@dataclass(frozen=True)
class InventoryValued(DomainEvent):
    """Goods crossed the brand's walls at cost (``finance.cost``): a receipt, a till sale, a return, a count's
    or an adjustment's difference, a damage, a sample. ``cause`` is the journal entry the value is booked in
    (several movements of one document share it); ``value`` is in ``currency``, always >= 0; ``inward`` says
    the goods came in (debit inventory) rather than left (credit it). A pick raises none: its value is booked
    when its order ships (``OrderShipped``)."""

    cause: str
    kind: str
    role: str
    memo: str
    currency: str
    value: Decimal
    inward: bool
    occurred_at: datetime
    document: str | None = None


__all__ = ["DocumentPosted", "InventoryValued"]
