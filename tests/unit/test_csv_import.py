"""Catalog CSV rows become style drafts; every error points at a file line and column a merchandiser can fix."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from seamline.catalog import build_style
from seamline.catalog.csv_import import ParsedCatalog, RowError, missing_columns, parse_catalog_rows

GTINS = ["5000000001002", "5000000001019", "5000000001026", "5000000001033", "5000000001040", "5000000001057"]


def row(style: str = "OVS-001", colour: str = "NVY", size: str = "S", **columns: str) -> dict[str, str]:
    out = {
        "style_code": style,
        "style_name": "Navy overshirt",
        "season": "SS27",
        "category": "shirts",
        "size_scale": "S|M|L",
        "colour_code": colour,
        "colour_name": {"NVY": "Navy", "OLV": "Olive"}.get(colour, colour),
        "size": size,
        "sku": f"{style}-{colour}-{size}",
        "fit": "",
        "gtin": "",
        "retail_price": "89.00",
        "wholesale_price": "38.00",
        "currency": "EUR",
        "tax_class": "standard",
        "status": "active",
    }
    out.update(columns)
    return out


def numbered(*rows: Mapping[str, str]) -> list[tuple[int, Mapping[str, str]]]:
    """Rows as csv.DictReader yields them: the header is line 1, so data starts on line 2."""
    return list(enumerate(rows, start=2))


def errors_of(parsed: ParsedCatalog) -> list[tuple[int, str, str | None]]:
    return [(e.row, e.column, e.style) for e in parsed.errors]


def test_rows_are_grouped_into_one_draft_per_style_in_file_order() -> None:
    parsed = parse_catalog_rows(
        numbered(
            row("OVS-001", "NVY", "S", gtin=GTINS[0]),
            row("TEE-001", "WHT", "M", style_name="Tee", size_scale="M"),
            row("OVS-001", "NVY", "M", gtin=GTINS[1]),
            row("OVS-001", "OLV", "S"),
        )
    )
    assert parsed.errors == []
    assert parsed.rows == 4
    assert [d.code for d in parsed.drafts] == ["OVS-001", "TEE-001"]
    overshirt = parsed.drafts[0]
    assert [v["sku"] for v in overshirt.variants] == ["OVS-001-NVY-S", "OVS-001-NVY-M", "OVS-001-OLV-S"]
    assert overshirt.colours == [{"code": "NVY", "name": "Navy"}, {"code": "OLV", "name": "Olive"}]
    assert overshirt.size_scale == ["S", "M", "L"]
    assert overshirt.prices == [
        {"list": "retail", "currency": "EUR", "amount": "89.00"},
        {"list": "wholesale", "currency": "EUR", "amount": "38.00"},
    ]
    assert (overshirt.season, overshirt.category, overshirt.tax_class, overshirt.status) == (
        "SS27",
        "shirts",
        "standard",
        "active",
    )
    assert parsed.row_lines == {"OVS-001": [2, 4, 5], "TEE-001": [3]}
    style = build_style(overshirt)
    assert style.variant("OVS-001-NVY-S") is not None
    assert style.variant("OVS-001-NVY-S").gtin == "0" + GTINS[0]  # type: ignore[union-attr]


def test_optional_columns_left_empty_become_none_and_status_defaults_to_active() -> None:
    parsed = parse_catalog_rows(
        numbered(row(season="", category="", tax_class="", status="", retail_price="", wholesale_price="", currency=""))
    )
    assert parsed.errors == []
    d = parsed.drafts[0]
    assert (d.season, d.category, d.tax_class, d.status, d.prices) == (None, None, None, "active", [])
    assert d.variants[0]["gtin"] is None
    assert d.variants[0]["fit"] is None


def test_colour_name_falls_back_to_the_colour_code() -> None:
    parsed = parse_catalog_rows(numbered(row(colour_name="")))
    assert parsed.drafts[0].colours == [{"code": "NVY", "name": "NVY"}]


def test_fits_are_collected_from_the_rows() -> None:
    parsed = parse_catalog_rows(numbered(row(size="S", fit="slim"), row(size="S", fit="regular", sku="X-REG")))
    assert parsed.errors == []
    assert parsed.drafts[0].fits == ["regular", "slim"]


def test_cells_are_trimmed_of_surrounding_whitespace() -> None:
    parsed = parse_catalog_rows(numbered(row(sku="  OVS-001-NVY-S ", size_scale=" S | M ", size=" S")))
    assert parsed.errors == []
    assert parsed.drafts[0].variants[0]["sku"] == "OVS-001-NVY-S"
    assert parsed.drafts[0].size_scale == ["S", "M"]


def test_row_without_style_code_is_reported_at_its_line_and_skipped() -> None:
    parsed = parse_catalog_rows(numbered(row(), row(style=" "), row(size="M")))
    assert [(e.row, e.column, e.reason) for e in parsed.errors] == [(3, "style_code", "is empty")]
    assert [d.code for d in parsed.drafts] == ["OVS-001"]
    assert parsed.rows == 3


def test_a_style_with_one_bad_row_is_rejected_whole_and_other_styles_still_parse() -> None:
    parsed = parse_catalog_rows(
        numbered(
            row("OVS-001", size="S"),
            row("TEE-001", "WHT", "M", style_name="Tee", size_scale="M"),
            row("OVS-001", size="XXL"),  # line 4: not in the scale
            row("OVS-001", size="M"),
        )
    )
    assert [d.code for d in parsed.drafts] == ["TEE-001"]
    assert parsed.rejected_styles == ["OVS-001"]
    assert len(parsed.errors) == 1
    error = parsed.errors[0]
    assert (error.row, error.column, error.style) == (4, "size", "OVS-001")
    assert "XXL" in error.reason


def test_bad_gtin_is_reported_at_its_row_and_the_gtin_column_with_the_expected_check_digit() -> None:
    parsed = parse_catalog_rows(numbered(row(size="S"), row(size="M", gtin="5000000001003")))
    assert parsed.errors == [
        RowError(3, "gtin", "check digit of 5000000001003 is wrong (expected 2)", "OVS-001"),
    ]


def test_duplicate_gtin_in_one_style_is_reported_at_the_second_row() -> None:
    parsed = parse_catalog_rows(numbered(row(size="S", gtin=GTINS[0]), row(size="M"), row(size="L", gtin=GTINS[0])))
    assert errors_of(parsed) == [(4, "gtin", "OVS-001")]
    assert "already used by SKU OVS-001-NVY-S" in parsed.errors[0].reason


def test_duplicate_sku_is_reported_at_the_second_row_in_the_sku_column() -> None:
    parsed = parse_catalog_rows(numbered(row(size="S"), row(size="M", sku="OVS-001-NVY-S")))
    assert errors_of(parsed) == [(3, "sku", "OVS-001")]


def test_bad_colour_code_is_reported_at_the_first_row_using_that_colour() -> None:
    parsed = parse_catalog_rows(numbered(row(size="S"), row(size="M"), row(size="L", colour="bad colour")))
    assert (4, "colour_code", "OVS-001") in errors_of(parsed)
    assert {e.row for e in parsed.errors} == {4}, "rows 2 and 3 are fine and are not blamed"


def test_style_columns_that_differ_from_the_first_row_are_reported_at_the_differing_row() -> None:
    parsed = parse_catalog_rows(
        numbered(row(size="S"), row(size="M", style_name="Olive overshirt"), row(size="L", season="AW27"))
    )
    assert errors_of(parsed) == [(3, "style_name", "OVS-001"), (4, "season", "OVS-001")]
    assert parsed.errors[0].reason == "differs from the style's first row (OVS-001)"
    assert parsed.drafts == []


@pytest.mark.parametrize("column", ["retail_price", "wholesale_price", "tax_class", "status"])
def test_a_style_level_value_changed_on_one_row_only_is_reported_not_silently_dropped(column: str) -> None:
    other = {"retail_price": "79.00", "wholesale_price": "30.00", "tax_class": "reduced", "status": "draft"}[column]
    parsed = parse_catalog_rows(numbered(row(size="S"), row(size="M"), row(size="L", **{column: other})))
    assert errors_of(parsed) == [(4, column, "OVS-001")]
    assert parsed.rejected_styles == ["OVS-001"]


@pytest.mark.parametrize("price", ["49,00", "-1.00", "€49", "49.00 EUR", "abc"])
def test_price_that_is_not_a_plain_decimal_is_reported_at_its_row_and_column(price: str) -> None:
    parsed = parse_catalog_rows(numbered(row(wholesale_price=price)))
    assert errors_of(parsed) == [(2, "wholesale_price", "OVS-001")]
    assert repr(price) in parsed.errors[0].reason


def test_price_without_currency_is_reported_on_the_currency_column() -> None:
    parsed = parse_catalog_rows(numbered(row(currency="")))
    assert errors_of(parsed) == [(2, "currency", "OVS-001")]
    assert parsed.errors[0].reason == "is required when a price is given"


def test_wholesale_price_without_currency_is_reported_on_the_currency_column() -> None:
    parsed = parse_catalog_rows(numbered(row(retail_price="", currency="")))
    assert errors_of(parsed) == [(2, "currency", "OVS-001")]


def test_price_with_too_many_decimals_for_its_currency_is_reported_on_its_own_column() -> None:
    retail_bad = parse_catalog_rows(numbered(row(currency="JPY", retail_price="14900.50", wholesale_price="6000")))
    assert errors_of(retail_bad) == [(2, "retail_price", "OVS-001")]
    wholesale_bad = parse_catalog_rows(numbered(row(currency="JPY", retail_price="14900", wholesale_price="6000.5")))
    assert errors_of(wholesale_bad) == [(2, "wholesale_price", "OVS-001")]
    assert wholesale_bad.errors[0].reason == "JPY has 0 decimal places at most"


def test_wholesale_only_price_error_points_at_the_wholesale_column() -> None:
    parsed = parse_catalog_rows(numbered(row(currency="JPY", retail_price="", wholesale_price="6000.5")))
    assert errors_of(parsed) == [(2, "wholesale_price", "OVS-001")]


def test_unknown_status_is_reported_on_the_status_column() -> None:
    parsed = parse_catalog_rows(numbered(row(status="archived")))
    assert errors_of(parsed) == [(2, "status", "OVS-001")]


def test_bad_style_code_is_reported_on_the_style_code_column() -> None:
    parsed = parse_catalog_rows(numbered(row(style="-bad code")))
    assert (2, "style_code", "-bad code") in errors_of(parsed)
    assert parsed.rejected_styles == ["-bad code"]


def test_every_bad_row_of_a_style_is_reported_while_a_new_colour_code_just_adds_a_colour() -> None:
    parsed = parse_catalog_rows(numbered(row(size="S", gtin="123"), row(size="XXL"), row(size="M", colour="RED")))
    assert errors_of(parsed) == [(2, "gtin", "OVS-001"), (3, "size", "OVS-001")]
    assert parsed.rejected_styles == ["OVS-001"]


# ------------------------------------------------------------------------------------------- locate / header


def parsed_overshirt() -> ParsedCatalog:
    return parse_catalog_rows(numbered(row("TEE-001", "WHT", "M", size_scale="M"), row(size="S"), row(size="M")))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("variants[0].gtin", (3, "gtin")),
        ("variants[1].gtin", (4, "gtin")),
        ("variants[1].sku", (4, "sku")),
        ("variants[0].colour", (3, "colour_code")),
        ("name", (3, "name")),
    ],
)
def test_locate_maps_a_write_time_field_path_back_to_its_file_line_and_column(
    path: str, expected: tuple[int, str]
) -> None:
    error = parsed_overshirt().locate("OVS-001", path, "GTIN already used")
    assert (error.row, error.column) == expected
    assert (error.reason, error.style) == ("GTIN already used", "OVS-001")


def test_locate_with_an_index_beyond_the_rows_falls_back_to_the_styles_first_row() -> None:
    error = parsed_overshirt().locate("OVS-001", "variants[9].gtin", "boom")
    assert (error.row, error.column) == (3, "variants[9].gtin")


def test_locate_for_an_unknown_style_answers_line_zero_rather_than_guessing() -> None:
    assert parsed_overshirt().locate("NOPE", "variants[0].gtin", "x").row == 0


def test_missing_required_columns_are_listed_in_the_documented_order() -> None:
    assert missing_columns(["sku", "style_code", "colour_code"]) == ["style_name", "size_scale", "size"]
    assert missing_columns(list(row())) == []


def test_no_rows_parse_to_an_empty_catalog() -> None:
    parsed = parse_catalog_rows([])
    assert (parsed.rows, parsed.drafts, parsed.errors, parsed.rejected_styles) == (0, [], [], [])
