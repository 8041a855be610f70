"""Idempotency keys, stored in the same transaction as the effect they guard.

So a crash can never leave an effect without its key (which would let a retry apply it twice) or a key
without its effect (which would answer a retry with a response for something that never happened).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, tuple_

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


def find_many(conn: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Stored responses for (principal, key) pairs, in one query (a batch's worth of keys)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = conn.execute(
        select(idempotency_records).where(
            tuple_(idempotency_records.c.principal, idempotency_records.c.key).in_(wanted)
        )
    ).mappings()
    return {(r["principal"], r["key"]): dict(r) for r in rows}


def save_many(conn: Connection, records: Sequence[dict[str, Any]]) -> None:
    if records:
        conn.execute(idempotency_records.insert(), list(records))
