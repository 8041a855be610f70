"""Transfers and counts: documents whose lines become movements."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from seamline.store.tables import count_lines, counts, transfer_lines, transfers
from seamline.store.upsert import insert_on_conflict


def insert_transfer(conn: Connection, values: Mapping[str, Any], lines: Mapping[str, int]) -> None:
    conn.execute(transfers.insert().values(**values))
    conn.execute(
        transfer_lines.insert(),
        [{"transfer_id": values["id"], "sku": sku, "qty": qty, "received": None} for sku, qty in sorted(lines.items())],
    )


def get_transfer(conn: Connection, transfer_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    query = select(transfers).where(transfers.c.id == transfer_id)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        return None
    lines = conn.execute(
        select(transfer_lines.c.sku, transfer_lines.c.qty, transfer_lines.c.received)
        .where(transfer_lines.c.transfer_id == transfer_id)
        .order_by(transfer_lines.c.sku)
    ).mappings()
    return {**dict(row), "lines": [dict(r) for r in lines]}


def update_transfer(conn: Connection, transfer_id: str, **values: Any) -> None:
    conn.execute(update(transfers).where(transfers.c.id == transfer_id).values(**values))


def set_received(conn: Connection, transfer_id: str, received: Mapping[str, int]) -> None:
    for sku, qty in sorted(received.items()):
        insert_on_conflict(
            conn,
            transfer_lines,
            ["transfer_id", "sku"],
            {"transfer_id": transfer_id, "sku": sku, "qty": 0, "received": qty},
            {"received": qty},
        )


def insert_count(conn: Connection, values: Mapping[str, Any], expected: Mapping[str, int]) -> None:
    conn.execute(counts.insert().values(**values))
    if expected:
        conn.execute(
            count_lines.insert(),
            [
                {"count_id": values["id"], "sku": sku, "expected": qty, "on_hand_at_entry": None, "counted": None}
                for sku, qty in sorted(expected.items())
            ],
        )


def get_count(conn: Connection, count_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    query = select(counts).where(counts.c.id == count_id)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        return None
    lines = conn.execute(
        select(count_lines).where(count_lines.c.count_id == count_id).order_by(count_lines.c.sku)
    ).mappings()
    return {**dict(row), "lines": [dict(r) for r in lines]}


def enter_count(conn: Connection, count_id: str, sku: str, *, counted: int, on_hand: int, now: datetime) -> None:
    """Record a counted quantity with the ledger's on-hand at that moment (a recount replaces both)."""
    values = {"counted": counted, "on_hand_at_entry": on_hand, "entered_at": now}
    insert_on_conflict(
        conn, count_lines, ["count_id", "sku"], {"count_id": count_id, "sku": sku, "expected": None, **values}, values
    )


def update_count(conn: Connection, count_id: str, **values: Any) -> None:
    conn.execute(update(counts).where(counts.c.id == count_id).values(**values))
