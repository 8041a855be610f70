"""Issue #15: ``GET /v1/styles`` pages the product master (as ``GET /v1/orders`` pages the queue), and
``seamline serve`` says where it listens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from seamline.cli.main import app as cli
from tests.conftest import seed_world
from tests.integration.helpers import assert_problem


def style(code: str, season: str) -> dict[str, Any]:
    return {
        "name": f"Style {code}",
        "season": season,
        "size_scale": ["M"],
        "colours": [{"code": "BLK", "name": "Black"}],
        "variants": [{"sku": f"{code}-BLK-M", "colour": "BLK", "size": "M"}],
        "prices": [{"list": "retail", "currency": "EUR", "amount": "20.00"}],
    }


def test_styles_are_listed_a_page_at_a_time_and_by_season(client: TestClient) -> None:
    seed_world(client)  # OVS-001, SS27
    for code, season in (("JKT-001", "AW27"), ("TEE-001", "SS27"), ("TEE-002", "SS27")):
        assert client.put(f"/v1/styles/{code}", json=style(code, season)).status_code == 201, code
    first = client.get("/v1/styles", params={"limit": 2}).json()
    assert [s["code"] for s in first["items"]] == ["JKT-001", "OVS-001"]
    assert first["items"][1]["version"] >= 1
    second = client.get("/v1/styles", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [s["code"] for s in second["items"]] == ["TEE-001", "TEE-002"]
    last = client.get("/v1/styles", params={"limit": 2, "cursor": second["next_cursor"]}).json()
    assert last == {"items": [], "next_cursor": None}
    summer = client.get("/v1/styles", params={"season": "SS27"}).json()
    assert ([s["code"] for s in summer["items"]], summer["next_cursor"]) == (["OVS-001", "TEE-001", "TEE-002"], None)


def test_a_cursor_the_api_never_gave_out_is_a_422(client: TestClient) -> None:
    assert_problem(client.get("/v1/styles", params={"cursor": "no such!"}), 422, "validation-error", "cursor")


def test_serve_prints_where_it_listens_and_where_the_dashboard_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: ran.append(kwargs))
    monkeypatch.setenv("SEAMLINE_DATABASE_URL", f"sqlite:///{tmp_path}/seamline.db")
    monkeypatch.setenv("SEAMLINE_ADMIN_TOKEN", "t" * 40)
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "listening on http://127.0.0.1:8123" in result.output
    assert "dashboard: http://127.0.0.1:8123/" in result.output
    assert [(r["host"], r["port"]) for r in ran] == [("0.0.0.0", 8123)]
