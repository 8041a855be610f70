"""A whole channel's availability as one stream (NDJSON or CSV): the same numbers as the paged JSON, every
SKU once, prepacks included, and the same access rules."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from fastapi.testclient import TestClient

from seamline.service import Seamline
from tests.conftest import ADMIN_TOKEN, receive, seed_world


def paged(client: TestClient, channel: str, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/v1/availability/{channel}", params=params).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_the_export_streams_every_sku_with_the_numbers_the_pages_give(
    app: Seamline, client: TestClient, monkeypatch: Any
) -> None:
    seed_world(client)
    for sku, qty in (("OVS-001-NVY-S", 4), ("OVS-001-NVY-M", 9), ("OVS-001-NVY-L", 7), ("OVS-001-NVY-XL", 2)):
        receive(client, sku, qty)
    assert client.put("/v1/channels/web", json={"kind": "shopify", "sources": ["WH"], "safety_stock": 1}).is_success
    # Per-SKU policies on both channels: the export reads them by SKU range, the pages by SKU list.
    overrides = [{"sku": "OVS-001-NVY-M", "safety_stock": 4}, {"sku": "OVS-001-NVY-L", "safety_stock": 0}]
    body = {"kind": "shopify", "sources": ["WH"], "safety_stock": 1, "sku_overrides": overrides}
    assert client.put("/v1/channels/web", json=body).is_success
    fence = {"kind": "wholesale", "sources": ["WH"], "sku_overrides": [{"sku": "OVS-001-NVY-S", "ring_fence": 3}]}
    assert client.put("/v1/channels/b2b", json=fence).is_success
    original = app.availability_pages
    monkeypatch.setattr(app, "availability_pages", lambda channel: original(channel, page_size=3))  # several pages

    expected = paged(client, "web", limit=4)
    assert len(expected) == 9  # 8 variants and the prepack, each once
    assert any(item["available"] > 0 for item in expected)
    numbers = {item["sku"]: item["atp"] for item in expected}
    assert (numbers["OVS-001-NVY-S"], numbers["OVS-001-NVY-M"], numbers["OVS-001-NVY-L"]) == (0, 5, 7), "the policies"

    ndjson = client.get("/v1/availability/web/export")
    assert ndjson.status_code == 200
    assert ndjson.headers["content-type"] == "application/x-ndjson"
    assert [json.loads(line) for line in ndjson.text.splitlines()] == expected

    as_csv = client.get("/v1/availability/web/export", params={"format": "csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["sku"], int(r["available"]), int(r["atp"]), r["paused"] == "true") for r in rows] == [
        (i["sku"], i["available"], i["atp"], i["paused"]) for i in expected
    ]


def test_the_export_of_an_unknown_channel_is_a_404_problem_and_another_channels_token_is_refused(
    client: TestClient,
) -> None:
    seed_world(client)
    missing = client.get("/v1/availability/nowhere/export")
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/unknown-channel")
    token = client.post("/v1/tokens", json={"name": "b2b", "scopes": ["channel:b2b"]}).json()["token"]
    other = client.get("/v1/availability/web/export", headers={"Authorization": f"Bearer {token}"})
    assert other.status_code == 403
    assert client.get("/v1/availability/web/export", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).is_success
