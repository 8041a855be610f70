"""Plain value objects of the product master. A 60-variant shirt is one Style, not 60 products."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from seamline.catalog.content import StyleContent


@dataclass(frozen=True, slots=True)
class Colour:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Variant:
    sku: str
    colour: str
    size: str
    gtin: str | None = None
    fit: str | None = None


@dataclass(frozen=True, slots=True)
class PrepackComponent:
    sku: str
    units: int


@dataclass(frozen=True, slots=True)
class Prepack:
    """A ratio pack (e.g. 1-2-2-1 over S/M/L/XL) sold as one SKU; stock is kept in component units."""

    sku: str
    gtin: str | None
    components: tuple[PrepackComponent, ...]

    @property
    def units(self) -> int:
        return sum(c.units for c in self.components)


@dataclass(frozen=True, slots=True)
class Price:
    list: str
    currency: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Style:
    code: str
    name: str
    season: str | None
    category: str | None
    size_scale: tuple[str, ...]
    colours: tuple[Colour, ...]
    variants: tuple[Variant, ...]
    prepacks: tuple[Prepack, ...] = ()
    prices: tuple[Price, ...] = ()
    fits: tuple[str, ...] = ()
    tax_class: str | None = None
    status: str = "active"
    attributes: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    #: Description, images, care, composition and per-channel words (``catalog.content``).
    content: StyleContent = field(default_factory=StyleContent)

    def variant(self, sku: str) -> Variant | None:
        return next((v for v in self.variants if v.sku == sku), None)

    def sorted_variants(self) -> list[Variant]:
        """Variants in grid order: colour as given, then size in the scale's order."""
        colour_rank = {c.code: i for i, c in enumerate(self.colours)}
        size_rank = {s: i for i, s in enumerate(self.size_scale)}
        return sorted(self.variants, key=lambda v: (colour_rank[v.colour], size_rank[v.size], v.fit or ""))
