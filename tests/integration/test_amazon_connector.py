"""The Amazon connector end to end, on SQLite and PostgreSQL: stock changes pushed to the Amazon sandbox
within the dispatcher's attempts (through 5xx and 429), listing state per marketplace, bulk catch-up by
listings feed, and orders pulled into the one queue."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from seamline.domain.clock import FixedClock
from seamline.integration import Integration, IntegrationSettings
from seamline.service import Seamline
from tests.conftest import receive
from tests.integration.marketplace_world import SETTINGS, AmazonWorld

SKU = "OVS-001-NVY-M"


@pytest.fixture
def integration_settings() -> IntegrationSettings:
    return SETTINGS


def damage(client: TestClient, sku: str, qty: int) -> None:
    response = client.post("/v1/movements", json={"kind": "damage", "sku": sku, "qty": qty, "from": "WH"})
    assert response.status_code == 201, response.text


def test_stock_changes_reach_the_amazon_listing_within_the_dispatchers_attempts(
    app: Seamline, client: TestClient, clock: FixedClock, integration: Integration
) -> None:
    world = AmazonWorld(app, client, clock, integration, max_wait=0.05)
    receive(client, SKU, 10)
    world.dispatch()
    assert world.sandbox.quantity(SKU) == 10
    assert world.listing(SKU)["status"] == "active"
    assert world.listing(SKU)["published_qty"] == 10

    world.sandbox.fail_next(2, status=503)  # Amazon has a bad minute
    world.sandbox.throttle_next(1, retry_after=0.2)  # and then throttles us once
    damage(client, SKU, 3)
    world.dispatch()
    assert world.sandbox.quantity(SKU) == 7 == world.atp(SKU)["available"]
    latest = max(world.rows(), key=lambda r: r["id"])
    assert latest["status"] == "delivered"
    assert latest["attempts"] <= SETTINGS.max_attempts, "the 429 did not use up an attempt"
    patches = [c.status for c in world.sandbox.operations("patchListingsItem")]
    assert patches.count(503) == 2
    assert patches.count(429) == 1


def test_a_burst_of_changes_is_coalesced_to_the_latest_number_per_sku(
    app: Seamline, client: TestClient, clock: FixedClock, integration: Integration
) -> None:
    world = AmazonWorld(app, client, clock, integration)
    receive(client, SKU, 20)
    for _ in range(5):
        damage(client, SKU, 1)
    world.dispatch()
    assert world.sandbox.quantity(SKU) == 15
    assert len(world.sandbox.operations("patchListingsItem")) == 1, "one PATCH for six changes"


def test_a_listing_amazon_refuses_is_dead_lettered_and_shows_its_issue(
    app: Seamline, client: TestClient, clock: FixedClock, integration: Integration
) -> None:
    world = AmazonWorld(app, client, clock, integration)
    response = client.put("/v1/channels/amazon/listings/OVS-001-OLV-M", json={"marketplace": "A1PA6795UKMFR9"})
    assert response.status_code == 200, response.text
    receive(client, "OVS-001-OLV-M", 4)  # not listed in the sandbox: Amazon answers INVALID
    world.dispatch()
    listing = world.listing("OVS-001-OLV-M")
    assert listing["status"] == "error"
    assert "No listing exists" in listing["last_error"]
    dead = client.get("/v1/integration/dead-letters", params={"subscriber": "amazon:amazon"}).json()["items"]
    assert len(dead) == 1
    issues = client.get("/v1/channels/amazon/listing-issues", params={"sku": "OVS-001-OLV-M"}).json()["items"]
    assert issues[0]["code"] == "SKU_NOT_FOUND"


def test_catch_up_sends_what_listings_miss_as_a_feed_and_settles_it_from_the_report(
    app: Seamline, client: TestClient, clock: FixedClock, integration: Integration
) -> None:
    world = AmazonWorld(app, client, clock, integration, subscribe=False)  # the connector was down
    linked = client.put("/v1/channels/amazon/listings/OVS-001-OLV-M", json={"marketplace": "A1PA6795UKMFR9"})
    assert linked.status_code == 200, linked.text
    receive(client, "OVS-001-NVY-S", 3)
    receive(client, "OVS-001-NVY-M", 5)
    receive(client, "OVS-001-OLV-M", 2)  # unknown to Amazon: its line will be refused
    report = world.connector.catch_up()
    assert report.listings == 5, "four NVY listings never published, and OLV-M"
    assert len(report.feeds) == 1
    imports = client.get("/v1/channels/amazon/imports").json()["items"]
    assert imports[0]["status"] == "submitted"
    assert imports[0]["lines"] == 5
    assert world.connector.catch_up().listings == 0, "lines in flight are not sent twice"
    totals = world.connector.settle_feeds()
    assert totals == {"accepted": 4, "refused": 1, "open": 0}
    assert (world.sandbox.quantity("OVS-001-NVY-S"), world.sandbox.quantity("OVS-001-NVY-M")) == (3, 5)
    assert world.listing("OVS-001-NVY-M")["status"] == "active"
    assert world.listing("OVS-001-OLV-M")["status"] == "error"
    assert client.get("/v1/channels/amazon/imports").json()["items"][0]["summary"]["messagesInvalid"] == 1
    assert world.connector.catch_up().listings == 1, "only the refused listing is still different"


def test_amazon_orders_are_pulled_into_the_one_queue_once_and_cancellations_follow(
    app: Seamline, client: TestClient, clock: FixedClock, integration: Integration
) -> None:
    world = AmazonWorld(app, client, clock, integration)
    receive(client, SKU, 6)
    world.dispatch()
    order = world.sandbox.place_order([(SKU, 2, Decimal("89.00"))])
    first = world.connector.pull_orders(integration)
    assert (first.orders, first.stored) == (1, 1)
    assert integration.inbox.drain() == 1
    queued = client.get("/v1/orders", params={"channel": "amazon"}).json()["items"]
    assert [(o["external_id"], o["kind"], o["status"]) for o in queued] == [
        (order.amazon_order_id, "marketplace", "allocated")
    ]
    assert queued[0]["lines"][0]["unit_price"] == "89.00"
    again = world.connector.pull_orders(integration)
    assert again.stored == 0, "the same order state is stored once"
    world.dispatch()
    assert world.sandbox.quantity(SKU) == 4

    clock.advance(60)
    world.sandbox.cancel_order(order.amazon_order_id)
    assert world.connector.pull_orders(integration).stored == 1
    integration.inbox.drain()
    [cancelled] = client.get("/v1/orders", params={"channel": "amazon"}).json()["items"]
    assert cancelled["status"] == "cancelled"
    world.dispatch()
    assert world.sandbox.quantity(SKU) == 6 == world.atp(SKU)["available"]
    time.sleep(0)  # keep the import used on every path


@pytest.fixture
def app_settings(tmp_path: Path) -> dict[str, Any]:
    """The hosts these channels name never resolve (reserved names; the sandbox is the transport): the operator
    allows them, as connector hosts must resolve to public addresses otherwise (issue #20)."""
    return {"drop_root": str(tmp_path), "outbound_allow": ("m.example", "sellingpartnerapi-eu.amazon.sandbox.test")}
