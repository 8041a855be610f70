"""The inbox (DESIGN 8): every inbound message stored raw before it is acknowledged, unique per
(source, external id), processed in order per aggregate, with the last applied version per aggregate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from seamline.store.tables import inbox_aggregates, inbox_messages
from seamline.store.upsert import insert_on_conflict


def store_message(conn: Connection, row: Mapping[str, Any]) -> tuple[int, bool, str]:
    """Insert a received message; on a repeat of (source, external_id) count the duplicate instead.

    Answers (message id, duplicate?, status)."""
    values = {**row, "status": "received", "attempts": 0, "duplicates": 0, "next_attempt_at": row["received_at"]}
    if conn.dialect.name == "postgresql":
        stmt: Any = postgresql.insert(inbox_messages).values(**values).on_conflict_do_nothing()
    else:
        stmt = sqlite.insert(inbox_messages).values(**values).on_conflict_do_nothing()
    new_id = conn.execute(stmt.returning(inbox_messages.c.id)).scalar_one_or_none()
    if new_id is not None:
        return int(new_id), False, "received"
    existing = conn.execute(
        update(inbox_messages)
        .where(inbox_messages.c.source == row["source"], inbox_messages.c.external_id == row["external_id"])
        .values(duplicates=inbox_messages.c.duplicates + 1)
        .returning(inbox_messages.c.id, inbox_messages.c.status)
    ).one()
    return int(existing.id), True, str(existing.status)


def due_ids(conn: Connection, now: datetime, limit: int) -> list[int]:
    """Received messages due for (another) attempt, oldest first, leaving out any whose aggregate has an
    earlier message still waiting: messages of one aggregate are applied in the order they arrived."""
    earlier = inbox_messages.alias("earlier")
    blocked = (
        select(earlier.c.id)
        .where(
            earlier.c.source == inbox_messages.c.source,
            earlier.c.aggregate_key == inbox_messages.c.aggregate_key,
            earlier.c.status == "received",
            earlier.c.id < inbox_messages.c.id,
        )
        .exists()
    )
    rows = conn.execute(
        select(inbox_messages.c.id)
        .where(inbox_messages.c.status == "received", inbox_messages.c.next_attempt_at <= now, ~blocked)
        .order_by(inbox_messages.c.id)
        .limit(limit)
    )
    return [int(r.id) for r in rows]


def lock_message(conn: Connection, message_id: int) -> dict[str, Any] | None:
    """The message, locked for this transaction, if it is still waiting and no other worker holds it."""
    row = (
        conn.execute(
            select(inbox_messages)
            .where(inbox_messages.c.id == message_id, inbox_messages.c.status == "received")
            .with_for_update(skip_locked=True)
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def get_message(conn: Connection, message_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(inbox_messages).where(inbox_messages.c.id == message_id)).mappings().first()
    return None if row is None else dict(row)


def applied_version(conn: Connection, source: str, aggregate_key: str) -> int | None:
    value = conn.execute(
        select(inbox_aggregates.c.applied_version).where(
            inbox_aggregates.c.source == source, inbox_aggregates.c.aggregate_key == aggregate_key
        )
    ).scalar()
    return None if value is None else int(value)


def set_applied_version(
    conn: Connection, source: str, aggregate_key: str, version: int, message_id: int, now: datetime
) -> None:
    values = {"applied_version": version, "message_id": message_id, "applied_at": now}
    insert_on_conflict(
        conn,
        inbox_aggregates,
        ["source", "aggregate_key"],
        {"source": source, "aggregate_key": aggregate_key, **values},
        values,
    )


def finish(conn: Connection, message_id: int, status: str, now: datetime, reason: str | None = None) -> None:
    conn.execute(
        update(inbox_messages)
        .where(inbox_messages.c.id == message_id)
        .values(status=status, reason=reason, processed_at=now)
    )


def hold(
    conn: Connection, message_id: int, *, now: datetime, reason: str, waiting_for: str | None, recheck_at: datetime
) -> None:
    """Keep the message ``held``: it cannot apply yet for a reason the world (its order arriving) or a person
    (configuring the channel, linking a SKU) can fix. Its attempts are not spent; it is tried again when
    ``waiting_for`` is released, when its channel is rewired, by an operator, or at ``recheck_at``."""
    conn.execute(
        update(inbox_messages)
        .where(inbox_messages.c.id == message_id)
        .values(status="held", reason=reason[:2000], waiting_for=waiting_for, next_attempt_at=recheck_at)
    )


def release(
    conn: Connection,
    source: str,
    now: datetime,
    *,
    waiting_for: str | None = None,
    message_types: Sequence[str] | None = None,
    everything: bool = False,
) -> int:
    """Put held messages of ``source`` back in line, due now: those waiting for ``waiting_for``; or, with
    ``message_types``, those held for want of a handler of those types; or, with ``everything``, all of the
    source's held messages (its configuration changed). Answers how many."""
    c = inbox_messages.c
    query = update(inbox_messages).where(c.source == source, c.status == "held")
    if waiting_for is not None:
        query = query.where(c.waiting_for == waiting_for)
    elif message_types is not None:
        query = query.where(c.waiting_for == "handler", c.message_type.in_(list(message_types)))
    elif not everything:
        raise ValueError("release needs waiting_for, message_types or everything")
    return int(conn.execute(query.values(status="received", waiting_for=None, next_attempt_at=now)).rowcount or 0)


def next_held_due(conn: Connection) -> datetime | None:
    """The earliest recheck time of a held message (None when nothing is held)."""
    value = conn.execute(
        select(func.min(inbox_messages.c.next_attempt_at)).where(inbox_messages.c.status == "held")
    ).scalar()
    return _as_datetime(value)


def release_due(conn: Connection, now: datetime) -> int:
    """Held messages whose recheck time came: back in line (a rule that holds them may no longer)."""
    c = inbox_messages.c
    return int(
        conn.execute(
            update(inbox_messages)
            .where(c.status == "held", c.next_attempt_at <= now)
            .values(status="received", waiting_for=None)
        ).rowcount
        or 0
    )


def record_failure(
    conn: Connection, message_id: int, *, now: datetime, error: str, next_attempt_at: datetime | None
) -> str:
    """Count a failed attempt; ``next_attempt_at`` None gives up (status ``failed``, kept for an operator)."""
    values: dict[str, Any] = {"attempts": inbox_messages.c.attempts + 1, "reason": error[:2000]}
    if next_attempt_at is None:
        values.update(status="failed", processed_at=now)
    else:
        values["next_attempt_at"] = next_attempt_at
    conn.execute(
        update(inbox_messages)
        .where(inbox_messages.c.id == message_id, inbox_messages.c.status == "received")
        .values(**values)
    )
    return "failed" if next_attempt_at is None else "received"


def attempts_of(conn: Connection, message_id: int) -> int:
    return int(conn.execute(select(inbox_messages.c.attempts).where(inbox_messages.c.id == message_id)).scalar_one())


def list_messages(
    conn: Connection, *, status: str | None = None, source: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    query = select(inbox_messages)
    if status is not None:
        query = query.where(inbox_messages.c.status == status)
    if source is not None:
        query = query.where(inbox_messages.c.source == source)
    return [dict(r) for r in conn.execute(query.order_by(inbox_messages.c.id.desc()).limit(limit)).mappings()]


def retry_failed(conn: Connection, message_id: int, now: datetime) -> bool:
    """An operator's retry of a failed or held message: back to received, due now, attempts reset."""
    return (
        conn.execute(
            update(inbox_messages)
            .where(inbox_messages.c.id == message_id, inbox_messages.c.status.in_(("failed", "held")))
            .values(status="received", attempts=0, next_attempt_at=now, processed_at=None, waiting_for=None)
        ).rowcount
        == 1
    )


def counts(conn: Connection) -> dict[str, dict[str, int]]:
    """Messages per source and status, and duplicates seen per source."""
    out: dict[str, dict[str, int]] = {}
    for source, status, count, dupes in conn.execute(
        select(
            inbox_messages.c.source, inbox_messages.c.status, func.count(), func.sum(inbox_messages.c.duplicates)
        ).group_by(inbox_messages.c.source, inbox_messages.c.status)
    ):
        entry = out.setdefault(source, {"duplicates": 0})
        entry[status] = int(count)
        entry["duplicates"] += int(dupes or 0)
    return out


def next_due(conn: Connection) -> datetime | None:
    value = conn.execute(
        select(func.min(inbox_messages.c.next_attempt_at)).where(inbox_messages.c.status.in_(("received", "held")))
    ).scalar()
    return _as_datetime(value)


def _as_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def purge_processed(conn: Connection, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` processed (or stale-skipped) messages handled before ``before``. Rejected and
    failed messages stay until someone has looked at them."""
    ids = [
        r.id
        for r in conn.execute(
            select(inbox_messages.c.id)
            .where(inbox_messages.c.status.in_(("processed", "stale")), inbox_messages.c.processed_at < before)
            .order_by(inbox_messages.c.id)
            .limit(limit)
        )
    ]
    if ids:
        conn.execute(delete(inbox_messages).where(inbox_messages.c.id.in_(ids)))
    return len(ids)


def rejected_since(conn: Connection, source: str, since: datetime) -> list[dict[str, Any]]:
    """The source's messages rejected at or after ``since`` (id, external_id, headers, reason, processed_at),
    in the order they were rejected; without their bodies."""
    c = inbox_messages.c
    rows = conn.execute(
        select(c.id, c.external_id, c.headers, c.reason, c.processed_at)
        .where(c.source == source, c.status == "rejected", c.processed_at >= since)
        .order_by(c.processed_at, c.id)
    )
    return [dict(r) for r in rows.mappings()]
