"""Locations: the physical ones clients create, and the virtual ones the first migration seeded."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from seamline.store.tables import locations
from seamline.store.upsert import insert_on_conflict


def get_location(conn: Connection, code: str) -> dict[str, Any] | None:
    row = conn.execute(select(locations).where(locations.c.code == code)).mappings().first()
    return dict(row) if row else None


def list_locations(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(locations).order_by(locations.c.code)).mappings()]


def save_location(conn: Connection, code: str, name: str, kind: str, now: datetime) -> None:
    insert_on_conflict(
        conn,
        locations,
        ["code"],
        {"code": code, "name": name, "kind": kind, "virtual": False, "created_at": now, "updated_at": now},
        {"name": name, "kind": kind, "updated_at": now},
    )
