"""Several processes of one installation on one database: a periodic job runs once per period whoever has
it, and a rate limit holds for all of them together. Each "process" here is its own engine (its own
connections), raced from real threads."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from seamline.channels.amazon.client import AmazonClient, AmazonConfig
from seamline.channels.shopify.client import ShopifyClient, ShopifyConfig
from seamline.channels.wiring import ChannelConfig, ConnectorWiring, PeriodicJob, Wired, WiringContext
from seamline.domain.clock import FixedClock
from seamline.integration import Integration
from seamline.integration.shared_limits import SharedTokenBucket
from seamline.sandbox.amazon import AmazonSandbox
from seamline.sandbox.amazon import SandboxConfig as AmazonSandboxConfig
from seamline.sandbox.shopify import SandboxConfig as ShopifySandboxConfig
from seamline.sandbox.shopify import ShopifySandbox
from seamline.service import Seamline
from seamline.service.coordination import Lease
from seamline.store import coordination_repo
from seamline.store.db import make_engine, run_transaction
from tests.conftest import START, seed_world

T = TypeVar("T")
PROCESSES, THREADS = 3, 4


@pytest.fixture
def engines(database_url: str) -> Iterator[list[Engine]]:
    made = [make_engine(database_url, pool_size=THREADS) for _ in range(PROCESSES)]
    yield made
    for engine in made:
        engine.dispose()


def race(engines: list[Engine], attempt: Callable[[Engine, int], T]) -> list[T]:
    """Every thread of every engine calls ``attempt`` once, released together."""
    barrier = threading.Barrier(len(engines) * THREADS)
    answers: list[T] = []
    lock = threading.Lock()

    def run(engine: Engine, number: int) -> None:
        barrier.wait()
        answer = attempt(engine, number)
        with lock:
            answers.append(answer)

    threads = [
        threading.Thread(target=run, args=(engine, p * THREADS + t))
        for p, engine in enumerate(engines)
        for t in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == len(threads)
    return answers


def claim(engine: Engine, owner: str, at: timedelta) -> bool:
    return run_transaction(
        engine,
        lambda conn: coordination_repo.claim_period(
            conn, "job:pull", now=START + at, every=timedelta(seconds=60), owner=owner
        ),
    )


def test_of_processes_claiming_a_period_together_exactly_one_runs_it(engines: list[Engine]) -> None:
    first = race(engines, lambda engine, n: claim(engine, f"p{n}", timedelta(0)))
    assert first.count(True) == 1
    # Within the period nobody else claims it; when it is over, exactly one does again.
    assert race(engines, lambda engine, n: claim(engine, f"p{n}", timedelta(seconds=59))).count(True) == 0
    assert race(engines, lambda engine, n: claim(engine, f"p{n}", timedelta(seconds=60))).count(True) == 1


def test_a_dead_owners_job_is_claimed_by_another_process_next_period(engines: list[Engine]) -> None:
    assert claim(engines[0], "dead-process", timedelta(0))
    assert not claim(engines[1], "survivor", timedelta(seconds=30))
    assert claim(engines[1], "survivor", timedelta(seconds=60))
    owner, claimed_at = run_transaction(engines[2], lambda conn: coordination_repo.period_owner(conn, "job:pull"))
    assert (owner, claimed_at) == ("survivor", START + timedelta(seconds=60))


def test_a_shared_bucket_grants_its_burst_once_across_processes_then_its_rate(engines: list[Engine]) -> None:
    clock = [1_000_000.0]
    buckets = [
        SharedTokenBucket(engine, "amazon:seller-1", rate=5, burst=8, now=lambda: clock[0]) for engine in engines
    ]
    granted = race(engines, lambda engine, n: sum(buckets[n // THREADS].take(1) for _ in range(3)))
    assert sum(granted) == 8  # 36 asks at one instant: the burst, not 3 processes x 8
    assert buckets[0].wait_time() == pytest.approx(0.2)
    clock[0] += 1.0
    assert sum(race(engines, lambda engine, n: buckets[n // THREADS].take(1))) == 5
    buckets[1].pause(30)  # a platform's Retry-After seen by one process stops them all
    clock[0] += 10
    assert buckets[2].take(1) == 0
    assert buckets[0].wait_time() == pytest.approx(20)


def test_of_processes_asking_for_a_lease_together_exactly_one_holds_it(engines: list[Engine]) -> None:
    clock = FixedClock(START)
    leases = [Lease(engine, "outbox-relay", ttl=10, clock=clock, owner=f"p{i}") for i, engine in enumerate(engines)]
    held = race(engines, lambda engine, n: leases[n // THREADS].held())
    assert held.count(True) == THREADS  # every thread of the one process that won, none of the others
    assert [lease.held() for lease in leases].count(True) == 1


def test_a_dead_holders_lease_moves_to_another_process_once_it_runs_out(engines: list[Engine]) -> None:
    clock = FixedClock(START)
    dead, survivor = (Lease(engine, "outbox-relay", ttl=10, clock=clock) for engine in engines[:2])
    assert dead.held()
    assert not survivor.held(ask=True)  # ask=True: the database now, not when the recheck is due
    clock.advance(9)
    assert not survivor.held(ask=True), "the holder's lease has not run out yet"
    clock.advance(1)
    assert survivor.held(ask=True), "a holder that stopped renewing loses the lease when it runs out"
    assert not dead.held(ask=True)


def test_a_released_lease_is_taken_at_once(engines: list[Engine]) -> None:
    clock = FixedClock(START)
    first, second = (Lease(engine, "outbox-relay", ttl=60, clock=clock) for engine in engines[:2])
    assert first.held()
    first.release()
    assert second.held()


def test_two_processes_amazon_clients_share_the_patch_bucket_and_are_never_throttled(engines: list[Engine]) -> None:
    """Each client alone would spend a burst of 10 at once; sharing the database's bucket, 2 clients x 10
    PATCHes wait for the second ten at 5/s, and the sandbox (which enforces Amazon's limit) never says 429."""
    clock = FixedClock(START)
    sandbox = AmazonSandbox(AmazonSandboxConfig(), clock=clock)
    sandbox.add_listing("SKU-1", "SHIRT", quantity=0)
    seconds = lambda: (clock.now() - START).total_seconds()  # noqa: E731 - small numbers: exact microseconds
    config = AmazonConfig(
        endpoint="https://sellingpartnerapi-eu.amazon.sandbox.test",
        seller_id=sandbox.config.seller_id,
        access_token=sandbox.config.access_token,
        marketplace_ids=("A1PA6795UKMFR9",),
        product_type="SHIRT",
    )

    def client(engine: Engine) -> AmazonClient:
        def shared(operation: str, rate: float, burst: float) -> SharedTokenBucket:
            return SharedTokenBucket(engine, f"amazon:{config.seller_id}:{operation}", rate, burst, now=seconds)

        return AmazonClient(config, transport=sandbox.transport(), clock=clock, sleep=clock.advance, buckets=shared)

    clients = [client(engine) for engine in engines[:2]]
    for n in range(10):
        for each in clients:
            each.patch_availability("SKU-1", product_type="SHIRT", quantity=n, marketplace_ids=["A1PA6795UKMFR9"])
    assert [c.status for c in sandbox.operations("patchListingsItem")] == [200] * 20
    assert (clock.now() - START).total_seconds() == pytest.approx(3.0, abs=0.01)  # (20 - burst 5) / 5 per s


def test_two_processes_shopify_clients_share_the_shops_cost_bucket_and_are_never_throttled(
    engines: list[Engine],
) -> None:
    """Each client alone paces on the bucket Shopify reported to its own last call, which the other process
    has spent since; sharing it through the database, 2 clients x 30 one-point queries on a 20-point bucket
    wait for the points and Shopify (the sandbox, which enforces its bucket) never answers THROTTLED."""
    clock = FixedClock(START)
    shop = ShopifySandbox(ShopifySandboxConfig(bucket_maximum=20, restore_rate=2), clock=clock)
    seconds = lambda: (clock.now() - START).total_seconds()  # noqa: E731

    def client(engine: Engine) -> ShopifyClient:
        points = SharedTokenBucket(engine, "shopify:shop:points", 2, 20, now=seconds)
        config = ShopifyConfig(f"http://{shop.config.shop_domain}/admin/api/2026-07", shop.config.access_token)
        return ShopifyClient(config, transport=shop.transport(), clock=clock, sleep=clock.advance, points=points)

    clients = [client(engine) for engine in engines[:2]]
    for _ in range(30):
        for each in clients:
            each.execute("query ShopName { shop { name } }", operation="ShopName")
    assert sum(each.calls for each in clients) == 60
    assert [each.throttled for each in clients] == [0, 0]
    assert seconds() >= (60 - 20) / 2  # the points were waited for, not spent twice


# ---------------------------------------------------------------------- the wiring's periodic jobs
def test_a_connector_job_wired_in_several_processes_runs_once_per_period(
    app: Seamline, integration: Integration, client: TestClient
) -> None:
    seed_world(client)  # a shopify channel "web"
    runs: Counter[str] = Counter()

    def build(context: WiringContext, config: ChannelConfig) -> Wired:
        return Wired(jobs=[PeriodicJob(f"{config.code}:pull", 60.0, lambda: runs.update(["pull"]))])

    processes = [ConnectorWiring(integration, builders={"shopify": build}) for _ in range(PROCESSES)]
    for wiring in processes:
        wiring.refresh()
        wiring._due = dict.fromkeys(wiring._due, 0.0)  # every process's own timer says: due now
    ran = [wiring.run_due() for wiring in processes]
    assert runs == {"pull": 1}
    assert sorted(map(len, ran)) == [0, 0, 1]
    assert processes[0].run_due(force=True) == ["web:pull"]  # an operator's "now" is not held back
    assert runs == {"pull": 2}
