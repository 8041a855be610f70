"""What a repository function that changes state is handed: the transaction's connection and where to raise
what it changed. ``seamline.service.unit_of_work.UnitOfWork`` is the one implementation; the store only
names the shape, so it never imports the service layer."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Connection

from seamline.domain.events import DomainEvent


class Work(Protocol):
    @property
    def conn(self) -> Connection: ...

    def raise_event(self, event: DomainEvent) -> None: ...

    @property
    def token(self) -> str:
        """Unique to the transaction (the same in its savepoints)."""
        ...


__all__ = ["Work"]
