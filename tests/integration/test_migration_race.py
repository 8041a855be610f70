"""Several processes starting together on an empty database each migrate it; all of them must succeed and
leave one current schema (before the migration lock, the losers died on ``alembic_version``'s unique key)."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from seamline.store.db import make_null_pool_engine
from seamline.store.migrate import is_current, upgrade
from tests.scratch_databases import drop_in_background, scratch_name

PROCESSES = 4


def _migrate(url: str, barrier: Any, results: Any) -> None:
    engine = make_null_pool_engine(url)
    try:
        barrier.wait()
        upgrade(engine)
        results.put("ok")
    except Exception as exc:  # noqa: BLE001 - the parent asserts on what each process met
        results.put(f"{type(exc).__name__}: {exc}")
    finally:
        engine.dispose()


def _race(url: str) -> list[str]:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(PROCESSES, timeout=120), ctx.Queue()
    workers = [ctx.Process(target=_migrate, args=(url, barrier, results)) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=240) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    return outcomes


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    base = os.environ.get("SEAMLINE_TEST_POSTGRES_URL")
    if not base:
        if os.environ.get("SEAMLINE_REQUIRE_SERVICES") == "1":
            pytest.fail("PostgreSQL is required (SEAMLINE_REQUIRE_SERVICES=1)")
        pytest.skip("PostgreSQL not available")
    base = base.replace("postgresql://", "postgresql+psycopg://", 1) if base.startswith("postgresql://") else base
    name = scratch_name("migrate_race")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    admin.dispose()
    drop_in_background(base, [name])


@pytest.mark.postgres
def test_processes_migrating_an_empty_postgres_database_together_all_succeed(empty_postgres_url: str) -> None:
    assert _race(empty_postgres_url) == ["ok"] * PROCESSES
    engine = make_null_pool_engine(empty_postgres_url)
    try:
        assert is_current(engine)
    finally:
        engine.dispose()


def test_processes_migrating_an_empty_sqlite_file_together_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert _race(url) == ["ok"] * PROCESSES
    engine = make_null_pool_engine(url)
    try:
        assert is_current(engine)
    finally:
        engine.dispose()
