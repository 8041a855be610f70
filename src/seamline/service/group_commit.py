"""Group commit for writes other than holds: POS sales and orders (DESIGN 11, issue 9).

Holds have their own batcher that decides a whole batch in memory and writes one net change per hot row.
Sales and orders carry far more logic (allocation, customers, prices, documents), so here each request runs
its own unchanged service code inside a SAVEPOINT of one shared transaction: a request that fails rolls back
to its savepoint (and its unit of work's events with it) and gets its own error, its neighbours are
unaffected, and the batch commits (one fsync, one run of the handler table for the events of the requests
that succeeded) before any caller is answered. A deadlock or serialization failure on PostgreSQL aborts and
retries the whole batch, as it would a single transaction.

Lock order: requests of one batch would otherwise take balance rows in the order the requests arrived, so
two batches (one per process) could each hold a row the other wants. A request declares the balance rows it
may touch (``lock_keys``); the batch locks all of them first, in the one global order
(``ledger_repo.lock_available``), so batches of different processes, hold batches and single writes never
wait on each other in a cycle.

Beyond ``max_queue`` waiting requests the caller gets 503 with ``Retry-After``, never an unbounded wait.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection

from seamline.domain.errors import Unavailable
from seamline.service import metrics
from seamline.service.handlers import MessageBus
from seamline.service.settings import Settings
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import ledger_repo
from seamline.store.db import count_retry, is_retryable, run_transaction

log = logging.getLogger("seamline.group_commit")

T = TypeVar("T")
R = TypeVar("R")


#: The balance rows (sku, location) a write may touch, read inside its transaction (a prepack's components,
#: a channel's sources).
LockKeys = Callable[[Connection], Iterable[tuple[str, str]]]


@dataclass
class _Request(Generic[T]):
    work: Callable[[UnitOfWork], T]
    lock_keys: LockKeys | None = None
    enqueued: float = field(default_factory=time.perf_counter)
    future: Future[T] = field(default_factory=Future)


class _Retry(Exception):
    """A request hit a deadlock or serialization failure: the whole batch is retried."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


@dataclass(frozen=True)
class GroupCommitSettings:
    window_seconds: float = 0.0005
    max_batch: int = 64
    max_queue: int = 4096
    answer_timeout_seconds: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> GroupCommitSettings:
        """What `seamline serve` runs with: the holds' window and queue bound, ``SEAMLINE_GROUP_COMMIT_MAX``."""
        return cls(
            window_seconds=settings.hold_batch_window_seconds,
            max_batch=settings.group_commit_max,
            max_queue=settings.hold_batch_queue,
        )


def drain_in_batches(
    source: queue.Queue[R | None], window_seconds: float, max_batch: int, execute: Callable[[list[R]], None]
) -> None:
    """The writer loop of both group commits (this one and the hold batcher): wait for a first request,
    gather what arrives within ``window_seconds`` (at most ``max_batch``), execute them together. A None in
    the queue stops the loop once the batch in hand is executed."""
    while True:
        first = source.get()
        if first is None:
            return
        batch = [first]
        deadline = time.perf_counter() + window_seconds
        stopping = False
        while len(batch) < max_batch:
            try:
                remaining = deadline - time.perf_counter()
                item = source.get_nowait() if remaining <= 0 else source.get(timeout=remaining)
            except queue.Empty:
                break
            if item is None:
                stopping = True
                break
            batch.append(item)
        execute(batch)
        if stopping:
            return


def lock_in_order(conn: Connection, declared: list[LockKeys]) -> None:
    """Lock every balance row the writes declared, in the global order, before any of them runs."""
    keys = {key for lock_keys in declared for key in lock_keys(conn)}
    if keys:
        ledger_repo.lock_available(conn, keys)


class GroupCommit:
    def __init__(
        self,
        engine: Any,
        bus: MessageBus,
        settings: GroupCommitSettings | None = None,
    ) -> None:
        self.engine = engine
        self.bus = bus  # the application's handler table, run once per batch for the surviving events
        self.settings = settings or GroupCommitSettings()
        self._queue: queue.Queue[_Request[Any] | None] = queue.Queue(maxsize=self.settings.max_queue)
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ callers
    def submit(self, work: Callable[[UnitOfWork], T], lock_keys: LockKeys | None = None) -> T:
        """Run ``work`` in the next batch and answer its result (or raise its error) once the batch committed.
        ``lock_keys``: the balance rows it may touch, locked with the batch's others before any request runs."""
        if self._thread is None:
            raise RuntimeError("GroupCommit.start() was not called")
        request: _Request[T] = _Request(work, lock_keys)
        try:
            self._queue.put_nowait(request)
        except queue.Full:
            metrics.WRITE_BATCH_REJECTED.inc()
            raise Unavailable("too many writes queued; retry shortly with the same Idempotency-Key") from None
        try:
            return request.future.result(timeout=self.settings.answer_timeout_seconds)
        except TimeoutError:
            raise Unavailable("the write was not answered in time; retry with the same Idempotency-Key") from None

    # ------------------------------------------------------------------ the writer
    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="seamline-group-commit", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        drain_in_batches(self._queue, self.settings.window_seconds, self.settings.max_batch, self._commit)

    def _commit(self, batch: list[_Request[Any]]) -> None:
        started = time.perf_counter()
        for request in batch:
            metrics.WRITE_BATCH_QUEUE_WAIT.observe(started - request.enqueued)
        metrics.WRITE_BATCH_SIZE.observe(len(batch))

        def work(conn: Connection) -> tuple[list[tuple[bool, Any]], UnitOfWork]:
            lock_in_order(conn, [r.lock_keys for r in batch if r.lock_keys is not None])
            uow = UnitOfWork(conn)
            outcomes: list[tuple[bool, Any]] = []
            for request in batch:
                # Each request in its own savepoint and its own unit of work: one that fails is rolled back
                # with the events it raised; those of the ones that succeed join the batch's.
                try:
                    with uow.savepoint() as own:
                        result = request.work(own)
                except Exception as exc:  # noqa: BLE001 - the request's own answer; its neighbours go on
                    if is_retryable(exc):
                        raise _Retry(exc) from exc
                    outcomes.append((False, exc))
                else:
                    outcomes.append((True, result))
            self.bus.handle(uow)  # once per batch, for the surviving requests' events
            return outcomes, uow

        try:
            outcomes, uow = self._with_retries(work)
        except Exception as exc:  # noqa: BLE001 - the batch as a whole failed: every caller hears it
            log.warning("a group commit of %d writes failed: %s", len(batch), exc)
            for request in batch:
                request.future.set_exception(exc)
            return
        finally:
            metrics.WRITE_BATCH_SECONDS.observe(time.perf_counter() - started)
        uow.committed()
        for request, (ok, value) in zip(batch, outcomes, strict=True):
            if ok:
                request.future.set_result(value)
            else:
                request.future.set_exception(value)

    def _with_retries(self, work: Callable[[Connection], R]) -> R:
        for attempt in range(8):
            try:
                return run_transaction(self.engine, work)
            except _Retry as retry:
                if attempt == 7:
                    raise retry.cause from None
                count_retry(retry.cause)
                time.sleep(0.001 * (attempt + 1))
        raise AssertionError("unreachable")
