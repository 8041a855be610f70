"""The catalog's domain events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from seamline.domain.events import DomainEvent


@dataclass(frozen=True)
class StyleSaved(DomainEvent):
    """A style (and its SKUs) was written: storefronts publish the master again, the till catalog republishes."""

    code: str


@dataclass(frozen=True)
class TillCatalogChanged(DomainEvent):
    """The till catalog of a price list moved to a new version: these SKUs (of these styles) changed."""

    price_list: str
    version: int
    skus: tuple[str, ...] = field(default=())
    styles: tuple[str, ...] = field(default=())

    def as_payload(self) -> dict[str, Any]:
        return {
            "price_list": self.price_list,
            "version": self.version,
            "skus": list(self.skus),
            "styles": list(self.styles),
        }


__all__ = ["StyleSaved", "TillCatalogChanged"]
