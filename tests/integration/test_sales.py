"""POS sales: captured and fulfilled at once at the till's store; forced sales of goods that already left
raise oversell exceptions that name the orders now short."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

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


def token(client: TestClient, *scopes: str) -> dict[str, str]:
    response = client.post("/v1/tokens", json={"name": "till", "scopes": list(scopes)})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def oversold_total() -> float:
    return REGISTRY.get_sample_value("seamline_oversold_units_total") or 0.0


def test_till_sale_is_a_closed_pos_order_with_its_tenders_and_a_sale_movement(
    client: TestClient, app: Seamline
) -> None:
    seed_channels(client)
    receive(client, SKU, 2, to="STORE-1")
    body = sale_body(
        lines=[{"sku": SKU, "qty": 2, "unit_price": "89.00"}],
        tenders=[{"type": "cash", "amount": "100.00"}, {"type": "card", "amount": "78.00"}],
    )
    response = client.post("/v1/sales", json=body)
    assert response.status_code == 201, response.text
    sale = response.json()
    assert (sale["kind"], sale["status"], sale["channel"], sale["location"]) == (
        "pos",
        "closed",
        "pos:STORE-1",
        "STORE-1",
    )
    assert sale["tenders"] == [{"type": "cash", "amount": "100.00"}, {"type": "card", "amount": "78.00"}]
    assert sale["lines"][0]["shipped"] == 2
    assert stock(client, SKU, "STORE-1") == (0, 0, 0, 0)
    [move] = [m for m in app.movements_of(SKU) if m["kind"] == "sale"]
    assert (move["from"], move["to"], move["qty"], move["document"]) == ("STORE-1", "customer", 2, sale["id"])
    again = client.post("/v1/sales", json=body)
    assert again.status_code == 200, "a till retrying its receipt gets the first sale, not a second one"
    assert again.json()["id"] == sale["id"]


def test_sale_without_enough_available_is_409_and_writes_nothing(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    receive(client, SKU, 1, to="STORE-1")
    place(client, "soho-till", "HOLD-FOR-CUSTOMER")  # the one unit is committed to an order
    before = (all_stock(client), written(app))
    response = client.post("/v1/sales", json=sale_body())
    body = assert_problem(response, 409, "insufficient-stock")
    assert body["shortages"] == [{"sku": SKU, "requested": 1, "available": 0, "location": "STORE-1", "bound": None}]
    assert (all_stock(client), written(app)) == before


def test_tenders_must_add_up_to_the_sale(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    receive(client, SKU, 1, to="STORE-1")
    before = written(app)
    short = client.post("/v1/sales", json=sale_body(tenders=[{"type": "card", "amount": "80.00"}]))
    assert_problem(short, 422, "tenders-mismatch", "tenders")
    none = client.post("/v1/sales", json=sale_body(tenders=[]))
    assert_problem(none, 422, "validation-error", "tenders")
    assert written(app) == before


def test_a_store_token_sells_only_at_its_own_store(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 1, to="STORE-1")
    receive(client, SKU, 1, to="STORE-2")
    soho = token(client, "location:STORE-1")
    assert client.post("/v1/sales", json=sale_body(), headers=soho).status_code == 201
    elsewhere = client.post("/v1/sales", json=sale_body("STORE-2", "R-2"), headers=soho)
    assert_problem(elsewhere, 403, "insufficient-scope")
    assert stock(client, SKU, "STORE-2") == (1, 0, 0, 1)


def test_forced_sale_is_recorded_and_names_the_orders_now_short(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    receive(client, SKU, 2, to="STORE-1")
    first = place(client, "soho-till", "CLICK-1")
    second = place(client, "soho-till", "CLICK-2")
    metric_before = oversold_total()
    # The till was offline: it sold one unit that the ledger had promised to the two click-and-collect orders.
    response = client.post("/v1/sales", json=sale_body(force=True, occurred_at="2026-11-27T07:45:00+00:00"))
    assert response.status_code == 201, response.text
    assert response.json()["occurred_at"] == "2026-11-27T07:45:00Z"
    assert stock(client, SKU, "STORE-1") == (1, 2, 0, -1)
    exceptions = client.get("/v1/exceptions").json()["items"]
    assert len(exceptions) == 1
    exception = exceptions[0]
    assert (exception["sku"], exception["location"], exception["units"], exception["cause"]) == (
        SKU,
        "STORE-1",
        1,
        "sale",
    )
    assert exception["document"] == response.json()["id"]
    assert [a["order_id"] for a in exception["short_allocations"]] == [second["id"]], "the newest promise is short"
    assert exception["still_short"] == 1
    assert oversold_total() - metric_before == 1
    assert atp(client, "soho-till") == 0
    report = app.reconcile()
    assert report.clean, "an explained oversell is reported, not a difference"
    assert [(b.sku, b.location, b.available) for b in report.oversold] == [(SKU, "STORE-1", -1)]
    # The first order still has its unit; the second cannot be picked until stock arrives.
    assert client.post(f"/v1/orders/{first['id']}/pick").status_code == 200
    assert_problem(client.post(f"/v1/orders/{second['id']}/pick"), 409, "allocation-oversold")
    receive(client, SKU, 1, to="STORE-1")
    assert client.post(f"/v1/orders/{second['id']}/pick").status_code == 200
    assert client.get("/v1/exceptions").json()["items"][0]["still_short"] == 0
    metrics = client.get("/metrics").text
    assert "seamline_oversold_units_total" in metrics


def test_forced_sale_with_enough_stock_raises_no_exception(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 1, to="STORE-1")
    assert client.post("/v1/sales", json=sale_body(force=True)).status_code == 201
    assert client.get("/v1/exceptions").json()["items"] == []


def test_sale_of_a_prepack_takes_its_component_units(client: TestClient) -> None:
    seed_channels(client)
    for sku, qty in (("OVS-001-NVY-S", 1), ("OVS-001-NVY-M", 2), ("OVS-001-NVY-L", 2), ("OVS-001-NVY-XL", 1)):
        receive(client, sku, qty, to="STORE-1")
    response = client.post(
        "/v1/sales",
        json=sale_body(
            lines=[{"sku": "OVS-001-NVY-PACK", "qty": 1}],
            tenders=[{"type": "card", "amount": "534.00"}],
        ),
    )
    assert response.status_code == 201, response.text
    assert response.json()["lines"][0]["unit_price"] == "534.00", "six units at retail 89.00"
    for sku in ("OVS-001-NVY-S", "OVS-001-NVY-M", "OVS-001-NVY-L", "OVS-001-NVY-XL"):
        assert stock(client, sku, "STORE-1")[0] == 0


def test_sale_at_an_unknown_or_virtual_location_is_refused(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    before = written(app)
    assert_problem(client.post("/v1/sales", json=sale_body("NOWHERE")), 422, "validation-error", "location")
    assert_problem(client.post("/v1/sales", json=sale_body("damaged")), 422, "validation-error", "location")
    unknown_sku = client.post("/v1/sales", json=sale_body(lines=[{"sku": "NOPE", "qty": 1, "unit_price": "1.00"}]))
    assert_problem(unknown_sku, 422, "unknown-sku", "lines[0].sku")
    assert written(app) == before
