"""The order queue's vocabulary: one order shape for every channel, with kind and channel as attributes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class OrderKind(StrEnum):
    DTC = "dtc"
    POS = "pos"
    MARKETPLACE = "marketplace"
    WHOLESALE = "wholesale"


#: Kinds taken by ``POST /v1/orders``; a POS sale is captured and fulfilled at once by ``POST /v1/sales``.
QUEUED_KINDS = frozenset({OrderKind.DTC, OrderKind.MARKETPLACE, OrderKind.WHOLESALE})


class OrderStatus(StrEnum):
    PLACED = "placed"
    BACKORDERED = "backordered"
    PARTIALLY_ALLOCATED = "partially_allocated"
    ALLOCATED = "allocated"
    PARTIALLY_PICKED = "partially_picked"
    PICKED = "picked"
    PARTIALLY_PACKED = "partially_packed"
    PACKED = "packed"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Condition(StrEnum):
    """A returned unit is either sellable again (back into the receiving location) or damaged."""

    SELLABLE = "sellable"
    DAMAGED = "damaged"


@dataclass(frozen=True, slots=True)
class LineState:
    """One order line's units at each stage. Units are the line's own: packs, for a prepack line.

    ``allocated`` is what is allocated and not yet picked; ``picked`` counts every unit that left the
    shelf (packed and shipped units included), so ``packed <= picked`` and ``shipped <= packed``.
    """

    line_no: int
    sku: str
    qty: int
    unit_price: Decimal = Decimal(0)
    allocated: int = 0
    picked: int = 0
    packed: int = 0
    shipped: int = 0
    cancelled: int = 0
    returned: int = 0

    @property
    def open(self) -> int:
        """Units still wanted: ordered less cancelled."""
        return self.qty - self.cancelled

    @property
    def backordered(self) -> int:
        """Units wanted but neither allocated nor picked: what an allocation run may still allocate."""
        return self.open - self.allocated - self.picked

    @property
    def returnable(self) -> int:
        """Units that left stock for this order and have not come back."""
        return self.picked - self.returned
