"""Returns against any channel's order at any location, never more than sold, refunded to the original
tender; exchanges link a return to a new order."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from seamline.service import Seamline
from tests.conftest import receive
from tests.integration.order_world import (
    SKU,
    all_stock,
    assert_problem,
    atp,
    fulfil,
    place,
    reconciled,  # noqa: F401 - the fixture, used below
    sale_body,
    seed_channels,
    stock,
    written,
)

pytestmark = pytest.mark.usefixtures("reconciled")
L = "OVS-001-NVY-L"


def return_body(
    order_id: str, location: str = "STORE-2", qty: int = 1, condition: str = "sellable", **extra: Any
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "location": location,
        "lines": [{"sku": SKU, "qty": qty, "condition": condition}],
        **extra,
    }


def shipped_web_order(client: TestClient, qty: int = 2, **extra: Any) -> dict[str, Any]:
    receive(client, SKU, qty)
    order = place(client, lines=[{"sku": SKU, "qty": qty, "unit_price": "89.00"}], **extra)
    return fulfil(client, order["id"])


def test_bought_online_returned_in_store_restocks_the_store(client: TestClient) -> None:
    seed_channels(client)
    order = shipped_web_order(client, tenders=[{"type": "shopify_payments", "amount": "178.00"}])
    assert stock(client, SKU, "STORE-2") == (0, 0, 0, 0)
    response = client.post("/v1/returns", json=return_body(order["id"]))
    assert response.status_code == 201, response.text
    returned = response.json()
    assert (returned["order_id"], returned["location"]) == (order["id"], "STORE-2")
    assert returned["refund"] == {
        "total": "89.00",
        "currency": "EUR",
        "tenders": [{"tender": "shopify_payments", "amount": "89.00"}],
    }
    assert stock(client, SKU, "STORE-2") == (1, 0, 0, 1), "the store that took it back can sell it"
    assert stock(client, SKU, "WH") == (0, 0, 0, 0)
    after = client.get(f"/v1/orders/{order['id']}").json()
    assert after["lines"][0]["returned"] == 1
    assert after["returns"] == [returned["id"]]
    assert client.get(f"/v1/returns/{returned['id']}").json() == returned


def test_damaged_return_never_becomes_available(client: TestClient) -> None:
    seed_channels(client)
    order = shipped_web_order(client)
    response = client.post("/v1/returns", json=return_body(order["id"], "STORE-1", condition="damaged"))
    assert response.status_code == 201, response.text
    assert stock(client, SKU, "STORE-1") == (0, 0, 0, 0)
    assert stock(client, SKU, "damaged")[0] == 1
    assert stock(client, SKU, "damaged")[3] == 0
    for channel in ("web", "wholesale", "amazon", "soho-till"):
        assert atp(client, channel) == 0, channel


def test_returning_more_than_sold_is_refused_and_writes_nothing(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    order = shipped_web_order(client)
    assert client.post("/v1/returns", json=return_body(order["id"])).status_code == 201
    before = (all_stock(client), written(app))
    too_many = client.post("/v1/returns", json=return_body(order["id"], qty=2))
    body = assert_problem(too_many, 422, "return-exceeds-sold", "lines[0].qty")
    assert "1 already returned" in body["errors"][0]["message"]
    not_on_order = client.post(
        "/v1/returns",
        json={"order_id": order["id"], "location": "WH", "lines": [{"sku": L, "qty": 1, "condition": "sellable"}]},
    )
    assert_problem(not_on_order, 422, "sku-not-on-order", "lines[0].sku")
    unknown = client.post("/v1/returns", json=return_body("ord_nope"))
    assert_problem(unknown, 422, "unknown-order", "order_id")
    assert (all_stock(client), written(app)) == before


def test_units_not_yet_picked_cannot_be_returned(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 1)
    order = place(client)
    assert_problem(client.post("/v1/returns", json=return_body(order["id"])), 422, "return-exceeds-sold")


def test_till_sale_returned_at_another_store_refunds_the_tender_chosen_among_the_originals(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 2, to="STORE-1")
    sale = client.post(
        "/v1/sales",
        json=sale_body(
            lines=[{"sku": SKU, "qty": 2, "unit_price": "89.00"}],
            tenders=[{"type": "cash", "amount": "50.00"}, {"type": "card", "amount": "128.00"}],
        ),
    ).json()
    wrong = client.post("/v1/returns", json=return_body(sale["id"], refund={"tender": "gift_card"}))
    assert_problem(wrong, 422, "refund-tender-mismatch", "refund.tender")
    first = client.post("/v1/returns", json=return_body(sale["id"], refund={"tender": "cash"})).json()
    assert first["refund"]["tenders"] == [
        {"tender": "cash", "amount": "50.00"},
        {"tender": "card", "amount": "39.00"},
    ], "cash back up to what was paid in cash, the rest to the card"
    second = client.post("/v1/returns", json=return_body(sale["id"], refund={"tender": "cash"})).json()
    assert second["refund"]["tenders"] == [{"tender": "card", "amount": "89.00"}]
    assert stock(client, SKU, "STORE-2") == (2, 0, 0, 2)


def test_exchange_in_store_returns_one_size_and_hands_over_another(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 1, to="STORE-1")
    receive(client, L, 1, to="STORE-1")
    sale = client.post("/v1/sales", json=sale_body()).json()
    response = client.post(
        "/v1/exchanges",
        json={
            "order_id": sale["id"],
            "location": "STORE-1",
            "return_lines": [{"sku": SKU, "qty": 1, "condition": "sellable"}],
            "lines": [{"sku": L, "qty": 1}],
        },
    )
    assert response.status_code == 201, response.text
    exchange = response.json()
    new_order = exchange["order"]
    assert exchange["return"]["exchange_order_id"] == new_order["id"]
    assert new_order["exchange_of"] == exchange["return"]["id"]
    assert (new_order["kind"], new_order["status"]) == ("pos", "closed")
    assert new_order["tenders"] == [{"type": "exchange_credit", "amount": "89.00"}]
    assert exchange["return"]["refund"]["total"] == "0.00", "an even swap refunds nothing"
    assert stock(client, SKU, "STORE-1") == (1, 0, 0, 1)
    assert stock(client, L, "STORE-1") == (0, 0, 0, 0)


def test_exchange_for_a_dearer_item_needs_the_difference_paid(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    order = shipped_web_order(client, qty=1, tenders=[{"type": "card", "amount": "89.00"}])
    receive(client, L, 2)
    body = {
        "order_id": order["id"],
        "location": "WH",
        "return_lines": [{"sku": SKU, "qty": 1, "condition": "damaged"}],
        "lines": [{"sku": L, "qty": 2}],
    }
    before = (all_stock(client), written(app))
    assert_problem(client.post("/v1/exchanges", json=body), 422, "tenders-mismatch", "tenders")
    assert (all_stock(client), written(app)) == before
    response = client.post("/v1/exchanges", json={**body, "tenders": [{"type": "card", "amount": "89.00"}]})
    assert response.status_code == 201, response.text
    new_order = response.json()["order"]
    assert (new_order["kind"], new_order["channel"], new_order["status"]) == ("dtc", "web", "allocated")
    assert new_order["tenders"] == [
        {"type": "exchange_credit", "amount": "89.00"},
        {"type": "card", "amount": "89.00"},
    ]
    assert stock(client, L, "WH") == (2, 2, 0, 0)
    assert stock(client, SKU, "damaged")[0] == 1
