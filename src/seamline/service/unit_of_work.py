"""The unit of work: one write transaction, and everything that belongs to it by name rather than by note.

A ``UnitOfWork`` is handed to every write (``Seamline.write``/``idempotent``, the group commit, the inbox):

- ``conn``: the transaction's connection; repositories read and write through it.
- ``raise_event(event)``: the code that changed state says what happened, in business words
  (``BalancesChanged``, ``StyleSaved``, ``SaleRecorded``, ``DocumentPosted``, ...). On commit, still inside the
  transaction, the handler table (``seamline.service.handlers``) runs for them.
- ``savepoint()``: a nested unit of work in a SAVEPOINT. Its events join the parent's only if it succeeds, so
  a request rolled back inside a group-commit batch, a failed finance posting or a rejected inbox message
  leaves no event behind.
- ``after_commit(callback)``: run once the transaction committed (waking the dispatcher, the availability
  publisher); never for a transaction that rolled back.
- ``token``: names the transaction (its savepoints share it).
- ``catalog``, ``channels``, ``channel_orders``, ``finance``, ``ledger``, ``orders``: the repositories the commands
  call (``service.repositories``): the store's modules, or fakes in a unit test.
- ``location_kinds()``: every location's kind, read once per transaction and shared by its savepoints (a
  group commit runs dozens of sales in one transaction); ``forget_location_kinds()`` after saving a location.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Connection, Engine

from seamline.domain.events import DomainEvent
from seamline.ledger.model import LocationKind
from seamline.service.repositories import (
    STORE,
    CatalogRepository,
    ChannelOrdersRepository,
    ChannelsRepository,
    FinanceRepository,
    LedgerRepository,
    OrdersRepository,
    Repositories,
)
from seamline.store import ledger_repo
from seamline.store.db import run_transaction

log = logging.getLogger("seamline.unit_of_work")

T = TypeVar("T")


class _Shared:
    """What the savepoints of one transaction share: caches of reads made in it."""

    __slots__ = ("location_kinds", "token")

    def __init__(self) -> None:
        self.location_kinds: dict[str, LocationKind] | None = None
        #: Names this transaction (shared by its savepoints): what it books at cost is one journal entry
        #: per document per transaction (``finance.cost.cause_of``).
        self.token = uuid.uuid4().hex[:16]


class UnitOfWork:
    def __init__(self, conn: Connection, *, repositories: Repositories = STORE, _shared: _Shared | None = None) -> None:
        self._conn = conn
        self._repos = repositories
        self._shared = _shared or _Shared()
        self.events: list[DomainEvent] = []
        self._after_commit: list[Callable[[], None]] = []

    @property
    def conn(self) -> Connection:
        return self._conn

    # ------------------------------------------------------------------ repositories
    @property
    def repositories(self) -> Repositories:
        return self._repos

    @property
    def catalog(self) -> CatalogRepository:
        return self._repos.catalog

    @property
    def channels(self) -> ChannelsRepository:
        return self._repos.channels

    @property
    def channel_orders(self) -> ChannelOrdersRepository:
        return self._repos.channel_orders

    @property
    def finance(self) -> FinanceRepository:
        return self._repos.finance

    @property
    def ledger(self) -> LedgerRepository:
        return self._repos.ledger

    @property
    def orders(self) -> OrdersRepository:
        return self._repos.orders

    @property
    def token(self) -> str:
        """Unique to this transaction, the same in its savepoints."""
        return self._shared.token

    # ------------------------------------------------------------------ events
    def raise_event(self, event: DomainEvent) -> None:
        self.events.append(event)

    def collect_events(self) -> list[DomainEvent]:
        """The events raised so far, taken: the handler table calls this until nothing is left."""
        taken, self.events = self.events, []
        return taken

    # ------------------------------------------------------------------ savepoints
    @contextmanager
    def savepoint(self) -> Iterator[UnitOfWork]:
        """A nested unit of work in a SAVEPOINT of this transaction. On success its events and after-commit
        callbacks join this one's; on an exception the savepoint is rolled back, they are dropped, and the
        exception goes on."""
        nested = UnitOfWork(self._conn, repositories=self._repos, _shared=self._shared)
        try:
            with self._conn.begin_nested():
                yield nested
        except BaseException:
            self._shared.location_kinds = None  # the savepoint may have saved a location
            raise
        self.events.extend(nested.events)
        self._after_commit.extend(nested._after_commit)

    # ------------------------------------------------------------------ after commit
    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this transaction committed (once per callback however often it is asked)."""
        if callback not in self._after_commit:
            self._after_commit.append(callback)

    def committed(self) -> None:
        """Called by the write path after the commit: runs the after-commit callbacks."""
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # noqa: BLE001 - the transaction committed; a wake-up failing must not undo that
                log.exception("an after-commit callback failed")

    # ------------------------------------------------------------------ per-transaction reads
    def location_kinds(self) -> dict[str, LocationKind]:
        """Every location's kind, read once per transaction (a copy: callers may change it)."""
        if self._shared.location_kinds is None:
            self._shared.location_kinds = ledger_repo.location_kinds(self._conn)
        return dict(self._shared.location_kinds)

    def forget_location_kinds(self) -> None:
        """A location was saved in this transaction: the next ``location_kinds`` reads them again."""
        self._shared.location_kinds = None


def run_unit_of_work(engine: Engine, work: Callable[[UnitOfWork], T]) -> T:
    """A write transaction with a unit of work but no handler table (the integration's own transactions, such
    as the availability publisher's): retried whole like ``run_transaction``; after-commit callbacks run once
    it committed."""

    def attempt(conn: Connection) -> tuple[T, UnitOfWork]:
        uow = UnitOfWork(conn)
        result = work(uow)
        if uow.events:  # nothing would handle them: a write that raises events goes through Seamline.write
            raise RuntimeError(f"events raised outside the handler table: {uow.events!r}")
        return result, uow

    result, uow = run_transaction(engine, attempt)
    uow.committed()
    return result


__all__ = ["UnitOfWork", "run_unit_of_work"]
