"""The periodic catch-up of cost journals (issue 17, ``service.cost_catchup``) on both databases: a cost
posting that failed in its movement's transaction is booked later without a person, once, and reconcile's
inventory leg is clean again; an entry booked with a wrong amount is left for a person."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from seamline.finance.events import InventoryValued
from seamline.integration import Integration, IntegrationSettings
from seamline.service import Seamline
from seamline.service.cost_catchup import COST_CATCHUP_POSTED, CostCatchUp
from seamline.service.costing import COST_POSTING_FAILURES, CostPoster
from seamline.service.unit_of_work import UnitOfWork
from seamline.store.tables import finance_documents, journal_entries, journal_lines
from tests.integration.order_world import seed_channels
from tests.integration.test_cost_of_goods import GOODS_RECEIVED, INVENTORY, cost_journals, inventory_leg, receive_at


def fail_cost_postings(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self: CostPoster, uow: UnitOfWork, events: Sequence[InventoryValued]) -> None:
        raise RuntimeError("the journal is away")

    monkeypatch.setattr(CostPoster, "_book_values", boom)


def test_a_failed_cost_posting_is_booked_by_the_catch_up_once(
    client: TestClient, app: Seamline, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_channels(client)
    failures = COST_POSTING_FAILURES._value.get()
    with monkeypatch.context() as patched:
        fail_cost_postings(patched)
        moved = receive_at(client, 6, "10.00")  # the receipt stands; its journal failed
    assert COST_POSTING_FAILURES._value.get() == failures + 1
    assert moved["cost_value"] == "60.0000"
    leg = inventory_leg(app)
    assert not leg["clean"]
    assert [(p["movements"], p["journal"]) for p in leg["posting_differences"]] == [("60.00", "0.00")]
    booked = COST_CATCHUP_POSTED._value.get()
    catchup = CostCatchUp(app, every=600)
    assert catchup.run_once() == 1
    assert COST_CATCHUP_POSTED._value.get() == booked + 1
    leg = inventory_leg(app)
    assert leg["clean"], leg
    assert leg["account_balance"] == "60.00"
    [journal] = [v for k, v in cost_journals(app).items() if k.startswith("cost:receipt:")]
    assert journal == {INVENTORY: Decimal("60.00"), GOODS_RECEIVED: Decimal("-60.00")}
    assert catchup.run_once() == 0  # booked once


def test_the_catch_up_works_off_a_backlog_in_batches(
    client: TestClient, app: Seamline, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_channels(client)
    with monkeypatch.context() as patched:
        fail_cost_postings(patched)
        for _ in range(5):
            receive_at(client, 1, "4.00")
    assert len(inventory_leg(app)["posting_differences"]) == 5
    assert CostCatchUp(app, every=600).run_once(batch=2) == 5
    assert inventory_leg(app)["clean"]


def test_an_entry_with_a_wrong_amount_is_left_for_a_person(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    receive_at(client, 2, "10.00")
    with app.engine.begin() as conn:
        entry = conn.execute(
            select(journal_entries.c.id)
            .join(finance_documents, finance_documents.c.id == journal_entries.c.document_id)
            .where(finance_documents.c.source_key.like("cost:receipt:%"))
        ).scalar_one()
        conn.execute(
            update(journal_lines)
            .where(journal_lines.c.entry_id == entry, journal_lines.c.account == INVENTORY)
            .values(debit=Decimal("1.00"))
        )
    assert CostCatchUp(app, every=600).run_once() == 0
    [difference] = inventory_leg(app)["posting_differences"]
    assert (difference["movements"], difference["journal"]) == ("20.00", "1.00")


class _Booked(CostCatchUp):
    """The catch-up, telling the test when a turn booked something (no sleeping on the clock)."""

    def __init__(self, app: Seamline, every: float) -> None:
        super().__init__(app, every)
        self.booked = threading.Event()

    def run_once(self, *, batch: int = 200) -> int:
        posted = super().run_once(batch=batch)
        if posted:
            self.booked.set()
        return posted


def test_the_running_job_books_a_failed_posting_without_a_person(
    client: TestClient, app: Seamline, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_channels(client)
    with monkeypatch.context() as patched:
        fail_cost_postings(patched)
        receive_at(client, 3, "5.00")
    job = _Booked(app, every=0.05)
    job.start()
    try:
        assert job.booked.wait(30), "the catch-up never booked the missing journal"
    finally:
        job.stop()
    assert inventory_leg(app)["clean"]


def test_the_integration_runtime_runs_the_catch_up_and_0_turns_it_off(integration: Integration) -> None:
    integration.start()
    try:
        assert integration.cost_catchup.running
    finally:
        integration.stop()
    assert not integration.cost_catchup.running
    off = IntegrationSettings.from_env({"SEAMLINE_COST_CATCHUP_SECONDS": "0"})
    assert off.cost_catchup_seconds == 0
    assert IntegrationSettings.from_env({}).cost_catchup_seconds == 600
    job = CostCatchUp(integration.app, off.cost_catchup_seconds)
    job.start()
    assert not job.running
