"""Mirakl listings from the product master (issue 21), as pure functions: a style's variants → rows of an OF01
offers file that also carries product information (``with_products``; the Seller API's OF01 "This file also
contains product information"), in the operator's own product model.

Each operator (Zalando, The Iconic, ...) defines its category tree (H11) and product attributes (PM11), so
what goes in which column is the channel's ``catalog`` setting:

- ``categories``: our style category → the operator's category code (a leaf of its H11 tree);
- ``attributes``: what we know → the operator's attribute code: ``category``, ``title``, ``description``,
  ``brand``, ``colour``, ``size``, ``gtin``, ``care``, ``composition``, ``variant_group`` (the style code,
  which groups the variants) and ``images`` (a list of codes, filled in the images' order);
- ``brand``, and ``price_list`` (``retail``): the consumer price the offer is listed at.

The words are the master's content as the channel shows it (``StyleContent.for_channel``: the channel's own
title and description where it has them). The offer columns are the NORMAL import's: ``sku``, ``product-id``
(the SKU, type ``SHOP_SKU``: the product in the same file), ``price``, ``quantity``, ``state`` (11, new),
``update-delete``.

**Never listed on a consumer marketplace**: prepacks (ratio packs are wholesale units) and wholesale-only
styles (no consumer price in the channel's currency). A style that cannot be listed yet (no category mapped,
no price) is reported per SKU with the reason, so a person sees why, and nothing of it is sent.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from seamline.catalog.model import Style

DELIMITER = ";"
OFFER_COLUMNS = ("sku", "product-id", "product-id-type", "price", "quantity", "state", "update-delete")
WORDS = ("category", "title", "description", "brand", "colour", "size", "gtin", "care", "composition", "variant_group")


@dataclass(frozen=True)
class CatalogMapping:
    categories: Mapping[str, str] = field(default_factory=dict)
    attributes: Mapping[str, str] = field(default_factory=dict)
    images: tuple[str, ...] = ()
    brand: str | None = None
    price_list: str = "retail"

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> CatalogMapping:
        raw = dict(settings or {})
        attributes = {str(k): str(v) for k, v in dict(raw.get("attributes") or {}).items() if k != "images"}
        images = tuple(str(code) for code in (dict(raw.get("attributes") or {}).get("images") or ()))
        return cls(
            categories={str(k): str(v) for k, v in dict(raw.get("categories") or {}).items()},
            attributes=attributes,
            images=images,
            brand=None if raw.get("brand") is None else str(raw["brand"]),
            price_list=str(raw.get("price_list") or "retail"),
        )

    def columns(self) -> list[str]:
        """The file's header: the offer columns, then every mapped attribute code."""
        codes = [self.attributes[w] for w in WORDS if w in self.attributes] + list(self.images)
        return [*OFFER_COLUMNS, *dict.fromkeys(codes)]

    def unmapped(self, required: Sequence[str]) -> list[str]:
        """The operator's required attribute codes (PM11) nothing of ours goes in."""
        mapped = {*self.attributes.values(), *self.images}
        return sorted(code for code in required if code not in mapped)


@dataclass(frozen=True)
class ProductRow:
    sku: str
    values: Mapping[str, str]
    price: Decimal
    qty: int


@dataclass(frozen=True)
class Skipped:
    """A SKU not listed, and why: ``never`` (a prepack, a wholesale-only style: never on a consumer
    marketplace) or a reason a person can fix (``problem``)."""

    sku: str
    reason: str
    never: bool = False


def _ean(gtin: str | None) -> str | None:
    """The master keeps GTIN-14; a marketplace's EAN attribute takes the 13 digits of a GTIN-13."""
    if gtin and len(gtin) == 14 and gtin.startswith("0"):
        return gtin[1:]
    return gtin


def _price(style: Style, price_list: str, currency: str) -> Decimal | None:
    return next((p.amount for p in style.prices if p.list == price_list and p.currency == currency), None)


def product_rows(
    style: Style,
    channel: str,
    mapping: CatalogMapping,
    *,
    currency: str,
    quantities: Mapping[str, int],
) -> tuple[list[ProductRow], list[Skipped]]:
    """The rows listing ``style``'s variants on ``channel``, and the SKUs left out with the reason."""
    skipped = [
        Skipped(pack.sku, "a prepack is a wholesale unit: never listed on a consumer marketplace", True)
        for pack in style.prepacks
    ]
    variants = style.sorted_variants()
    price = _price(style, mapping.price_list, currency)
    if price is None:
        reason = (
            f"wholesale-only: no {mapping.price_list} price in {currency}, so never listed on a consumer marketplace"
        )
        return [], skipped + [Skipped(v.sku, reason, True) for v in variants]
    if style.status != "active":
        return [], skipped + [Skipped(v.sku, f"the style is {style.status}") for v in variants]
    category = mapping.categories.get(style.category or "")
    if category is None:
        reason = (
            f"no operator category for our category {style.category!r}: map it in the channel's "
            "settings.catalog.categories"
        )
        return [], skipped + [Skipped(v.sku, reason) for v in variants]
    words = style.content.for_channel(channel, style.name)
    colours = {c.code: c.name for c in style.colours}
    images = [i.url for i in words.images]
    rows = []
    for variant in variants:
        known: dict[str, str | None] = {
            "category": category,
            "title": words.title,
            "description": words.description,
            "brand": mapping.brand,
            "colour": colours.get(variant.colour, variant.colour),
            "size": variant.size,
            "gtin": _ean(variant.gtin),
            "care": words.care,
            "composition": words.composition_text(),
            "variant_group": style.code,
        }
        values: dict[str, str] = {}
        for what, code in mapping.attributes.items():
            value = known.get(what)
            if value:
                values[code] = value
        for code, url in zip(mapping.images, images, strict=False):
            values[code] = url
        rows.append(ProductRow(variant.sku, values, price, max(0, int(quantities.get(variant.sku, 0)))))
    return rows, skipped


def products_csv(rows: Sequence[ProductRow], mapping: CatalogMapping) -> bytes:
    """The OF01 ``with_products`` file (NORMAL mode: each row the whole offer and its product)."""
    if not rows:
        raise ValueError("a products file needs at least one row")
    header = mapping.columns()
    out = io.StringIO()
    writer = csv.writer(out, delimiter=DELIMITER, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        offer = {
            "sku": row.sku,
            "product-id": row.sku,
            "product-id-type": "SHOP_SKU",
            "price": f"{row.price:.2f}",
            "quantity": str(row.qty),
            "state": "11",
            "update-delete": "update",
        }
        writer.writerow([offer.get(column, row.values.get(column, "")) for column in header])
    return out.getvalue().encode("utf-8")
