"""The ledger's domain events."""

from __future__ import annotations

from dataclasses import dataclass

from seamline.domain.events import DomainEvent


@dataclass(frozen=True)
class BalancesChanged(DomainEvent):
    """These balance rows (sku, location) changed: on hand, reserved or committed. Availability is recomputed
    for exactly these (DESIGN 4.4)."""

    rows: tuple[tuple[str, str], ...]


__all__ = ["BalancesChanged"]
