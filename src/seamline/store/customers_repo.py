"""Customers and the match conflicts recorded instead of merging them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from seamline.customers.matching import CustomerRecord
from seamline.store.tables import customer_conflicts, customers


def _record(row: Any) -> CustomerRecord:
    return CustomerRecord(row.id, row.email, row.phone)


def by_email(conn: Connection, email: str) -> CustomerRecord | None:
    row = conn.execute(select(customers).where(customers.c.email == email)).first()
    return None if row is None else _record(row)


def by_phone(conn: Connection, phone: str) -> list[CustomerRecord]:
    return [
        _record(r) for r in conn.execute(select(customers).where(customers.c.phone == phone).order_by(customers.c.id))
    ]


def insert_customer(
    conn: Connection, customer_id: str, *, email: str | None, phone: str | None, name: str | None, now: datetime
) -> bool:
    """False when a concurrent order created the customer of this email first (the caller reads it)."""
    values = {"id": customer_id, "email": email, "phone": phone, "name": name, "created_at": now, "updated_at": now}
    stmt: Any
    if conn.dialect.name == "postgresql":
        stmt = postgresql.insert(customers).values(**values).on_conflict_do_nothing()
    else:
        stmt = sqlite.insert(customers).values(**values).on_conflict_do_nothing()
    return conn.execute(stmt.returning(customers.c.id)).first() is not None


def update_customer(conn: Connection, customer_id: str, now: datetime, **values: Any) -> None:
    conn.execute(update(customers).where(customers.c.id == customer_id).values(updated_at=now, **values))


def insert_conflict(
    conn: Connection,
    *,
    kind: str,
    customer_id: str,
    other_customer_id: str,
    email: str | None,
    phone: str | None,
    document: str | None,
    now: datetime,
) -> None:
    conn.execute(
        customer_conflicts.insert().values(
            kind=kind,
            customer_id=customer_id,
            other_customer_id=other_customer_id,
            email=email,
            phone=phone,
            document=document,
            created_at=now,
        )
    )


def get_customer(conn: Connection, customer_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(customers).where(customers.c.id == customer_id)).mappings().first()
    return None if row is None else dict(row)


def find_customers(conn: Connection, *, email: str | None, phone: str | None) -> list[dict[str, Any]]:
    query = select(customers)
    if email is not None:
        query = query.where(customers.c.email == email)
    if phone is not None:
        query = query.where(customers.c.phone == phone)
    return [dict(r) for r in conn.execute(query.order_by(customers.c.id).limit(100)).mappings()]


def list_conflicts(conn: Connection, *, customer_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    query = select(customer_conflicts)
    if customer_id is not None:
        query = query.where(
            (customer_conflicts.c.customer_id == customer_id) | (customer_conflicts.c.other_customer_id == customer_id)
        )
    return [dict(r) for r in conn.execute(query.order_by(customer_conflicts.c.id).limit(limit)).mappings()]
