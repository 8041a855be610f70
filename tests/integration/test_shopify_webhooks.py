"""``POST /webhooks/shopify/{channel}`` and the topic handlers behind it: signed deliveries (from the sandbox
shop and Shopify's own fixtures) stored once, then applied through the order queue, the ledger and the
master by the inbox worker."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from seamline.channels.canonical import Tracking
from seamline.domain.clock import FixedClock
from seamline.sandbox.shopify import sign
from seamline.service import Seamline
from seamline.store import shopify_repo
from tests.conftest import receive
from tests.integration.helpers import assert_problem, stock_of
from tests.integration.shopify_world import CHANNEL, OLD_SECRET, SKU, URL, ShopWorld

OTHER = "OVS-001-OLV-L"


def orders_of(client: TestClient) -> list[dict[str, object]]:
    items: list[dict[str, object]] = client.get("/v1/orders", params={"channel": CHANNEL}).json()["items"]
    return items


# ---------------------------------------------------------------------------------------------- the route
def test_a_signed_delivery_is_stored_once_and_answered_200_even_when_repeated(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    delivery = world.fixture("inventory_levels_update.json", "inventory_levels/update")
    before = world.inbox_rows()
    first = client.post(URL, content=delivery.body, headers=delivery.headers)
    again = client.post(URL, content=delivery.body, headers=delivery.headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["duplicate"] is False
    assert again.json()["duplicate"] is True
    assert world.inbox_rows() == before + 1
    [row] = world.inbox()
    assert row["external_id"] == f"seamline-test.myshopify.com/{delivery.webhook_id}"
    assert row["message_type"] == "inventory_levels/update"
    assert row["headers"]["x-shopify-event-id"] == delivery.event_id
    assert row["headers"]["x-shopify-triggered-at"] == delivery.headers["X-Shopify-Triggered-At"]
    assert row["duplicates"] == 1


def test_a_delivery_signed_with_the_previous_secret_during_a_rotation_is_accepted(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    delivery = world.fixture("inventory_levels_update.json", "inventory_levels/update")
    headers = {**delivery.headers, "X-Shopify-Hmac-Sha256": sign(OLD_SECRET, delivery.body)}
    assert client.post(URL, content=delivery.body, headers=headers).status_code == 200
    assert len(world.inbox()) == 1


def test_a_bad_or_missing_signature_is_401_problem_json_and_nothing_is_stored(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    delivery = world.fixture("orders_create.json", "orders/create")
    before = world.inbox_rows()
    tampered = delivery.body.replace(b'"quantity":1', b'"quantity":9', 1)
    assert tampered != delivery.body
    missing = {k: v for k, v in delivery.headers.items() if k != "X-Shopify-Hmac-Sha256"}
    for body, headers in (
        (tampered, delivery.headers),
        (delivery.body, missing),
        (delivery.body, {**delivery.headers, "X-Shopify-Hmac-Sha256": sign("not-our-secret", delivery.body)}),
        (delivery.body, {**delivery.headers, "X-Shopify-Hmac-Sha256": "not base64!"}),
    ):
        assert_problem(client.post(URL, content=body, headers=headers), 401, "invalid-webhook-signature")
    assert world.inbox_rows() == before


def test_a_signed_delivery_without_its_webhook_id_is_400_and_one_from_another_shop_is_401(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    delivery = world.fixture("inventory_levels_update.json", "inventory_levels/update")
    before = world.inbox_rows()
    no_id = {k: v for k, v in delivery.headers.items() if k != "X-Shopify-Webhook-Id"}
    assert_problem(client.post(URL, content=delivery.body, headers=no_id), 400, "invalid-webhook")
    other_shop = {**delivery.headers, "X-Shopify-Shop-Domain": "someone-else.myshopify.com"}
    assert_problem(client.post(URL, content=delivery.body, headers=other_shop), 401, "invalid-webhook-signature")
    assert world.inbox_rows() == before


def test_a_delivery_for_an_unknown_channel_is_404_and_needs_no_token(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    delivery = world.fixture("inventory_levels_update.json", "inventory_levels/update")
    client.headers.pop("Authorization")
    assert_problem(
        client.post("/webhooks/shopify/nowhere", content=delivery.body, headers=delivery.headers),
        404,
        "unknown-channel",
    )
    assert client.post(URL, content=delivery.body, headers=delivery.headers).status_code == 200


# ---------------------------------------------------------------------------------------------- orders
def test_a_shopify_order_enters_the_one_queue_allocated_with_its_customer_matched(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    receive(client, SKU, 3)
    world.sandbox.place_order([(SKU, 2)], email="Ada.Buyer@Example.com", name=("Ada", "Buyer"))
    world.send_shop_events()
    world.process()
    [order] = orders_of(client)
    assert order["kind"] == "dtc"
    assert order["status"] == "allocated"
    assert [(line["sku"], line["qty"], line["unit_price"]) for line in order["lines"]] == [(SKU, 2, "89.00")]
    assert order["customer_id"] is not None
    customer = client.get(f"/v1/customers/{order['customer_id']}").json()
    assert customer["email"] == "ada.buyer@example.com"
    assert stock_of(client, SKU, "WH")["committed"] == 2


def test_gift_cards_and_custom_items_take_no_stock_and_an_order_of_only_custom_items_is_ignored(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    """Gift card lines issue cards (issue 17), custom items are money only; neither takes stock. An order of
    only gift cards is applied (its cards are issued); one of only custom items has nothing for us."""
    world = ShopWorld(client, app, clock)
    world.publish()
    receive(client, SKU, 3)
    world.sandbox.place_order([(SKU, 1)], gift_cards=[Decimal("50.00")], custom_items=[("Monogram", Decimal("10.00"))])
    world.sandbox.place_order([], gift_cards=[Decimal("25.00")])
    world.sandbox.place_order([], custom_items=[("Alteration", Decimal("15.00"))])
    world.send_shop_events()
    world.process()
    [order] = orders_of(client)
    assert [(line["sku"], line["qty"]) for line in order["lines"]] == [(SKU, 1)]
    [ignored] = world.inbox(status="rejected")
    assert "ignore_nothing_to_fulfil" in ignored["reason"]
    cards = client.get("/v1/gift-cards").json()["items"]
    assert sorted(card["balance"] for card in cards) == ["25.00", "50.00"]


def test_shopify_sample_order_is_a_test_order_and_is_ignored_unless_the_channel_accepts_them(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.post(world.fixture("orders_create.json", "orders/create"))
    world.process()
    [ignored] = world.inbox(status="rejected")
    assert "ignore_test_order" in ignored["reason"]
    assert orders_of(client) == []


def test_an_order_in_a_foreign_currency_is_held_not_placed(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock, accept_test_orders=True)
    world.post(world.fixture("orders_create.json", "orders/create"))  # USD, the channel sells in EUR
    world.process()
    [held] = world.inbox(status="held")
    assert held["attempts"] == 0, "a hold spends no attempts: it never ends failed for want of a person"
    assert "hold_foreign_currency" in held["reason"]
    assert orders_of(client) == []
    for _ in range(8):  # rechecked, still held: a day later it is still there for a person, never failed
        clock.advance(3 * 3600)
        world.process()
    assert [m["status"] for m in world.inbox()] == ["held"]


def test_an_order_with_an_unknown_sku_is_held_naming_it_until_the_sku_exists(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock, accept_test_orders=True, currency="USD")
    world.post(world.fixture("orders_create.json", "orders/create"))
    world.process()
    [held] = world.inbox(status="held")
    assert "hold_unknown_sku" in held["reason"]
    assert "SKU2006-001" in held["reason"]
    assert orders_of(client) == []
    assert world.integration.inbox.retry(held["id"]), "an operator can send a held message back in line"
    world.process()
    assert [m["status"] for m in world.inbox()] == ["held"], "the SKU is still unknown"


def test_a_cancelled_order_is_cancelled_and_its_units_released(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    receive(client, SKU, 3)
    placed = world.sandbox.place_order([(SKU, 2)])
    world.send_shop_events()
    world.process()
    assert stock_of(client, SKU, "WH")["available"] == 1
    world.sandbox.cancel_order(placed.id)
    world.send_shop_events()
    world.process()
    [order] = orders_of(client)
    assert order["status"] == "cancelled"
    assert stock_of(client, SKU, "WH")["available"] == 3


def test_a_cancellation_that_arrives_before_its_order_places_and_cancels_it_once(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    receive(client, SKU, 3)
    placed = world.sandbox.place_order([(SKU, 2)])
    created = world.deliveries()
    world.sandbox.cancel_order(placed.id)
    for delivery in [*world.deliveries(), *created]:
        assert world.post(delivery) == 200
    world.process()
    [order] = orders_of(client)
    assert order["status"] == "cancelled"
    assert stock_of(client, SKU, "WH")["available"] == 3


def test_a_buyer_email_our_matcher_refuses_does_not_lose_the_order(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    receive(client, SKU, 1)
    world.sandbox.place_order([(SKU, 1)], email="not an email")
    world.send_shop_events()
    world.process()
    [order] = orders_of(client)
    assert (order["status"], order["customer_id"]) == ("allocated", None)


def test_an_order_short_of_stock_is_held_on_a_channel_that_rejects_shortages_and_backordered_otherwise(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock, on_shortage="reject")
    world.publish()
    world.sandbox.set_quantity(world.item(), world.online, 5)  # the shop thinks it has some; we have none
    world.sandbox.drain_events()
    world.sandbox.place_order([(SKU, 2)])
    world.send_shop_events()
    world.process()
    [held] = [m for m in world.inbox(status="received") if m["message_type"] == "orders/create"]
    assert "insufficient" in held["reason"].lower() or "not enough" in held["reason"].lower()
    assert orders_of(client) == []
    body = client.get(f"/v1/channels/{CHANNEL}").json()
    body.pop("code")
    body["settings"] = {k: v for k, v in body["settings"].items() if v != "***"}  # secrets are kept as stored
    body["on_shortage"] = "backorder"
    assert client.put(f"/v1/channels/{CHANNEL}", json=body).status_code == 200
    clock.advance(3600)
    world.process()
    [order] = orders_of(client)
    assert order["status"] == "backordered"
    assert client.app.state.wiring.errors == {}  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------- fulfilments, refunds
def fulfilled_outside(world: ShopWorld, order_id: int, number: str = "1Z999") -> None:
    result = world.merchant.create_fulfillment(str(order_id), Tracking("UPS", number))
    assert result.fulfillment_id is not None


def test_an_order_fulfilled_in_shopify_is_picked_and_shipped_here_with_its_tracking(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    receive(client, SKU, 3)
    placed = world.sandbox.place_order([(SKU, 2)])
    world.send_shop_events()
    world.process()
    fulfilled_outside(world, placed.id)
    world.send_shop_events()
    world.process()
    [order] = orders_of(client)
    assert order["status"] == "shipped"
    assert order["tracking"] == "UPS 1Z999"
    assert stock_of(client, SKU, "WH")["on_hand"] == 1


def test_a_refund_returns_restocked_lines_at_the_mapped_location_and_no_restock_lines_as_damaged(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    receive(client, SKU, 3)
    receive(client, OTHER, 3)
    placed = world.sandbox.place_order([(SKU, 2), (OTHER, 1)])
    world.send_shop_events()
    world.process()
    fulfilled_outside(world, placed.id)
    world.send_shop_events()
    world.process()
    refunded = [(SKU, 1, "return"), (OTHER, 1, "no_restock")]
    world.sandbox.refund(placed.id, refunded, location_id=world.store_location)
    [refund] = world.deliveries()
    assert world.post(refund) == 200
    assert world.post(refund) == 200
    world.process()
    [order] = orders_of(client)
    [return_id] = client.get(f"/v1/orders/{order['id']}").json()["returns"]
    ret = client.get(f"/v1/returns/{return_id}").json()
    assert ret["location"] == "STORE-1"
    assert sorted((line["sku"], line["condition"]) for line in ret["lines"]) == [
        (SKU, "sellable"),
        (OTHER, "damaged"),
    ]
    assert stock_of(client, SKU, "STORE-1")["on_hand"] == 1
    assert stock_of(client, OTHER, "STORE-1")["on_hand"] == 0
    assert stock_of(client, OTHER, "damaged")["on_hand"] == 1


def test_a_refund_cancelling_every_unshipped_unit_cancels_the_order_and_a_partial_one_is_held(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    receive(client, SKU, 5)
    whole = world.sandbox.place_order([(SKU, 2)])
    part = world.sandbox.place_order([(SKU, 2)])
    world.send_shop_events()
    world.process()
    world.sandbox.refund(whole.id, [(SKU, 2, "cancel")], location_id=world.online)
    world.sandbox.refund(part.id, [(SKU, 1, "cancel")], location_id=world.online)
    world.send_shop_events()
    world.process()
    by_external = {o["external_id"]: o for o in orders_of(client)}
    assert by_external[str(whole.id)]["status"] == "cancelled"
    assert by_external[str(part.id)]["status"] == "allocated"
    [held] = [m for m in world.inbox(status="held") if m["message_type"] == "refunds/create"]
    assert "partial cancellation" in held["reason"]
    assert stock_of(client, SKU, "WH")["committed"] == 2


def test_a_refund_before_its_order_waits_for_it_and_applies_once(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    receive(client, SKU, 3)
    placed = world.sandbox.place_order([(SKU, 1)])
    created = world.deliveries()
    fulfilled_outside(world, placed.id)
    fulfilled = world.deliveries()
    world.sandbox.refund(placed.id, [(SKU, 1, "return")], location_id=world.online)
    refunded = world.deliveries()
    for delivery in [*refunded, *fulfilled, *created]:
        assert world.post(delivery) == 200
    for _ in range(6):
        world.process()
        clock.advance(600)
    [order] = orders_of(client)
    assert order["status"] == "shipped"
    assert [line["returned"] for line in order["lines"]] == [1]
    assert stock_of(client, SKU, "WH")["on_hand"] == 3
    assert world.inbox(status="failed") == []


# ---------------------------------------------------------------------------------------------- drift
def test_a_number_changed_in_shopify_is_recorded_as_drift_and_ours_is_pushed_again(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    receive(client, SKU, 4)
    world.integration.dispatcher.drain()
    assert world.available() == 4
    world.sandbox.set_quantity(world.item(), world.online, 11)
    world.send_shop_events()
    world.process()
    [drift] = app.read(lambda conn: shopify_repo.drift(conn, CHANNEL, kind="inventory"))
    assert (drift["sku"], drift["ours"], drift["theirs"], drift["source"]) == (SKU, "4", "11", "webhook")
    world.integration.dispatcher.drain()
    assert world.available() == 4
    assert len(app.read(lambda conn: shopify_repo.drift(conn, CHANNEL))) == 1, "the re-push compared against 11"


def test_a_product_shown_differently_is_recorded_as_drift_and_the_master_is_published_again(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    product_id = app.read(lambda conn: shopify_repo.product_of_style(conn, CHANNEL, "OVS-001"))["product_id"]
    delivery = world.fixture("products_update.json", "products/update", id=int(product_id))
    assert world.post(delivery) == 200
    world.process()
    drift = app.read(lambda conn: shopify_repo.drift(conn, CHANNEL, kind="product"))
    assert ("title", "Navy overshirt", "Example T-Shirt") in {(d["field"], d["ours"], d["theirs"]) for d in drift}
    assert {d["theirs"] for d in drift if d["field"] == "variant"} == {None}
    publishes = [c for c in world.sandbox.calls if c.root_fields == ("productSet",)]
    world.integration.dispatcher.drain()
    again = [c for c in world.sandbox.calls if c.root_fields == ("productSet",)]
    assert len(again) == len(publishes) + 1
    assert again[-1].variables["input"]["title"] == "Navy overshirt"
