"""Our styles as Lightspeed Retail (X-Series) products. Pure: no HTTP, no database.

The contract (x-series-api.lightspeedhq.com, "Variants", "Creating Variants", "Updating Variants"):

- A style is one **variant family**: its products share the family's ``name`` ("the only way products can
  have the same name is if they are in the same variant family"; at most 200 variants a family), and each
  variant is told apart by its ``variant_definitions`` (``attribute_id`` of a variant attribute such as
  Colour or Size, and the ``value``). Variant attributes must exist first (``POST /api/2.0/variant_attributes``
  ``{"name": ...}``).
- A family is created with ``POST /api/2.0/products`` ``{"name", "variants": [{"sku", "variant_definitions",
  ...}]}``. The answer is a flat list of the new product ids in Lightspeed's own order (by attribute value,
  not the order sent, and not keyed by SKU), so ids are paired with SKUs by reading the family back
  (``GET /api/3.0/products/{id}``, any member's id) and matching on ``sku``: never by position.
- A product is updated with ``PUT /api/2.1/products/{id}``: ``common`` (name, description: every member of the
  family) and ``details`` (one product: its ``sku``, price, ``product_codes``). The update cannot create a
  variant.

Each variant carries its SKU, its barcode as a product code (``EAN`` for a GTIN-13 or a GTIN-14 with a leading
zero, ``UPC`` for 12 digits) and the price list's price in the channel's currency, sent as
``price_including_tax`` when the outlets' prices include tax (the retailer's tax setup; the channel setting
``tax_inclusive``, true by default) and as ``price_excluding_tax`` otherwise. One price per product is all a
till price needs; price books (customer-group or outlet prices) are not used.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from seamline.catalog.model import Style, Variant
from seamline.domain.money import minor_exponent

COLOUR, SIZE = "Colour", "Size"
#: "There is a limit of 200 variants per family."
MAX_VARIANTS = 200


class LightspeedCatalogError(ValueError):
    """The style cannot be given to Lightspeed as it is (no price in the channel's currency, too many
    variants): a person fixes the style; retrying does not help."""


def price_of(style: Style, currency: str, price_list: str = "retail") -> Decimal:
    price = next((p.amount for p in style.prices if p.list == price_list and p.currency == currency), None)
    if price is None:
        raise LightspeedCatalogError(f"{style.code} has no {price_list} price in {currency}")
    return price.quantize(Decimal(1).scaleb(-minor_exponent(currency)))


def product_codes(variant: Variant) -> list[dict[str, str]]:
    gtin = (variant.gtin or "").strip()
    if not gtin:
        return []
    if len(gtin) == 14 and gtin.startswith("0"):
        gtin = gtin[1:]
    kind = "UPC" if len(gtin) == 12 else "EAN"
    return [{"type": kind, "code": gtin}]


def _price_field(amount: Decimal, tax_inclusive: bool) -> dict[str, Any]:
    # X-Series money is a JSON number.
    return {"price_including_tax" if tax_inclusive else "price_excluding_tax": float(amount)}


def definitions(style: Style, variant: Variant, attributes: Mapping[str, str]) -> list[dict[str, str]]:
    colours = {c.code: c.name for c in style.colours}
    return [
        {"attribute_id": attributes[COLOUR], "value": colours.get(variant.colour, variant.colour)},
        {"attribute_id": attributes[SIZE], "value": variant.size},
    ]


def description(style: Style) -> str:
    return f"{style.code} {style.season or ''}".strip()


def family_body(
    style: Style, attributes: Mapping[str, str], *, currency: str, tax_inclusive: bool = True
) -> dict[str, Any]:
    """``POST /api/2.0/products``: the style as one variant family, a variant per SKU."""
    variants = style.sorted_variants()
    if not variants:
        raise LightspeedCatalogError(f"{style.code} has no SKUs")
    if len(variants) > MAX_VARIANTS:
        raise LightspeedCatalogError(f"{style.code} has {len(variants)} SKUs; a Lightspeed family holds {MAX_VARIANTS}")
    price = price_of(style, currency)
    return {
        "name": style.name,
        "description": description(style),
        "variants": [
            {
                "sku": variant.sku,
                "variant_definitions": definitions(style, variant, attributes),
                "product_codes": product_codes(variant),
                **_price_field(price, tax_inclusive),
            }
            for variant in variants
        ],
    }


def update_body(
    style: Style, variant: Variant, attributes: Mapping[str, str], *, currency: str, tax_inclusive: bool = True
) -> dict[str, Any]:
    """``PUT /api/2.1/products/{id}``: the family's name and description, and this variant's SKU, barcode,
    attributes and price."""
    return {
        "common": {"name": style.name, "description": description(style)},
        "details": {
            "sku": variant.sku,
            "variant_definitions": definitions(style, variant, attributes),
            "product_codes": product_codes(variant),
            **_price_field(price_of(style, currency), tax_inclusive),
        },
    }


def ids_by_sku(family: Mapping[str, Any]) -> dict[str, str]:
    """A family read back (``GET /api/3.0/products/{id}``: ``data.variants[]``, each with ``id`` and ``sku``)
    as SKU → product id; a standard product answers itself."""
    members = family.get("variants") or [family]
    return {str(m["sku"]): str(m["id"]) for m in members if isinstance(m, Mapping) and m.get("sku") and m.get("id")}
