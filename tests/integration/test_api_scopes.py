"""Tokens reach only what their scope names (issue 20): a matrix of admin, read, two channel tokens and two
store tokens over every call that takes a channel or a location (sales, offline till batches, holds, orders,
availability), and the finding behind it: a till token that could file a sale under the Shopify channel made
the real signed ``orders/create`` for that number a repeat, and the customer's order was never placed.

A store's till channels are ``pos:<store>`` (where a sale without a channel is filed) and every channel of
kind ``pos`` whose sources include the store. A scoped token never reads an order or hold outside its scope:
404, as if it did not exist."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from seamline.api import create_app
from seamline.domain.clock import FixedClock
from seamline.service import Seamline
from tests.conftest import receive, seed_world
from tests.integration.helpers import assert_problem, client_with, issue_token
from tests.integration.shopify_world import CHANNEL, ShopWorld

SKU = "OVS-001-NVY-M"
WHO = ("admin", "read", "channel:web", "channel:other", "location:STORE-1", "location:STORE-2")
_numbers = itertools.count(1)


def world(client: TestClient) -> dict[str, TestClient]:
    """The conftest world plus another web shop on the warehouse and a till channel per store; stock at the
    warehouse and both stores; a client per kind of token."""
    seed_world(client)
    for code, body in (
        ("other", {"kind": "shopify", "sources": ["WH"]}),
        ("till-1", {"kind": "pos", "sources": ["STORE-1"]}),
        ("till-2", {"kind": "pos", "sources": ["STORE-2"]}),
    ):
        assert client.put(f"/v1/channels/{code}", json=body).status_code == 201
    for location in ("WH", "STORE-1", "STORE-2"):
        receive(client, SKU, 200, to=location)
    return {who: client if who == "admin" else client_with(client, issue_token(client, who)) for who in WHO}


def sale(location: str = "STORE-1", channel: str | None = None, external_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "location": location,
        "external_id": external_id or f"R-{next(_numbers)}",
        "lines": [{"sku": SKU, "qty": 1, "unit_price": "89.00"}],
        "tenders": [{"type": "card", "amount": "89.00"}],
        "currency": "EUR",
    }
    if channel is not None:
        body["channel"] = channel
    return body


def statuses(clients: dict[str, TestClient], call: Any) -> dict[str, int]:
    return {who: call(c).status_code for who, c in clients.items()}


def expect(allowed: set[str], ok: int = 201, refused: int = 403) -> dict[str, int]:
    return {who: ok if who in allowed else refused for who in WHO}


# ---------------------------------------------------------------------------------------------- sales
@pytest.mark.parametrize(
    ("channel", "allowed"),
    [
        (None, {"admin", "location:STORE-1"}),
        ("till-1", {"admin", "location:STORE-1"}),
        ("web", {"admin"}),  # the Shopify channel: never a till's
        ("other", {"admin"}),
        ("till-2", {"admin"}),  # another store's till channel
    ],
)
def test_a_sale_is_recorded_only_by_its_stores_token_under_that_stores_till_channels(
    client: TestClient, channel: str | None, allowed: set[str]
) -> None:
    clients = world(client)
    assert statuses(clients, lambda c: c.post("/v1/sales", json=sale("STORE-1", channel))) == expect(allowed)


def test_an_offline_batch_is_uploaded_only_under_the_stores_own_till_channels(client: TestClient) -> None:
    clients = world(client)
    till = clients["location:STORE-1"]

    def batch(channel: str | None) -> dict[str, Any]:
        one = sale()
        del one["location"]
        one["occurred_at"] = "2026-11-27T07:30:00+00:00"
        return {"till": "T1", "batch_id": f"B-{next(_numbers)}", "channel": channel, "sales": [one]}

    for channel in ("web", "other", "till-2"):
        response = till.post("/v1/stores/STORE-1/offline-batches", json=batch(channel))
        assert_problem(response, 403, "insufficient-scope")
    for channel in (None, "till-1"):
        assert till.post("/v1/stores/STORE-1/offline-batches", json=batch(channel)).status_code == 201
    assert_problem(
        clients["location:STORE-2"].post("/v1/stores/STORE-1/offline-batches", json=batch(None)),
        403,
        "insufficient-scope",
    )
    web_orders = client.get("/v1/orders", params={"channel": "web"}).json()["items"]
    assert web_orders == [], "nothing was filed under the web shop"


def test_a_till_cannot_file_a_sale_under_the_shopify_channel_so_the_real_order_is_still_placed(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    shop = ShopWorld(client, app, clock)
    shop.publish()
    receive(client, SKU, 3)
    receive(client, SKU, 3, to="STORE-1")
    till = client_with(client, issue_token(client, "location:STORE-1"))
    order = shop.sandbox.place_order([(SKU, 1)])
    squatted = till.post("/v1/sales", json=sale("STORE-1", CHANNEL, external_id=str(order.id)))
    assert_problem(squatted, 403, "insufficient-scope")
    shop.send_shop_events()
    shop.process()
    [placed] = client.get("/v1/orders", params={"channel": CHANNEL}).json()["items"]
    assert (placed["external_id"], placed["kind"], placed["status"]) == (str(order.id), "dtc", "allocated")


def test_a_repeated_sale_on_a_shared_till_channel_does_not_hand_one_store_the_others_order(
    client: TestClient,
) -> None:
    clients = world(client)
    assert client.put("/v1/channels/tills", json={"kind": "pos", "sources": ["STORE-1", "STORE-2"]}).status_code == 201
    first = clients["location:STORE-2"].post("/v1/sales", json=sale("STORE-2", "tills", external_id="R-77"))
    assert first.status_code == 201, first.text
    probe = clients["location:STORE-1"].post("/v1/sales", json=sale("STORE-1", "tills", external_id="R-77"))
    body = assert_problem(probe, 409, "external-id-taken")
    assert first.json()["id"] not in probe.text
    assert "tenders" not in body
    again = clients["location:STORE-2"].post("/v1/sales", json=sale("STORE-2", "tills", external_id="R-77"))
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"]), "the store's own repeat"


# ---------------------------------------------------------------------------------------------- holds
def hold(channel: str | None, location: str | None) -> dict[str, Any]:
    line: dict[str, Any] = {"sku": SKU, "qty": 1}
    if location is not None:
        line["location"] = location
    body: dict[str, Any] = {"lines": [line], "ttl_seconds": 60}
    if channel is not None:
        body["channel"] = channel
    return body


HOLD_CASES = [
    ("web", None, {"admin", "channel:web"}),
    ("web", "STORE-1", {"admin", "channel:web"}),  # a store's token does not hold for the web shop
    ("other", None, {"admin", "channel:other"}),
    ("till-1", "STORE-1", {"admin", "location:STORE-1"}),
    # Outside the channel's sources: refused to every store token by scope (403) and to admin by the channel
    # policy (422, branch ``policy``), so nobody holds.
    ("till-2", "STORE-1", set()),
    ("till-1", "STORE-2", set()),
    (None, "STORE-1", {"admin", "location:STORE-1"}),
    (None, "STORE-2", {"admin", "location:STORE-2"}),
]


def expected_for_hold(allowed: set[str]) -> dict[str, int]:
    """Who holds (201); the rest 403, but admin, whom only the channel policy can refuse (422)."""
    return {**expect(allowed), **({} if "admin" in allowed else {"admin": 422})}


@pytest.mark.parametrize(("channel", "location", "allowed"), HOLD_CASES)
def test_a_hold_is_placed_only_for_the_tokens_channel_or_its_stores_till_channels(
    client: TestClient, channel: str | None, location: str | None, allowed: set[str]
) -> None:
    clients = world(client)
    answers = statuses(clients, lambda c: c.post("/v1/holds", json=hold(channel, location)))
    assert answers == expected_for_hold(allowed)


@pytest.mark.parametrize(("channel", "location", "allowed"), HOLD_CASES)
def test_the_unbatched_hold_path_applies_the_same_scopes(
    app: Seamline, channel: str | None, location: str | None, allowed: set[str]
) -> None:
    app.settings = replace(app.settings, hold_batching=False)
    with TestClient(
        create_app(app), headers={"Authorization": "Bearer test-admin-token-0123456789abcdef0123456789"}
    ) as c:
        assert c.app.state.hold_batcher is None  # type: ignore[attr-defined]
        clients = world(c)
        answers = statuses(clients, lambda cl: cl.post("/v1/holds", json=hold(channel, location)))
        assert answers == expected_for_hold(allowed)


def test_a_scoped_token_reads_or_releases_a_hold_outside_its_scope_as_if_it_did_not_exist(client: TestClient) -> None:
    clients = world(client)
    held = client.post("/v1/holds", json=hold("web", None)).json()
    reads = statuses(clients, lambda c: c.get(f"/v1/holds/{held['id']}"))
    assert reads == expect({"admin", "read", "channel:web"}, ok=200, refused=404)
    for who in ("channel:other", "location:STORE-1", "location:STORE-2"):
        assert_problem(clients[who].post(f"/v1/holds/{held['id']}/release"), 404, "unknown-hold")
    assert_problem(clients["read"].post(f"/v1/holds/{held['id']}/release"), 403, "insufficient-scope")
    assert client.get(f"/v1/holds/{held['id']}").json()["status"] == "held"


# ---------------------------------------------------------------------------------------------- orders
def order(channel: str = "web") -> dict[str, Any]:
    return {
        "channel": channel,
        "external_id": f"W-{next(_numbers)}",
        "lines": [{"sku": SKU, "qty": 1, "unit_price": "89.00"}],
        "currency": "EUR",
    }


def test_an_order_is_placed_only_by_its_channels_token(client: TestClient) -> None:
    clients = world(client)
    assert statuses(clients, lambda c: c.post("/v1/orders", json=order("web"))) == expect({"admin", "channel:web"})
    assert statuses(clients, lambda c: c.post("/v1/orders", json=order("other"))) == expect({"admin", "channel:other"})


def test_a_scoped_token_reads_and_steps_only_orders_in_its_scope_and_others_are_404(client: TestClient) -> None:
    clients = world(client)
    placed = client.post("/v1/orders", json=order("web")).json()  # allocated from WH, the web shop's first source
    assert {a["location"] for a in placed["allocations"]} == {"WH"}
    reads = statuses(clients, lambda c: c.get(f"/v1/orders/{placed['id']}"))
    assert reads == expect({"admin", "read", "channel:web"}, ok=200, refused=404)
    for who in ("channel:other", "location:STORE-1", "location:STORE-2"):
        assert_problem(clients[who].get(f"/v1/orders/{placed['id']}"), 404, "unknown-order")
        assert_problem(clients[who].post(f"/v1/orders/{placed['id']}/cancel"), 404, "unknown-order")
    assert client.get(f"/v1/orders/{placed['id']}").json()["status"] == "allocated"
    till_sale = clients["location:STORE-1"].post("/v1/sales", json=sale()).json()
    sale_reads = statuses(clients, lambda c: c.get(f"/v1/orders/{till_sale['id']}"))
    assert sale_reads == expect({"admin", "read", "location:STORE-1"}, ok=200, refused=404)


def test_availability_is_read_by_its_channels_token_and_read_tokens_only(client: TestClient) -> None:
    clients = world(client)
    reads = statuses(clients, lambda c: c.get("/v1/availability/web"))
    assert reads == expect({"admin", "read", "channel:web"}, ok=200)


def test_a_channels_marketplace_calls_are_its_tokens_and_read_tokens_only(client: TestClient) -> None:
    clients = world(client)
    for path in (
        "/v1/channels/web/listings",
        "/v1/channels/web/pauses",
        "/v1/channels/web/confirmations",
        "/v1/channels/web",
    ):
        assert statuses(clients, lambda c, p=path: c.get(p)) == expect({"admin", "read", "channel:web"}, ok=200), path
    linked = statuses(clients, lambda c: c.put(f"/v1/channels/other/listings/{SKU}", json={}))
    assert {who for who, status in linked.items() if status == 403} == set(WHO) - {"admin", "channel:other"}
