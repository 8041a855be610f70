"""INSERT ... ON CONFLICT, the one statement that needs a dialect: both SQLite and PostgreSQL have it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_on_conflict(
    conn: Connection, table: Table, key: Sequence[str], values: Mapping[str, Any], update: Mapping[str, Any] | None
) -> None:
    """Insert ``values``; on a key clash apply ``update`` (SQL expressions allowed) or do nothing."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        pg_stmt = postgresql.insert(table).values(**values)
        if update:
            conn.execute(pg_stmt.on_conflict_do_update(index_elements=list(key), set_=dict(update)))
        else:
            conn.execute(pg_stmt.on_conflict_do_nothing(index_elements=list(key)))
    elif dialect == "sqlite":
        lite_stmt = sqlite.insert(table).values(**values)
        if update:
            conn.execute(lite_stmt.on_conflict_do_update(index_elements=list(key), set_=dict(update)))
        else:
            conn.execute(lite_stmt.on_conflict_do_nothing(index_elements=list(key)))
    else:  # pragma: no cover - only the two supported databases reach here
        raise NotImplementedError(dialect)


def upsert_many(
    conn: Connection, table: Table, key: Sequence[str], rows: Sequence[Mapping[str, Any]], *, chunk: int = 5_000
) -> None:
    """Insert ``rows`` (each with the same columns); on a key clash overwrite the row's other columns with the
    new values. One statement per ``chunk`` rows (executemany), not one round trip per row."""
    if not rows:
        return
    columns = [c for c in rows[0] if c not in key]
    dialect = conn.dialect.name
    for start in range(0, len(rows), chunk):
        part = [dict(r) for r in rows[start : start + chunk]]
        if dialect == "postgresql":
            pg_stmt = postgresql.insert(table)
            conn.execute(
                pg_stmt.on_conflict_do_update(index_elements=list(key), set_={c: pg_stmt.excluded[c] for c in columns}),
                part,
            )
        elif dialect == "sqlite":
            lite_stmt = sqlite.insert(table)
            conn.execute(
                lite_stmt.on_conflict_do_update(
                    index_elements=list(key), set_={c: lite_stmt.excluded[c] for c in columns}
                ),
                part,
            )
        else:  # pragma: no cover - only the two supported databases reach here
            raise NotImplementedError(dialect)
