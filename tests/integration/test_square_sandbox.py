"""The Square connector against the Square sandbox: the catalog and price push (versions, idempotency), and a
till sale whose signed webhooks, delivered twice and out of order, become one sale in the ledger and one
sales receipt in finance; the till's counts are compared with the ledger."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from seamline.channels.square import CatalogIds, SquareClient, SquareConfig, SquareLookups, inbound
from seamline.channels.square.client import SquareRejected
from seamline.channels.square.connector import CountDrift, SquareConnector
from seamline.integration import installed
from seamline.sandbox.square import SquareSandbox
from seamline.service import Seamline
from tests.conftest import OVERSHIRT
from tests.integration.finance_world import configure, ok
from tests.integration.order_world import SKU

SQUARE_STORE = "EF6D9SACKWBKZ"


def connector(
    app: Seamline, sandbox: SquareSandbox, lookups: SquareLookups, drift: list[CountDrift]
) -> SquareConnector:
    client = SquareClient(
        SquareConfig("http://square.test", sandbox.config.access_token), transport=sandbox.transport()
    )
    return SquareConnector(app, client, lambda: lookups, channel="soho", on_drift=drift.append)


def test_a_style_is_pushed_once_then_repriced_by_version(app: Seamline, client: TestClient) -> None:
    configure(client)
    style = app.get_style("OVS-001")
    sandbox = SquareSandbox()
    square = connector(app, sandbox, SquareLookups(), [])
    ids = square.publish_style(style, currency="EUR", idempotency_key="OVS-001-v1")
    again = square.publish_style(style, currency="EUR", idempotency_key="OVS-001-v1")
    assert again == ids, "a repeated push replays Square's first answer"
    assert sandbox.calls[-1].outcome == "replayed"
    assert len(ids.variations) == len(style.variants)
    variation = sandbox.catalog[ids.variations[SKU][0]]
    assert variation["item_variation_data"]["price_money"] == {"amount": 8900, "currency": "EUR"}
    prices = [{"list": "retail", "currency": "EUR", "amount": "79.00"}]
    response = client.put("/v1/styles/OVS-001", json={**OVERSHIRT, "prices": prices})
    assert response.status_code == 200, response.text
    repriced = square.publish_style(app.get_style("OVS-001"), currency="EUR", idempotency_key="OVS-001-v2", known=ids)
    assert repriced.item is not None
    assert ids.item is not None
    assert repriced.item[0] == ids.item[0]
    assert sandbox.catalog[ids.variations[SKU][0]]["item_variation_data"]["price_money"]["amount"] == 7900
    with pytest.raises(SquareRejected) as stale:
        square.publish_style(style, currency="EUR", idempotency_key="OVS-001-v3", known=ids)
    assert "VERSION_MISMATCH" in stale.value.codes


def test_a_till_sale_at_square_becomes_one_sale_and_one_sales_receipt(app: Seamline, client: TestClient) -> None:
    configure(client)  # ten of SKU at STORE-1
    sandbox = SquareSandbox()
    drift: list[CountDrift] = []
    lookups = SquareLookups(location_for={SQUARE_STORE: "STORE-1"})
    square = connector(app, sandbox, lookups, drift)
    ids: CatalogIds = square.publish_style(app.get_style("OVS-001"), currency="EUR", idempotency_key="v1")
    lookups = SquareLookups({vid: sku for sku, (vid, _) in ids.variations.items()}, {SQUARE_STORE: "STORE-1"})
    square.lookups = lambda: lookups
    integration = installed(app)
    assert integration is not None
    square.register(integration.handlers)
    sandbox.set_count(ids.variations[SKU][0], SQUARE_STORE, 15)
    order = sandbox.ring_up(SQUARE_STORE, [(SKU, 2)], [("CARD", 10000), ("CASH", 7800)])
    notes = list(reversed(sandbox.notifications))  # out of order...
    for note in notes + notes:  # ...and every one delivered twice
        event = inbound.verify(note.body, note.headers, [sandbox.config.signature_key], sandbox.config.notification_url)
        integration.inbox.receive(inbound.inbound_message(event, note.body, note.headers, channel="soho"))
    integration.inbox.drain()
    sales = ok(client.get("/v1/orders", params={"channel": "pos:STORE-1"}))["items"]
    assert [(s["external_id"], s["total"]) for s in sales] == [(order["id"], "178.00")]
    assert sales[0]["tenders"] == [{"type": "card", "amount": "100.00"}, {"type": "cash", "amount": "78.00"}]
    receipts = ok(client.get("/v1/finance/documents", params={"kind": "sales_receipt"}))["items"]
    assert [(r["order_ref"], Decimal(r["total"])) for r in receipts] == [(order["id"], Decimal("178.00"))]
    # The count arrived first (the deliveries were reversed): the till said 13, the ledger had 10 then.
    assert drift == [CountDrift(SKU, "STORE-1", 13, 10)]
    statuses = sorted(m["status"] for m in integration.inbox.list(source="square:soho"))
    assert statuses == ["processed", "processed"]
