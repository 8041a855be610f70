"""Bringing a database to the current schema, programmatically (``seamline migrate`` and ``serve`` use it)."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


#: Any fixed 64-bit key: every Seamline process migrating one PostgreSQL database queues on it.
MIGRATION_LOCK_KEY = 0x5EA4_11E0_0001


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate under a database-wide lock, so processes that start together on an empty database migrate one
    after another (the later ones find the schema current) instead of racing on ``alembic_version``.

    PostgreSQL: a transaction-scoped advisory lock, taken before alembic reads the version (READ COMMITTED
    gives the next statement a fresh snapshot, so a waiter sees the winner's commit). SQLite: the migration's
    transaction begins IMMEDIATE, taking the single write lock before the version is read.
    """
    config = alembic_config()
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            config.attributes["connection"] = conn
            command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@functools.cache
def head_revision() -> str | None:
    """The newest revision of the migrations this package ships: they cannot change under a running process,
    and reading them (alembic compiles every file) cost ~50 ms per ``bootstrap``."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
