"""The balance read every hold, order and batch makes (``ledger_repo.lock_available``): the available units of
the keys asked, and on SQLite an index probe per key, never a scan of every balance row."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from seamline.service import Seamline
from seamline.store import ledger_repo
from seamline.store.tables import balances
from tests.conftest import receive, seed_world


def test_lock_available_answers_the_available_units_of_each_key_that_has_a_balance_row(
    app: Seamline, client: TestClient
) -> None:
    seed_world(client)
    receive(client, "OVS-001-NVY-S", 7)
    receive(client, "OVS-001-NVY-M", 2, to="STORE-1")
    with app.engine.begin() as conn:
        key = (balances.c.sku == "OVS-001-NVY-S") & (balances.c.location == "WH")
        conn.execute(update(balances).where(key).values(reserved=2, committed=1))
    asked = [("OVS-001-NVY-S", "WH"), ("OVS-001-NVY-M", "STORE-1"), ("OVS-001-NVY-M", "WH"), ("NOPE", "WH")]
    with app.engine.begin() as conn:
        found = ledger_repo.lock_available(conn, [*asked, asked[0]])
    assert found == {("OVS-001-NVY-S", "WH"): 4, ("OVS-001-NVY-M", "STORE-1"): 2}


def test_on_sqlite_the_balance_read_probes_the_primary_key_instead_of_scanning_every_row(app: Seamline) -> None:
    if app.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL locks the rows by primary key (``_LOCK_AVAILABLE_PG``)")
    with app.engine.connect() as conn:
        plan = [
            str(row[-1])
            for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + ledger_repo._READ_AVAILABLE_SQLITE, ("[]",))
        ]
    assert any(step.startswith("SEARCH b USING INDEX") for step in plan), plan
    assert not any(step.startswith("SCAN b") for step in plan), plan
