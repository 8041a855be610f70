"""Transfers (from -> in_transit -> to, short and over receipts as adjustments) and counts (snapshot at the
start, differences net of what moved during the count)."""

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
    place,
    reconciled,  # noqa: F401 - the fixture, used below
    sale_body,
    seed_channels,
    stock,
    written,
)

pytestmark = pytest.mark.usefixtures("reconciled")
L = "OVS-001-NVY-L"


def transfer(client: TestClient, lines: list[dict[str, Any]], src: str = "WH", dst: str = "STORE-1") -> dict[str, Any]:
    response = client.post("/v1/transfers", json={"from": src, "to": dst, "lines": lines})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def post(client: TestClient, path: str, json: Any = None) -> dict[str, Any]:
    response = client.post(path, json=json)
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_transfer_in_transit_is_in_no_ones_availability(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 5)
    created = transfer(client, [{"sku": SKU, "qty": 3}])
    assert created["status"] == "open"
    assert atp(client, "web") == 5, "an open transfer moves nothing"
    shipped = post(client, f"/v1/transfers/{created['id']}/ship")
    assert shipped["status"] == "in_transit"
    assert stock(client, SKU, "WH") == (2, 0, 0, 2)
    assert stock(client, SKU, "in_transit")[0] == 3
    for channel in ("web", "wholesale", "amazon", "soho-till"):
        assert atp(client, channel) == (2 if channel != "soho-till" else 0), channel
    received = post(client, f"/v1/transfers/{created['id']}/receive")
    assert received["status"] == "received"
    assert received["lines"] == [{"sku": SKU, "qty": 3, "received": 3}]
    assert stock(client, SKU, "STORE-1") == (3, 0, 0, 3)
    assert stock(client, SKU, "in_transit")[0] == 0
    assert atp(client, "soho-till") == 3


def test_short_and_over_receipts_become_explicit_adjustments(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    receive(client, SKU, 5, to="STORE-1")
    receive(client, L, 5, to="STORE-1")
    created = transfer(client, [{"sku": SKU, "qty": 4}, {"sku": L, "qty": 2}], "STORE-1", "STORE-2")
    post(client, f"/v1/transfers/{created['id']}/ship")
    received = post(
        client,
        f"/v1/transfers/{created['id']}/receive",
        {"lines": [{"sku": SKU, "qty": 3}, {"sku": L, "qty": 3}]},
    )
    assert {line["sku"]: (line["qty"], line["received"]) for line in received["lines"]} == {SKU: (4, 3), L: (2, 3)}
    assert stock(client, SKU, "STORE-2") == (3, 0, 0, 3)
    assert stock(client, L, "STORE-2") == (3, 0, 0, 3)
    assert stock(client, SKU, "in_transit")[0] == 0, "the missing unit is written off, not left in transit"
    adjustments = {
        (m["sku"], m["from"], m["to"], m["qty"])
        for sku in (SKU, L)
        for m in app.movements_of(sku)
        if m["kind"] == "adjustment"
    }
    assert adjustments == {(SKU, "in_transit", "adjustment", 1), (L, "adjustment", "STORE-2", 1)}


def test_transfer_steps_out_of_order_are_409_and_bad_transfers_are_refused(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    receive(client, SKU, 1)
    before = (all_stock(client), written(app))
    same = client.post("/v1/transfers", json={"from": "WH", "to": "WH", "lines": [{"sku": SKU, "qty": 1}]})
    assert_problem(same, 422, "same-location", "to")
    virtual = client.post("/v1/transfers", json={"from": "WH", "to": "damaged", "lines": [{"sku": SKU, "qty": 1}]})
    assert_problem(virtual, 422, "validation-error", "to")
    unknown = client.post("/v1/transfers", json={"from": "WH", "to": "STORE-1", "lines": [{"sku": "NOPE", "qty": 1}]})
    assert_problem(unknown, 422, "unknown-sku", "lines[0].sku")
    assert (all_stock(client), written(app)) == before
    created = transfer(client, [{"sku": SKU, "qty": 2}])
    assert_problem(client.post(f"/v1/transfers/{created['id']}/receive"), 409, "illegal-transition")
    assert_problem(client.post(f"/v1/transfers/{created['id']}/ship"), 409, "insufficient-stock")
    assert_problem(client.post("/v1/transfers/trf_nope/ship"), 404, "unknown-transfer")
    assert post(client, f"/v1/transfers/{created['id']}/cancel")["status"] == "cancelled"
    assert_problem(client.post(f"/v1/transfers/{created['id']}/ship"), 409, "illegal-transition")


def test_a_count_during_sales_books_only_real_shrink(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    receive(client, SKU, 10, to="STORE-1")
    receive(client, L, 4, to="STORE-1")
    count = post(client, "/v1/counts", {"location": "STORE-1"})
    assert {line["sku"]: line["expected"] for line in count["lines"]} == {SKU: 10, L: 4}
    # Trading goes on while the shelf is counted: two M sold, one L received.
    assert (
        client.post(
            "/v1/sales",
            json=sale_body(
                lines=[{"sku": SKU, "qty": 2, "unit_price": "89.00"}], tenders=[{"type": "card", "amount": "178.00"}]
            ),
        ).status_code
        == 201
    )
    receive(client, L, 1, to="STORE-1")
    # The shelf holds 7 M (one really missing) and 5 L (all there).
    entered = post(
        client, f"/v1/counts/{count['id']}/lines", {"lines": [{"sku": SKU, "counted": 7}, {"sku": L, "counted": 5}]}
    )
    lines = {line["sku"]: line for line in entered["lines"]}
    assert (lines[SKU]["moved_during_count"], lines[SKU]["variance"]) == (-2, -1)
    assert (lines[L]["moved_during_count"], lines[L]["variance"]) == (1, 0)
    posted = post(client, f"/v1/counts/{count['id']}/post")
    assert posted["status"] == "posted"
    assert stock(client, SKU, "STORE-1") == (7, 0, 0, 7)
    assert stock(client, L, "STORE-1") == (5, 0, 0, 5)
    counts = [
        (m["sku"], m["from"], m["to"], m["qty"]) for s in (SKU, L) for m in app.movements_of(s) if m["kind"] == "count"
    ]
    assert counts == [(SKU, "STORE-1", "adjustment", 1)], "one unit of shrink, nothing for the sale or the receipt"
    assert_problem(client.post(f"/v1/counts/{count['id']}/post"), 409, "illegal-transition")


def test_a_count_finds_a_gain_and_a_sku_the_snapshot_did_not_expect(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 2, to="STORE-2")
    count = post(client, "/v1/counts", {"location": "STORE-2", "skus": [SKU]})
    post(client, f"/v1/counts/{count['id']}/lines", {"lines": [{"sku": SKU, "counted": 3}, {"sku": L, "counted": 1}]})
    posted = post(client, f"/v1/counts/{count['id']}/post")
    assert {line["sku"]: (line["expected"], line["variance"]) for line in posted["lines"]} == {
        SKU: (2, 1),
        L: (None, 1),
    }
    assert stock(client, SKU, "STORE-2") == (3, 0, 0, 3)
    assert stock(client, L, "STORE-2") == (1, 0, 0, 1)


def test_a_count_that_loses_promised_units_raises_an_oversell_exception(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    receive(client, SKU, 1, to="STORE-1")
    order = place(client, "soho-till", "CLICK-1")
    count = post(client, "/v1/counts", {"location": "STORE-1", "skus": [SKU]})
    post(client, f"/v1/counts/{count['id']}/lines", {"lines": [{"sku": SKU, "counted": 0}]})
    post(client, f"/v1/counts/{count['id']}/post")
    assert stock(client, SKU, "STORE-1") == (0, 1, 0, -1)
    [exception] = client.get("/v1/exceptions", params={"location": "STORE-1"}).json()["items"]
    assert (exception["cause"], exception["document"], exception["units"]) == ("count", count["id"], 1)
    assert [a["order_id"] for a in exception["short_allocations"]] == [order["id"]]
    assert app.reconcile().oversold


def test_bad_counts_are_refused(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    before = written(app)
    assert_problem(client.post("/v1/counts", json={"location": "NOWHERE"}), 422, "validation-error", "location")
    assert_problem(client.post("/v1/counts", json={"location": "WH", "skus": ["NOPE"]}), 422, "unknown-sku", "skus[0]")
    count = post(client, "/v1/counts", {"location": "WH"})
    negative = client.post(f"/v1/counts/{count['id']}/lines", json={"lines": [{"sku": SKU, "counted": -1}]})
    assert_problem(negative, 422, "validation-error", "lines[0].counted")
    assert_problem(client.post("/v1/counts/cnt_nope/post"), 404, "unknown-count")
    assert written(app) == before
