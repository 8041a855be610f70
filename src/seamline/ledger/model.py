"""Ledger vocabulary. Every unit is always somewhere: virtual locations absorb the other side of a movement."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class LocationKind(StrEnum):
    WAREHOUSE = "warehouse"
    STORE = "store"
    THREEPL = "threepl"
    SUPPLIER = "supplier"
    CUSTOMER = "customer"
    IN_TRANSIT = "in_transit"
    ADJUSTMENT = "adjustment"
    DAMAGED = "damaged"
    SAMPLES = "samples"


#: Where a channel can sell from.
SELLABLE_KINDS = frozenset({LocationKind.WAREHOUSE, LocationKind.STORE, LocationKind.THREEPL})
#: Sources and sinks outside the brand's walls: their balance is the negative of what flowed through them,
#: so on-hand summed over every location of a SKU is always zero (units are conserved).
SINK_KINDS = frozenset({LocationKind.SUPPLIER, LocationKind.CUSTOMER, LocationKind.ADJUSTMENT})
#: One of each virtual kind exists from the first migration, under its kind as code.
VIRTUAL_LOCATIONS: dict[str, str] = {
    "supplier": "Suppliers",
    "customer": "Customers",
    "in_transit": "In transit",
    "adjustment": "Adjustments (shrink and gain)",
    "damaged": "Damaged / quarantine",
    "samples": "Samples",
}
# Real locations a client may create. Virtual ones are seeded and unique.
PHYSICAL_KINDS = frozenset({LocationKind.WAREHOUSE, LocationKind.STORE, LocationKind.THREEPL})


class MovementKind(StrEnum):
    RECEIPT = "receipt"
    ADJUSTMENT = "adjustment"
    DAMAGE = "damage"
    SAMPLE = "sample"
    EMPLOYEE_PURCHASE = "employee_purchase"
    # Written by orders, transfers and counts, never posted free-form.
    SALE = "sale"
    PICK = "pick"
    RETURN = "return"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    COUNT = "count"


#: Kinds a client may post directly to POST /v1/movements.
DIRECT_KINDS = frozenset(
    {
        MovementKind.RECEIPT,
        MovementKind.ADJUSTMENT,
        MovementKind.DAMAGE,
        MovementKind.SAMPLE,
        MovementKind.EMPLOYEE_PURCHASE,
    }
)


@dataclass(frozen=True, slots=True)
class MovementRequest:
    kind: str
    sku: str
    qty: int
    from_location: str | None = None
    to_location: str | None = None
    reason: str | None = None
    document: str | None = None
    channel: str | None = None
    #: A receipt's unit cost in the base currency (``finance.cost``); None: the catalog's standard cost.
    unit_cost: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PlannedMovement:
    """A movement whose two sides are known; ``checked`` says the source must have it available."""

    kind: MovementKind
    sku: str
    qty: int
    from_location: str
    to_location: str
    reason: str | None
    document: str | None
    channel: str | None
    checked: bool
    unit_cost: Decimal | None = None


@dataclass(frozen=True, slots=True)
class HoldLineRequest:
    sku: str
    qty: int
    location: str | None = None


@dataclass(frozen=True, slots=True)
class Balance:
    sku: str
    location: str
    on_hand: int
    committed: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.committed - self.reserved
