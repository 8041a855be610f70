"""Shipments of orders (one row per parcel) and what Seamline owes each marketplace (acceptance decisions,
shipment confirmations, refunds), with whether the platform was told."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select, update

from seamline.store.tables import (
    channel_confirmations,
    marketplace_listings,
    order_shipments,
    orders,
    return_lines,
    returns,
)
from seamline.store.upsert import insert_on_conflict


# ---------------------------------------------------------------------- shipments
def record_shipment(
    conn: Connection,
    order_id: str,
    lines: Sequence[Mapping[str, Any]],
    *,
    carrier: str | None,
    tracking: str | None,
    now: datetime,
) -> int:
    """Add the order's next shipment (``lines``: line_no, sku, qty); answers its number (1, 2, ...)."""
    c = order_shipments.c
    last = conn.execute(select(func.max(c.shipment_no)).where(c.order_id == order_id)).scalar_one_or_none()
    number = int(last or 0) + 1
    conn.execute(
        order_shipments.insert().values(
            order_id=order_id,
            shipment_no=number,
            lines=[dict(line) for line in lines],
            carrier=carrier,
            tracking=tracking,
            shipped_at=now,
        )
    )
    return number


def shipments(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    c = order_shipments.c
    rows = conn.execute(select(order_shipments).where(c.order_id == order_id).order_by(c.shipment_no)).mappings()
    return [dict(r) for r in rows]


# ---------------------------------------------------------------------- returns of a channel's orders
def channel_returns(conn: Connection, channel: str, *, limit: int = 200) -> list[dict[str, Any]]:
    """Returns booked against the channel's orders that the channel has not been told of (no ``refund``
    confirmation row), oldest first, each with its lines."""
    r, o, cc = returns.c, orders.c, channel_confirmations.c
    told = select(cc.ref).where(and_(cc.channel == channel, cc.kind == "refund", cc.sent_at.is_not(None)))
    heads = conn.execute(
        select(r.id, r.order_id, r.currency, o.external_id)
        .join(orders, o.id == r.order_id)
        .where(and_(o.channel == channel, r.id.not_in(told)))
        .order_by(r.created_at, r.id)
        .limit(limit)
    ).mappings()
    out = []
    for head in heads:
        lines = conn.execute(
            select(return_lines).where(return_lines.c.return_id == head["id"]).order_by(return_lines.c.line_no)
        ).mappings()
        out.append({**dict(head), "lines": [dict(line) for line in lines]})
    return out


# ---------------------------------------------------------------------- confirmations
def decide(conn: Connection, channel: str, kind: str, ref: str, detail: Mapping[str, Any], now: datetime) -> bool:
    """Record a decision to tell the channel; False (and nothing changed) when one was recorded before."""
    c = channel_confirmations.c
    if conn.execute(select(c.ref).where(and_(c.channel == channel, c.kind == kind, c.ref == ref))).scalar_one_or_none():
        return False
    insert_on_conflict(
        conn,
        channel_confirmations,
        ["channel", "kind", "ref"],
        {"channel": channel, "kind": kind, "ref": ref, "detail": dict(detail), "decided_at": now},
        None,
    )
    return True


def get(conn: Connection, channel: str, kind: str, ref: str) -> dict[str, Any] | None:
    c = channel_confirmations.c
    row = (
        conn.execute(select(channel_confirmations).where(and_(c.channel == channel, c.kind == kind, c.ref == ref)))
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def unsent(conn: Connection, channel: str, kind: str, *, limit: int = 200) -> list[dict[str, Any]]:
    c = channel_confirmations.c
    rows = conn.execute(
        select(channel_confirmations)
        .where(and_(c.channel == channel, c.kind == kind, c.sent_at.is_(None)))
        .order_by(c.decided_at, c.ref)
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


def mark(conn: Connection, channel: str, kind: str, ref: str, *, sent_at: datetime | None, error: str | None) -> None:
    """Record the platform's answer; a row already told is never marked again (a second sender's refusal of
    what the first one delivered does not overwrite it)."""
    c = channel_confirmations.c
    values: dict[str, Any] = {"error": error}
    if sent_at is not None:
        values["sent_at"] = sent_at
    conn.execute(
        update(channel_confirmations)
        .where(and_(c.channel == channel, c.kind == kind, c.ref == ref, c.sent_at.is_(None)))
        .values(**values)
    )


def list_confirmations(
    conn: Connection, channel: str, *, kind: str | None = None, refused: bool = False, limit: int = 100
) -> list[dict[str, Any]]:
    """What Seamline owes the channel and whether it was told, newest decision first; ``refused``: only the
    ones the platform refused (an error recorded and not told since)."""
    c = channel_confirmations.c
    query = select(channel_confirmations).where(c.channel == channel)
    if kind is not None:
        query = query.where(c.kind == kind)
    if refused:
        query = query.where(and_(c.error.is_not(None), c.sent_at.is_(None)))
    rows = conn.execute(query.order_by(c.decided_at.desc(), c.kind, c.ref).limit(limit)).mappings()
    return [dict(r) for r in rows]


def skus_for_seller_skus(conn: Connection, channel: str, seller_skus: Sequence[str]) -> dict[str, str]:
    """The platform's SKU → ours, from the channel's listings (a SKU listed under its own name maps to itself
    only through the catalog, which the caller checks)."""
    if not seller_skus:
        return {}
    c = marketplace_listings.c
    rows = conn.execute(
        select(c.seller_sku, c.sku).where(and_(c.channel == channel, c.seller_sku.in_(sorted(set(seller_skus)))))
    )
    return {str(seller): str(sku) for seller, sku in rows}


def cancelled_untold(conn: Connection, channel: str, *, limit: int = 200) -> list[dict[str, Any]]:
    """Orders of the channel cancelled here whose cancellation the channel has not been told of: each has an
    ``acceptance`` row (it came from the marketplace) and no ``cancel`` row."""
    cc, o = channel_confirmations.c, orders.c
    told = select(cc.ref).where(and_(cc.channel == channel, cc.kind == "cancel"))
    taken = select(cc.ref).where(and_(cc.channel == channel, cc.kind == "acceptance"))
    rows = conn.execute(
        select(o.id, o.external_id)
        .where(
            and_(
                o.channel == channel,
                o.status == "cancelled",
                o.external_id.in_(taken),
                o.external_id.not_in(told),
            )
        )
        .order_by(o.seq)
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]
