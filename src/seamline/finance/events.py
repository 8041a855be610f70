"""Finance's domain events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seamline.domain.events import DomainEvent


@dataclass(frozen=True)
class DocumentPosted(DomainEvent):
    """A finance document (sales receipt, invoice, credit note, ...) was posted and numbered; ``document`` is
    its JSON as stored."""

    document: dict[str, Any]


__all__ = ["DocumentPosted"]
