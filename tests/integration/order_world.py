"""The world the order-queue tests share: the conftest catalog and locations plus one channel of every kind,
helpers to place orders and sales, and the fixture that reconciles the ledger after every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from seamline.service import Seamline
from seamline.store.tables import (
    allocations,
    customers,
    movements,
    order_lines,
    orders,
    oversell_exceptions,
    refunds,
    returns,
    transfers,
)
from tests.conftest import seed_world

SKU = "OVS-001-NVY-M"
PACK = "OVS-001-NVY-PACK"  # 1 S + 2 M + 2 L + 1 XL
PROBLEM_BASE = "https://seamline.dev/problems/"
COUNTED_TABLES = (
    movements,
    allocations,
    orders,
    order_lines,
    returns,
    refunds,
    transfers,
    customers,
    oversell_exceptions,
)


@pytest.fixture
def reconciled(app: Seamline) -> Iterator[None]:
    """After the test: balances rebuilt from movements, holds and allocations agree, and every order's
    lines agree with its open allocations (oversell exceptions are allowed: they are reported)."""
    yield
    report = app.reconcile()
    assert report.clean, report


def seed_channels(client: TestClient) -> None:
    """The conftest world (web: WH then STORE-1, rejects shortages) plus a backordering wholesale channel,
    a marketplace, and the Soho till's channel."""
    seed_world(client)
    for code, body in (
        ("wholesale", {"kind": "wholesale", "sources": ["WH", "STORE-1"], "on_shortage": "backorder"}),
        ("amazon", {"kind": "amazon", "sources": ["WH"], "on_shortage": "backorder"}),
        ("soho-till", {"kind": "pos", "sources": ["STORE-1"]}),
    ):
        response = client.put(f"/v1/channels/{code}", json=body)
        assert response.status_code in (200, 201), response.text


def order_body(channel: str = "web", external_id: str = "W-1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": channel,
        "external_id": external_id,
        "lines": [{"sku": SKU, "qty": 1, "unit_price": "89.00"}],
        "currency": "EUR",
    }
    body.update(overrides)
    return body


def place(client: TestClient, channel: str = "web", external_id: str = "W-1", **overrides: Any) -> dict[str, Any]:
    response = client.post("/v1/orders", json=order_body(channel, external_id, **overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def sale_body(location: str = "STORE-1", external_id: str = "R-1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "location": location,
        "external_id": external_id,
        "lines": [{"sku": SKU, "qty": 1, "unit_price": "89.00"}],
        "tenders": [{"type": "card", "amount": "89.00"}],
        "currency": "EUR",
    }
    body.update(overrides)
    return body


def step(client: TestClient, order_id: str, name: str, json: Any = None) -> dict[str, Any]:
    response = client.post(f"/v1/orders/{order_id}/{name}", json=json)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def fulfil(client: TestClient, order_id: str) -> dict[str, Any]:
    step(client, order_id, "pick")
    step(client, order_id, "pack")
    return step(client, order_id, "ship", {"tracking": "1Z999"})


def stock(client: TestClient, sku: str, location: str) -> tuple[int, int, int, int]:
    """(on_hand, committed, reserved, available) of one SKU at one location."""
    items = client.get("/v1/stock", params={"sku": sku, "location": location}).json()["items"]
    if not items:
        return (0, 0, 0, 0)
    item = items[0]
    return item["on_hand"], item["committed"], item["reserved"], item["available"]


def atp(client: TestClient, channel: str, sku: str = SKU) -> int:
    response = client.get(f"/v1/availability/{channel}", params={"sku": sku})
    assert response.status_code == 200, response.text
    value: int = response.json()["items"][0]["available"]
    return value


def assert_problem(response: httpx.Response, status: int, code: str, *fields: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == PROBLEM_BASE + code, body
    if fields:
        named = {e["field"] for e in body.get("errors") or []}
        assert set(fields) <= named, body
    return body


def written(app: Seamline) -> tuple[int, ...]:
    """Row counts of everything an order-queue command writes: a refused command leaves them all alone."""
    with app.engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t)).scalar_one() for t in COUNTED_TABLES)


def all_stock(client: TestClient) -> Any:
    return client.get("/v1/stock").json()["items"]
