"""Balances past 2^31: every quantity the API accepts (up to 1,000,000,000 a line) adds up without overflowing
a database column, and the ledger's invariant (on hand = the sum of movements) holds at that size."""

from __future__ import annotations

from fastapi.testclient import TestClient

from seamline.service import Seamline
from tests.integration.helpers import atp, quad
from tests.integration.order_world import SKU, place, seed_channels

MAX_QTY = 1_000_000_000  # the largest quantity of one line (api/schemas.py ``Qty``)


def test_receipts_past_two_to_the_31_add_up_on_hand_available_and_atp(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    for location in ("WH", "WH", "WH", "STORE-1", "STORE-1", "STORE-1"):
        response = client.post("/v1/movements", json={"kind": "receipt", "sku": SKU, "qty": MAX_QTY, "to": location})
        assert response.status_code == 201, response.text
    assert quad(client, SKU, "WH") == (3 * MAX_QTY, 0, 0, 3 * MAX_QTY)
    assert 3 * MAX_QTY > 2**31
    assert atp(client, "web", SKU)["atp"] == 6 * MAX_QTY
    hold = client.post("/v1/holds", json={"channel": "web", "lines": [{"sku": SKU, "qty": MAX_QTY}]})
    assert hold.status_code == 201, hold.text
    order = place(client, external_id="W-BIG-1", lines=[{"sku": SKU, "qty": MAX_QTY, "unit_price": "1.00"}])
    assert order["status"] == "allocated"
    assert quad(client, SKU, "WH") == (3 * MAX_QTY, MAX_QTY, MAX_QTY, MAX_QTY)
    assert atp(client, "web", SKU)["atp"] == 4 * MAX_QTY
    assert client.post(f"/v1/orders/{order['id']}/pick").status_code == 200
    assert quad(client, SKU, "WH") == (2 * MAX_QTY, 0, MAX_QTY, MAX_QTY)
    count = client.post("/v1/counts", json={"location": "STORE-1", "skus": [SKU]})
    assert count.status_code == 201, count.text
    assert app.reconcile().clean
