"""A Lightspeed Retail (X-Series) POS channel wired from its configuration (issue 21), on SQLite and
PostgreSQL: the till is shown the ledger's stock as soon as the channel is wired and after every change; its
signed form-encoded ``sale.update`` webhooks, each delivered twice, are stored once at
``POST /webhooks/lightspeed/{channel}`` and become one till sale at the outlet's store; a bad signature is 401
with nothing stored; a return at the till books stock back to its store and a credit, once; the wiring state
names what is missing."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from seamline.channels.lightspeed import wiring as lightspeed_wiring
from seamline.channels.wiring import ConnectorWiring
from seamline.integration import Integration
from seamline.sandbox.lightspeed import LightspeedSandbox
from seamline.sandbox.lightspeed.sandbox import sign
from tests.conftest import receive
from tests.integration.finance_world import configure, ok
from tests.integration.order_world import SKU, assert_problem

CHANNEL = "soho-lightspeed"
SECRET = "soho-client-secret"


def wiring(client: TestClient) -> ConnectorWiring:
    found: ConnectorWiring = client.app.state.wiring  # type: ignore[attr-defined]
    return found


def integration(client: TestClient) -> Integration:
    found: Integration = client.app.state.integration  # type: ignore[attr-defined]
    return found


@pytest.fixture
def lightspeed(client: TestClient) -> LightspeedSandbox:
    configure(client)  # ten of SKU at STORE-1
    url = f"sandbox:lightspeed-{uuid.uuid4().hex[:8]}"
    settings: dict[str, Any] = {
        "provider": "lightspeed",
        "base_url": url,
        "token": "lightspeed-sandbox-token",
        "client_secret": SECRET,
        "outlets": {"OUT-1": "STORE-1"},
        "registers": {"REG-1": "OUT-1"},
    }
    sandbox = lightspeed_wiring.sandbox(url, settings)
    product = sandbox.add_product(SKU, "Navy overshirt M", Decimal("89.00"))
    settings["products"] = {product: SKU}
    body = {"kind": "pos", "sources": ["STORE-1"], "settings": settings}
    ok(client.put(f"/v1/channels/{CHANNEL}", json=body), 201)
    assert wiring(client).errors == {}
    integration(client).dispatcher.drain()
    return sandbox


def post(client: TestClient, body: bytes, headers: dict[str, str]) -> Any:
    return client.post(f"/webhooks/lightspeed/{CHANNEL}", content=body, headers={**headers, "Authorization": ""})


def test_the_till_shows_the_ledgers_stock_when_wired_and_after_each_change(
    client: TestClient, lightspeed: LightspeedSandbox
) -> None:
    product = lightspeed.product_by_sku(SKU)
    assert product is not None
    assert lightspeed.inventory[(product["id"], "OUT-1")] == 10, "caught up when the channel was wired"
    receive(client, SKU, 5, to="STORE-1")
    integration(client).dispatcher.drain()
    assert lightspeed.inventory[(product["id"], "OUT-1")] == 15
    updates = lightspeed.successes(f"/api/2.1/products/{product['id']}")
    assert [u.body["details"]["inventory"][0]["current_amount"] for u in updates] == [10, 15]


def test_a_till_sale_delivered_twice_is_one_sale_at_the_outlets_store(
    client: TestClient, lightspeed: LightspeedSandbox
) -> None:
    sale = lightspeed.ring_up("REG-1", [(SKU, 2)], [("Credit Card", Decimal("100")), ("Cash", Decimal("78"))])
    answers = [post(client, note.body, note.headers) for note in lightspeed.notifications * 2]
    assert [a.status_code for a in answers] == [200, 200]
    assert [a.json()["duplicate"] for a in answers] == [False, True]
    integration(client).inbox.drain()
    sales = ok(client.get("/v1/orders", params={"channel": "pos:STORE-1"}))["items"]
    assert [(s["external_id"], s["total"], s["location"]) for s in sales] == [(sale["id"], "178.00", "STORE-1")]
    assert sales[0]["tenders"] == [{"type": "card", "amount": "100.00"}, {"type": "cash", "amount": "78.00"}]
    stock = ok(client.get("/v1/stock", params={"sku": SKU, "location": "STORE-1"}))["items"][0]
    assert stock["on_hand"] == 8
    integration(client).dispatcher.drain()
    product = lightspeed.product_by_sku(SKU)
    assert product is not None
    assert lightspeed.inventory[(product["id"], "OUT-1")] == 8, "the till shows the ledger's number"


def test_a_bad_signature_is_401_and_stores_nothing(client: TestClient, lightspeed: LightspeedSandbox) -> None:
    note = lightspeed.notify("sale.update", {"id": "x", "status": "SAVED"})
    forged = {**note.headers, "x-signature": sign("not-the-secret", note.body)}
    assert_problem(post(client, note.body, forged), 401, "invalid-webhook-signature")
    assert integration(client).inbox.list(source=f"lightspeed:{CHANNEL}") == []


def documents(client: TestClient, order_id: str) -> list[tuple[str, str]]:
    items = ok(client.get("/v1/finance/documents", params={"order_id": order_id}))["items"]
    return [(d["kind"], d["total"]) for d in items]


def test_a_return_at_the_till_books_stock_back_to_that_store_and_a_credit_once(
    client: TestClient, lightspeed: LightspeedSandbox
) -> None:
    first = lightspeed.ring_up("REG-1", [(SKU, 2)], [("Cash", Decimal("178"))])
    back = lightspeed.ring_up("REG-1", [(SKU, -1)], [("Cash", Decimal("-89"))], return_for=first["id"])
    # Lightspeed re-sends a sale.update when the return is edited after closing (a note): a new message.
    lightspeed.notify("sale.update", {**back, "note": "receipt reprinted"})
    for sent in lightspeed.notifications * 2:  # and every delivery arrives twice
        assert post(client, sent.body, sent.headers).status_code == 200
    integration(client).inbox.drain()
    messages = integration(client).inbox.list(source=f"lightspeed:{CHANNEL}")
    assert sorted(m["status"] for m in messages) == ["processed", "processed", "processed"], messages
    [sale] = ok(client.get("/v1/orders", params={"channel": "pos:STORE-1"}))["items"]
    order = ok(client.get(f"/v1/orders/{sale['id']}"))
    assert len(order["returns"]) == 1, "one return, however often Lightspeed sent it"
    ret = ok(client.get(f"/v1/returns/{order['returns'][0]}"))
    assert (ret["location"], ret["refund"]["total"]) == ("STORE-1", "89.00")
    assert ret["refund"]["tenders"] == [{"tender": "cash", "amount": "89.00"}]
    assert [(li["sku"], li["qty"], li["condition"]) for li in ret["lines"]] == [(SKU, 1, "sellable")]
    stock = ok(client.get("/v1/stock", params={"sku": SKU, "location": "STORE-1"}))["items"][0]
    assert stock["on_hand"] == 9, "10 received, 2 sold, 1 back into the store's stock"
    assert ("credit_note", "89.00") in documents(client, sale["id"])


def test_a_return_of_a_sale_not_recorded_yet_is_held_and_one_without_its_sale_is_rejected(
    client: TestClient, lightspeed: LightspeedSandbox
) -> None:
    lightspeed.ring_up("REG-1", [(SKU, -1)], [("Cash", Decimal("-89"))], return_for="sale-from-before-seamline")
    lightspeed.ring_up("REG-1", [(SKU, -1)], [("Cash", Decimal("-89"))])
    for sent in lightspeed.notifications:
        assert post(client, sent.body, sent.headers).status_code == 200
    integration(client).inbox.drain()
    messages = integration(client).inbox.list(source=f"lightspeed:{CHANNEL}")
    reasons = {m["status"]: str(m.get("reason")) for m in messages}
    assert "sale-from-before-seamline is not recorded here" in reasons["held"]
    assert "without naming the sale" in reasons["rejected"]
    stock = ok(client.get("/v1/stock", params={"sku": SKU, "location": "STORE-1"}))["items"][0]
    assert stock["on_hand"] == 10, "nothing booked"


def test_a_lightspeed_channel_without_its_secret_is_incomplete_and_names_it(client: TestClient) -> None:
    configure(client)
    settings = {"provider": "lightspeed", "base_url": "sandbox:ls-missing", "token": "t", "outlets": {"O": "STORE-1"}}
    ok(client.put("/v1/channels/ls-missing", json={"kind": "pos", "sources": ["STORE-1"], "settings": settings}), 201)
    state = ok(client.get("/v1/channels/ls-missing"))["wiring"]
    assert (state["state"], state["missing"]) == ("incomplete", ["client_secret"])


def test_a_customer_from_the_till_and_a_sale_naming_them_share_one_customer(
    client: TestClient, lightspeed: LightspeedSandbox
) -> None:
    ada = {"id": "cust-1", "first_name": "Ada", "last_name": "Lovelace", "email": " ADA@example.com", "mobile": ""}
    walk_in = {"id": "cust-0", "name": "Walk-in customer", "email": "", "phone": ""}
    for payload in (ada, walk_in):
        note = lightspeed.notify("customer.update", payload)
        assert post(client, note.body, note.headers).status_code == 200
    integration(client).inbox.drain()
    found = ok(client.get("/v1/customers", params={"email": "ada@example.com"}))["items"]
    assert [(c["email"], c["name"]) for c in found] == [("ada@example.com", "Ada Lovelace")]
    sale = lightspeed.ring_up("REG-1", [(SKU, 1)], [("Cash", Decimal("89"))])
    sale_with_customer = {**sale, "customer_id": "cust-1", "customer": ada}
    note = lightspeed.notify("sale.update", sale_with_customer)
    assert post(client, note.body, note.headers).status_code == 200
    integration(client).inbox.drain()
    [order] = ok(client.get("/v1/orders", params={"channel": "pos:STORE-1"}))["items"]
    assert order["customer_id"] == found[0]["id"]
    statuses = sorted(m["status"] for m in integration(client).inbox.list(source=f"lightspeed:{CHANNEL}"))
    assert statuses == ["processed", "processed", "processed"], "the walk-in customer is skipped, not rejected"


def test_a_sale_of_a_product_not_linked_yet_is_held_and_applies_once_the_channel_links_it(
    client: TestClient, lightspeed: LightspeedSandbox
) -> None:
    large = lightspeed.add_product("OVS-001-NVY-L", "Navy overshirt L", Decimal("89.00"))
    sale = lightspeed.ring_up("REG-1", [("OVS-001-NVY-L", 1)], [("Cash", Decimal("89"))])
    note = lightspeed.notifications[-1]
    assert post(client, note.body, note.headers).status_code == 200
    integration(client).inbox.drain()
    [held] = integration(client).inbox.list(source=f"lightspeed:{CHANNEL}")
    assert held["status"] == "held"
    assert "not a published SKU" in str(held["reason"])
    channel = ok(client.get(f"/v1/channels/{CHANNEL}"))
    settings = {**channel["settings"], "products": {**channel["settings"]["products"], large: "OVS-001-NVY-L"}}
    settings = {k: v for k, v in settings.items() if v != "***"} | {"token": "lightspeed-sandbox-token"}
    settings["client_secret"] = SECRET
    body = {"kind": "pos", "sources": ["STORE-1"], "settings": settings}
    ok(client.put(f"/v1/channels/{CHANNEL}", json=body), 200)
    wiring(client).refresh()
    integration(client).inbox.drain()
    [applied] = integration(client).inbox.list(source=f"lightspeed:{CHANNEL}")
    assert applied["status"] == "processed"
    sales = ok(client.get("/v1/orders", params={"channel": "pos:STORE-1"}))["items"]
    assert [s["external_id"] for s in sales] == [sale["id"]]


def test_a_sale_paid_by_a_lightspeed_gift_card_is_recorded_and_its_card_payment_held_for_a_person_once(
    client: TestClient, lightspeed: LightspeedSandbox
) -> None:
    """A Lightspeed payment names no card: the sale stands, and the gift card money is a hold
    (``gift-card-unidentified``) on the exceptions page that keeps reconcile from saying clean."""
    sale = lightspeed.ring_up("REG-1", [(SKU, 1)], [("Gift Card", Decimal("30")), ("Cash", Decimal("59"))])
    for note in lightspeed.notifications:
        assert post(client, note.body, note.headers).status_code == 200
    integration(client).inbox.drain()
    [order] = ok(client.get("/v1/orders", params={"channel": "pos:STORE-1"}))["items"]
    assert order["tenders"] == [{"type": "gift_card", "amount": "30.00"}, {"type": "cash", "amount": "59.00"}]
    report = ok(client.get("/v1/finance/reconciliation"))
    assert not report["clean"]
    [held] = [d for d in report["money_differences"] if d["check"] == "held"]
    assert held["problem"] == "gift-card-unidentified"
    assert f"Lightspeed took 30.00 EUR by its own gift card on sale {sale['id']}" in held["detail"]
    assert ok(client.get("/v1/gift-cards"))["items"] == []
