"""The subscription set every process reads (issue 16): which subscriber takes which event types of which
channels, and whether it coalesces. A configured connector's subscriptions are written here by the process
that wires it (before the channel's PUT answers); every process that writes events reads them in its own
transaction, so a delivery is created for a subscriber whatever the writing process has wired.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select

from seamline.store.tables import accounting_connections, channels, subscriptions
from seamline.store.upsert import insert_on_conflict


@dataclass(frozen=True)
class SubscriptionRow:
    subscriber: str
    event_types: tuple[str, ...]
    #: None: every channel.
    channels: tuple[str, ...] | None
    coalesce: bool


# Built once: every transaction that writes events reads it.
_ALL = select(
    subscriptions.c.subscriber, subscriptions.c.event_types, subscriptions.c.channels, subscriptions.c.coalesced
)


def subscription_rows(conn: Connection) -> list[tuple[str, list[str], list[str] | None, bool]]:
    """Every declared subscription as stored: (subscriber, event types, channels or None, coalesced)."""
    return [(r[0], list(r[1]), None if r[2] is None else list(r[2]), bool(r[3])) for r in conn.execute(_ALL)]


def declare(conn: Connection, owner: str, rows: Sequence[SubscriptionRow], now: datetime) -> bool:
    """Make ``rows`` the subscriptions of ``owner`` (a channel code, or ``accounting:<code>``): add and change
    what differs, remove the owner's others. Writes nothing when they are already so (every process wiring
    the same configuration declares the same rows). Answers whether anything changed."""
    current = {
        r.subscriber: r
        for r in conn.execute(
            select(
                subscriptions.c.subscriber,
                subscriptions.c.owner,
                subscriptions.c.event_types,
                subscriptions.c.channels,
                subscriptions.c.coalesced,
            ).where(subscriptions.c.owner == owner)
        )
    }
    changed = False
    wanted = {row.subscriber: row for row in rows}
    for name in sorted(wanted):
        row = wanted[name]
        values: dict[str, Any] = {
            "owner": owner,
            "event_types": sorted(row.event_types),
            "channels": None if row.channels is None else sorted(row.channels),
            "coalesced": row.coalesce,
        }
        found = current.get(name)
        if found is not None and (
            list(found.event_types) == values["event_types"]
            and (None if found.channels is None else list(found.channels)) == values["channels"]
            and bool(found.coalesced) == values["coalesced"]
        ):
            continue
        values["updated_at"] = now
        insert_on_conflict(conn, subscriptions, ["subscriber"], {"subscriber": name, **values}, values)
        changed = True
    gone = sorted(set(current) - set(wanted))
    if gone:
        conn.execute(delete(subscriptions).where(subscriptions.c.owner == owner, subscriptions.c.subscriber.in_(gone)))
        changed = True
    return changed


def declared_owners(conn: Connection) -> list[str]:
    return [r[0] for r in conn.execute(select(subscriptions.c.owner).distinct().order_by(subscriptions.c.owner))]


def forget(conn: Connection, owners: Sequence[str]) -> int:
    """Remove the subscriptions of owners whose configuration is gone."""
    if not owners:
        return 0
    return conn.execute(delete(subscriptions).where(subscriptions.c.owner.in_(list(owners)))).rowcount


def config_version(conn: Connection) -> tuple[Any, ...]:
    """Changes whenever a channel, an accounting connection or a subscription is written: a process compares
    it every second and rewires at once when it moved, instead of at its next full refresh."""
    return tuple(conn.execute(_VERSION).one())


_VERSION = select(
    *(
        part
        for table in (channels, accounting_connections, subscriptions)
        for part in (
            select(func.count()).select_from(table).scalar_subquery(),
            select(func.max(table.c.updated_at)).scalar_subquery(),
        )
    )
)
