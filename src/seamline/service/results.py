"""What the service's commands answer: typed results that the API maps to HTTP (``api.routes.common``).

A command says what it did in business terms (``created``); it never chooses a status code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class PutResult(Generic[V]):
    """A resource created or replaced by its code, or a document taken once by its key: ``created`` False when
    it existed already (a PUT of an existing code; a repeated PO number or batch id, answered as first)."""

    created: bool
    view: V


__all__ = ["PutResult"]
