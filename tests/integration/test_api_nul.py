"""A NUL character (``\\u0000``) cannot be stored in PostgreSQL's text: wherever a client can put one (a body
string, a query parameter, the path), the API refuses it as bad input before the database sees it, on both
databases alike. A signed platform delivery is stored whatever it holds: it must not be lost."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from seamline.domain.clock import FixedClock
from seamline.sandbox.square import SquareSandbox
from seamline.service import Seamline
from tests.integration.helpers import assert_problem, client_with
from tests.integration.order_world import SKU, seed_channels
from tests.integration.shopify_world import URL, ShopWorld
from tests.integration.test_api_bad_bodies import fingerprint
from tests.integration.test_square_webhooks import CHANNEL, SQUARE_STORE, integration, post, signed, stored
from tests.integration.test_square_webhooks import square as square_channel  # noqa: F401 - a fixture


def test_a_nul_in_a_body_string_is_422_naming_the_field_and_writes_nothing(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    before = fingerprint(client, app)
    cases = (
        ("PUT", "/v1/locations/STORE-9", {"name": "Le\u0000eds", "kind": "store"}, "name"),
        (
            "POST",
            "/v1/movements",
            {"kind": "receipt", "sku": SKU, "qty": 1, "to": "WH", "document": "PO\u0000"},
            "document",
        ),
        ("POST", "/v1/holds", {"channel": "web", "lines": [{"sku": "OVS\u0000", "qty": 1}]}, "lines[0].sku"),
        ("POST", "/v1/tokens", {"name": "x", "scopes": ["read\u0000"]}, "scopes[0]"),
        (
            "POST",
            "/v1/orders",
            {"channel": "web", "external_id": "W\u00001", "lines": [], "currency": "EUR"},
            "external_id",
        ),
    )
    for method, path, body, field in cases:
        assert_problem(client.request(method, path, json=body), 422, "validation-error", field)
    escaped = client.put("/v1/locations/STORE-9", json={"name": "back\\u0000slash", "kind": "store"})
    assert escaped.status_code == 201, "an escaped backslash followed by u0000 is six ordinary characters"
    assert escaped.json()["name"] == "back\\u0000slash"
    assert client.delete("/v1/locations/STORE-9").status_code in (404, 405)
    after = fingerprint(client, app)
    assert dict(after[0])["locations"] == dict(before[0])["locations"] + 1
    assert after[1] == before[1]


def test_a_nul_in_the_path_is_400_and_in_a_query_parameter_422_even_without_a_token(client: TestClient) -> None:
    seed_channels(client)
    anonymous = client_with(client, None)
    for caller in (client, anonymous):
        for path in ("/v1/skus/OVS%00", "/v1/orders/ord_%00", "/v1/styles/OVS-001%00", "/orders/ord_%00"):
            assert_problem(caller.get(path), 400, "invalid-path")
        assert_problem(caller.post("/webhooks/shopify/web%00", content=b"{}"), 400, "invalid-path")
        assert_problem(caller.get("/v1/stock?sku=OVS%00"), 422, "validation-error", "sku")
        assert_problem(
            caller.get("/v1/orders", params={"channel": "web", "status": "a\u0000"}), 422, "validation-error", "status"
        )


def test_a_signed_shopify_delivery_with_a_nul_is_stored_and_processed_without_a_server_error(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    delivery = world.fixture("orders_create.json", "orders/create", id="9\u00001", note="gift\u0000wrap")
    assert b"\\u0000" in delivery.body
    before = world.inbox_rows()
    response = client.post(URL, content=delivery.body, headers=delivery.headers)
    assert response.status_code == 200, response.text
    assert world.inbox_rows() == before + 1
    [row] = world.inbox()
    assert row["aggregate_key"] in (None, "order:9\\u00001")
    world.process()
    [row] = world.inbox()
    assert row["status"] in ("rejected", "failed", "processed"), row


def test_a_signed_square_event_with_nul_in_its_ids_is_stored_escaped_and_processing_refuses_it(
    client: TestClient,
    app: Seamline,
    square_channel: SquareSandbox,  # noqa: F811 - the fixture
) -> None:
    """Square's event id, type and order id come from the body: stored with each NUL escaped as ``\\u0000``
    (the body itself is kept byte for byte), and the handler rejects the event with a reason, no 500."""
    square = square_channel
    order = square.ring_up(SQUARE_STORE, [(SKU, 1)], [("CARD", 8900)])
    note = square.notifications[0]
    event = json.loads(note.body)
    event["event_id"] = "evt\u00001"
    event["data"]["id"] = order["id"] + "\u0000"
    event["data"]["object"]["order_updated"]["order_id"] = order["id"] + "\u0000"
    body = json.dumps(event).encode()
    before = stored(app)
    response = post(client, body, signed(body))
    assert response.status_code == 200, response.text
    assert stored(app) == before + 1
    [row] = [
        m for m in integration(client).inbox.list(source=f"square:{CHANNEL}") if m["external_id"].startswith("evt")
    ]
    assert row["external_id"] == "evt\\u00001"
    assert row["aggregate_key"] in (None, f"order:{order['id']}\\u0000")
    integration(client).inbox.drain()
    [row] = [
        m for m in integration(client).inbox.list(source=f"square:{CHANNEL}") if m["external_id"].startswith("evt")
    ]
    assert row["status"] in ("rejected", "failed") or (row["status"], row["attempts"]) == ("received", 1), row
    assert "\x00" not in (row["reason"] or ""), "the reason was stored"
