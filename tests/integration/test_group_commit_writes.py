"""Group commit for sales and orders: each request runs in its own savepoint of one shared transaction and
gets its own answer; the batch commits once (issue 9)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import select

from seamline.domain.errors import Conflict
from seamline.ledger.events import BalancesChanged
from seamline.service import Seamline
from seamline.service.group_commit import GroupCommit, GroupCommitSettings
from seamline.service.handlers import MessageBus
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import ledger_repo
from seamline.store.tables import outbox_events
from tests.conftest import receive
from tests.integration.order_world import SKU, sale_body, seed_channels, stock

OTHER = "OVS-001-OLV-M"


@pytest.fixture
def wide_window(app: Seamline, client: TestClient) -> Iterator[GroupCommit]:
    """A group commit with a wide window, so requests started together share a batch."""
    seed_channels(client)
    previous = app.group_commit
    found = GroupCommit(app.engine, app.bus, GroupCommitSettings(window_seconds=0.3, max_batch=64))
    found.start()
    app.group_commit = found
    yield found
    app.group_commit = previous
    found.stop()


def batches() -> tuple[float, float]:
    count = REGISTRY.get_sample_value("seamline_write_batch_size_count") or 0.0
    total = REGISTRY.get_sample_value("seamline_write_batch_size_sum") or 0.0
    return count, total


def post_together(client: TestClient, requests: list[tuple[dict[str, Any], dict[str, str]]]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(requests))

    def go(request: tuple[dict[str, Any], dict[str, str]]) -> httpx.Response:
        body, headers = request
        barrier.wait()
        return client.post("/v1/sales", json=body, headers=headers)

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(go, requests))


def test_racing_sales_share_commits_and_each_gets_its_own_answer(
    app: Seamline, client: TestClient, wide_window: GroupCommit
) -> None:
    receive(client, SKU, 5, to="STORE-1")
    receive(client, OTHER, 10, to="STORE-1")
    before_batches = batches()
    requests: list[tuple[dict[str, Any], dict[str, str]]] = []
    # Ten sales of five units: exactly five sell, five are short (409), whatever the order in the batch.
    requests += [(sale_body(external_id=f"R-{i}"), {}) for i in range(10)]
    # One receipt sent four times with one Idempotency-Key: one sale.
    duplicate = sale_body(
        external_id="DUP",
        lines=[{"sku": OTHER, "qty": 1, "unit_price": "89.00"}],
        tenders=[{"type": "card", "amount": "89.00"}],
    )
    requests += [(duplicate, {"Idempotency-Key": "till-7-receipt-DUP"}) for _ in range(4)]
    # Malformed: an unknown SKU, and tenders that do not add up.
    requests += [
        (sale_body(external_id=f"BAD-SKU-{i}", lines=[{"sku": "NOPE", "qty": 1, "unit_price": "1.00"}]), {})
        for i in range(3)
    ]
    requests += [
        (sale_body(external_id=f"BAD-TENDER-{i}", tenders=[{"type": "card", "amount": "1.00"}]), {}) for i in range(3)
    ]
    responses = post_together(client, requests)

    plain = Counter(r.status_code for r in responses[:10])
    assert plain == {201: 5, 409: 5}, [r.text for r in responses[:10]]
    for short in (r for r in responses[:10] if r.status_code == 409):
        assert short.json()["type"].endswith("/insufficient-stock")
    dup = responses[10:14]
    assert {r.status_code for r in dup} == {201}
    assert len({r.json()["id"] for r in dup}) == 1, "one sale for one receipt"
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in dup) == 3
    assert all(r.status_code == 422 for r in responses[14:]), [r.text for r in responses[14:]]

    assert stock(client, SKU, "STORE-1") == (0, 0, 0, 0)
    assert stock(client, OTHER, "STORE-1")[0] == 9
    sold = {r.json()["external_id"] for r in responses if r.status_code == 201}
    assert len(sold) == 6  # five R-*, one DUP
    orders = client.get("/v1/orders", params={"channel": "pos:STORE-1"}).json()["items"]
    assert sorted(o["external_id"] for o in orders) == sorted(sold), "nothing of a refused request was written"
    count, total = batches()
    assert count - before_batches[0] < len(requests), "requests shared batches"
    assert total - before_batches[1] == len(requests)
    assert app.reconcile().clean


def test_a_sale_refused_inside_a_batch_leaves_no_event_behind(
    app: Seamline, client: TestClient, wide_window: GroupCommit
) -> None:
    """Before-commit hooks run once per batch: what a refused request noted for them (its balance rows, its
    documents) is dropped with its savepoint, so no event speaks of a sale that did not happen."""
    receive(client, SKU, 1, to="STORE-1")
    short = sale_body(
        external_id="SHORT",
        lines=[{"sku": SKU, "qty": 1, "unit_price": "89.00"}, {"sku": OTHER, "qty": 1, "unit_price": "89.00"}],
        tenders=[{"type": "card", "amount": "178.00"}],
    )
    responses = post_together(client, [(sale_body(external_id="OK"), {}), (short, {})])
    assert sorted(r.status_code for r in responses) == [201, 409]
    sale_id = next(r.json()["id"] for r in responses if r.status_code == 201)
    with app.engine.connect() as conn:
        payloads = [json.dumps(p) for p in conn.execute(select(outbox_events.c.payload)).scalars()]
    assert any(sale_id in p for p in payloads), "the sale that happened has its events"
    assert not any("SHORT" in p for p in payloads)
    assert app.reconcile().clean


def test_events_of_a_request_rolled_back_to_its_savepoint_never_reach_the_handlers(app: Seamline) -> None:
    """A request that raised BalancesChanged and then failed: the handlers of the batch's one commit see only
    the events its neighbours raised."""
    seen: list[set[tuple[str, str]]] = []

    def record(_deps: Any, _uow: UnitOfWork, events: Sequence[BalancesChanged]) -> None:
        seen.append({row for e in events for row in e.rows})

    committer = GroupCommit(
        app.engine,
        MessageBus(handlers={BalancesChanged: [record]}),
        GroupCommitSettings(window_seconds=0.3, max_batch=3),
    )
    committer.start()
    barrier = threading.Barrier(3)

    def touching(sku: str, fail: bool) -> str:
        def work(uow: UnitOfWork) -> str:
            ledger_repo.touch(uow, sku, "WH")
            if fail:
                raise Conflict(f"{sku} refused after noting its row")
            return sku

        barrier.wait()
        try:
            return committer.submit(work)
        except Conflict as exc:
            return exc.detail

    try:
        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(lambda a: touching(*a), [("A", False), ("B", True), ("C", False)]))
    finally:
        committer.stop()
    assert sorted(answers) == ["A", "B refused after noting its row", "C"]
    assert seen == [{("A", "WH"), ("C", "WH")}], "one commit, without B's events"
