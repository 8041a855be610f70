"""Amazon listings built from the product master (issue 21), as pure functions: a style's content and each of
its variants → the ``attributes`` of a Listings Items API 2021-08-01 ``putListingsItem`` body (``productType``,
``requirements``, ``attributes``: ``ListingsItemPutRequest`` in amzn/selling-partner-api-models
``models/listings-items-api-model/listingsItems_2021-08-01.json``), and the ``patchListingsItem`` patches that
replace them once the listing exists.

Attribute values are arrays of objects, as the product type definitions shape them: text values carry
``language_tag`` and ``marketplace_id`` (``item_name``, ``brand``, ``product_description``, ``bullet_point``,
``color``, ``size``, ``care_instructions``, ``fabric_type``); images are ``main_product_image_locator`` and
``other_product_image_locator_1`` .. ``_8`` with ``media_location``; the GTIN is
``externally_assigned_product_identifier`` (``type`` ``ean``/``upc``/``gtin``), or an ASIN the variant is
matched to is ``merchant_suggested_asin``; the price is ``purchasable_offer`` (``currency``, ``our_price`` →
``schedule`` → ``value_with_tax``) and ``list_price`` per marketplace currency; ``condition_type``
``new_new``. Variants of one style are children of a parent listing (the style's code) by
``child_parent_sku_relationship`` and ``variation_theme`` ``COLOR/SIZE``. Amazon has no alt-text attribute
for an image: the alt text stays ours, the order decides main and other images.

What a consumer marketplace never lists: a prepack (a wholesale ratio pack, kept in component units) and a
style with no price on the channel's consumer price list in the marketplace's currency (it sells wholesale
only). ``not_listable`` says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from seamline.catalog.model import Style, Variant

DEFAULT_PRODUCT_TYPE = "SHIRT"
REQUIREMENTS = ("LISTING", "LISTING_PRODUCT_ONLY", "LISTING_OFFER_ONLY")
MAX_OTHER_IMAGES = 8
MAX_BULLETS = 5
#: The attributes a content update replaces (the offer's quantity is the availability path's).
CONTENT_ATTRIBUTES = (
    "item_name",
    "brand",
    "product_description",
    "bullet_point",
    "care_instructions",
    "fabric_type",
    "color",
    "size",
    "main_product_image_locator",
    *(f"other_product_image_locator_{n}" for n in range(1, MAX_OTHER_IMAGES + 1)),
    "purchasable_offer",
    "list_price",
)


@dataclass(frozen=True)
class ListingSettings:
    """From the channel's settings: ``product_types`` (style category → Amazon productType, else
    ``product_type``, else ``SHIRT``), ``language_tag`` (``de_DE``), ``brand`` (else the style's ``brand``
    attribute), ``price_list`` (``retail``) and ``currency``."""

    currency: str
    language_tag: str = "en_GB"
    brand: str | None = None
    price_list: str = "retail"
    default_product_type: str = DEFAULT_PRODUCT_TYPE
    product_types: Mapping[str, str] = field(default_factory=dict)
    condition: str = "new_new"

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], *, currency: str) -> ListingSettings:
        types = settings.get("product_types") or {}
        if not isinstance(types, Mapping):
            raise ValueError("product_types must map a style category to an Amazon productType")
        return cls(
            currency=currency,
            language_tag=str(settings.get("language_tag") or "en_GB"),
            brand=str(settings["brand"]) if settings.get("brand") else None,
            price_list=str(settings.get("price_list") or "retail"),
            default_product_type=str(settings.get("product_type") or DEFAULT_PRODUCT_TYPE),
            product_types={str(k): str(v) for k, v in types.items()},
        )

    def product_type(self, style: Style) -> str:
        return self.product_types.get(style.category or "", self.default_product_type)


def price_of(style: Style, settings: ListingSettings) -> Decimal | None:
    found = [p.amount for p in style.prices if p.list == settings.price_list and p.currency == settings.currency]
    return found[0] if found else None


def not_listable(style: Style, sku: str, settings: ListingSettings) -> str | None:
    """Why ``sku`` is never listed on a consumer marketplace (None: it may be)."""
    if any(pack.sku == sku for pack in style.prepacks):
        return f"{sku} is a prepack: wholesale only"
    if style.variant(sku) is None:
        return f"{sku} is not a variant of {style.code}"
    if price_of(style, settings) is None:
        return (
            f"{style.code} has no {settings.price_list} price in {settings.currency}: it sells wholesale only "
            "(give it one to list it)"
        )
    return None


def _text(value: str, marketplace: str, settings: ListingSettings) -> list[dict[str, Any]]:
    return [{"value": value, "language_tag": settings.language_tag, "marketplace_id": marketplace}]


def identifier(gtin: str) -> tuple[str, str]:
    """The master keeps GTINs as 14 digits; Amazon's ``externally_assigned_product_identifier`` takes the
    printed form: an EAN-13 (``ean``) or a UPC-A (``upc``) where the leading zeros allow, else a GTIN-14."""
    code = gtin
    if len(code) == 14 and code.startswith("0"):
        code = code[1:]
    if len(code) == 13 and code.startswith("0"):
        return "upc", code[1:]
    return {12: "upc", 13: "ean"}.get(len(code), "gtin"), code


def variant_attributes(
    style: Style,
    variant: Variant,
    *,
    channel: str,
    marketplace: str,
    settings: ListingSettings,
    asin: str | None = None,
) -> dict[str, Any]:
    """The attributes of one variant's listing: the style's content in ``channel``'s words, its colour and
    size, its GTIN (or the ASIN it is matched to), and the style's price in the marketplace's currency."""
    reason = not_listable(style, variant.sku, settings)
    if reason is not None:
        raise ValueError(reason)
    content = style.content.for_channel(channel, style.name)
    colour = next((c.name for c in style.colours if c.code == variant.colour), variant.colour)
    attributes: dict[str, Any] = {
        "item_name": _text(f"{content.title} {colour} {variant.size}", marketplace, settings),
        "condition_type": [{"value": settings.condition, "marketplace_id": marketplace}],
        "color": _text(colour, marketplace, settings),
        "size": _text(variant.size, marketplace, settings),
        "parentage_level": [{"value": "child", "marketplace_id": marketplace}],
        "child_parent_sku_relationship": [
            {"child_relationship_type": "variation", "parent_sku": style.code, "marketplace_id": marketplace}
        ],
        "variation_theme": [{"name": "COLOR/SIZE", "marketplace_id": marketplace}],
    }
    brand = settings.brand or style.attributes.get("brand")
    if brand:
        attributes["brand"] = _text(str(brand), marketplace, settings)
    if content.description:
        attributes["product_description"] = _text(content.description, marketplace, settings)
    bullets = [b for b in (content.composition_text(), content.care) if b]
    if bullets:
        attributes["bullet_point"] = [
            {"value": b, "language_tag": settings.language_tag, "marketplace_id": marketplace}
            for b in bullets[:MAX_BULLETS]
        ]
    if content.care:
        attributes["care_instructions"] = _text(content.care, marketplace, settings)
    if content.composition:
        attributes["fabric_type"] = _text(content.composition_text() or "", marketplace, settings)
    for n, image in enumerate(content.images[: 1 + MAX_OTHER_IMAGES]):
        name = "main_product_image_locator" if n == 0 else f"other_product_image_locator_{n}"
        attributes[name] = [{"media_location": image.url, "marketplace_id": marketplace}]
    if variant.gtin:
        kind, code = identifier(variant.gtin)
        attributes["externally_assigned_product_identifier"] = [
            {"type": kind, "value": code, "marketplace_id": marketplace}
        ]
    elif asin:
        attributes["merchant_suggested_asin"] = [{"value": asin, "marketplace_id": marketplace}]
    price = price_of(style, settings)
    assert price is not None  # not_listable checked it
    attributes["purchasable_offer"] = [
        {
            "marketplace_id": marketplace,
            "currency": settings.currency,
            "our_price": [{"schedule": [{"value_with_tax": float(price)}]}],
        }
    ]
    attributes["list_price"] = [{"marketplace_id": marketplace, "currency": settings.currency, "value": float(price)}]
    return attributes


def parent_attributes(style: Style, *, channel: str, marketplace: str, settings: ListingSettings) -> dict[str, Any]:
    """The attributes of the variation parent (SKU = the style's code) its variants name in
    ``child_parent_sku_relationship``: the family's title, brand, description and main image,
    ``parentage_level`` ``parent`` and the ``variation_theme``. A parent is never bought: no offer, no
    identifier (sent with ``requirements`` ``LISTING_PRODUCT_ONLY``)."""
    content = style.content.for_channel(channel, style.name)
    attributes: dict[str, Any] = {
        "item_name": _text(content.title, marketplace, settings),
        "parentage_level": [{"value": "parent", "marketplace_id": marketplace}],
        "variation_theme": [{"name": "COLOR/SIZE", "marketplace_id": marketplace}],
    }
    brand = settings.brand or style.attributes.get("brand")
    if brand:
        attributes["brand"] = _text(str(brand), marketplace, settings)
    if content.description:
        attributes["product_description"] = _text(content.description, marketplace, settings)
    if content.images:
        attributes["main_product_image_locator"] = [
            {"media_location": content.images[0].url, "marketplace_id": marketplace}
        ]
    return attributes


def put_body(product_type: str, attributes: Mapping[str, Any], requirements: str = "LISTING") -> dict[str, Any]:
    """The body of ``PUT /listings/2021-08-01/items/{sellerId}/{sku}`` (creates the listing, or replaces it
    whole)."""
    if not product_type:
        raise ValueError("a listing needs a productType")
    if requirements not in REQUIREMENTS:
        raise ValueError(f"requirements must be one of {', '.join(REQUIREMENTS)}")
    return {"productType": product_type, "requirements": requirements, "attributes": dict(attributes)}


def content_patch_body(product_type: str, attributes: Mapping[str, Any], marketplace: str) -> dict[str, Any]:
    """The body of ``PATCH`` that brings an existing listing's content to ``attributes``: a ``replace`` per
    content attribute it has, a ``delete`` per content attribute it no longer has (an image removed). The
    offer's quantity is left to the availability path."""
    patches: list[dict[str, Any]] = []
    for name in CONTENT_ATTRIBUTES:
        if name in attributes:
            patches.append({"op": "replace", "path": f"/attributes/{name}", "value": attributes[name]})
        else:
            patches.append({"op": "delete", "path": f"/attributes/{name}", "value": [{"marketplace_id": marketplace}]})
    return {"productType": product_type, "patches": patches}
