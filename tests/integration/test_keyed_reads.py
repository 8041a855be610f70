"""Reads by a two-column key on a hot path: the balance read every hold, order and batch makes
(``ledger_repo.lock_available``) and a batch's stored idempotent responses (``idempotency_repo.find_many``)
answer the keys asked, and on SQLite probe the primary key per key, never scan the table (SQLite plans a
row-value IN list as a scan)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, update

from seamline.service import Seamline
from seamline.store import idempotency_repo, ledger_repo
from seamline.store.tables import balances, idempotency_records
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


def test_find_many_answers_the_stored_responses_of_the_pairs_asked_only(app: Seamline, clock: Any) -> None:
    stored = [("tok_a", "k1"), ("tok_a", "k2"), ("tok_b", "k1")]
    with app.engine.begin() as conn:
        conn.execute(
            insert(idempotency_records),
            [
                {
                    "principal": p,
                    "key": k,
                    "request_hash": "h",
                    "status_code": 201,
                    "response": {"k": k},
                    "created_at": clock.now(),
                }
                for p, k in stored
            ],
        )
    with app.engine.connect() as conn:
        found = idempotency_repo.find_many(conn, [("tok_a", "k1"), ("tok_b", "k2"), ("tok_c", "k1")])
    assert list(found) == [("tok_a", "k1")]  # tok_b's k2 and tok_c's k1 cross the lists but were not asked
    assert found[("tok_a", "k1")]["response"] == {"k": "k1"}


def test_on_sqlite_find_many_probes_the_primary_key_instead_of_scanning_every_record(app: Seamline) -> None:
    if app.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL plans the row-value IN list on the primary key")
    statement = idempotency_repo._find_many([("tok_a", "k1"), ("tok_b", "k2")])
    compiled = statement.compile(app.engine, compile_kwargs={"render_postcompile": True})
    with app.engine.connect() as conn:
        params = tuple(compiled.params[name] for name in compiled.positiontup or [])
        plan = [str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params)]
    assert any(step.startswith("SEARCH idempotency_records USING INDEX") for step in plan), plan
    assert not any(step.startswith("SCAN idempotency_records") for step in plan), plan
