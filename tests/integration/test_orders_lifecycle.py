"""The order state machine over HTTP: pick is the stock movement and the end of the allocation; every
illegal step is a 409, never a silent no-op."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from seamline.service import Seamline
from seamline.store.tables import order_lines
from tests.conftest import receive
from tests.integration.order_world import (
    SKU,
    all_stock,
    assert_problem,
    atp,
    fulfil,
    place,
    reconciled,  # noqa: F401 - the fixture, used below
    seed_channels,
    step,
    stock,
    written,
)

pytestmark = pytest.mark.usefixtures("reconciled")
L = "OVS-001-NVY-L"


def test_pick_moves_the_units_to_the_customer_and_ends_the_allocation(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    receive(client, SKU, 3)
    order = place(client, lines=[{"sku": SKU, "qty": 2, "unit_price": "89.00"}])
    assert stock(client, SKU, "WH") == (3, 2, 0, 1)
    picked = step(client, order["id"], "pick")
    assert picked["status"] == "picked"
    assert stock(client, SKU, "WH") == (1, 0, 0, 1), "on hand and committed drop together at pick"
    assert [(a["qty"], a["status"]) for a in picked["allocations"]] == [(2, "picked")]
    [pick] = [m for m in app.movements_of(SKU) if m["kind"] == "pick"]
    assert (pick["from"], pick["to"], pick["qty"], pick["document"]) == ("WH", "customer", 2, order["id"])
    assert atp(client, "web") == 1, "picking does not change what channels can sell"


def test_order_walks_pick_pack_ship_close(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 1)
    order = place(client)
    assert step(client, order["id"], "pick")["status"] == "picked"
    assert step(client, order["id"], "pack")["status"] == "packed"
    shipped = step(client, order["id"], "ship", {"tracking": "1Z999AA10123456784"})
    assert (shipped["status"], shipped["tracking"]) == ("shipped", "1Z999AA10123456784")
    assert step(client, order["id"], "close")["status"] == "closed"
    assert client.get(f"/v1/orders/{order['id']}").json()["lines"][0]["shipped"] == 1


def test_partial_pick_leaves_the_rest_allocated_and_the_order_partially_picked(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 3)
    receive(client, L, 1)
    order = place(
        client,
        lines=[{"sku": SKU, "qty": 3, "unit_price": "89.00"}, {"sku": L, "qty": 1, "unit_price": "89.00"}],
    )
    partial = step(client, order["id"], "pick", {"lines": [{"sku": SKU, "qty": 2}]})
    assert partial["status"] == "partially_picked"
    assert [(line["allocated"], line["picked"]) for line in partial["lines"]] == [(1, 2), (1, 0)]
    assert stock(client, SKU, "WH") == (1, 1, 0, 0)
    packed = step(client, order["id"], "pack")
    assert packed["status"] == "partially_packed"
    rest = step(client, order["id"], "pick")
    assert rest["status"] == "partially_packed"
    assert step(client, order["id"], "pack")["status"] == "packed"


def test_illegal_steps_are_409_and_change_nothing(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    receive(client, SKU, 1)
    order = place(client)
    backordered = place(client, "amazon", "AMZ-1")
    before = (all_stock(client), written(app))
    for order_id, name, why in (
        (order["id"], "ship", "shipping an unpicked order"),
        (order["id"], "pack", "packing an unpicked order"),
        (order["id"], "close", "closing an unshipped order"),
        (backordered["id"], "pick", "picking a backordered order"),
    ):
        body = assert_problem(client.post(f"/v1/orders/{order_id}/{name}"), 409, "illegal-transition")
        assert body["current"] in ("allocated", "backordered"), why
    assert (all_stock(client), written(app)) == before
    fulfil(client, order["id"])
    assert_problem(client.post(f"/v1/orders/{order['id']}/cancel"), 409, "illegal-transition")
    assert_problem(client.post(f"/v1/orders/{order['id']}/pick"), 409, "illegal-transition")


def test_picking_more_than_allocated_or_a_sku_not_on_the_order_is_refused(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    receive(client, SKU, 5)
    order = place(client, lines=[{"sku": SKU, "qty": 2, "unit_price": "89.00"}])
    before = (all_stock(client), written(app))
    over = client.post(f"/v1/orders/{order['id']}/pick", json={"lines": [{"sku": SKU, "qty": 3}]})
    assert_problem(over, 422, "pick-exceeds-allocation", "lines[0].qty")
    other = client.post(f"/v1/orders/{order['id']}/pick", json={"lines": [{"sku": L, "qty": 1}]})
    assert_problem(other, 422, "sku-not-on-order", "lines[0].sku")
    zero = client.post(f"/v1/orders/{order['id']}/pick", json={"lines": [{"sku": SKU, "qty": 0}]})
    assert_problem(zero, 422, "validation-error", "lines[0].qty")
    assert (all_stock(client), written(app)) == before


def test_cancel_releases_what_is_still_allocated(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 2)
    order = place(client, lines=[{"sku": SKU, "qty": 2, "unit_price": "89.00"}])
    assert atp(client, "web") == 0
    cancelled = step(client, order["id"], "cancel")
    assert cancelled["status"] == "cancelled"
    assert cancelled["awaiting_return"] == []
    assert [a["status"] for a in cancelled["allocations"]] == ["cancelled"]
    assert stock(client, SKU, "WH") == (2, 0, 0, 2)
    assert atp(client, "web") == 2
    assert_problem(client.post(f"/v1/orders/{order['id']}/cancel"), 409, "illegal-transition")


def test_cancelling_a_partly_picked_order_leaves_the_picked_units_to_a_return(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 3)
    order = place(client, lines=[{"sku": SKU, "qty": 3, "unit_price": "89.00"}])
    step(client, order["id"], "pick", {"lines": [{"sku": SKU, "qty": 1}]})
    cancelled = step(client, order["id"], "cancel")
    assert cancelled["awaiting_return"] == [{"sku": SKU, "qty": 1}]
    assert (cancelled["lines"][0]["cancelled"], cancelled["lines"][0]["picked"]) == (2, 1)
    assert stock(client, SKU, "WH") == (2, 0, 0, 2)
    back = client.post(
        "/v1/returns",
        json={"order_id": order["id"], "location": "WH", "lines": [{"sku": SKU, "qty": 1, "condition": "sellable"}]},
    )
    assert back.status_code == 201, back.text
    assert stock(client, SKU, "WH") == (3, 0, 0, 3)


def test_a_step_on_an_unknown_order_is_404(client: TestClient) -> None:
    seed_channels(client)
    for name in ("pick", "pack", "ship", "cancel", "close"):
        assert_problem(client.post(f"/v1/orders/ord_nope/{name}"), 404, "unknown-order")
    assert_problem(client.get("/v1/orders/ord_nope"), 404, "unknown-order")


def test_repeated_step_with_the_same_idempotency_key_is_answered_once(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 2)
    order = place(client, lines=[{"sku": SKU, "qty": 2, "unit_price": "89.00"}])
    headers = {"Idempotency-Key": "pick-1"}
    first = client.post(f"/v1/orders/{order['id']}/pick", json={"lines": [{"sku": SKU, "qty": 1}]}, headers=headers)
    again = client.post(f"/v1/orders/{order['id']}/pick", json={"lines": [{"sku": SKU, "qty": 1}]}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["lines"][0]["picked"] == 1, "the second request picked nothing more"
    assert stock(client, SKU, "WH") == (1, 1, 0, 0)


def test_reconcile_catches_an_order_line_that_disagrees_with_its_allocations(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    receive(client, SKU, 2)
    order = place(client, lines=[{"sku": SKU, "qty": 2, "unit_price": "89.00"}])
    assert app.reconcile().clean
    with app.engine.begin() as conn:
        conn.execute(update(order_lines).where(order_lines.c.order_id == order["id"]).values(allocated=1))
    report = app.reconcile()
    assert not report.clean
    assert [(d.order_id, d.sku, d.line_units, d.open_allocations) for d in report.order_differences] == [
        (order["id"], SKU, 1, 2)
    ]
    with app.engine.begin() as conn:  # put it back, so the after-test reconcile passes
        conn.execute(update(order_lines).where(order_lines.c.order_id == order["id"]).values(allocated=2))
