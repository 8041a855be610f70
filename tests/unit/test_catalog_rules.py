"""build_style is the only door into the product master: every rule names the field that broke it."""

from __future__ import annotations

import copy
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from seamline.catalog import (
    Colour,
    Prepack,
    PrepackComponent,
    Price,
    Style,
    StyleDraft,
    Variant,
    build_style,
    same_definition,
)
from seamline.domain import InvalidInput

GTINS = {
    ("NVY", "S"): "4006381333931",
    ("NVY", "M"): "5012345678900",
    ("OLV", "S"): "4000000000006",
    ("OLV", "M"): "4000000000013",
}


def draft(**changes: Any) -> StyleDraft:
    """A valid two-colour, two-size overshirt with a prepack and retail/wholesale EUR prices."""
    base: dict[str, Any] = {
        "code": "OVS-001",
        "name": "Navy overshirt",
        "season": "SS27",
        "category": "shirts",
        "size_scale": ["S", "M"],
        "colours": [{"code": "NVY", "name": "Navy"}, {"code": "OLV", "name": "Olive"}],
        "variants": [
            {"sku": f"OVS-001-{c}-{s}", "colour": c, "size": s, "gtin": GTINS[(c, s)]}
            for c in ("NVY", "OLV")
            for s in ("S", "M")
        ],
        "prepacks": [
            {
                "sku": "OVS-001-NVY-PACK",
                "gtin": "4000000000068",
                "components": [{"sku": "OVS-001-NVY-S", "units": 1}, {"sku": "OVS-001-NVY-M", "units": 2}],
            }
        ],
        "prices": [
            {"list": "retail", "currency": "EUR", "amount": "89.00"},
            {"list": "wholesale", "currency": "EUR", "amount": "38"},
        ],
    }
    base.update(copy.deepcopy(changes))
    return StyleDraft(**base)


def rejected(d: StyleDraft) -> dict[str, str]:
    with pytest.raises(InvalidInput) as exc:
        build_style(d)
    assert exc.value.detail == f"style {d.code} is not valid"
    return {e.field: e.message for e in exc.value.errors}


def variants_with(index: int, **fields: Any) -> list[dict[str, Any]]:
    variants = copy.deepcopy(draft().variants)
    variants[index].update(fields)
    return variants


# -------------------------------------------------------------------------------------------- a valid style


def test_valid_draft_becomes_a_style_with_gtin14s_and_quantized_prices() -> None:
    style = build_style(draft())
    assert style.code == "OVS-001"
    assert style.size_scale == ("S", "M")
    assert style.colours == (Colour("NVY", "Navy"), Colour("OLV", "Olive"))
    assert style.variant("OVS-001-NVY-S") == Variant("OVS-001-NVY-S", "NVY", "S", "04006381333931")
    assert all(v.gtin is not None and len(v.gtin) == 14 for v in style.variants)
    assert style.prices == (Price("retail", "EUR", Decimal("89.00")), Price("wholesale", "EUR", Decimal("38.00")))
    assert style.prepacks == (
        Prepack(
            "OVS-001-NVY-PACK",
            "04000000000068",
            (PrepackComponent("OVS-001-NVY-S", 1), PrepackComponent("OVS-001-NVY-M", 2)),
        ),
    )
    assert style.prepacks[0].units == 3
    assert style.status == "active"
    assert style.version == 0, "a built style has no version until storage gives it one"


def test_variant_lookup_by_unknown_sku_answers_none() -> None:
    assert build_style(draft()).variant("NOPE") is None


def test_colour_without_a_name_is_named_by_its_code() -> None:
    style = build_style(draft(colours=[{"code": "NVY"}, {"code": "OLV", "name": "Olive"}]))
    assert style.colours[0] == Colour("NVY", "NVY")


def test_style_name_is_trimmed() -> None:
    assert build_style(draft(name="  Navy overshirt ")).name == "Navy overshirt"


def test_variant_without_gtin_is_allowed_and_stored_without_one() -> None:
    style = build_style(draft(variants=variants_with(0, gtin=""), prepacks=[]))
    assert style.variants[0].gtin is None


# --------------------------------------------------------------------------------------- style-level rules


@pytest.mark.parametrize("code", ["", "-OVS", "OVS 001", "O" * 65, "ÖVS"])
def test_bad_style_code_is_rejected(code: str) -> None:
    assert "code" in rejected(draft(code=code))


@pytest.mark.parametrize("name", ["", "   "])
def test_blank_style_name_is_rejected(name: str) -> None:
    assert rejected(draft(name=name)) == {"name": "is required"}


@pytest.mark.parametrize("status", ["active", "draft", "discontinued"])
def test_each_known_status_is_accepted(status: str) -> None:
    assert build_style(draft(status=status)).status == status


def test_unknown_status_is_rejected_listing_the_allowed_ones() -> None:
    assert rejected(draft(status="archived")) == {"status": "must be one of active, draft, discontinued"}


def test_empty_size_scale_is_rejected() -> None:
    errors = rejected(draft(size_scale=[], variants=[], prepacks=[]))
    assert errors == {"size_scale": "needs at least one size"}


def test_size_scale_listing_a_size_twice_is_rejected() -> None:
    assert rejected(draft(size_scale=["S", "M", "S"])) == {"size_scale": "lists a size twice"}


def test_colour_listed_twice_is_rejected_at_the_second_listing() -> None:
    errors = rejected(draft(colours=[{"code": "NVY"}, {"code": "OLV"}, {"code": "NVY"}]))
    assert errors == {"colours[2].code": "colour NVY is listed twice"}


def test_bad_colour_code_is_rejected() -> None:
    errors = rejected(draft(colours=[{"code": "NVY"}, {"code": "OLV"}, {"code": "bad colour"}]))
    assert errors == {"colours[2].code": "must be a short code such as NVY"}


# ------------------------------------------------------------------------------------- variant-level rules


def test_variant_with_size_outside_the_scale_is_rejected_at_its_index() -> None:
    errors = rejected(draft(variants=variants_with(2, size="XXL"), prepacks=[]))
    assert errors == {"variants[2].size": "size 'XXL' is not in the size scale ['S', 'M']"}


def test_variant_without_size_is_rejected() -> None:
    variants = variants_with(1)
    del variants[1]["size"]
    assert set(rejected(draft(variants=variants, prepacks=[]))) == {"variants[1].size"}


def test_variant_with_colour_not_in_the_style_is_rejected_at_its_index() -> None:
    errors = rejected(draft(variants=variants_with(3, colour="RED"), prepacks=[]))
    assert errors == {"variants[3].colour": "colour 'RED' is not one of the style's colours"}


def test_duplicate_sku_is_rejected_at_its_second_occurrence() -> None:
    errors = rejected(draft(variants=variants_with(2, sku="OVS-001-NVY-S"), prepacks=[]))
    assert errors == {"variants[2].sku": "SKU OVS-001-NVY-S is listed twice"}


def test_bad_sku_code_is_rejected() -> None:
    errors = rejected(draft(variants=variants_with(0, sku="has space"), prepacks=[]))
    assert errors == {"variants[0].sku": "must be 1-64 letters, digits or . _ - /"}


def test_duplicate_gtin_within_a_style_is_rejected_naming_the_first_owner() -> None:
    errors = rejected(draft(variants=variants_with(3, gtin="4006381333931"), prepacks=[]))
    assert errors == {"variants[3].gtin": "GTIN 04006381333931 is already used by SKU OVS-001-NVY-S"}


def test_the_same_gtin_as_upc_and_ean13_counts_as_a_duplicate() -> None:
    variants = variants_with(0, gtin="036000291452")
    variants[1]["gtin"] = "0036000291452"
    errors = rejected(draft(variants=variants, prepacks=[]))
    assert errors == {"variants[1].gtin": "GTIN 00036000291452 is already used by SKU OVS-001-NVY-S"}


def test_variant_gtin_with_wrong_check_digit_is_rejected_with_expected_digit() -> None:
    errors = rejected(draft(variants=variants_with(1, gtin="5012345678901"), prepacks=[]))
    assert errors == {"variants[1].gtin": "check digit of 5012345678901 is wrong (expected 0)"}


def test_two_variants_with_the_same_colour_size_and_fit_are_rejected() -> None:
    errors = rejected(draft(variants=variants_with(1, size="S"), prepacks=[]))
    assert errors == {"variants": "two variants share the same colour, size and fit"}


def test_fit_not_declared_on_the_style_is_rejected() -> None:
    errors = rejected(draft(variants=variants_with(0, fit="slim"), prepacks=[], fits=["regular"]))
    assert errors == {"variants[0].fit": "fit 'slim' is not one of the style's fits ['regular']"}


def test_same_colour_and_size_in_two_declared_fits_are_distinct_variants() -> None:
    variants = [
        {"sku": "J-30-SLIM", "colour": "NVY", "size": "S", "fit": "slim"},
        {"sku": "J-30-REG", "colour": "NVY", "size": "S", "fit": "regular"},
    ]
    style = build_style(draft(variants=variants, prepacks=[], fits=["slim", "regular"]))
    assert [v.fit for v in style.variants] == ["slim", "regular"]


def test_every_broken_variant_is_reported_not_just_the_first() -> None:
    variants = variants_with(0, size="XXL")
    variants[3]["colour"] = "RED"
    assert set(rejected(draft(variants=variants, prepacks=[]))) == {"variants[0].size", "variants[3].colour"}


# ------------------------------------------------------------------------------------- prepack-level rules


def prepack(**fields: Any) -> list[dict[str, Any]]:
    pack = copy.deepcopy(draft().prepacks[0])
    pack.update(fields)
    return [pack]


def test_prepack_component_that_is_not_a_variant_of_the_style_is_rejected() -> None:
    components = [{"sku": "OVS-001-NVY-S", "units": 1}, {"sku": "TEE-001-WHT-M", "units": 2}]
    errors = rejected(draft(prepacks=prepack(components=components)))
    assert errors == {"prepacks[0].components[1].sku": "'TEE-001-WHT-M' is not a variant of this style"}


@pytest.mark.parametrize("units", [0, -1, 1.5, "2", True, None])
def test_prepack_component_units_must_be_a_whole_number_above_zero(units: object) -> None:
    components = [{"sku": "OVS-001-NVY-S", "units": 1}, {"sku": "OVS-001-NVY-M", "units": units}]
    errors = rejected(draft(prepacks=prepack(components=components)))
    assert errors == {"prepacks[0].components[1].units": "must be a whole number greater than 0"}


def test_prepack_without_components_is_rejected() -> None:
    errors = rejected(draft(prepacks=prepack(components=[])))
    assert errors == {"prepacks[0].components": "a prepack needs at least one component"}


def test_prepack_whose_sku_is_a_variant_sku_is_rejected() -> None:
    errors = rejected(draft(prepacks=prepack(sku="OVS-001-NVY-S")))
    assert errors == {"prepacks[0].sku": "must be a new SKU code"}


def test_prepack_gtin_already_on_a_variant_is_rejected() -> None:
    errors = rejected(draft(prepacks=prepack(gtin="4006381333931")))
    assert errors == {"prepacks[0].gtin": "GTIN 04006381333931 is already used by SKU OVS-001-NVY-S"}


def test_prepack_gtin_with_wrong_check_digit_is_rejected() -> None:
    errors = rejected(draft(prepacks=prepack(gtin="4000000000069")))
    assert errors == {"prepacks[0].gtin": "check digit of 4000000000069 is wrong (expected 8)"}


# --------------------------------------------------------------------------------------------- price rules


def test_each_list_may_have_one_price_per_currency() -> None:
    prices = [
        {"list": "retail", "currency": "EUR", "amount": "89.00"},
        {"list": "retail", "currency": "GBP", "amount": "79.00"},
        {"list": "retail", "currency": "JPY", "amount": "14900"},
    ]
    style = build_style(draft(prices=prices))
    assert {(p.list, p.currency): p.amount for p in style.prices} == {
        ("retail", "EUR"): Decimal("89.00"),
        ("retail", "GBP"): Decimal("79.00"),
        ("retail", "JPY"): Decimal("14900"),
    }


def test_two_prices_for_the_same_list_and_currency_are_rejected() -> None:
    prices = [
        {"list": "retail", "currency": "EUR", "amount": "89.00"},
        {"list": "retail", "currency": "EUR", "amount": "79.00"},
    ]
    assert rejected(draft(prices=prices)) == {"prices[1]": "two retail prices in EUR"}


def test_negative_price_is_rejected() -> None:
    prices = [{"list": "retail", "currency": "EUR", "amount": "-1.00"}]
    assert rejected(draft(prices=prices)) == {"prices[0].amount": "must not be negative"}


def test_fractional_yen_price_is_rejected_at_its_amount() -> None:
    prices = [{"list": "retail", "currency": "JPY", "amount": "14900.5"}]
    assert rejected(draft(prices=prices)) == {"prices[0].amount": "JPY has 0 decimal places at most"}


def test_float_price_amount_is_rejected() -> None:
    prices = [{"list": "retail", "currency": "EUR", "amount": 89.0}]
    assert rejected(draft(prices=prices)) == {"prices[0].amount": 'must be a decimal string such as "49.00"'}


def test_bad_price_currency_is_reported_on_that_prices_currency_field() -> None:
    prices = [
        {"list": "retail", "currency": "EUR", "amount": "89.00"},
        {"list": "wholesale", "currency": "euro", "amount": "38.00"},
    ]
    assert rejected(draft(prices=prices)) == {"prices[1].currency": "must be an ISO 4217 code such as EUR"}


def test_custom_price_list_code_is_accepted_but_a_blank_one_is_not() -> None:
    custom = [{"list": "outlet-2027", "currency": "EUR", "amount": "49.00"}]
    assert build_style(draft(prices=custom)).prices[0].list == "outlet-2027"
    blank = [{"list": "", "currency": "EUR", "amount": "49.00"}]
    assert rejected(draft(prices=blank)) == {"prices[0].list": "must name a price list such as retail or wholesale"}


# ------------------------------------------------------------------------------------------ same_definition


def test_same_definition_ignores_version() -> None:
    style = build_style(draft())
    assert same_definition(style, replace(style, version=7))


def test_same_definition_sees_a_changed_price() -> None:
    style = build_style(draft())
    cheaper = build_style(draft(prices=[{"list": "retail", "currency": "EUR", "amount": "79.00"}]))
    assert not same_definition(style, cheaper)


def test_same_definition_sees_a_changed_gtin_name_or_status() -> None:
    style = build_style(draft())
    assert not same_definition(style, build_style(draft(variants=variants_with(0, gtin=""))))
    assert not same_definition(style, build_style(draft(name="Olive overshirt")))
    assert not same_definition(style, build_style(draft(status="discontinued")))


def test_same_definition_ignores_the_order_variants_prices_and_pack_components_arrive_in() -> None:
    # Storage returns variants in grid order, prices by (list, currency) and components by SKU; a re-import
    # listing them in another order defines the same style and must not bump its version.
    original = draft()
    shuffled = draft(
        variants=list(reversed(original.variants)),
        prices=list(reversed(original.prices)),
        prepacks=prepack(components=list(reversed(original.prepacks[0]["components"]))),
    )
    assert same_definition(build_style(original), build_style(shuffled))


def test_same_definition_sees_a_reordered_size_scale_or_colours() -> None:
    original = draft()
    assert not same_definition(build_style(original), build_style(draft(size_scale=["M", "S"])))
    assert not same_definition(build_style(original), build_style(draft(colours=list(reversed(original.colours)))))


# ---------------------------------------------------------------------------------------- grid order


def test_sorted_variants_follow_colour_order_then_size_scale_order() -> None:
    scale = ("XS", "S", "M", "L", "XL")
    style = Style(
        code="T",
        name="Tee",
        season=None,
        category=None,
        size_scale=scale,
        colours=(Colour("WHT", "White"), Colour("BLK", "Black")),
        variants=(
            Variant("T-BLK-XS", "BLK", "XS"),
            Variant("T-WHT-XL", "WHT", "XL"),
            Variant("T-WHT-S", "WHT", "S"),
            Variant("T-BLK-L", "BLK", "L"),
            Variant("T-WHT-M", "WHT", "M"),
        ),
    )
    assert [v.sku for v in style.sorted_variants()] == ["T-WHT-S", "T-WHT-M", "T-WHT-XL", "T-BLK-XS", "T-BLK-L"]


def test_sorted_variants_use_scale_order_not_alphabetical_or_numeric_text_order() -> None:
    style = build_style(
        StyleDraft(
            code="J",
            name="Jeans",
            size_scale=["28", "30", "32", "100"],
            colours=[{"code": "IND"}],
            variants=[{"sku": f"J-{s}", "colour": "IND", "size": s} for s in ("100", "32", "28", "30")],
        )
    )
    assert [v.size for v in style.sorted_variants()] == ["28", "30", "32", "100"]


def test_sorted_variants_break_colour_and_size_ties_by_fit() -> None:
    style = build_style(
        draft(
            fits=["slim", "regular"],
            prepacks=[],
            variants=[
                {"sku": "A", "colour": "NVY", "size": "S", "fit": "slim"},
                {"sku": "B", "colour": "NVY", "size": "S", "fit": "regular"},
            ],
        )
    )
    assert [v.sku for v in style.sorted_variants()] == ["B", "A"]
