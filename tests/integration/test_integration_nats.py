"""The NATS JetStream transport against the real server (SEAMLINE_TEST_NATS_URL): two workers with durable
pull consumers on one stream share the events and handle each exactly once; one of them, the holder of the
relay's lease, publishes them."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlparse

import nats
import pytest
from fastapi.testclient import TestClient

from seamline.domain.clock import FixedClock
from seamline.integration import (
    AVAILABILITY_CHANGED,
    Delivery,
    Integration,
    IntegrationSettings,
    Subscriber,
    install,
)
from seamline.integration.dispatcher import Dispatcher
from seamline.integration.events import AVAILABILITY_BATCH
from seamline.integration.idempotency import AvailabilityMirror
from seamline.integration.transports.nats import NatsTransport
from seamline.service import Seamline
from seamline.store import outbox_repo
from tests.conftest import _service_missing, receive, seed_world

SKU = "OVS-001-OLV-M"


@pytest.fixture(scope="session")
def nats_url() -> str:
    url = os.environ.get("SEAMLINE_TEST_NATS_URL")
    if not url:
        _service_missing("NATS (SEAMLINE_TEST_NATS_URL)")
    assert url is not None
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 4222), timeout=2).close()
    except OSError as exc:
        _service_missing(f"NATS at {url} ({exc})")
    return url


@pytest.fixture
def settings(nats_url: str) -> Iterator[IntegrationSettings]:
    run = uuid.uuid4().hex[:10]
    found = IntegrationSettings(
        transport="nats",
        nats_url=nats_url,
        nats_stream=f"SEAMLINE_TEST_{run}",
        nats_subject_prefix=f"seamline_test_{run}.events",
        poll_seconds=0.5,
        nats_grace_seconds=30.0,  # the broker's consumers, not the database loop, must do the work here
    )
    yield found

    async def drop() -> None:
        nc = await nats.connect(nats_url)
        try:
            await nc.jetstream().delete_stream(found.nats_stream)
        finally:
            await nc.close()

    asyncio.run(drop())


@pytest.fixture
def integration(app: Seamline, settings: IntegrationSettings) -> Iterator[Integration]:
    found = install(app, settings)
    yield found
    found.uninstall()


def stream_messages(settings: IntegrationSettings) -> int:
    async def count() -> int:
        nc = await nats.connect(settings.resolved_nats_url)
        try:
            info = await nc.jetstream().stream_info(settings.nats_stream)
            return int(info.state.messages)
        finally:
            await nc.close()

    return asyncio.run(count())


def test_two_workers_share_one_stream_and_handle_each_event_once(
    app: Seamline, settings: IntegrationSettings, integration: Integration, client: TestClient
) -> None:
    mirror = AvailabilityMirror()
    handled: list[str] = []

    def channel(delivery: Delivery) -> None:
        handled.append(delivery.event_id)
        mirror.apply(delivery)
        time.sleep(0.002)

    integration.add_subscriber(
        Subscriber("channel", frozenset({AVAILABILITY_CHANGED}), channel, coalesce=False, max_concurrency=4)
    )
    seed_world(client)
    receive(client, SKU, 200)
    integration.availability.flush()
    for _ in range(60):
        assert (
            client.post("/v1/movements", json={"kind": "damage", "sku": SKU, "qty": 1, "from": "WH"}).status_code == 201
        )
        integration.availability.flush()  # one number per damage: 61 events for the workers to share
    with app.engine.connect() as conn:
        expected = outbox_repo.all_event_ids(conn, [AVAILABILITY_CHANGED])
    assert len(expected) >= 61

    workers = [
        NatsTransport(
            app,
            integration.registry,
            Dispatcher(app, integration.registry, settings, worker_id=f"worker-{i}"),
            settings,
            name=f"worker-{i}",
            fetch_batch=4,
        )
        for i in range(2)
    ]
    for worker in workers:
        worker.start()
    try:
        deadline = time.monotonic() + 30
        while sorted(set(handled)) != sorted(expected):
            assert time.monotonic() < deadline, f"handled {len(set(handled))} of {len(expected)}"
            time.sleep(0.05)
        time.sleep(0.3)  # anything handled twice would show up now
    finally:
        for worker in workers:
            worker.stop()
    assert sorted(handled) == sorted(expected), "each event handled exactly once"
    shares = [w.handled["succeeded"] for w in workers]
    assert sum(shares) == len(expected), shares
    assert all(shares), f"both workers took a share: {shares}"
    # One relay, the lease holder, published every event; the broker holds one copy of each.
    with app.engine.connect() as conn:
        assert stream_messages(settings) == len(outbox_repo.all_event_ids(conn))
        assert sorted(w.relayed for w in workers) == [0, len(outbox_repo.all_event_ids(conn))]
    assert mirror.available("web", SKU) == 140
    with app.engine.connect() as conn:
        assert outbox_repo.unrelayed_count(conn) == 0
        assert outbox_repo.count_by_status(conn) == {"delivered": len(expected)}


def test_a_failed_delivery_through_nats_is_retried_by_the_workers_dispatcher(
    app: Seamline, clock: FixedClock, settings: IntegrationSettings, integration: Integration, client: TestClient
) -> None:
    calls: list[str] = []

    def flaky(delivery: Delivery) -> None:
        calls.append(delivery.event_id)
        if len(calls) == 1:
            raise RuntimeError("platform hiccup")

    integration.add_subscriber(Subscriber("flaky", frozenset({AVAILABILITY_CHANGED}), flaky))
    seed_world(client)
    receive(client, SKU, 3)
    integration.availability.flush()
    fast = IntegrationSettings(**{**settings.__dict__, "backoff_base_seconds": 0.05, "backoff_cap_seconds": 0.1})
    dispatcher = Dispatcher(app, integration.registry, fast, fresh_grace=30.0)
    worker = NatsTransport(app, integration.registry, dispatcher, fast)
    worker.start()
    dispatcher.start()
    try:
        deadline = time.monotonic() + 20
        while True:
            with app.engine.connect() as conn:
                if outbox_repo.count_by_status(conn) == {"delivered": 1}:
                    break
            assert time.monotonic() < deadline, calls
            clock.advance(0.05)  # the retry's backoff passes on the test clock
            time.sleep(0.05)
    finally:
        dispatcher.stop()
        worker.stop()
    assert len(calls) == 2
    assert len(set(calls)) == 1
    assert worker.handled["failed"] == 1


def test_a_batch_of_numbers_through_nats_reaches_the_subscriber_as_one_number_per_sku(
    app: Seamline, settings: IntegrationSettings, integration: Integration, client: TestClient
) -> None:
    mirror = AvailabilityMirror()

    def channel(delivery: Delivery) -> None:
        mirror.apply(delivery)

    integration.add_subscriber(Subscriber("channel", frozenset({AVAILABILITY_CHANGED}), channel))
    seed_world(client)
    integration.availability.batch_from = 3
    olive = ["OVS-001-OLV-S", "OVS-001-OLV-M", "OVS-001-OLV-L", "OVS-001-OLV-XL"]
    for n, sku in enumerate(olive):
        receive(client, sku, 5 + n)
    integration.availability.flush()
    with app.engine.connect() as conn:
        [batch] = outbox_repo.all_event_ids(conn, [AVAILABILITY_BATCH])
    worker = NatsTransport(
        app,
        integration.registry,
        Dispatcher(app, integration.registry, settings, worker_id="worker-0"),
        settings,
        name="worker-0",
    )
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while [mirror.available("web", sku) for sku in olive] != [5, 6, 7, 8]:
            assert time.monotonic() < deadline, mirror.shown
            time.sleep(0.05)
    finally:
        worker.stop()
    assert sorted(mirror.applied) == sorted(f"{batch}/{sku}" for sku in olive), "each SKU once, under its own id"
    with app.engine.connect() as conn:
        assert outbox_repo.count_by_status(conn) == {"delivered": 1}
