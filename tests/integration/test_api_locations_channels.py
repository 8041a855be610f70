"""Locations and channels over HTTP, and the per-channel availability their policies produce (DESIGN 4.4)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from seamline.service import Seamline
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import locations_repo
from seamline.store.tables import channels, idempotency_records
from tests.conftest import receive, seed_world
from tests.integration.helpers import assert_problem, atp

SKU = "OVS-001-NVY-M"
VIRTUAL = {"supplier", "customer", "in_transit", "adjustment", "damaged", "samples"}


def stored_settings(app: Seamline, code: str) -> dict[str, Any]:
    with app.engine.connect() as conn:
        settings: dict[str, Any] = conn.execute(select(channels.c.settings).where(channels.c.code == code)).scalar_one()
    return settings


# ---------------------------------------------------------------------------------------------- locations
def test_put_location_is_201_then_200_and_get_returns_the_latest(client: TestClient) -> None:
    created = client.put("/v1/locations/STORE-9", json={"name": "Brighton", "kind": "store"})
    assert created.status_code == 201, created.text
    assert created.json() == {"code": "STORE-9", "name": "Brighton", "kind": "store", "virtual": False}
    renamed = client.put("/v1/locations/STORE-9", json={"name": "Brighton North Laine", "kind": "store"})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Brighton North Laine"
    assert client.get("/v1/locations/STORE-9").json() == {
        "code": "STORE-9",
        "name": "Brighton North Laine",
        "kind": "store",
        "virtual": False,
    }


def test_put_location_with_a_virtual_kind_is_422_naming_kind_and_writes_nothing(client: TestClient) -> None:
    for kind in sorted(VIRTUAL):
        response = client.put("/v1/locations/X-1", json={"name": "Sneaky", "kind": kind})
        assert_problem(response, 422, "validation-error", "kind")
    assert_problem(client.get("/v1/locations/X-1"), 404, "unknown-location")


def test_put_on_a_builtin_virtual_location_is_409_and_it_stays_virtual(client: TestClient) -> None:
    for code in ("damaged", "supplier"):
        response = client.put(f"/v1/locations/{code}", json={"name": "Now a warehouse", "kind": "warehouse"})
        assert_problem(response, 409, "virtual-location")
        location = client.get(f"/v1/locations/{code}").json()
        assert (location["kind"], location["virtual"]) == (code, True)
        assert location["name"] != "Now a warehouse"


def test_list_locations_includes_every_builtin_virtual_location(client: TestClient) -> None:
    assert client.put("/v1/locations/WH", json={"name": "Central", "kind": "warehouse"}).status_code == 201
    items = client.get("/v1/locations").json()["items"]
    virtual = {i["code"]: i["kind"] for i in items if i["virtual"]}
    assert virtual == {code: code for code in VIRTUAL}
    assert {"code": "WH", "name": "Central", "kind": "warehouse", "virtual": False} in items


def test_a_location_holding_stock_cannot_change_kind_but_can_be_renamed(client: TestClient) -> None:
    seed_world(client)
    receive(client, SKU, 1, to="STORE-1")
    response = client.put("/v1/locations/STORE-1", json={"name": "Soho", "kind": "warehouse"})
    assert_problem(response, 409, "location-kind-locked")
    assert client.get("/v1/locations/STORE-1").json()["kind"] == "store"
    assert client.put("/v1/locations/STORE-1", json={"name": "Soho flagship", "kind": "store"}).status_code == 200
    assert client.put("/v1/locations/STORE-2", json={"name": "Shoreditch", "kind": "threepl"}).status_code == 200


def test_put_location_with_a_bad_code_or_empty_name_is_422(client: TestClient) -> None:
    assert_problem(
        client.put("/v1/locations/-bad", json={"name": "x", "kind": "store"}), 422, "validation-error", "code"
    )
    assert_problem(
        client.put("/v1/locations/OK-1", json={"name": "", "kind": "store"}), 422, "validation-error", "name"
    )
    assert client.get("/v1/locations/OK-1").status_code == 404


# ---------------------------------------------------------------------------------------------- channels
def test_put_channel_is_201_then_200_and_get_returns_its_policy(client: TestClient) -> None:
    seed_world(client)
    body = {"kind": "wholesale", "sources": ["WH"], "safety_stock": 3, "pause_below": 2}
    created = client.put("/v1/channels/b2b", json=body)
    assert created.status_code == 201, created.text
    out = created.json()
    assert (out["code"], out["kind"], out["sources"], out["safety_stock"], out["pause_below"]) == (
        "b2b",
        "wholesale",
        ["WH"],
        3,
        2,
    )
    changed = client.put("/v1/channels/b2b", json={**body, "sources": ["STORE-2", "WH"], "safety_stock": 0})
    assert changed.status_code == 200
    got = client.get("/v1/channels/b2b").json()
    assert (got["sources"], got["safety_stock"]) == (["STORE-2", "WH"], 0)


def test_channel_source_that_does_not_exist_is_422_naming_it_and_writes_nothing(client: TestClient) -> None:
    seed_world(client)
    response = client.put("/v1/channels/b2b", json={"kind": "wholesale", "sources": ["WH", "NOWHERE"]})
    problem = assert_problem(response, 422, "validation-error", "sources[1]")
    assert [e["field"] for e in problem["errors"]] == ["sources[1]"]
    assert_problem(client.get("/v1/channels/b2b"), 404, "unknown-channel")


def test_channel_source_that_is_not_sellable_is_422(client: TestClient) -> None:
    seed_world(client)
    for virtual in ("damaged", "supplier", "in_transit"):
        response = client.put("/v1/channels/b2b", json={"kind": "wholesale", "sources": [virtual]})
        assert_problem(response, 422, "validation-error", "sources[0]")
    before = client.get("/v1/channels/web").json()
    response = client.put("/v1/channels/web", json={"kind": "shopify", "sources": ["WH", "samples"]})
    assert_problem(response, 422, "validation-error", "sources[1]")
    assert client.get("/v1/channels/web").json() == before, "a refused update leaves the channel as it was"
    assert client.get("/v1/channels/b2b").status_code == 404


def test_channel_listing_a_source_twice_is_422(client: TestClient) -> None:
    seed_world(client)
    response = client.put("/v1/channels/b2b", json={"kind": "wholesale", "sources": ["WH", "WH"]})
    assert_problem(response, 422, "validation-error", "sources")


def test_channel_secret_settings_are_never_returned_and_a_put_omitting_them_keeps_them(
    client: TestClient, app: Seamline
) -> None:
    seed_world(client)
    secrets = {
        "api_key": "key-AAAA1111",
        "access_token": "shpat_BBBB2222",
        "webhook_secret": "whsec_CCCC3333",
        "admin_password": "pw-DDDD4444",
    }
    settings = {"shop": "seamline-demo.myshopify.com", "location_id": 42, **secrets}
    response = client.put(
        "/v1/channels/shop",
        json={"kind": "shopify", "sources": ["WH"], "settings": settings},
        headers={"Idempotency-Key": "channel-shop-1"},
    )
    assert response.status_code == 201, response.text
    expected = {"shop": "seamline-demo.myshopify.com", "location_id": 42, **dict.fromkeys(secrets, "***")}
    assert response.json()["settings"] == expected
    got = client.get("/v1/channels/shop")
    assert got.json()["settings"] == expected
    assert app.get_channel("shop")["settings"] == expected
    for value in secrets.values():
        assert value not in response.text
        assert value not in got.text
    with app.engine.connect() as conn:
        replay_bodies = [str(r) for r in conn.execute(select(idempotency_records.c.response))]
    assert replay_bodies, "the idempotent answer was stored"
    assert not any(value in body for body in replay_bodies for value in secrets.values()), "nor in the replay store"

    # A PUT that leaves the secrets out (a client that only ever saw "***") keeps them.
    kept = client.put(
        "/v1/channels/shop",
        json={"kind": "shopify", "sources": ["WH", "STORE-1"], "settings": {"shop": "seamline-demo.myshopify.com"}},
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["settings"] == {"shop": "seamline-demo.myshopify.com", **dict.fromkeys(secrets, "***")}
    assert stored_settings(app, "shop") == {"shop": "seamline-demo.myshopify.com", **secrets}

    # A new value replaces the old one, and still is not echoed.
    rotated = client.put(
        "/v1/channels/shop",
        json={"kind": "shopify", "sources": ["WH"], "settings": {"access_token": "shpat_EEEE5555"}},
    )
    assert rotated.status_code == 200
    assert "shpat_EEEE5555" not in rotated.text
    assert stored_settings(app, "shop")["access_token"] == "shpat_EEEE5555"
    assert stored_settings(app, "shop")["api_key"] == "key-AAAA1111"


def test_channel_with_an_unknown_kind_or_negative_safety_stock_is_422(client: TestClient) -> None:
    seed_world(client)
    assert_problem(client.put("/v1/channels/b2b", json={"kind": "telegraph"}), 422, "validation-error", "kind")
    response = client.put("/v1/channels/b2b", json={"kind": "wholesale", "sources": ["WH"], "safety_stock": -1})
    assert_problem(response, 422, "validation-error", "safety_stock")
    response = client.put("/v1/channels/b2b", json={"kind": "wholesale", "sources": ["WH"], "pause_below": "2"})
    assert_problem(response, 422, "validation-error", "pause_below")
    assert client.get("/v1/channels/b2b").status_code == 404


def test_channel_override_for_an_unknown_sku_is_422_naming_it(client: TestClient) -> None:
    seed_world(client)
    body = {"kind": "wholesale", "sources": ["WH"], "sku_overrides": [{"sku": "NOPE-1", "ring_fence": 2}]}
    assert_problem(client.put("/v1/channels/b2b", json=body), 422, "validation-error", "sku_overrides[0].sku")
    assert client.get("/v1/channels/b2b").status_code == 404


# ---------------------------------------------------------------------------------------------- availability
@pytest.fixture
def stocked(client: TestClient) -> TestClient:
    """web sources WH then STORE-1: 10 + 4 of the M; 3 more at STORE-2 that web does not source."""
    seed_world(client)
    receive(client, SKU, 10, to="WH")
    receive(client, SKU, 4, to="STORE-1")
    receive(client, SKU, 3, to="STORE-2")
    receive(client, "OVS-001-NVY-L", 4, to="WH")
    return client


def test_availability_sums_available_over_the_channels_sources_only(stocked: TestClient) -> None:
    assert atp(stocked, "web", SKU) == {"sku": SKU, "available": 14, "atp": 14, "paused": False}
    hold = stocked.post("/v1/holds", json={"lines": [{"sku": SKU, "qty": 3, "location": "STORE-1"}]})
    assert hold.status_code == 201
    assert atp(stocked, "web", SKU)["available"] == 11, "held units are not available to promise"


def test_safety_stock_and_its_per_sku_override_lower_atp_exactly(stocked: TestClient) -> None:
    web = {"kind": "shopify", "sources": ["WH", "STORE-1"], "safety_stock": 2}
    assert stocked.put("/v1/channels/web", json=web).status_code == 200
    assert atp(stocked, "web", SKU)["available"] == 14 - 2
    assert atp(stocked, "web", "OVS-001-NVY-L")["available"] == 4 - 2
    override = {**web, "sku_overrides": [{"sku": SKU, "safety_stock": 5}]}
    response = stocked.put("/v1/channels/web", json=override)
    assert response.status_code == 200
    assert response.json()["sku_overrides"] == [{"sku": SKU, "safety_stock": 5, "ring_fence": 0}]
    assert atp(stocked, "web", SKU)["available"] == 14 - 5
    assert atp(stocked, "web", "OVS-001-NVY-L")["available"] == 4 - 2, "the override is for one SKU only"
    zero = {**web, "sku_overrides": [{"sku": SKU, "safety_stock": 0}]}
    assert stocked.put("/v1/channels/web", json=zero).status_code == 200
    assert atp(stocked, "web", SKU)["available"] == 14, "an override of 0 is an override, not 'use the default'"


def test_a_ring_fence_lowers_other_channels_atp_but_not_its_own(stocked: TestClient) -> None:
    b2b = {"kind": "wholesale", "sources": ["WH"], "sku_overrides": [{"sku": SKU, "ring_fence": 6}]}
    assert stocked.put("/v1/channels/b2b", json=b2b).status_code == 201
    web = {"kind": "shopify", "sources": ["WH", "STORE-1"], "safety_stock": 1}
    assert stocked.put("/v1/channels/web", json=web).status_code == 200
    # web: max(0, 14 - 1 - 6) ; b2b: its own fence is held *for* it
    assert atp(stocked, "web", SKU)["available"] == 7
    assert atp(stocked, "b2b", SKU)["available"] == 10
    assert atp(stocked, "web", "OVS-001-NVY-L")["available"] == 3, "the fence is for one SKU only"
    greedy = {**b2b, "sku_overrides": [{"sku": SKU, "ring_fence": 50}]}
    assert stocked.put("/v1/channels/b2b", json=greedy).status_code == 200
    # A fence keeps only units at its own sources (docs/availability.md): WH's 10, not STORE-1's 4.
    assert atp(stocked, "web", SKU) == {"sku": SKU, "available": 3, "atp": 3, "paused": False}
    assert stocked.put("/v1/channels/web", json={**web, "sources": ["WH"]}).status_code == 200
    assert atp(stocked, "web", SKU) == {"sku": SKU, "available": 0, "atp": 0, "paused": False}, "never negative"


def test_pause_below_publishes_zero_and_paused_until_atp_reaches_the_threshold(stocked: TestClient) -> None:
    body = {"kind": "marketplace", "sources": ["STORE-1"], "pause_below": 5}
    assert stocked.put("/v1/channels/amazon", json=body).status_code == 201
    assert atp(stocked, "amazon", SKU) == {"sku": SKU, "available": 0, "atp": 4, "paused": True}
    receive(stocked, SKU, 1, to="STORE-1")
    assert atp(stocked, "amazon", SKU) == {"sku": SKU, "available": 5, "atp": 5, "paused": False}
    assert atp(stocked, "web", SKU)["paused"] is False, "another channel's threshold does not pause web"


def test_prepack_availability_is_the_whole_packs_its_component_units_make(client: TestClient) -> None:
    seed_world(client)
    for size, qty in (("S", 3), ("M", 5), ("L", 6), ("XL", 2)):
        receive(client, f"OVS-001-NVY-{size}", qty)
    # 1-2-2-1 over S/M/L/XL: min(3/1, 5/2, 6/2, 2/1) = 2 packs
    assert atp(client, "web", "OVS-001-NVY-PACK")["available"] == 2
    damaged = client.post("/v1/movements", json={"kind": "damage", "sku": "OVS-001-NVY-XL", "qty": 1, "from": "WH"})
    assert damaged.status_code == 201
    assert atp(client, "web", "OVS-001-NVY-PACK")["available"] == 1
    items = client.get("/v1/availability/web", params={"style": "OVS-001"}).json()["items"]
    by_sku = {i["sku"]: i["available"] for i in items}
    assert by_sku["OVS-001-NVY-PACK"] == 1
    assert by_sku["OVS-001-NVY-M"] == 5
    assert by_sku["OVS-001-OLV-M"] == 0


def test_prepack_availability_falls_when_a_component_is_held(client: TestClient) -> None:
    seed_world(client)
    for size, qty in (("S", 2), ("M", 4), ("L", 4), ("XL", 2)):
        receive(client, f"OVS-001-NVY-{size}", qty)
    assert atp(client, "web", "OVS-001-NVY-PACK")["available"] == 2
    hold = client.post("/v1/holds", json={"channel": "web", "lines": [{"sku": "OVS-001-NVY-PACK", "qty": 1}]})
    assert hold.status_code == 201, hold.text
    assert sorted((line["sku"], line["qty"]) for line in hold.json()["lines"]) == [
        ("OVS-001-NVY-L", 2),
        ("OVS-001-NVY-M", 2),
        ("OVS-001-NVY-S", 1),
        ("OVS-001-NVY-XL", 1),
    ]
    assert atp(client, "web", "OVS-001-NVY-PACK")["available"] == 1


def test_availability_of_an_unknown_channel_or_sku_is_404(client: TestClient) -> None:
    seed_world(client)
    assert_problem(client.get("/v1/availability/nope"), 404, "unknown-channel")
    assert_problem(client.get("/v1/availability/web", params={"sku": "NOPE-1"}), 404, "unknown-sku")


def test_availability_pages_through_every_active_sku_with_a_cursor(client: TestClient) -> None:
    seed_world(client)
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 4}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/availability/web", params=params).json()
        seen += [i["sku"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == 9, "8 variants and the prepack, each once"


def test_location_kinds_are_read_once_per_transaction_and_a_saved_location_is_seen_at_once(app: Seamline) -> None:
    """A group commit runs many sales in one transaction; each asks its unit of work for the location kinds.
    They are read once per transaction (savepoints included), a location saved in that transaction through
    ``put_location`` is seen by the next ask, and the copy never outlives its unit of work."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM locations" in statement:
            statements.append(statement)

    event.listen(app.engine, "before_cursor_execute", count)
    try:

        def first(uow: UnitOfWork) -> tuple[dict[str, Any], dict[str, Any], int]:
            before = uow.location_kinds()
            with uow.savepoint() as nested:
                again = nested.location_kinds()
            reads = len(statements)
            app.put_location(uow, "STORE-7", "Leeds", "store")
            statements.clear()
            return before | again, uow.location_kinds(), reads

        kinds, after_save, reads_before_save = app.write(first)
        assert reads_before_save == 1
        assert "STORE-7" not in kinds
        assert after_save["STORE-7"].value == "store"
        assert len(statements) == 1  # read again after the save, once

        # Another transaction (another unit of work) reads afresh and sees a location saved elsewhere.
        app.write(lambda uow: locations_repo.save_location(uow.conn, "STORE-8", "York", "store", app.clock.now()))
        assert "STORE-8" in app.write(lambda uow: uow.location_kinds())
        assert len(statements) == 2
    finally:
        event.remove(app.engine, "before_cursor_execute", count)
