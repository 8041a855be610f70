"""The Shopify mapper's defined behaviour for the awkward cases, on payloads shaped like Shopify's."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from seamline.catalog.model import Colour, Price, Style, Variant
from seamline.channels.canonical import AvailabilityPush, FieldDrift, OrderVerdict, SkipReason
from seamline.channels.shopify import mapper
from seamline.channels.shopify.client import batch_key
from seamline.channels.shopify.mapper import MappingError, ShopifyLookups, UnpublishableStyle


def line(
    line_id: int,
    sku: str | None,
    *,
    qty: int = 1,
    price: str = "49.00",
    variant: int | None = 11,
    product: int | None = 22,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": line_id,
        "sku": sku,
        "quantity": qty,
        "price": price,
        "price_set": {
            "shop_money": {"amount": price, "currency_code": "EUR"},
            "presentment_money": {"amount": "99.99", "currency_code": "SEK"},
        },
        "variant_id": variant,
        "product_id": product,
        "gift_card": False,
        "name": f"Line {line_id}",
        **extra,
    }


def order(
    *lines: dict[str, Any], currency: str = "EUR", presentment: str = "EUR", test: bool = False
) -> dict[str, Any]:
    return {
        "id": 5001,
        "name": "#1001",
        "currency": currency,
        "presentment_currency": presentment,
        "test": test,
        "email": None,
        "customer": {
            "id": 9,
            "email": "Ada@Example.com",
            "phone": "+44 20 7946 0000",
            "first_name": "Ada",
            "last_name": "Lovelace",
        },
        "created_at": "2026-11-27T09:00:00+01:00",
        "line_items": list(lines),
    }


KNOWN = ShopifyLookups(known_skus={"OVS-001-NVY-M", "OVS-001-NVY-L"})


def test_an_order_whose_lines_all_resolve_is_accepted_with_exact_prices_in_shop_money() -> None:
    mapped = mapper.map_order(order(line(1, "OVS-001-NVY-M", qty=2), presentment="SEK"), KNOWN)
    assert mapped.verdict is OrderVerdict.ACCEPT
    (only,) = mapped.stock_lines
    assert (only.sku, only.qty, only.unit_price) == ("OVS-001-NVY-M", 2, Decimal("49.00"))
    assert (mapped.order.currency, mapped.order.presentment_currency) == ("EUR", "SEK")
    assert mapped.order.customer is not None
    assert mapped.order.customer.email == "Ada@Example.com"
    assert mapped.order.placed_at is not None
    assert mapped.order.placed_at.utcoffset() is not None


def test_an_unknown_sku_holds_the_whole_order_and_names_the_sku() -> None:
    mapped = mapper.map_order(order(line(1, "OVS-001-NVY-M"), line(2, "MYSTERY-1")), KNOWN)
    assert mapped.verdict is OrderVerdict.HOLD_UNKNOWN_SKU
    assert "MYSTERY-1" in mapped.detail
    assert [(s.sku, s.reason) for s in mapped.skipped] == [("MYSTERY-1", SkipReason.UNKNOWN_SKU)]


def test_the_variant_mapping_wins_over_shopifys_sku_text() -> None:
    lookups = ShopifyLookups(variant_skus={"11": "OVS-001-NVY-L"}, known_skus={"OVS-001-NVY-L"})
    mapped = mapper.map_order(order(line(1, "typo-in-shopify", variant=11)), lookups)
    assert [(x.sku, x.variant_id) for x in mapped.stock_lines] == [("OVS-001-NVY-L", "11")]


def test_an_order_in_a_currency_the_channel_does_not_sell_in_is_held() -> None:
    mapped = mapper.map_order(order(line(1, "OVS-001-NVY-M"), currency="USD"), ShopifyLookups(currency="EUR"))
    assert mapped.verdict is OrderVerdict.HOLD_FOREIGN_CURRENCY
    assert "USD" in mapped.detail


def test_gift_cards_and_custom_items_are_skipped_and_an_order_of_only_those_is_ignored() -> None:
    gift = line(1, None, gift_card=True, variant=31, product=32)
    custom = line(2, "WARRANTY", variant=None, product=None)
    mapped = mapper.map_order(order(gift, custom), KNOWN)
    assert [s.reason for s in mapped.skipped] == [SkipReason.GIFT_CARD, SkipReason.CUSTOM_LINE_ITEM]
    assert mapped.verdict is OrderVerdict.IGNORE_NOTHING_TO_FULFIL
    assert mapped.order.has_gift_cards
    assert mapped.order.has_custom_items


def test_a_test_order_is_ignored_before_anything_else_is_judged() -> None:
    mapped = mapper.map_order(order(line(1, "MYSTERY-1"), test=True), KNOWN)
    assert mapped.verdict is OrderVerdict.IGNORE_TEST_ORDER


def test_a_line_removed_by_an_order_edit_takes_no_stock() -> None:
    mapped = mapper.map_order(order(line(1, "OVS-001-NVY-M", qty=0), line(2, "OVS-001-NVY-L")), KNOWN)
    assert [s.reason for s in mapped.skipped] == [SkipReason.NO_QUANTITY]
    assert mapped.verdict is OrderVerdict.ACCEPT


@pytest.mark.parametrize(
    "broken",
    [
        {"line_items": [line(1, "X", qty=1.5)]},  # type: ignore[arg-type]
        {"line_items": [line(1, "X", price="NaN", price_set=None)]},
        {"created_at": "yesterday"},
        {"currency": None},
    ],
)
def test_a_payload_not_shaped_as_documented_is_a_mapping_error(broken: dict[str, Any]) -> None:
    with pytest.raises(MappingError):
        mapper.map_order(order(line(1, "OVS-001-NVY-M")) | broken, KNOWN)


def test_set_quantities_input_is_compare_and_set_with_an_explicit_null_for_never_published() -> None:
    built = mapper.set_quantities_input(
        [AvailabilityPush("101", "gid://shopify/Location/7", 3, 5), AvailabilityPush("102", "7", 0, None)],
        reference_document_uri="seamline://events/e1",
    )
    assert built == {
        "name": "available",
        "reason": "correction",
        "referenceDocumentUri": "seamline://events/e1",
        "quantities": [
            {
                "inventoryItemId": "gid://shopify/InventoryItem/101",
                "locationId": "gid://shopify/Location/7",
                "quantity": 3,
                "changeFromQuantity": 5,
            },
            {
                "inventoryItemId": "gid://shopify/InventoryItem/102",
                "locationId": "gid://shopify/Location/7",
                "quantity": 0,
                "changeFromQuantity": None,
            },
        ],
    }


def test_set_quantities_input_refuses_more_than_250_or_the_same_item_twice() -> None:
    with pytest.raises(ValueError, match="250"):
        mapper.set_quantities_input(
            [AvailabilityPush(str(n), "7", 1, 0) for n in range(251)], reference_document_uri="x:y"
        )
    with pytest.raises(ValueError, match="twice"):
        mapper.set_quantities_input(
            [AvailabilityPush("1", "7", 1, 0), AvailabilityPush("1", "7", 2, 1)], reference_document_uri="x:y"
        )


def test_coalescing_keeps_the_latest_number_against_the_earliest_previous() -> None:
    merged = mapper.coalesce_pushes(
        [AvailabilityPush("1", "7", 5, 9), AvailabilityPush("2", "7", 1, 0), AvailabilityPush("1", "7", 3, 5)]
    )
    assert [(p.inventory_item_id, p.available, p.previous) for p in merged] == [
        ("gid://shopify/InventoryItem/1", 3, 9),
        ("gid://shopify/InventoryItem/2", 1, 0),
    ]


def test_a_batch_key_is_stable_for_a_retry_and_new_when_the_batch_changes() -> None:
    variables = {"input": {"quantities": [{"quantity": 1, "changeFromQuantity": 0}]}}
    changed = {"input": {"quantities": [{"quantity": 1, "changeFromQuantity": 2}]}}
    assert batch_key("d1", variables) == batch_key("d1", variables)
    assert batch_key("d1", variables) != batch_key("d1", changed)
    assert batch_key("d1", variables) != batch_key("d2", variables)


def style(
    *,
    status: str = "active",
    fit: bool = False,
    prices: tuple[Price, ...] = (Price("retail", "EUR", Decimal("49.00")),),
) -> Style:
    return Style(
        code="OVS-001",
        name="Navy overshirt",
        season="SS27",
        category="Shirts",
        size_scale=("S", "M", "L", "XL"),
        colours=(Colour("NVY", "Navy"), Colour("OLV", "Olive"), Colour("RED", "Red")),
        variants=(
            Variant("OVS-001-OLV-M", "OLV", "M", "05012345678900", "slim" if fit else None),
            Variant("OVS-001-NVY-S", "NVY", "S", "00012345678905", "slim" if fit else None),
            Variant("OVS-001-NVY-M", "NVY", "M", None, "slim" if fit else None),
        ),
        prices=prices,
        status=status,
    )


def test_a_style_becomes_one_product_with_used_colours_and_sizes_in_grid_order() -> None:
    variables = mapper.product_set_variables(style(), currency="EUR")
    product = variables["input"]
    assert variables["identifier"] == {"handle": "ovs-001"}
    assert variables["synchronous"] is True
    assert (product["title"], product["handle"], product["status"], product["productType"]) == (
        "Navy overshirt",
        "ovs-001",
        "ACTIVE",
        "Shirts",
    )
    assert product["productOptions"] == [
        {"name": "Colour", "position": 1, "values": [{"name": "Navy"}, {"name": "Olive"}]},
        {"name": "Size", "position": 2, "values": [{"name": "S"}, {"name": "M"}]},
    ]
    assert [(v["inventoryItem"]["sku"], v["barcode"], v["price"]) for v in product["variants"]] == [
        ("OVS-001-NVY-S", "012345678905", "49.00"),
        ("OVS-001-NVY-M", None, "49.00"),
        ("OVS-001-OLV-M", "5012345678900", "49.00"),
    ]
    assert product["variants"][0]["optionValues"] == [
        {"optionName": "Colour", "name": "Navy"},
        {"optionName": "Size", "name": "S"},
    ]


def test_a_style_with_fits_gets_a_third_option_and_a_known_product_is_updated_by_id() -> None:
    variables = mapper.product_set_variables(style(fit=True), currency="EUR", product_id="8001")
    assert [o["name"] for o in variables["input"]["productOptions"]] == ["Colour", "Size", "Fit"]
    assert variables["identifier"] == {"id": "gid://shopify/Product/8001"}


def test_a_discontinued_style_is_published_archived_and_one_without_a_price_is_not_published() -> None:
    assert mapper.product_set_variables(style(status="discontinued"), currency="EUR")["input"]["status"] == "ARCHIVED"
    with pytest.raises(UnpublishableStyle, match="USD"):
        mapper.product_set_variables(style(), currency="USD")


@pytest.mark.parametrize(
    ("gtin", "barcode"),
    [
        ("00012345678905", "012345678905"),
        ("05012345678900", "5012345678900"),
        ("15012345678907", "15012345678907"),
        (None, None),
    ],
)
def test_a_gtin_14_is_published_as_the_number_on_the_label(gtin: str | None, barcode: str | None) -> None:
    assert mapper.barcode_from_gtin(gtin) == barcode


def test_product_drift_names_each_mastered_field_shopify_shows_differently() -> None:
    report = mapper.ProductReport(
        "8001",
        "Navy overshirt",
        "ovs-001",
        "active",
        ("Colour", "Size"),
        (
            mapper.VariantReport("1", "11", "OVS-001-NVY-S", "012345678905", Decimal("49.00"), ("Navy", "S")),
            mapper.VariantReport("2", "12", "OVS-001-NVY-M", None, Decimal("39.00"), ("Navy", "M")),
            mapper.VariantReport("3", "13", "OVS-001-OLV-M", "999", Decimal("49.00"), ("Olive", "M")),
            mapper.VariantReport("4", "14", "ROGUE-1", None, Decimal("1.00"), ("Pink", "M")),
        ),
        None,
    )
    assert mapper.product_drift(report, style(), currency="EUR") == [
        FieldDrift("OVS-001-NVY-M", "price", "49.00", "39.00"),
        FieldDrift("OVS-001-OLV-M", "barcode", "5012345678900", "999"),
        FieldDrift("ROGUE-1", "variant", None, "ROGUE-1"),
    ]
