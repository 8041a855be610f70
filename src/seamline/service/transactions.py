"""The application's transaction core: every command and query of every part of ``Seamline`` runs through it.

``write`` runs work in a unit of work and the handler table before commit; ``read`` in a read transaction;
``idempotent`` once per Idempotency-Key, its response stored with its effect. ``Part`` is what each seam of
the application (catalog, locations, channels, inventory, holds, auth, reconcile) is built on: its commands
reach the core through it, so they read ``self.clock`` and call ``self.write`` as they did on ``Seamline``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from seamline.domain.clock import Clock
from seamline.domain.errors import Conflict
from seamline.service import metrics
from seamline.service.group_commit import GroupCommit, LockKeys, lock_in_order
from seamline.service.handlers import MessageBus
from seamline.service.settings import Settings
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import idempotency_repo
from seamline.store.db import run_transaction, transaction

T = TypeVar("T")


@dataclass(frozen=True)
class IdempotencyKey:
    principal: str
    key: str
    request_hash: str


@dataclass(frozen=True)
class Stored:
    """A response as the API first answered it, replayed verbatim for a repeated Idempotency-Key."""

    status_code: int
    body: Any
    replayed: bool = False


class Transactions:
    """Write, read and idempotent transactions over one engine, with the handler table and the group commit."""

    def __init__(self, engine: Engine, clock: Clock, settings: Settings) -> None:
        self.engine = engine
        self.clock = clock
        self.settings = settings
        #: The handler table's collaborators and runner (``service.handlers``): run inside every write
        #: transaction, after its work and before commit, for the domain events the work raised.
        self.bus = MessageBus()
        #: Group commit for sales and orders, started by the API with ``seamline serve`` (issue 9).
        self.group_commit: GroupCommit | None = None

    def write(self, work: Callable[[UnitOfWork], T], *, batch: bool = False, lock_keys: LockKeys | None = None) -> T:
        """Run ``work`` in a write transaction with its unit of work; the handler table runs for the events it
        raised before commit (``service.handlers``). ``batch``: share the transaction (and its commit) with
        concurrent writes through the group commit, when one is running (issue 9). ``lock_keys``: the balance
        rows ``work`` may touch, locked first in the global order (issue 16)."""
        if batch and self.group_commit is not None and self.group_commit.running:
            return self.group_commit.submit(work, lock_keys)

        def in_transaction(conn: Connection) -> tuple[T, UnitOfWork]:
            uow = UnitOfWork(conn)
            if lock_keys is not None:
                lock_in_order(conn, [lock_keys])
            result = work(uow)
            self.bus.handle(uow)
            return result, uow

        result, uow = run_transaction(self.engine, in_transaction)
        uow.committed()
        return result

    def read(self, work: Callable[[Connection], T]) -> T:
        with transaction(self.engine, write=False) as conn:
            return work(conn)

    def idempotent(
        self,
        idem: IdempotencyKey | None,
        work: Callable[[UnitOfWork], tuple[int, Any]],
        *,
        batch: bool = False,
        lock_keys: LockKeys | None = None,
    ) -> Stored:
        """Run ``work`` once per key: its response is stored in the same transaction as its effect.

        A repeated key with the same request gets the first response; with a different request, 409.
        Failures are not stored (they wrote nothing), so a retry after a 409 shortage tries again.
        """
        if idem is None:
            status, body = self.write(work, batch=batch, lock_keys=lock_keys)
            return Stored(status, body)

        def guarded(uow: UnitOfWork) -> Stored:
            # The key's lock, the one the hold batches take: a concurrent writer of this key (single or
            # batched, any process) is waited for, then replayed, instead of meeting it at the unique index.
            conn = uow.conn
            idempotency_repo.lock_keys(conn, [(idem.principal, idem.key)])
            prior = idempotency_repo.find(conn, idem.principal, idem.key)
            if prior is not None:
                return self._replay(prior, idem)
            status, body = work(uow)
            idempotency_repo.save(conn, idem.principal, idem.key, idem.request_hash, status, body, self.clock.now())
            return Stored(status, body)

        try:
            return self.write(guarded, batch=batch, lock_keys=lock_keys)
        except IntegrityError:
            # A concurrent request with the same key committed first; ours rolled back whole.
            prior = self.read(lambda conn: idempotency_repo.find(conn, idem.principal, idem.key))
            if prior is None:
                raise
            return self._replay(prior, idem)

    @staticmethod
    def _replay(prior: dict[str, Any], idem: IdempotencyKey) -> Stored:
        if prior["request_hash"] != idem.request_hash:
            raise Conflict(
                "this Idempotency-Key was already used with a different request",
                code="idempotency-key-reused",
            )
        metrics.IDEMPOTENT_REPLAYS.inc()
        return Stored(prior["status_code"], prior["response"], replayed=True)


class Part:
    """One seam of the application over the shared transaction core (``Seamline`` holds one of each)."""

    def __init__(self, tx: Transactions) -> None:
        self.tx = tx

    @property
    def clock(self) -> Clock:
        return self.tx.clock

    @property
    def settings(self) -> Settings:
        return self.tx.settings

    @property
    def engine(self) -> Engine:
        return self.tx.engine

    def write(self, work: Callable[[UnitOfWork], T], *, batch: bool = False, lock_keys: LockKeys | None = None) -> T:
        return self.tx.write(work, batch=batch, lock_keys=lock_keys)

    def read(self, work: Callable[[Connection], T]) -> T:
        return self.tx.read(work)

    def idempotent(
        self,
        idem: IdempotencyKey | None,
        work: Callable[[UnitOfWork], tuple[int, Any]],
        *,
        batch: bool = False,
        lock_keys: LockKeys | None = None,
    ) -> Stored:
        return self.tx.idempotent(idem, work, batch=batch, lock_keys=lock_keys)
