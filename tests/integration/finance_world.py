"""The world the finance tests share: the order-queue world plus a VAT chart, stock at the Soho store, and
helpers for till sales and Stripe balance transactions."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import receive
from tests.integration.order_world import SKU, sale_body, seed_channels

DAY = "2026-11-27"  # the conftest clock: 08:00 UTC, 08:00 in London
LARGE = "OVS-001-NVY-L"
CONFIG: dict[str, Any] = {
    "tax_codes": [
        {"code": "VAT20", "rate": "0.20", "name": "VAT 20%", "xero_tax_type": "OUTPUT2", "qbo_tax_code": "5"},
        {"code": "ZERO", "rate": "0", "xero_tax_type": "ZERORATEDOUTPUT", "qbo_tax_code": "9"},
    ],
    "default_tax_code": "VAT20",
    "stores": {"STORE-1": {"timezone": "Europe/London", "float": "100.00"}},
}


def stripe(n: int, kind: str, amount: int, fee: int) -> dict[str, Any]:
    """A balance transaction shaped like ``tests/fixtures/payments``."""
    return {
        "id": f"txn_day_{n}",
        "object": "balance_transaction",
        "amount": amount,
        "available_on": 1764230400,
        "created": 1764230400,
        "currency": "eur",
        "description": None,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": [],
        "net": amount - fee,
        "reporting_category": kind,
        "source": f"ch_{n}",
        "status": "pending",
        "type": kind,
    }


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def configure(client: TestClient) -> None:
    seed_channels(client)
    ok(client.put("/v1/finance/config", json=CONFIG), 201)
    receive(client, SKU, 10, to="STORE-1")
    receive(client, LARGE, 5, to="STORE-1")


def sell(client: TestClient, external_id: str, price: str, qty: int, tenders: list[tuple[str, str]]) -> dict[str, Any]:
    body = sale_body(
        external_id=external_id,
        lines=[{"sku": SKU, "qty": qty, "unit_price": price}],
        tenders=[{"type": t, "amount": a} for t, a in tenders],
    )
    return ok(client.post("/v1/sales", json=body), 201)
