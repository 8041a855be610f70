"""A stand-in for a SQLAlchemy connection, enough for a unit of work without a database: savepoints that
record whether they were committed or rolled back, and a location table for ``location_kinds``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Connection

from seamline.service.unit_of_work import UnitOfWork


class FakeConnection:
    def __init__(self, locations: dict[str, str] | None = None) -> None:
        self.locations = dict(locations or {})
        self.savepoints: list[str] = []  # "committed" / "rolled back", in the order they ended
        self.reads = 0

    @contextmanager
    def begin_nested(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            self.savepoints.append("rolled back")
            raise
        self.savepoints.append("committed")

    def execute(self, _statement: Any, *_args: Any) -> list[SimpleNamespace]:
        self.reads += 1
        return [SimpleNamespace(code=code, kind=kind) for code, kind in self.locations.items()]


def fake_uow(conn: FakeConnection | None = None) -> tuple[UnitOfWork, FakeConnection]:
    fake = conn or FakeConnection()
    return UnitOfWork(cast(Connection, fake)), fake
