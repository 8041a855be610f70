"""Receivable parties: who a document is booked to, and the contact each accounting connection made for it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from seamline.store.tables import accounting_contacts, b2b_orders, customers, wholesale_accounts
from seamline.store.upsert import insert_on_conflict


def wholesale_account_of(conn: Connection, order_id: str) -> dict[str, Any] | None:
    query = (
        select(wholesale_accounts.c.code, wholesale_accounts.c.name, wholesale_accounts.c.payment_terms_days)
        .join(b2b_orders, b2b_orders.c.account == wholesale_accounts.c.code)
        .where(b2b_orders.c.order_id == order_id)
    )
    row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)


def customer(conn: Connection, customer_id: str) -> dict[str, Any] | None:
    query = select(customers.c.id, customers.c.name, customers.c.email).where(customers.c.id == customer_id)
    row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)


def get_contact(conn: Connection, target: str, party: str) -> dict[str, Any] | None:
    query = select(accounting_contacts).where(
        accounting_contacts.c.target == target, accounting_contacts.c.party == party
    )
    row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)


def save_contact(conn: Connection, target: str, party: str, external_id: str, name: str, now: datetime) -> None:
    """The first contact recorded for a party stays (a second connector process that found the same one
    records the same id; a duplicate made by a race is not allowed to replace it)."""
    values = {"target": target, "party": party, "external_id": external_id, "name": name, "created_at": now}
    insert_on_conflict(conn, accounting_contacts, ["target", "party"], values, None)


def contacts(conn: Connection, target: str) -> list[dict[str, Any]]:
    table = accounting_contacts
    query = select(table).where(table.c.target == target).order_by(table.c.party)
    return [dict(r) for r in conn.execute(query).mappings()]
