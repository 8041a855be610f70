"""Validation of a style definition: every rule names the field that broke it.

``build_style`` is the only way a StyleDraft becomes a Style, so an invalid style never reaches storage.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from seamline.catalog.content import build_content
from seamline.catalog.gtin import normalise_gtin
from seamline.catalog.model import Colour, Prepack, PrepackComponent, Price, Style, Variant
from seamline.domain.errors import FieldError, InvalidInput
from seamline.domain.money import Money

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/]{0,63}$")
STATUSES = ("active", "draft", "discontinued")


@dataclass
class StyleDraft:
    """Untrusted input, as a client or a CSV file sent it."""

    code: str
    name: str
    season: str | None = None
    category: str | None = None
    size_scale: list[str] = field(default_factory=list)
    colours: list[dict[str, Any]] = field(default_factory=list)
    variants: list[dict[str, Any]] = field(default_factory=list)
    prepacks: list[dict[str, Any]] = field(default_factory=list)
    prices: list[dict[str, Any]] = field(default_factory=list)
    fits: list[str] = field(default_factory=list)
    tax_class: str | None = None
    status: str = "active"
    attributes: dict[str, Any] = field(default_factory=dict)
    content: dict[str, Any] | None = None


def _code_ok(value: object) -> bool:
    return isinstance(value, str) and bool(CODE_RE.match(value))


def build_style(draft: StyleDraft) -> Style:
    errors: list[FieldError] = []

    def err(path: str, message: str) -> None:
        errors.append(FieldError(path, message))

    if not _code_ok(draft.code):
        err("code", "must be 1-64 letters, digits or . _ - /, starting with a letter or digit")
    if not draft.name or not draft.name.strip():
        err("name", "is required")
    if draft.status not in STATUSES:
        err("status", f"must be one of {', '.join(STATUSES)}")

    scale = [str(s) for s in draft.size_scale]
    if not scale:
        err("size_scale", "needs at least one size")
    if len(set(scale)) != len(scale):
        err("size_scale", "lists a size twice")
    fits = list(draft.fits)

    colours: list[Colour] = []
    for i, raw in enumerate(draft.colours):
        code, name = raw.get("code"), raw.get("name")
        if not _code_ok(code):
            err(f"colours[{i}].code", "must be a short code such as NVY")
            continue
        assert isinstance(code, str)
        if any(c.code == code for c in colours):
            err(f"colours[{i}].code", f"colour {code} is listed twice")
            continue
        colours.append(Colour(code, str(name or code)))
    colour_codes = {c.code for c in colours}

    variants: list[Variant] = []
    seen_gtins: dict[str, str] = {}
    seen_skus: set[str] = set()
    for i, raw in enumerate(draft.variants):
        path = f"variants[{i}]"
        sku, colour, size, fit = raw.get("sku"), raw.get("colour"), raw.get("size"), raw.get("fit")
        ok = True
        if not _code_ok(sku):
            err(f"{path}.sku", "must be 1-64 letters, digits or . _ - /")
            ok = False
        elif sku in seen_skus:
            err(f"{path}.sku", f"SKU {sku} is listed twice")
            ok = False
        if colour not in colour_codes:
            err(f"{path}.colour", f"colour {colour!r} is not one of the style's colours")
            ok = False
        if size is None or str(size) not in scale:
            err(f"{path}.size", f"size {size!r} is not in the size scale {scale}")
            ok = False
        if fit is not None and fit not in fits:
            err(f"{path}.fit", f"fit {fit!r} is not one of the style's fits {fits}")
            ok = False
        gtin: str | None = None
        raw_gtin = raw.get("gtin")
        if raw_gtin not in (None, ""):
            try:
                gtin = normalise_gtin(str(raw_gtin))
            except ValueError as exc:
                err(f"{path}.gtin", str(exc))
                ok = False
            else:
                if gtin in seen_gtins:
                    err(f"{path}.gtin", f"GTIN {gtin} is already used by SKU {seen_gtins[gtin]}")
                    ok = False
        if ok:
            assert isinstance(sku, str)
            assert isinstance(colour, str)
            seen_skus.add(sku)
            if gtin:
                seen_gtins[gtin] = sku
            variants.append(Variant(sku=sku, colour=colour, size=str(size), gtin=gtin, fit=fit))
    combos = [(v.colour, v.size, v.fit) for v in variants]
    if len(set(combos)) != len(combos):
        err("variants", "two variants share the same colour, size and fit")

    prepacks: list[Prepack] = []
    for i, raw in enumerate(draft.prepacks):
        path = f"prepacks[{i}]"
        sku = raw.get("sku")
        if not _code_ok(sku) or sku in seen_skus:
            err(f"{path}.sku", "must be a new SKU code")
            continue
        assert isinstance(sku, str)
        components: list[PrepackComponent] = []
        for j, comp in enumerate(raw.get("components") or []):
            units = comp.get("units")
            if comp.get("sku") not in seen_skus:
                err(f"{path}.components[{j}].sku", f"{comp.get('sku')!r} is not a variant of this style")
            elif isinstance(units, bool) or not isinstance(units, int) or units <= 0:
                err(f"{path}.components[{j}].units", "must be a whole number greater than 0")
            else:
                components.append(PrepackComponent(str(comp["sku"]), units))
        if not components:
            err(f"{path}.components", "a prepack needs at least one component")
            continue
        gtin = None
        if raw.get("gtin") not in (None, ""):
            try:
                gtin = normalise_gtin(str(raw["gtin"]))
            except ValueError as exc:
                err(f"{path}.gtin", str(exc))
                continue
            if gtin in seen_gtins:
                err(f"{path}.gtin", f"GTIN {gtin} is already used by SKU {seen_gtins[gtin]}")
                continue
            seen_gtins[gtin] = sku
        seen_skus.add(sku)
        prepacks.append(Prepack(sku, gtin, tuple(components)))

    prices: list[Price] = []
    for i, raw in enumerate(draft.prices):
        path = f"prices[{i}]"
        list_name = raw.get("list")
        if list_name not in ("retail", "wholesale", "sale", "employee") and not _code_ok(list_name):
            err(f"{path}.list", "must name a price list such as retail or wholesale")
            continue
        try:
            money = Money.parse(raw.get("amount"), str(raw.get("currency")), field=f"{path}.amount")
        except InvalidInput as exc:
            errors.extend(
                FieldError(e.field if e.field != "currency" else f"{path}.currency", e.message) for e in exc.errors
            )
            continue
        if money.amount < Decimal(0):
            err(f"{path}.amount", "must not be negative")
            continue
        if any(p.list == list_name and p.currency == money.currency for p in prices):
            err(f"{path}", f"two {list_name} prices in {money.currency}")
            continue
        prices.append(Price(str(list_name), money.currency, money.amount))

    content, content_errors = build_content(draft.content)
    errors.extend(content_errors)

    if errors:
        raise InvalidInput(f"style {draft.code} is not valid", errors)
    return Style(
        code=draft.code,
        name=draft.name.strip(),
        season=draft.season or None,
        category=draft.category or None,
        size_scale=tuple(scale),
        colours=tuple(colours),
        variants=tuple(variants),
        prepacks=tuple(prepacks),
        prices=tuple(prices),
        fits=tuple(fits),
        tax_class=draft.tax_class,
        status=draft.status,
        attributes=dict(draft.attributes),
        content=content,
    )


def catalog_clashes(
    style: Style, gtin_owners: Mapping[str, tuple[str, str]], sku_owners: Mapping[str, str]
) -> list[FieldError]:
    """What in ``style`` clashes with the rest of the catalog: a GTIN another style's SKU has, or a SKU of
    another style. ``gtin_owners`` maps GTIN -> (sku, style) and ``sku_owners`` SKU -> style, as stored.

    Within the style build_style has already refused duplicates, and saving frees the style's GTINs first,
    so only other styles can clash. Variants and prepacks alike: both are SKUs with a GTIN."""
    errors: list[FieldError] = []
    items = [("variants", i, v.sku, v.gtin) for i, v in enumerate(style.variants)] + [
        ("prepacks", i, p.sku, p.gtin) for i, p in enumerate(style.prepacks)
    ]
    for group, i, sku, gtin in items:
        owner = gtin_owners.get(gtin or "")
        if owner and owner[0] != sku and owner[1] != style.code:
            errors.append(FieldError(f"{group}[{i}].gtin", f"GTIN {gtin} is already used by SKU {owner[0]}"))
    for group, i, sku, _ in items:
        other = sku_owners.get(sku)
        if other and other != style.code:
            errors.append(FieldError(f"{group}[{i}].sku", f"SKU {sku} belongs to style {other}"))
    return errors


def style_codes_of(style: Style) -> tuple[list[str], list[str]]:
    """(SKUs, GTINs) a style claims, variants and prepacks alike."""
    skus = [v.sku for v in style.variants] + [p.sku for p in style.prepacks]
    gtins = [g for g in [v.gtin for v in style.variants] + [p.gtin for p in style.prepacks] if g]
    return skus, gtins


def same_definition(a: Style, b: Style) -> bool:
    """True when two styles differ only in version: a re-import that changes nothing bumps nothing.

    Order carries no meaning for variants (shown in grid order), prepacks, their components or prices, and
    storage gives them back in its own order, so they are compared in a canonical one.
    """
    return _canonical(a) == _canonical(b)


def _canonical(style: Style) -> Style:
    return replace(
        style,
        version=0,
        variants=tuple(style.sorted_variants()),
        prepacks=tuple(
            replace(p, components=tuple(sorted(p.components, key=lambda c: c.sku)))
            for p in sorted(style.prepacks, key=lambda p: p.sku)
        ),
        prices=tuple(sorted(style.prices, key=lambda p: (p.list, p.currency))),
    )
