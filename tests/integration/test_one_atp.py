"""One ATP (issue #19): the availability publisher, ``GET /v1/availability/{channel}`` and Shopify's drift check
read the same number from ``ledger.atp.sku_availability``, for a prepack and for a unit SKU under another
channel's ring-fence, a hold and the channel's safety stock, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from seamline.channels.canonical import InventoryLevelReport
from seamline.channels.shopify.handlers import InventoryLevelHandler, ShopifyChannel, current_availability
from seamline.domain.clock import FixedClock
from seamline.integration import AVAILABILITY_CHANGED, Integration
from seamline.service import Seamline, UnitOfWork
from seamline.store import shopify_repo
from seamline.store.tables import outbox_events
from tests.conftest import receive, seed_world

M = "OVS-001-NVY-M"
PACK = "OVS-001-NVY-PACK"  # 1 S + 2 M + 2 L + 1 XL
ITEM = "gid://shopify/InventoryItem/7001"


@pytest.fixture
def stocked(client: TestClient, integration: Integration) -> TestClient:
    """The web channel (WH then STORE-1, safety stock 1), b2b fencing 2 M at WH, and a web hold of 1 M.

    M for web: 9 - 1 held - 2 fenced - 1 safety = 5, so 2 packs; S: 5 - 1 = 4; L: 9 - 1 = 8 -> 4 packs;
    XL: 4 - 1 = 3. The pack's ATP is 2, set by M: the fence and the hold both count."""
    seed_world(client)
    web = {"kind": "shopify", "sources": ["WH", "STORE-1"], "safety_stock": 1}
    assert client.put("/v1/channels/web", json=web).status_code == 200
    b2b = {
        "kind": "wholesale",
        "sources": ["WH"],
        "on_shortage": "backorder",
        "sku_overrides": [{"sku": M, "ring_fence": 2}],
    }
    assert client.put("/v1/channels/b2b", json=b2b).status_code == 201
    for sku, qty in (("OVS-001-NVY-S", 5), (M, 9), ("OVS-001-NVY-L", 6), ("OVS-001-NVY-XL", 4)):
        receive(client, sku, qty)
    receive(client, "OVS-001-NVY-L", 3, to="STORE-1")
    held = client.post("/v1/holds", json={"channel": "web", "ttl_seconds": 600, "lines": [{"sku": M, "qty": 1}]})
    assert held.status_code == 201, held.text
    return client


def published(app: Seamline, integration: Integration, sku: str) -> dict[str, Any]:
    """The publisher's latest AvailabilityChanged for (web, sku)."""
    integration.availability.flush()
    with app.engine.connect() as conn:
        rows = conn.execute(
            select(outbox_events.c.payload)
            .where(outbox_events.c.type == AVAILABILITY_CHANGED)
            .order_by(outbox_events.c.seq)
        ).scalars()
        payloads = [p for p in rows if p["channel"] == "web" and p["sku"] == sku]
    assert payloads, f"nothing published for {sku}"
    latest: dict[str, Any] = payloads[-1]
    return latest


def routed(client: TestClient, sku: str) -> dict[str, Any]:
    response = client.get("/v1/availability/web", params={"sku": sku})
    assert response.status_code == 200, response.text
    [item] = response.json()["items"]
    found: dict[str, Any] = item
    return found


def drift_checked(app: Seamline, clock: FixedClock, sku: str) -> tuple[int, int, bool]:
    current = app.read(lambda conn: current_availability(conn, "web", sku, clock.now()))
    assert current is not None
    return current


@pytest.mark.parametrize(("sku", "expected"), [(PACK, 2), (M, 5)])
def test_the_publisher_the_route_and_the_shopify_drift_check_agree(
    app: Seamline, clock: FixedClock, integration: Integration, stocked: TestClient, sku: str, expected: int
) -> None:
    event = published(app, integration, sku)
    item = routed(stocked, sku)
    shown, atp, paused = drift_checked(app, clock, sku)
    assert (event["atp"], event["available"], event["paused"]) == (expected, expected, False)
    assert (item["atp"], item["available"], item["paused"]) == (expected, expected, False)
    assert (atp, shown, paused) == (expected, expected, False)


def test_a_pause_threshold_pauses_the_prepack_the_same_way_everywhere(
    app: Seamline, clock: FixedClock, integration: Integration, stocked: TestClient
) -> None:
    web = {"kind": "shopify", "sources": ["WH", "STORE-1"], "safety_stock": 1, "pause_below": 3}
    assert stocked.put("/v1/channels/web", json=web).status_code == 200
    receive(stocked, "OVS-001-NVY-S", 1)  # a change to a component: the publisher recomputes the pack
    event = published(app, integration, PACK)
    item = routed(stocked, PACK)
    assert (event["atp"], event["available"], event["paused"]) == (2, 0, True)
    assert (item["atp"], item["available"], item["paused"]) == (2, 0, True)
    assert drift_checked(app, clock, PACK) == (0, 2, True)


class Repushes:
    def __init__(self) -> None:
        self.seen: list[tuple[str, int | None]] = []

    def __call__(self, _uow: UnitOfWork, seen: Any) -> None:
        self.seen.extend(seen)


def shopify_channel(app: Seamline, repush: Repushes) -> ShopifyChannel:
    return ShopifyChannel(
        app=app,
        code="web",
        location_map={},
        publish_location_id=None,
        currency="EUR",
        accept_test_orders=False,
        subscriber="shopify:web",
        repush=repush,
        republish=lambda uow, styles: None,
    )


def test_shopify_showing_a_prepacks_whole_packs_is_not_drift_and_another_number_is(
    app: Seamline, clock: FixedClock, stocked: TestClient
) -> None:
    """A pack linked to a Shopify inventory item: Shopify showing the 2 packs the components make is our
    number (the drift check once counted a pack's own, empty, balance: 0, and called that drift)."""
    app.write(
        lambda uow: shopify_repo.link_variants(
            uow.conn,
            "web",
            [{"sku": PACK, "product_id": "p1", "variant_id": "v1", "inventory_item_id": ITEM, "linked_by": "sku"}],
            clock.now(),
        )
    )
    repush = Repushes()
    handler = InventoryLevelHandler(shopify_channel(app, repush))
    for theirs in (2, 7):
        report = InventoryLevelReport(inventory_item_id=ITEM, location_id="l1", available=theirs, updated_at=None)
        app.write(lambda uow, report=report: handler.apply(uow, report))
    drift = app.read(lambda conn: shopify_repo.drift(conn, "web", kind="inventory"))
    assert [(d["sku"], d["ours"], d["theirs"]) for d in drift] == [(PACK, "2", "7")]
    assert repush.seen == [(PACK, 7)]
