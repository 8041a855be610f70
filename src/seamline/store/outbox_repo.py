"""The outbox and its deliveries (DESIGN 8): events written with the state change, one delivery row per
subscriber, claimed by dispatchers with a lease, retried, dead-lettered and replayed.

A claim is ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (several dispatchers share the work) and a
plain ``SELECT`` inside SQLite's single write transaction; SQLAlchemy leaves the locking clause out there.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, and_, bindparam, delete, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from seamline.store.tables import (
    availability_dirty,
    channel_availability,
    deliveries,
    delivery_failures,
    outbox_events,
    prepack_components,
    published_availability,
)
from seamline.store.types import aggregate_time, driver_time

NOTIFY_CHANNEL = "seamline_outbox"

_event_columns = (
    outbox_events.c.payload,
    outbox_events.c.created_at.label("event_created_at"),
)


# ---------------------------------------------------------------------- computing availability
# The publisher's statements are built once, with bound (and expanding) parameters: it runs them for every
# burst of writes, and building SQLAlchemy statements per call was most of its time (README, Performance).
_PACKS_CONTAINING = (
    select(prepack_components.c.pack_sku, prepack_components.c.component_sku, prepack_components.c.units)
    .where(
        prepack_components.c.pack_sku.in_(
            select(prepack_components.c.pack_sku)
            .where(prepack_components.c.component_sku.in_(bindparam("wanted", expanding=True)))
            .scalar_subquery()
        )
    )
    .order_by(prepack_components.c.pack_sku, prepack_components.c.component_sku)
)


def packs_containing(conn: Connection, skus: Iterable[str]) -> dict[str, list[tuple[str, int]]]:
    """Every prepack with a component among ``skus``, with all of its components (not just those)."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    rows = conn.execute(_PACKS_CONTAINING, {"wanted": wanted})
    out: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for pack, component, units in rows:
        out[pack].append((component, int(units)))
    return dict(out)


# The journal's and the publisher's writes go straight to the driver: they run for every write burst, and
# SQLAlchemy's per-row parameter processing cost more than the statements. On PostgreSQL each is one
# statement over arrays sent in binary (%b; psycopg's text form quotes every element through a regular
# expression); on SQLite, one executemany. Times are bound as ``UTCDateTime`` binds them (``driver_time``).
_JOURNAL_INSERT_PG = (
    "INSERT INTO availability_dirty (sku, location, trace_id, created_at) "
    "SELECT sku, location, %b, %b FROM unnest(%b::varchar[], %b::varchar[]) AS t(sku, location)"
)
_JOURNAL_INSERT_SQLITE = "INSERT INTO availability_dirty (sku, location, trace_id, created_at) VALUES (?, ?, ?, ?)"


def journal_changes(conn: Connection, rows: Sequence[tuple[str, str]], trace_id: str | None, now: datetime) -> None:
    """Append the (sku, location) balance rows this transaction changed to the availability journal: an
    insert of new rows, so concurrent writers of one SKU never wait for each other here."""
    if not rows:
        return
    dialect = conn.dialect.name
    at = driver_time(now, dialect)
    if dialect == "postgresql":
        conn.exec_driver_sql(_JOURNAL_INSERT_PG, (trace_id, at, [s for s, _ in rows], [loc for _, loc in rows]))
    else:
        conn.exec_driver_sql(_JOURNAL_INSERT_SQLITE, [(s, loc, trace_id, at) for s, loc in rows])


_TAKE_JOURNAL = (
    delete(availability_dirty)
    .where(
        availability_dirty.c.id.in_(
            select(availability_dirty.c.id)
            .order_by(availability_dirty.c.id)
            .limit(bindparam("limit"))
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
    )
    .returning(
        availability_dirty.c.id,
        availability_dirty.c.sku,
        availability_dirty.c.location,
        availability_dirty.c.trace_id,
    )
)


def take_journal(conn: Connection, limit: int) -> list[dict[str, Any]]:
    """Remove and answer up to ``limit`` journal rows, oldest first, skipping rows another publisher holds
    (PostgreSQL; SQLite has one writer). The caller's transaction publishes them: a rollback puts them back."""
    rows = conn.execute(_TAKE_JOURNAL, {"limit": limit}).mappings()
    return sorted((dict(r) for r in rows), key=lambda r: int(r["id"]))


def journal_depth(conn: Connection) -> tuple[int, datetime | None]:
    """How many balance changes wait for the publisher, and since when."""
    row = conn.execute(select(func.count(), func.min(availability_dirty.c.created_at))).one()
    return int(row[0]), row[1]


def lock_availability(
    conn: Connection, keys: Sequence[tuple[str, str]], now: datetime
) -> dict[tuple[str, str], tuple[int | None, bool | None]]:
    """Lock the computed-availability row of each (channel, sku), creating it if needed, in key order.

    The lock serialises recomputation per (channel, sku) on PostgreSQL: two transactions changing the same
    SKU at two source locations would otherwise each compute ATP without the other's change (write skew)
    and publish a number neither state has. Statements after the lock see the other's committed balances.
    Answers the last computed (atp, paused), (None, None) when never computed.
    """
    ordered = sorted(set(keys))
    if not ordered:
        return {}
    out = _lock_existing(conn, ordered)
    missing = [key for key in ordered if key not in out]
    if missing:  # the first change of a (channel, sku): create its row, then lock it like the others
        # Straight to the driver: a receipt of a whole catalog creates thousands of these rows, and a multi-row
        # VALUES built by SQLAlchemy costs seconds of compiling per burst (issue 18's profile).
        at = driver_time(now, conn.dialect.name)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(_CREATE_AVAILABILITY_PG, (at, [c for c, _ in missing], [s for _, s in missing]))
        else:
            conn.exec_driver_sql(_CREATE_AVAILABILITY_SQLITE, [(c, s, at) for c, s in missing])
        out.update(_lock_existing(conn, missing))
    return out


_CREATE_AVAILABILITY_PG = (
    "INSERT INTO channel_availability (channel, sku, updated_at) "
    "SELECT channel, sku, %b FROM unnest(%b::varchar[], %b::varchar[]) AS t(channel, sku) ON CONFLICT DO NOTHING"
)
_CREATE_AVAILABILITY_SQLITE = (
    "INSERT INTO channel_availability (channel, sku, updated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
)
_LOCK_AVAILABILITY = (
    select(channel_availability.c.sku, channel_availability.c.atp, channel_availability.c.paused)
    .where(
        channel_availability.c.channel == bindparam("channel"),
        channel_availability.c.sku.in_(bindparam("skus", expanding=True)),
    )
    .order_by(channel_availability.c.sku)
    .with_for_update()
)


def _lock_existing(
    conn: Connection, ordered: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int | None, bool | None]]:
    out: dict[tuple[str, str], tuple[int | None, bool | None]] = {}
    by_channel: dict[str, list[str]] = defaultdict(list)
    for channel, sku in ordered:
        by_channel[channel].append(sku)
    postgres = conn.dialect.name == "postgresql"
    for channel in sorted(by_channel):
        # Straight to the driver, the SKUs as one array (PostgreSQL) or one JSON text (SQLite): an expanding
        # IN of thousands of SKUs cost more in SQLAlchemy's compiling than in the database (issue 18).
        skus = by_channel[channel]
        if postgres:
            rows = conn.exec_driver_sql(_LOCK_AVAILABILITY_PG, (channel, skus))
        else:
            rows = conn.exec_driver_sql(_LOCK_AVAILABILITY_SQLITE, (channel, json.dumps(skus)))
        for sku, atp, paused in rows:
            out[(channel, sku)] = (atp, None if paused is None else bool(paused))
    return out


_LOCK_AVAILABILITY_PG = (
    "SELECT sku, atp, paused FROM channel_availability WHERE channel = %b AND sku = ANY(%b::varchar[]) "
    "ORDER BY sku FOR UPDATE"
)
_LOCK_AVAILABILITY_SQLITE = (
    "SELECT sku, atp, paused FROM channel_availability "
    "WHERE channel = ? AND sku IN (SELECT value FROM json_each(?)) ORDER BY sku"
)


#: A publisher saves hundreds of numbers per burst: one statement on PostgreSQL, one executemany on SQLite.
_SAVE_AVAILABILITY_PG = (
    "UPDATE channel_availability SET atp = v.atp, paused = v.paused, event_id = v.event_id, updated_at = %b "
    "FROM unnest(%b::varchar[], %b::varchar[], %b::int[], %b::boolean[], %b::varchar[]) "
    "AS v(channel, sku, atp, paused, event_id) "
    "WHERE channel_availability.channel = v.channel AND channel_availability.sku = v.sku"
)
_SAVE_AVAILABILITY_SQLITE = (
    "UPDATE channel_availability SET atp = ?, paused = ?, event_id = ?, updated_at = ? WHERE channel = ? AND sku = ?"
)


def save_availability(conn: Connection, rows: Sequence[tuple[str, str, int, bool, str]], now: datetime) -> None:
    """Record the newly computed (channel, sku, atp, paused, event id); the rows are already locked."""
    if not rows:
        return
    dialect = conn.dialect.name
    at = driver_time(now, dialect)
    if dialect == "postgresql":
        conn.exec_driver_sql(_SAVE_AVAILABILITY_PG, (at, *(list(column) for column in zip(*rows, strict=True))))
    else:
        conn.exec_driver_sql(
            _SAVE_AVAILABILITY_SQLITE, [(atp, paused, event, at, c, s) for c, s, atp, paused, event in rows]
        )


def computed_availability(conn: Connection, channel: str, skus: Sequence[str]) -> dict[str, tuple[int, bool]]:
    rows = conn.execute(
        select(channel_availability.c.sku, channel_availability.c.atp, channel_availability.c.paused).where(
            channel_availability.c.channel == channel,
            channel_availability.c.sku.in_(list(skus)),
            channel_availability.c.atp.is_not(None),
        )
    )
    return {r.sku: (int(r.atp), bool(r.paused)) for r in rows}


# ---------------------------------------------------------------------- writing events and deliveries
_APPEND_EVENTS_PG = (
    "INSERT INTO outbox_events (id, type, channel, coalesce_key, payload, trace_id, created_at) "
    "SELECT id, type, channel, coalesce_key, payload, trace_id, %b FROM unnest("
    "%b::varchar[], %b::varchar[], %b::varchar[], %b::varchar[], %b::json[], %b::varchar[]"
    ") AS t(id, type, channel, coalesce_key, payload, trace_id) RETURNING id, seq"
)
_APPEND_EVENTS_SQLITE = (
    "INSERT INTO outbox_events (id, type, channel, coalesce_key, payload, trace_id, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_EVENT_SEQS = select(outbox_events.c.id, outbox_events.c.seq).where(
    outbox_events.c.id.in_(bindparam("ids", expanding=True))
)


def append_events(
    conn: Connection, events: Sequence[Mapping[str, Any]], now: datetime, *, seqs: bool = True
) -> dict[str, int]:
    """Insert events (each with id, type, channel, coalesce_key, payload, trace_id), all created ``now``;
    answers their sequence numbers by id (none asked with ``seqs=False``: SQLite then skips reading them)."""
    if not events:
        return {}
    dialect = conn.dialect.name
    at = driver_time(now, dialect)
    # The JSON column's own serialisation (SQLAlchemy's default serializer is json.dumps).
    payloads = [json.dumps(e["payload"]) for e in events]
    if dialect == "postgresql":
        columns = [[e[name] for e in events] for name in ("id", "type", "channel", "coalesce_key")]
        result = conn.exec_driver_sql(_APPEND_EVENTS_PG, (at, *columns, payloads, [e["trace_id"] for e in events]))
        return {r.id: int(r.seq) for r in result}
    conn.exec_driver_sql(
        _APPEND_EVENTS_SQLITE,
        [
            (e["id"], e["type"], e["channel"], e["coalesce_key"], payload, e["trace_id"], at)
            for e, payload in zip(events, payloads, strict=True)
        ],
    )
    if not seqs:
        return {}
    return {r.id: int(r.seq) for r in conn.execute(_EVENT_SEQS, {"ids": [e["id"] for e in events]})}


_SUPERSEDE_PENDING = (
    update(deliveries)
    .where(
        deliveries.c.subscriber == bindparam("b_subscriber"),
        deliveries.c.coalesce_key.in_(bindparam("keys", expanding=True)),
        deliveries.c.status == "pending",
        or_(deliveries.c.locked_until.is_(None), deliveries.c.locked_until <= bindparam("b_now")),
    )
    .values(status="superseded", locked_until=None, locked_by=None)
)


def supersede_pending(conn: Connection, subscriber: str, coalesce_keys: Sequence[str], now: datetime) -> int:
    """Retire undelivered, unclaimed deliveries a newer one replaces: a slow channel gets only the newest.

    A delivery in flight (claimed, lease running) is left alone; the dispatcher will not start the newer one
    until it finishes, so the newest number always lands last."""
    if not coalesce_keys:
        return 0
    params = {"b_subscriber": subscriber, "keys": sorted(set(coalesce_keys)), "b_now": now}
    return conn.execute(_SUPERSEDE_PENDING, params).rowcount


_ADD_DELIVERIES_PG = (
    "INSERT INTO deliveries (event_seq, event_id, event_type, subscriber, coalesce_key, status, attempts, "
    "replays, next_attempt_at, created_at, trace_id) "
    "SELECT event_seq, event_id, event_type, subscriber, coalesce_key, 'pending', 0, 0, created_at, created_at, "
    "trace_id FROM unnest(%b::bigint[], %b::varchar[], %b::varchar[], %b::varchar[], %b::varchar[], "
    "%b::timestamptz[], %b::varchar[]) "
    "AS t(event_seq, event_id, event_type, subscriber, coalesce_key, created_at, trace_id)"
)
_ADD_DELIVERIES_SQLITE = (
    "INSERT INTO deliveries (event_seq, event_id, event_type, subscriber, coalesce_key, status, attempts, "
    "replays, next_attempt_at, created_at, trace_id) VALUES (?, ?, ?, ?, ?, 'pending', 0, 0, ?, ?, ?)"
)
_DELIVERY_COLUMNS = ("event_seq", "event_id", "event_type", "subscriber", "coalesce_key", "created_at", "trace_id")


def add_deliveries(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert pending deliveries (event_seq, event_id, event_type, subscriber, coalesce_key, created_at,
    trace_id), each first due when it was created. Straight to the driver, like the events they deliver."""
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect == "postgresql":
        columns = [[row[name] for row in rows] for name in _DELIVERY_COLUMNS]
        columns[5] = [driver_time(at, dialect) for at in columns[5]]
        conn.exec_driver_sql(_ADD_DELIVERIES_PG, tuple(columns))
        return
    params = []
    for row in rows:
        due = driver_time(row["created_at"], dialect)  # first due when created
        key = (row["event_seq"], row["event_id"], row["event_type"], row["subscriber"], row["coalesce_key"])
        params.append((*key, due, due, row["trace_id"]))
    conn.exec_driver_sql(_ADD_DELIVERIES_SQLITE, params)


def notify(conn: Connection) -> None:
    """Wake dispatchers in other processes when this transaction commits (PostgreSQL NOTIFY is transactional)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})


# ---------------------------------------------------------------------- claiming and recording outcomes
def _in_flight_sibling(now: datetime) -> Any:
    other = deliveries.alias("sibling")
    return (
        select(other.c.id)
        .where(
            other.c.subscriber == deliveries.c.subscriber,
            other.c.coalesce_key == deliveries.c.coalesce_key,
            other.c.status == "pending",
            other.c.locked_until > now,
            other.c.id != deliveries.c.id,
        )
        .exists()
    )


def _claimable(now: datetime) -> Any:
    return and_(
        deliveries.c.status == "pending",
        deliveries.c.next_attempt_at <= now,
        or_(deliveries.c.locked_until.is_(None), deliveries.c.locked_until <= now),
        ~_in_flight_sibling(now),
    )


def _take(conn: Connection, ids: Sequence[int], lease_until: datetime, worker: str) -> list[dict[str, Any]]:
    if not ids:
        return []
    conn.execute(update(deliveries).where(deliveries.c.id.in_(ids)).values(locked_until=lease_until, locked_by=worker))
    rows = conn.execute(
        select(deliveries, *_event_columns)
        .join(outbox_events, outbox_events.c.seq == deliveries.c.event_seq)
        .where(deliveries.c.id.in_(ids))
        .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def batches_in_flight(conn: Connection, subscriber: str, now: datetime) -> int:
    """Batches of ``subscriber`` leased and not finished, by every process: a batch is the deliveries one
    dispatcher leased together (one holder, one lease)."""
    c = deliveries.c
    leased = (
        select(c.locked_by, c.locked_until)
        .where(c.subscriber == subscriber, c.status == "pending", c.locked_until > now)
        .distinct()
        .subquery()
    )
    return int(conn.execute(select(func.count()).select_from(leased)).scalar_one())


def _at_capacity(conn: Connection, subscriber: str, now: datetime, max_concurrency: int | None) -> bool:
    """Whether ``subscriber`` already has ``max_concurrency`` batches in flight across every process. The
    claims of one subscriber are serialised (a transaction-scoped advisory lock on PostgreSQL; SQLite's
    writer lock already does it), so two processes cannot both see room for the last slot."""
    if max_concurrency is None:
        return False
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"seamline.claim:{subscriber}"})
    return batches_in_flight(conn, subscriber, now) >= max_concurrency


def claim_due(
    conn: Connection,
    subscriber: str,
    *,
    now: datetime,
    limit: int,
    lease_until: datetime,
    worker: str,
    fresh_before: datetime | None = None,
    max_concurrency: int | None = None,
) -> list[dict[str, Any]]:
    """Lease up to ``limit`` due deliveries of one subscriber, oldest first, skipping rows another dispatcher
    holds. At most one delivery per coalesce key is in flight at a time, and, with ``max_concurrency``, at most
    that many batches of the subscriber in every process together. With ``fresh_before`` (NATS mode), first
    attempts created after it are left to the broker's consumers."""
    if _at_capacity(conn, subscriber, now, max_concurrency):
        return []
    condition = and_(deliveries.c.subscriber == subscriber, _claimable(now))
    if fresh_before is not None:
        condition = and_(
            condition,
            or_(deliveries.c.attempts > 0, deliveries.c.replays > 0, deliveries.c.created_at <= fresh_before),
        )
    ids = [
        r.id
        for r in conn.execute(
            select(deliveries.c.id)
            .where(condition)
            .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ]
    return _take(conn, ids, lease_until, worker)


def claim_event(
    conn: Connection,
    subscriber: str,
    event_id: str,
    *,
    now: datetime,
    lease_until: datetime,
    worker: str,
    max_concurrency: int | None = None,
) -> tuple[str, dict[str, Any] | None]:
    """Lease the delivery of one event to one subscriber (the NATS path). Answers ``claimed`` with the row,
    or why not: ``missing`` (not for this subscriber), ``done`` (delivered, superseded or dead), ``scheduled``
    (waiting for a retry), ``busy`` (another worker or an older number of the same key is in flight)."""
    row = (
        conn.execute(
            select(deliveries.c.id, deliveries.c.status, deliveries.c.next_attempt_at, deliveries.c.locked_until)
            .where(deliveries.c.subscriber == subscriber, deliveries.c.event_id == event_id)
            .with_for_update(skip_locked=True)
        )
        .mappings()
        .first()
    )
    if row is None:
        exists = conn.execute(
            select(deliveries.c.id).where(deliveries.c.subscriber == subscriber, deliveries.c.event_id == event_id)
        ).first()
        return ("busy" if exists else "missing"), None
    if row["status"] != "pending":
        return "done", None
    if row["next_attempt_at"] > now:
        return "scheduled", None
    if _at_capacity(conn, subscriber, now, max_concurrency):
        return "busy", None
    ok = conn.execute(select(deliveries.c.id).where(deliveries.c.id == row["id"], _claimable(now))).first()
    if ok is None:
        return "busy", None
    return "claimed", _take(conn, [row["id"]], lease_until, worker)[0]


def claim_next_of_key(
    conn: Connection, subscriber: str, coalesce_key: str, *, now: datetime, lease_until: datetime, worker: str
) -> dict[str, Any] | None:
    """Lease the newest due delivery of one coalesce key (the NATS path chains to it when the number it just
    delivered was overtaken while in flight)."""
    row = conn.execute(
        select(deliveries.c.id)
        .where(deliveries.c.subscriber == subscriber, deliveries.c.coalesce_key == coalesce_key, _claimable(now))
        .order_by(deliveries.c.id.desc())
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if row is None:
        return None
    return _take(conn, [row.id], lease_until, worker)[0]


def record_success(conn: Connection, delivery_id: int, now: datetime) -> bool:
    """Mark delivered. False when it was no longer pending (a replayed duplicate): nothing changes."""
    return (
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id, deliveries.c.status == "pending")
            .values(
                status="delivered",
                delivered_at=now,
                attempts=deliveries.c.attempts + 1,
                locked_until=None,
                locked_by=None,
                last_error=None,
            )
        ).rowcount
        == 1
    )


def newer_pending(conn: Connection, subscriber: str, coalesce_key: str, delivery_id: int) -> bool:
    return (
        conn.execute(
            select(deliveries.c.id).where(
                deliveries.c.subscriber == subscriber,
                deliveries.c.coalesce_key == coalesce_key,
                deliveries.c.status == "pending",
                deliveries.c.id > delivery_id,
            )
        ).first()
        is not None
    )


def record_failure(
    conn: Connection,
    delivery_id: int,
    *,
    subscriber: str,
    now: datetime,
    error: str,
    next_attempt_at: datetime | None,
    counts: bool = True,
    supersede: bool = False,
) -> str:
    """Record a failed attempt. ``next_attempt_at`` None dead-letters it; ``supersede`` retires it because a
    newer number for the same key is waiting; ``counts`` False (a rate limit) does not use up an attempt.
    Answers the new status."""
    status = "superseded" if supersede else ("dead" if next_attempt_at is None else "pending")
    values: dict[str, Any] = {
        "status": status,
        "last_error": error[:2000],
        "locked_until": None,
        "locked_by": None,
    }
    if counts:
        values["attempts"] = deliveries.c.attempts + 1
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    if status == "dead":
        values["dead_at"] = now
    changed = conn.execute(
        update(deliveries).where(deliveries.c.id == delivery_id, deliveries.c.status == "pending").values(**values)
    ).rowcount
    if changed and counts:
        attempt = conn.execute(select(deliveries.c.attempts).where(deliveries.c.id == delivery_id)).scalar_one()
        conn.execute(
            delivery_failures.insert().values(
                delivery_id=delivery_id, subscriber=subscriber, attempt=attempt, failed_at=now, error=error[:2000]
            )
        )
    return status if changed else "unchanged"


def release_claims(conn: Connection, worker: str) -> int:
    """Give back the leases a stopping dispatcher still holds, so another takes them without waiting."""
    return conn.execute(
        update(deliveries)
        .where(deliveries.c.locked_by == worker, deliveries.c.status == "pending")
        .values(locked_until=None, locked_by=None)
    ).rowcount


def next_due(conn: Connection, subscribers: Sequence[str]) -> datetime | None:
    """When the earliest pending delivery of these subscribers becomes due (or its lease runs out)."""
    if not subscribers:
        return None
    due = conn.execute(
        select(func.min(func.coalesce(deliveries.c.locked_until, deliveries.c.next_attempt_at))).where(
            deliveries.c.subscriber.in_(list(subscribers)), deliveries.c.status == "pending"
        )
    ).scalar()
    if due is None:
        return None
    assert isinstance(due, datetime)
    return due


# ---------------------------------------------------------------------- compare-and-set bookkeeping
def published(conn: Connection, subscriber: str, channel: str, sku: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(published_availability).where(
                published_availability.c.subscriber == subscriber,
                published_availability.c.channel == channel,
                published_availability.c.sku == sku,
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def record_published(conn: Connection, row: Mapping[str, Any]) -> None:
    """Remember what a subscriber now shows; an older event delivered late never overwrites a newer one."""
    values = dict(row)
    keys = ["subscriber", "channel", "sku"]
    changes = {k: v for k, v in values.items() if k not in keys}
    table = published_availability
    newer = table.c.event_seq < values["event_seq"]
    if conn.dialect.name == "postgresql":
        conn.execute(
            postgresql.insert(table)
            .values(**values)
            .on_conflict_do_update(index_elements=keys, set_=changes, where=newer)
        )
    else:
        conn.execute(
            sqlite.insert(table).values(**values).on_conflict_do_update(index_elements=keys, set_=changes, where=newer)
        )


_RECORD_PUBLISHED_PG = (
    "INSERT INTO published_availability "
    "(subscriber, channel, sku, available, atp, paused, event_seq, event_id, published_at) "
    "SELECT * FROM unnest(%b::varchar[], %b::varchar[], %b::varchar[], %b::bigint[], %b::bigint[], "
    "%b::boolean[], %b::bigint[], %b::varchar[], %b::timestamptz[]) "
    "ON CONFLICT (subscriber, channel, sku) DO UPDATE SET available = excluded.available, atp = excluded.atp, "
    "paused = excluded.paused, event_seq = excluded.event_seq, event_id = excluded.event_id, "
    "published_at = excluded.published_at WHERE published_availability.event_seq < excluded.event_seq"
)
_RECORD_PUBLISHED_SQLITE = _RECORD_PUBLISHED_PG.split(" SELECT")[0] + (
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (subscriber, channel, sku) DO UPDATE SET "
    + _RECORD_PUBLISHED_PG.split("DO UPDATE SET ")[1]
)
_PUBLISHED_COLUMNS = ("subscriber", "channel", "sku", "available", "atp", "paused", "event_seq", "event_id")


def record_published_many(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """``record_published`` for many rows in one statement (the SKUs of an ``AvailabilityBatch``); the same
    rule: an older event delivered late never overwrites a newer one."""
    if not rows:
        return
    dialect = conn.dialect.name
    times = {at: driver_time(at, dialect) for at in {row["published_at"] for row in rows}}  # usually one
    if dialect == "postgresql":
        columns = [[row[name] for row in rows] for name in _PUBLISHED_COLUMNS]
        conn.exec_driver_sql(_RECORD_PUBLISHED_PG, (*columns, [times[row["published_at"]] for row in rows]))
        return
    params = [(*(row[name] for name in _PUBLISHED_COLUMNS), times[row["published_at"]]) for row in rows]
    conn.exec_driver_sql(_RECORD_PUBLISHED_SQLITE, params)


def numbers_of_event(conn: Connection, subscriber: str, channel: str, event_id: str) -> list[dict[str, Any]]:
    """The computed numbers an ``AvailabilityBatch`` still carries: the ``channel_availability`` rows of the
    channel that name the event (a SKU recomputed since names its newer event instead), each with what
    ``subscriber`` last published for the SKU (``shown``: None if nothing). One joined statement: a list of
    100k SKUs in an ``IN`` made PostgreSQL compare every row with every SKU."""
    ca, pa = channel_availability, published_availability
    shown_to = and_(pa.c.subscriber == subscriber, pa.c.channel == ca.c.channel, pa.c.sku == ca.c.sku)
    query = (
        select(ca.c.sku, ca.c.atp, ca.c.paused, pa.c.available, pa.c.event_seq)
        .add_columns(pa.c.atp.label("shown_atp"), pa.c.paused.label("shown_paused"))
        .select_from(ca.outerjoin(pa, shown_to))
        .where(ca.c.channel == channel, ca.c.event_id == event_id)
        .order_by(ca.c.sku)
    )
    out: list[dict[str, Any]] = []
    for r in conn.execute(query):
        shown = None
        if r.event_seq is not None:
            shown = {"available": r.available, "atp": r.shown_atp, "paused": r.shown_paused, "event_seq": r.event_seq}
        out.append({"sku": r.sku, "atp": int(r.atp or 0), "paused": bool(r.paused), "shown": shown})
    return out


def still_named_by(conn: Connection, channel: str, skus: Sequence[str], event_id: str) -> set[str]:
    """Those of ``skus`` whose computed number is still the one ``event_id`` carries, locking their rows (a
    publisher recomputing them waits, so whatever it emits next comes after what the caller writes)."""
    if not skus:
        return set()
    statement = _LOCK_AVAILABILITY.add_columns(channel_availability.c.event_id)
    rows = conn.execute(statement, {"channel": channel, "skus": sorted(set(skus))})
    return {r.sku for r in rows if r.event_id == event_id}


def keys_waiting_after(conn: Connection, subscriber: str, event_seq: int) -> set[str]:
    """The coalesce keys of ``subscriber``'s undelivered or dead deliveries of events newer than
    ``event_seq``: a number newer than a batch's waits there (a SKU of the batch refused earlier is one)."""
    rows = conn.execute(
        select(deliveries.c.coalesce_key).where(
            deliveries.c.event_seq > event_seq,
            deliveries.c.subscriber == subscriber,
            deliveries.c.status.in_(("pending", "dead")),
            deliveries.c.coalesce_key.is_not(None),
        )
    )
    return {str(r.coalesce_key) for r in rows}


def add_dead_letter(conn: Connection, event: Mapping[str, Any], subscriber: str, error: str, now: datetime) -> int:
    """An event with one delivery, to ``subscriber``, dead at once with ``error``: the SKU of a batch the
    platform refused, visible and replayable on its own like any dead letter. Answers the delivery id."""
    seqs = append_events(conn, [event], now)
    add_deliveries(
        conn,
        [
            {
                "event_seq": seqs[event["id"]],
                "event_id": event["id"],
                "event_type": event["type"],
                "subscriber": subscriber,
                "coalesce_key": event["coalesce_key"],
                "created_at": now,
                "trace_id": event["trace_id"],
            }
        ],
    )
    delivery_id = int(
        conn.execute(
            select(deliveries.c.id).where(deliveries.c.subscriber == subscriber, deliveries.c.event_id == event["id"])
        ).scalar_one()
    )
    record_failure(conn, delivery_id, subscriber=subscriber, now=now, error=error, next_attempt_at=None)
    return delivery_id


def published_numbers(conn: Connection, subscriber: str, channel: str | None = None) -> list[dict[str, Any]]:
    query = select(published_availability).where(published_availability.c.subscriber == subscriber)
    if channel is not None:
        query = query.where(published_availability.c.channel == channel)
    return [dict(r) for r in conn.execute(query.order_by(published_availability.c.sku)).mappings()]


# ---------------------------------------------------------------------- dead letters
def _dead_filter(subscriber: str | None, event_type: str | None, ids: Sequence[int] | None) -> list[Any]:
    conditions: list[Any] = [deliveries.c.status == "dead"]
    if subscriber is not None:
        conditions.append(deliveries.c.subscriber == subscriber)
    if event_type is not None:
        conditions.append(deliveries.c.event_type == event_type)
    if ids is not None:
        conditions.append(deliveries.c.id.in_(list(ids)))
    return conditions


def dead_letters(
    conn: Connection,
    *,
    subscriber: str | None = None,
    event_type: str | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    query = (
        select(deliveries, *_event_columns)
        .join(outbox_events, outbox_events.c.seq == deliveries.c.event_seq)
        .where(*_dead_filter(subscriber, event_type, None))
    )
    if after_id is not None:
        query = query.where(deliveries.c.id > after_id)
    return [dict(r) for r in conn.execute(query.order_by(deliveries.c.id).limit(limit)).mappings()]


def get_delivery(conn: Connection, delivery_id: int) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(deliveries, *_event_columns)
            .join(outbox_events, outbox_events.c.seq == deliveries.c.event_seq)
            .where(deliveries.c.id == delivery_id)
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def failures_of(conn: Connection, delivery_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(delivery_failures.c.attempt, delivery_failures.c.failed_at, delivery_failures.c.error)
        .where(delivery_failures.c.delivery_id == delivery_id)
        .order_by(delivery_failures.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def replay_dead(
    conn: Connection,
    now: datetime,
    *,
    ids: Sequence[int] | None = None,
    subscriber: str | None = None,
    event_type: str | None = None,
) -> list[int]:
    """Put dead letters back in the queue, due now, with their attempts reset. Answers the ids replayed."""
    chosen = [
        r.id
        for r in conn.execute(
            select(deliveries.c.id)
            .where(*_dead_filter(subscriber, event_type, ids))
            .order_by(deliveries.c.id)
            .with_for_update()
        )
    ]
    if chosen:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(chosen), deliveries.c.status == "dead")
            .values(
                status="pending",
                attempts=0,
                replays=deliveries.c.replays + 1,
                next_attempt_at=now,
                dead_at=None,
                locked_until=None,
                locked_by=None,
            )
        )
    return chosen


# ---------------------------------------------------------------------- status
def subscriber_status(conn: Connection, now: datetime) -> dict[str, dict[str, Any]]:
    """Per subscriber: counts by status, last success, oldest pending and oldest dead letter."""
    out: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"pending": 0, "delivered": 0, "superseded": 0, "dead": 0, "retrying": 0}
    )
    for subscriber, status, count in conn.execute(
        select(deliveries.c.subscriber, deliveries.c.status, func.count()).group_by(
            deliveries.c.subscriber, deliveries.c.status
        )
    ):
        out[subscriber][status] = int(count)
    for subscriber, count in conn.execute(
        select(deliveries.c.subscriber, func.count())
        .where(deliveries.c.status == "pending", deliveries.c.attempts > 0)
        .group_by(deliveries.c.subscriber)
    ):
        out[subscriber]["retrying"] = int(count)
    for subscriber, last in conn.execute(
        select(deliveries.c.subscriber, func.max(deliveries.c.delivered_at))
        .where(deliveries.c.status == "delivered")
        .group_by(deliveries.c.subscriber)
    ):
        out[subscriber]["last_success_at"] = aggregate_time(last)
    for subscriber, oldest in conn.execute(
        select(deliveries.c.subscriber, func.min(deliveries.c.created_at))
        .where(deliveries.c.status == "pending")
        .group_by(deliveries.c.subscriber)
    ):
        out[subscriber]["oldest_pending_at"] = aggregate_time(oldest)
    for subscriber, oldest in conn.execute(
        select(deliveries.c.subscriber, func.min(deliveries.c.dead_at))
        .where(deliveries.c.status == "dead")
        .group_by(deliveries.c.subscriber)
    ):
        out[subscriber]["oldest_dead_at"] = aggregate_time(oldest)
    for subscriber in list(out):
        last = (
            conn.execute(
                select(deliveries.c.created_at, deliveries.c.delivered_at)
                .where(deliveries.c.subscriber == subscriber, deliveries.c.status == "delivered")
                .order_by(deliveries.c.delivered_at.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        if last is not None:
            out[subscriber]["last_lag_seconds"] = (last["delivered_at"] - last["created_at"]).total_seconds()
    return dict(out)


def recent_failures(conn: Connection, subscriber: str, limit: int = 5) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            delivery_failures.c.delivery_id,
            delivery_failures.c.attempt,
            delivery_failures.c.failed_at,
            delivery_failures.c.error,
        )
        .where(delivery_failures.c.subscriber == subscriber)
        .order_by(delivery_failures.c.id.desc())
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


def dead_letter_depth(conn: Connection) -> dict[str, tuple[int, datetime | None]]:
    rows = conn.execute(
        select(deliveries.c.subscriber, func.count(), func.min(deliveries.c.dead_at))
        .where(deliveries.c.status == "dead")
        .group_by(deliveries.c.subscriber)
    )
    return {r[0]: (int(r[1]), aggregate_time(r[2])) for r in rows}


def unrelayed_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).where(outbox_events.c.relayed_at.is_(None))).scalar_one())


# ---------------------------------------------------------------------- the NATS relay
def unrelayed(conn: Connection, limit: int) -> list[dict[str, Any]]:
    """The oldest events not yet handed to the broker. Two relays may read the same ones; the broker drops
    the second copy by its ``Nats-Msg-Id`` (the event id)."""
    rows = conn.execute(
        select(outbox_events).where(outbox_events.c.relayed_at.is_(None)).order_by(outbox_events.c.seq).limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


def mark_relayed(conn: Connection, seqs: Sequence[int], now: datetime) -> None:
    if seqs:
        conn.execute(update(outbox_events).where(outbox_events.c.seq.in_(list(seqs))).values(relayed_at=now))


def events_by_id(conn: Connection, ids: Sequence[str]) -> list[dict[str, Any]]:
    rows = conn.execute(select(outbox_events).where(outbox_events.c.id.in_(list(ids))).order_by(outbox_events.c.seq))
    return [dict(r) for r in rows.mappings()]


def events_of_trace(conn: Connection, trace_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(outbox_events).where(outbox_events.c.trace_id == trace_id).order_by(outbox_events.c.seq))
    return [dict(r) for r in rows.mappings()]


# ---------------------------------------------------------------------- retention
def purge_finished(conn: Connection, before: datetime, limit: int) -> tuple[int, int]:
    """Delete up to ``limit`` delivered or superseded deliveries created before ``before``, then events older
    than that with no delivery left. Dead letters (and so their events) are never purged here.
    Answers (deliveries, events) deleted."""
    done = select(deliveries.c.id).where(
        deliveries.c.status.in_(("delivered", "superseded")), deliveries.c.created_at < before
    )
    ids = [r.id for r in conn.execute(done.order_by(deliveries.c.id).limit(limit))]
    if ids:
        conn.execute(delete(delivery_failures).where(delivery_failures.c.delivery_id.in_(ids)))
        conn.execute(delete(deliveries).where(deliveries.c.id.in_(ids)))
    orphan = select(deliveries.c.id).where(deliveries.c.event_seq == outbox_events.c.seq).exists()
    seqs = [
        r.seq
        for r in conn.execute(
            select(outbox_events.c.seq)
            .where(outbox_events.c.created_at < before, ~orphan)
            .order_by(outbox_events.c.seq)
            .limit(limit)
        )
    ]
    if seqs:
        conn.execute(delete(outbox_events).where(outbox_events.c.seq.in_(seqs)))
    return len(ids), len(seqs)


def count_by_status(conn: Connection) -> dict[str, int]:
    return {
        r[0]: int(r[1]) for r in conn.execute(select(deliveries.c.status, func.count()).group_by(deliveries.c.status))
    }


def undelivered(conn: Connection) -> int:
    """Balance changes not yet published plus deliveries still pending (dead letters aside): 0 when every
    subscriber has every number. The journal is read first: rows a publisher has taken stay visible until its
    events commit with their deliveries, so an empty journal followed by no pending delivery is complete.
    Read the other way round, a publish committing between the two reads is missed."""
    journal, _ = journal_depth(conn)
    return journal + count_by_status(conn).get("pending", 0)


def all_event_ids(conn: Connection, types: Sequence[str] | None = None) -> list[str]:
    query = select(outbox_events.c.id).order_by(outbox_events.c.seq)
    if types is not None:
        query = query.where(outbox_events.c.type.in_(list(types)))
    return [r.id for r in conn.execute(query)]


def listen_for_events(engine: Engine, on_notify: Callable[[], None], stop: threading.Event) -> None:
    """Block, calling ``on_notify`` for every NOTIFY on the outbox channel, until ``stop`` is set."""
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        on_notify()  # anything committed while we were not listening
        while not stop.is_set():
            for _ in conn.notifies(timeout=0.5):
                on_notify()


def delivery_states(conn: Connection, subscriber: str, event_ids: Sequence[str]) -> dict[str, tuple[str, datetime]]:
    """``delivery_state`` of several events at once."""
    rows = conn.execute(
        select(deliveries.c.event_id, deliveries.c.status, deliveries.c.next_attempt_at).where(
            deliveries.c.subscriber == subscriber, deliveries.c.event_id.in_(list(event_ids))
        )
    )
    return {r.event_id: (r.status, r.next_attempt_at) for r in rows}


def delivery_state(conn: Connection, subscriber: str, event_id: str) -> tuple[str, datetime] | None:
    """(status, next attempt) of one delivery, read without locking: most broker messages of a coalesced
    stream find theirs already superseded, and need no write transaction to learn it."""
    row = conn.execute(
        select(deliveries.c.status, deliveries.c.next_attempt_at).where(
            deliveries.c.subscriber == subscriber, deliveries.c.event_id == event_id
        )
    ).first()
    return None if row is None else (str(row.status), row.next_attempt_at)
