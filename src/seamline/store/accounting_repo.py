"""Accounting connections (Xero organisations, QuickBooks companies): configured once, wired like channels."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from seamline.store.tables import accounting_connections
from seamline.store.upsert import insert_on_conflict

#: Accounting connections sit beside channels in the connector wiring under this prefix, so a channel and
#: a set of books may share a code.
WIRING_PREFIX = "accounting:"


def get_connection(conn: Connection, code: str) -> dict[str, Any] | None:
    row = conn.execute(select(accounting_connections).where(accounting_connections.c.code == code)).mappings().first()
    return dict(row) if row else None


def list_connections(conn: Connection) -> list[dict[str, Any]]:
    query = select(accounting_connections).order_by(accounting_connections.c.code)
    return [dict(r) for r in conn.execute(query).mappings()]


def save_connection(conn: Connection, code: str, kind: str, settings: Mapping[str, Any], now: datetime) -> None:
    values = {"kind": kind, "settings": dict(settings), "updated_at": now}
    insert_on_conflict(conn, accounting_connections, ["code"], {"code": code, "created_at": now, **values}, values)


def connector_configs(conn: Connection) -> list[dict[str, Any]]:
    """Each connection as the connector wiring reads channels: code (prefixed), kind, sources, settings."""
    return [
        {"code": WIRING_PREFIX + r["code"], "kind": r["kind"], "sources": [], "settings": r["settings"]}
        for r in list_connections(conn)
    ]
