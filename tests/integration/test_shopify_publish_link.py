"""The Shopify channel keeping the shop's products and fulfilments in step with Seamline: publishing a style
(idempotently, archived when discontinued), creating the fulfilment with tracking when we ship a Shopify
order, and ``seamline shopify link`` matching products the shop already had."""

from __future__ import annotations

import copy

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from seamline.catalog.model import Colour, Price, Style, Variant
from seamline.channels.shopify import mapper
from seamline.cli.context import CliContext
from seamline.cli.main import app as cli
from seamline.domain.clock import FixedClock
from seamline.service import Seamline
from seamline.store import shopify_repo
from tests.conftest import ADMIN_TOKEN, OVERSHIRT, receive
from tests.integration.shopify_world import CHANNEL, SKU, ShopWorld


def product_sets(world: ShopWorld) -> list[dict[str, object]]:
    return [c.variables for c in world.sandbox.calls if c.root_fields == ("productSet",)]


def test_a_changed_style_is_published_as_one_product_with_colour_size_sku_barcode_and_price(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    world.publish()
    sent = product_sets(world)
    assert len(sent) == 2
    assert sent[0]["identifier"] == {"handle": "ovs-001"}
    product = app.read(lambda conn: shopify_repo.product_of_style(conn, CHANNEL, "OVS-001"))
    assert product is not None
    assert sent[1]["identifier"] == {"id": f"gid://shopify/Product/{product['product_id']}"}, "the second updates"
    assert len(world.sandbox.shop.products) == 1
    variant = world.sandbox.variant_by_sku(SKU)
    assert variant is not None
    assert (variant.barcode, str(variant.price)) == ("5012345678900", "89.00")
    first = sent[0]["input"]
    assert isinstance(first, dict)
    assert [o["name"] for o in first["productOptions"]] == ["Colour", "Size"]
    assert len(app.read(lambda conn: shopify_repo.inventory_items(conn, CHANNEL))) == 8


def test_stock_received_before_the_style_was_published_shows_in_the_shop_once_it_is(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    receive(client, SKU, 5)
    world.integration.dispatcher.drain()  # nothing linked yet: nothing to set, nothing dead-lettered
    world.publish()
    assert world.available() == 5
    [status] = [s for s in world.integration.status()["subscribers"] if s["name"] == f"shopify:{CHANNEL}"]
    assert status["dead_letters"] == 0


def test_a_discontinued_style_is_archived_in_the_shop(client: TestClient, app: Seamline, clock: FixedClock) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    body = {**OVERSHIRT, "status": "discontinued"}
    assert client.put("/v1/styles/OVS-001", json=body).status_code == 200
    world.integration.dispatcher.drain()
    [product] = world.sandbox.shop.products.values()
    assert product.status == "ARCHIVED"


def test_shipping_a_shopify_order_here_creates_its_fulfilment_with_tracking_and_the_echo_changes_nothing(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    receive(client, SKU, 3)
    placed = world.sandbox.place_order([(SKU, 2)])
    world.send_shop_events()
    world.process()
    [order] = client.get("/v1/orders", params={"channel": CHANNEL}).json()["items"]
    for step in ("pick", "pack"):
        assert client.post(f"/v1/orders/{order['id']}/{step}").status_code == 200
    assert client.post(f"/v1/orders/{order['id']}/ship", json={"tracking": "1Z42"}).status_code == 200
    world.integration.dispatcher.drain()
    shop_order = world.sandbox.shop.orders[placed.id]
    [fulfillment_id] = shop_order.fulfillment_ids
    fulfillment = world.sandbox.shop.fulfillments[fulfillment_id]
    assert [t.number for t in fulfillment.tracking] == ["1Z42"]
    echo = world.send_shop_events()
    assert "fulfillments/create" in [d.topic for d in echo]
    world.process()
    after = client.get(f"/v1/orders/{order['id']}").json()
    assert (after["status"], after["tracking"]) == ("shipped", "1Z42")
    world.integration.dispatcher.drain()
    assert len(world.sandbox.shop.orders[placed.id].fulfillment_ids) == 1


def test_a_partial_shipment_here_fulfils_only_its_lines_in_shopify_with_its_carrier(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    other = "OVS-001-OLV-L"
    receive(client, SKU, 3)
    receive(client, other, 3)
    placed = world.sandbox.place_order([(SKU, 2), (other, 1)])
    world.send_shop_events()
    world.process()
    [order] = client.get("/v1/orders", params={"channel": CHANNEL}).json()["items"]
    pick = {"lines": [{"sku": SKU, "qty": 2}]}
    assert client.post(f"/v1/orders/{order['id']}/pick", json=pick).status_code == 200
    assert client.post(f"/v1/orders/{order['id']}/pack").status_code == 200
    shipped = client.post(f"/v1/orders/{order['id']}/ship", json={"tracking": "JD1", "carrier": "DHL"})
    assert shipped.status_code == 200, shipped.text
    world.integration.dispatcher.drain()
    shop_order = world.sandbox.shop.orders[placed.id]
    [fulfillment_id] = shop_order.fulfillment_ids
    fulfillment = world.sandbox.shop.fulfillments[fulfillment_id]
    skus = {line.id: line.sku for line in shop_order.line_items}
    assert [(skus[item], qty) for item, qty in fulfillment.lines] == [(SKU, 2)], "only what left here"
    assert [(t.company, t.number) for t in fulfillment.tracking] == [("DHL", "JD1")]


def existing_product(world: ShopWorld) -> None:
    """The shop had the overshirt before Seamline: one variant without a SKU, only its barcode."""
    style = Style(
        "OVS-001",
        "Navy overshirt",
        "SS27",
        "shirts",
        tuple(OVERSHIRT["size_scale"]),
        tuple(Colour(c["code"], c["name"]) for c in OVERSHIRT["colours"]),
        tuple(Variant(v["sku"], v["colour"], v["size"], v["gtin"].zfill(14)) for v in OVERSHIRT["variants"]),
        prices=(Price("retail", "EUR", OVERSHIRT["prices"][0]["amount"]),),
    )
    variables = copy.deepcopy(mapper.product_set_variables(style, currency="EUR"))
    variables["input"]["variants"][1]["inventoryItem"].pop("sku")  # OVS-001-NVY-M: barcode only
    assert world.merchant.publish_product(variables).ok


def test_seamline_shopify_link_matches_by_sku_then_gtin_and_replays_orders_held_for_unknown_skus(
    client: TestClient, app: Seamline, clock: FixedClock, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = ShopWorld(client, app, clock)
    existing_product(world)
    receive(client, SKU, 3)
    world.sandbox.drain_events()
    world.sandbox.place_order([("OVS-001-NVY-S", 1)])
    [created] = [d for d in world.deliveries() if d.topic == "orders/create"]
    payload = created.payload()
    [barcode_only] = [v for v in world.sandbox.shop.variants.values() if v.sku is None]
    payload["line_items"][0].update(sku=None, variant_id=barcode_only.id)  # a line naming only the variant
    assert world.post(world.sender.build("orders/create", payload)) == 200
    for _ in range(5):
        world.process()
        clock.advance(3600)
    [held] = world.inbox(status="held")
    assert "hold_unknown_sku" in held["reason"]
    assert world.inbox(status="failed") == []
    monkeypatch.setenv("SEAMLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("SEAMLINE_ADMIN_TOKEN", ADMIN_TOKEN)
    result = CliRunner().invoke(cli, ["shopify", "link", "--channel", CHANNEL], obj=CliContext(clock))
    assert result.exit_code == 0, result.output
    assert "linked by SKU" in result.output
    links = app.read(lambda conn: shopify_repo.linked_skus(conn, CHANNEL))
    assert links[SKU] == "link_gtin"
    assert sorted(s for s, how in links.items() if how == "link_sku") == sorted(
        v["sku"] for v in OVERSHIRT["variants"] if v["sku"] != SKU
    )
    assert app.read(lambda conn: shopify_repo.product_of_style(conn, CHANNEL, "OVS-001")) is not None
    located = app.read(lambda conn: shopify_repo.location_codes(conn, CHANNEL))
    assert located == {str(world.store_location): "STORE-1"}, "Soho matched by name; the online store by nothing"
    world.process()
    [order] = client.get("/v1/orders", params={"channel": CHANNEL}).json()["items"]
    assert [(line["sku"], line["qty"]) for line in order["lines"]] == [(SKU, 1)]
    again = CliRunner().invoke(cli, ["shopify", "link", "--channel", CHANNEL], obj=CliContext(clock))
    assert again.exit_code == 0, again.output
    assert app.read(lambda conn: shopify_repo.linked_skus(conn, CHANNEL)) == links
