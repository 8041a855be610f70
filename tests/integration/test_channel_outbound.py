"""Issue #20 through the API: a channel or accounting connection whose settings point a connector at a
loopback, link-local or non-https address, or a drop folder outside the drop root, is a 422 naming the field
and nothing is written; the operator's allow list opens a named host."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from seamline.service import Seamline
from seamline.store.tables import accounting_connections, channels
from tests.conftest import seed_world
from tests.integration.helpers import assert_problem

REFUSED: list[tuple[str, dict[str, Any], str]] = [
    (
        "shopify",
        {"shop_domain": "x.myshopify.com", "admin_api_url": "http://127.0.0.1:8081/admin", "access_token": "t"},
        "settings.admin_api_url",
    ),
    ("shopify", {"admin_api_url": "https://127.0.0.1:8443/admin", "access_token": "t"}, "settings.admin_api_url"),
    ("shopify", {"admin_api_url": "file:///etc/passwd", "access_token": "t"}, "settings.admin_api_url"),
    ("amazon", {"endpoint": "https://169.254.169.254/latest", "access_token": "t"}, "settings.endpoint"),
    ("mirakl", {"base_url": "https://localhost/api", "api_key": "k"}, "settings.base_url"),
    ("pos", {"provider": "square", "base_url": "http://[::1]:9000"}, "settings.base_url"),
    ("threepl", {"drop_folder": "/etc"}, "settings.drop_folder"),
    ("threepl", {"transport": "sftp", "sftp_host": "127.0.0.1", "sftp_username": "u"}, "settings.sftp_host"),
]


def channel_rows(app: Seamline) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(channels)).scalar_one())


@pytest.mark.parametrize(("kind", "settings", "field"), REFUSED)
def test_a_channel_pointing_a_connector_inward_is_refused_and_nothing_is_written(
    client: TestClient, app: Seamline, kind: str, settings: dict[str, Any], field: str
) -> None:
    seed_world(client)
    before = channel_rows(app)
    response = client.put("/v1/channels/inward", json={"kind": kind, "sources": ["WH"], "settings": settings})
    assert_problem(response, 422, "validation-error", field)
    assert channel_rows(app) == before
    assert client.get("/v1/channels/inward").status_code == 404
    assert "inward" not in client.app.state.wiring.wired()  # type: ignore[attr-defined]


def test_changing_a_wired_channel_to_an_inward_url_keeps_its_old_settings(client: TestClient) -> None:
    seed_world(client)
    good = {"shop_domain": "x.myshopify.com", "admin_api_url": "sandbox:", "access_token": "t"}
    body = {"kind": "shopify", "sources": ["WH"], "settings": good}
    assert client.put("/v1/channels/shop", json=body).status_code == 201
    bad = {**good, "admin_api_url": "http://127.0.0.1:8081/admin"}
    refused = client.put("/v1/channels/shop", json={**body, "settings": bad})
    assert_problem(refused, 422, "validation-error", "settings.admin_api_url")
    assert client.get("/v1/channels/shop").json()["settings"]["admin_api_url"] == "sandbox:"


def test_an_accounting_connection_pointing_inward_is_refused_and_nothing_is_written(
    client: TestClient, app: Seamline
) -> None:
    settings = {"base_url": "http://127.0.0.1:9/api.xro/2.0", "access_token": "t", "tenant_id": "x"}
    response = client.put("/v1/finance/accounting/books", json={"kind": "xero", "settings": settings})
    assert_problem(response, 422, "validation-error", "settings.base_url")
    with app.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(accounting_connections)).scalar_one() == 0


def test_a_drop_folder_under_the_drop_root_is_accepted(client: TestClient, tmp_path: Path) -> None:
    seed_world(client)
    assert client.put("/v1/locations/ACME", json={"name": "ACME", "kind": "threepl"}).status_code == 201
    body = {"kind": "threepl", "sources": ["ACME"], "settings": {"drop_folder": str(tmp_path / "acme")}}
    assert client.put("/v1/channels/acme", json=body).status_code == 201


class TestAnOperatorAllowedHost:
    @pytest.fixture
    def app_settings(self, tmp_path: Path) -> dict[str, Any]:
        return {"drop_root": str(tmp_path), "outbound_allow": ("127.0.0.1",)}

    def test_is_accepted_over_https_and_still_refused_over_http(self, client: TestClient) -> None:
        seed_world(client)
        settings = {"shop_domain": "x.myshopify.com", "admin_api_url": "https://127.0.0.1:8443/admin"}
        body = {"kind": "shopify", "sources": ["WH"], "settings": {**settings, "access_token": "t"}}
        assert client.put("/v1/channels/shop", json=body).status_code == 201
        plain = {**settings, "admin_api_url": "http://127.0.0.1:8443/admin"}
        refused = client.put("/v1/channels/shop", json={**body, "settings": plain})
        assert_problem(refused, 422, "validation-error", "settings.admin_api_url")
