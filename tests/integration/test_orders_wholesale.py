"""Wholesale: ship windows, price tiers, pre-books placed before stock exists, and the allocation run that
serves backorders by ship date as stock arrives."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from seamline.cli.main import app as cli
from seamline.domain.clock import FixedClock
from tests.conftest import receive
from tests.integration.order_world import (
    PACK,
    SKU,
    assert_problem,
    atp,
    order_body,
    place,
    reconciled,  # noqa: F401 - the fixture, used below
    seed_channels,
    step,
    stock,
)

pytestmark = pytest.mark.usefixtures("reconciled")


def prebook(client: TestClient, po: str, start: str, qty: int = 3, sku: str = SKU, **extra: Any) -> dict[str, Any]:
    return place(
        client,
        "wholesale",
        po,
        lines=[{"sku": sku, "qty": qty}],
        prebook=True,
        ship_window={"start": start, "cancel": extra.pop("cancel", "2027-06-30")},
        **extra,
    )


def run(client: TestClient) -> dict[str, Any]:
    response = client.post("/v1/allocation-runs", json={})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_prebooks_wait_backordered_and_the_run_serves_the_earliest_ship_date_first(client: TestClient) -> None:
    seed_channels(client)
    later = prebook(client, "PO-MARCH", "2027-03-01")
    earlier = prebook(client, "PO-FEB", "2027-02-01")
    assert (later["status"], earlier["status"]) == ("backordered", "backordered")
    assert later["allocations"] == []
    assert later["prebook"] is True
    receive(client, SKU, 4)  # a receipt outside inbound supply: the run serves the pre-books, by ship date
    assert stock(client, SKU, "WH") == (4, 0, 0, 4)
    result = run(client)
    assert [(o["order_id"], o["units"], o["status"]) for o in result["orders"]] == [
        (earlier["id"], 3, "allocated"),
        (later["id"], 1, "partially_allocated"),
    ]
    assert atp(client, "web") == 0
    receive(client, SKU, 2)
    again = run(client)
    assert [(o["order_id"], o["units"], o["status"]) for o in again["orders"]] == [(later["id"], 2, "allocated")]
    assert run(client)["orders"] == [], "nothing left to allocate"


def test_a_prebook_takes_the_stock_on_hand_now_and_backorders_the_rest(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 2)
    order = prebook(client, "PO-NOW", "2027-02-01")
    assert (order["status"], order["lines"][0]["allocated"], order["lines"][0]["backordered"]) == (
        "partially_allocated",
        2,
        1,
    ), "units on hand are promised by allocation, the rest by backorder"
    assert stock(client, SKU, "WH") == (2, 2, 0, 0)


def test_allocation_run_skips_orders_past_their_cancel_date(client: TestClient, clock: FixedClock) -> None:
    seed_channels(client)
    late = prebook(client, "PO-LATE", "2026-11-01", cancel="2026-11-30")
    receive(client, SKU, 3)
    clock.advance(5 * 86400)  # 2 December: past the cancel date
    result = run(client)
    assert result["orders"] == []
    assert result["skipped_past_cancel_date"] == [late["id"]]
    assert stock(client, SKU, "WH") == (3, 0, 0, 3)


def test_allocation_run_serves_dtc_backorders_too_in_the_order_they_were_placed(client: TestClient) -> None:
    seed_channels(client)
    first = place(client, "amazon", "AMZ-1", lines=[{"sku": SKU, "qty": 2, "unit_price": "89.00"}])
    second = place(client, "amazon", "AMZ-2", lines=[{"sku": SKU, "qty": 2, "unit_price": "89.00"}])
    receive(client, SKU, 3)
    result = run(client)
    assert [(o["order_id"], o["status"]) for o in result["orders"]] == [
        (first["id"], "allocated"),
        (second["id"], "partially_allocated"),
    ]


def test_prepack_prebook_is_allocated_in_whole_packs_only(client: TestClient) -> None:
    seed_channels(client)
    order = prebook(client, "PO-PACKS", "2027-02-01", qty=2, sku=PACK)
    assert order["lines"][0]["unit_price"] == "228.00", "six units at the style's wholesale 38.00"
    for sku, qty in (("OVS-001-NVY-S", 2), ("OVS-001-NVY-M", 4), ("OVS-001-NVY-L", 3), ("OVS-001-NVY-XL", 2)):
        receive(client, sku, qty)
    result = run(client)
    assert [(o["units"], o["status"]) for o in result["orders"]] == [(1, "partially_allocated")]
    assert stock(client, "OVS-001-NVY-L", "WH") == (3, 2, 0, 1), "one whole pack's L units, not three"
    assert stock(client, "OVS-001-NVY-M", "WH") == (4, 2, 0, 2)
    receive(client, "OVS-001-NVY-L", 1)
    assert [o["status"] for o in run(client)["orders"]] == ["allocated"]


def test_wholesale_lines_take_the_price_tiers_price_unless_given(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 5)
    tiered = place(client, "wholesale", "PO-1", lines=[{"sku": SKU, "qty": 2}])
    assert (tiered["price_tier"], tiered["lines"][0]["unit_price"], tiered["total"]) == ("wholesale", "38.00", "76.00")
    retail = place(client, "wholesale", "PO-2", price_tier="retail", lines=[{"sku": SKU, "qty": 1}])
    assert retail["lines"][0]["unit_price"] == "89.00"
    given = place(client, "wholesale", "PO-3", lines=[{"sku": SKU, "qty": 1, "unit_price": "35.50"}])
    assert given["lines"][0]["unit_price"] == "35.50"
    missing = client.post(
        "/v1/orders", json=order_body("wholesale", "PO-4", price_tier="vip", lines=[{"sku": SKU, "qty": 1}])
    )
    assert_problem(missing, 422, "validation-error", "lines[0].unit_price")


def test_wholesale_order_ships_only_inside_its_ship_window(client: TestClient, clock: FixedClock) -> None:
    seed_channels(client)
    receive(client, SKU, 2)
    order = place(
        client,
        "wholesale",
        "PO-1",
        lines=[{"sku": SKU, "qty": 2}],
        ship_window={"start": "2026-12-01", "cancel": "2026-12-15"},
    )
    assert order["status"] == "allocated", "an at-once order allocates when placed"
    assert order["ship_window"] == {"start": "2026-12-01", "cancel": "2026-12-15"}
    step(client, order["id"], "pick")
    step(client, order["id"], "pack")
    early = client.post(f"/v1/orders/{order['id']}/ship")
    assert_problem(early, 409, "outside-ship-window")
    clock.advance(5 * 86400)
    assert step(client, order["id"], "ship")["status"] == "shipped"


def test_ship_windows_and_prebooks_are_wholesale_terms(client: TestClient) -> None:
    seed_channels(client)
    dtc = client.post("/v1/orders", json=order_body(ship_window={"start": "2027-01-01"}))
    assert_problem(dtc, 422, "validation-error", "kind")
    backwards = client.post(
        "/v1/orders",
        json=order_body("wholesale", "PO-1", ship_window={"start": "2027-02-01", "cancel": "2027-01-01"}),
    )
    assert_problem(backwards, 422, "validation-error", "ship_window.cancel")
    pos = client.post("/v1/orders", json=order_body(kind="pos"))
    assert_problem(pos, 422, "validation-error", "kind")


def test_allocation_run_is_for_admins(client: TestClient) -> None:
    seed_channels(client)
    token = client.post("/v1/tokens", json={"name": "b2b portal", "scopes": ["channel:wholesale"]}).json()["token"]
    response = client.post("/v1/allocation-runs", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 403, "insufficient-scope")


def test_seamline_allocate_runs_the_allocation_from_the_command_line(
    client: TestClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_channels(client)
    order = place(client, "amazon", "AMZ-1", lines=[{"sku": SKU, "qty": 2, "unit_price": "89.00"}])
    receive(client, SKU, 2)
    monkeypatch.setenv("SEAMLINE_DATABASE_URL", database_url)
    monkeypatch.delenv("SEAMLINE_ADMIN_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["allocate"])
    assert result.exit_code == 0, result.output
    assert f"{order['id']}: 2 units allocated, now allocated" in result.output
    assert client.get(f"/v1/orders/{order['id']}").json()["status"] == "allocated"
