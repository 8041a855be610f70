"""A Square POS channel wired from its configuration (issue 6): its signed webhooks are stored once at
``POST /webhooks/square/{channel}`` and become till sales at the mapped store, a bad signature is refused with
nothing stored, the till's counts that differ from the ledger are recorded as drift and answered with ours,
and a price change reaches Square's catalog through the outbox."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from seamline.channels.square import wiring as square_wiring
from seamline.channels.wiring import ConnectorWiring
from seamline.integration import Integration
from seamline.sandbox.square import SquareSandbox
from seamline.sandbox.square.sandbox import sign
from seamline.service import Seamline
from seamline.store.tables import inbox_messages, pos_count_drifts
from tests.conftest import OVERSHIRT, receive
from tests.integration.finance_world import configure, ok
from tests.integration.order_world import SKU, assert_problem
from tests.paths import FIXTURES as FIXTURE_ROOT

FIXTURES = FIXTURE_ROOT / "pos"
SQUARE_STORE = "EF6D9SACKWBKZ"
CHANNEL = "soho-square"
NOTIFICATION_URL = f"https://seamline.example/webhooks/square/{CHANNEL}"
KEY = "soho-signature-key"


@pytest.fixture
def square(client: TestClient) -> SquareSandbox:
    """A Square POS channel on its own in-process seller, wired by configuration like any channel."""
    configure(client)
    url = f"sandbox:square-{uuid.uuid4().hex[:8]}"
    settings = {
        "provider": "square",
        "base_url": url,
        "access_token": "soho-token",
        "signature_key": KEY,
        "notification_url": NOTIFICATION_URL,
        "locations": {SQUARE_STORE: "STORE-1"},
        "currency": "EUR",
    }
    ok(client.put(f"/v1/channels/{CHANNEL}", json={"kind": "pos", "sources": ["STORE-1"], "settings": settings}), 201)
    assert wiring(client).errors == {}
    wiring(client).run_due(force=True)  # the styles that existed before the channel: pushed now
    return square_wiring.sandbox(url)


def wiring(client: TestClient) -> ConnectorWiring:
    found: ConnectorWiring = client.app.state.wiring  # type: ignore[attr-defined]
    return found


def integration(client: TestClient) -> Integration:
    found: Integration = client.app.state.integration  # type: ignore[attr-defined]
    return found


def post(client: TestClient, body: bytes, headers: dict[str, str]) -> Any:
    return client.post(f"/webhooks/square/{CHANNEL}", content=body, headers={**headers, "Authorization": ""})


def stored(app: Seamline) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(inbox_messages)).scalar_one())


def signed(body: bytes) -> dict[str, str]:
    return {"content-type": "application/json", "x-square-hmacsha256-signature": sign(KEY, NOTIFICATION_URL, body)}


def test_a_till_sale_posted_twice_as_signed_webhooks_is_one_sale_at_the_mapped_store(
    client: TestClient, square: SquareSandbox
) -> None:
    assert square.variation_by_sku(SKU) is not None, "the catalog was pushed when the channel was wired"
    order = square.ring_up(SQUARE_STORE, [(SKU, 2)], [("CARD", 17800)])
    answers = [post(client, note.body, note.headers) for note in square.notifications * 2]
    assert [a.status_code for a in answers] == [200] * 4
    assert [a.json()["duplicate"] for a in answers] == [False, False, True, True]
    integration(client).inbox.drain()
    sales = ok(client.get("/v1/orders", params={"channel": "pos:STORE-1"}))["items"]
    assert [(s["external_id"], s["total"], s["location"]) for s in sales] == [(order["id"], "178.00", "STORE-1")]
    statuses = sorted(m["status"] for m in integration(client).inbox.list(source=f"square:{CHANNEL}"))
    assert statuses == ["processed", "processed"]


def test_signed_square_fixtures_are_accepted_and_a_bad_signature_is_401_with_nothing_stored(
    client: TestClient, app: Seamline, square: SquareSandbox
) -> None:
    body = (FIXTURES / "square_order_updated.json").read_bytes()
    before = stored(app)
    forged = {"x-square-hmacsha256-signature": sign("not-our-key", NOTIFICATION_URL, body)}
    assert_problem(post(client, body, forged), 401, "invalid-webhook-signature")
    other_url = {"x-square-hmacsha256-signature": sign(KEY, "https://elsewhere.example/hook", body)}
    assert_problem(post(client, body, other_url), 401, "invalid-webhook-signature")
    assert_problem(post(client, body, {}), 401, "invalid-webhook-signature")
    tampered = body.replace(b'"OPEN"', b'"COMPLETED"')
    assert_problem(post(client, tampered, signed(body)), 401, "invalid-webhook-signature")
    assert_problem(client.post("/webhooks/square/web", content=body, headers=signed(body)), 404, "unknown-channel")
    assert stored(app) == before
    for name in ("square_order_updated.json", "square_inventory_count_updated.json"):
        body = (FIXTURES / name).read_bytes()
        response = post(client, body, signed(body))
        assert response.status_code == 200, response.text
        assert response.json()["duplicate"] is False
    integration(client).inbox.drain()
    messages = integration(client).inbox.list(source=f"square:{CHANNEL}")
    # An OPEN order sold nothing yet; the count names a variation we never published: nothing to compare.
    assert sorted((m["message_type"], m["status"]) for m in messages) == [
        ("inventory.count.updated", "processed"),
        ("order.updated", "processed"),
    ]
    assert ok(client.get("/v1/orders", params={"channel": "pos:STORE-1"}))["items"] == []


def test_a_till_count_that_differs_from_the_ledger_is_recorded_and_answered_with_ours(
    client: TestClient, app: Seamline, square: SquareSandbox
) -> None:
    variation = square.variation_by_sku(SKU)
    assert variation is not None
    square.set_count(variation["id"], SQUARE_STORE, 15)  # the till thinks 15; the ledger has 10 at STORE-1
    order = square.ring_up(SQUARE_STORE, [(SKU, 1)], [("CASH", 8900)])
    for note in square.notifications:
        assert post(client, note.body, note.headers).status_code == 200
    integration(client).inbox.drain()
    with app.engine.connect() as conn:
        drifts = [(r.sku, r.location, r.theirs, r.ours) for r in conn.execute(select(pos_count_drifts))]
    # Sale and count arrive in order: the ledger had sold the unit (9) when the till said 14.
    assert drifts == [(SKU, "STORE-1", 14, 9)]
    assert ok(client.get("/v1/orders", params={"channel": "pos:STORE-1"}))["items"][0]["external_id"] == order["id"]
    wiring(client).run_due(force=True)
    assert square.counts[(variation["id"], SQUARE_STORE)] == 9
    with app.engine.connect() as conn:
        assert conn.execute(select(pos_count_drifts.c.repushed)).scalars().all() == [True]


def test_a_price_change_reaches_the_square_catalog_through_the_outbox(
    client: TestClient, square: SquareSandbox
) -> None:
    variation = square.variation_by_sku(SKU)
    assert variation is not None
    assert variation["item_variation_data"]["price_money"] == {"amount": 8900, "currency": "EUR"}
    repriced = [{"list": "retail", "currency": "EUR", "amount": "79.00"}]
    assert client.put("/v1/styles/OVS-001", json={**OVERSHIRT, "prices": repriced}).status_code == 200
    integration(client).dispatcher.drain()
    after = square.catalog[variation["id"]]
    assert after["item_variation_data"]["price_money"] == {"amount": 7900, "currency": "EUR"}
    assert len(square.successes("/v2/catalog/batch-upsert")) == 2, "one push when wired, one for the price"
    integration(client).dispatcher.drain()
    wiring(client).run_due(force=True)
    assert len(square.successes("/v2/catalog/batch-upsert")) == 2, "nothing pushed twice"


def test_a_receipt_at_the_store_reaches_the_square_till_count(client: TestClient, square: SquareSandbox) -> None:
    variation = square.variation_by_sku(SKU)
    assert variation is not None
    receive(client, SKU, 4, to="STORE-1")  # ten already there
    receive(client, SKU, 1, to="STORE-1")
    integration(client).dispatcher.drain()
    assert square.counts[(variation["id"], SQUARE_STORE)] == 15
    pushes = square.successes("/v2/inventory/changes/batch-create")
    assert [c.body["changes"][-1]["physical_count"]["quantity"] for c in pushes][-1] == "15"
