"""Writers take balance rows in one global order (issue 16). Two group commits (as two API processes run)
whose requests want the same rows in opposite orders used to deadlock on PostgreSQL, each deadlock costing
a second of ``deadlock_timeout`` and a retried batch; declared rows are now locked first, in order."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import update

from seamline.service import Seamline
from seamline.service.group_commit import GroupCommit, GroupCommitSettings
from seamline.service.handlers import MessageBus
from seamline.service.lock_keys import sale_rows
from seamline.service.unit_of_work import UnitOfWork
from seamline.store.db import make_engine
from seamline.store.tables import balances
from tests.conftest import receive, seed_world

A, B = ("OVS-001-NVY-M", "STORE-1"), ("OVS-001-NVY-L", "STORE-1")


def retried(reason: str) -> float:
    return REGISTRY.get_sample_value("seamline_transaction_retries_total", {"reason": reason}) or 0.0


@pytest.fixture
def two_processes(app: Seamline, database_url: str) -> Iterator[list[GroupCommit]]:
    other = make_engine(database_url, pool_size=4)
    commits = [
        GroupCommit(engine, MessageBus(), GroupCommitSettings(window_seconds=0.5, max_batch=2))
        for engine in (app.engine, other)
    ]
    for commit in commits:
        commit.start()
    yield commits
    for commit in commits:
        commit.stop()
    other.dispose()


def take_one(row: tuple[str, str], meet: threading.Barrier | None = None) -> Callable[[UnitOfWork], None]:
    """A write that takes one unit off ``row`` and, when ``meet`` is given, then waits (briefly) for the
    other batch's first write: without a lock order, each batch now holds the row the other wants next."""

    def work(uow: UnitOfWork) -> None:
        key = (balances.c.sku == row[0]) & (balances.c.location == row[1])
        uow.conn.execute(update(balances).where(key).values(on_hand=balances.c.on_hand - 1))
        if meet is not None:
            # Broken when the other batch waits for our locks: nothing to meet, go on.
            with contextlib.suppress(threading.BrokenBarrierError):
                meet.wait(timeout=2)

    return work


def race(commits: list[GroupCommit], declare: bool) -> None:
    meet = threading.Barrier(2)
    declared = sale_rows("STORE-1", [A[0], B[0]]) if declare else None
    plans = [(commits[0], [take_one(A, meet), take_one(B)]), (commits[1], [take_one(B, meet), take_one(A)])]
    with ThreadPoolExecutor(4) as pool:
        futures = []
        for commit, works in plans:  # both requests of a plan reach its window together: one batch
            for work in works:
                futures.append(pool.submit(commit.submit, work, declared))
        for future in futures:
            future.result(timeout=60)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_batches_that_declare_their_rows_never_deadlock(
    app: Seamline, client: TestClient, two_processes: list[GroupCommit]
) -> None:
    seed_world(client)
    receive(client, A[0], 10, A[1])
    receive(client, B[0], 10, B[1])
    before = retried("deadlock")
    race(two_processes, declare=True)
    assert retried("deadlock") == before
    items = client.get("/v1/stock?location=STORE-1").json()["items"]
    stock = {(r["sku"], r["location"]): r["on_hand"] for r in items}
    assert (stock[A], stock[B]) == (8, 8)  # every write happened once


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_without_declared_rows_the_same_batches_deadlock(
    app: Seamline, client: TestClient, two_processes: list[GroupCommit]
) -> None:
    """The control: the race above does deadlock when the rows are not declared (so the test can fail)."""
    seed_world(client)
    receive(client, A[0], 10, A[1])
    receive(client, B[0], 10, B[1])
    before = retried("deadlock")
    race(two_processes, declare=False)
    assert retried("deadlock") > before
