"""A style's content through the API and out to Shopify (issue 21): stored, answered, validated with named
fields, and published as the product's title (the channel's own words), description and images."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from seamline.domain.clock import FixedClock
from seamline.service import Seamline
from seamline.store import shopify_repo
from tests.conftest import OVERSHIRT
from tests.integration.helpers import assert_problem
from tests.integration.shopify_world import CHANNEL, ShopWorld

CONTENT: dict[str, Any] = {
    "description": "A boxy overshirt in brushed cotton.",
    "images": [
        {"url": "https://cdn.example.com/ovs-front.jpg", "alt": "Front"},
        {"url": "https://cdn.example.com/ovs-back.jpg", "alt": "Back"},
    ],
    "care": "Wash at 30",
    "composition": [{"fibre": "cotton", "percent": "100"}],
    "overrides": {CHANNEL: {"title": "Overshirt in navy or olive"}},
}


def test_content_is_stored_answered_and_a_bad_one_is_refused_naming_its_field(client: TestClient) -> None:
    put = client.put("/v1/styles/OVS-001", json={**OVERSHIRT, "content": CONTENT})
    assert put.status_code == 201, put.text
    got = client.get("/v1/styles/OVS-001").json()
    assert got["content"] == put.json()["content"]
    assert [i["position"] for i in got["content"]["images"]] == [1, 2]
    assert got["content"]["overrides"] == {CHANNEL: {"title": "Overshirt in navy or olive", "description": None}}
    version = got["version"]

    bad = {**CONTENT, "composition": [{"fibre": "cotton", "percent": "80"}]}
    refused = client.put("/v1/styles/OVS-001", json={**OVERSHIRT, "content": bad})
    assert_problem(refused, 422, "validation-error", "content.composition")
    assert client.get("/v1/styles/OVS-001").json()["version"] == version, "nothing written"
    again = client.put("/v1/styles/OVS-001", json={**OVERSHIRT, "content": CONTENT})
    assert again.json()["version"] == version, "the same content again changes nothing"


def test_shopify_shows_the_channels_title_the_description_and_the_images_in_order(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    assert client.put("/v1/styles/OVS-001", json={**OVERSHIRT, "content": CONTENT}).status_code == 200
    world.integration.dispatcher.drain()
    found = app.read(lambda conn: shopify_repo.product_of_style(conn, CHANNEL, "OVS-001"))
    assert found is not None
    product = world.sandbox.shop.products[int(found["product_id"])]
    assert product.title == "Overshirt in navy or olive"
    assert product.description_html.startswith("<p>A boxy overshirt in brushed cotton.</p>")
    assert "<strong>Composition:</strong> 100% cotton" in product.description_html
    assert product.media == [
        ("https://cdn.example.com/ovs-front.jpg", "Front"),
        ("https://cdn.example.com/ovs-back.jpg", "Back"),
    ]
