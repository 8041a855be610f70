"""The Amazon sandbox's ``putListingsItem`` and content ``patchListingsItem`` with the SP-API client: required
attributes of the product types it knows (an ERROR issue ``90220`` and ``INVALID``, nothing created), a
listing without an image accepted with a WARNING, values shaped as Amazon shapes them, and a PATCH that
replaces or deletes content attributes."""

from __future__ import annotations

from typing import Any

from seamline.channels.amazon.listings import content_patch_body, put_body
from tests.integration.test_amazon_sandbox import MARKETPLACE, World


def text(value: str) -> list[dict[str, Any]]:
    return [{"value": value, "language_tag": "de_DE", "marketplace_id": MARKETPLACE}]


def shirt(**changes: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "item_name": text("Overshirt Navy M"),
        "brand": text("Seamline"),
        "product_description": text("Brushed cotton."),
        "bullet_point": text("100% cotton"),
        "color": text("Navy"),
        "size": text("M"),
        "condition_type": [{"value": "new_new", "marketplace_id": MARKETPLACE}],
        "externally_assigned_product_identifier": [
            {"type": "ean", "value": "5012345678900", "marketplace_id": MARKETPLACE}
        ],
        "purchasable_offer": [
            {"marketplace_id": MARKETPLACE, "currency": "EUR", "our_price": [{"schedule": [{"value_with_tax": 89.0}]}]}
        ],
        "main_product_image_locator": [
            {"media_location": "https://cdn.example.com/f.jpg", "marketplace_id": MARKETPLACE}
        ],
        "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 4}],
    }
    attributes.update(changes)
    return {k: v for k, v in attributes.items() if v is not None}


def test_a_complete_listing_is_created_with_its_quantity() -> None:
    world = World()
    answer = world.client.put_listing("SKU-1", put_body("SHIRT", shirt()), [MARKETPLACE])
    assert (answer.status, answer.issues) == ("ACCEPTED", ())
    listing = world.sandbox.listings["SKU-1"]
    assert listing.product_type == "SHIRT"
    assert listing.attributes["brand"][0]["value"] == "Seamline"
    assert world.sandbox.quantity("SKU-1") == 4


def test_a_missing_required_attribute_is_an_error_and_nothing_is_created() -> None:
    world = World()
    answer = world.client.put_listing("SKU-1", put_body("SHIRT", shirt(brand=None, color=None)), [MARKETPLACE])
    assert answer.status == "INVALID"
    assert sorted((i.code, i.message) for i in answer.issues) == [
        ("90220", "'brand' is required but not supplied."),
        ("90220", "'color' is required but not supplied."),
    ]
    assert "SKU-1" not in world.sandbox.listings


def test_no_image_is_a_warning_and_a_bad_value_or_product_type_an_error() -> None:
    world = World()
    answer = world.client.put_listing("SKU-1", put_body("SHIRT", shirt(main_product_image_locator=None)), [MARKETPLACE])
    assert answer.status == "ACCEPTED"
    assert [(i.code, i.severity) for i in answer.issues] == [("90244", "WARNING")]
    untagged = shirt(item_name=[{"value": "Overshirt", "marketplace_id": MARKETPLACE}])
    assert world.client.put_listing("SKU-2", put_body("SHIRT", untagged), [MARKETPLACE]).status == "INVALID"
    bad_ean = shirt(externally_assigned_product_identifier=[{"type": "ean", "value": "5012345678901"}])
    refused = world.client.put_listing("SKU-2", put_body("SHIRT", bad_ean), [MARKETPLACE])
    assert [i.code for i in refused.issues] == ["90000900"]
    assert world.client.put_listing("SKU-2", put_body("SPACESHIP", shirt()), [MARKETPLACE]).status == "INVALID"
    assert "SKU-2" not in world.sandbox.listings


def test_a_content_patch_replaces_and_deletes_and_leaves_the_quantity() -> None:
    world = World()
    world.client.put_listing("SKU-1", put_body("SHIRT", shirt()), [MARKETPLACE])
    new = shirt(product_description=text("Boxy fit."), main_product_image_locator=None)
    answer = world.client.patch_listing("SKU-1", content_patch_body("SHIRT", new, MARKETPLACE), [MARKETPLACE])
    assert answer.status == "ACCEPTED"
    listing = world.sandbox.listings["SKU-1"]
    assert listing.attributes["product_description"][0]["value"] == "Boxy fit."
    assert "main_product_image_locator" not in listing.attributes
    assert world.sandbox.quantity("SKU-1") == 4


def parent(**changes: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "item_name": text("Overshirt"),
        "brand": text("Seamline"),
        "parentage_level": [{"value": "parent", "marketplace_id": MARKETPLACE}],
        "variation_theme": [{"name": "COLOR/SIZE", "marketplace_id": MARKETPLACE}],
    }
    attributes.update(changes)
    return {k: v for k, v in attributes.items() if v is not None}


def test_a_variation_parent_needs_no_identifier_or_offer_but_is_product_facts_only() -> None:
    world = World()
    answer = world.client.put_listing("OVS-001", put_body("SHIRT", parent(), "LISTING_PRODUCT_ONLY"), [MARKETPLACE])
    assert answer.status == "ACCEPTED"
    assert "OVS-001" in world.sandbox.listings
    as_offer = world.client.put_listing("OVS-002", put_body("SHIRT", parent(), "LISTING"), [MARKETPLACE])
    assert as_offer.status == "INVALID"
    assert "OVS-002" not in world.sandbox.listings
    no_theme = world.client.put_listing(
        "OVS-003", put_body("SHIRT", parent(variation_theme=None), "LISTING_PRODUCT_ONLY"), [MARKETPLACE]
    )
    assert no_theme.status == "INVALID"
    assert [i.message for i in no_theme.issues if i.severity == "ERROR"] == [
        "'variation_theme' is required but not supplied."
    ]
