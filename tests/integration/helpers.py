"""Small helpers shared by the HTTP integration tests: problem assertions, snapshots of what was written,
tokens with scopes, and a second style to clash with the overshirt."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from stdnum import ean

from seamline.service import Seamline
from seamline.store.tables import movements

PROBLEM_TYPE_BASE = "https://seamline.dev/problems/"


def assert_problem(response: httpx.Response, status: int, code: str, *fields: str) -> dict[str, Any]:
    """A precise problem+json answer: the status, a stable ``type`` ending with the code and, for 422s, the
    fields named in ``errors``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["type"] == PROBLEM_TYPE_BASE + code, body
    assert body["status"] == status
    assert body["title"]
    if fields:
        named = {e["field"] for e in body.get("errors") or []}
        assert set(fields) <= named, f"expected errors on {fields}, got {body.get('errors')}"
    return body


def stock_of(client: TestClient, sku: str, location: str) -> dict[str, int]:
    items = client.get("/v1/stock", params={"sku": sku, "location": location}).json()["items"]
    assert len(items) <= 1
    if not items:
        return {"on_hand": 0, "committed": 0, "reserved": 0, "available": 0}
    item: dict[str, int] = items[0]
    return item


def quad(client: TestClient, sku: str, location: str) -> tuple[int, int, int, int]:
    """(on_hand, committed, reserved, available) of one SKU at one location."""
    s = stock_of(client, sku, location)
    return s["on_hand"], s["committed"], s["reserved"], s["available"]


def movement_count(app: Seamline) -> int:
    with app.engine.connect() as conn:
        count: int = conn.execute(select(func.count()).select_from(movements)).scalar_one()
    return count


def snapshot(client: TestClient, app: Seamline) -> tuple[Any, int]:
    """Everything a bad request must leave alone: every balance and the number of movements."""
    response = client.get("/v1/stock")
    assert response.status_code == 200, response.text
    return response.json()["items"], movement_count(app)


def assert_nothing_written(client: TestClient, app: Seamline, before: tuple[Any, int]) -> None:
    assert snapshot(client, app) == before
    assert app.reconcile().clean


def atp(client: TestClient, channel: str, sku: str) -> dict[str, Any]:
    response = client.get(f"/v1/availability/{channel}", params={"sku": sku})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["sku"] for i in items] == [sku]
    item: dict[str, Any] = items[0]
    return item


def issue_token(client: TestClient, *scopes: str, name: str = "test token") -> str:
    response = client.post("/v1/tokens", json={"name": name, "scopes": list(scopes)})
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def client_with(client: TestClient, token: str | None) -> TestClient:
    """Another client on the same app, with this token (or none at all: no Authorization header)."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return TestClient(client.app, headers=headers)


def gtin13(body: str) -> str:
    """A valid EAN-13 from its first 12 digits (GS1 check digit)."""
    assert len(body) == 12
    return body + ean.calc_check_digit(body)


def tee_style(*, skus_prefix: str = "TEE-001", gtin_base: str = "401234500") -> dict[str, Any]:
    """A black tee over XS..L: another style to clash with the overshirt."""
    sizes = ["XS", "S", "M", "L"]
    return {
        "name": "Black tee",
        "season": "SS27",
        "size_scale": sizes,
        "colours": [{"code": "BLK", "name": "Black"}],
        "variants": [
            {"sku": f"{skus_prefix}-BLK-{s}", "colour": "BLK", "size": s, "gtin": gtin13(f"{gtin_base}{i:03d}")}
            for i, s in enumerate(sizes)
        ],
        "prices": [{"list": "retail", "currency": "EUR", "amount": "25.00"}],
    }
