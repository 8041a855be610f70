"""Reconcile compares inside the database and reads one snapshot: it finds exactly what the row-by-row
comparison finds, sends only the differences, and lets the tills keep selling while it runs."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, delete, insert, update

from seamline.ledger.reconcile import compare_balances
from seamline.service import Seamline
from seamline.store import ledger_repo
from seamline.store.tables import balances
from tests.conftest import receive, seed_world


def expected_by_rows(conn: Connection) -> list[tuple[str, str, str, int, int]]:
    """The reference: every table loaded into memory and compared in Python."""
    found = compare_balances(
        ledger_repo.stored_balances(conn),
        ledger_repo.movement_sides(conn),
        ledger_repo.live_hold_totals(conn),
        ledger_repo.open_allocation_totals(conn),
    )
    return [(d.sku, d.location, d.field, d.stored, d.expected) for d in found]


def test_the_database_finds_the_same_differences_as_the_row_by_row_comparison(
    app: Seamline, client: TestClient
) -> None:
    seed_world(client)
    for sku, qty in (("OVS-001-NVY-S", 10), ("OVS-001-NVY-M", 6), ("OVS-001-OLV-L", 4)):
        receive(client, sku, qty)
    hold = client.post("/v1/holds", json={"channel": "web", "lines": [{"sku": "OVS-001-NVY-M", "qty": 2}]})
    assert hold.status_code == 201, hold.text
    assert app.reconcile().clean

    with app.engine.begin() as conn:
        key = (balances.c.sku == "OVS-001-NVY-S") & (balances.c.location == "WH")
        conn.execute(update(balances).where(key).values(on_hand=balances.c.on_hand + 3))
        held = (balances.c.sku == "OVS-001-NVY-M") & (balances.c.location == "WH")
        conn.execute(update(balances).where(held).values(reserved=0, committed=1))
        conn.execute(
            insert(balances).values(sku="OVS-001-OLV-S", location="STORE-2", on_hand=2, committed=0, reserved=0)
        )
        conn.execute(delete(balances).where((balances.c.sku == "OVS-001-OLV-L") & (balances.c.location == "WH")))

    with app.engine.connect() as conn:
        by_database = sorted(ledger_repo.balance_differences(conn))
        assert by_database == sorted(expected_by_rows(conn))
    assert {(sku, location, name) for sku, location, name, _, _ in by_database} == {
        ("OVS-001-NVY-S", "WH", "on_hand"),
        ("OVS-001-NVY-M", "WH", "reserved"),
        ("OVS-001-NVY-M", "WH", "committed"),
        ("OVS-001-OLV-S", "STORE-2", "on_hand"),
        ("OVS-001-OLV-L", "WH", "on_hand"),
    }
    report = app.reconcile()
    assert not report.clean
    assert len(report.differences) == 5


def test_a_receipt_commits_while_reconcile_runs_and_reconcile_reads_one_snapshot(
    app: Seamline, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_world(client)
    receive(client, "OVS-001-NVY-S", 5)
    reached, release = threading.Event(), threading.Event()
    counts: list[int] = []
    real_count = ledger_repo.balance_row_count

    def count_then_wait(conn: Connection) -> int:
        counts.append(real_count(conn))
        reached.set()
        assert release.wait(timeout=60)
        counts.append(real_count(conn))  # the same transaction, after a receipt committed elsewhere
        return counts[0]

    monkeypatch.setattr(ledger_repo, "balance_row_count", count_then_wait)
    reports: list[Any] = []
    reconciling = threading.Thread(target=lambda: reports.append(app.reconcile()))
    reconciling.start()
    assert reached.wait(timeout=60)

    receipt = threading.Thread(target=receive, args=(client, "OVS-001-OLV-M", 7, "STORE-1"))
    receipt.start()
    receipt.join(timeout=20)
    finished_while_reconciling = not receipt.is_alive()
    release.set()
    receipt.join(timeout=60)
    reconciling.join(timeout=60)

    assert finished_while_reconciling, "the receipt waited for reconcile"
    with app.engine.connect() as conn:
        now = real_count(conn)
    assert now > counts[0]  # the receipt made new balance rows ...
    assert counts[1] == counts[0]  # ... that reconcile's snapshot does not see
    assert reports[0].clean
