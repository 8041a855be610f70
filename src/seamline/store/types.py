"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out. SQLite has no zone, so it stores UTC wall time in a sortable text form."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime bound to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def driver_time(value: datetime, dialect_name: str) -> Any:
    """``value`` as ``UTCDateTime`` binds it, for statements sent straight to the driver (the hot paths that
    skip SQLAlchemy's parameter processing): aware UTC on PostgreSQL; on SQLite, SQLAlchemy's DateTime text
    form with the microseconds always present, so that text order is time order."""
    if value.tzinfo is None:
        raise ValueError("naive datetime bound to a UTC column")
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect_name == "sqlite" else value


def aggregate_time(value: Any) -> datetime | None:
    """A min/max of a ``UTCDateTime`` column: aggregates lose the column type on SQLite (a text comes back),
    so give back an aware UTC datetime either way."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
