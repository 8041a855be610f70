"""A shared world for the marketplace tests: the overshirt catalog, an Amazon channel wired to the Amazon
sandbox (same fixed clock), and helpers to run the dispatcher and read listings."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from seamline.channels.amazon.client import AmazonClient, AmazonConfig
from seamline.channels.amazon.connector import AmazonConnector
from seamline.domain.clock import FixedClock
from seamline.integration import Integration, IntegrationSettings
from seamline.sandbox.amazon import AmazonSandbox, SandboxConfig
from seamline.service import Seamline
from seamline.store.tables import deliveries
from tests.conftest import seed_world

MARKETPLACE = "A1PA6795UKMFR9"
SETTINGS = IntegrationSettings(
    max_attempts=4, backoff_base_seconds=1.0, backoff_cap_seconds=60.0, poll_seconds=0.2, lease_seconds=30.0
)
SKUS = ["OVS-001-NVY-S", "OVS-001-NVY-M", "OVS-001-NVY-L", "OVS-001-NVY-XL"]


def amazon_settings(sandbox: AmazonSandbox, **extra: Any) -> dict[str, Any]:
    return {
        "endpoint": "https://sellingpartnerapi-eu.amazon.sandbox.test",
        "seller_id": sandbox.config.seller_id,
        "access_token": sandbox.config.access_token,
        "marketplace_ids": [MARKETPLACE],
        "product_type": "SHIRT",
        **extra,
    }


class AmazonWorld:
    def __init__(
        self,
        app: Seamline,
        client: TestClient,
        clock: FixedClock,
        integration: Integration,
        *,
        pause_below: int = 0,
        max_wait: float = 30.0,
        subscribe: bool = True,
        sources: tuple[str, ...] = ("WH",),
    ) -> None:
        self.app, self.http, self.clock, self.integration = app, client, clock, integration
        # This world drives its own connector (on the fixed clock, sleeping by advancing it): the channel's
        # settings must not wire a second one (test_marketplace_wiring covers wiring from settings).
        client.app.state.wiring.builders.pop("amazon", None)  # type: ignore[attr-defined]
        seed_world(client)
        self.sandbox = AmazonSandbox(SandboxConfig(), clock=clock)
        for sku in SKUS:
            self.sandbox.add_listing(sku, "SHIRT", quantity=0)
        settings = amazon_settings(self.sandbox)
        response = client.put(
            "/v1/channels/amazon",
            json={
                "kind": "amazon",
                "sources": list(sources),
                "pause_below": pause_below,
                "on_shortage": "backorder",
                "settings": settings,
            },
        )
        assert response.status_code in (200, 201), response.text
        config = replace(AmazonConfig.from_settings(settings), max_throttle_wait_seconds=max_wait)
        for sku in SKUS:
            linked = client.put(f"/v1/channels/amazon/listings/{sku}", json={"marketplace": MARKETPLACE})
            assert linked.status_code == 200, linked.text
        self.amazon = AmazonClient(config, transport=self.sandbox.transport(), clock=clock, sleep=clock.advance)
        self.connector = AmazonConnector(app, "amazon", self.amazon, currency="EUR")
        if subscribe:
            self.connector.install(integration)
        else:
            integration.handlers.register("amazon:amazon", "order", self.connector.order_handler())

    def dispatch(self, rounds: int = 20) -> None:
        """Run the dispatcher until nothing is pending: the fixed clock jumps over backoffs, and real time
        over the dispatcher's own (monotonic) rate-limit pauses."""
        for _ in range(rounds):
            if not self.integration.dispatcher.drain() and not self.pending():
                return
            self.clock.advance(60)
            time.sleep(0.05)
        raise AssertionError(f"deliveries still pending: {self.pending()}")

    def pending(self) -> list[dict[str, Any]]:
        with self.app.engine.connect() as conn:
            rows = conn.execute(
                select(deliveries).where(deliveries.c.subscriber == "amazon:amazon", deliveries.c.status == "pending")
            )
            return [dict(r) for r in rows.mappings()]

    def rows(self) -> list[dict[str, Any]]:
        with self.app.engine.connect() as conn:
            rows = conn.execute(select(deliveries).where(deliveries.c.subscriber == "amazon:amazon"))
            return [dict(r) for r in rows.mappings()]

    def listing(self, sku: str) -> dict[str, Any]:
        items = self.http.get("/v1/channels/amazon/listings", params={"sku": sku}).json()["items"]
        assert len(items) == 1, items
        item: dict[str, Any] = items[0]
        return item

    def atp(self, sku: str) -> dict[str, Any]:
        items = self.http.get("/v1/availability/amazon", params={"sku": sku}).json()["items"]
        item: dict[str, Any] = items[0]
        return item
