"""X12 997 functional acknowledgements kept per 3PL channel: those we sent for the 3PL's groups and those
the 3PL sent for ours (matched to the pick ticket or ship notice of that group control number)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, func, select

from seamline.store.tables import threepl_functional_acks, threepl_pick_tickets, threepl_ship_notices
from seamline.store.upsert import insert_on_conflict

#: Our 997 interchanges are numbered from here up, apart from the 940/856 numbers (which start at 1), so
#: that no two interchanges we send a partner share a control number.
FIRST_ACK_CONTROL_NUMBER = 900_000_001
KEY = ("channel", "direction", "functional_id", "group_control_number")


def next_ack_control_number(conn: Connection, channel: str) -> int:
    t = threepl_functional_acks.c
    value = conn.execute(
        select(func.max(t.interchange_control_number)).where(t.channel == channel, t.direction == "sent")
    ).scalar()
    return max(int(value or 0) + 1, FIRST_ACK_CONTROL_NUMBER)


def record(conn: Connection, rows: Sequence[Mapping[str, Any]], *, replace: bool) -> None:
    """Keep acknowledgements; a group acknowledged again is left as it was (``replace=False``: a 997 we
    sent) or takes the newer answer (``replace=True``: the 3PL acknowledged a resend)."""
    for row in rows:
        update = {k: row[k] for k in ("status", "file_name", "detail", "recorded_at")} if replace else None
        insert_on_conflict(conn, threepl_functional_acks, KEY, row, update)


def acks(
    conn: Connection, channel: str, *, direction: str | None = None, statuses: Sequence[str] | None = None, limit: int
) -> list[dict[str, Any]]:
    t = threepl_functional_acks.c
    query = select(threepl_functional_acks).where(t.channel == channel).order_by(t.id.desc()).limit(limit)
    if direction is not None:
        query = query.where(t.direction == direction)
    if statuses is not None:
        query = query.where(t.status.in_(list(statuses)))
    return [dict(r) for r in conn.execute(query).mappings()]


def sent_document(conn: Connection, channel: str, functional_id: str, control_number: str) -> str | None:
    """What we sent under that group control number: ``order <id>`` (a 940) or ``transfer <id>`` (an 856)."""
    if not control_number.isdigit():
        return None
    number = int(control_number)
    if functional_id == "OW":
        t = threepl_pick_tickets.c
        found = conn.execute(select(t.order_id).where(t.channel == channel, t.control_number == number)).scalar()
        return None if found is None else f"order {found}"
    if functional_id == "SH":
        n = threepl_ship_notices.c
        found = conn.execute(select(n.transfer_id).where(n.channel == channel, n.control_number == number)).scalar()
        return None if found is None else f"transfer {found}"
    return None
