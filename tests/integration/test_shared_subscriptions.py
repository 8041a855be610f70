"""Issue #16: deliveries come from the configuration in the database, not from the writing process's memory.

Two applications on one database stand for two processes: a channel is configured through the first (whose
connector wiring builds its subscriber), a sale is written through the second (which has not wired it), and
the push exists at once, waits for a process that can deliver it, and is delivered there."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from seamline.api import create_app
from seamline.channels.wiring import ChannelConfig, Wired, WiringContext
from seamline.domain.clock import FixedClock
from seamline.integration import AVAILABILITY_CHANGED, Delivered, Delivery, Subscriber, installed
from seamline.service import Seamline, Settings, bootstrap
from seamline.store import subscriptions_repo
from seamline.store.tables import deliveries
from tests.conftest import ADMIN_TOKEN, receive, seed_world

SKU = "OVS-001-NVY-M"


@pytest.fixture
def other_process(database_url: str, clock: FixedClock, app_settings: dict[str, Any]) -> Iterator[TestClient]:
    """A second application on the same database: another `seamline serve`, wired from what it read then."""
    svc = bootstrap(
        Settings(database_url=database_url, admin_token=ADMIN_TOKEN, **app_settings), clock=clock, migrate=False
    )
    with TestClient(create_app(svc), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as c:
        yield c
    svc.engine.dispose()


def probe_builder(received: list[str]) -> Any:
    """A marketplace connector stand-in: its subscriber takes its channel's numbers while ``url`` is set."""

    def build(_context: WiringContext, config: ChannelConfig) -> Wired | None:
        if not config.settings.get("url"):
            return None

        def deliver(delivery: Delivery) -> Delivered:
            received.append(delivery.event_id)
            return Delivered()

        subscriber = Subscriber(
            f"probe:{config.code}", frozenset({AVAILABILITY_CHANGED}), deliver, channels=frozenset({config.code})
        )
        return Wired(subscribers=[subscriber])

    return build


def deliveries_of(app: Seamline, subscriber: str) -> list[Mapping[str, Any]]:
    return app.read(
        lambda conn: [
            dict(r)
            for r in conn.execute(
                select(deliveries.c.event_id, deliveries.c.status).where(deliveries.c.subscriber == subscriber)
            ).mappings()
        ]
    )


def service_of(client: TestClient) -> Seamline:
    return client.app.state.seamline  # type: ignore[attr-defined,no-any-return]


def test_a_sale_through_another_process_right_after_a_channel_put_leaves_its_push_pending_for_the_wirer(
    client: TestClient, other_process: TestClient
) -> None:
    seed_world(client)
    received: list[str] = []
    client.app.state.wiring.builders["mirakl"] = probe_builder(received)  # type: ignore[attr-defined]
    other = service_of(other_process)
    assert installed(other) is not None
    assert installed(other).registry.get("probe:mkl2") is None  # type: ignore[union-attr]

    put = client.put("/v1/channels/mkl2", json={"kind": "mirakl", "sources": ["WH"], "settings": {"url": "x"}})
    assert put.status_code == 201, put.text
    receive(other_process, SKU, 5)  # written by the process that has not wired mkl2
    installed(other).availability.flush()  # type: ignore[union-attr]

    made = deliveries_of(other, "probe:mkl2")  # the unit and the prepack it is part of
    assert len(made) == 2, "the pushes exist, though their writer never wired mkl2"
    assert {d["status"] for d in made} == {"pending"}
    installed(other).dispatcher.drain()  # type: ignore[union-attr]
    assert {d["status"] for d in deliveries_of(other, "probe:mkl2")} == {"pending"}, "left for one that knows it"

    installed(service_of(client)).dispatcher.drain()  # type: ignore[union-attr]
    assert {d["status"] for d in deliveries_of(other, "probe:mkl2")} == {"delivered"}
    assert sorted(received) == sorted(d["event_id"] for d in made)


def test_a_put_that_unwires_a_channel_stops_its_deliveries_in_every_process(
    client: TestClient, other_process: TestClient
) -> None:
    seed_world(client)
    client.app.state.wiring.builders["mirakl"] = probe_builder([])  # type: ignore[attr-defined]
    client.put("/v1/channels/mkl2", json={"kind": "mirakl", "sources": ["WH"], "settings": {"url": "x"}})
    other = service_of(other_process)
    assert other.read(subscriptions_repo.declared_owners) == ["mkl2"]

    assert client.put("/v1/channels/mkl2", json={"kind": "mirakl", "sources": ["WH"]}).status_code == 200
    assert other.read(subscriptions_repo.declared_owners) == []
    receive(other_process, SKU, 5)
    installed(other).availability.flush()  # type: ignore[union-attr]
    assert deliveries_of(other, "probe:mkl2") == []


def test_the_configuration_version_other_processes_watch_moves_with_a_channel_put(
    client: TestClient, other_process: TestClient
) -> None:
    seed_world(client)
    other = service_of(other_process)
    before = other.read(subscriptions_repo.config_version)
    assert other.read(subscriptions_repo.config_version) == before
    client.put("/v1/channels/web2", json={"kind": "shopify", "sources": ["WH"]})
    assert other.read(subscriptions_repo.config_version) != before


def test_a_process_only_subscriber_still_gets_deliveries_from_its_own_process(client: TestClient) -> None:
    seed_world(client)
    integration = installed(service_of(client))
    assert integration is not None
    got: list[str] = []

    def deliver(delivery: Delivery) -> Delivered:
        got.append(delivery.event_type)
        return Delivered()

    integration.add_subscriber(Subscriber("local-feed", frozenset({AVAILABILITY_CHANGED}), deliver))
    receive(client, SKU, 3)
    integration.dispatcher.drain()
    assert got
    assert set(got) == {AVAILABILITY_CHANGED}
    assert service_of(client).read(subscriptions_repo.declared_owners) == []
