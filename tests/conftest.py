"""Test wiring. Integration tests run on both databases: SQLite (a file per test, copied from a migrated
template) and PostgreSQL (one database per test session, emptied between tests).

PostgreSQL comes from SEAMLINE_TEST_POSTGRES_URL. Without it the PostgreSQL half is skipped, unless
SEAMLINE_REQUIRE_SERVICES=1, under which a missing service fails the run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url

from seamline.api import create_app
from seamline.domain.clock import FixedClock
from seamline.service import Seamline, Settings, bootstrap
from seamline.store.db import make_null_pool_engine
from seamline.store.migrate import upgrade
from seamline.store.tables import metadata
from tests.scratch_databases import drop_in_background, scratch_name, stale_databases

# Property tests check properties, not speed: no per-example deadline and no "too slow" health check, which
# fail on a machine busy with other work (a wall-clock assertion in all but name). Tests that want fewer or
# more examples still say so with their own @settings.
settings.register_profile("seamline", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("seamline")

ADMIN_TOKEN = "test-admin-token-0123456789abcdef0123456789"
START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # Black Friday, 08:00 UTC
REQUIRE_SERVICES = os.environ.get("SEAMLINE_REQUIRE_SERVICES") == "1"


def _service_missing(what: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (SEAMLINE_REQUIRE_SERVICES=1) but unavailable")
    pytest.skip(f"{what} not available")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_null_pool_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A fresh, migrated database for this test session, dropped at the end."""
    base = os.environ.get("SEAMLINE_TEST_POSTGRES_URL")
    if not base:
        _service_missing("PostgreSQL (SEAMLINE_TEST_POSTGRES_URL)")
    assert base is not None
    base = base.replace("postgresql://", "postgresql+psycopg://", 1) if base.startswith("postgresql://") else base
    name = scratch_name("session")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            stale = stale_databases(conn)
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server means the service is missing
        admin.dispose()
        _service_missing(f"PostgreSQL at {make_url(base).render_as_string(hide_password=True)} ({exc})")
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    engine = make_null_pool_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    emptier = _EMPTIERS.pop(url, None)
    if emptier is not None:
        emptier.dispose()
    admin.dispose()
    drop_in_background(base, [name, *stale])


#: The statements that empty a test database (per database URL), built once from the catalog.
_EMPTYING: dict[str, str] = {}
#: One engine per test database for emptying it, kept for the session: a new connection per test cost a
#: server process started and torn down for each test.
_EMPTIERS: dict[str, Engine] = {}


def _emptying_script(conn: Connection) -> str:
    """DELETE from every table, dependents first, keeping the virtual locations the first migration made,
    then restart the other tables' sequences: what ``TRUNCATE ... RESTART IDENTITY`` did, at a tenth of its
    cost on tables a test leaves nearly empty (TRUNCATE makes and syncs new files for every table and its
    indexes, a second and more per test on a busy machine). A sequence restarts by ``setval(..., start,
    false)``, the next value being its start as after ``ALTER SEQUENCE ... RESTART``, which instead gives the
    sequence a new file each time (half the script's cost)."""
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    deletes = [
        "DELETE FROM locations WHERE NOT virtual" if name == "locations" else f'DELETE FROM "{name}"' for name in tables
    ]
    owned = conn.execute(
        text(
            "SELECT DISTINCT s.relname, q.seqstart FROM pg_class s "
            "JOIN pg_sequence q ON q.seqrelid = s.oid "
            "JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass "
            "JOIN pg_class t ON d.refobjid = t.oid "
            "WHERE s.relkind = 'S' AND t.relname = ANY(:tables) ORDER BY 1"
        ),
        {"tables": [name for name in tables if name != "locations"]},
    ).all()
    restarts = ", ".join(f"setval('\"{name}\"', {start}, false)" for name, start in owned)
    return ";\n".join([*deletes, f"SELECT {restarts}"] if owned else deletes)


def _empty_postgres(url: str) -> None:
    engine = _EMPTIERS.get(url)
    if engine is None:
        engine = _EMPTIERS[url] = create_engine(url, pool_size=1, max_overflow=0, pool_pre_ping=True)
    with engine.begin() as conn:
        script = _EMPTYING.get(url)
        if script is None:
            script = _EMPTYING[url] = _emptying_script(conn)
        conn.exec_driver_sql(script)


#: Runs a test on SQLite only: for HTTP behaviour no database can change (how a body is parsed, what the
#: OpenAPI document says, how an unknown route is answered), and for a request the pure core refuses before
#: anything is written, whose rule a unit test covers where it lives (name it in a comment). Its
#: PostgreSQL copy only doubled its time. A test of what the database reads, writes or locks keeps both.
ONE_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "seamline.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_server_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def app_settings(tmp_path: Path) -> dict[str, Any]:
    """Settings beyond the database and token: 3PL drop folders lie under the test's own tmp_path (the drop
    root); a test module that reaches a loopback server overrides this to list it in ``outbound_allow``."""
    return {"drop_root": str(tmp_path)}


@pytest.fixture
def app(database_url: str, clock: FixedClock, app_settings: dict[str, Any]) -> Iterator[Seamline]:
    svc = bootstrap(
        Settings(database_url=database_url, admin_token=ADMIN_TOKEN, **app_settings),
        clock=clock,
        migrate=False,
        pool_size=20,
    )
    yield svc
    svc.engine.dispose()


@pytest.fixture
def client(app: Seamline) -> Iterator[TestClient]:
    with TestClient(create_app(app), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as c:
        yield c


# ---------------------------------------------------------------------- a small apparel world
OVERSHIRT: dict[str, Any] = {
    "name": "Navy overshirt",
    "season": "SS27",
    "category": "shirts",
    "size_scale": ["S", "M", "L", "XL"],
    "colours": [{"code": "NVY", "name": "Navy"}, {"code": "OLV", "name": "Olive"}],
    "variants": [
        {"sku": f"OVS-001-{c}-{s}", "colour": c, "size": s, "gtin": gtin}
        for (c, s), gtin in zip(
            [(c, s) for c in ("NVY", "OLV") for s in ("S", "M", "L", "XL")],
            # Valid EAN-13s (check digit computed by GS1's mod-10 rule).
            [
                "4006381333931",
                "5012345678900",
                "4000000000006",
                "4000000000013",
                "4000000000020",
                "4000000000037",
                "4000000000044",
                "4000000000051",
            ],
            strict=True,
        )
    ],
    "prepacks": [
        {
            "sku": "OVS-001-NVY-PACK",
            "gtin": "4000000000068",
            "components": [
                {"sku": "OVS-001-NVY-S", "units": 1},
                {"sku": "OVS-001-NVY-M", "units": 2},
                {"sku": "OVS-001-NVY-L", "units": 2},
                {"sku": "OVS-001-NVY-XL", "units": 1},
            ],
        }
    ],
    "prices": [
        {"list": "retail", "currency": "EUR", "amount": "89.00"},
        {"list": "wholesale", "currency": "EUR", "amount": "38.00"},
    ],
}


def seed_world(client: TestClient) -> None:
    """A warehouse, two stores, the overshirt style and a web channel sourcing the warehouse then STORE-1."""
    for code, name, kind in (
        ("WH", "Central warehouse", "warehouse"),
        ("STORE-1", "Soho", "store"),
        ("STORE-2", "Shoreditch", "store"),
    ):
        assert client.put(f"/v1/locations/{code}", json={"name": name, "kind": kind}).status_code in (200, 201)
    assert client.put("/v1/styles/OVS-001", json=OVERSHIRT).status_code in (200, 201)
    response = client.put("/v1/channels/web", json={"kind": "shopify", "sources": ["WH", "STORE-1"]})
    assert response.status_code in (200, 201), response.text


def receive(client: TestClient, sku: str, qty: int, to: str = "WH") -> dict[str, Any]:
    response = client.post("/v1/movements", json={"kind": "receipt", "sku": sku, "qty": qty, "to": to})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
