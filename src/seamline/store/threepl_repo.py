"""The 3PL's SQL (issue 7): variance reports from inventory advice, the pick tickets sent per order, and the
lookups the apply step needs (orders by the id a 3PL echoes back, what is allocated at the 3PL)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from seamline.store.tables import (
    allocations,
    customers,
    orders,
    threepl_pick_tickets,
    threepl_ship_notices,
    threepl_variance_lines,
    threepl_variance_reports,
    transfers,
)

# -- variance reports ------------------------------------------------------------------------------------


def insert_variance_report(conn: Connection, values: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> int:
    report_id = int(
        conn.execute(
            threepl_variance_reports.insert().values(**values).returning(threepl_variance_reports.c.id)
        ).scalar_one()
    )
    if lines:
        conn.execute(threepl_variance_lines.insert(), [{**line, "report_id": report_id} for line in lines])
    return report_id


def variance_reports(
    conn: Connection, channel: str, *, before: int | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """The channel's reports, newest first, each with its lines."""
    query = select(threepl_variance_reports).where(threepl_variance_reports.c.channel == channel)
    if before is not None:
        query = query.where(threepl_variance_reports.c.id < before)
    reports = [
        dict(r) for r in conn.execute(query.order_by(threepl_variance_reports.c.id.desc()).limit(limit)).mappings()
    ]
    if not reports:
        return []
    rows = conn.execute(
        select(threepl_variance_lines)
        .where(threepl_variance_lines.c.report_id.in_([r["id"] for r in reports]))
        .order_by(threepl_variance_lines.c.id)
    ).mappings()
    by_report: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_report.setdefault(int(row["report_id"]), []).append(dict(row))
    for report in reports:
        report["lines"] = by_report.get(int(report["id"]), [])
    return reports


# -- orders ----------------------------------------------------------------------------------------------


def orders_named(conn: Connection, name: str) -> list[str]:
    """Orders a 3PL may mean by ``name``: ours by id, else any channel's by external id (a 945 echoes the
    order number of the pick ticket, which is our id; a 3PL fed by hand may quote the platform's number)."""
    by_id = conn.execute(select(orders.c.id).where(orders.c.id == name)).scalars().all()
    if by_id:
        return [str(v) for v in by_id]
    return [str(v) for v in conn.execute(select(orders.c.id).where(orders.c.external_id == name)).scalars()]


def unsent_orders_at(conn: Connection, channel: str, location: str, *, today: date, limit: int = 100) -> list[str]:
    """Orders with units allocated at ``location`` for which no pick ticket was claimed yet, oldest first; a
    wholesale order only from the start of its ship window (the 3PL would ship it the day it gets it)."""
    sent = select(threepl_pick_tickets.c.order_id).where(threepl_pick_tickets.c.channel == channel)
    rows = conn.execute(
        select(orders.c.id, func.min(orders.c.seq).label("seq"))
        .join(allocations, allocations.c.document == orders.c.id)
        .where(
            allocations.c.location == location,
            allocations.c.status == "open",
            orders.c.id.not_in(sent),
            or_(orders.c.ship_start.is_(None), orders.c.ship_start <= today),
        )
        .group_by(orders.c.id)
        .order_by("seq")
        .limit(limit)
    )
    return [str(r.id) for r in rows]


def allocated_at(conn: Connection, order_id: str, location: str) -> list[tuple[str, int]]:
    """(SKU, units) of the order's open allocations at ``location``: what the 3PL is to pick."""
    rows = conn.execute(
        select(allocations.c.sku, func.sum(allocations.c.qty))
        .where(allocations.c.document == order_id, allocations.c.location == location, allocations.c.status == "open")
        .group_by(allocations.c.sku)
        .order_by(allocations.c.sku)
    )
    return [(str(r[0]), int(r[1])) for r in rows]


def customer_name(conn: Connection, order_id: str) -> str | None:
    value = conn.execute(
        select(customers.c.name).join(orders, orders.c.customer_id == customers.c.id).where(orders.c.id == order_id)
    ).scalar()
    return None if value is None else str(value)


# -- pick tickets ----------------------------------------------------------------------------------------


def next_control_number(conn: Connection, channel: str) -> int:
    value = conn.execute(
        select(func.max(threepl_pick_tickets.c.control_number)).where(threepl_pick_tickets.c.channel == channel)
    ).scalar()
    return int(value or 0) + 1


def claim_pick_ticket(conn: Connection, channel: str, order_id: str, control_number: int, now: datetime) -> None:
    conn.execute(
        threepl_pick_tickets.insert().values(
            channel=channel, order_id=order_id, control_number=control_number, status="pending", created_at=now
        )
    )


def pending_pick_tickets(conn: Connection, channel: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(threepl_pick_tickets)
        .where(threepl_pick_tickets.c.channel == channel, threepl_pick_tickets.c.status == "pending")
        .order_by(threepl_pick_tickets.c.control_number)
    ).mappings()
    return [dict(r) for r in rows]


def mark_pick_ticket_sent(conn: Connection, channel: str, order_id: str, file_name: str, now: datetime) -> None:
    conn.execute(
        update(threepl_pick_tickets)
        .where(and_(threepl_pick_tickets.c.channel == channel, threepl_pick_tickets.c.order_id == order_id))
        .values(status="sent", file_name=file_name, sent_at=now)
    )


def pick_tickets(conn: Connection, channel: str, *, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(threepl_pick_tickets)
        .where(threepl_pick_tickets.c.channel == channel)
        .order_by(threepl_pick_tickets.c.control_number.desc())
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


# -- ship notices (856 out) ------------------------------------------------------------------------------


def unannounced_transfers_to(conn: Connection, channel: str, location: str, *, limit: int = 100) -> list[str]:
    """Transfers on their way to ``location`` (shipped, not received) that no ship notice announced yet."""
    announced = select(threepl_ship_notices.c.transfer_id).where(threepl_ship_notices.c.channel == channel)
    rows = conn.execute(
        select(transfers.c.id)
        .where(
            transfers.c.to_location == location,
            transfers.c.status == "in_transit",
            transfers.c.id.not_in(announced),
        )
        .order_by(transfers.c.shipped_at, transfers.c.id)
        .limit(limit)
    )
    return [str(r.id) for r in rows]


def next_notice_number(conn: Connection, channel: str) -> int:
    value = conn.execute(
        select(func.max(threepl_ship_notices.c.control_number)).where(threepl_ship_notices.c.channel == channel)
    ).scalar()
    return int(value or 0) + 1


def claim_ship_notice(
    conn: Connection, channel: str, transfer_id: str, control_number: int, sscc: str, now: datetime
) -> None:
    conn.execute(
        threepl_ship_notices.insert().values(
            channel=channel,
            transfer_id=transfer_id,
            control_number=control_number,
            sscc=sscc,
            status="pending",
            created_at=now,
        )
    )


def pending_ship_notices(conn: Connection, channel: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(threepl_ship_notices)
        .where(threepl_ship_notices.c.channel == channel, threepl_ship_notices.c.status == "pending")
        .order_by(threepl_ship_notices.c.control_number)
    ).mappings()
    return [dict(r) for r in rows]


def mark_ship_notice_sent(conn: Connection, channel: str, transfer_id: str, file_name: str, now: datetime) -> None:
    conn.execute(
        update(threepl_ship_notices)
        .where(and_(threepl_ship_notices.c.channel == channel, threepl_ship_notices.c.transfer_id == transfer_id))
        .values(status="sent", file_name=file_name, sent_at=now)
    )
