"""Orders of every channel land in one queue and allocate from the channel's sources, on both databases."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from seamline.service import Seamline
from tests.conftest import receive
from tests.integration.order_world import (
    PACK,
    SKU,
    all_stock,
    assert_problem,
    atp,
    order_body,
    place,
    reconciled,  # noqa: F401 - the fixture, used below
    seed_channels,
    stock,
    written,
)

pytestmark = pytest.mark.usefixtures("reconciled")


def test_web_order_allocates_from_the_first_source_that_has_the_line_whole(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 1, to="WH")
    receive(client, SKU, 3, to="STORE-1")
    order = place(client, lines=[{"sku": SKU, "qty": 2, "unit_price": "89.00"}])
    assert order["status"] == "allocated"
    assert order["kind"] == "dtc"
    assert order["total"] == "178.00"
    assert [(a["location"], a["qty"], a["status"]) for a in order["allocations"]] == [("STORE-1", 2, "open")]
    assert stock(client, SKU, "STORE-1") == (3, 2, 0, 1)
    assert stock(client, SKU, "WH") == (1, 0, 0, 1)


def test_a_line_is_split_across_sources_only_where_the_channel_allows_it(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 1, to="WH")
    receive(client, SKU, 1, to="STORE-1")
    refused = client.post("/v1/orders", json=order_body(lines=[{"sku": SKU, "qty": 2, "unit_price": "89.00"}]))
    body = assert_problem(refused, 409, "insufficient-stock")
    assert body["shortages"] == [{"sku": SKU, "requested": 2, "available": 1, "location": None, "bound": "sources"}]
    assert (
        client.put(
            "/v1/channels/web", json={"kind": "shopify", "sources": ["WH", "STORE-1"], "allow_split": True}
        ).status_code
        == 200
    )
    order = place(client, lines=[{"sku": SKU, "qty": 2, "unit_price": "89.00"}])
    assert order["status"] == "allocated"
    assert sorted((a["location"], a["qty"]) for a in order["allocations"]) == [("STORE-1", 1), ("WH", 1)]


def test_rejecting_channel_short_on_one_line_writes_nothing_at_all(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    receive(client, SKU, 5)
    before = (all_stock(client), written(app))
    response = client.post(
        "/v1/orders",
        json=order_body(
            customer={"email": "Ada@Example.COM"},
            lines=[
                {"sku": SKU, "qty": 1, "unit_price": "89.00"},
                {"sku": "OVS-001-NVY-L", "qty": 1, "unit_price": "89.00"},
            ],
        ),
    )
    assert_problem(response, 409, "insufficient-stock")
    assert (all_stock(client), written(app)) == before, "no order, no allocation, no customer"


def test_backordering_channel_takes_what_there_is_and_backorders_the_rest(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 2, to="WH")
    order = place(client, "amazon", "AMZ-1", lines=[{"sku": SKU, "qty": 3, "unit_price": "89.00"}])
    assert order["kind"] == "marketplace"
    assert order["status"] == "partially_allocated"
    assert (order["lines"][0]["allocated"], order["lines"][0]["backordered"]) == (2, 1)
    nothing = place(client, "amazon", "AMZ-2")
    assert nothing["status"] == "backordered"
    assert nothing["allocations"] == []


def test_repeating_channel_and_external_id_returns_the_first_order(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    receive(client, SKU, 5)
    first = place(client)
    before = (all_stock(client), written(app))
    again = client.post("/v1/orders", json=order_body(lines=[{"sku": SKU, "qty": 3, "unit_price": "1.00"}]))
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert again.json()["lines"][0]["qty"] == 1
    assert (all_stock(client), written(app)) == before
    other_channel = place(client, "amazon", "W-1")
    assert other_channel["id"] != first["id"], "external ids are unique per channel, not globally"


def test_order_commits_a_checkout_hold_that_holds_exactly_its_units(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 2)
    hold = client.post("/v1/holds", json={"channel": "web", "lines": [{"sku": SKU, "qty": 2}]}).json()
    mismatch = client.post("/v1/orders", json=order_body(hold_id=hold["id"]))
    assert_problem(mismatch, 422, "hold-mismatch", "hold_id")
    assert stock(client, SKU, "WH") == (2, 0, 2, 0), "the hold is still held"
    order = place(client, hold_id=hold["id"], lines=[{"sku": SKU, "qty": 2, "unit_price": "89.00"}])
    assert order["status"] == "allocated"
    assert order["hold_id"] == hold["id"]
    assert stock(client, SKU, "WH") == (2, 2, 0, 0), "reserved became committed; available did not move"
    assert client.get(f"/v1/holds/{hold['id']}").json()["status"] == "committed"
    reused = client.post(
        "/v1/orders",
        json=order_body(external_id="W-2", hold_id=hold["id"], lines=[{"sku": SKU, "qty": 2, "unit_price": "89.00"}]),
    )
    assert_problem(reused, 409, "hold-not-held")


def test_prepack_allocates_its_component_units_atomically(client: TestClient) -> None:
    seed_channels(client)
    for sku, qty in (("OVS-001-NVY-S", 2), ("OVS-001-NVY-M", 4), ("OVS-001-NVY-L", 3), ("OVS-001-NVY-XL", 2)):
        receive(client, sku, qty)
    order = place(
        client, lines=[{"sku": PACK, "qty": 1, "unit_price": "300.00"}, {"sku": SKU, "qty": 2, "unit_price": "89.00"}]
    )
    assert order["status"] == "allocated"
    assert stock(client, "OVS-001-NVY-M", "WH") == (4, 4, 0, 0), "the pack's two M and the loose two share the M"
    short = client.post(
        "/v1/orders", json=order_body(external_id="W-2", lines=[{"sku": PACK, "qty": 1, "unit_price": "300.00"}])
    )
    body = assert_problem(short, 409, "insufficient-stock")
    assert body["shortages"][0]["sku"] == PACK
    assert stock(client, "OVS-001-NVY-S", "WH") == (2, 1, 0, 1), "no component of the refused pack was taken"
    assert atp(client, "web", PACK) == 0


def test_allocated_units_leave_every_channels_availability_at_once(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 3, to="STORE-1")
    assert (atp(client, "web"), atp(client, "wholesale"), atp(client, "soho-till")) == (3, 3, 3)
    place(client, "wholesale", "PO-1", lines=[{"sku": SKU, "qty": 2, "unit_price": "38.00"}])
    assert (atp(client, "web"), atp(client, "wholesale"), atp(client, "soho-till")) == (1, 1, 1)


def test_list_orders_filters_by_channel_and_status_and_pages_with_a_cursor(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 3)
    ids = [place(client, "web", f"W-{i}")["id"] for i in range(3)]
    backordered = place(client, "amazon", "AMZ-1")  # amazon sources only WH, which is now empty
    assert backordered["status"] == "backordered"
    first = client.get("/v1/orders", params={"channel": "web", "limit": 2}).json()
    assert [o["id"] for o in first["items"]] == ids[:2]
    rest = client.get("/v1/orders", params={"channel": "web", "limit": 2, "cursor": first["next_cursor"]}).json()
    assert [o["id"] for o in rest["items"]] == ids[2:]
    assert rest["next_cursor"] is None
    by_status = client.get("/v1/orders", params={"status": "backordered"}).json()["items"]
    assert [o["id"] for o in by_status] == [backordered["id"]]
    both = client.get("/v1/orders", params={"status": "backordered,allocated"}).json()["items"]
    assert len(both) == 4
    assert_problem(client.get("/v1/orders", params={"status": "lost"}), 422, "validation-error", "status")
    assert_problem(client.get("/v1/orders", params={"cursor": "x"}), 422, "validation-error", "cursor")
