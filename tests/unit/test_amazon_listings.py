"""The Amazon listing built from the product master, as pure functions: attributes in Amazon's value-array
shape (``item_name`` ... with ``language_tag`` and ``marketplace_id``), the product type per category, the GTIN
in its printed form, what a consumer marketplace never lists, and the PATCH that replaces content."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from seamline.catalog.content import ChannelWords, Fibre, Image, StyleContent
from seamline.catalog.model import Colour, Prepack, PrepackComponent, Price, Style, Variant
from seamline.channels.amazon import listings
from seamline.channels.amazon.listings import ListingSettings

MARKET = "A1PA6795UKMFR9"
SETTINGS = ListingSettings(currency="EUR", language_tag="de_DE", brand="Seamline", product_types={"shirts": "SHIRT"})


def style(**changes: Any) -> Style:
    base: dict[str, Any] = {
        "code": "OVS-001",
        "name": "Navy overshirt",
        "season": "SS27",
        "category": "shirts",
        "size_scale": ("S", "M"),
        "colours": (Colour("NVY", "Navy"),),
        "variants": (Variant("OVS-001-NVY-S", "NVY", "S", "04006381333931"), Variant("OVS-001-NVY-M", "NVY", "M")),
        "prepacks": (Prepack("OVS-001-PACK", None, (PrepackComponent("OVS-001-NVY-S", 1),)),),
        "prices": (Price("retail", "EUR", Decimal("89.00")), Price("wholesale", "EUR", Decimal("38.00"))),
        "content": StyleContent(
            description="Brushed cotton.",
            images=(
                Image("https://cdn.example.com/b.jpg", "Back", 2),
                Image("https://cdn.example.com/f.jpg", "Front", 1),
            ),
            care="Wash at 30",
            composition=(Fibre("cotton", Decimal("95")), Fibre("elastane", Decimal("5"))),
            overrides={"amazon": ChannelWords(title="Seamline Overshirt")},
        ),
    }
    base.update(changes)
    return Style(**base)


def attributes(shown: Style, sku: str = "OVS-001-NVY-S", **kwargs: Any) -> dict[str, Any]:
    found = shown.variant(sku)
    assert found is not None
    return listings.variant_attributes(shown, found, channel="amazon", marketplace=MARKET, settings=SETTINGS, **kwargs)


def test_a_variant_is_listed_with_its_styles_content_in_the_channels_words() -> None:
    got = attributes(style())
    assert got["item_name"] == [
        {"value": "Seamline Overshirt Navy S", "language_tag": "de_DE", "marketplace_id": MARKET}
    ]
    assert got["brand"][0]["value"] == "Seamline"
    assert got["product_description"][0]["value"] == "Brushed cotton."
    assert [b["value"] for b in got["bullet_point"]] == ["95% cotton, 5% elastane", "Wash at 30"]
    assert got["main_product_image_locator"] == [
        {"media_location": "https://cdn.example.com/f.jpg", "marketplace_id": MARKET}
    ]
    assert got["other_product_image_locator_1"][0]["media_location"] == "https://cdn.example.com/b.jpg"
    assert (got["color"][0]["value"], got["size"][0]["value"]) == ("Navy", "S")
    assert got["externally_assigned_product_identifier"] == [
        {"type": "ean", "value": "4006381333931", "marketplace_id": MARKET}
    ]
    assert got["purchasable_offer"] == [
        {"marketplace_id": MARKET, "currency": "EUR", "our_price": [{"schedule": [{"value_with_tax": 89.0}]}]}
    ]
    assert got["child_parent_sku_relationship"][0]["parent_sku"] == "OVS-001"
    assert got["condition_type"] == [{"value": "new_new", "marketplace_id": MARKET}]


def test_a_variant_without_a_gtin_is_matched_by_the_asin_it_is_linked_to() -> None:
    got = attributes(style(), "OVS-001-NVY-M", asin="B0ABCDEFGH")
    assert "externally_assigned_product_identifier" not in got
    assert got["merchant_suggested_asin"] == [{"value": "B0ABCDEFGH", "marketplace_id": MARKET}]


@pytest.mark.parametrize(
    ("gtin", "expected"),
    [
        ("04006381333931", ("ean", "4006381333931")),
        ("00012345678905", ("upc", "012345678905")),
        ("10012345678902", ("gtin", "10012345678902")),
    ],
)
def test_a_gtin_goes_in_its_printed_form(gtin: str, expected: tuple[str, str]) -> None:
    assert listings.identifier(gtin) == expected


def test_prepacks_and_wholesale_only_styles_are_never_listed() -> None:
    assert listings.not_listable(style(), "OVS-001-PACK", SETTINGS) == "OVS-001-PACK is a prepack: wholesale only"
    wholesale = style(prices=(Price("wholesale", "EUR", Decimal("38.00")),))
    reason = listings.not_listable(wholesale, "OVS-001-NVY-S", SETTINGS)
    assert reason is not None
    assert "wholesale only" in reason
    other_currency = style(prices=(Price("retail", "GBP", Decimal("79.00")),))
    assert listings.not_listable(other_currency, "OVS-001-NVY-S", SETTINGS) is not None
    assert listings.not_listable(style(), "OVS-001-NVY-S", SETTINGS) is None
    with pytest.raises(ValueError, match="prepack"):
        listings.variant_attributes(
            style(), Variant("OVS-001-PACK", "NVY", "S"), channel="amazon", marketplace=MARKET, settings=SETTINGS
        )


def test_the_product_type_follows_the_styles_category_else_the_channels_default() -> None:
    assert SETTINGS.product_type(style()) == "SHIRT"
    assert SETTINGS.product_type(style(category="trousers")) == "SHIRT"  # the default
    mapped = ListingSettings.from_settings(
        {"product_types": {"trousers": "PANTS"}, "product_type": "PRODUCT"}, currency="EUR"
    )
    assert mapped.product_type(style(category="trousers")) == "PANTS"
    assert mapped.product_type(style(category="hats")) == "PRODUCT"
    with pytest.raises(ValueError, match="product_types"):
        ListingSettings.from_settings({"product_types": ["SHIRT"]}, currency="EUR")


def test_a_put_carries_product_type_and_requirements_and_a_patch_replaces_content_and_deletes_what_went() -> None:
    got = attributes(style(content=StyleContent(description="Plain.")))
    body = listings.put_body("SHIRT", got)
    assert (body["productType"], body["requirements"]) == ("SHIRT", "LISTING")
    with pytest.raises(ValueError, match="requirements"):
        listings.put_body("SHIRT", got, "EVERYTHING")
    patch = listings.content_patch_body("SHIRT", got, MARKET)
    ops = {p["path"]: p["op"] for p in patch["patches"]}
    assert ops["/attributes/product_description"] == "replace"
    assert ops["/attributes/main_product_image_locator"] == "delete"  # the style has no images any more
    assert ops["/attributes/bullet_point"] == "delete"
    assert "/attributes/fulfillment_availability" not in ops  # the quantity is the availability path's


def test_the_variation_parent_carries_the_familys_facts_and_nothing_to_buy() -> None:
    got = listings.parent_attributes(style(), channel="amazon", marketplace=MARKET, settings=SETTINGS)
    assert got["item_name"] == [{"value": "Seamline Overshirt", "language_tag": "de_DE", "marketplace_id": MARKET}]
    assert got["parentage_level"] == [{"value": "parent", "marketplace_id": MARKET}]
    assert got["variation_theme"] == [{"name": "COLOR/SIZE", "marketplace_id": MARKET}]
    assert got["brand"][0]["value"] == "Seamline"
    assert got["main_product_image_locator"][0]["media_location"] == "https://cdn.example.com/f.jpg"
    for never in ("purchasable_offer", "list_price", "externally_assigned_product_identifier", "color", "size"):
        assert never not in got
