"""Reading a catalog CSV (one row per variant) into style drafts, with errors a merchandiser can fix.

Rows are grouped by ``style_code``; a style with any bad row is reported whole and not written, so a
half-loaded style never reaches the tills. The optional ``cost`` column is the variant's standard cost in the
base currency (what a receipt without a unit cost is valued at), checked as the API's ``variants[].cost``; an
empty cell leaves the variant's standard cost as it is.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from seamline.catalog.model import Style
from seamline.catalog.rules import StyleDraft, build_style
from seamline.domain.errors import InvalidInput
from seamline.domain.unit_cost import parse_unit_cost

REQUIRED_COLUMNS = ("style_code", "style_name", "size_scale", "colour_code", "size", "sku")
OPTIONAL_COLUMNS = (
    "season",
    "category",
    "colour_name",
    "fit",
    "gtin",
    "retail_price",
    "wholesale_price",
    "currency",
    "tax_class",
    "status",
    "cost",
)
_VARIANT_FIELD_TO_COLUMN = {
    "sku": "sku",
    "colour": "colour_code",
    "size": "size",
    "gtin": "gtin",
    "fit": "fit",
}
_STYLE_COLUMNS = (
    "style_name",
    "size_scale",
    "season",
    "category",
    "currency",
    "retail_price",
    "wholesale_price",
    "tax_class",
    "status",
)
_SHARED_COLUMNS = frozenset((*_STYLE_COLUMNS, "style_code", "colour_code", "colour_name", "size", "fit"))
_PRICE_COLUMNS = (("retail", "retail_price"), ("wholesale", "wholesale_price"))


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # the line number in the file, header being line 1
    column: str
    reason: str
    style: str | None = None


@dataclass
class ParsedCatalog:
    drafts: list[StyleDraft] = field(default_factory=list)  # each one passed build_style
    styles: list[Style] = field(default_factory=list)  # what build_style made of each draft, in the same order
    #: Each style's standard costs from the ``cost`` column (sku -> unit cost), in the same order as ``styles``.
    costs: list[dict[str, Decimal]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0
    rejected_styles: list[str] = field(default_factory=list)
    row_lines: dict[str, list[int]] = field(default_factory=dict)  # style -> file line of each variant row

    def locate(self, style: str, path: str, message: str) -> RowError:
        """Where in the file a field error of ``style`` belongs (for errors found later, at write time)."""
        lines = self.row_lines.get(style) or [0]
        match = re.match(r"variants\[(\d+)\]\.(\w+)", path)
        if match and int(match.group(1)) < len(lines):
            column = _VARIANT_FIELD_TO_COLUMN.get(match.group(2), match.group(2))
            return RowError(lines[int(match.group(1))], column, message, style)
        return RowError(lines[0], path, message, style)


def missing_columns(header: Iterable[str]) -> list[str]:
    present = set(header)
    return [c for c in REQUIRED_COLUMNS if c not in present]


@dataclass
class _Group:
    first: Mapping[str, str]
    rows: list[tuple[int, Mapping[str, str]]] = field(default_factory=list)


def parse_catalog_rows(rows: Iterable[tuple[int, Mapping[str, str]]]) -> ParsedCatalog:
    """``rows`` are (line number, row dict) pairs as ``csv.DictReader`` yields them."""
    result = ParsedCatalog()
    groups: dict[str, _Group] = {}
    for line, row in rows:
        result.rows += 1
        code = (row.get("style_code") or "").strip()
        if not code:
            result.errors.append(RowError(line, "style_code", "is empty"))
            continue
        groups.setdefault(code, _Group(first=row)).rows.append((line, _compact(row)))

    for code in list(groups):
        group = groups.pop(code)  # its rows are dropped once drafted: a 100k-row file is held once, not twice
        result.row_lines[code] = [line for line, _ in group.rows]
        errors = _check_group(code, group)
        if not errors:
            draft = _draft(code, group)
            try:
                result.styles.append(build_style(draft))
                result.drafts.append(draft)
                result.costs.append(_costs(group))
            except InvalidInput as exc:
                errors = [_locate(code, group, e.field, e.message) for e in exc.errors]
        if errors:
            result.errors.extend(errors)
            result.rejected_styles.append(code)
    return result


def _compact(row: Mapping[str, str]) -> dict[str, str]:
    """The row's columns, with the style-level values (repeated on every row of a style) shared rather than
    copied per row: a season's file is held in memory once while it is checked (issue 18: 100k rows)."""
    return {k: sys.intern(v) if k in _SHARED_COLUMNS and isinstance(v, str) else v for k, v in row.items()}


def _check_group(code: str, group: _Group) -> list[RowError]:
    """Row-level checks that build_style cannot attribute to a row: style columns must agree."""
    errors: list[RowError] = []
    for line, row in group.rows:
        # Style-level columns repeat on every row; a value changed on one row only would otherwise be dropped.
        for column in _STYLE_COLUMNS:
            if (row.get(column) or "").strip() != (group.first.get(column) or "").strip():
                errors.append(RowError(line, column, f"differs from the style's first row ({code})", code))
        for column in ("retail_price", "wholesale_price"):
            value = (row.get(column) or "").strip()
            if value and not re.fullmatch(r"\d+(\.\d+)?", value):
                errors.append(RowError(line, column, f"{value!r} is not a price such as 49.00", code))
        if (row.get("retail_price") or "").strip() and not (row.get("currency") or "").strip():
            errors.append(RowError(line, "currency", "is required when a price is given", code))
        cost = (row.get("cost") or "").strip()
        if cost:
            try:
                parse_unit_cost(cost, "cost")
            except InvalidInput as exc:
                errors.extend(RowError(line, "cost", f"{cost!r} {e.message}", code) for e in exc.errors)
    return errors


def _costs(group: _Group) -> dict[str, Decimal]:
    """The standard costs a checked style's rows give (a row with an empty ``cost`` gives none)."""
    out: dict[str, Decimal] = {}
    for _, row in group.rows:
        cost = (row.get("cost") or "").strip()
        if cost:
            out[(row.get("sku") or "").strip()] = parse_unit_cost(cost, "cost")
    return out


def _draft(code: str, group: _Group) -> StyleDraft:
    first = group.first
    colours: dict[str, str] = {}
    for _, row in group.rows:
        colour = (row.get("colour_code") or "").strip()
        colours.setdefault(colour, (row.get("colour_name") or "").strip() or colour)
    currency = (first.get("currency") or "").strip()
    prices = []
    for list_name, column in _PRICE_COLUMNS:
        amount = (first.get(column) or "").strip()
        if amount:
            prices.append({"list": list_name, "currency": currency, "amount": amount})
    fits = sorted({(row.get("fit") or "").strip() for _, row in group.rows} - {""})
    return StyleDraft(
        code=code,
        name=(first.get("style_name") or "").strip(),
        season=(first.get("season") or "").strip() or None,
        category=(first.get("category") or "").strip() or None,
        size_scale=[s.strip() for s in (first.get("size_scale") or "").split("|") if s.strip()],
        colours=[{"code": c, "name": n} for c, n in colours.items()],
        variants=[
            {
                "sku": (row.get("sku") or "").strip(),
                "colour": (row.get("colour_code") or "").strip(),
                "size": (row.get("size") or "").strip(),
                "fit": (row.get("fit") or "").strip() or None,
                "gtin": (row.get("gtin") or "").strip() or None,
            }
            for _, row in group.rows
        ],
        prices=prices,
        fits=fits,
        tax_class=(first.get("tax_class") or "").strip() or None,
        status=(first.get("status") or "").strip() or "active",
    )


def _locate(code: str, group: _Group, path: str, message: str) -> RowError:
    """Map a build_style field path (``variants[3].gtin``) back to the file's row and column."""
    match = re.match(r"variants\[(\d+)\]\.(\w+)", path)
    if match:
        line, _ = group.rows[int(match.group(1))]
        return RowError(line, _VARIANT_FIELD_TO_COLUMN.get(match.group(2), match.group(2)), message, code)
    colour = re.match(r"colours\[(\d+)\]", path)
    if colour:
        # colours[i] is the i-th distinct colour_code in file order (see _draft): point at its first row.
        firsts: dict[str, int] = {}
        for line, row in group.rows:
            firsts.setdefault((row.get("colour_code") or "").strip(), line)
        lines = list(firsts.values())
        index = int(colour.group(1))
        return RowError(lines[index] if index < len(lines) else group.rows[0][0], "colour_code", message, code)
    price = re.match(r"prices\[(\d+)\]", path)
    if price:
        # prices[i] is the i-th price column that has a value, in _PRICE_COLUMNS order (see _draft).
        given = [column for _, column in _PRICE_COLUMNS if (group.first.get(column) or "").strip()]
        index = int(price.group(1))
        column = "currency" if path.endswith("currency") else given[index] if index < len(given) else "retail_price"
        return RowError(group.rows[0][0], column, message, code)
    column = {"code": "style_code", "name": "style_name", "variants": "sku"}.get(path, path)
    return RowError(group.rows[0][0], column, message, code)
