"""The alembic migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from seamline.ledger.model import VIRTUAL_LOCATIONS
from seamline.store.db import make_null_pool_engine
from seamline.store.migrate import head_revision, is_current
from seamline.store.tables import locations, metadata


def test_migrated_schema_matches_the_declared_tables(database_url: str) -> None:
    engine = make_null_pool_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        assert diff == []
        assert is_current(engine)
        assert head_revision() is not None
    finally:
        engine.dispose()


def test_virtual_locations_exist_from_the_first_migration(database_url: str) -> None:
    engine = make_null_pool_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(locations.c.code, locations.c.kind).where(locations.c.virtual)).all()
        assert dict(rows) == {code: code for code in VIRTUAL_LOCATIONS}
    finally:
        engine.dispose()
