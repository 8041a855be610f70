"""Wholesale B2B (issue 7): accounts, the orders they placed through the portal, and inbound supply (open
purchase orders and ASNs) that pre-books are promised from."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from seamline.store.tables import b2b_orders, inbound_supply, order_lines, orders, wholesale_accounts
from seamline.store.upsert import insert_on_conflict


# ---------------------------------------------------------------------- accounts
def get_account(conn: Connection, code: str) -> dict[str, Any] | None:
    row = conn.execute(select(wholesale_accounts).where(wholesale_accounts.c.code == code)).mappings().first()
    return None if row is None else dict(row)


def save_account(conn: Connection, code: str, values: Mapping[str, Any], now: datetime) -> None:
    update_values = {**values, "updated_at": now}
    insert_on_conflict(
        conn,
        wholesale_accounts,
        ["code"],
        {"code": code, **values, "created_at": now, "updated_at": now},
        update_values,
    )


def list_accounts(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(wholesale_accounts).order_by(wholesale_accounts.c.code)).mappings()
    return [dict(r) for r in rows]


# ---------------------------------------------------------------------- portal orders
def order_for_po(conn: Connection, account: str, po_number: str) -> str | None:
    value: str | None = conn.execute(
        select(b2b_orders.c.order_id).where(b2b_orders.c.account == account, b2b_orders.c.po_number == po_number)
    ).scalar_one_or_none()
    return value


def insert_order(conn: Connection, order_id: str, account: str, po_number: str, now: datetime) -> None:
    conn.execute(b2b_orders.insert().values(order_id=order_id, account=account, po_number=po_number, placed_at=now))


def account_of(conn: Connection, order_id: str) -> tuple[str, str] | None:
    row = conn.execute(
        select(b2b_orders.c.account, b2b_orders.c.po_number).where(b2b_orders.c.order_id == order_id)
    ).first()
    return None if row is None else (row.account, row.po_number)


def account_orders(
    conn: Connection, account: str, *, after_seq: int | None = None, limit: int = 100
) -> list[tuple[int, str, str]]:
    """(queue seq, order id, PO number) of the account's orders, oldest first."""
    query = (
        select(orders.c.seq, orders.c.id, b2b_orders.c.po_number)
        .join(b2b_orders, b2b_orders.c.order_id == orders.c.id)
        .where(b2b_orders.c.account == account)
    )
    if after_seq is not None:
        query = query.where(orders.c.seq > after_seq)
    return [(int(r.seq), r.id, r.po_number) for r in conn.execute(query.order_by(orders.c.seq).limit(limit))]


# ---------------------------------------------------------------------- what is promised and what is coming
def backordered_units(conn: Connection, line_skus: Iterable[str]) -> dict[str, int]:
    """Units ordered and not yet allocated, picked or cancelled, per line SKU, over every open order of any
    channel: what arriving stock is already promised to (the allocation run serves them first)."""
    wanted = sorted(set(line_skus))
    if not wanted:
        return {}
    open_units = order_lines.c.qty - order_lines.c.cancelled - order_lines.c.allocated - order_lines.c.picked
    rows = conn.execute(
        select(order_lines.c.sku, func.sum(open_units))
        .where(order_lines.c.sku.in_(wanted), open_units > 0)
        .group_by(order_lines.c.sku)
    )
    return {sku: int(units) for sku, units in rows}


def lock_supply(conn: Connection, skus: Iterable[str]) -> list[dict[str, Any]]:
    """The open supply rows of these SKUs, locked in id order on PostgreSQL: whoever promises future units of
    a SKU holds these until commit, so two promises of the same units are decided one after the other."""
    wanted = sorted(set(skus))
    if not wanted:
        return []
    query = (
        select(inbound_supply)
        .where(inbound_supply.c.sku.in_(wanted), inbound_supply.c.status == "open")
        .order_by(inbound_supply.c.id)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return [dict(r) for r in conn.execute(query).mappings()]


def incoming(conn: Connection, skus: Iterable[str]) -> dict[str, list[tuple[date, int]]]:
    """Open supply per SKU: (expected on, units still to come), earliest first."""
    wanted = sorted(set(skus))
    out: dict[str, list[tuple[date, int]]] = defaultdict(list)
    if not wanted:
        return {}
    c = inbound_supply.c
    rows = conn.execute(
        select(c.sku, c.expected_on, func.sum(c.qty - c.received))
        .where(c.sku.in_(wanted), c.status == "open", c.qty > c.received)
        .group_by(c.sku, c.expected_on)
        .order_by(c.sku, c.expected_on)
    )
    for sku, expected_on, units in rows:
        out[sku].append((expected_on, int(units)))
    return dict(out)


# ---------------------------------------------------------------------- supply documents
def supply_rows(conn: Connection, reference: str, *, for_update: bool = False) -> list[dict[str, Any]]:
    query = select(inbound_supply).where(inbound_supply.c.reference == reference).order_by(inbound_supply.c.id)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return [dict(r) for r in conn.execute(query).mappings()]


def upsert_supply_line(conn: Connection, values: Mapping[str, Any], now: datetime) -> None:
    changes = {k: values[k] for k in ("kind", "qty", "expected_on", "status")}
    insert_on_conflict(
        conn,
        inbound_supply,
        ["reference", "sku", "location"],
        {**values, "received": 0, "created_at": now, "updated_at": now},
        {**changes, "updated_at": now},
    )


def close_supply_lines(conn: Connection, reference: str, keep: Iterable[tuple[str, str]], now: datetime) -> None:
    """Cancel the open lines of a document that a new version of it no longer names."""
    kept = set(keep)
    for row in supply_rows(conn, reference):
        if (row["sku"], row["location"]) not in kept and row["status"] == "open":
            conn.execute(
                update(inbound_supply)
                .where(inbound_supply.c.id == row["id"])
                .values(status="cancelled", updated_at=now)
            )


def record_received(conn: Connection, supply_id: int, received: int, status: str, now: datetime) -> None:
    conn.execute(
        update(inbound_supply)
        .where(inbound_supply.c.id == supply_id)
        .values(received=received, status=status, updated_at=now)
    )


def list_supply(
    conn: Connection, *, sku: str | None = None, status: str | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    c = inbound_supply.c
    query = select(inbound_supply)
    if sku is not None:
        query = query.where(c.sku == sku)
    if status is not None:
        query = query.where(c.status == status)
    return [dict(r) for r in conn.execute(query.order_by(c.expected_on, c.id).limit(limit)).mappings()]
