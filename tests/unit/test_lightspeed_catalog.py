"""A style as a Lightspeed Retail (X-Series) variant family (``channels.lightspeed.catalog``, pure) and the
sandbox's product contract: the create answers ids in Lightspeed's order (by attribute value), a family is read
back and paired on SKU, a SKU is one product (a create naming one the retailer has is refused whole), a family
holds at most 200 variants, and the 2.1 update changes the family (``common``) and one product (``details``)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from seamline.catalog.model import Colour, Price, Style, Variant
from seamline.channels.lightspeed import catalog
from seamline.channels.lightspeed.client import LightspeedClient, LightspeedConfig, LightspeedRejected
from seamline.sandbox.lightspeed import LightspeedSandbox

STYLE = Style(
    "OVS-001",
    "Navy overshirt",
    "SS27",
    "shirts",
    ("S", "M"),
    (Colour("NVY", "Navy"), Colour("OLV", "Olive")),
    (
        Variant("OVS-001-OLV-S", "OLV", "S", "00012345678905"),
        Variant("OVS-001-NVY-M", "NVY", "M", "5012345678900"),
        Variant("OVS-001-NVY-S", "NVY", "S", None),
        Variant("OVS-001-OLV-M", "OLV", "M", "012345678905"),
    ),
    prices=(Price("retail", "EUR", Decimal("89")), Price("retail", "USD", Decimal("99.00"))),
)
ATTRS = {catalog.COLOUR: "attr-colour", catalog.SIZE: "attr-size"}


def test_a_style_is_one_family_of_variants_with_attributes_barcodes_and_the_price() -> None:
    body = catalog.family_body(STYLE, ATTRS, currency="EUR")
    assert (body["name"], body["description"]) == ("Navy overshirt", "OVS-001 SS27")
    assert [v["sku"] for v in body["variants"]] == ["OVS-001-NVY-S", "OVS-001-NVY-M", "OVS-001-OLV-S", "OVS-001-OLV-M"]
    first, second, third, fourth = body["variants"]
    assert second == {
        "sku": "OVS-001-NVY-M",
        "variant_definitions": [
            {"attribute_id": "attr-colour", "value": "Navy"},
            {"attribute_id": "attr-size", "value": "M"},
        ],
        "product_codes": [{"type": "EAN", "code": "5012345678900"}],
        "price_including_tax": 89.0,
    }
    assert first["product_codes"] == [], "no GTIN, no code"
    assert third["product_codes"] == [{"type": "EAN", "code": "0012345678905"}], "GTIN-14 with a leading 0"
    assert fourth["product_codes"] == [{"type": "UPC", "code": "012345678905"}]
    excl = catalog.family_body(STYLE, ATTRS, currency="USD", tax_inclusive=False)
    assert {v["price_excluding_tax"] for v in excl["variants"]} == {99.0}
    with pytest.raises(catalog.LightspeedCatalogError, match="no retail price in GBP"):
        catalog.family_body(STYLE, ATTRS, currency="GBP")


def test_an_update_names_the_family_in_common_and_the_product_in_details() -> None:
    body = catalog.update_body(STYLE, STYLE.variants[1], ATTRS, currency="EUR")
    assert body["common"] == {"name": "Navy overshirt", "description": "OVS-001 SS27"}
    assert body["details"]["sku"] == "OVS-001-NVY-M"
    assert body["details"]["price_including_tax"] == 89.0


def client_for(sandbox: LightspeedSandbox) -> LightspeedClient:
    return LightspeedClient(LightspeedConfig("http://ls.test", sandbox.config.token), transport=sandbox.transport())


def test_the_sandbox_answers_ids_in_its_own_order_and_the_family_is_paired_on_sku() -> None:
    sandbox = LightspeedSandbox()
    client = client_for(sandbox)
    attrs = {name: client.create_variant_attribute(name) for name in (catalog.COLOUR, catalog.SIZE)}
    assert client.variant_attributes() == attrs
    ids = client.create_products(catalog.family_body(STYLE, attrs, currency="EUR"))
    by_sku = catalog.ids_by_sku(client.family(ids[-1]))
    assert sorted(by_sku) == sorted(v.sku for v in STYLE.variants)
    sent = [by_sku[v.sku] for v in STYLE.sorted_variants()]
    assert sorted(ids) == sorted(sent)
    assert ids != sent, "the answer is not in the order sent: never pair by position"
    assert sandbox.products[by_sku["OVS-001-NVY-M"]]["price_excluding_tax"] == pytest.approx(74.16667)
    assert [p["id"] for p in client.products_with_sku("OVS-001-NVY-M")] == [by_sku["OVS-001-NVY-M"]]

    renamed = replace(STYLE, name="Overshirt")
    client.update_product(
        by_sku["OVS-001-OLV-M"], catalog.update_body(renamed, STYLE.variants[3], attrs, currency="USD")
    )
    assert sandbox.products[by_sku["OVS-001-OLV-M"]]["price_including_tax"] == 99.0
    assert sandbox.products[by_sku["OVS-001-NVY-M"]]["price_including_tax"] == 89.0, "details: one product"
    assert {p["name"] for p in sandbox.products.values()} == {"Overshirt"}, "common: the whole family"


def test_a_create_naming_a_sku_the_retailer_has_or_too_many_variants_is_refused_whole() -> None:
    sandbox = LightspeedSandbox()
    client = client_for(sandbox)
    attrs = {name: client.create_variant_attribute(name) for name in (catalog.COLOUR, catalog.SIZE)}
    sandbox.add_product("OVS-001-OLV-M", "Olive overshirt M", Decimal("89.00"))
    with pytest.raises(LightspeedRejected, match="OVS-001-OLV-M is already used"):
        client.create_products(catalog.family_body(STYLE, attrs, currency="EUR"))
    assert len(sandbox.products) == 1, "nothing of the family was created"
    big = catalog.family_body(STYLE, attrs, currency="EUR")
    big["variants"] = [{**big["variants"][0], "sku": f"X-{i}"} for i in range(201)]
    with pytest.raises(LightspeedRejected, match="limit of 200 variants"):
        client.create_products(big)
    bad = catalog.family_body(STYLE, {catalog.COLOUR: "nope", catalog.SIZE: "nope"}, currency="EUR")
    bad["variants"] = bad["variants"][:1]
    bad["variants"][0]["sku"] = "NEW-1"
    with pytest.raises(LightspeedRejected, match="not a variant attribute"):
        client.create_products(bad)
    assert len(sandbox.products) == 1
