"""An Amazon order's life against the Amazon sandbox, on SQLite and PostgreSQL: pulled with the Orders API
2026-01-01 (``searchOrders``), shipped in two parcels, each confirmed with ``confirmShipment`` (its items,
carrier and tracking); at the end Amazon shows what the ledger shows, and a repeated ``OrderShipped``
confirms nothing twice."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from seamline.domain.clock import FixedClock
from seamline.integration import Delivery, Integration, install
from seamline.service import Seamline
from tests.conftest import receive
from tests.integration.marketplace_world import SETTINGS, AmazonWorld

M, L = "OVS-001-NVY-M", "OVS-001-NVY-L"


@pytest.fixture
def app_settings(tmp_path: Path) -> dict[str, Any]:
    """The sandbox's host never resolves (the sandbox is the transport): the operator allows it."""
    return {"drop_root": str(tmp_path), "outbound_allow": ("sellingpartnerapi-eu.amazon.sandbox.test",)}


@pytest.fixture
def integration(app: Seamline) -> Iterator[Integration]:
    found = install(app, SETTINGS)
    yield found
    found.uninstall()


def step(client: TestClient, order_id: str, name: str, body: dict[str, Any] | None = None) -> None:
    response = client.post(f"/v1/orders/{order_id}/{name}", json=body)
    assert response.status_code == 200, response.text


def test_an_amazon_order_shipped_in_two_parcels_is_confirmed_parcel_by_parcel_as_the_ledger_shipped_it(
    app: Seamline, client: TestClient, clock: FixedClock, integration: Integration
) -> None:
    world = AmazonWorld(app, client, clock, integration)
    world.amazon.config = replace(world.amazon.config, carrier_codes={"DHL": "DHL"})
    receive(client, M, 4)
    receive(client, L, 2)
    world.dispatch()
    order = world.sandbox.place_order([(M, 2, Decimal("89.00")), (L, 1, Decimal("79.00"))])
    assert world.connector.pull_orders(integration).stored == 1
    assert [c.operation for c in world.sandbox.calls if c.operation and "rder" in c.operation] == ["searchOrders"]
    integration.inbox.drain()
    [ours] = client.get("/v1/orders", params={"channel": "amazon"}).json()["items"]
    assert [(x["sku"], x["qty"], x["unit_price"]) for x in ours["lines"]] == [(M, 2, "89.00"), (L, 1, "79.00")]

    step(client, ours["id"], "pick", {"lines": [{"sku": M, "qty": 1}]})
    step(client, ours["id"], "pack")
    step(client, ours["id"], "ship", {"tracking": "00340434161234567890", "carrier": "DHL"})
    world.dispatch()
    assert order.status == "PartiallyShipped"
    step(client, ours["id"], "pick")
    step(client, ours["id"], "pack")
    step(client, ours["id"], "ship", {"tracking": "H1234567890123", "carrier": "Hermes"})
    world.dispatch()

    ledger = {x["sku"]: x["shipped"] for x in client.get(f"/v1/orders/{ours['id']}").json()["lines"]}
    assert {item.seller_sku: item.quantity_shipped for item in order.items} == ledger == {M: 2, L: 1}
    assert order.status == "Shipped"
    packages = [
        (
            p["packageReferenceId"],
            p["carrier"],
            p["trackingNumber"],
            sorted((x["orderItemId"], x["quantity"]) for x in p["packageItems"]),
        )
        for p in order.packages
    ]
    m_item, l_item = (i.order_item_id for i in order.items)
    assert packages == [
        ("1", "DHL", "00340434161234567890", [(m_item, 1)]),
        ("2", "Hermes", "H1234567890123", sorted([(m_item, 1), (l_item, 1)])),
    ]
    sent = [c for c in world.sandbox.calls if c.operation == "confirmShipment"]
    assert [c.body["packageDetail"]["carrierCode"] for c in sent] == ["DHL", "Other"]
    # A redelivered OrderShipped: nothing is confirmed twice.
    again = Delivery(
        0,
        "amazon-shipments:amazon",
        "redelivered",
        "OrderShipped",
        0,
        {"order_id": ours["id"], "external_id": order.amazon_order_id, "channel": "amazon"},
        None,
        clock.now(),
        2,
    )
    world.connector.deliver_shipment(again)
    assert len([c for c in world.sandbox.calls if c.operation == "confirmShipment"]) == 2
