"""Shopify deliveries that cannot apply *yet* are held, never lost or failed (issue 21): a channel configured
with its webhook secret before its Admin API takes its orders in at once; refunds and fulfilments that arrive
before their order wait for it and apply when it comes, in a shuffled burst too."""

from __future__ import annotations

import json
import random
from typing import Any

from fastapi.testclient import TestClient

from seamline.channels.shopify.wiring import use_sandbox
from seamline.domain.clock import FixedClock
from seamline.integration import Integration
from seamline.sandbox.shopify import SandboxConfig, ShopifySandbox, WebhookSender
from seamline.service import Seamline
from seamline.store import shopify_repo
from tests.conftest import receive, seed_world
from tests.integration.helpers import stock_of
from tests.integration.shopify_world import CHANNEL, FIXTURES, SECRET, SHOP, SKU, TOKEN, URL, ShopWorld
from tests.integration.test_dashboard_pages import log_in
from tests.integration.test_shopify_webhooks import fulfilled_outside


def _orders(client: TestClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/v1/orders", params={"channel": CHANNEL, "limit": 200}).json()["items"]
    return items


def test_a_channel_wired_in_two_steps_takes_its_orders_from_the_first_and_pushes_from_the_second(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    sandbox = use_sandbox(
        ShopifySandbox(SandboxConfig(shop_domain=SHOP, access_token=TOKEN, currency="EUR"), clock=clock)
    )
    online = sandbox.add_location("Online store")
    sender = WebhookSender(SECRET, shop_domain=SHOP, clock=clock, seed=11)
    seed_world(client)
    receive(client, SKU, 3)
    settings: dict[str, Any] = {
        "shop_domain": SHOP,
        "webhook_secrets": [SECRET],
        "currency": "EUR",
        "accept_test_orders": True,
        "location_map": {str(online): "WH"},
    }
    first = client.put(f"/v1/channels/{CHANNEL}", json={"kind": "shopify", "sources": ["WH"], "settings": settings})
    assert first.status_code == 201, first.text
    assert sorted(first.json()["wiring"]["missing"]) == ["access_token", "admin_api_url"]

    # Shopify's own orders/create, for one unit of a SKU of ours in the channel's currency.
    payload = json.loads((FIXTURES / "orders_create.json").read_text())
    payload.update(currency="EUR", presentment_currency="EUR")
    payload["line_items"] = [{**payload["line_items"][0], "sku": SKU, "quantity": 1, "variant_id": None}]
    delivery = sender.build("orders/create", payload)
    assert client.post(URL, content=delivery.body, headers=delivery.headers).status_code == 200
    integration: Integration = client.app.state.integration  # type: ignore[attr-defined]
    integration.inbox.drain()
    [order] = _orders(client)
    assert order["external_id"] == str(payload["id"])
    assert [(line["sku"], line["qty"]) for line in order["lines"]] == [(SKU, 1)]
    assert stock_of(client, SKU, "WH")["committed"] == 1
    assert integration.inbox.list(status="held") == integration.inbox.list(status="rejected") == []

    # The second step: the Admin API. The catch-up publishes the style and the number the ledger holds.
    settings.update(admin_api_url="sandbox:", access_token=TOKEN, max_throttle_wait_seconds=0)
    second = client.put(f"/v1/channels/{CHANNEL}", json={"kind": "shopify", "sources": ["WH"], "settings": settings})
    assert second.status_code == 200, second.text
    assert second.json()["wiring"]["missing"] == []
    for _ in range(3):
        integration.dispatcher.drain()
    item = app.read(lambda conn: shopify_repo.inventory_items(conn, CHANNEL)).get(SKU)
    assert item is not None, "the style was published to the shop by the catch-up"
    assert sandbox.quantity(int(item), online) == 2, "the shop shows the ledger's number: 3 on hand, 1 sold"
    assert len(_orders(client)) == 1


def test_a_shuffled_burst_of_orders_fulfilments_and_refunds_leaves_nothing_held_or_failed(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    receive(client, SKU, 40)
    world.integration.dispatcher.drain()
    world.sandbox.drain_events()
    deliveries = []
    placed = [world.sandbox.place_order([(SKU, 1)]) for _ in range(12)]
    deliveries += world.deliveries()
    for order in placed:
        fulfilled_outside(world, order.id)
    deliveries += world.deliveries()
    for order in placed[:6]:
        world.sandbox.refund(order.id, [(SKU, 1, "return")], location_id=world.online)
    deliveries += world.deliveries()
    topics = {d.topic for d in deliveries}
    assert {"orders/create", "fulfillments/create", "refunds/create"} <= topics
    random.Random(21).shuffle(deliveries)
    for delivery in deliveries:
        assert world.post(delivery) == 200
    world.process()  # no clock advance: what waited for its order applies as soon as the order does
    statuses = {m["status"] for m in world.inbox()}
    assert statuses <= {"processed", "stale"}, [m for m in world.inbox() if m["status"] not in ("processed", "stale")]
    orders = _orders(client)
    assert len(orders) == 12
    assert sorted(o["status"] for o in orders) == ["shipped"] * 12
    assert sum(line["returned"] for o in orders for line in o["lines"]) == 6
    assert stock_of(client, SKU, "WH")["on_hand"] == 40 - 12 + 6


def test_a_held_delivery_is_on_the_exceptions_page_with_why_and_what_it_waits_for(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    receive(client, SKU, 2)
    placed = world.sandbox.place_order([(SKU, 1)])
    world.sandbox.drain_events()  # the order's own delivery is lost on the way: only its fulfilment arrives
    fulfilled_outside(world, placed.id)
    world.send_shop_events()
    world.process()
    [held] = world.inbox(status="held")
    assert held["message_type"] == "fulfillments/create"
    page = log_in(client, next_url="/exceptions").get("/exceptions").text
    card = page.split('data-testid="waiting-messages"', 1)[1].split("</section>", 1)[0]
    assert 'data-status="held"' in card
    assert f"order {placed.id} is not known yet" in card
    assert f"order:{placed.id}" in card


def test_a_shopify_pos_sale_is_a_till_sale_at_its_store_not_a_web_order_from_the_warehouse(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    receive(client, SKU, 5)  # WH
    receive(client, SKU, 3, to="STORE-1")
    world.integration.dispatcher.drain()
    world.sandbox.drain_events()
    sale = world.sandbox.place_order([(SKU, 2)], location_id=world.store_location, source_name="pos")
    world.send_shop_events()
    world.process()
    [order] = _orders(client)
    assert order["external_id"] == str(sale.id)
    assert order["kind"] == "pos"
    assert order["location"] == "STORE-1"
    assert stock_of(client, SKU, "STORE-1")["on_hand"] == 1, "taken from the store's shelf"
    assert stock_of(client, SKU, "WH")["on_hand"] == 5, "nothing allocated from the warehouse"
    assert stock_of(client, SKU, "WH")["committed"] == 0
    assert sum(t["amount"] != "0" for t in order["tenders"]) >= 1


def test_a_shopify_pos_sale_at_an_unmapped_location_is_held_until_it_is_mapped(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    receive(client, SKU, 3, to="STORE-1")
    popup = world.sandbox.add_location("Pop-up")
    world.sandbox.drain_events()
    world.sandbox.place_order([(SKU, 1)], location_id=popup, source_name="pos")
    world.send_shop_events()
    world.process()
    [held] = world.inbox(status="held")
    assert f"location {popup}" in held["reason"]
    assert _orders(client) == []
