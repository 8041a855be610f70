"""Settings from the environment: the database pool a process may open is configurable and checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.pool import QueuePool

from seamline.domain.errors import InvalidInput
from seamline.service.settings import Settings
from seamline.store.db import make_engine


def test_pool_size_and_overflow_come_from_the_environment() -> None:
    settings = Settings.from_env({"SEAMLINE_DB_POOL_SIZE": "4", "SEAMLINE_DB_MAX_OVERFLOW": "0"})
    assert (settings.db_pool_size, settings.db_max_overflow) == (4, 0)
    assert (Settings.from_env({}).db_pool_size, Settings.from_env({}).db_max_overflow) == (10, 20)


@pytest.mark.parametrize(
    ("name", "value"),
    [("SEAMLINE_DB_POOL_SIZE", "0"), ("SEAMLINE_DB_POOL_SIZE", "ten"), ("SEAMLINE_DB_MAX_OVERFLOW", "-1")],
)
def test_a_pool_setting_out_of_range_is_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(InvalidInput, match=name):
        Settings.from_env({name: value})


def test_the_engine_opens_at_most_pool_plus_overflow_connections(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}", pool_size=4, max_overflow=1)
    try:
        assert isinstance(engine.pool, QueuePool)
        assert (engine.pool.size(), engine.pool._max_overflow) == (4, 1)
    finally:
        engine.dispose()
