"""The ledger over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

from seamline.domain.clock import FixedClock
from seamline.service import Seamline
from tests.conftest import receive, seed_world

SKU = "OVS-001-NVY-M"


def stock_of(client: TestClient, sku: str, location: str) -> dict[str, int]:
    items = client.get("/v1/stock", params={"sku": sku, "location": location}).json()["items"]
    assert len(items) <= 1
    return items[0] if items else {"on_hand": 0, "committed": 0, "reserved": 0, "available": 0}


def test_receipt_then_hold_then_release_moves_available_and_back(client: TestClient) -> None:
    seed_world(client)
    receive(client, SKU, 5)
    hold = client.post("/v1/holds", json={"channel": "web", "lines": [{"sku": SKU, "qty": 2}], "ttl_seconds": 600})
    assert hold.status_code == 201, hold.text
    body = hold.json()
    assert body["status"] == "held"
    assert body["lines"] == [{"sku": SKU, "location": "WH", "qty": 2}]
    wh = stock_of(client, SKU, "WH")
    assert (wh["on_hand"], wh["committed"], wh["reserved"], wh["available"]) == (5, 0, 2, 3)
    released = client.post(f"/v1/holds/{body['id']}/release")
    assert released.status_code == 200
    assert released.json()["status"] == "released"
    assert stock_of(client, SKU, "WH")["available"] == 5
    again = client.post(f"/v1/holds/{body['id']}/release")
    assert again.status_code == 200, "releasing twice answers the same"
    assert stock_of(client, SKU, "WH")["available"] == 5, "and gives nothing back twice"


def test_hold_short_on_one_line_holds_nothing_and_lists_every_shortage(client: TestClient) -> None:
    seed_world(client)
    receive(client, SKU, 1)
    receive(client, "OVS-001-NVY-L", 1)
    response = client.post(
        "/v1/holds",
        json={
            "channel": "web",
            "lines": [{"sku": SKU, "qty": 1}, {"sku": "OVS-001-NVY-L", "qty": 3}, {"sku": "OVS-001-NVY-S", "qty": 1}],
        },
    )
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"].endswith("/insufficient-stock")
    shortages = {s["sku"]: (s["requested"], s["available"]) for s in problem["shortages"]}
    assert shortages == {"OVS-001-NVY-L": (3, 1), "OVS-001-NVY-S": (1, 0)}
    assert stock_of(client, SKU, "WH")["reserved"] == 0, "the servable line was not held either"


def test_expired_hold_stops_counting_at_read_and_is_swept(client: TestClient, app: Seamline, clock: FixedClock) -> None:
    seed_world(client)
    receive(client, SKU, 1)
    hold = client.post("/v1/holds", json={"channel": "web", "lines": [{"sku": SKU, "qty": 1}], "ttl_seconds": 60})
    assert hold.status_code == 201
    assert stock_of(client, SKU, "WH")["available"] == 0
    clock.advance(61)
    assert stock_of(client, SKU, "WH")["available"] == 1, "expiry is evaluated at read, before any sweep"
    assert client.get(f"/v1/holds/{hold.json()['id']}").json()["status"] == "expired"
    second = client.post("/v1/holds", json={"channel": "web", "lines": [{"sku": SKU, "qty": 1}], "ttl_seconds": 60})
    assert second.status_code == 201, "a shortage sweeps expired holds of the SKU and tries again"
    assert app.reconcile().clean
    late = client.post(f"/v1/holds/{hold.json()['id']}/release")
    assert late.status_code == 409
    assert late.json()["type"].endswith("/hold-expired")


def test_damage_moves_units_out_of_available_into_damaged(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    receive(client, SKU, 3, to="STORE-1")
    response = client.post("/v1/movements", json={"kind": "damage", "sku": SKU, "qty": 1, "from": "STORE-1"})
    assert response.status_code == 201, response.text
    assert response.json()["to"] == "damaged"
    assert stock_of(client, SKU, "STORE-1")["on_hand"] == 2
    damaged = stock_of(client, SKU, "damaged")
    assert damaged["on_hand"] == 1
    assert damaged["available"] == 0
    availability = client.get("/v1/availability/web", params={"sku": SKU}).json()["items"]
    assert availability == [{"sku": SKU, "available": 2, "atp": 2, "paused": False}]
    assert app.reconcile().clean
