"""Amazon listings from the product master (issue 21), against the Amazon sandbox, on SQLite and PostgreSQL:
a style saved with content creates each linked variant's listing with ``putListingsItem`` (title in the
channel's words, description, bullets of composition and care, images in order, colour, size, GTIN, the
retail price in the marketplace's currency, the product type mapped from the style's category) under the
family's variation parent (the style's code, product facts only); saving it
again replaces the content with ``patchListingsItem``; a prepack is never listed, even when linked, and gets
an issue saying why; a listing Amazon finds invalid dead-letters with Amazon's issues on record."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from seamline.domain.clock import FixedClock
from seamline.integration import Integration, install
from seamline.service import Seamline
from seamline.store.tables import deliveries
from tests.conftest import OVERSHIRT, receive
from tests.integration.marketplace_world import MARKETPLACE, SETTINGS, AmazonWorld, amazon_settings

M, PACK = "OVS-001-NVY-M", "OVS-001-NVY-PACK"
CONTENT: dict[str, Any] = {
    "description": "A boxy overshirt in brushed cotton.",
    "images": [
        {"url": "https://cdn.example.com/ovs-back.jpg", "alt": "Back", "position": 2},
        {"url": "https://cdn.example.com/ovs-front.jpg", "alt": "Front", "position": 1},
    ],
    "care": "Wash at 30",
    "composition": [{"fibre": "cotton", "percent": "100"}],
    "overrides": {"amazon": {"title": "Seamline Overshirt"}},
}


@pytest.fixture
def app_settings(tmp_path: Path) -> dict[str, Any]:
    return {"drop_root": str(tmp_path), "outbound_allow": ("sellingpartnerapi-eu.amazon.sandbox.test",)}


@pytest.fixture
def integration(app: Seamline) -> Iterator[Integration]:
    found = install(app, SETTINGS)
    yield found
    found.uninstall()


def dead_letters(app: Seamline, subscriber: str) -> list[dict[str, Any]]:
    with app.engine.connect() as conn:
        rows = conn.execute(
            select(deliveries).where(deliveries.c.subscriber == subscriber, deliveries.c.status == "dead")
        )
        return [dict(r) for r in rows.mappings()]


def configure(client: TestClient, world: AmazonWorld, **settings: Any) -> None:
    body = {
        "kind": "amazon",
        "sources": ["WH"],
        "on_shortage": "backorder",
        "settings": {
            **amazon_settings(world.sandbox),
            "brand": "Seamline",
            "language_tag": "de_DE",
            "product_types": {"shirts": "SHIRT"},
            "product_type": "PRODUCT",
            **settings,
        },
    }
    assert client.put("/v1/channels/amazon", json=body).status_code in (200, 201)


def test_a_style_saved_with_content_is_listed_from_the_master_and_a_prepack_never(
    app: Seamline, client: TestClient, clock: FixedClock, integration: Integration
) -> None:
    world = AmazonWorld(app, client, clock, integration)
    configure(client, world)
    world.sandbox.listings.clear()  # nothing listed at Amazon yet: the master creates it
    for sku in (M, PACK):
        assert client.put(f"/v1/channels/amazon/listings/{sku}", json={"marketplace": MARKETPLACE}).status_code == 200
    receive(client, M, 3)
    assert client.put("/v1/styles/OVS-001", json={**OVERSHIRT, "content": CONTENT}).status_code == 200
    world.dispatch()

    puts = world.sandbox.operations("putListingsItem")
    listed = {c.path.rsplit("/", 1)[-1] for c in puts}
    assert PACK not in listed, "a prepack is wholesale only"
    assert PACK not in world.sandbox.listings
    listing = world.sandbox.listings[M]
    assert listing.product_type == "SHIRT"  # the category's mapping, not the channel's fallback
    attributes = listing.attributes

    def value(name: str) -> Any:
        [entry] = attributes[name]
        return entry.get("value", entry.get("media_location"))

    assert value("item_name") == "Seamline Overshirt Navy M"
    assert attributes["item_name"][0]["language_tag"] == "de_DE"
    assert attributes["item_name"][0]["marketplace_id"] == MARKETPLACE
    assert value("brand") == "Seamline"
    assert value("product_description") == "A boxy overshirt in brushed cotton."
    assert [b["value"] for b in attributes["bullet_point"]] == ["100% cotton", "Wash at 30"]
    assert value("main_product_image_locator") == "https://cdn.example.com/ovs-front.jpg"
    assert value("other_product_image_locator_1") == "https://cdn.example.com/ovs-back.jpg"
    assert (value("color"), value("size")) == ("Navy", "M")
    assert attributes["externally_assigned_product_identifier"] == [
        {"type": "ean", "value": "5012345678900", "marketplace_id": MARKETPLACE}
    ]
    assert attributes["purchasable_offer"] == [
        {"marketplace_id": MARKETPLACE, "currency": "EUR", "our_price": [{"schedule": [{"value_with_tax": 89.0}]}]}
    ]
    assert world.sandbox.quantity(M) == 3  # created with the number the ledger shows
    issues = client.get("/v1/channels/amazon/listing-issues", params={"sku": PACK})
    assert issues.status_code == 200, issues.text
    assert [(i["code"], i["message"]) for i in issues.json()["items"]] == [
        ("NOT_LISTABLE", f"{PACK} is a prepack: wholesale only")
    ]
    assert not dead_letters(app, "amazon-content:amazon")

    # The family's variation parent exists at Amazon, under the SKU its variants name, and is never bought.
    assert attributes["child_parent_sku_relationship"][0]["parent_sku"] == "OVS-001"
    parent = world.sandbox.listings["OVS-001"]
    assert parent.attributes["parentage_level"][0]["value"] == "parent"
    assert parent.attributes["variation_theme"][0]["name"] == "COLOR/SIZE"
    assert parent.attributes["item_name"][0]["value"] == "Seamline Overshirt"
    assert "purchasable_offer" not in parent.attributes
    assert [c for c in puts if c.path.endswith("/OVS-001")], "the parent is created with putListingsItem"

    # Saved again with new words: the content is replaced by a PATCH, not a second PUT.
    changed = {**CONTENT, "description": "Brushed cotton, boxy fit.", "images": CONTENT["images"][1:]}
    assert client.put("/v1/styles/OVS-001", json={**OVERSHIRT, "content": changed}).status_code == 200
    world.dispatch()
    assert len(world.sandbox.operations("putListingsItem")) == len(puts)
    assert world.sandbox.operations("patchListingsItem")
    assert world.sandbox.listings[M].attributes["product_description"][0]["value"] == "Brushed cotton, boxy fit."
    assert "other_product_image_locator_1" not in world.sandbox.listings[M].attributes
    assert world.sandbox.quantity(M) == 3  # the content update left the quantity alone
    assert world.sandbox.listings["OVS-001"].attributes["product_description"][0]["value"] == (
        "Brushed cotton, boxy fit."
    )

    # The prepack's number is never sent either.
    receive(client, "OVS-001-NVY-S", 2)
    receive(client, "OVS-001-NVY-L", 2)
    receive(client, "OVS-001-NVY-XL", 1)
    world.dispatch()
    assert PACK not in world.sandbox.listings
    assert all(not c.path.endswith(PACK) for c in world.sandbox.calls)


def test_a_listing_amazon_finds_invalid_is_dead_lettered_with_its_issues(
    app: Seamline, client: TestClient, clock: FixedClock, integration: Integration
) -> None:
    world = AmazonWorld(app, client, clock, integration)
    configure(client, world, brand=None)  # no brand anywhere: SHIRT requires one
    world.sandbox.listings.clear()
    assert client.put(f"/v1/channels/amazon/listings/{M}", json={"marketplace": MARKETPLACE}).status_code == 200
    assert client.put("/v1/styles/OVS-001", json={**OVERSHIRT, "content": CONTENT}).status_code == 200
    world.dispatch()
    assert M not in world.sandbox.listings
    [dead] = dead_letters(app, "amazon-content:amazon")
    assert "'brand' is required but not supplied." in str(dead["last_error"])


def test_a_linked_prepack_is_left_out_of_the_bulk_catch_up(
    app: Seamline, client: TestClient, clock: FixedClock, integration: Integration
) -> None:
    world = AmazonWorld(app, client, clock, integration, subscribe=False)  # the connector was down
    assert client.put(f"/v1/channels/amazon/listings/{PACK}", json={"marketplace": MARKETPLACE}).status_code == 200
    for size, qty in (("S", 1), ("M", 2), ("L", 2), ("XL", 1)):
        receive(client, f"OVS-001-NVY-{size}", qty)
    report = world.connector.catch_up()
    assert report.listings == 4, "the four NVY sizes; the pack (ATP 1) is not sent"
    world.connector.settle_feeds()
    assert PACK not in world.sandbox.listings
    assert world.sandbox.quantity(M) == 2
