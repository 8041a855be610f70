"""The product master: styles, colours, size scales, variants (SKUs), prepacks and price lists."""

from seamline.catalog.gtin import normalise_gtin
from seamline.catalog.model import Colour, Prepack, PrepackComponent, Price, Style, Variant
from seamline.catalog.rules import StyleDraft, build_style, same_definition

__all__ = [
    "Colour",
    "Prepack",
    "PrepackComponent",
    "Price",
    "Style",
    "StyleDraft",
    "Variant",
    "build_style",
    "normalise_gtin",
    "same_definition",
]
