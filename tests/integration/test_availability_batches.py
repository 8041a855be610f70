"""One ``AvailabilityBatch`` per channel per burst, delivered as one number per SKU (issue 18), on SQLite and
PostgreSQL: the rules the per-SKU events keep (newest number wins, per-SKU outcomes, dead letters), with the
publisher's batch threshold lowered so the overshirt's olive SKUs make a burst."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from seamline.domain.clock import FixedClock
from seamline.integration import (
    AVAILABILITY_CHANGED,
    LISTING_PAUSED,
    Delivered,
    Delivery,
    DeliveryFailed,
    DeliveryRejected,
    Integration,
    IntegrationSettings,
    Subscriber,
)
from seamline.integration.events import AVAILABILITY_BATCH
from seamline.integration.idempotency import AvailabilityMirror
from seamline.service import Seamline
from seamline.store import outbox_repo
from seamline.store.tables import deliveries, outbox_events
from tests.conftest import receive, seed_world

OLIVE = ["OVS-001-OLV-S", "OVS-001-OLV-M", "OVS-001-OLV-L", "OVS-001-OLV-XL"]  # in no prepack

SETTINGS = IntegrationSettings(
    max_attempts=4, backoff_base_seconds=1.0, backoff_cap_seconds=60.0, poll_seconds=0.2, lease_seconds=30.0
)


@pytest.fixture
def integration_settings() -> IntegrationSettings:
    return SETTINGS


@pytest.fixture
def world(integration: Integration, client: TestClient) -> TestClient:
    seed_world(client)
    integration.availability.batch_from = 3
    return client


class Platform:
    """A platform taking numbers in calls of many: records every call; ``refuse`` SKUs are refused for good,
    the calls numbered in ``fail_calls`` fail for a while (the whole call)."""

    def __init__(self, refuse: Sequence[str] = (), fail_calls: Sequence[int] = ()) -> None:
        self.refuse = set(refuse)
        self.fail_calls = set(fail_calls)
        self.calls: list[list[Delivery]] = []
        self.mirror = AvailabilityMirror()

    def __call__(self, batch: Sequence[Delivery]) -> list[Delivered | DeliveryFailed | DeliveryRejected]:
        self.calls.append(list(batch))
        if len(self.calls) in self.fail_calls:
            raise DeliveryFailed("platform unavailable")
        answers: list[Delivered | DeliveryFailed | DeliveryRejected] = []
        for delivery in batch:
            if delivery.payload["sku"] in self.refuse:
                answers.append(DeliveryRejected(f"{delivery.payload['sku']} is not listed"))
            else:
                self.mirror.apply(delivery)
                answers.append(Delivered())
        return answers

    def skus(self, call: int) -> list[str]:
        return [str(d.payload["sku"]) for d in self.calls[call]]


def subscribe(integration: Integration, platform: Platform, size: int = 2) -> None:
    def one(delivery: Delivery) -> Delivered | None:
        [answer] = platform([delivery])
        if isinstance(answer, Exception):
            raise answer
        return answer

    integration.add_subscriber(
        Subscriber(
            name="platform",
            event_types=frozenset({AVAILABILITY_CHANGED}),
            deliver=one,
            channels=frozenset({"web"}),
            deliver_batch=platform,
            batch_size=size,
        )
    )


def events(app: Seamline, integration: Integration) -> list[dict[str, Any]]:
    integration.availability.flush()
    with app.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(outbox_events).order_by(outbox_events.c.seq)).mappings()]


def delivery_rows(app: Seamline) -> list[dict[str, Any]]:
    with app.engine.connect() as conn:
        query = select(deliveries).where(deliveries.c.subscriber == "platform").order_by(deliveries.c.id)
        return [dict(r) for r in conn.execute(query).mappings()]


def shown(app: Seamline) -> dict[str, int]:
    with app.engine.connect() as conn:
        return {r["sku"]: int(r["available"]) for r in outbox_repo.published_numbers(conn, "platform", "web")}


def receive_olive(world: TestClient, qty: int = 5) -> None:
    for n, sku in enumerate(OLIVE):
        receive(world, sku, qty + n)


def test_a_burst_of_many_numbers_is_one_batch_event_delivered_as_one_number_per_sku_in_calls_of_the_platforms_size(
    app: Seamline, integration: Integration, world: TestClient
) -> None:
    platform = Platform()
    subscribe(integration, platform)
    receive_olive(world)
    written = events(app, integration)
    [batch] = [e for e in written if e["channel"] == "web"]
    assert batch["type"] == AVAILABILITY_BATCH
    assert batch["payload"] == {"channel": "web", "skus": 4, "pause_below": 0}
    assert [r["event_type"] for r in delivery_rows(app)] == [AVAILABILITY_BATCH]

    integration.dispatcher.drain()
    assert [len(call) for call in platform.calls] == [2, 2]
    handed = [d for call in platform.calls for d in call]
    assert {d.event_type for d in handed} == {AVAILABILITY_CHANGED}
    assert len({d.event_id for d in handed}) == 4, "each SKU has its own idempotency key"
    assert {d.payload["sku"]: d.payload["available"] for d in handed} == dict(zip(OLIVE, [5, 6, 7, 8], strict=True))
    assert handed[0].payload == {
        "channel": "web",
        "sku": "OVS-001-OLV-L",
        "atp": 7,
        "available": 7,
        "paused": False,
        "pause_below": 0,
    }
    assert [r["status"] for r in delivery_rows(app)] == ["delivered"]
    assert shown(app) == dict(zip(OLIVE, [5, 6, 7, 8], strict=True))

    integration.dispatcher.drain()
    assert len(platform.calls) == 2, "a delivered batch is not pushed again"


def test_a_small_change_after_a_burst_is_its_own_event_and_the_batch_no_longer_carries_that_sku(
    app: Seamline, integration: Integration, world: TestClient
) -> None:
    platform = Platform()
    subscribe(integration, platform, size=10)
    receive_olive(world)
    events(app, integration)
    response = world.post("/v1/movements", json={"kind": "damage", "sku": OLIVE[0], "qty": 2, "from": "WH"})
    assert response.status_code == 201, response.text
    written = [e for e in events(app, integration) if e["channel"] == "web"]
    assert [(e["type"], e["payload"].get("sku"), e["payload"].get("atp")) for e in written] == [
        (AVAILABILITY_BATCH, None, None),
        (AVAILABILITY_CHANGED, OLIVE[0], 3),
    ]

    integration.dispatcher.drain()
    pushed = [(d.payload["sku"], d.payload["available"]) for call in platform.calls for d in call]
    assert (OLIVE[0], 5) not in pushed, "the batch's older number of the damaged SKU never went out"
    assert sorted(pushed) == sorted([(OLIVE[0], 3), (OLIVE[1], 6), (OLIVE[2], 7), (OLIVE[3], 8)])
    assert shown(app) == {OLIVE[0]: 3, OLIVE[1]: 6, OLIVE[2]: 7, OLIVE[3]: 8}


def test_a_sku_the_platform_refuses_is_a_dead_letter_of_its_own_and_the_others_are_shown_once(
    app: Seamline, clock: FixedClock, integration: Integration, world: TestClient
) -> None:
    platform = Platform(refuse=[OLIVE[1]])
    subscribe(integration, platform)
    receive_olive(world)
    integration.dispatcher.drain()
    assert shown(app) == {OLIVE[0]: 5, OLIVE[2]: 7, OLIVE[3]: 8}
    rows = delivery_rows(app)
    assert [(r["event_type"], r["status"]) for r in rows] == [
        (AVAILABILITY_BATCH, "delivered"),
        (AVAILABILITY_CHANGED, "dead"),
    ]
    dead = rows[1]
    assert "OVS-001-OLV-M is not listed" in dead["last_error"]
    [letter] = world.get("/v1/integration/dead-letters", params={"subscriber": "platform"}).json()["items"]
    assert letter["id"] == dead["id"]

    calls = len(platform.calls)
    clock.advance(600)
    integration.dispatcher.drain()
    assert len(platform.calls) == calls, "neither the shown SKUs nor the refused one are pushed again"

    platform.refuse.clear()  # listed now: the dead letter is replayed on its own
    assert world.post(f"/v1/integration/dead-letters/{dead['id']}/replay").status_code == 200
    integration.dispatcher.drain()
    assert [d.payload["sku"] for d in platform.calls[-1]] == [OLIVE[1]]
    assert shown(app) == dict(zip(OLIVE, [5, 6, 7, 8], strict=True))


def test_a_call_that_fails_retries_the_batch_for_the_skus_not_yet_shown_only(
    app: Seamline, clock: FixedClock, integration: Integration, world: TestClient
) -> None:
    platform = Platform(fail_calls=[2])
    subscribe(integration, platform)
    receive_olive(world)
    assert integration.dispatcher.run_once() == 1
    [row] = delivery_rows(app)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "2 of 4 SKUs of the batch wait: platform unavailable" in row["last_error"]
    assert shown(app) == {"OVS-001-OLV-L": 7, "OVS-001-OLV-M": 6}, "the first call's SKUs are shown already"

    clock.advance(120)
    integration.dispatcher.drain()
    in_sku_order = ["OVS-001-OLV-L", "OVS-001-OLV-M"], ["OVS-001-OLV-S", "OVS-001-OLV-XL"]
    assert [platform.skus(n) for n in range(len(platform.calls))] == [*in_sku_order, in_sku_order[1]]
    assert [r["status"] for r in delivery_rows(app)] == ["delivered"]
    assert shown(app) == dict(zip(OLIVE, [5, 6, 7, 8], strict=True))


def test_a_burst_that_pauses_listings_still_announces_each_crossing(
    app: Seamline, integration: Integration, world: TestClient
) -> None:
    response = world.put("/v1/channels/web", json={"kind": "shopify", "sources": ["WH", "STORE-1"], "pause_below": 7})
    assert response.status_code in (200, 201), response.text
    receive_olive(world)
    written = [e for e in events(app, integration) if e["channel"] == "web"]
    assert written[0]["type"] == AVAILABILITY_BATCH
    paused = sorted(e["payload"]["sku"] for e in written if e["type"] == LISTING_PAUSED)
    assert paused == sorted(OLIVE[:2]), "5 and 6 are under 7: paused; 7 and 8 are not"
