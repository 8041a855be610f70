"""Marketplace payouts (finance.payouts): imported once per (channel, payout id), with their amounts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select, update

from seamline.store.finance_repo import _insert_ignore
from seamline.store.tables import marketplace_payout_lines, marketplace_payouts


def insert_payout(conn: Connection, values: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> bool:
    """Record a payout and its lines unless it was imported before; answers whether it is new."""
    added = _insert_ignore(conn, marketplace_payouts, values, ["channel", "payout_id"], marketplace_payouts.c.payout_id)
    if added is None:
        return False
    if lines:
        conn.execute(
            marketplace_payout_lines.insert(),
            [{"channel": values["channel"], "payout_id": values["payout_id"], **line} for line in lines],
        )
    return True


def set_document(conn: Connection, channel: str, payout_id: str, document_id: str) -> None:
    conn.execute(
        update(marketplace_payouts)
        .where(marketplace_payouts.c.channel == channel, marketplace_payouts.c.payout_id == payout_id)
        .values(document_id=document_id)
    )


def get_payout(conn: Connection, channel: str, payout_id: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(marketplace_payouts).where(
                marketplace_payouts.c.channel == channel, marketplace_payouts.c.payout_id == payout_id
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def list_payouts(conn: Connection, channel: str | None = None) -> list[dict[str, Any]]:
    query = select(marketplace_payouts)
    if channel is not None:
        query = query.where(marketplace_payouts.c.channel == channel)
    order = (marketplace_payouts.c.imported_at, marketplace_payouts.c.channel, marketplace_payouts.c.payout_id)
    return [dict(r) for r in conn.execute(query.order_by(*order)).mappings()]


def order_money(conn: Connection, channel: str | None = None) -> list[dict[str, Any]]:
    """Every order amount the payouts settled (``sale`` and ``refund`` lines), in payout order."""
    lines, payouts = marketplace_payout_lines, marketplace_payouts
    query = (
        select(
            lines.c.channel,
            lines.c.payout_id,
            lines.c.kind,
            lines.c.amount,
            lines.c.order_ref,
            payouts.c.currency,
            payouts.c.source,
        )
        .join(payouts, (payouts.c.channel == lines.c.channel) & (payouts.c.payout_id == lines.c.payout_id))
        .where(lines.c.kind.in_(("sale", "refund")), lines.c.order_ref.is_not(None))
    )
    if channel is not None:
        query = query.where(lines.c.channel == channel)
    query = query.order_by(payouts.c.imported_at, lines.c.channel, lines.c.payout_id, lines.c.line_no)
    return [dict(r) for r in conn.execute(query).mappings()]
