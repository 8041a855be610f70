"""Issue #15: a channel's answer says what of its connector is wired and which settings it still needs, on
PUT, GET and the channel list, and the dashboard's integration page shows it."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from seamline.channels.shopify.wiring import use_sandbox
from seamline.sandbox.shopify import SandboxConfig, ShopifySandbox
from tests.conftest import seed_world
from tests.integration.test_dashboard_pages import log_in


def shop_domain() -> str:
    return f"wiring-{uuid.uuid4().hex[:8]}.myshopify.com"


def shopify(domain: str, **settings: Any) -> dict[str, Any]:
    base = {"shop_domain": domain, "admin_api_url": "sandbox:", "access_token": "shpat_x", "webhook_secrets": ["s"]}
    return {"kind": "shopify", "sources": ["WH"], "settings": {**base, **settings}}


def test_a_shopify_channel_without_its_token_answers_incomplete_naming_the_setting(client: TestClient) -> None:
    seed_world(client)
    body = shopify(shop_domain())
    del body["settings"]["access_token"]
    created = client.put("/v1/channels/shop", json=body)
    assert created.status_code == 201
    assert created.json()["wiring"]["state"] == "incomplete"
    assert created.json()["wiring"]["missing"] == ["access_token"]
    assert client.get("/v1/channels/shop").json()["wiring"]["missing"] == ["access_token"]
    completed = client.put("/v1/channels/shop", json=shopify(shop_domain()))
    assert completed.status_code == 200
    assert state(completed.json()) == ("wired", [])
    assert completed.json()["settings"]["access_token"] == "***"


def state(answer: dict[str, Any]) -> tuple[str, list[str]]:
    return answer["wiring"]["state"], answer["wiring"]["missing"]


def test_the_channel_list_says_what_each_channel_is_waiting_for(client: TestClient) -> None:
    seed_world(client)  # its web channel is a Shopify channel with no settings, as the README's is
    till = {"kind": "pos", "sources": ["STORE-1"]}
    assert state(client.put("/v1/channels/till", json=till).json()) == ("manual", [])
    b2b = {"kind": "wholesale", "sources": ["WH"]}
    assert state(client.put("/v1/channels/b2b", json=b2b).json()) == ("no_connector", [])
    listed = {item["code"]: state(item) for item in client.get("/v1/channels").json()["items"]}
    assert listed == {
        "b2b": ("no_connector", []),
        "till": ("manual", []),
        "web": ("incomplete", ["shop_domain", "admin_api_url", "access_token", "webhook_secrets"]),
    }


def test_a_shop_with_several_locations_and_no_location_map_names_location_map_as_missing(
    client: TestClient,
) -> None:
    seed_world(client)
    domain = shop_domain()
    shop = use_sandbox(ShopifySandbox(SandboxConfig(shop_domain=domain, access_token="shpat_x")))
    first = shop.add_location("Online store")
    shop.add_location("Soho")
    answer = client.put("/v1/channels/shop", json=shopify(domain)).json()
    assert state(answer) == ("incomplete", ["location_map"])
    mapped = client.put("/v1/channels/shop", json=shopify(domain, location_map={str(first): "WH"})).json()
    assert state(mapped) == ("wired", [])


def test_a_sandbox_shop_with_one_location_needs_no_location_map(client: TestClient) -> None:
    seed_world(client)
    answer = client.put("/v1/channels/shop", json=shopify(shop_domain())).json()
    assert state(answer) == ("wired", [])
    subscribers = client.app.state.integration.registry.names()  # type: ignore[attr-defined]
    assert "shopify:shop" in subscribers, "the availability subscriber is wired at the shop's one location"


def test_settings_a_connector_refuses_when_built_show_as_an_error(client: TestClient) -> None:
    seed_world(client)
    client.put("/v1/locations/ACME", json={"name": "ACME", "kind": "threepl"})
    body = {"kind": "threepl", "sources": ["ACME"], "settings": {"drop_folder": "acme", "format": "edifact"}}
    wiring = client.put("/v1/channels/acme", json=body).json()["wiring"]
    assert wiring["state"] == "error"
    assert "edifact" in wiring["error"]


def test_the_integration_page_shows_each_channels_wiring(client: TestClient) -> None:
    seed_world(client)
    body = shopify(shop_domain())
    del body["settings"]["webhook_secrets"]
    client.put("/v1/channels/shop", json=body)
    page = log_in(client).get("/integration/live").text
    assert 'data-channel="shop" data-wiring="incomplete"' in page
    assert "webhook_secrets" in page
    assert 'data-channel="web" data-wiring="incomplete"' in page
