"""Engines and units of work. SQLite writers take the write lock up front (BEGIN IMMEDIATE) so two writers
never both read and then fail to upgrade; PostgreSQL runs READ COMMITTED with conditional updates."""

from __future__ import annotations

import logging
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from prometheus_client import Counter
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

T = TypeVar("T")

# PostgreSQL deadlock_detected and serialization_failure: safe to retry the whole transaction.
_RETRYABLE_PG = {"40P01", "40001"}
_REASONS = {"40P01": "deadlock", "40001": "serialization"}

log = logging.getLogger("seamline.db")

#: Transactions retried whole, by why: every writer locks balance rows in one global order, so a
#: ``deadlock`` here is a bug to find (the log line names the statement), not a cost of doing business.
RETRIES = Counter("seamline_transaction_retries_total", "Transactions retried whole, by reason", ["reason"])


def count_retry(exc: BaseException) -> None:
    """Count and log a transaction about to be retried (``is_retryable(exc)`` held)."""
    orig = getattr(exc, "orig", None)
    reason = _REASONS.get(getattr(orig, "sqlstate", None) or "", "locked")
    RETRIES.labels(reason).inc()
    first_line = (str(orig or exc).splitlines() or [""])[0]
    log.warning("transaction retried (%s): %s", reason, first_line)


def make_engine(
    url: str,
    *,
    sqlite_synchronous: str = "NORMAL",
    pool_size: int = 10,
    max_overflow: int | None = None,
    echo: bool = False,
) -> Engine:
    """A pooled engine: ``pool_size`` kept connections and ``max_overflow`` more under load (default twice
    the pool), so one process never holds more than their sum (the PostgreSQL connection budget)."""
    overflow = pool_size * 2 if max_overflow is None else max_overflow
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            raise ValueError("use a file database: an in-memory SQLite database is private to one connection")
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=overflow,
        )
        _configure_sqlite(engine, sqlite_synchronous)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, echo=echo, pool_size=pool_size, max_overflow=overflow, pool_pre_ping=True)


def make_null_pool_engine(url: str) -> Engine:
    """For short-lived tools (migrations, reconcile) that should leave no connection behind."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, poolclass=NullPool)
    if url.startswith("sqlite"):
        _configure_sqlite(engine, "NORMAL")
    return engine


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"bad SQLite synchronous mode {synchronous}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


_writer_locks: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_writer_locks_guard = threading.Lock()


def _writer_lock(engine: Engine) -> threading.Lock:
    with _writer_locks_guard:
        lock = _writer_locks.get(engine)
        if lock is None:
            lock = _writer_locks[engine] = threading.Lock()
        return lock


@contextmanager
def transaction(engine: Engine, *, write: bool = True) -> Iterator[Connection]:
    """One database transaction.

    SQLite has one writer. Writers of this process queue on a lock first (a fair hand-off), and only then
    take SQLite's lock with BEGIN IMMEDIATE (which still serialises against other processes); waiting in
    SQLite's busy handler instead means sleeping in growing steps, which showed as a 700 ms p99 in the demo.
    """
    if write and is_sqlite(engine):
        with _writer_lock(engine), engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn
        return
    with engine.connect() as conn, conn.begin():
        yield conn


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction that sees one consistent state of the whole database and blocks no writer,
    for long reads during trading (reconcile). PostgreSQL: REPEATABLE READ, READ ONLY. SQLite (WAL): a
    deferred transaction's snapshot starts at its first read and lasts until it ends; writers go on
    committing to the log meanwhile."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            yield conn


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None)
        if code in _RETRYABLE_PG:
            return True
        if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
            return True
    return False


def run_transaction(engine: Engine, work: Callable[[Connection], T], *, write: bool = True, attempts: int = 8) -> T:
    """Run ``work`` in a transaction, retrying the whole of it on a deadlock or lock time-out.

    ``work`` must be safe to repeat: it only talks to the database through ``conn``.
    """
    for attempt in range(attempts):
        try:
            with transaction(engine, write=write) as conn:
                return work(conn)
        except DBAPIError as exc:
            if not is_retryable(exc) or attempt == attempts - 1:
                raise
            count_retry(exc)
            time.sleep(random.uniform(0, 0.005 * 2**attempt))
    raise AssertionError("unreachable")
