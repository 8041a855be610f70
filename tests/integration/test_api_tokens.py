"""Tokens over their life (DESIGN 13b, issue 20): listed without secrets, revoked (401 at once, even from the
token cache), expiring, rotated with an optional grace; the bootstrap admin token and the last admin token
cannot be revoked by accident; and the same from the ``seamline tokens`` command."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from seamline.cli.context import CliContext
from seamline.cli.main import app as cli
from seamline.domain.clock import FixedClock
from seamline.service import Seamline
from tests.integration.helpers import assert_problem, client_with


def issue(client: TestClient, *scopes: str, **extra: object) -> dict[str, object]:
    response = client.post("/v1/tokens", json={"name": "till", "scopes": list(scopes), **extra})
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_get_tokens_lists_every_token_without_its_secret_or_hash(client: TestClient) -> None:
    issued = issue(client, "location:STORE-1", expires_in_seconds=3600)
    response = client.get("/v1/tokens")
    assert response.status_code == 200, response.text
    items = {item["id"]: item for item in response.json()["items"]}
    mine = items[str(issued["id"])]
    assert mine["name"] == "till"
    assert mine["scopes"] == ["location:STORE-1"]
    assert mine["status"] == "active"
    assert mine["expires_at"] == issued["expires_at"] == "2026-11-27T09:00:00Z"
    assert items["bootstrap-admin"]["bootstrap"] is True
    text = response.text
    assert str(issued["token"]) not in text
    assert "token_hash" not in text
    assert all("token" not in item for item in items.values())


def test_listing_and_revoking_tokens_is_admin_only(client: TestClient) -> None:
    issued = issue(client, "read")
    for scopes in (["read"], ["location:STORE-1"], ["channel:web"]):
        other = client_with(client, str(issue(client, *scopes)["token"]))
        assert_problem(other.get("/v1/tokens"), 403, "insufficient-scope")
        assert_problem(other.delete(f"/v1/tokens/{issued['id']}"), 403, "insufficient-scope")
        assert_problem(other.post(f"/v1/tokens/{issued['id']}/rotate"), 403, "insufficient-scope")
    assert client_with(client, str(issued["token"])).get("/v1/locations").status_code == 200


def test_a_revoked_token_is_401_on_its_very_next_request_even_when_cached(client: TestClient) -> None:
    issued = issue(client, "read")
    reader = client_with(client, str(issued["token"]))
    assert reader.get("/v1/locations").status_code == 200  # now in the token cache
    revoked = client.delete(f"/v1/tokens/{issued['id']}")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert_problem(reader.get("/v1/locations"), 401, "invalid-token")
    listed = {i["id"]: i for i in client.get("/v1/tokens").json()["items"]}
    assert listed[str(issued["id"])]["revoked_at"] == "2026-11-27T08:00:00Z"
    assert client.delete(f"/v1/tokens/{issued['id']}").status_code == 200, "revoking twice answers the same"


def test_revoking_an_unknown_token_is_404(client: TestClient) -> None:
    assert_problem(client.delete("/v1/tokens/nope"), 404, "unknown-token")


def test_an_expiring_token_is_401_once_its_time_has_passed_even_when_cached(
    client: TestClient, clock: FixedClock
) -> None:
    issued = issue(client, "read", expires_in_seconds=60)
    reader = client_with(client, str(issued["token"]))
    assert reader.get("/v1/locations").status_code == 200
    clock.advance(61)
    assert_problem(reader.get("/v1/locations"), 401, "invalid-token")
    listed = {i["id"]: i for i in client.get("/v1/tokens").json()["items"]}
    assert listed[str(issued["id"])]["status"] == "expired"
    later = issue(client, "read", expires_at="2026-11-27T09:00:00+00:00")
    assert later["expires_at"] == "2026-11-27T09:00:00Z"


def test_an_expiry_in_the_past_or_both_kinds_of_expiry_is_422(client: TestClient) -> None:
    for extra in (
        {"expires_at": "2026-11-27T07:00:00+00:00"},
        {"expires_in_seconds": 0},
        {"expires_in_seconds": 60, "expires_at": "2026-11-27T09:00:00+00:00"},
    ):
        response = client.post("/v1/tokens", json={"name": "x", "scopes": ["read"], **extra})
        assert_problem(response, 422, "validation-error")


def test_rotating_gives_a_new_secret_and_revokes_the_old_one(client: TestClient) -> None:
    issued = issue(client, "channel:web")
    old = client_with(client, str(issued["token"]))
    assert old.get("/v1/availability/web").status_code in (200, 404)
    response = client.post(f"/v1/tokens/{issued['id']}/rotate")
    assert response.status_code == 201, response.text
    rotated = response.json()
    assert rotated["scopes"] == ["channel:web"]
    assert rotated["previous"]["rotated_to"] == rotated["id"]
    assert_problem(old.get("/v1/orders?channel=web"), 401, "invalid-token")
    assert client_with(client, rotated["token"]).get("/v1/orders?channel=web").status_code == 200
    assert_problem(client.post(f"/v1/tokens/{issued['id']}/rotate"), 409, "token-not-live")


def test_a_rotation_with_grace_keeps_the_old_secret_working_until_the_grace_ends(
    client: TestClient, clock: FixedClock
) -> None:
    issued = issue(client, "read")
    old = client_with(client, str(issued["token"]))
    response = client.post(f"/v1/tokens/{issued['id']}/rotate", json={"grace_seconds": 300})
    assert response.status_code == 201, response.text
    assert response.json()["previous"]["expires_at"] == "2026-11-27T08:05:00Z"
    assert old.get("/v1/locations").status_code == 200
    clock.advance(301)
    assert_problem(old.get("/v1/locations"), 401, "invalid-token")
    assert client_with(client, response.json()["token"]).get("/v1/locations").status_code == 200


def test_the_bootstrap_admin_token_cannot_be_revoked_or_rotated_through_the_api(client: TestClient) -> None:
    assert_problem(client.delete("/v1/tokens/bootstrap-admin"), 409, "bootstrap-token")
    assert_problem(client.post("/v1/tokens/bootstrap-admin/rotate"), 409, "bootstrap-token")
    assert client.get("/v1/tokens").status_code == 200, "the bootstrap token still works"


def test_the_last_live_admin_token_is_revoked_only_when_forced(client: TestClient, app: Seamline) -> None:
    first = issue(client, "admin")
    with app.engine.begin() as conn:  # a deployment whose bootstrap token was taken out of the environment
        conn.exec_driver_sql("UPDATE api_tokens SET revoked_at = created_at WHERE id = 'bootstrap-admin'")
    app.forget_tokens()
    admin = client_with(client, str(first["token"]))
    assert_problem(admin.delete(f"/v1/tokens/{first['id']}"), 409, "last-admin-token")
    assert admin.get("/v1/tokens").status_code == 200
    second = issue(admin, "admin")
    assert admin.delete(f"/v1/tokens/{second['id']}").status_code == 200, "another admin remained"
    assert admin.delete(f"/v1/tokens/{first['id']}?force=true").status_code == 200
    assert_problem(admin.get("/v1/tokens"), 401, "invalid-token")


# ---------------------------------------------------------------------------------------------- the CLI
@pytest.fixture
def runner(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SEAMLINE_DATABASE_URL", database_url)
    monkeypatch.delenv("SEAMLINE_ADMIN_TOKEN", raising=False)
    return CliRunner()


def test_the_tokens_command_creates_lists_rotates_and_revokes(client: TestClient, runner: CliRunner) -> None:
    created = runner.invoke(cli, ["tokens", "create", "soho till", "--scope", "location:STORE-1", "--scope", "read"])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("sl_")
    till = client_with(client, secret)
    assert till.get("/v1/locations").status_code == 200
    listed = runner.invoke(cli, ["tokens", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    items = {i["name"]: i for i in json.loads(listed.output)["items"]}
    assert items["soho till"]["scopes"] == ["location:STORE-1", "read"]
    assert secret not in listed.output
    token_id = items["soho till"]["id"]
    rotated = runner.invoke(cli, ["tokens", "rotate", token_id])
    assert rotated.exit_code == 0, rotated.output
    new_secret = rotated.output.strip().splitlines()[-1]
    assert new_secret.startswith("sl_")
    assert new_secret != secret
    after = {i["id"]: i for i in json.loads(runner.invoke(cli, ["tokens", "list", "--json"]).output)["items"]}
    new_id = after[token_id]["rotated_to"]
    assert after[new_id]["name"] == "soho till"
    revoked = runner.invoke(cli, ["tokens", "revoke", new_id])
    assert revoked.exit_code == 0, revoked.output
    refused = runner.invoke(cli, ["tokens", "revoke", "bootstrap-admin"])
    assert refused.exit_code == 1
    assert "bootstrap-token" in refused.output
    statuses = {
        i["id"]: i["status"] for i in json.loads(runner.invoke(cli, ["tokens", "list", "--json"]).output)["items"]
    }
    assert statuses[token_id] == statuses[new_id] == "revoked"


def test_a_token_created_by_the_command_expires_on_the_applications_clock(
    client: TestClient, runner: CliRunner, clock: FixedClock
) -> None:
    created = runner.invoke(
        cli, ["tokens", "create", "temp", "--scope", "read", "--expires-in", "60"], obj=CliContext(clock)
    )
    assert created.exit_code == 0, created.output
    temp = client_with(client, created.output.strip().splitlines()[-1])
    assert temp.get("/v1/locations").status_code == 200
    clock.advance(61)
    assert_problem(temp.get("/v1/locations"), 401, "invalid-token")
