"""Idempotency keys, stored in the same transaction as the effect they guard.

So a crash can never leave an effect without its key (which would let a retry apply it twice) or a key
without its effect (which would answer a retry with a response for something that never happened).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, text, tuple_

from seamline.store.tables import idempotency_records


def find(conn: Connection, principal: str, key: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(idempotency_records).where(
                idempotency_records.c.principal == principal, idempotency_records.c.key == key
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def save(
    conn: Connection, principal: str, key: str, request_hash: str, status_code: int, response: Any, now: datetime
) -> None:
    conn.execute(
        idempotency_records.insert().values(
            principal=principal,
            key=key,
            request_hash=request_hash,
            status_code=status_code,
            response=response,
            created_at=now,
        )
    )


def purge_older_than(conn: Connection, cutoff: datetime) -> int:
    return conn.execute(delete(idempotency_records).where(idempotency_records.c.created_at < cutoff)).rowcount


def lock_keys(conn: Connection, keys: Iterable[tuple[str, str]]) -> None:
    """Serialise transactions that carry the same (principal, key), until the first commits.

    A writer reads the stored answer of its key and inserts its own at commit. Two transactions holding one
    key (a client that retried on another worker) would both miss the other's uncommitted answer, and the
    later insert would fail on the unique index: for a hold batch, with every neighbour in it. Taken first
    by every idempotent write (``Seamline.idempotent``, the hold batcher), these transaction-scoped advisory
    locks make the later one wait, then read the stored answer and replay it. One statement, hash order, so
    two batches never wait for each other in a cycle. PostgreSQL only: SQLite's writers already run one at a
    time under its write lock.
    """
    if conn.dialect.name != "postgresql":
        return
    wanted = sorted({f"{principal}\x1f{key}" for principal, key in keys})
    if wanted:
        conn.execute(_LOCK_KEYS, {"keys": wanted})


_LOCK_KEYS = text(
    "SELECT pg_advisory_xact_lock(h) FROM "
    "(SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(CAST(:keys AS text[])) AS k ORDER BY h) AS ordered"
)


def find_many(conn: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Stored responses for (principal, key) pairs, in one query (a batch's worth of keys)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = conn.execute(_find_many(wanted)).mappings()
    return {(r["principal"], r["key"]): dict(r) for r in rows}


def _find_many(wanted: Sequence[tuple[str, str]]) -> Any:
    """The pairs asked for. The two IN lists on the key's columns let SQLite probe the primary key per pair:
    with the row-value IN list alone it scanned every stored record, as many as the retention keeps."""
    records = idempotency_records.c
    return select(idempotency_records).where(
        records.principal.in_(sorted({p for p, _ in wanted})),
        records.key.in_(sorted({k for _, k in wanted})),
        tuple_(records.principal, records.key).in_(wanted),
    )


def save_many(conn: Connection, records: Sequence[dict[str, Any]]) -> None:
    if records:
        conn.execute(idempotency_records.insert(), list(records))
