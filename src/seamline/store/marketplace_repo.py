"""Marketplace listings (issue 7): the state of each listing per marketplace, the bulk imports and feeds in
flight, what the platforms said was wrong, the pause log and the pull cursors.

A listing moves ``pending`` (a number to show, not yet accepted) → ``active`` / ``paused`` (accepted; paused
means the number shown is 0 because ATP is under the channel's threshold) or ``error`` (refused: the issue
is in ``last_error`` and ``listing_issues``). A newer number makes it ``pending`` again. ``desired_seq`` is
the outbox sequence of the number asked for: an older request never overwrites a newer one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select, update

from seamline.store.tables import (
    channel_availability,
    listing_issues,
    listing_pauses,
    marketplace_cursors,
    marketplace_imports,
    marketplace_listings,
    outbox_events,
)
from seamline.store.upsert import insert_on_conflict

ListingKey = tuple[str, str, str]  # (channel, marketplace, sku)


# ---------------------------------------------------------------------- listings
def ensure_listings(
    conn: Connection,
    channel: str,
    sku: str,
    marketplaces: Sequence[str],
    *,
    product_type: str | None,
    now: datetime,
) -> None:
    """A row per marketplace for the SKU, created on first use with our SKU as the seller SKU."""
    for marketplace in marketplaces:
        insert_on_conflict(
            conn,
            marketplace_listings,
            ["channel", "marketplace", "sku"],
            {
                "channel": channel,
                "marketplace": marketplace,
                "sku": sku,
                "seller_sku": sku,
                "product_type": product_type,
                "status": "pending",
                "paused": False,
                "updated_at": now,
            },
            None,
        )


def link_listing(
    conn: Connection,
    channel: str,
    marketplace: str,
    sku: str,
    *,
    seller_sku: str,
    product_type: str | None,
    now: datetime,
) -> None:
    """Name the platform's SKU and product type for one of our SKUs (insert or update)."""
    values = {"seller_sku": seller_sku, "product_type": product_type, "updated_at": now}
    insert_on_conflict(
        conn,
        marketplace_listings,
        ["channel", "marketplace", "sku"],
        {"channel": channel, "marketplace": marketplace, "sku": sku, "status": "pending", "paused": False, **values},
        values,
    )


def get_listings(conn: Connection, channel: str, sku: str, *, for_update: bool = False) -> list[dict[str, Any]]:
    query = (
        select(marketplace_listings)
        .where(marketplace_listings.c.channel == channel, marketplace_listings.c.sku == sku)
        .order_by(marketplace_listings.c.marketplace)
    )
    if for_update:
        query = query.with_for_update()
    return [dict(r) for r in conn.execute(query).mappings()]


def record_desired(
    conn: Connection, key: ListingKey, *, qty: int, seq: int, paused: bool, now: datetime, again: bool = False
) -> bool:
    """Ask for ``qty`` to be shown; False (nothing changed) when a request at least as new was recorded
    (``again``: newer than that, so a refused request may be asked for once more)."""
    channel, marketplace, sku = key
    c = marketplace_listings.c
    newer = c.desired_seq <= seq if again else c.desired_seq < seq
    result = conn.execute(
        update(marketplace_listings)
        .where(
            c.channel == channel,
            c.marketplace == marketplace,
            c.sku == sku,
            or_(c.desired_seq.is_(None), newer),
        )
        .values(desired_qty=qty, desired_seq=seq, paused=paused, status="pending", updated_at=now)
    )
    return result.rowcount == 1


def record_published(
    conn: Connection, key: ListingKey, *, qty: int, seq: int, submission: str | None, now: datetime
) -> None:
    """The platform accepted ``qty`` (asked for at ``seq``). The listing is settled unless a newer number is
    already waiting; an older acceptance arriving late changes nothing."""
    channel, marketplace, sku = key
    c = marketplace_listings.c
    settled = c.desired_seq.is_(None) | (c.desired_seq <= seq)
    conn.execute(
        update(marketplace_listings)
        .where(
            c.channel == channel,
            c.marketplace == marketplace,
            c.sku == sku,
            or_(c.published_seq.is_(None), c.published_seq <= seq),
        )
        .values(
            published_qty=qty,
            published_seq=seq,
            published_at=now,
            last_submission=submission,
            last_error=None,
            status=_case_status(settled),
            updated_at=now,
        )
    )


def _case_status(settled: Any) -> Any:
    c = marketplace_listings.c
    return case((settled & c.paused, "paused"), (settled, "active"), else_="pending")


def record_refused(
    conn: Connection, key: ListingKey, *, seq: int, submission: str | None, error: str, now: datetime
) -> None:
    """The platform refused the number asked for at ``seq``: ``error`` until a newer number is asked for."""
    channel, marketplace, sku = key
    c = marketplace_listings.c
    conn.execute(
        update(marketplace_listings)
        .where(
            c.channel == channel,
            c.marketplace == marketplace,
            c.sku == sku,
            or_(c.desired_seq.is_(None), c.desired_seq <= seq),
        )
        .values(status="error", last_error=error[:2000], last_submission=submission, updated_at=now)
    )


def pending_listings(conn: Connection, channel: str, limit: int) -> list[dict[str, Any]]:
    """Listings with a number to send and no import carrying it, oldest request first."""
    c = marketplace_listings.c
    rows = conn.execute(
        select(marketplace_listings)
        .where(c.channel == channel, c.status == "pending", c.in_flight.is_(None), c.desired_qty.is_not(None))
        .order_by(c.desired_seq, c.marketplace, c.sku)
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


def set_in_flight(conn: Connection, channel: str, keys: Iterable[tuple[str, str]], import_id: int | None) -> None:
    """Mark (marketplace, sku) listings as carried by an import (or by none)."""
    c = marketplace_listings.c
    for marketplace, sku in keys:
        conn.execute(
            update(marketplace_listings)
            .where(c.channel == channel, c.marketplace == marketplace, c.sku == sku)
            .values(in_flight=import_id)
        )


def release_in_flight(conn: Connection, import_id: int) -> None:
    conn.execute(
        update(marketplace_listings).where(marketplace_listings.c.in_flight == import_id).values(in_flight=None)
    )


def listed_skus(conn: Connection, channel: str) -> list[dict[str, Any]]:
    c = marketplace_listings.c
    return [
        dict(r)
        for r in conn.execute(
            select(marketplace_listings).where(c.channel == channel).order_by(c.sku, c.marketplace)
        ).mappings()
    ]


def list_listings(
    conn: Connection,
    channel: str,
    *,
    status: str | None = None,
    sku: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    c = marketplace_listings.c
    query = select(marketplace_listings).where(c.channel == channel)
    if status is not None:
        query = query.where(c.status == status)
    if sku is not None:
        query = query.where(c.sku == sku)
    if after is not None:
        query = query.where(c.sku > after)
    query = query.order_by(c.sku, c.marketplace).limit(limit)
    return [dict(r) for r in conn.execute(query).mappings()]


def listing_summary(conn: Connection) -> dict[str, dict[str, int]]:
    """Per channel: listings by status."""
    c = marketplace_listings.c
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for channel, status, count in conn.execute(
        select(c.channel, c.status, func.count()).group_by(c.channel, c.status).order_by(c.channel, c.status)
    ):
        out[channel][status] = int(count)
    return dict(out)


def latest_event_seq(conn: Connection) -> int:
    """The newest outbox sequence: a number read after it is at least as new as any event up to it."""
    return int(conn.execute(select(func.coalesce(func.max(outbox_events.c.seq), 0))).scalar_one())


# ---------------------------------------------------------------------- imports and feeds
def insert_import(conn: Connection, values: Mapping[str, Any]) -> int:
    result = conn.execute(marketplace_imports.insert().values(**values).returning(marketplace_imports.c.id))
    return int(result.scalar_one())


def update_import(conn: Connection, import_id: int, **values: Any) -> None:
    conn.execute(update(marketplace_imports).where(marketplace_imports.c.id == import_id).values(**values))


def open_imports(conn: Connection, channel: str, kind: str) -> list[dict[str, Any]]:
    c = marketplace_imports.c
    rows = conn.execute(
        select(marketplace_imports).where(c.channel == channel, c.kind == kind, c.status == "submitted").order_by(c.id)
    ).mappings()
    return [dict(r) for r in rows]


def get_import(conn: Connection, import_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(marketplace_imports).where(marketplace_imports.c.id == import_id)).mappings().first()
    return None if row is None else dict(row)


def list_imports(conn: Connection, channel: str, limit: int = 50) -> list[dict[str, Any]]:
    c = marketplace_imports.c
    rows = conn.execute(
        select(marketplace_imports).where(c.channel == channel).order_by(c.id.desc()).limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


def last_import_at(conn: Connection, channel: str, kind: str) -> datetime | None:
    c = marketplace_imports.c
    value: datetime | None = conn.execute(
        select(func.max(c.submitted_at)).where(c.channel == channel, c.kind == kind)
    ).scalar_one()
    return value


# ---------------------------------------------------------------------- issues
def insert_issues(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(listing_issues.insert(), [dict(r) for r in rows])


def list_issues(conn: Connection, channel: str, *, sku: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    c = listing_issues.c
    query = select(listing_issues).where(c.channel == channel)
    if sku is not None:
        query = query.where(c.sku == sku)
    rows = conn.execute(query.order_by(c.id.desc()).limit(limit)).mappings()
    return [dict(r) for r in rows]


# ---------------------------------------------------------------------- pauses
def record_pauses(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Log threshold crossings; each event is logged once, however often this is called with it."""
    for row in rows:
        insert_on_conflict(conn, listing_pauses, ["event_id"], dict(row), None)


def list_pauses(
    conn: Connection,
    channel: str,
    *,
    sku: str | None = None,
    after: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Crossings of one channel, oldest first (page on with ``after`` = the last id seen)."""
    c = listing_pauses.c
    query = select(listing_pauses).where(c.channel == channel)
    if sku is not None:
        query = query.where(c.sku == sku)
    if after is not None:
        query = query.where(c.id > after)
    rows = conn.execute(query.order_by(c.id).limit(limit)).mappings()
    return [dict(r) for r in rows]


def paused_now(conn: Connection, channel: str | None = None) -> dict[str, list[str]]:
    """Per channel, the SKUs whose computed availability is paused at this moment."""
    c = channel_availability.c
    query = select(c.channel, c.sku).where(c.paused.is_(True))
    if channel is not None:
        query = query.where(c.channel == channel)
    out: dict[str, list[str]] = defaultdict(list)
    for code, sku in conn.execute(query.order_by(c.channel, c.sku)):
        out[code].append(sku)
    return dict(out)


def pause_summary(conn: Connection) -> dict[str, dict[str, Any]]:
    """Per channel: SKUs paused now, pauses and restores logged, and the last crossing."""
    c = listing_pauses.c
    out: dict[str, dict[str, Any]] = {}
    for code, action, count, last in conn.execute(
        select(c.channel, c.action, func.count(), func.max(c.at)).group_by(c.channel, c.action)
    ):
        entry = out.setdefault(code, {"paused_now": 0, "pauses": 0, "restores": 0, "last_crossing_at": None})
        entry["pauses" if action == "paused" else "restores"] = int(count)
        if entry["last_crossing_at"] is None or (last is not None and last > entry["last_crossing_at"]):
            entry["last_crossing_at"] = last
    for code, skus in paused_now(conn).items():
        out.setdefault(code, {"paused_now": 0, "pauses": 0, "restores": 0, "last_crossing_at": None})
        out[code]["paused_now"] = len(skus)
    return out


# ---------------------------------------------------------------------- cursors
def get_cursor(conn: Connection, channel: str, name: str) -> str | None:
    c = marketplace_cursors.c
    value: str | None = conn.execute(
        select(c.value).where(and_(c.channel == channel, c.name == name))
    ).scalar_one_or_none()
    return value


def set_cursor(conn: Connection, channel: str, name: str, value: str, now: datetime) -> None:
    insert_on_conflict(
        conn,
        marketplace_cursors,
        ["channel", "name"],
        {"channel": channel, "name": name, "value": value, "updated_at": now},
        {"value": value, "updated_at": now},
    )
