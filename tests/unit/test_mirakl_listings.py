"""Mirakl listings built from the product master (``channels.mirakl.listings``): the operator's category and
attribute codes from the channel's mapping, the master's content as the channel shows it, the consumer price,
and never a prepack or a wholesale-only style."""

from __future__ import annotations

from decimal import Decimal

from seamline.catalog.content import build_content
from seamline.catalog.model import Colour, Prepack, PrepackComponent, Price, Style, Variant
from seamline.channels.mirakl.listings import CatalogMapping, product_rows, products_csv
from seamline.channels.mirakl.mapper import read_offers_csv

MAPPING = CatalogMapping.from_settings(
    {
        "categories": {"shirts": "H-SHIRTS"},
        "attributes": {
            "category": "category",
            "title": "title",
            "description": "description",
            "brand": "brand",
            "colour": "color",
            "size": "size",
            "gtin": "ean",
            "composition": "composition",
            "care": "care",
            "variant_group": "variant_group",
            "images": ["main_image", "image_2"],
        },
        "brand": "Seamline Test Co",
    }
)


def style(**changes: object) -> Style:
    content, errors = build_content(
        {
            "description": "A navy overshirt in heavy twill.",
            "care": "Wash at 30°C",
            "composition": [{"fibre": "cotton", "percent": "95"}, {"fibre": "elastane", "percent": "5"}],
            "images": [
                {"url": "https://cdn.example.com/ovs-back.jpg", "position": 2},
                {"url": "https://cdn.example.com/ovs-front.jpg", "position": 1},
            ],
            "overrides": {"zalando": {"title": "Overshirt navy – heavy twill"}},
        }
    )
    assert errors == []
    values: dict[str, object] = {
        "code": "OVS-001",
        "name": "Navy overshirt",
        "season": "SS27",
        "category": "shirts",
        "size_scale": ("M", "L"),
        "colours": (Colour("NVY", "Navy"),),
        "variants": (Variant("OVS-001-NVY-L", "NVY", "L", "4000000000006"), Variant("OVS-001-NVY-M", "NVY", "M")),
        "prepacks": (Prepack("OVS-001-NVY-PACK", None, (PrepackComponent("OVS-001-NVY-M", 2),)),),
        "prices": (Price("retail", "EUR", Decimal("89.00")), Price("wholesale", "EUR", Decimal("38.00"))),
        "content": content,
        **changes,
    }
    return Style(**values)  # type: ignore[arg-type]


def test_a_styles_variants_are_listed_in_the_operators_model_with_the_channels_words_and_images_in_order() -> None:
    rows, skipped = product_rows(style(), "zalando", MAPPING, currency="EUR", quantities={"OVS-001-NVY-M": 4})
    assert [r.sku for r in rows] == ["OVS-001-NVY-M", "OVS-001-NVY-L"], "grid order"
    m = rows[0]
    assert (m.price, m.qty) == (Decimal("89.00"), 4)
    assert m.values["category"] == "H-SHIRTS"
    assert m.values["title"] == "Overshirt navy – heavy twill", "the channel's own title"
    assert m.values["description"] == "A navy overshirt in heavy twill."
    assert (m.values["main_image"], m.values["image_2"]) == (
        "https://cdn.example.com/ovs-front.jpg",
        "https://cdn.example.com/ovs-back.jpg",
    )
    assert (m.values["color"], m.values["size"], m.values["variant_group"]) == ("Navy", "M", "OVS-001")
    assert m.values["composition"] == "95% cotton, 5% elastane"
    assert "ean" not in m.values
    assert rows[1].values["ean"] == "4000000000006"
    assert [(s.sku, s.never) for s in skipped] == [("OVS-001-NVY-PACK", True)], "a prepack is never listed"
    # Another channel without its own words shows the master's name.
    other, _ = product_rows(style(), "iconic", MAPPING, currency="EUR", quantities={})
    assert other[0].values["title"] == "Navy overshirt"


def test_the_file_carries_the_offer_columns_and_the_mapped_attributes_only() -> None:
    rows, _ = product_rows(style(), "zalando", MAPPING, currency="EUR", quantities={"OVS-001-NVY-M": 4})
    header, written = read_offers_csv(products_csv(rows, MAPPING))
    assert header[:7] == ["sku", "product-id", "product-id-type", "price", "quantity", "state", "update-delete"]
    assert set(header[7:]) == {*MAPPING.attributes.values(), "main_image", "image_2"}
    assert (written[0]["product-id"], written[0]["product-id-type"], written[0]["price"]) == (
        "OVS-001-NVY-M",
        "SHOP_SKU",
        "89.00",
    )
    assert written[1]["quantity"] == "0"


def test_a_wholesale_only_style_is_never_listed_and_an_unmapped_category_waits_with_its_reason() -> None:
    wholesale = style(prices=(Price("wholesale", "EUR", Decimal("38.00")),))
    rows, skipped = product_rows(wholesale, "zalando", MAPPING, currency="EUR", quantities={})
    assert rows == []
    assert all(s.never for s in skipped)
    assert "wholesale-only" in skipped[-1].reason
    rows, skipped = product_rows(style(category="knitwear"), "zalando", MAPPING, currency="EUR", quantities={})
    assert rows == []
    assert [s.never for s in skipped] == [True, False, False]
    assert "no operator category for our category 'knitwear'" in skipped[1].reason


def test_the_operators_required_attributes_nothing_is_mapped_to_are_named() -> None:
    assert MAPPING.unmapped(["category", "title", "fit_type", "main_image"]) == ["fit_type"]
