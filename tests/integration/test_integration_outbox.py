"""The outbox, availability push, dispatcher, dead letters and retention (DESIGN 4.4, 8), on SQLite and
PostgreSQL. The dispatcher runs against the real database; time is the fixed test clock, moved by hand."""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from seamline.domain.clock import FixedClock
from seamline.integration import (
    AVAILABILITY_CHANGED,
    LISTING_PAUSED,
    LISTING_RESUMED,
    ChannelRejected,
    ChannelThrottled,
    ChannelUnavailable,
    Delivery,
    DeliveryFailed,
    DeliveryRejected,
    Integration,
    IntegrationSettings,
    RateLimited,
    Subscriber,
    installed,
)
from seamline.integration import install as install_integration
from seamline.integration.idempotency import AvailabilityMirror
from seamline.integration.retention import purge
from seamline.service import Seamline, Settings, bootstrap
from seamline.store.tables import deliveries, outbox_events
from tests.conftest import ADMIN_TOKEN, OVERSHIRT, receive, seed_world

SKU = "OVS-001-OLV-M"  # in no prepack: one event per change

SETTINGS = IntegrationSettings(
    max_attempts=4, backoff_base_seconds=1.0, backoff_cap_seconds=60.0, poll_seconds=0.2, lease_seconds=30.0
)


@pytest.fixture
def integration_settings() -> IntegrationSettings:
    return SETTINGS


@pytest.fixture
def world(integration: Integration, client: TestClient) -> TestClient:
    seed_world(client)
    return client


class Recorder:
    """A subscriber that fails a given number of times first, and records what it was handed."""

    def __init__(self, fail_first: int = 0, *, error: type[Exception] = DeliveryFailed, delay: float = 0.0) -> None:
        self.fail_first = fail_first
        self.error = error
        self.delay = delay
        self.calls: list[Delivery] = []
        self.delivered: list[Delivery] = []
        self.mirror = AvailabilityMirror()
        self._lock = threading.Lock()

    def __call__(self, delivery: Delivery) -> None:
        with self._lock:
            self.calls.append(delivery)
            failing = len(self.calls) <= self.fail_first
        if self.delay:
            time.sleep(self.delay)
        if failing:
            raise self.error("platform unavailable")
        with self._lock:
            self.delivered.append(delivery)
        self.mirror.apply(delivery)


def subscribe(integration: Integration, name: str, recorder: Recorder, **options: Any) -> Subscriber:
    options.setdefault("event_types", frozenset({AVAILABILITY_CHANGED}))
    return integration.add_subscriber(Subscriber(name=name, deliver=recorder, **options))


def damage(client: TestClient, qty: int = 1, sku: str = SKU, at: str = "WH", **headers: str) -> None:
    response = client.post(
        "/v1/movements", json={"kind": "damage", "sku": sku, "qty": qty, "from": at}, headers=headers
    )
    assert response.status_code == 201, response.text


def events(app: Seamline, event_type: str | None = None) -> list[dict[str, Any]]:
    """The outbox, after the availability publisher has turned the journal into events."""
    integration = installed(app)
    assert integration is not None
    integration.availability.flush()
    with app.engine.connect() as conn:
        query = select(outbox_events).order_by(outbox_events.c.seq)
        if event_type is not None:
            query = query.where(outbox_events.c.type == event_type)
        return [dict(r) for r in conn.execute(query).mappings()]


def delivery_rows(app: Seamline, subscriber: str) -> list[dict[str, Any]]:
    with app.engine.connect() as conn:
        rows = conn.execute(select(deliveries).where(deliveries.c.subscriber == subscriber).order_by(deliveries.c.id))
        return [dict(r) for r in rows.mappings()]


def wait_until(condition: Any, timeout: float = 15.0) -> float:
    """Poll until ``condition()`` holds; answers how long that took."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "timed out"
        time.sleep(0.02)
    return time.monotonic() - started


# ---------------------------------------------------------------------- the events themselves
def test_a_damage_writes_availability_changed_with_the_callers_trace_id(
    app: Seamline, integration: Integration, world: TestClient
) -> None:
    receive(world, SKU, 10)
    events(app)  # published: the receipt's number is out before the damage
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    damage(world, 3, traceparent=f"00-{trace}-00f067aa0ba902b7-01")
    changed = [e for e in events(app, AVAILABILITY_CHANGED) if e["payload"]["sku"] == SKU]
    assert [e["payload"]["atp"] for e in changed] == [10, 7]
    assert changed[-1]["trace_id"] == trace
    assert changed[-1]["payload"] == {
        "channel": "web",
        "sku": SKU,
        "atp": 7,
        "available": 7,
        "paused": False,
        "pause_below": 0,
    }
    assert changed[-1]["coalesce_key"] == f"availability:web:{SKU}"


def test_a_write_that_fails_leaves_no_event_and_an_unchanged_number_none(
    app: Seamline, integration: Integration, world: TestClient
) -> None:
    receive(world, SKU, 2)
    before = len(events(app))
    response = world.post("/v1/movements", json={"kind": "damage", "sku": SKU, "qty": 5, "from": "WH"})
    assert response.status_code == 409
    assert len(events(app)) == before
    # A hold then its release changes the number twice; a commit to an order would change nothing.
    hold = world.post("/v1/holds", json={"channel": "web", "lines": [{"sku": SKU, "qty": 1}], "ttl_seconds": 60})
    assert hold.status_code == 201, hold.text
    events(app)
    assert world.post(f"/v1/holds/{hold.json()['id']}/release").status_code == 200
    assert [e["payload"]["atp"] for e in events(app, AVAILABILITY_CHANGED)][-2:] == [1, 2]


def test_only_channels_sourcing_the_location_hear_of_it(
    app: Seamline, integration: Integration, world: TestClient
) -> None:
    assert world.put("/v1/channels/store2", json={"kind": "pos", "sources": ["STORE-2"]}).status_code == 201
    receive(world, SKU, 4, to="STORE-2")
    receive(world, SKU, 5, to="WH")
    channels = [
        (e["payload"]["channel"], e["payload"]["atp"])
        for e in events(app, AVAILABILITY_CHANGED)
        if e["payload"]["sku"] == SKU
    ]
    assert channels == [("store2", 4), ("web", 5)]


def test_prepack_availability_follows_its_components(
    app: Seamline, integration: Integration, world: TestClient
) -> None:
    for sku, qty in (("OVS-001-NVY-S", 3), ("OVS-001-NVY-M", 6), ("OVS-001-NVY-L", 6), ("OVS-001-NVY-XL", 3)):
        receive(world, sku, qty)
    packs = [
        e["payload"]["atp"] for e in events(app, AVAILABILITY_CHANGED) if e["payload"]["sku"] == "OVS-001-NVY-PACK"
    ]
    assert packs[-1] == 3
    damage(world, 3, sku="OVS-001-NVY-L")  # 3 L left: one pack needs 2
    packs = [
        e["payload"]["atp"] for e in events(app, AVAILABILITY_CHANGED) if e["payload"]["sku"] == "OVS-001-NVY-PACK"
    ]
    assert packs[-1] == 1


def test_crossing_the_pause_threshold_pauses_then_resumes_the_listing(
    app: Seamline, integration: Integration, world: TestClient
) -> None:
    response = world.put("/v1/channels/web", json={"kind": "shopify", "sources": ["WH"], "pause_below": 3})
    assert response.status_code == 200, response.text
    receive(world, SKU, 5)
    events(app)
    damage(world, 3)  # 2 left: below 3, paused, publish 0
    events(app)
    receive(world, SKU, 4)  # 6: resumed
    changed = [
        (e["payload"]["atp"], e["payload"]["available"], e["payload"]["paused"])
        for e in events(app, AVAILABILITY_CHANGED)
    ]
    assert changed == [(5, 5, False), (2, 0, True), (6, 6, False)]
    crossings = [
        (e["type"], e["payload"]["atp"]) for e in events(app) if e["type"] in (LISTING_PAUSED, LISTING_RESUMED)
    ]
    assert crossings == [(LISTING_PAUSED, 2), (LISTING_RESUMED, 6)]


# ---------------------------------------------------------------------- delivery, retry, dead letters
def test_a_subscriber_failing_three_times_is_delivered_once_after_backoff(
    app: Seamline, clock: FixedClock, integration: Integration, world: TestClient
) -> None:
    flaky = Recorder(fail_first=3)
    subscribe(integration, "flaky", flaky)
    receive(world, SKU, 10)
    waits = []
    for _ in range(3):
        assert integration.dispatcher.run_once() == 1
        row = delivery_rows(app, "flaky")[0]
        assert row["status"] == "pending"
        waits.append((row["next_attempt_at"] - clock.now()).total_seconds())
        assert integration.dispatcher.run_once() == 0, "nothing is due before the backoff has passed"
        clock.advance(waits[-1])
    # Exponential with jitter: within [base * 2^(n-1) / 2, base * 2^(n-1)].
    assert 0.5 <= waits[0] <= 1
    assert 1 <= waits[1] <= 2
    assert 2 <= waits[2] <= 4
    assert integration.dispatcher.run_once() == 1
    [row] = delivery_rows(app, "flaky")
    assert row["status"] == "delivered"
    assert row["attempts"] == 4
    assert len(flaky.calls) == 4
    assert len(flaky.delivered) == 1
    assert flaky.delivered[0].attempt == 4
    assert integration.dispatcher.drain() == 0


def test_an_always_failing_subscriber_ends_in_the_dead_letter_queue_and_is_delivered_after_replay(
    app: Seamline, clock: FixedClock, integration: Integration, world: TestClient
) -> None:
    broken = Recorder(fail_first=10**6)
    subscribe(integration, "broken", broken)
    receive(world, SKU, 10)
    for _ in range(SETTINGS.max_attempts):
        integration.dispatcher.run_once()
        clock.advance(120)
    [row] = delivery_rows(app, "broken")
    assert row["status"] == "dead"
    assert row["attempts"] == SETTINGS.max_attempts
    dead = world.get("/v1/integration/dead-letters", params={"subscriber": "broken"}).json()["items"]
    assert [d["id"] for d in dead] == [row["id"]]
    shown = world.get(f"/v1/integration/dead-letters/{row['id']}").json()
    assert [f["attempt"] for f in shown["failures"]] == [1, 2, 3, 4]
    assert "platform unavailable" in shown["failures"][0]["error"]
    status = world.get("/v1/integration/status").json()
    broken_status = next(s for s in status["subscribers"] if s["name"] == "broken")
    assert broken_status["dead_letters"] == 1
    assert broken_status["recent_failures"]
    metric = REGISTRY.get_sample_value("seamline_dead_letters", {"subscriber": "broken"})
    assert metric == 1

    broken.fail_first = 0
    response = world.post(f"/v1/integration/dead-letters/{row['id']}/replay")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "pending"
    assert world.post(f"/v1/integration/dead-letters/{row['id']}/replay").json()["type"].endswith("not-dead-lettered")
    assert integration.dispatcher.run_once() == 1
    [row] = delivery_rows(app, "broken")
    assert row["status"] == "delivered"
    assert row["replays"] == 1
    assert len(broken.delivered) == 1


def test_a_replayed_dead_letter_older_than_the_published_number_is_retired_not_pushed(
    app: Seamline, clock: FixedClock, integration: Integration, world: TestClient
) -> None:
    picky = Recorder(fail_first=1, error=DeliveryRejected)  # refuses the first number for good
    subscribe(integration, "picky", picky)
    receive(world, SKU, 10)
    integration.dispatcher.drain()
    [old] = delivery_rows(app, "picky")
    assert old["status"] == "dead"
    damage(world, 4)  # a newer number (6) goes out and is shown
    integration.dispatcher.drain()
    assert picky.mirror.available("web", SKU) == 6
    assert world.post(f"/v1/integration/dead-letters/{old['id']}/replay").status_code == 200
    calls = len(picky.calls)
    integration.dispatcher.drain()
    assert len(picky.calls) == calls, "the old number (10) was not pushed over the newer one"
    statuses = {r["id"]: r["status"] for r in delivery_rows(app, "picky")}
    assert statuses[old["id"]] == "superseded"
    assert picky.mirror.available("web", SKU) == 6


def test_replay_by_filter_needs_a_filter_and_replays_only_matching_dead_letters(
    app: Seamline, clock: FixedClock, integration: Integration, world: TestClient
) -> None:
    refused = Recorder(fail_first=10**6, error=DeliveryRejected)  # a 4xx: dead at once
    other = Recorder(fail_first=10**6, error=DeliveryRejected)
    subscribe(integration, "refused", refused)
    subscribe(integration, "other", other)
    receive(world, SKU, 10)
    receive(world, "OVS-001-NVY-L", 1)
    integration.dispatcher.drain()
    assert {r["status"] for r in delivery_rows(app, "refused")} == {"dead"}
    assert world.post("/v1/integration/dead-letters/replay", json={}).status_code == 422
    refused.fail_first = 0
    response = world.post("/v1/integration/dead-letters/replay", json={"subscriber": "refused"})
    assert response.json()["replayed"] == len(delivery_rows(app, "refused")) >= 2
    integration.dispatcher.drain()
    assert {r["status"] for r in delivery_rows(app, "refused")} == {"delivered"}
    assert {r["status"] for r in delivery_rows(app, "other")} == {"dead"}


def test_a_rate_limited_delivery_waits_for_retry_after_without_using_an_attempt(
    app: Seamline, clock: FixedClock, integration: Integration, world: TestClient
) -> None:
    calls = []

    def throttled(delivery: Delivery) -> None:
        calls.append(delivery)
        if len(calls) <= 5:
            raise RateLimited("HTTP 429", retry_after=7)

    integration.add_subscriber(Subscriber("throttled", frozenset({AVAILABILITY_CHANGED}), throttled))
    receive(world, SKU, 1)
    for _ in range(5):
        assert integration.dispatcher.run_once("throttled") == 1
        [row] = delivery_rows(app, "throttled")
        assert row["attempts"] == 0
        assert row["status"] == "pending"
        assert (row["next_attempt_at"] - clock.now()).total_seconds() == 7
        clock.advance(7)
    assert integration.dispatcher.run_once("throttled") == 1
    assert delivery_rows(app, "throttled")[0]["status"] == "delivered"


def test_a_platform_error_a_connector_lets_through_is_translated_by_the_dispatcher(
    app: Seamline, clock: FixedClock, integration: Integration, world: TestClient
) -> None:
    answers: list[Exception] = [
        ChannelThrottled("HTTP 429", retry_after=7),
        ChannelUnavailable("HTTP 503"),
        ChannelRejected("HTTP 422", messages=["quantity must be a whole number"]),
    ]

    def platform(delivery: Delivery) -> None:
        raise answers.pop(0)

    integration.add_subscriber(Subscriber("platform", frozenset({AVAILABILITY_CHANGED}), platform))
    receive(world, SKU, 1)
    assert integration.dispatcher.run_once("platform") == 1
    [row] = delivery_rows(app, "platform")
    assert (row["status"], row["attempts"]) == ("pending", 0), "throttled: no attempt used"
    assert (row["next_attempt_at"] - clock.now()).total_seconds() == 7
    clock.advance(7)
    assert integration.dispatcher.run_once("platform") == 1
    [row] = delivery_rows(app, "platform")
    assert (row["status"], row["attempts"]) == ("pending", 1), "unavailable: retried with backoff"
    clock.advance(120)
    assert integration.dispatcher.run_once("platform") == 1
    [row] = delivery_rows(app, "platform")
    assert row["status"] == "dead", "refused: a dead letter at once"
    assert row["last_error"] == "HTTP 422"


def test_the_same_event_delivered_one_to_three_times_in_shuffled_order_has_one_effect(
    app: Seamline, integration: Integration, world: TestClient
) -> None:
    sink = Recorder()
    subscribe(integration, "sink", sink, coalesce=False)
    receive(world, SKU, 20)
    for qty in (1, 2, 3, 1, 2):
        damage(world, qty)
    rows = events(app, AVAILABILITY_CHANGED)
    rng = random.Random(7)
    # The broker's view: each event arrives 1-3 times, in any order. The dispatcher applies each once.
    arrivals = [r["id"] for r in rows for _ in range(rng.randint(1, 3))]
    rng.shuffle(arrivals)
    results = [integration.dispatcher.deliver_event("sink", event_id) for event_id in arrivals]
    assert results.count("succeeded") == len(rows)
    assert set(results) == {"succeeded", "done"}
    assert sorted(d.event_id for d in sink.delivered) == sorted(r["id"] for r in rows)
    # The subscriber's view: duplicates and late old numbers never change what it shows.
    mirror = AvailabilityMirror()
    deliveries_by_id = {d.event_id: d for d in sink.delivered}
    effects = [mirror.apply(deliveries_by_id[event_id]) for event_id in arrivals]
    assert len(mirror.applied) == len(set(mirror.applied)) == sum(effects)
    assert mirror.available("web", SKU) == 20 - 9


# ---------------------------------------------------------------------- coalescing, compare-and-set
def test_fifty_rapid_changes_reach_a_slow_subscriber_as_few_deliveries_with_the_newest_number_last(
    app: Seamline, integration: Integration, world: TestClient
) -> None:
    slow = Recorder(delay=0.2)
    subscribe(integration, "slow", slow)
    audit = Recorder()
    subscribe(integration, "audit", audit, coalesce=False)
    receive(world, SKU, 100)
    integration.start()
    try:
        for _ in range(50):
            damage(world, 1)
        wait_until(lambda: [d.payload["available"] for d in audit.delivered[-1:]] == [50])
        wait_until(lambda: not [r for r in delivery_rows(app, "slow") if r["status"] == "pending"])
    finally:
        integration.stop()
    # The publisher computes once per burst: the audit feed (every event) has at most one per write, and
    # never an older number after a newer one.
    audited = [d.payload["available"] for d in audit.delivered]
    assert len(audited) <= 51
    assert audited == sorted(audited, reverse=True)
    assert len(events(app, AVAILABILITY_CHANGED)) == len(audited)
    numbers = [d.payload["available"] for d in slow.delivered]
    assert numbers[-1] == 50
    assert len(numbers) < 15, numbers
    assert numbers == sorted(numbers, reverse=True), "never an older number after a newer one"
    statuses = [r["status"] for r in delivery_rows(app, "slow")]
    assert statuses.count("superseded") == len(audited) - len(numbers)
    # Compare-and-set: each push carried what the subscriber had been shown before it.
    for before, after in zip(slow.delivered, slow.delivered[1:], strict=False):
        assert after.previous is not None
        assert after.previous["available"] == before.payload["available"]
    assert slow.mirror.available("web", SKU) == 50


def test_concurrent_changes_at_two_sources_publish_the_number_that_includes_both(
    app: Seamline, integration: Integration, world: TestClient
) -> None:
    """Write skew: two transactions at two locations of one channel each see the other's old balance unless
    recomputation is serialised per (channel, sku)."""
    receive(world, SKU, 200, to="WH")
    receive(world, SKU, 200, to="STORE-1")
    barrier = threading.Barrier(8)

    def worker(i: int) -> None:
        barrier.wait()
        for _ in range(10):
            damage(world, 1, at="WH" if i % 2 else "STORE-1")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    last = events(app, AVAILABILITY_CHANGED)[-1]["payload"]
    assert last["atp"] == 400 - 80
    assert world.get("/v1/availability/web", params={"sku": SKU}).json()["items"][0]["available"] == 320


# ---------------------------------------------------------------------- retention and status
def test_retention_purges_delivered_deliveries_and_their_events_but_never_dead_letters(
    app: Seamline, clock: FixedClock, integration: Integration, world: TestClient
) -> None:
    ok = Recorder()
    subscribe(integration, "ok", ok)
    dead = Recorder(fail_first=10**6, error=DeliveryRejected)
    subscribe(integration, "dead", dead)
    receive(world, SKU, 3)
    receive(world, "OVS-001-OLV-L", 3)
    integration.dispatcher.drain()
    clock.advance(8 * 24 * 3600)
    purged = purge(app, SETTINGS)
    assert purged.deliveries == 2
    assert len(events(app, AVAILABILITY_CHANGED)) == 2, "the dead letters keep their events"
    assert {r["status"] for r in delivery_rows(app, "dead")} == {"dead"}
    world.post("/v1/integration/dead-letters/replay", json={"subscriber": "dead"})
    dead.fail_first = 0
    integration.dispatcher.drain()
    clock.advance(8 * 24 * 3600)
    assert purge(app, SETTINGS).events >= 2
    assert events(app, AVAILABILITY_CHANGED) == []
    with app.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(outbox_events)).scalar_one() == 0


def test_status_reports_last_success_lag_and_failures_per_subscriber(
    app: Seamline, clock: FixedClock, integration: Integration, world: TestClient
) -> None:
    good, bad = Recorder(), Recorder(fail_first=1)
    subscribe(integration, "good", good)
    subscribe(integration, "bad", bad)
    receive(world, SKU, 3)
    events(app)  # published now; delivered two seconds later
    clock.advance(2)
    integration.dispatcher.run_once()
    status = {s["name"]: s for s in world.get("/v1/integration/status").json()["subscribers"]}
    assert status["good"]["last_success_at"] == "2026-11-27T08:00:02Z"
    assert status["good"]["last_delivery_lag_seconds"] == 2
    assert status["good"]["pending"] == 0
    assert status["good"]["lag_seconds"] == 0
    assert status["bad"]["retrying"] == 1
    assert status["bad"]["lag_seconds"] == 2
    assert status["bad"]["recent_failures"][0]["error"] == "platform unavailable"
    assert world.get("/v1/integration/status", headers={"Authorization": "Bearer nope"}).status_code == 401
    lag = REGISTRY.get_sample_value("seamline_delivery_lag_seconds_count", {"subscriber": "good"})
    assert lag is not None
    assert lag >= 1


def published_atps(app: Seamline) -> list[int]:
    """What the background publisher has written so far (no flush here: that would publish for it)."""
    with app.engine.connect() as conn:
        rows = conn.execute(
            select(outbox_events.c.payload)
            .where(outbox_events.c.type == AVAILABILITY_CHANGED)
            .order_by(outbox_events.c.seq)
        )
        return [int(r.payload["atp"]) for r in rows if r.payload["sku"] == SKU]


def test_the_background_publisher_answers_an_idle_change_at_once_and_coalesces_a_stream(
    app: Seamline, integration: Integration, world: TestClient
) -> None:
    """SEAMLINE_AVAILABILITY_COALESCE_MS: after publishing, the publisher waits that long before its next
    transaction, so a stream of writes is one recomputation per interval; the first change after a quiet
    spell is still published at once."""
    publisher = integration.availability
    publisher.coalesce_seconds = 1.0
    signal = integration.journal_committed
    signal.add(publisher.wake)  # as Integration.start() wires it: woken at the commit of a journal write
    publisher.start()
    try:
        receive(world, SKU, 20)
        assert wait_until(lambda: published_atps(app) == [20]) < 0.4  # idle: no coalescing delay
        for _ in range(5):  # five writes inside the interval that follows a publish
            damage(world, 1)
        wait_until(lambda: published_atps(app)[-1:] == [15])
        assert published_atps(app) == [20, 15]  # one number for the five writes, not 19, 18, 17, 16, 15
    finally:
        signal.discard(publisher.wake)
        publisher.stop()


def test_the_coalescing_interval_is_configured_in_milliseconds() -> None:
    def interval(environ: dict[str, str]) -> float:
        return IntegrationSettings.from_env(environ).availability_coalesce_seconds

    assert interval({}) == 0.02
    assert interval({"SEAMLINE_AVAILABILITY_COALESCE_MS": "0"}) == 0
    assert interval({"SEAMLINE_AVAILABILITY_COALESCE_MS": "50"}) == 0.05


def test_a_subscribers_max_concurrency_holds_across_processes(
    app: Seamline, integration: Integration, world: TestClient, database_url: str, clock: FixedClock
) -> None:
    """Two dispatchers on one database (two processes' worth) and a slow subscriber allowed one batch at a
    time: raced in real threads, never two batches in flight at once, and every delivery made once."""
    other = bootstrap(Settings(database_url=database_url, admin_token=ADMIN_TOKEN), clock=clock, migrate=False)
    other_integration = install_integration(other, dataclasses.replace(SETTINGS, batch_size=2))
    in_flight, most, delivered = [0], [0], []
    lock = threading.Lock()

    def slow(delivery: Delivery) -> None:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.05)
        with lock:
            in_flight[0] -= 1
            delivered.append(delivery.event_id)

    for each in (integration, other_integration):
        each.add_subscriber(Subscriber("one-at-a-time", frozenset({AVAILABILITY_CHANGED}), slow, coalesce=False))
    integration.dispatcher.settings = dataclasses.replace(integration.dispatcher.settings, batch_size=2)
    try:
        for sku in [v["sku"] for v in OVERSHIRT["variants"]]:
            receive(world, sku, 1)
        integration.availability.flush()
        expected = len(delivery_rows(app, "one-at-a-time"))
        assert expected >= 8

        def drain(dispatcher: Any) -> None:
            for _ in range(200):
                dispatcher.run_once("one-at-a-time")
                if len(delivered) >= expected:
                    return

        racers = [
            threading.Thread(target=drain, args=(d,)) for d in (integration.dispatcher, other_integration.dispatcher)
        ]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(timeout=60)
        assert sorted(delivered) == sorted({r["event_id"] for r in delivery_rows(app, "one-at-a-time")})
        assert most[0] == 1, f"{most[0]} batches of a max_concurrency=1 subscriber were in flight at once"
    finally:
        other_integration.uninstall()
        other.engine.dispose()
