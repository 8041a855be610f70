"""Group commit for holds: one transaction per batch, one answer per request (issue 9)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from seamline.domain.errors import Conflict, SeamlineError, Shortage, Unavailable
from seamline.ledger import HoldLineRequest
from seamline.ledger.events import BalancesChanged
from seamline.service import Seamline
from seamline.service.app import IdempotencyKey, Stored
from seamline.service.batcher import BatchSettings, HoldBatcher
from seamline.service.handlers import MessageBus
from seamline.store import catalog_repo, channels_repo, ledger_repo
from seamline.store.db import _writer_lock
from tests.conftest import receive, seed_world

HOT = "OVS-001-NVY-M"


@pytest.fixture
def batcher(app: Seamline, client: TestClient) -> Iterator[HoldBatcher]:
    """A batcher with a wide window, so requests started together land in one batch."""
    seed_world(client)
    b = HoldBatcher(app, BatchSettings(window_seconds=0.3, max_batch=64))
    b.start()
    yield b
    b.stop()


def batches_so_far() -> float:
    return REGISTRY.get_sample_value("seamline_hold_batch_size_count") or 0.0


def run_together(calls: list[Callable[[], Stored]]) -> list[Stored | BaseException]:
    barrier = threading.Barrier(len(calls))

    def go(call: Callable[[], Stored]) -> Stored | BaseException:
        barrier.wait()
        try:
            return call()
        except SeamlineError as exc:
            return exc

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(go, calls))


def test_unservable_duplicated_and_malformed_requests_in_one_batch_each_get_their_own_answer(
    app: Seamline, client: TestClient
) -> None:
    seed_world(client)
    receive(client, HOT, 3)
    # The batch closes when the eleventh request arrives; the long window only covers a slow scheduler.
    batcher = HoldBatcher(app, BatchSettings(window_seconds=10, max_batch=11))
    batcher.start()
    receive(client, "OVS-001-NVY-L", 1)
    key_a = IdempotencyKey("caller-1", "checkout-1", "hash-a")
    key_b = IdempotencyKey("caller-1", "checkout-1", "hash-b")  # the same key with another request

    def hold(qty: int, sku: str = HOT, idem: IdempotencyKey | None = None, **kw: Any) -> Callable[[], Stored]:
        return lambda: batcher.place_hold(
            channel=kw.get("channel", "web"),
            lines=[HoldLineRequest(sku, qty)],
            ttl_seconds=kw.get("ttl", 600),
            idem=idem,
        )

    before = batches_so_far()
    results = run_together(
        [
            hold(1, sku="OVS-001-NVY-L", idem=key_a),
            hold(1, sku="OVS-001-NVY-L", idem=key_a),
            hold(1, sku="OVS-001-NVY-L", idem=key_b),
            hold(5),  # more than there is: short, and must not fail its neighbours
            hold(1, sku="NO-SUCH-SKU"),  # malformed
            hold(1, ttl=0),  # malformed
            hold(1, channel="no-such-channel"),  # malformed
            hold(1),
            hold(1),
            hold(1),
            hold(1),  # the fourth single unit asked of three: exactly one of these four is short
        ]
    )
    assert batches_so_far() - before == 1, "all eleven requests were decided in one transaction"
    assert [type(r).__name__ for r in results[4:7]] == ["InvalidInput"] * 3
    assert isinstance(results[3], Shortage), "the 5-unit ask is short"
    singles = results[7:]
    assert sorted(type(r).__name__ for r in singles) == ["Shortage", "Stored", "Stored", "Stored"]
    # Of the three requests sharing a key, whichever arrived first is the original and holds the unit; a
    # repeat with the same request replays it, one with another request is refused.
    keyed = list(zip([key_a, key_a, key_b], results[:3], strict=True))
    originals = [(k, r) for k, r in keyed if isinstance(r, Stored) and not r.replayed]
    assert len(originals) == 1
    original_key, original = originals[0]
    for k, r in keyed:
        if r is original:
            continue
        if k.request_hash == original_key.request_hash:
            assert isinstance(r, Stored)
            assert r.replayed
            assert r.body == original.body
        else:
            assert isinstance(r, Conflict)
            assert not isinstance(r, Shortage)
    assert app.stock(sku="OVS-001-NVY-L", location="WH")[0]["reserved"] == 1
    batcher.stop()
    stock = app.stock(sku=HOT, location="WH")[0]
    assert (stock["reserved"], stock["available"]) == (3, 0)
    assert app.reconcile().clean


def test_replayed_key_after_the_batch_committed_returns_the_stored_answer(
    app: Seamline, batcher: HoldBatcher, client: TestClient
) -> None:
    receive(client, HOT, 2)
    key = IdempotencyKey("caller-1", "k-1", "h")
    first = batcher.place_hold(channel="web", lines=[HoldLineRequest(HOT, 1)], ttl_seconds=60, idem=key)
    again = batcher.place_hold(channel="web", lines=[HoldLineRequest(HOT, 1)], ttl_seconds=60, idem=key)
    assert again.replayed
    assert again.body == first.body
    assert app.stock(sku=HOT, location="WH")[0]["reserved"] == 1


def test_sixteen_threads_through_the_batcher_are_granted_exactly_the_stock(app: Seamline, client: TestClient) -> None:
    seed_world(client)
    receive(client, HOT, 40)
    receive(client, "OVS-001-NVY-L", 25, to="STORE-1")
    b = HoldBatcher(app, BatchSettings(window_seconds=0.001))
    b.start()
    granted: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(16)

    def buyer(n: int) -> None:
        barrier.wait()
        for i in range(30):
            sku = HOT if (n + i) % 3 else "OVS-001-NVY-L"
            qty = 1 + (n * i) % 2
            try:
                stored = b.place_hold(channel="web", lines=[HoldLineRequest(sku, qty)], ttl_seconds=600)
            except Shortage:
                continue
            with lock:
                granted[sku] += sum(line["qty"] for line in stored.body["lines"])

    try:
        threads = [threading.Thread(target=buyer, args=(n,)) for n in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        b.stop()
    assert granted == {HOT: 40, "OVS-001-NVY-L": 25}, "16 x 30 requests for 65 units: all sold, none twice"
    for item in app.stock(style="OVS-001"):
        assert item["available"] >= 0
    assert app.reconcile().clean


def test_a_full_queue_answers_503_with_retry_after_instead_of_waiting(
    app: Seamline, client: TestClient, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the writer is blocked through SQLite's in-process writer lock")
    seed_world(client)
    receive(client, HOT, 10)
    b = HoldBatcher(app, BatchSettings(window_seconds=0.0, max_batch=1, max_queue=1))
    b.start()
    lock = _writer_lock(app.engine)
    lock.acquire()  # the writer's transaction cannot begin: its batch of one waits, the queue fills
    try:
        results: list[Stored | BaseException] = []

        def call() -> None:
            try:
                results.append(b.place_hold(channel="web", lines=[HoldLineRequest(HOT, 1)], ttl_seconds=60))
            except SeamlineError as exc:
                results.append(exc)

        first = threading.Thread(target=call)
        first.start()
        while b._queue.qsize():  # the writer has taken the first request and is blocked on the lock
            threading.Event().wait(0.01)
        second = threading.Thread(target=call)
        second.start()
        while not b._queue.qsize():
            threading.Event().wait(0.01)
        with pytest.raises(Unavailable) as refused:
            b.place_hold(channel="web", lines=[HoldLineRequest(HOT, 1)], ttl_seconds=60)
        assert refused.value.retry_after >= 1
    finally:
        lock.release()
    first.join()
    second.join()
    b.stop()
    assert all(isinstance(r, Stored) for r in results), "the queued requests were served once the writer ran"
    assert app.stock(sku=HOT, location="WH")[0]["reserved"] == 2
    assert app.reconcile().clean


def test_http_holds_go_through_the_batcher_when_the_app_runs_one(client: TestClient) -> None:
    seed_world(client)
    receive(client, HOT, 1)
    before = batches_so_far()
    response = client.post("/v1/holds", json={"channel": "web", "lines": [{"sku": HOT, "qty": 1}]})
    assert response.status_code == 201
    assert batches_so_far() == before + 1


def test_a_batched_hold_reads_back_through_the_table_and_expires_on_time(
    app: Seamline, batcher: HoldBatcher, client: TestClient, clock: Any
) -> None:
    """The batch writes holds through the driver: its times must compare exactly like the portable path's."""
    receive(client, HOT, 1)
    stored = batcher.place_hold(channel="web", lines=[HoldLineRequest(HOT, 1)], ttl_seconds=60)
    assert app.get_hold(stored.body["id"]) == stored.body
    clock.advance(59)
    assert app.stock(sku=HOT, location="WH")[0]["available"] == 0
    assert app.sweep_expired() == 0
    clock.advance(1)
    assert app.stock(sku=HOT, location="WH")[0]["available"] == 1
    assert app.sweep_expired() == 1
    assert app.reconcile().clean


def test_a_net_reservation_a_row_cannot_take_aborts_the_whole_batch(app: Seamline, client: TestClient) -> None:
    """add_reserved sends every row in one executemany: a single row that no longer has the units must still
    fail the batch (its transaction rolls back, the batch is decided again), not be lost in a total."""
    from seamline.store import ledger_repo

    seed_world(client)
    other = "OVS-001-NVY-L"
    receive(client, HOT, 5)
    receive(client, other, 5)
    with pytest.raises(RuntimeError, match="changed under a locked batch"):
        app.write(lambda uow: ledger_repo.add_reserved(uow, {(HOT, "WH"): 2, (other, "WH"): 6}))
    assert {row["sku"]: row["reserved"] for row in app.stock(location="WH") if row["sku"] in (HOT, other)} == {
        HOT: 0,
        other: 0,
    }
    app.write(lambda uow: ledger_repo.add_reserved(uow, {(HOT, "WH"): 2, (other, "WH"): 5}))
    assert {row["sku"]: row["reserved"] for row in app.stock(location="WH") if row["sku"] in (HOT, other)} == {
        HOT: 2,
        other: 5,
    }


def test_callers_on_an_event_loop_are_answered_by_one_batch_and_a_cancelled_one_harms_nobody(
    app: Seamline, batcher: HoldBatcher, client: TestClient
) -> None:
    import asyncio

    receive(client, HOT, 10)
    before = batches_so_far()

    async def scenario() -> tuple[list[Stored | BaseException], bool]:
        def hold() -> Any:
            return batcher.place_hold_async(channel="web", lines=[HoldLineRequest(HOT, 1)], ttl_seconds=60)

        tasks = [asyncio.create_task(hold()) for _ in range(12)]
        await asyncio.sleep(0.05)  # all queued, inside the batcher's 0.3 s window
        tasks[0].cancel()  # the client went away before its answer
        results = await asyncio.gather(*tasks, return_exceptions=True)
        return results, tasks[0].cancelled()

    results, cancelled = asyncio.run(scenario())
    assert cancelled
    answers = [r for r in results[1:] if isinstance(r, Stored)]
    granted = [a for a in answers if a.status_code == 201]
    shorts = [r for r in results[1:] if isinstance(r, Shortage)]
    assert len(granted) + len(shorts) == 11
    # Arrival order decides: the cancelled caller queued first, so its hold was granted with the batch and
    # stands like any answered one. The stock (10) is held exactly; of the other eleven, nine got units.
    assert batches_so_far() == before + 1
    assert app.stock(sku=HOT, location="WH")[0]["reserved"] == 10
    assert len(granted) == 9
    assert app.reconcile().clean


def test_one_key_in_two_concurrent_batches_is_one_hold_and_fails_no_neighbour(
    app: Seamline, client: TestClient
) -> None:
    """Two API worker processes each run a batcher: a client that retries on another worker puts the same
    Idempotency-Key into two batches at once. The second must answer the first's hold, not hit the unique
    index at insert time (on PostgreSQL that failed the whole batch, neighbours included)."""
    seed_world(client)
    receive(client, HOT, 20)
    first, second = (HoldBatcher(app, BatchSettings(window_seconds=10, max_batch=3)) for _ in range(2))
    first.start()
    second.start()
    key = IdempotencyKey("caller-1", "checkout-9", "same-request")

    def hold(batcher: HoldBatcher, idem: IdempotencyKey | None = None) -> Callable[[], Stored]:
        return lambda: batcher.place_hold(channel="web", lines=[HoldLineRequest(HOT, 1)], ttl_seconds=600, idem=idem)

    try:
        results = run_together(
            [hold(first, key), hold(first), hold(first), hold(second, key), hold(second), hold(second)]
        )
    finally:
        first.stop()
        second.stop()
    assert all(isinstance(r, Stored) for r in results), results
    stored = [r for r in results if isinstance(r, Stored)]
    keyed = [stored[0], stored[3]]
    assert sorted(r.replayed for r in keyed) == [False, True]
    assert keyed[0].body == keyed[1].body
    assert app.stock(sku=HOT, location="WH")[0]["reserved"] == 5
    assert app.reconcile().clean


def test_a_key_held_by_an_uncommitted_single_request_is_replayed_by_a_batch_not_failed(
    app: Seamline, client: TestClient
) -> None:
    """A worker with batching off (``place_hold_txn``) has written a hold and its key and not yet committed;
    a batch elsewhere gets the same key. The batch must wait and replay that answer: the same key lock for
    both paths, not a unique-index failure that takes the batch's neighbours down with it."""
    seed_world(client)
    receive(client, HOT, 10)
    key = IdempotencyKey("caller-1", "checkout-single", "same-request")
    written, release = threading.Event(), threading.Event()

    def hold_back(*_: Any) -> None:  # runs before the commit, in the single request's thread only
        if threading.current_thread().name == "single-request":
            written.set()
            release.wait(10)

    table = app.bus.handlers
    app.bus = MessageBus(app.bus.deps, {**table, BalancesChanged: [*table[BalancesChanged], hold_back]})
    batcher = HoldBatcher(app, BatchSettings(window_seconds=10, max_batch=3))
    batcher.start()
    outcome: dict[str, Any] = {}

    def single() -> None:
        outcome["single"] = app.place_hold_txn(
            channel="web", lines=[HoldLineRequest(HOT, 1)], ttl_seconds=600, idem=key
        )

    def batched(idem: IdempotencyKey | None, name: str) -> None:
        try:
            outcome[name] = batcher.place_hold(
                channel="web", lines=[HoldLineRequest(HOT, 1)], ttl_seconds=600, idem=idem
            )
        except Exception as exc:  # noqa: BLE001 - the answer under test
            outcome[name] = exc

    first = threading.Thread(target=single, name="single-request")
    first.start()
    try:
        assert written.wait(10), "the single request did not reach its commit"
        others = [threading.Thread(target=batched, args=args) for args in ((key, "keyed"), (None, "n1"), (None, "n2"))]
        for thread in others:
            thread.start()
        time.sleep(0.5)  # the batch is now waiting on the single request, one way or the other
    finally:
        release.set()
        first.join(10)
        for thread in others:
            thread.join(10)
        batcher.stop()
        app.bus = MessageBus(app.bus.deps, table)
    assert isinstance(outcome["single"], Stored)
    assert not outcome["single"].replayed
    for name in ("keyed", "n1", "n2"):
        assert isinstance(outcome[name], Stored), (name, outcome[name])
    assert outcome["keyed"].replayed
    assert outcome["keyed"].body == outcome["single"].body
    assert app.stock(sku=HOT, location="WH")[0]["reserved"] == 3
    assert app.reconcile().clean


def test_callers_on_an_event_loop_whose_batch_hangs_get_503_after_the_answer_time_and_the_rest_are_answered(
    app: Seamline, client: TestClient
) -> None:
    """A batch stuck in the database (here: held before its commit) must not keep its callers waiting
    forever: each gets 503 once the answer time has passed. The hold stands when the batch commits later (as
    the message says: retry with the same Idempotency-Key), and a caller answered in time is not failed."""
    import asyncio

    seed_world(client)
    receive(client, HOT, 10)
    release = threading.Event()

    def hang(*_: Any) -> None:  # runs before the commit, in the batch writer's thread only
        if threading.current_thread().name == "seamline-hold-batcher" and not release.is_set():
            release.wait(10)

    answer_time = 0.4
    batcher = HoldBatcher(app, BatchSettings(window_seconds=0.05, max_batch=64, answer_timeout_seconds=answer_time))
    batcher.start()
    table = app.bus.handlers
    app.bus = MessageBus(app.bus.deps, {**table, BalancesChanged: [*table[BalancesChanged], hang]})

    async def hold() -> Stored | BaseException:
        try:
            return await batcher.place_hold_async(channel="web", lines=[HoldLineRequest(HOT, 1)], ttl_seconds=60)
        except SeamlineError as exc:
            return exc

    async def scenario() -> tuple[list[Stored | BaseException], float, Stored | BaseException, int]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        stuck = await asyncio.gather(*(hold() for _ in range(3)))
        waited = loop.time() - started
        release.set()  # the database recovers: the stuck batch commits, and the next caller is answered
        answered = await hold()
        await asyncio.sleep(answer_time + 0.2)  # past the second caller's deadline: the sweep must leave it be
        return stuck, waited, answered, len(batcher._deadlines_of(loop).pending)

    try:
        stuck, waited, answered, still_tracked = asyncio.run(scenario())
    finally:
        release.set()
        app.bus = MessageBus(app.bus.deps, table)
        batcher.stop()
    assert all(isinstance(r, Unavailable) for r in stuck), stuck
    assert "not answered in time" in str(stuck[0])
    # Failed once the answer time had passed, and no later than one sweep interval after it (plus slack).
    assert answer_time <= waited < answer_time + answer_time / 10 + 0.5, waited
    assert isinstance(answered, Stored)
    assert answered.status_code == 201
    assert still_tracked == 0
    assert app.stock(sku=HOT, location="WH")[0]["reserved"] == 4  # the three late holds stand, plus the fourth
    assert app.reconcile().clean


def test_the_batch_lookups_answer_what_the_portable_statements_answer(app: Seamline, client: TestClient) -> None:
    """On PostgreSQL a batch reads SKU kinds, location kinds and channel sources in one statement; it must
    answer exactly what the three statements it replaces answer, unknown codes left out (both databases)."""
    seed_world(client)
    assert client.put(
        "/v1/channels/outlet", json={"kind": "shopify", "sources": ["STORE-1"], "allow_split": True}
    ).is_success
    skus = [HOT, "OVS-001-NVY-L", "NO-SUCH-SKU", HOT]
    channels = ["web", "outlet", "no-such-channel"]

    def both(conn: Any) -> tuple[ledger_repo.HoldLookups, ledger_repo.HoldLookups]:
        portable = ledger_repo.HoldLookups(
            catalog_repo.known_skus(conn, skus),
            ledger_repo.location_kinds(conn),
            {c: found for c in channels if (found := channels_repo.sourcing(conn, c)) is not None},
            {c: found[0] for c in ["outlet", "no-such-channel"] if (found := channels_repo.kind_and_sources(conn, c))},
        )
        return ledger_repo.hold_lookups(conn, skus, channels, ["outlet", "no-such-channel"]), portable

    found, portable = app.read(both)
    assert found == portable
    assert found.sku_kinds == {HOT: "variant", "OVS-001-NVY-L": "variant"}
    assert found.sourcing == {"web": (["WH", "STORE-1"], False), "outlet": (["STORE-1"], True)}
    assert found.channel_kinds == {"outlet": "shopify"}, "kinds of the channels a store token's holds name"
    assert {code: found.location_kinds[code].value for code in ("WH", "STORE-1")} == {
        "WH": "warehouse",
        "STORE-1": "store",
    }
