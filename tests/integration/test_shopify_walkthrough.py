"""docs/shopify.md's walk-through, followed verbatim: every ``curl`` of it is run against the API in order
(with the dispatcher doing what ``seamline serve`` does in the background), and a sale through the API
changes the sandbox shop's available number (issue #15)."""

from __future__ import annotations

import dataclasses
import re
import shlex
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from seamline.channels import sandboxes
from seamline.cli.main import app as cli
from seamline.domain.clock import FixedClock
from seamline.integration import Integration
from seamline.sandbox.shopify import SandboxConfig, ShopifySandbox
from seamline.service import Seamline
from tests.conftest import ADMIN_TOKEN, OVERSHIRT
from tests.integration.helpers import assert_problem
from tests.integration.shopify_world import SHOP as SHOP_DOMAIN
from tests.integration.shopify_world import ShopWorld
from tests.integration.test_shopify_publish_link import existing_product
from tests.paths import FIXTURES

DOC = FIXTURES.parent.parent / "docs" / "shopify.md"
SHOP = "walkthrough.myshopify.com"
SKU = "TEE-001-BLK-M"


def walkthrough_curls() -> list[list[str]]:
    """The ``$ curl`` commands of the walk-through section, continuation lines joined, as argument lists."""
    text = DOC.read_text()
    section = text.split("## Walk-through", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```console\n(.*?)```", section, flags=re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            if line.startswith("$ curl "):
                commands.append(shlex.split(line.removeprefix("$ ").replace("$TOKEN", ADMIN_TOKEN)))
    return commands


def request_of(argv: list[str]) -> tuple[str, str, dict[str, str], str | None]:
    method, url, headers, body = "GET", "", {}, None
    args = iter(argv[1:])
    for arg in args:
        if arg == "-X":
            method = next(args)
        elif arg == "-H":
            name, _, value = next(args).partition(":")
            headers[name.strip()] = value.strip()
        elif arg == "-d":
            body = next(args)
        else:
            url = arg
    return method, url.removeprefix("http://127.0.0.1:8000"), headers, body


def shop_available(answer: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(row["sku"], row["location"], row["available"]) for row in answer["inventory"]]


def test_the_shopify_walkthrough_followed_verbatim_shows_a_sale_in_the_sandbox_shop(client: TestClient) -> None:
    sandboxes.forget("shopify", SHOP)  # the sandbox of an earlier run of this test in this process
    integration: Integration = client.app.state.integration  # type: ignore[attr-defined]
    client.headers.pop("Authorization")
    commands = walkthrough_curls()
    assert len(commands) == 7
    shop_views = []
    channel_answer: dict[str, Any] = {}
    for argv in commands:
        method, path, headers, body = request_of(argv)
        if body is not None:
            assert headers.get("Content-Type") == "application/json", f"{path}: a body needs its Content-Type"
        answer = client.request(method, path, headers=headers, content=body)
        assert answer.status_code in (200, 201), (path, answer.text)
        integration.dispatcher.drain()  # what seamline serve's dispatcher does in the background
        integration.dispatcher.drain()
        if path.startswith("/v1/sandbox/"):
            shop_views.append(shop_available(answer.json()))
        if path == "/v1/channels/shop":
            channel_answer = answer.json()
    assert channel_answer["wiring"]["state"] == "wired"
    assert shop_views == [[(SKU, "Sandbox warehouse", 10)], [(SKU, "Sandbox warehouse", 9)]]
    sandboxes.forget("shopify", SHOP)


def test_the_sandbox_shop_is_not_shown_in_production(client: TestClient, app: Seamline) -> None:
    domain = "production-check.myshopify.com"
    sandboxes.register("shopify", domain, ShopifySandbox(SandboxConfig(shop_domain=domain)))
    try:
        assert client.get(f"/v1/sandbox/shopify/{domain}").status_code == 200
        app.settings = dataclasses.replace(app.settings, env="production", admin_token="x" * 40)
        assert_problem(client.get(f"/v1/sandbox/shopify/{domain}"), 404, "unknown-sandbox")
    finally:
        sandboxes.forget("shopify", domain)


def test_a_sandbox_channel_is_linked_through_the_server_and_the_command_line_says_so(
    client: TestClient, app: Seamline, clock: FixedClock, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = ShopWorld(client, app, clock)
    existing_product(world)
    answer = client.post("/v1/channels/shop/shopify/link")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["linked_by_sku"] + report["linked_by_gtin"] == len(OVERSHIRT["variants"])
    assert report["linked_by_gtin"] == 1
    sandboxes.forget("shopify", SHOP_DOMAIN)  # as a separate command-line process sees it: no such shop
    monkeypatch.setenv("SEAMLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("SEAMLINE_ADMIN_TOKEN", ADMIN_TOKEN)
    result = CliRunner().invoke(cli, ["shopify", "link", "--channel", "shop"])
    assert result.exit_code == 2
    assert "POST /v1/channels/shop/shopify/link" in result.output
