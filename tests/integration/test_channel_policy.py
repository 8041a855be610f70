"""Channel policies bind (issue #20, DESIGN 4.4, docs/availability.md), on SQLite and PostgreSQL: a hold is
bounded by what the channel is shown, an order the channel already took may use its own safety stock but
never another channel's ring-fence, a ring-fence applies only at the locations it is on, and a channel
draws only on its sources. Each test replays what was seen in the issue."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from seamline.domain.errors import Shortage, ShortLine
from seamline.ledger import HoldLineRequest
from seamline.service import Seamline
from seamline.service.batcher import HoldBatcher
from tests.conftest import receive, seed_world
from tests.integration.helpers import assert_problem

SKU = "OVS-001-NVY-M"
PACK = "OVS-001-NVY-PACK"  # 1 S + 2 M + 2 L + 1 XL


def put_channel(client: TestClient, code: str, **body: Any) -> None:
    response = client.put(f"/v1/channels/{code}", json=body)
    assert response.status_code in (200, 201), response.text


def fence(client: TestClient, units: int, *, sources: tuple[str, ...] = ("WH",), sku: str = SKU) -> None:
    """A wholesale channel ring-fencing ``units`` of ``sku`` at ``sources``."""
    put_channel(
        client,
        "b2b",
        kind="wholesale",
        sources=list(sources),
        on_shortage="backorder",
        sku_overrides=[{"sku": sku, "ring_fence": units}],
    )


def hold(client: TestClient, qty: int, channel: str = "web", **line: Any) -> Any:
    return client.post(
        "/v1/holds", json={"channel": channel, "ttl_seconds": 600, "lines": [{"sku": SKU, "qty": qty, **line}]}
    )


def shown(client: TestClient, channel: str = "web", sku: str = SKU) -> int:
    response = client.get(f"/v1/availability/{channel}", params={"sku": sku})
    assert response.status_code == 200, response.text
    [item] = response.json()["items"]
    return int(item["available"])


def web_order(client: TestClient, external_id: str, qty: int) -> Any:
    body = {"channel": "web", "external_id": external_id, "lines": [{"sku": SKU, "qty": qty, "unit_price": "89.00"}]}
    body["currency"] = "EUR"
    return client.post("/v1/orders", json=body)


def test_holds_stop_at_the_safety_stock_the_channel_is_shown_without(client: TestClient) -> None:
    seed_world(client)
    put_channel(client, "web", kind="shopify", sources=["WH", "STORE-1"], safety_stock=1)
    receive(client, SKU, 3)
    assert shown(client) == 2
    assert hold(client, 2).status_code == 201
    refused = assert_problem(hold(client, 1), 409, "insufficient-stock")
    assert refused["shortages"] == [
        {"sku": SKU, "requested": 1, "available": 0, "location": None, "bound": "safety_stock"}
    ]
    assert shown(client) == 0


def test_a_hold_may_not_take_units_another_channels_ring_fence_keeps(client: TestClient) -> None:
    seed_world(client)
    receive(client, SKU, 20)
    fence(client, 10)
    assert shown(client) == 10
    refused = assert_problem(hold(client, 18), 409, "insufficient-stock")
    assert refused["shortages"] == [
        {"sku": SKU, "requested": 18, "available": 10, "location": None, "bound": "ring_fence"}
    ]
    assert hold(client, 10).status_code == 201
    assert_problem(hold(client, 1, location="WH"), 409, "insufficient-stock")
    assert shown(client, "b2b") == 10, "the fenced units are still there for wholesale"


def test_an_order_the_channel_took_may_use_its_safety_stock_but_not_a_ring_fence(client: TestClient) -> None:
    seed_world(client)
    put_channel(client, "web", kind="shopify", sources=["WH"], safety_stock=2, on_shortage="reject")
    receive(client, SKU, 8)
    fence(client, 5)
    assert shown(client) == 1, "8 - 5 fenced - 2 safety"
    assert hold(client, 2).status_code == 409, "a checkout may not hold the buffer"
    taken = web_order(client, "W-1", 3)
    assert taken.status_code == 201, taken.text
    assert taken.json()["status"] == "allocated", "the buffer absorbs an order already taken"
    refused = assert_problem(web_order(client, "W-2", 1), 409, "insufficient-stock")
    assert refused["shortages"][0]["bound"] == "ring_fence"
    put_channel(client, "web", kind="shopify", sources=["WH"], safety_stock=2, on_shortage="backorder")
    backordered = web_order(client, "W-3", 1)
    assert backordered.status_code == 201, backordered.text
    assert backordered.json()["status"] == "backordered", "beyond the bounds on_shortage decides"
    stock = client.get("/v1/stock", params={"sku": SKU, "location": "WH"}).json()["items"][0]
    assert stock["available"] == 5, "the ring-fenced units are untouched"


def test_a_ring_fence_on_warehouse_stock_leaves_a_store_till_channel_alone(client: TestClient) -> None:
    seed_world(client)
    put_channel(client, "till-soho", kind="pos", sources=["STORE-1"])
    receive(client, SKU, 10)
    receive(client, SKU, 3, to="STORE-1")
    fence(client, 10)
    assert shown(client, "till-soho") == 3
    assert hold(client, 3, channel="till-soho").status_code == 201
    assert shown(client) == 0, "web reaches WH, where the fence keeps all 10, and STORE-1, now held"


def test_a_fence_keeps_only_the_units_that_are_at_its_locations(client: TestClient) -> None:
    seed_world(client)
    receive(client, SKU, 4)
    receive(client, SKU, 6, to="STORE-1")
    fence(client, 10)
    assert shown(client) == 6, "the fence can keep only the 4 at WH; STORE-1's 6 are web's"
    granted = hold(client, 6)
    assert granted.status_code == 201, granted.text
    assert granted.json()["lines"] == [{"sku": SKU, "location": "STORE-1", "qty": 6}], "not from the fenced WH"


def test_a_channels_hold_may_not_draw_on_a_location_outside_its_sources(client: TestClient) -> None:
    seed_world(client)
    put_channel(client, "b2", kind="pos", sources=["STORE-2"])
    receive(client, SKU, 46, to="STORE-2")
    refused = assert_problem(hold(client, 46, location="STORE-2"), 422, "validation-error")
    assert refused["errors"] == [{"field": "lines[0].location", "message": "STORE-2 is not a source of channel web"}]
    assert shown(client, "b2") == 46


def test_an_order_may_not_commit_a_hold_outside_its_channels_sources(client: TestClient) -> None:
    seed_world(client)
    receive(client, SKU, 5, to="STORE-2")
    held = client.post("/v1/holds", json={"ttl_seconds": 600, "lines": [{"sku": SKU, "qty": 1, "location": "STORE-2"}]})
    assert held.status_code == 201, held.text
    body = {
        "channel": "web",
        "external_id": "W-1",
        "currency": "EUR",
        "hold_id": held.json()["id"],
        "lines": [{"sku": SKU, "qty": 1, "unit_price": "89.00"}],
    }
    assert_problem(client.post("/v1/orders", json=body), 422, "hold-mismatch")
    assert client.get("/v1/orders", params={"channel": "web"}).json()["items"] == [], "nothing written"


def test_a_prepack_prebook_is_promised_from_components_on_hand(client: TestClient) -> None:
    seed_world(client)
    put_channel(client, "b2b", kind="wholesale", sources=["WH"], on_shortage="backorder")
    account = {"name": "Atelier", "channel": "b2b", "price_tier": "wholesale", "currency": "EUR", "allow_prebook": True}
    assert client.put("/v1/b2b/accounts/ATELIER", json=account).status_code == 201
    for sku, units in (("OVS-001-NVY-S", 1), ("OVS-001-NVY-M", 2), ("OVS-001-NVY-L", 2), ("OVS-001-NVY-XL", 1)):
        receive(client, sku, 7 * units)
    portal = client.get("/v1/b2b/accounts/ATELIER/availability", params={"sku": PACK}).json()["items"][0]
    assert portal["available"] == 7
    body = {"po_number": "PO-1", "lines": [{"sku": PACK, "qty": 7}], "prebook": True}
    placed = client.post("/v1/b2b/accounts/ATELIER/orders", json=body)
    assert placed.status_code == 201, placed.text
    assert placed.json()["status"] == "allocated", "the packs on hand are promised by allocation"
    more = {"po_number": "PO-2", "lines": [{"sku": PACK, "qty": 1}], "prebook": True}
    refused = assert_problem(client.post("/v1/b2b/accounts/ATELIER/orders", json=more), 409, "insufficient-stock")
    assert {s["bound"] for s in refused["shortages"]} == {"supply"}, "the 7 packs on hand are promised once"


def test_a_hold_ttl_is_bounded_by_the_configured_maximum(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    receive(client, SKU, 5)
    week_long = {"channel": "web", "ttl_seconds": 7 * 24 * 3600, "lines": [{"sku": SKU, "qty": 1}]}
    week = assert_problem(client.post("/v1/holds", json=week_long), 422, "validation-error")
    assert week["errors"][0]["field"] == "ttl_seconds"
    limit = app.settings.max_hold_ttl_seconds
    assert limit == 24 * 3600
    at_limit = client.post(
        "/v1/holds", json={"channel": "web", "ttl_seconds": limit, "lines": [{"sku": SKU, "qty": 1}]}
    )
    assert at_limit.status_code == 201, at_limit.text


# ------------------------------------------------------------------------------------------------ races
RACERS = 8


@pytest.mark.parametrize("path", ["single", "batched"])
def test_two_channels_racing_never_take_units_a_third_channels_fence_keeps(
    app: Seamline, client: TestClient, path: str
) -> None:
    """web and amazon both source WH, where wholesale ring-fences 10 of 25: real threads race single-unit and
    multi-unit holds through one transaction per request or the group-commit batcher; together they get
    exactly the 15 unfenced units, and the 10 stay."""
    seed_world(client)
    put_channel(client, "web", kind="shopify", sources=["WH"])
    put_channel(client, "amazon", kind="amazon", sources=["STORE-1", "WH"], allow_split=True)
    receive(client, SKU, 25)
    fence(client, 10)
    batcher = HoldBatcher(app) if path == "batched" else None
    if batcher is not None:
        batcher.start()
    place = batcher.place_hold if batcher is not None else app.place_hold_txn
    barrier = threading.Barrier(RACERS, timeout=60)
    granted = [0] * RACERS
    errors: list[BaseException] = []
    refusals: list[ShortLine] = []

    def racer(i: int) -> None:
        channel = ("web", "amazon")[i % 2]
        try:
            barrier.wait()
            for qty in (3, 2, 1, 1, 1, 1):
                try:
                    body = place(channel=channel, lines=[HoldLineRequest(SKU, qty)], ttl_seconds=600).body
                except Shortage as exc:
                    refusals.extend(exc.lines)
                    continue
                granted[i] += sum(line["qty"] for line in body["lines"])
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(RACERS)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        if batcher is not None:
            batcher.stop()
    assert errors == []
    assert sum(granted) == 15, granted
    assert {line.bound for line in refusals} <= {"ring_fence", "sources"}, refusals[:3]
    stock = client.get("/v1/stock", params={"sku": SKU, "location": "WH"}).json()["items"][0]
    assert stock["available"] == 10
    assert shown(client, "b2b") == 10
    assert app.reconcile().clean
