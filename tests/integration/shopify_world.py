"""A Shopify channel wired from configuration onto the in-process sandbox shop, for the webhook, handler and
outbound tests: the overshirt published to the shop, webhooks signed the way Shopify signs them."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from seamline.channels.shopify.client import ShopifyClient, ShopifyConfig
from seamline.channels.shopify.wiring import use_sandbox
from seamline.domain.clock import FixedClock
from seamline.integration import Integration
from seamline.sandbox.shopify import SandboxConfig, ShopifySandbox, WebhookDelivery, WebhookSender
from seamline.service import Seamline
from seamline.store import shopify_repo
from seamline.store.tables import inbox_messages
from tests.conftest import OVERSHIRT, seed_world
from tests.paths import FIXTURES as FIXTURE_ROOT

FIXTURES = FIXTURE_ROOT / "shopify"
SHOP = "seamline-test.myshopify.com"
SECRET = "shpss_current_0123456789abcdef"
OLD_SECRET = "shpss_previous_fedcba9876543210"
TOKEN = "shpat_test_0123456789abcdef"
CHANNEL = "shop"
URL = f"/webhooks/shopify/{CHANNEL}"
SKU = "OVS-001-NVY-M"


class ShopWorld:
    def __init__(
        self,
        client: TestClient,
        app: Seamline,
        clock: FixedClock,
        *,
        throttled_status: int = 200,
        on_shortage: str = "backorder",
        **settings: Any,
    ) -> None:
        self.client = client
        self.app = app
        self.clock = clock
        self.sandbox = use_sandbox(
            ShopifySandbox(
                SandboxConfig(shop_domain=SHOP, access_token=TOKEN, currency="EUR", throttled_status=throttled_status),
                clock=clock,
            )
        )
        self.online = self.sandbox.add_location("Online store")
        self.store_location = self.sandbox.add_location("Soho")
        self.sender = WebhookSender(SECRET, shop_domain=SHOP, clock=clock, seed=5)
        self.merchant = ShopifyClient(
            ShopifyConfig(f"http://{SHOP}/admin/api/2026-07", TOKEN),
            transport=self.sandbox.transport(),
            clock=clock,
            sleep=clock.advance,
        )
        seed_world(client)
        self.version = 0
        body = {
            "kind": "shopify",
            "sources": ["WH", "STORE-1"],
            "on_shortage": on_shortage,
            "settings": {
                "shop_domain": SHOP,
                "webhook_secrets": [SECRET, OLD_SECRET],
                "admin_api_url": "sandbox:",
                "access_token": TOKEN,
                "location_map": {str(self.online): "WH", str(self.store_location): "STORE-1"},
                "currency": "EUR",
                "max_throttle_wait_seconds": 0,
                **settings,
            },
        }
        response = client.put(f"/v1/channels/{CHANNEL}", json=body)
        assert response.status_code == 201, response.text
        self.integration: Integration = client.app.state.integration  # type: ignore[attr-defined]
        assert client.app.state.wiring.errors == {}  # type: ignore[attr-defined]

    def publish(self) -> None:
        """Change the style: StyleChanged reaches the product publisher, which fills the mapping."""
        self.version += 1
        body = {**OVERSHIRT, "attributes": {"care": f"wash cold ({self.version})"}}
        assert self.client.put("/v1/styles/OVS-001", json=body).status_code == 200
        self.integration.dispatcher.drain()

    def item(self, sku: str = SKU) -> int:
        items = self.app.read(lambda conn: shopify_repo.inventory_items(conn, CHANNEL))
        return int(items[sku])

    def available(self, sku: str = SKU) -> int | None:
        return self.sandbox.quantity(self.item(sku), self.online)

    def deliveries(self) -> list[WebhookDelivery]:
        return self.sender.from_events(self.sandbox.drain_events())

    def post(self, delivery: WebhookDelivery) -> int:
        return self.client.post(URL, content=delivery.body, headers=delivery.headers).status_code

    def send_shop_events(self) -> list[WebhookDelivery]:
        sent = self.deliveries()
        for delivery in sent:
            assert self.post(delivery) == 200
        return sent

    def process(self) -> int:
        return self.integration.inbox.drain()

    def inbox(self, **filters: Any) -> list[dict[str, Any]]:
        return self.integration.inbox.list(source=f"shopify:{CHANNEL}", limit=5000, **filters)

    def inbox_rows(self) -> int:
        return int(self.app.read(lambda conn: conn.execute(select(func.count()).select_from(inbox_messages)).scalar()))

    def fixture(self, name: str, topic: str, **changes: Any) -> WebhookDelivery:
        payload = json.loads((FIXTURES / name).read_text())
        payload.update(changes)
        return self.sender.build(topic, payload)
