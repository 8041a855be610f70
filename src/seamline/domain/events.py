"""Domain events: what happened, in business words, raised by the code that made it happen.

Each core package defines its own next to its rules (``seamline.ledger.events``, ``seamline.catalog.events``,
``seamline.orders.events``, ``seamline.finance.events``). The code that changes state raises them on its unit
of work (``seamline.service.unit_of_work``); on commit, still inside the transaction, the one handler table
(``seamline.service.handlers``) decides what follows from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class DomainEvent:
    """The base of every domain event: small, frozen, and named for what happened."""


class EventSink(Protocol):
    """Where a write raises its events: the unit of work it runs in."""

    def raise_event(self, event: DomainEvent) -> None: ...


__all__ = ["DomainEvent", "EventSink"]
