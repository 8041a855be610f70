"""Issue 17: a gift card sold on Shopify and spent on Shopify. Shopify's payment names only its own card's id;
Seamline reads that card from Shopify (``giftCards``: the order line that sold it), links it to the card the
sale issued here and takes the payment off it, once. Run over SQLite and PostgreSQL (the ``app`` fixture)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from seamline.domain.clock import FixedClock
from seamline.service import Seamline
from seamline.service.giftcards import GiftCardDesk
from seamline.store import finance_repo
from seamline.store.tables import gift_card_movements
from tests.conftest import receive
from tests.integration.shopify_world import CHANNEL, SECRET, SHOP, SKU, TOKEN, ShopWorld


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def reconciliation(client: TestClient) -> dict[str, Any]:
    return ok(client.get("/v1/finance/reconciliation"))


def open_gift_card_holds(app: Seamline) -> list[dict[str, Any]]:
    return [h for h in app.read(finance_repo.list_holds) if h["kind"] == "gift_card"]


def redemptions(app: Seamline) -> list[dict[str, Any]]:
    rows = app.read(lambda conn: conn.execute(gift_card_movements.select()).mappings().all())
    return [dict(r) for r in rows if r["kind"] == "redeem"]


def sell_a_card(world: ShopWorld) -> tuple[int, str]:
    """A web order of one shirt and a 50.00 gift card: Shopify issues its card; we issue ours."""
    sold = world.sandbox.place_order([(SKU, 1)], gift_cards=[Decimal("50.00")])
    world.send_shop_events()
    world.process()
    [shop_card] = [c for c in world.sandbox.shop.gift_cards.values() if c.order_id == sold.id]
    line = next(li for li in sold.line_items if li.gift_card)
    return shop_card.id, f"{CHANNEL.upper()}-{line.id}"


def test_a_card_sold_on_shopify_and_spent_there_in_part_redeems_our_card_once(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    receive(client, SKU, 5)
    shop_card, ours = sell_a_card(world)
    assert ok(client.get(f"/v1/gift-cards/{ours}"))["balance"] == "50.00"

    # The buyer spends 30.00 of it on a second order; Shopify's transaction names only its own card's id.
    spent = world.sandbox.place_order([(SKU, 1)], gift_card_payment=(shop_card, Decimal("30.00")))
    deliveries = world.send_shop_events()
    world.process()
    # The payment is held until the card is read from Shopify; the outbox's subscriber reads and links it.
    world.integration.dispatcher.drain()
    card = ok(client.get(f"/v1/gift-cards/{ours}"))
    assert card["balance"] == "20.00"
    [redeemed] = [m for m in card["movements"] if m["kind"] == "redeem"]
    assert redeemed["amount"] == "30.00"
    assert redeemed["source"] == f"channel:{CHANNEL}:{spent.id}:payment:0"
    last = world.sandbox.shop.gift_cards[shop_card].last_characters
    assert card["channel_card"] == {"id": str(shop_card), "last_characters": last}
    assert open_gift_card_holds(app) == []
    report = reconciliation(client)
    assert report["clean"], report

    # The same webhook delivered again (Shopify retries): nothing is taken twice.
    for delivery in deliveries:
        assert world.post(delivery) == 200
    world.process()
    world.integration.dispatcher.drain()
    assert ok(client.get(f"/v1/gift-cards/{ours}"))["balance"] == "20.00"
    assert len(redemptions(app)) == 1
    assert reconciliation(client)["clean"]

    # Linked now: the next order spending the rest is taken off our card in its own transaction, nothing held.
    world.sandbox.place_order([(SKU, 1)], gift_card_payment=(shop_card, Decimal("20.00")))
    world.send_shop_events()
    world.process()
    assert ok(client.get(f"/v1/gift-cards/{ours}"))["balance"] == "0.00"
    assert open_gift_card_holds(app) == []
    assert reconciliation(client)["clean"]


def test_a_payment_naming_a_card_whose_sale_has_not_arrived_is_held_and_taken_when_it_does(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    receive(client, SKU, 5)
    sold = world.sandbox.place_order([(SKU, 1)], gift_cards=[Decimal("50.00")])
    sale_events = world.sandbox.drain_events()  # the sale's webhook is late
    [shop_card] = [c for c in world.sandbox.shop.gift_cards.values() if c.order_id == sold.id]
    world.sandbox.place_order([(SKU, 1)], gift_card_payment=(shop_card.id, Decimal("30.00")))
    world.send_shop_events()
    world.process()
    world.integration.dispatcher.drain()
    [held] = open_gift_card_holds(app)
    assert held["reason"] == "unknown-gift-card"
    assert not reconciliation(client)["clean"]  # never booked against nothing

    for delivery in world.sender.from_events(sale_events):  # the sale arrives: our card is issued
        assert world.post(delivery) == 200
    world.process()
    line = next(li for li in sold.line_items if li.gift_card)
    assert ok(client.get(f"/v1/gift-cards/{CHANNEL.upper()}-{line.id}"))["balance"] == "50.00"
    clock.advance(3600)  # the link's retry comes due
    world.integration.dispatcher.drain()
    assert ok(client.get(f"/v1/gift-cards/{CHANNEL.upper()}-{line.id}"))["balance"] == "20.00"
    assert open_gift_card_holds(app) == []
    assert reconciliation(client)["clean"]


def test_linking_takes_only_the_held_payments_naming_that_card_and_refuses_a_second_card(
    app: Seamline, clock: FixedClock
) -> None:
    """The service rule on its own: the link is stored once; an id already on one card is not moved to another."""
    desk = GiftCardDesk(app)
    for line in ("L1", "L2"):
        app.write(
            lambda uow, line=line: desk.issue(
                uow,
                amount=Decimal("40.00"),
                currency="EUR",
                source=f"channel:{CHANNEL}:900:line:{line}",
                channel=CHANNEL,
                code=f"C-{line}",
            )
        )
    assert app.write(lambda uow: desk.link_channel_card(uow, CHANNEL, f"channel:{CHANNEL}:900:line:L1", "555")) == 0
    assert app.write(lambda uow: desk.link_channel_card(uow, CHANNEL, f"channel:{CHANNEL}:900:line:L2", "555")) is None
    assert app.write(lambda uow: desk.link_channel_card(uow, CHANNEL, f"channel:{CHANNEL}:901:line:X", "556")) is None
    assert desk.get("C-L1")["balance"] == "40.00"
    assert app.write(lambda uow: desk.link_channel_card(uow, CHANNEL, f"channel:{CHANNEL}:900:line:L1", "555")) == 0


def test_the_sandbox_shows_a_sold_card_as_the_admin_api_does(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    """``giftCards(query: "id:<id>")`` names the order and line that sold the card (``GiftCard.order``,
    ``GiftCard.lineItem``) and its last characters, never its code; a spent card's payment names it."""
    world = ShopWorld(client, app, clock)
    world.publish()
    sold = world.sandbox.place_order([(SKU, 1)], gift_cards=[Decimal("50.00")])
    [card] = world.sandbox.shop.gift_cards.values()
    [found] = world.merchant.gift_cards(f"id:{card.id}")
    line = next(li for li in sold.line_items if li.gift_card)
    assert (found.gift_card_id, found.order_id, found.line_item_id) == (str(card.id), str(sold.id), str(line.id))
    assert found.last_characters == card.code[-4:]
    assert world.merchant.gift_cards("id:1") == []
    assert [c.gift_card_id for c in world.merchant.gift_cards("source:purchased")] == [str(card.id)]

    world.sandbox.drain_events()
    world.sandbox.place_order([(SKU, 1)], gift_card_payment=(card.id, Decimal("30.00")))
    [created] = [e.payload for e in world.sandbox.drain_events() if e.topic == "orders/create"]
    assert card.balance == Decimal("20.00")
    assert [(t["gateway"], t["amount"], t.get("receipt")) for t in created["transactions"]] == [
        ("gift_card", "30.00", {"gift_card_id": card.id, "gift_card_last_characters": card.code[-4:]}),
        ("shopify_payments", "59.00", None),
    ]


def test_a_line_of_several_cards_links_each_shopify_card_to_its_own_card(app: Seamline, clock: FixedClock) -> None:
    """Shopify makes a card per unit of a line, all naming that line: each is linked to one of the line's cards
    not linked yet, and a card linked once keeps its id."""
    desk = GiftCardDesk(app)
    line = f"channel:{CHANNEL}:902:line:L"
    for unit in (1, 2):
        app.write(
            lambda uow, unit=unit: desk.issue(
                uow,
                amount=Decimal("25.00"),
                currency="EUR",
                source=f"{line}-{unit}",
                channel=CHANNEL,
                code=f"UNIT-{unit}",
            )
        )
    assert app.write(lambda uow: desk.link_channel_card(uow, CHANNEL, line, "701", last_characters="AB12")) == 0
    assert app.write(lambda uow: desk.link_channel_card(uow, CHANNEL, line, "702")) == 0
    assert app.write(lambda uow: desk.link_channel_card(uow, CHANNEL, line, "701")) == 0  # again: no change
    assert app.write(lambda uow: desk.link_channel_card(uow, CHANNEL, line, "703")) is None  # none left
    assert desk.get("UNIT-1")["channel_card"] == {"id": "701", "last_characters": "AB12"}
    assert desk.get("UNIT-2")["channel_card"] == {"id": "702", "last_characters": None}


def test_a_payment_held_while_the_admin_api_was_not_configured_is_taken_once_it_is(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    receive(client, SKU, 5)
    settings = {
        "shop_domain": SHOP,
        "webhook_secrets": [SECRET],
        "access_token": TOKEN,
        "location_map": {str(world.online): "WH", str(world.store_location): "STORE-1"},
        "currency": "EUR",
        "max_throttle_wait_seconds": 0,
    }
    inbound_only = {"kind": "shopify", "sources": ["WH", "STORE-1"], "settings": settings}
    assert client.put(f"/v1/channels/{CHANNEL}", json=inbound_only).status_code == 200
    shop_card, ours = sell_a_card(world)
    world.sandbox.place_order([(SKU, 1)], gift_card_payment=(shop_card, Decimal("30.00")))
    world.send_shop_events()
    world.process()
    world.integration.dispatcher.drain()
    [held] = open_gift_card_holds(app)
    assert held["reason"] == "unknown-gift-card"

    # The Admin API configured: the wiring reads the cards held payments named, and the payment is taken.
    rewired = {**inbound_only, "settings": {**settings, "admin_api_url": "sandbox:"}}
    assert client.put(f"/v1/channels/{CHANNEL}", json=rewired).status_code == 200
    world.integration.dispatcher.drain()
    assert ok(client.get(f"/v1/gift-cards/{ours}"))["balance"] == "20.00"
    assert open_gift_card_holds(app) == []
    assert reconciliation(client)["clean"]
