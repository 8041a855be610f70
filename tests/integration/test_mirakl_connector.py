"""The Mirakl connector on SQLite and PostgreSQL: stock changes become offer imports (OF01, never OF24),
imports are polled (OF02) and their error reports (OF03) recorded per SKU, and a throttled or failed round
leaves the numbers pending for the next."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from seamline.channels.mirakl.client import MiraklClient, MiraklConfig
from seamline.channels.mirakl.connector import MiraklConnector
from seamline.domain.clock import FixedClock
from seamline.integration import Integration, IntegrationSettings
from seamline.sandbox.mirakl import MiraklSandbox, SandboxConfig
from seamline.service import Seamline
from tests.conftest import receive, seed_world
from tests.integration.marketplace_world import SETTINGS

BASE = "https://marketplace.mirakl.sandbox.test"
OFFERS = ["OVS-001-NVY-M", "OVS-001-NVY-L", "OVS-001-OLV-M"]


@pytest.fixture
def integration_settings() -> IntegrationSettings:
    return SETTINGS


@pytest.fixture
def app_settings(tmp_path: Path) -> dict[str, Any]:
    """``BASE`` never resolves (the sandbox is the transport): the operator allows it, as connector hosts must
    resolve to public addresses otherwise (issue #20)."""
    return {"drop_root": str(tmp_path), "outbound_allow": ("marketplace.mirakl.sandbox.test",)}


class MiraklWorld:
    def __init__(
        self, app: Seamline, client: TestClient, clock: FixedClock, integration: Integration, **config: float
    ) -> None:
        self.http, self.integration, self.clock = client, integration, clock
        # This world drives its own connector by hand: the channel's settings must not wire a second one.
        client.app.state.wiring.builders.pop("mirakl", None)  # type: ignore[attr-defined]
        seed_world(client)
        self.sandbox = MiraklSandbox(SandboxConfig(**config), clock=clock)  # type: ignore[arg-type]
        for sku in OFFERS[:2]:  # OLV-M is linked here but has no offer at Mirakl
            self.sandbox.add_offer(
                sku, price=Decimal("89.00"), description=f"{sku} on the marketplace", leadtime_to_ship=2
            )
        settings = {"base_url": BASE, "api_key": self.sandbox.config.api_key, "min_import_interval_seconds": 60}
        response = client.put(
            "/v1/channels/mirakl", json={"kind": "mirakl", "sources": ["WH"], "pause_below": 2, "settings": settings}
        )
        assert response.status_code == 201, response.text
        for sku in OFFERS:
            assert client.put(f"/v1/channels/mirakl/listings/{sku}", json={}).status_code == 200
        self.connector = MiraklConnector(
            app,
            "mirakl",
            MiraklClient(MiraklConfig.from_settings(settings), transport=self.sandbox.transport(), sleep=clock.advance),
        )
        self.connector.install(integration)

    def listing(self, sku: str) -> dict[str, object]:
        [item] = self.http.get("/v1/channels/mirakl/listings", params={"sku": sku}).json()["items"]
        return item  # type: ignore[no-any-return]

    def quantity(self, sku: str) -> int:
        offer = self.sandbox.offer(sku)
        assert offer is not None
        return offer.quantity


def test_stock_goes_to_mirakl_by_offers_import_never_of24_and_keeps_the_offer_fields(
    app: Seamline, client: TestClient, clock: FixedClock, integration: Integration
) -> None:
    world = MiraklWorld(app, client, clock, integration)
    receive(client, "OVS-001-NVY-M", 7)
    receive(client, "OVS-001-NVY-L", 1)  # under pause_below 2: paused, 0 published
    integration.dispatcher.drain()
    assert world.listing("OVS-001-NVY-M")["status"] == "pending"
    first = world.connector.sync_once()
    assert first.uploaded is not None
    assert first.lines == 2
    assert world.connector.sync_once().settled == 1
    assert (world.quantity("OVS-001-NVY-M"), world.quantity("OVS-001-NVY-L")) == (7, 0)
    assert world.listing("OVS-001-NVY-M")["status"] == "active"
    assert world.listing("OVS-001-NVY-L")["status"] == "paused"
    offer = world.sandbox.offer("OVS-001-NVY-M")
    assert offer is not None
    assert (offer.price, offer.description, offer.leadtime_to_ship) == (
        Decimal("89.00"),
        "OVS-001-NVY-M on the marketplace",
        2,
    )
    assert world.sandbox.operations("OF24") == [], "stock never travels by OF24"
    [upload] = world.sandbox.imports.values()
    assert upload.mode == "PARTIAL_UPDATE"
    assert upload.header == ["sku", "quantity"]


def test_lines_in_error_are_recorded_against_their_sku_and_the_rest_is_accepted(
    app: Seamline, client: TestClient, clock: FixedClock, integration: Integration
) -> None:
    world = MiraklWorld(app, client, clock, integration, import_processing_seconds=30)
    receive(client, "OVS-001-NVY-M", 4)
    receive(client, "OVS-001-OLV-M", 3)  # no such offer at Mirakl
    integration.dispatcher.drain()
    assert world.connector.sync_once().lines == 2
    assert world.connector.sync_once().waiting == 1, "WAITING/RUNNING: polled, not settled"
    clock.advance(30)
    report = world.connector.sync_once()
    assert (report.settled, report.accepted, report.refused) == (1, 1, 1)
    assert world.sandbox.operations("OF03"), "the error report was read"
    broken = world.listing("OVS-001-OLV-M")
    assert broken["status"] == "error"
    assert "does not exist" in str(broken["last_error"])
    issues = client.get("/v1/channels/mirakl/listing-issues", params={"sku": "OVS-001-OLV-M"}).json()["items"]
    assert issues[0]["code"] == "OF01_LINE_ERROR"
    imports = client.get("/v1/channels/mirakl/imports").json()["items"]
    assert imports[0]["summary"]["lines_in_error"] == 1
    assert world.quantity("OVS-001-NVY-M") == 4


def test_a_throttled_round_keeps_numbers_pending_and_the_next_file_carries_the_newest(
    app: Seamline, client: TestClient, clock: FixedClock, integration: Integration
) -> None:
    world = MiraklWorld(app, client, clock, integration)
    receive(client, "OVS-001-NVY-M", 9)
    integration.dispatcher.drain()
    world.sandbox.throttle_next(1, retry_after=600)
    throttled = world.connector.sync_once()
    assert throttled.error is not None
    assert "throttled" in throttled.error
    assert world.listing("OVS-001-NVY-M")["status"] == "pending"
    client.post("/v1/movements", json={"kind": "damage", "sku": "OVS-001-NVY-M", "qty": 2, "from": "WH"})
    integration.dispatcher.drain()
    assert world.connector.sync_once(force=True).lines == 1
    world.connector.sync_once()
    assert world.quantity("OVS-001-NVY-M") == 7
    assert world.connector.sync_once().uploaded is None, "nothing pending, nothing uploaded"
