"""`seamline import catalog FILE.csv` on SQLite and PostgreSQL: idempotent, and a bad row never half-loads a style."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from seamline.catalog.csv_import import RowError
from seamline.cli.catalog_import import ImportResult, import_catalog
from seamline.cli.main import app as cli
from seamline.domain import NotFound
from seamline.service import Seamline
from seamline.store.tables import standard_costs as standard_costs_table
from tests.conftest import ADMIN_TOKEN

DATA = Path(__file__).resolve().parent.parent / "data"
GOOD = DATA / "catalog_good.csv"
BAD = DATA / "catalog_bad.csv"
GTIN_CLASH = DATA / "catalog_gtin_clash.csv"
MISSING_COLUMNS = DATA / "catalog_missing_columns.csv"
GOOD_STYLES = ("OVS-001", "TEE-001", "JNS-001")


def versions(app: Seamline, codes: tuple[str, ...] = GOOD_STYLES) -> dict[str, int]:
    return {code: app.get_style(code).version for code in codes}


def with_tee_retail_price(tmp_path: Path, price: str) -> Path:
    """catalog_good.csv with TEE-001's retail price changed on every one of its rows."""
    with GOOD.open(newline="") as handle:
        reader = csv.DictReader(handle)
        fieldnames = list(reader.fieldnames or [])
        rows = list(reader)
    for row in rows:
        if row["style_code"] == "TEE-001":
            row["retail_price"] = price
    path = tmp_path / "catalog_price_change.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)
    return path


def assert_clean(result: ImportResult) -> None:
    assert result.errors == []
    assert result.rejected_styles == []


# ----------------------------------------------------------------------------------------- a good file


def test_import_creates_every_style_with_its_variants_gtins_and_prices(app: Seamline) -> None:
    result = import_catalog(app, GOOD)
    assert_clean(result)
    assert result.rows == 14
    assert dict(result.outcomes) == {"created": 3}
    assert versions(app) == {"OVS-001": 1, "TEE-001": 1, "JNS-001": 1}

    tee = app.get_style("TEE-001")
    assert tee.name == "Organic tee, white", "a quoted comma stays inside the cell"
    assert tee.size_scale == ("XS", "S", "M", "L")
    assert [(c.code, c.name) for c in tee.colours] == [("WHT", "White"), ("BLK", "Black")]
    assert {v.sku: v.gtin for v in tee.variants} == {
        "TEE-001-WHT-S": "05000000002009",
        "TEE-001-WHT-M": "05000000002016",
        "TEE-001-BLK-S": "05000000002023",
        "TEE-001-BLK-M": None,
    }
    assert {(p.list, p.currency, p.amount) for p in tee.prices} == {
        ("retail", "EUR", Decimal("25.00")),
        ("wholesale", "EUR", Decimal("10.00")),
    }
    assert (tee.season, tee.category, tee.tax_class, tee.status) == ("SS27", "tees", "reduced", "active")

    jeans = app.get_style("JNS-001")
    assert jeans.status == "draft"
    assert jeans.fits == ("regular", "slim")
    assert {(p.list, p.amount) for p in jeans.prices} == {("retail", Decimal("14900")), ("wholesale", Decimal("6000"))}
    assert [(v.size, v.fit) for v in jeans.sorted_variants()] == [
        ("30x32", "regular"),
        ("30x32", "slim"),
        ("32x32", "regular"),
        ("34x32", "slim"),
    ]

    sku = app.get_sku("OVS-001-OLV-L")
    assert (sku["style"]["code"], sku["colour"], sku["colour_name"], sku["size"], sku["gtin"]) == (
        "OVS-001",
        "OLV",
        "Olive",
        "L",
        "05000000001057",
    )


def test_reimporting_the_same_file_changes_nothing_and_keeps_versions(app: Seamline) -> None:
    assert_clean(import_catalog(app, GOOD))
    before = {code: app.get_style(code) for code in GOOD_STYLES}
    again = import_catalog(app, GOOD)
    assert_clean(again)
    assert dict(again.outcomes) == {"unchanged": 3}, "JNS-001's rows are not in grid order and still unchanged"
    assert {code: app.get_style(code) for code in GOOD_STYLES} == before


def test_changing_one_styles_price_bumps_only_that_styles_version(app: Seamline, tmp_path: Path) -> None:
    assert_clean(import_catalog(app, GOOD))
    result = import_catalog(app, with_tee_retail_price(tmp_path, "27.50"))
    assert_clean(result)
    assert dict(result.outcomes) == {"updated": 1, "unchanged": 2}
    assert versions(app) == {"OVS-001": 1, "TEE-001": 2, "JNS-001": 1}
    retail = {p.list: p.amount for p in app.get_style("TEE-001").prices}["retail"]
    assert retail == Decimal("27.50")


# ------------------------------------------------------------------------------------------ a bad file


BAD_FILE_ERRORS = [
    RowError(6, "style_code", "is empty"),
    RowError(4, "gtin", "check digit of 5000000004007 is wrong (expected 3)", "BAD-GTIN"),
    RowError(8, "size", "size 'XXL' is not in the size scale ['S', 'M']", "BAD-SIZE"),
    RowError(12, "gtin", "GTIN 05000000001002 is already used by SKU OVS-001-NVY-S", "CLASH-001"),
]


def test_bad_rows_are_reported_by_row_and_column_and_only_good_styles_are_written(app: Seamline) -> None:
    result = import_catalog(app, BAD)
    assert result.rows == 11
    assert result.errors == BAD_FILE_ERRORS
    assert result.rejected_styles == ["BAD-GTIN", "BAD-SIZE", "CLASH-001"]
    assert dict(result.outcomes) == {"created": 2}
    assert [v.sku for v in app.get_style("OVS-001").variants] == ["OVS-001-NVY-S", "OVS-001-NVY-M"]
    assert app.get_style("TEE-001").version == 1
    for code in ("BAD-GTIN", "BAD-SIZE", "CLASH-001"):
        with pytest.raises(NotFound):
            app.get_style(code)
    for sku in ("BAD-GTIN-WHT-M", "BAD-SIZE-KHK-S", "CLASH-001-SND-S", "ORPHAN-WHT-M"):
        with pytest.raises(NotFound):
            app.get_sku(sku)


def test_gtin_already_used_by_another_styles_sku_is_reported_at_the_right_row(app: Seamline) -> None:
    assert_clean(import_catalog(app, GOOD))
    result = import_catalog(app, GTIN_CLASH)
    assert result.errors == [
        RowError(3, "gtin", "GTIN 05000000001019 is already used by SKU OVS-001-NVY-M", "POLO-001"),
    ]
    assert result.rejected_styles == ["POLO-001"]
    assert not result.outcomes
    with pytest.raises(NotFound):
        app.get_style("POLO-001")
    assert app.get_sku("OVS-001-NVY-M")["gtin"] == "05000000001019", "the owner keeps its GTIN"


def test_missing_required_header_columns_are_reported_on_line_one_and_nothing_is_read(app: Seamline) -> None:
    result = import_catalog(app, MISSING_COLUMNS)
    assert result.errors == [RowError(1, "size_scale,sku", "required column(s) missing from the header")]
    assert result.rows == 0
    assert not result.outcomes
    with pytest.raises(NotFound):
        app.get_style("OVS-001")


def test_a_utf8_bom_before_the_header_does_not_hide_the_first_column(app: Seamline, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.read_bytes())
    assert_clean(import_catalog(app, path))
    assert app.get_style("OVS-001").version == 1


# -------------------------------------------------------------------------------------------------- CLI


def table_rows(text: str) -> list[tuple[str, str, str]]:
    """(row, column, style) of each error in the rich table, skipping the reason's wrapped lines."""
    out = []
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if len(cells) == 4 and cells[0]:
            out.append((cells[0], cells[1], cells[2]))
    return out


def test_cli_import_exits_zero_then_reports_unchanged_then_exits_one_on_bad_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"SEAMLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "SEAMLINE_ADMIN_TOKEN": ADMIN_TOKEN}
    runner = CliRunner()

    first = runner.invoke(cli, ["import", "catalog", str(GOOD)], env=env)
    assert first.exit_code == 0, first.output
    assert "14 rows: 3 styles created, 0 updated, 0 unchanged, 0 rejected" in first.stdout

    second = runner.invoke(cli, ["import", "catalog", str(GOOD)], env=env)
    assert second.exit_code == 0, second.output
    assert "0 styles created, 0 updated, 3 unchanged, 0 rejected" in second.stdout

    bad = runner.invoke(cli, ["import", "catalog", str(BAD)], env=env)
    assert bad.exit_code == 1, bad.output
    # The bad file lists fewer variants of OVS-001 and TEE-001, so those two are updated (the rest discontinued).
    assert "11 rows: 0 styles created, 2 updated, 0 unchanged, 3 rejected" in bad.stdout
    assert "Rows not imported" in bad.stderr
    assert table_rows(bad.stderr) == [(str(e.row), e.column, e.style or "") for e in BAD_FILE_ERRORS]
    assert "check digit of 5000000004007 is wrong" in bad.stderr


def test_cli_refuses_a_file_that_does_not_exist(tmp_path: Path) -> None:
    env = {"SEAMLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "SEAMLINE_ADMIN_TOKEN": ADMIN_TOKEN}
    result = CliRunner().invoke(cli, ["import", "catalog", str(tmp_path / "nope.csv")], env=env)
    assert result.exit_code == 2
    assert not (tmp_path / "cli.db").exists(), "nothing connected for a missing file"


# ------------------------------------------------------------------------------------- the cost column
def with_costs(tmp_path: Path, costs: dict[str, str], name: str = "catalog_costs.csv") -> Path:
    """catalog_good.csv with a ``cost`` column: each SKU's cost from ``costs`` (empty when not named)."""
    with GOOD.open(newline="") as handle:
        reader = csv.DictReader(handle)
        fieldnames = [*(reader.fieldnames or []), "cost"]
        rows = [{**row, "cost": costs.get(row["sku"], "")} for row in reader]
    path = tmp_path / name
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)
    return path


def standard_costs(app: Seamline) -> dict[str, tuple[Decimal, str]]:
    query = select(standard_costs_table)
    return app.read(lambda conn: {r.sku: (Decimal(str(r.unit_cost)), r.currency) for r in conn.execute(query)})


def test_the_cost_column_sets_each_variants_standard_cost_and_a_reimport_writes_nothing(
    app: Seamline, tmp_path: Path
) -> None:
    path = with_costs(tmp_path, {"OVS-001-NVY-S": "21.50", "OVS-001-NVY-M": "21.5", "TEE-001-WHT-S": "4.1250"})
    result = import_catalog(app, path)
    assert_clean(result)
    assert result.costs_set == 3
    assert standard_costs(app) == {
        "OVS-001-NVY-S": (Decimal("21.50"), "EUR"),
        "OVS-001-NVY-M": (Decimal("21.50"), "EUR"),
        "TEE-001-WHT-S": (Decimal("4.125"), "EUR"),
    }
    again = import_catalog(app, path)
    assert (dict(again.outcomes), again.costs_set) == ({"unchanged": 3}, 0)
    # A changed cost changes that variant only; the style itself is unchanged; an empty cell keeps a cost.
    changed = import_catalog(app, with_costs(tmp_path, {"OVS-001-NVY-S": "22.00"}, "changed.csv"))
    assert (dict(changed.outcomes), changed.costs_set) == ({"unchanged": 3}, 1)
    assert standard_costs(app)["OVS-001-NVY-S"] == (Decimal("22.00"), "EUR")
    assert standard_costs(app)["OVS-001-NVY-M"] == (Decimal("21.50"), "EUR")


@pytest.mark.parametrize(
    ("cost", "reason"),
    [
        ("-1", "'-1' must not be negative"),
        ("1.00001", "'1.00001' has more than 4 decimals"),
        ("abc", "'abc' is not a decimal number"),
        ("NaN", "'NaN' must be finite"),
        ("99999999999", "'99999999999' must be at most 9999999999.9999"),
    ],
)
def test_a_bad_cost_rejects_its_style_by_row_and_column_as_the_api_would(
    app: Seamline, tmp_path: Path, cost: str, reason: str
) -> None:
    result = import_catalog(app, with_costs(tmp_path, {"TEE-001-WHT-M": cost, "OVS-001-NVY-S": "20.00"}))
    [error] = result.errors
    assert (error.column, error.style, error.reason) == ("cost", "TEE-001", reason)
    assert result.rejected_styles == ["TEE-001"]
    assert dict(result.outcomes) == {"created": 2}
    assert result.costs_set == 1
    with pytest.raises(NotFound):
        app.get_style("TEE-001")
    assert set(standard_costs(app)) == {"OVS-001-NVY-S"}
