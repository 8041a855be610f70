"""What several processes of one installation agree on through the database: who runs a periodic job this
period, who holds a lease on work done by one process at a time (the outbox relay), and what a shared rate
limit still allows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, or_, select, update

from seamline.store.tables import job_periods, rate_buckets
from seamline.store.upsert import insert_on_conflict

BUCKET_FIELDS = ("rate", "capacity", "tokens", "stamp", "blocked_until")


def claim_period(
    conn: Connection, name: str, *, now: datetime, every: timedelta, owner: str, slack: timedelta = timedelta(0)
) -> bool:
    """True when this caller runs job ``name`` for the period starting now: the job's next due time had come
    (within ``slack``) and this caller moved it to ``now + every``. One conditional update, so of processes
    asking at once exactly one wins."""
    insert_on_conflict(conn, job_periods, ["name"], {"name": name, "next_due_at": now}, None)
    claimed = conn.execute(
        update(job_periods)
        .where(job_periods.c.name == name, job_periods.c.next_due_at <= now + slack)
        .values(next_due_at=now + every, owner=owner, claimed_at=now)
    )
    return claimed.rowcount == 1


def period_owner(conn: Connection, name: str) -> tuple[str | None, datetime | None]:
    row = conn.execute(select(job_periods.c.owner, job_periods.c.claimed_at).where(job_periods.c.name == name)).first()
    return (row.owner, row.claimed_at) if row else (None, None)


def lock_bucket(conn: Connection, name: str, initial: Mapping[str, float]) -> dict[str, float]:
    """The shared bucket ``name`` (created from ``initial`` the first time), locked until the transaction
    ends: on PostgreSQL by ``FOR UPDATE``, on SQLite by the write transaction the caller holds."""
    insert_on_conflict(conn, rate_buckets, ["name"], {"name": name, **initial}, None)
    query = select(*(rate_buckets.c[f] for f in BUCKET_FIELDS)).where(rate_buckets.c.name == name)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).one()
    return {f: float(getattr(row, f)) for f in BUCKET_FIELDS}


def read_bucket(conn: Connection, name: str) -> dict[str, float] | None:
    """The shared bucket ``name`` as stored, without locking it (None before its first use)."""
    query = select(*(rate_buckets.c[f] for f in BUCKET_FIELDS)).where(rate_buckets.c.name == name)
    row = conn.execute(query).first()
    return None if row is None else {f: float(getattr(row, f)) for f in BUCKET_FIELDS}


def save_bucket(conn: Connection, name: str, values: Mapping[str, Any]) -> None:
    conn.execute(update(rate_buckets).where(rate_buckets.c.name == name).values(**dict(values)))


def hold_lease(conn: Connection, name: str, *, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease ``name`` for ``owner`` until ``now + ttl``: true when it was free, had run out,
    or was already ``owner``'s. A lease is a ``job_periods`` row whose ``next_due_at`` is when it runs out; one
    conditional update, so of processes asking at once exactly one holds it."""
    insert_on_conflict(conn, job_periods, ["name"], {"name": name, "next_due_at": now}, None)
    taken = conn.execute(
        update(job_periods)
        .where(job_periods.c.name == name, or_(job_periods.c.next_due_at <= now, job_periods.c.owner == owner))
        .values(next_due_at=now + ttl, owner=owner, claimed_at=now)
    )
    return taken.rowcount == 1


def release_lease(conn: Connection, name: str, *, owner: str, now: datetime) -> bool:
    """Give the lease up at once (a process stopping cleanly), if ``owner`` still holds it."""
    released = conn.execute(
        update(job_periods).where(job_periods.c.name == name, job_periods.c.owner == owner).values(next_due_at=now)
    )
    return released.rowcount == 1
