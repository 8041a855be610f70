"""Issue #15: styles and stock that existed before a Shopify channel reach its shop when the channel is
wired, or when a later PUT completes it; a re-PUT sends only what the shop does not hold yet."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from seamline.channels.shopify.wiring import use_sandbox
from seamline.integration import Integration
from seamline.integration.events import STYLE_CHANGED
from seamline.sandbox.shopify import SandboxConfig, ShopifySandbox
from seamline.service import Seamline
from seamline.store.tables import outbox_events
from tests.conftest import receive, seed_world

SKU = "OVS-001-NVY-M"


def shop() -> tuple[ShopifySandbox, int]:
    sandbox = use_sandbox(
        ShopifySandbox(SandboxConfig(shop_domain=f"catch-{uuid.uuid4().hex[:8]}.myshopify.com", access_token="t"))
    )
    return sandbox, sandbox.add_location("Online store")


def channel(sandbox: ShopifySandbox, **settings: Any) -> dict[str, Any]:
    base = {
        "shop_domain": sandbox.config.shop_domain,
        "admin_api_url": "sandbox:",
        "access_token": "t",
        "webhook_secrets": ["s"],
        "currency": "EUR",
    }
    return {"kind": "shopify", "sources": ["WH"], "settings": {**base, **settings}}


def integration(client: TestClient) -> Integration:
    found: Integration = client.app.state.integration  # type: ignore[attr-defined]
    return found


def shown(sandbox: ShopifySandbox, location: int, sku: str = SKU) -> int | None:
    variant = sandbox.variant_by_sku(sku)
    return None if variant is None else sandbox.quantity(variant.inventory_item_id, location)


def style_events(app: Seamline, channel_code: str) -> int:
    query = select(func.count()).where(outbox_events.c.type == STYLE_CHANGED, outbox_events.c.channel == channel_code)
    with app.engine.connect() as conn:
        return int(conn.execute(query.select_from(outbox_events)).scalar_one())


def test_a_style_and_stock_from_before_the_channel_reach_the_shop_when_it_is_wired(
    client: TestClient, app: Seamline
) -> None:
    seed_world(client)
    receive(client, SKU, 7)
    sandbox, online = shop()
    answer = client.put("/v1/channels/shop", json=channel(sandbox))
    assert answer.json()["wiring"]["state"] == "wired"
    integration(client).dispatcher.drain()
    assert shown(sandbox, online) == 7
    first = style_events(app, "shop")
    assert first == 1
    again = client.put("/v1/channels/shop", json=channel(sandbox, max_throttle_wait_seconds=2))
    assert again.status_code == 200
    integration(client).dispatcher.drain()
    assert style_events(app, "shop") == first, "the shop holds the current version: nothing is republished"


def test_a_channel_completed_by_a_later_put_gets_the_styles_and_numbers_then(client: TestClient) -> None:
    seed_world(client)
    receive(client, SKU, 4)
    sandbox, online = shop()
    incomplete = channel(sandbox)
    del incomplete["settings"]["access_token"]
    assert client.put("/v1/channels/shop", json=incomplete).json()["wiring"]["state"] == "incomplete"
    integration(client).dispatcher.drain()
    assert sandbox.variant_by_sku(SKU) is None
    assert client.put("/v1/channels/shop", json=channel(sandbox)).json()["wiring"]["state"] == "wired"
    integration(client).dispatcher.drain()
    assert shown(sandbox, online) == 4
