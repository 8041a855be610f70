"""Auto-pause on SQLite and PostgreSQL: a marketplace listing is set to 0 when a run of sales takes its ATP
under the channel's pause threshold, and restored when stock is received; each pause and restore is logged
with the change that caused it, and shows on the channel and in the integration status."""

from __future__ import annotations

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
def app_settings(tmp_path: Path) -> dict[str, Any]:
    """The sandbox Amazon's host never resolves (the sandbox is the transport): the operator allows it (#20)."""
    return {"drop_root": str(tmp_path), "outbound_allow": ("sellingpartnerapi-eu.amazon.sandbox.test",)}


@pytest.fixture
def integration_settings() -> IntegrationSettings:
    return SETTINGS


def web_order(client: TestClient, external_id: str, qty: int) -> None:
    body = {"channel": "web", "external_id": external_id, "lines": [{"sku": SKU, "qty": qty}], "currency": "EUR"}
    response = client.post("/v1/orders", json=body)
    assert response.status_code == 201, response.text


def test_a_listing_pauses_at_its_threshold_during_a_run_of_sales_and_unpauses_on_receipt(
    app: Seamline, client: TestClient, clock: FixedClock, integration: Integration
) -> None:
    world = AmazonWorld(app, client, clock, integration, pause_below=3)
    receive(client, SKU, 8)
    world.dispatch()
    assert world.sandbox.quantity(SKU) == 8

    shown = []
    for n, (where, qty) in enumerate([("amazon", 2), ("web", 2), ("amazon", 1), ("web", 1)]):
        clock.advance(60)
        if where == "amazon":
            world.sandbox.place_order([(SKU, qty, Decimal("89.00"))])
            world.connector.pull_orders(integration)
            integration.inbox.drain()
        else:
            web_order(client, f"web-{n}", qty)
        world.dispatch()
        shown.append(world.sandbox.quantity(SKU))
    assert shown == [6, 4, 3, 0], "at ATP 2, under the threshold of 3, Amazon is told 0"
    assert world.atp(SKU) == {"sku": SKU, "available": 0, "atp": 2, "paused": True}
    assert world.listing(SKU)["status"] == "paused"
    pauses = client.get("/v1/channels/amazon/pauses", params={"sku": SKU}).json()
    assert [(p["action"], p["atp"], p["pause_below"]) for p in pauses["items"]] == [("paused", 2, 3)]
    assert SKU in pauses["paused_now"]

    supply = {"kind": "po", "location": "WH", "expected_on": "2026-11-28", "lines": [{"sku": SKU, "qty": 10}]}
    assert client.put("/v1/inbound-supply/PO-77", json=supply).status_code == 201
    assert client.post("/v1/inbound-supply/PO-77/receive", json={}).status_code == 200
    world.dispatch()
    assert world.sandbox.quantity(SKU) == 12
    assert world.listing(SKU)["status"] == "active"
    pauses = client.get("/v1/channels/amazon/pauses", params={"sku": SKU}).json()
    assert [(p["action"], p["atp"]) for p in pauses["items"]] == [("paused", 2), ("restored", 12)]
    assert SKU not in pauses["paused_now"]
    status = client.get("/v1/integration/status").json()["listings"]["amazon"]
    assert status["restores"] == 1
    assert status["pauses"] >= 1  # the pack, whose L and XL have no stock, has been paused from the start
    assert status["listings"]["active"] == 1


def test_the_pause_log_is_written_with_the_published_number_not_by_a_delivery(
    app: Seamline, client: TestClient, clock: FixedClock, integration: Integration
) -> None:
    world = AmazonWorld(app, client, clock, integration, pause_below=5)
    receive(client, SKU, 4)  # first computed under the threshold: paused at once
    integration.availability.flush()
    logged = client.get("/v1/channels/amazon/pauses", params={"sku": SKU}).json()["items"]
    assert [(p["sku"], p["action"], p["atp"]) for p in logged] == [(SKU, "paused", 4)]
    assert world.pending(), "the push to Amazon is still to be delivered; the log is already there"
    assert client.get("/v1/channels/web/pauses").json()["items"] == [], "web has no threshold"
