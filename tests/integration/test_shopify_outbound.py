"""The Shopify channel outbound and under load, wired from configuration onto the sandbox shop: a till sale
reaching the shop in the dispatcher's first attempt, batching, a throttled shop drained without a failed
delivery, and a storm of shuffled, duplicated webhooks yielding exactly the right orders and returns."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from seamline.channels.canonical import Tracking
from seamline.domain.clock import FixedClock
from seamline.ledger.model import MovementKind, PlannedMovement
from seamline.sandbox.shopify import SandboxResponse
from seamline.service import Seamline
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import ledger_repo, shopify_repo
from seamline.store.tables import deliveries
from tests.conftest import receive
from tests.integration.shopify_world import CHANNEL, SKU, ShopWorld

SUBSCRIBER = f"shopify:{CHANNEL}"


def attempts_of(app: Seamline, subscriber: str = SUBSCRIBER) -> list[dict[str, Any]]:
    rows = app.read(
        lambda conn: (
            conn.execute(
                select(deliveries.c.status, deliveries.c.attempts)
                .where(deliveries.c.subscriber == subscriber)
                .order_by(deliveries.c.id)
            )
            .mappings()
            .all()
        )
    )
    return [dict(r) for r in rows]


def set_quantity_calls(world: ShopWorld) -> list[Any]:
    return [c for c in world.sandbox.calls if c.root_fields == ("inventorySetQuantities",)]


def test_till_sale_of_the_last_unit_zeroes_shopify_available_within_the_first_attempt(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    receive(client, SKU, 1, to="STORE-1")
    world.integration.dispatcher.drain()
    assert world.available() == 1
    pushed = threading.Event()
    original = world.sandbox.handle

    def handle(method: str, path: str, headers: dict[str, str], body: bytes) -> SandboxResponse:
        answer = original(method, path, headers, body)
        if world.sandbox.quantity(world.item(), world.online) == 0:
            pushed.set()
        return answer

    world.sandbox.handle = handle  # type: ignore[method-assign]
    before = len(attempts_of(app))
    world.integration.start()
    try:
        started = time.perf_counter()
        sale = {
            "location": "STORE-1",
            "external_id": "R-1001",
            "lines": [{"sku": SKU, "qty": 1, "unit_price": "89.00"}],
            "tenders": [{"type": "card", "amount": "89.00"}],
            "currency": "EUR",
        }
        assert client.post("/v1/sales", json=sale).status_code == 201
        answered = time.perf_counter()
        assert pushed.wait(10), "the sale never reached the shop"
        latency = time.perf_counter() - started
        after_answer = time.perf_counter() - answered
    finally:
        world.integration.stop()
    assert world.available() == 0
    new = attempts_of(app)[before:]
    assert [(d["status"], d["attempts"]) for d in new] == [("delivered", 1)], "delivered on the first attempt"
    print(  # noqa: T201 - the figures to report
        f"\ntill sale → Shopify available: {latency * 1000:.1f} ms ({after_answer * 1000:.1f} ms after the 201)"
    )


def many_skus(client: TestClient, count: int, per_style: int = 250) -> list[str]:
    """Styles of up to ``per_style`` variants (one colour, numbered sizes), ``count`` SKUs in all, so their
    publish links them all (a product's variants come back 250 at a time)."""
    skus: list[str] = []
    for n, start in enumerate(range(0, count, per_style)):
        sizes = [f"S{i:04d}" for i in range(start, min(count, start + per_style))]
        style = {
            "name": f"Basic tee {n}",
            "season": "SS27",
            "category": "tees",
            "size_scale": sizes,
            "colours": [{"code": "WHT", "name": "White"}],
            "variants": [{"sku": f"TEE{n}-WHT-{s}", "colour": "WHT", "size": s} for s in sizes],
            "prices": [{"list": "retail", "currency": "EUR", "amount": "19.00"}],
        }
        response = client.put(f"/v1/styles/TEE-{n:03d}", json=style)
        assert response.status_code == 201, response.text
        skus.extend(f"TEE{n}-WHT-{s}" for s in sizes)
    return skus


def receive_all(app: Seamline, skus: list[str], qty: int) -> None:
    """One transaction receiving every SKU (a big delivery booked at once)."""

    def work(uow: UnitOfWork) -> None:
        for sku in skus:
            move = PlannedMovement(MovementKind.RECEIPT, sku, qty, "supplier", "WH", None, None, None, False)
            ledger_repo.record_movement(uow, move, now=app.clock.now())

    app.write(work)


def test_a_thousand_availability_changes_go_out_in_at_most_ten_graphql_calls(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    skus = many_skus(client, 1000)
    world.integration.dispatcher.drain()  # publishes the tee: 1,000 variants linked
    items = app.read(lambda conn: shopify_repo.inventory_items(conn, CHANNEL, skus))
    assert len(items) == 1000
    calls_before = len(world.sandbox.calls)
    receive_all(app, skus, 3)
    world.integration.dispatcher.drain()
    calls = world.sandbox.calls[calls_before:]
    assert {world.sandbox.quantity(int(items[s]), world.online) for s in skus} == {3}
    sent = sum(len(c.variables["input"]["quantities"]) for c in calls if c.root_fields == ("inventorySetQuantities",))
    assert sent == 1000
    print(f"\nGraphQL calls per 1,000 availability changes: {len(calls)}")  # noqa: T201 - the figure to report
    assert len(calls) <= 10
    assert {d["attempts"] for d in attempts_of(app)} == {1}


@pytest.mark.parametrize("throttled_status", [200, 429])
def test_a_throttled_shop_is_drained_without_a_single_failed_delivery(
    client: TestClient, app: Seamline, clock: FixedClock, throttled_status: int
) -> None:
    world = ShopWorld(client, app, clock, throttled_status=throttled_status)
    skus = many_skus(client, 40)
    world.integration.dispatcher.drain()
    world.sandbox.set_bucket(maximum=30, restore_rate=10, available=0)
    world.sandbox.throttle_next(2)
    before = len(attempts_of(app))
    receive_all(app, skus[:20], 2)
    drained = 0
    for _ in range(50):
        drained += world.integration.dispatcher.drain()
        if all(world.sandbox.quantity(world.item(s), world.online) == 2 for s in skus[:20]):
            break
        clock.advance(5)
    rows = attempts_of(app)[before:]
    assert len(rows) == 20
    throttled = [c for c in world.sandbox.calls if c.outcome == "throttled"]
    assert {c.status for c in throttled} == {throttled_status}
    assert {world.sandbox.quantity(world.item(s), world.online) for s in skus[:20]} == {2}
    [status] = [s for s in world.integration.status()["subscribers"] if s["name"] == SUBSCRIBER]
    assert status["dead_letters"] == 0
    assert [r for r in rows if r["status"] != "delivered"] == []
    assert throttled, "the shop did throttle"
    assert {r["attempts"] for r in rows} == {1}, "a throttled attempt is not counted against the delivery"
    assert drained > len(rows), "some attempts were handed back rate limited"
    print(  # noqa: T201 - the figures to report
        f"\nthrottled answers: {len(throttled)}; attempts made: {drained} for {len(rows)} deliveries, "
        f"{drained - len(rows)} rate limited and not counted against them"
    )


def test_a_storm_of_shuffled_duplicated_webhooks_yields_exactly_the_right_orders_and_returns(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    skus = [f"OVS-001-{c}-{s}" for c in ("NVY", "OLV") for s in ("S", "M", "L", "XL")]
    for sku in skus:
        receive(client, sku, 500)
    world.integration.dispatcher.drain()
    world.sandbox.drain_events()
    rng = random.Random(27)
    placed = []
    for _ in range(40):
        lines = rng.sample(skus, rng.randint(1, 2))
        placed.append(world.sandbox.place_order([(s, rng.randint(1, 3)) for s in lines]))
    cancelled = placed[:8]
    for order in cancelled:
        world.sandbox.cancel_order(order.id)
    fulfilled = placed[8:26]
    for order in fulfilled:
        assert world.merchant.create_fulfillment(str(order.id), Tracking("DHL", f"T{order.id}")).fulfillment_id
    refunded = fulfilled[:10]
    for order in refunded:
        line = order.line_items[0]
        world.sandbox.refund(order.id, [(str(line.sku), 1, "return")], location_id=world.store_location)
    unique = world.deliveries()
    storm = world.sender.schedule(unique, duplicates=1000 - len(unique), shuffle=True)
    assert len(storm) == 1000
    before = world.inbox_rows()
    for delivery in storm:
        assert world.post(delivery) == 200
    assert world.inbox_rows() == before + len(unique)
    for _ in range(12):
        world.process()
        clock.advance(900)
    assert world.inbox(status="failed") == []
    assert world.inbox(status="received") == world.inbox(status="held") == [], "nothing left waiting"
    assert sum(int(row["duplicates"]) for row in world.inbox()) == 1000 - len(unique)
    orders = client.get("/v1/orders", params={"channel": CHANNEL, "limit": 500}).json()["items"]
    by_external = {o["external_id"]: o for o in orders}
    assert sorted(by_external) == sorted(str(o.id) for o in placed)
    assert len(orders) == len(placed)
    assert {by_external[str(o.id)]["status"] for o in cancelled} == {"cancelled"}
    assert {by_external[str(o.id)]["status"] for o in fulfilled} == {"shipped"}
    assert {by_external[str(o.id)]["status"] for o in placed[26:]} == {"allocated"}
    returned = {o["external_id"]: sum(line["returned"] for line in o["lines"]) for o in orders}
    assert returned == {str(o.id): (1 if o in refunded else 0) for o in placed}
    for order in placed:
        ours = by_external[str(order.id)]
        assert sorted((line["sku"], line["qty"]) for line in ours["lines"]) == sorted(
            (str(line.sku), line.quantity) for line in order.line_items
        )
    store_units = sum(
        int(i["on_hand"]) for i in client.get("/v1/stock", params={"location": "STORE-1"}).json()["items"]
    )
    assert store_units == len(refunded)
