"""Store tills (issue 6): an offline till's batch is applied in the order its sales happened, once, all or
nothing, selling units the ledger no longer has with an oversell exception; the till catalog's version moves
when a price changes, the till sees the change, and ops see which stores are behind until their tills ack."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from seamline.service import Seamline
from seamline.service.orders import LineRequest, TenderRequest
from seamline.service.results import PutResult
from seamline.service.tills import OfflineBatch, OfflineSale, TillDesk
from seamline.store.tables import till_catalog_items
from tests.conftest import OVERSHIRT, receive
from tests.integration.helpers import issue_token
from tests.integration.order_world import SKU, assert_problem, place, seed_channels, stock, written
from tests.integration.test_dashboard_pages import log_in

BATCHES = "/v1/stores/STORE-1/offline-batches"


def offline_sale(external_id: str, occurred_at: str, qty: int = 1, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": external_id,
        "occurred_at": occurred_at,
        "lines": [{"sku": SKU, "qty": qty, "unit_price": "89.00"}],
        "tenders": [{"type": "cash", "amount": f"{89 * qty}.00"}],
        "currency": "EUR",
    }
    body.update(overrides)
    return body


def batch(*sales: dict[str, Any], batch_id: str = "B-1", till: str = "TILL-1") -> dict[str, Any]:
    return {"till": till, "batch_id": batch_id, "sales": list(sales)}


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


# ------------------------------------------------------------------------------------------ offline batches
def test_an_offline_batch_is_applied_in_the_order_the_sales_happened(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 1, to="STORE-1")
    # Listed out of order: the 09:00 sale with the till's receipt 1 took the last unit; receipt 2 in the same
    # second and the 11:00 sale sold units the ledger no longer had.
    sales = (
        offline_sale("OFF-LATE", "2026-11-27T11:00:00Z"),
        offline_sale("OFF-B", "2026-11-27T09:00:00Z", sequence=2),
        offline_sale("OFF-A", "2026-11-27T09:00:00+00:00", sequence=1),
    )
    answer = ok(client.post(BATCHES, json=batch(*sales)), 201)
    assert [(s["external_id"], s["status"], len(s["exceptions"])) for s in answer["sales"]] == [
        ("OFF-A", "recorded", 0),
        ("OFF-B", "recorded", 1),
        ("OFF-LATE", "recorded", 1),
    ]
    assert [s["occurred_at"] for s in answer["sales"]] == [
        "2026-11-27T09:00:00Z",
        "2026-11-27T09:00:00Z",
        "2026-11-27T11:00:00Z",
    ]
    assert answer["availability"] == [{"sku": SKU, "on_hand": -2, "available": -2}]
    assert answer["replayed"] is False


def test_an_offline_sale_of_a_unit_we_no_longer_have_is_accepted_and_listed_in_exceptions(
    client: TestClient, app: Seamline
) -> None:
    seed_channels(client)
    receive(client, SKU, 1, to="STORE-1")
    promised = place(client, "soho-till", "CLICK-1")  # the store's one unit, promised to a click-and-collect
    answer = ok(client.post(BATCHES, json=batch(offline_sale("OFF-1", "2026-11-27T07:30:00Z"))), 201)
    [sale] = answer["sales"]
    assert sale["status"] == "recorded"
    [raised] = sale["exceptions"]
    exceptions = ok(client.get("/v1/exceptions", params={"location": "STORE-1"}))["items"]
    assert [(e["id"], e["sku"], e["units"], e["document"]) for e in exceptions] == [
        (raised["id"], SKU, 1, sale["order_id"])
    ]
    assert [a["order_id"] for a in exceptions[0]["short_allocations"]] == [promised["id"]]
    assert stock(client, SKU, "STORE-1") == (0, 1, 0, -1)
    assert app.reconcile().clean


def test_a_replayed_batch_answers_its_first_results_and_its_id_with_other_sales_is_409(
    client: TestClient, app: Seamline
) -> None:
    seed_channels(client)
    receive(client, SKU, 5, to="STORE-1")
    body = batch(offline_sale("OFF-1", "2026-11-27T07:00:00Z"), offline_sale("OFF-2", "2026-11-27T07:05:00Z", 2))
    first = ok(client.post(BATCHES, json=body), 201)
    counts = written(app)
    again = ok(client.post(BATCHES, json=body), 200)
    assert again["replayed"] is True
    assert again["sales"] == first["sales"]
    other = batch(offline_sale("OFF-9", "2026-11-27T07:00:00Z"))
    assert_problem(client.post(BATCHES, json=other), 409, "batch-mismatch")
    assert written(app) == counts
    assert stock(client, SKU, "STORE-1") == (2, 0, 0, 2)


def test_a_sale_the_till_already_sent_on_its_own_is_a_duplicate_in_the_batch(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 5, to="STORE-1")
    alone = {"location": "STORE-1", **offline_sale("OFF-1", "2026-11-27T07:00:00Z")}
    sold = ok(client.post("/v1/sales", json=alone), 201)
    answer = ok(client.post(BATCHES, json=batch(offline_sale("OFF-1", "2026-11-27T07:00:00Z"))), 201)
    assert [(s["order_id"], s["status"]) for s in answer["sales"]] == [(sold["id"], "duplicate")]
    assert stock(client, SKU, "STORE-1") == (4, 0, 0, 4)


def test_a_bad_sale_or_a_sale_without_its_time_refuses_the_whole_batch_and_writes_nothing(
    client: TestClient, app: Seamline
) -> None:
    seed_channels(client)
    receive(client, SKU, 5, to="STORE-1")
    before = written(app)
    bad = offline_sale("OFF-2", "2026-11-27T07:05:00Z", lines=[{"sku": "NO-SUCH", "qty": 1, "unit_price": "89.00"}])
    short_paid = offline_sale("OFF-3", "2026-11-27T07:10:00Z", tenders=[{"type": "cash", "amount": "1.00"}])
    body = batch(offline_sale("OFF-1", "2026-11-27T07:00:00Z"), bad, short_paid)
    problem = assert_problem(client.post(BATCHES, json=body), 422, "validation-error", "sales[1].lines[0].sku")
    assert "sales[2].tenders" in {e["field"] for e in problem["errors"]}
    assert written(app) == before
    naive = offline_sale("OFF-1", "2026-11-27T07:00:00")
    twice = offline_sale("OFF-2", "2026-11-27T07:00:00Z")
    response = client.post(BATCHES, json=batch(naive, twice, twice))
    assert_problem(response, 422, "validation-error", "sales[0].occurred_at", "sales[2].external_id")
    assert_problem(client.post(BATCHES, json=batch()), 422, "validation-error")
    assert written(app) == before
    # Nothing was received either: the corrected batch under the same id is applied in full.
    fixed = batch(offline_sale("OFF-1", "2026-11-27T07:00:00Z"))
    assert ok(client.post(BATCHES, json=fixed), 201)["sales"][0]["status"] == "recorded"


def test_a_store_token_uploads_and_reads_its_catalog_only_for_its_own_store(client: TestClient) -> None:
    seed_channels(client)
    soho = {"Authorization": f"Bearer {issue_token(client, 'location:STORE-1')}"}
    body = batch(offline_sale("OFF-1", "2026-11-27T07:00:00Z"))
    assert client.post(BATCHES, json=body, headers=soho).status_code == 201
    elsewhere = client.post("/v1/stores/STORE-2/offline-batches", json=body, headers=soho)
    assert_problem(elsewhere, 403, "insufficient-scope")
    version = ok(client.get("/v1/stores/STORE-1/catalog", headers=soho))["version"]
    ack = {"till": "TILL-1", "version": version}
    assert client.put("/v1/stores/STORE-1/catalog/ack", json=ack, headers=soho).status_code == 200
    assert_problem(client.get("/v1/stores/STORE-2/catalog", headers=soho), 403, "insufficient-scope")
    assert_problem(client.put("/v1/stores/STORE-2/catalog/ack", json=ack, headers=soho), 403, "insufficient-scope")
    assert_problem(client.post("/v1/stores/WH/offline-batches", json=body), 422, "validation-error", "location")


# ------------------------------------------------------------------------------------------ till catalog
def test_a_price_change_raises_the_store_catalog_version_and_the_till_sees_it(client: TestClient) -> None:
    seed_channels(client)
    first = ok(client.get("/v1/stores/STORE-1/catalog"))
    assert first["complete"]
    assert first["version"] >= 1
    skus = {i["sku"]: i for i in first["items"]}
    assert (skus[SKU]["prices"], skus[SKU]["gtin"], skus[SKU]["colour_name"]) == (
        {"EUR": "89.00"},
        ok(client.get(f"/v1/skus/{SKU}"))["gtin"],
        "Navy",
    )
    assert "OVS-001-NVY-PACK" not in skus, "tills sell units, not wholesale prepacks"
    ok(client.put("/v1/stores/STORE-1/catalog/ack", json={"till": "TILL-1", "version": first["upto"]}))
    # Saving the same style again changes nothing a till sees: no new version.
    assert client.put("/v1/styles/OVS-001", json=OVERSHIRT).status_code == 200
    assert ok(client.get("/v1/stores/STORE-1/catalog"))["version"] == first["version"]
    # A wholesale price is not on the store's list: no new version either.
    wholesale = [
        {"list": "retail", "currency": "EUR", "amount": "89.00"},
        {"list": "wholesale", "currency": "EUR", "amount": "40.00"},
    ]
    assert client.put("/v1/styles/OVS-001", json={**OVERSHIRT, "prices": wholesale}).status_code == 200
    assert ok(client.get("/v1/stores/STORE-1/catalog"))["version"] == first["version"]
    repriced = [{"list": "retail", "currency": "EUR", "amount": "79.00"}]
    assert client.put("/v1/styles/OVS-001", json={**OVERSHIRT, "prices": repriced}).status_code == 200
    changes = ok(client.get("/v1/stores/STORE-1/catalog", params={"since": first["upto"]}))
    assert changes["version"] == first["version"] + 1
    assert {i["sku"] for i in changes["items"]} == {v["sku"] for v in OVERSHIRT["variants"]}
    assert {i["prices"]["EUR"] for i in changes["items"]} == {"79.00"}
    assert all(i["version"] == changes["version"] for i in changes["items"])


def test_stores_whose_tills_have_not_acknowledged_the_catalog_are_behind(client: TestClient) -> None:
    seed_channels(client)
    version = ok(client.get("/v1/stores/STORE-1/catalog"))["version"]
    status = ok(client.get("/v1/stores/catalog-status"))
    assert {s["location"]: s["behind"] for s in status["items"]} == {"STORE-1": True, "STORE-2": True}
    ack = ok(client.put("/v1/stores/STORE-1/catalog/ack", json={"till": "TILL-1", "version": version}))
    assert ack["behind"] is False
    status = ok(client.get("/v1/stores/catalog-status"))
    assert {s["location"]: s["behind"] for s in status["items"]} == {"STORE-1": False, "STORE-2": True}
    repriced = [{"list": "retail", "currency": "EUR", "amount": "79.00"}]
    assert client.put("/v1/styles/OVS-001", json={**OVERSHIRT, "prices": repriced}).status_code == 200
    soho = ok(client.get("/v1/stores/STORE-1/catalog/status"))["items"]
    assert [(s["behind"], [(t["till"], t["version"], t["behind"]) for t in s["tills"]]) for s in soho] == [
        (True, [("TILL-1", version, True)])
    ]
    ahead = client.put("/v1/stores/STORE-1/catalog/ack", json={"till": "TILL-1", "version": version + 5})
    assert_problem(ahead, 422, "catalog-version-ahead", "version")
    page = log_in(client, next_url="/exceptions").get("/exceptions").text
    card = page[page.index('data-testid="till-catalog"') :]
    rows = re.findall(r'<tr data-store="(STORE-\d)">.*?data-stat="till-state">(?:<strong>)?([a-z ,]+)', card, re.DOTALL)
    # The page says what is true of each store: STORE-1's till acknowledged an older version; STORE-2's
    # tills have neither acknowledged a catalog nor sold.
    assert rows == [("STORE-1", "behind"), ("STORE-2", "no till heard from")]


def test_a_long_catalog_comes_in_pages_and_misses_nothing(client: TestClient) -> None:
    seed_channels(client)
    page = ok(client.get("/v1/stores/STORE-1/catalog", params={"limit": 3}))
    assert not page["complete"]
    seen = [i["sku"] for i in page["items"]]
    while not page["complete"]:
        page = ok(client.get("/v1/stores/STORE-1/catalog", params={"limit": 3, "cursor": page["next_cursor"]}))
        seen += [i["sku"] for i in page["items"]]
    assert sorted(seen) == sorted(v["sku"] for v in OVERSHIRT["variants"])


def test_rebuilding_the_till_catalog_restores_lost_items_under_a_new_version(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    before = ok(client.get("/v1/stores/STORE-1/catalog"))["version"]
    assert ok(client.post("/v1/stores/catalog/publish"))["changed_skus"] == 0, "nothing differs: no new version"
    with app.engine.begin() as conn:
        conn.execute(till_catalog_items.delete().where(till_catalog_items.c.sku == SKU))
    rebuilt = ok(client.post("/v1/stores/catalog/publish"))
    assert (rebuilt["version"], rebuilt["changed_skus"]) == (before + 1, 1)
    changes = ok(client.get("/v1/stores/STORE-1/catalog", params={"since": before}))["items"]
    assert [i["sku"] for i in changes] == [SKU]


def test_the_same_batch_uploaded_by_two_racing_requests_sells_once(client: TestClient, app: Seamline) -> None:
    """Two uploads of one batch at the same moment (a till retrying while its first upload is in flight):
    one applies it, the other waits for it and answers its results."""
    seed_channels(client)
    receive(client, SKU, 5, to="STORE-1")
    sale = OfflineSale(
        external_id="OFF-1",
        occurred_at=datetime(2026, 11, 27, 7, 0, tzinfo=UTC),
        lines=[LineRequest(SKU, 2, "89.00")],
        tenders=[TenderRequest("cash", "178.00")],
        currency="EUR",
    )
    upload = OfflineBatch(location="STORE-1", till="TILL-1", batch_id="B-RACE", sales=[sale])
    desk = TillDesk(app)
    start = threading.Barrier(2)
    answers: list[PutResult[dict[str, Any]]] = []
    failures: list[BaseException] = []

    def post() -> None:
        start.wait()
        try:
            answers.append(app.write(lambda uow: desk.record_offline_batch(uow, upload)))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert sorted(answer.created for answer in answers) == [False, True]
    assert answers[0].view["sales"] == answers[1].view["sales"]
    assert stock(client, SKU, "STORE-1") == (3, 0, 0, 3)
