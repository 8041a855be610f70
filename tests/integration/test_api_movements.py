"""POST /v1/movements for every direct kind, GET /v1/stock, and bad input that must write nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from seamline.service import Seamline
from tests.conftest import ONE_DATABASE, receive, seed_world
from tests.integration.helpers import (
    assert_nothing_written,
    assert_problem,
    movement_count,
    quad,
    snapshot,
)

SKU = "OVS-001-NVY-M"
RECORDED_AT = "2026-11-27T08:00:00Z"  # the conftest clock


def post(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/movements", json=body)
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


# ---------------------------------------------------------------------------------------------- each kind
def test_receipt_comes_from_supplier_and_adds_on_hand_at_the_destination(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    response = client.post(
        "/v1/movements", json={"kind": "receipt", "sku": SKU, "qty": 5, "to": "WH", "document": "PO-1001"}
    )
    assert response.status_code == 201, response.text
    movement = response.json()
    assert isinstance(movement["id"], int)
    assert {k: movement[k] for k in ("kind", "sku", "qty", "from", "to", "document")} == {
        "kind": "receipt",
        "sku": SKU,
        "qty": 5,
        "from": "supplier",
        "to": "WH",
        "document": "PO-1001",
    }
    assert movement["occurred_at"] == movement["recorded_at"] == RECORDED_AT
    assert quad(client, SKU, "WH") == (5, 0, 0, 5)
    assert client.get("/v1/stock", params={"location": "supplier"}).json() == {"items": []}, "sinks are not stock"
    assert movement_count(app) == 1
    assert app.reconcile().clean


def test_a_second_receipt_adds_to_the_first(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    receive(client, SKU, 5)
    receive(client, SKU, 7)
    assert quad(client, SKU, "WH") == (12, 0, 0, 12)
    assert movement_count(app) == 2


def test_adjustment_gain_with_a_reason_comes_from_the_adjustment_location(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    receive(client, SKU, 2, to="STORE-1")
    movement = post(
        client, {"kind": "adjustment", "sku": SKU, "qty": 3, "to": "STORE-1", "reason": "found in stockroom"}
    )
    assert (movement["from"], movement["to"], movement["reason"]) == ("adjustment", "STORE-1", "found in stockroom")
    assert quad(client, SKU, "STORE-1") == (5, 0, 0, 5)
    assert app.reconcile().clean


def test_adjustment_loss_with_a_reason_goes_to_the_adjustment_location(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    receive(client, SKU, 5, to="STORE-1")
    movement = post(client, {"kind": "adjustment", "sku": SKU, "qty": 2, "from": "STORE-1", "reason": "shrink"})
    assert (movement["from"], movement["to"]) == ("STORE-1", "adjustment")
    assert quad(client, SKU, "STORE-1") == (3, 0, 0, 3)
    assert app.reconcile().clean


@ONE_DATABASE  # unit: test_ledger_movements
def test_adjustment_without_a_reason_is_422_naming_reason_and_writes_nothing(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    receive(client, SKU, 5)
    before = snapshot(client, app)
    for reason in (None, "   "):
        body = {"kind": "adjustment", "sku": SKU, "qty": 1, "from": "WH", "reason": reason}
        assert_problem(client.post("/v1/movements", json=body), 422, "validation-error", "reason")
    assert_nothing_written(client, app, before)


@ONE_DATABASE  # unit: test_ledger_movements
def test_adjustment_naming_both_or_neither_side_is_422_and_writes_nothing(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    receive(client, SKU, 5)
    before = snapshot(client, app)
    both = {"kind": "adjustment", "sku": SKU, "qty": 1, "from": "WH", "to": "STORE-1", "reason": "x"}
    assert_problem(client.post("/v1/movements", json=both), 422, "validation-error", "from", "to")
    neither = {"kind": "adjustment", "sku": SKU, "qty": 1, "reason": "x"}
    assert_problem(client.post("/v1/movements", json=neither), 422, "validation-error", "from", "to")
    assert_nothing_written(client, app, before)


def test_damage_moves_units_into_damaged_where_they_are_never_available(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    receive(client, SKU, 4, to="STORE-2")
    movement = post(client, {"kind": "damage", "sku": SKU, "qty": 3, "from": "STORE-2", "to": "damaged"})
    assert (movement["from"], movement["to"]) == ("STORE-2", "damaged")
    assert quad(client, SKU, "STORE-2") == (1, 0, 0, 1)
    damaged = client.get("/v1/stock", params={"sku": SKU, "location": "damaged"}).json()["items"]
    assert [(i["on_hand"], i["available"], i["sellable"]) for i in damaged] == [(3, 0, False)]
    assert app.reconcile().clean


@ONE_DATABASE  # unit: test_ledger_movements
def test_damage_naming_a_destination_other_than_damaged_is_422(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    receive(client, SKU, 4)
    before = snapshot(client, app)
    body = {"kind": "damage", "sku": SKU, "qty": 1, "from": "WH", "to": "STORE-1"}
    assert_problem(client.post("/v1/movements", json=body), 422, "validation-error", "to")
    assert_nothing_written(client, app, before)


def test_sample_moves_units_into_samples(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    receive(client, SKU, 4)
    movement = post(client, {"kind": "sample", "sku": SKU, "qty": 1, "from": "WH", "reason": "press day"})
    assert (movement["kind"], movement["from"], movement["to"]) == ("sample", "WH", "samples")
    assert quad(client, SKU, "WH") == (3, 0, 0, 3)
    assert quad(client, SKU, "samples")[0] == 1
    assert quad(client, SKU, "samples")[3] == 0
    assert app.reconcile().clean


def test_employee_purchase_sends_units_to_the_customer_side(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    receive(client, SKU, 4, to="STORE-1")
    movement = post(client, {"kind": "employee_purchase", "sku": SKU, "qty": 2, "from": "STORE-1"})
    assert (movement["from"], movement["to"]) == ("STORE-1", "customer")
    assert quad(client, SKU, "STORE-1") == (2, 0, 0, 2)
    assert client.get("/v1/availability/web", params={"sku": SKU}).json()["items"][0]["available"] == 2
    assert app.reconcile().clean


# ---------------------------------------------------------------------------------------------- not enough stock
@pytest.mark.parametrize(
    "body",
    [
        {"kind": "damage", "from": "STORE-1"},
        {"kind": "sample", "from": "STORE-1"},
        {"kind": "employee_purchase", "from": "STORE-1"},
        {"kind": "adjustment", "from": "STORE-1", "reason": "shrink"},
    ],
    ids=lambda b: b["kind"],
)
def test_a_movement_out_beyond_available_is_409_insufficient_stock_and_writes_nothing(
    client: TestClient, app: Seamline, body: dict[str, Any]
) -> None:
    seed_world(client)
    receive(client, SKU, 2, to="STORE-1")
    before = snapshot(client, app)
    response = client.post("/v1/movements", json={**body, "sku": SKU, "qty": 3})
    problem = assert_problem(response, 409, "insufficient-stock")
    assert problem["shortages"] == [{"sku": SKU, "requested": 3, "available": 2, "location": "STORE-1", "bound": None}]
    assert_nothing_written(client, app, before)


def test_a_movement_out_of_a_location_that_never_had_the_sku_is_409(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    before = snapshot(client, app)
    response = client.post("/v1/movements", json={"kind": "damage", "sku": SKU, "qty": 1, "from": "STORE-2"})
    problem = assert_problem(response, 409, "insufficient-stock")
    assert problem["shortages"][0]["available"] == 0
    assert_nothing_written(client, app, before)


def test_units_held_by_a_hold_cannot_be_damaged_away(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    receive(client, SKU, 3)
    hold = client.post("/v1/holds", json={"lines": [{"sku": SKU, "qty": 2, "location": "WH"}], "ttl_seconds": 600})
    assert hold.status_code == 201, hold.text
    before = snapshot(client, app)
    response = client.post("/v1/movements", json={"kind": "damage", "sku": SKU, "qty": 2, "from": "WH"})
    assert assert_problem(response, 409, "insufficient-stock")["shortages"][0]["available"] == 1
    assert_nothing_written(client, app, before)
    post(client, {"kind": "damage", "sku": SKU, "qty": 1, "from": "WH"})
    assert quad(client, SKU, "WH") == (2, 0, 2, 0)
    assert client.get(f"/v1/holds/{hold.json()['id']}").json()["status"] == "held"
    assert app.reconcile().clean


# ---------------------------------------------------------------------------------------------- bad input
RECEIPT = {"kind": "receipt", "sku": SKU, "qty": 2, "to": "WH"}


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    [
        ({"sku": "NOPE-1-BLK-M"}, 422, "unknown-sku", "sku"),
        ({"to": "NOWHERE"}, 422, "validation-error", "to"),
        ({"quantity": 2}, 422, "validation-error", "quantity"),
        ({"kind": "sale"}, 422, "validation-error", "kind"),
        ({"kind": "teleport"}, 422, "validation-error", "kind"),
        ({"to": None}, 422, "validation-error", "to"),
        ({"to": "supplier"}, 422, "validation-error", "to"),
        ({"to": "damaged"}, 422, "validation-error", "to"),
        ({"from": "WH"}, 422, "validation-error", "from"),
        ({"sku": "OVS-001-NVY-PACK"}, 422, "prepack-not-stocked", "sku"),
        ({"sku": ""}, 422, "validation-error", "sku"),
        ({"reason": "x" * 501}, 422, "validation-error", "reason"),
    ],
    ids=[
        "unknown-sku",
        "unknown-location",
        "unknown-field",
        "kind-not-direct",
        "kind-unknown",
        "receipt-without-to",
        "receipt-to-virtual",
        "receipt-to-damaged",
        "receipt-from-a-real-location",
        "prepack",
        "empty-sku",
        "reason-too-long",
    ],
)
def test_bad_movement_is_a_precise_4xx_problem_and_writes_nothing(
    client: TestClient, app: Seamline, changes: dict[str, Any], status: int, code: str, field: str
) -> None:
    seed_world(client)
    receive(client, SKU, 3)
    before = snapshot(client, app)
    response = client.post("/v1/movements", json={**RECEIPT, **changes})
    assert_problem(response, status, code, field)
    assert_nothing_written(client, app, before)


@ONE_DATABASE  # unit: test_ledger_movements
def test_a_quantity_that_is_not_a_positive_whole_number_is_422_naming_qty_and_writes_nothing(
    client: TestClient, app: Seamline
) -> None:
    seed_world(client)
    receive(client, SKU, 3)
    before = snapshot(client, app)
    for qty in (0, -1, "2", 2.5, 2.0, True, None, 10**12, [2], {"units": 2}):
        response = client.post("/v1/movements", json={**RECEIPT, "qty": qty})
        problem = assert_problem(response, 422, "validation-error", "qty")
        assert [e["field"] for e in problem["errors"]] == ["qty"], qty
    response = client.post("/v1/movements", json={k: v for k, v in RECEIPT.items() if k != "qty"})
    assert_problem(response, 422, "validation-error", "qty")
    assert_nothing_written(client, app, before)


@ONE_DATABASE
def test_malformed_json_movement_is_400_and_writes_nothing(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    before = snapshot(client, app)
    response = client.post(
        "/v1/movements", content=b'{"kind": "receipt", "sku": ', headers={"Content-Type": "application/json"}
    )
    problem = assert_problem(response, 400, "malformed-json")
    assert "errors" not in problem
    assert_nothing_written(client, app, before)


@ONE_DATABASE
def test_a_movement_body_that_is_not_an_object_is_422(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    before = snapshot(client, app)
    assert_problem(client.post("/v1/movements", json=[RECEIPT]), 422, "validation-error")
    assert_problem(client.post("/v1/movements", json="receipt"), 422, "validation-error")
    assert_nothing_written(client, app, before)


# ---------------------------------------------------------------------------------------------- reading stock
def test_stock_filters_by_sku_location_and_style(client: TestClient) -> None:
    seed_world(client)
    receive(client, SKU, 5)
    receive(client, SKU, 2, to="STORE-1")
    receive(client, "OVS-001-OLV-S", 1, to="STORE-1")
    everything = client.get("/v1/stock").json()["items"]
    assert sorted((i["sku"], i["location"], i["on_hand"]) for i in everything) == [
        ("OVS-001-NVY-M", "STORE-1", 2),
        ("OVS-001-NVY-M", "WH", 5),
        ("OVS-001-OLV-S", "STORE-1", 1),
    ]
    assert {i["location"] for i in client.get("/v1/stock", params={"sku": SKU}).json()["items"]} == {"WH", "STORE-1"}
    assert {i["sku"] for i in client.get("/v1/stock", params={"location": "STORE-1"}).json()["items"]} == {
        SKU,
        "OVS-001-OLV-S",
    }
    assert len(client.get("/v1/stock", params={"style": "OVS-001"}).json()["items"]) == 3
    assert client.get("/v1/stock", params={"style": "OTHER"}).json()["items"] == []
    item = client.get("/v1/stock", params={"sku": SKU, "location": "WH"}).json()["items"]
    assert {k: item[0][k] for k in ("sku", "location", "on_hand", "committed", "reserved", "available")} == {
        "sku": SKU,
        "location": "WH",
        "on_hand": 5,
        "committed": 0,
        "reserved": 0,
        "available": 5,
    }


def test_stock_for_an_unknown_sku_or_location_is_404(client: TestClient) -> None:
    seed_world(client)
    assert_problem(client.get("/v1/stock", params={"sku": "NOPE-1"}), 404, "unknown-sku")
    assert_problem(client.get("/v1/stock", params={"location": "NOWHERE"}), 404, "unknown-location")


# ---------------------------------------------------------------------------------------------- holds: bad input
def test_bad_hold_requests_are_precise_422s_and_hold_nothing(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    receive(client, SKU, 3)
    before = snapshot(client, app)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"channel": "web", "lines": [{"sku": "NOPE-1", "qty": 1}]}, "validation-error", "lines[0].sku"),
        ({"channel": "web", "lines": [{"sku": SKU, "qty": 0}]}, "validation-error", "lines[0].qty"),
        ({"channel": "web", "lines": [{"sku": SKU, "qty": "1"}]}, "validation-error", "lines[0].qty"),
        ({"channel": "web", "lines": [{"sku": SKU, "qty": 1.5}]}, "validation-error", "lines[0].qty"),
        ({"lines": [{"sku": SKU, "qty": 1, "location": "NOWHERE"}]}, "validation-error", "lines[0].location"),
        ({"lines": [{"sku": SKU, "qty": 1, "location": "damaged"}]}, "validation-error", "lines[0].location"),
        ({"lines": [{"sku": SKU, "qty": 1}]}, "validation-error", "lines[0].location"),
        ({"channel": "nope", "lines": [{"sku": SKU, "qty": 1}]}, "unknown-channel", "channel"),
        ({"channel": "web", "lines": [{"sku": SKU, "qty": 1}], "ttl_seconds": 0}, "validation-error", "ttl_seconds"),
        (
            {"channel": "web", "lines": [{"sku": SKU, "qty": 1}], "ttl_seconds": 10**9},
            "validation-error",
            "ttl_seconds",
        ),
        ({"channel": "web", "lines": []}, "validation-error", "lines"),
        (
            {"channel": "web", "lines": [{"sku": SKU, "qty": 1}, {"sku": "NOPE-1", "qty": 1}]},
            "validation-error",
            "lines[1].sku",
        ),
    ]
    for body, code, field in cases:
        assert_problem(client.post("/v1/holds", json=body), 422, code, field)
    assert_nothing_written(client, app, before)
    assert quad(client, SKU, "WH") == (3, 0, 0, 3), "the good line of a refused request was not held either"


def test_an_unknown_hold_is_404_to_read_and_to_release(client: TestClient) -> None:
    seed_world(client)
    assert_problem(client.get("/v1/holds/hld_nope"), 404, "unknown-hold")
    assert_problem(client.post("/v1/holds/hld_nope/release"), 404, "unknown-hold")
