"""The canonical documents exchanged with a 3PL, whatever the wire format (X12 or CSV), and the outcome of
reading one: either the whole document with any warnings, or line-level errors and nothing else.

Quantities are whole units in ``uom`` (``EA`` for eaches); GTINs are GTIN-14; SSCCs are 18 digits as
sent (a bad check digit is kept, and warned about, because the carton's label carries the same number).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeAlias, TypeVar

from seamline.catalog.gs1 import sscc_problem

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Issue:
    """One reason a file was refused (an error) or accepted with a reservation (a warning).

    ``line`` is the line of the file (1-based); for X12 ``segment`` is the segment's position in the file
    (ISA is 1) and ``element`` its reference (``W1203``); for CSV ``element`` is the column name.
    """

    reason: str
    line: int | None = None
    segment: int | None = None
    element: str | None = None

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.segment is not None:
            where.append(f"segment {self.segment}")
        if self.element is not None:
            where.append(self.element)
        return f"{', '.join(where)}: {self.reason}" if where else self.reason


@dataclass(frozen=True, slots=True)
class Accepted(Generic[T]):
    document: T
    warnings: tuple[Issue, ...] = ()


@dataclass(frozen=True, slots=True)
class Rejected:
    """Nothing of the file is usable: no partial document is ever handed on."""

    errors: tuple[Issue, ...]
    warnings: tuple[Issue, ...] = ()

    def __post_init__(self) -> None:
        if not self.errors:
            raise ValueError("a rejection carries at least one error")


Outcome: TypeAlias = Accepted[T] | Rejected


@dataclass(frozen=True, slots=True)
class ItemRef:
    """How a line names its item: our SKU, a GTIN-14, and every other (qualifier, id) the partner sent.

    Resolving a line to a catalog variant is the apply step's job (it may also look up channel mappings
    by the other ids); the mapper only guarantees that at least one identifier is present.
    """

    sku: str | None = None
    gtin: str | None = None
    other_ids: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        if self.sku:
            return self.sku
        if self.gtin:
            return f"GTIN {self.gtin}"
        return ", ".join(f"{q} {v}" for q, v in self.other_ids) or "no identifier"


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    lines: tuple[str, ...] = ()
    city: str = ""
    region: str = ""
    postcode: str = ""
    country: str = ""
    #: The party's id (a GLN, DUNS or the partner's own code) and its X12 qualifier (N103).
    code: str | None = None
    code_qualifier: str | None = None


# -- out: what Seamline asks the 3PL to do ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PickLine:
    line_no: int
    item: ItemRef
    qty: int
    uom: str = "EA"
    description: str = ""


@dataclass(frozen=True, slots=True)
class PickTicket:
    """A warehouse shipping order (X12 940): pick, pack and ship these lines of one order."""

    order_id: str
    ship_to: Address
    lines: tuple[PickLine, ...]
    purchase_order: str | None = None
    ship_by: date | None = None
    carrier: str | None = None
    instructions: str = ""


# -- in: what the 3PL tells Seamline ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShippedLine:
    item: ItemRef
    qty_shipped: int
    qty_ordered: int | None = None
    uom: str = "EA"
    line_no: int | None = None
    status: str | None = None
    lot: str | None = None
    #: SSCCs of the cartons this line went out in (X12 945 ``MAN*GM`` or ``N9*LV`` of its LX loop).
    cartons: tuple[str, ...] = ()
    #: The 3PL's own carton ids (``N9*LV`` values that are not SSCCs), kept as sent.
    license_plates: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ShipmentConfirmation:
    """A warehouse shipping advice (X12 945): these units of this order left the building."""

    order_id: str
    lines: tuple[ShippedLine, ...]
    shipment_id: str | None = None
    purchase_order: str | None = None
    shipped_on: date | None = None
    carrier: str | None = None
    tracking: str | None = None
    ship_to: Address | None = None
    #: SSCCs of cartons named for the whole shipment (``N9*LV`` or ``MAN*GM`` before the first line).
    cartons: tuple[str, ...] = ()
    license_plates: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReceivedLine:
    item: ItemRef
    qty_received: int
    uom: str = "EA"
    line_no: int | None = None
    lot: str | None = None
    #: Of ``qty_received``, units received damaged (X12 W13 exceptions); they belong in a damaged location.
    qty_damaged: int = 0


@dataclass(frozen=True, slots=True)
class StockReceipt:
    """A warehouse stock transfer receipt (X12 944): these units arrived against this inbound reference."""

    receipt_id: str
    lines: tuple[ReceivedLine, ...]
    #: Our reference the 3PL received against (the transfer, ASN or purchase order number we sent).
    reference: str | None = None
    received_on: date | None = None
    warehouse: Address | None = None


@dataclass(frozen=True, slots=True)
class StockLevel:
    item: ItemRef
    quantity: int
    #: Which number this is: ``on_hand`` (X12 QTY*17) or ``available`` (QTY*33, or SDQ totals).
    measure: str = "on_hand"
    uom: str = "EA"
    description: str = ""
    #: Quantity per 3PL location code, when the partner splits it (X12 SDQ).
    by_location: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class InventorySnapshot:
    """An inventory advice (X12 846): the 3PL's count. It feeds a variance report, never an overwrite."""

    reference: str
    levels: tuple[StockLevel, ...]
    as_of: date | None = None


@dataclass(frozen=True, slots=True)
class AdjustmentLine:
    item: ItemRef
    #: Signed: positive adds units at the 3PL (found, book increase), negative removes them.
    qty_change: int
    reason_code: str
    reason: str
    uom: str = "EA"
    line_no: int | None = None
    lot: str | None = None


@dataclass(frozen=True, slots=True)
class InventoryAdjustment:
    """A warehouse inventory adjustment advice (X12 947): the 3PL changed quantities, and says why."""

    adjustment_id: str
    lines: tuple[AdjustmentLine, ...]
    adjusted_on: date | None = None
    warehouse: Address | None = None


# -- both ways: advance ship notice -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AsnItem:
    item: ItemRef
    qty: int
    uom: str = "EA"


@dataclass(frozen=True, slots=True)
class AsnPack:
    """One carton (X12 856 HL level P) and its items (level I)."""

    sscc: str | None
    items: tuple[AsnItem, ...]

    @property
    def sscc_problem(self) -> str | None:
        return None if self.sscc is None else sscc_problem(self.sscc)


@dataclass(frozen=True, slots=True)
class AsnOrder:
    """One order (HL level O) of a shipment: its cartons, and items shipped outside any carton."""

    purchase_order: str
    packs: tuple[AsnPack, ...] = ()
    loose_items: tuple[AsnItem, ...] = ()
    order_date: date | None = None
    references: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class AdvanceShipNotice:
    """A ship notice/manifest (X12 856) with the Shipment/Order/Pack/Item hierarchy."""

    shipment_id: str
    orders: tuple[AsnOrder, ...]
    issued_on: date | None = None
    shipped_on: date | None = None
    carrier: str | None = None
    bill_of_lading: str | None = None
    ship_to: Address | None = None
    ship_from: Address | None = None

    def ssccs(self) -> list[str]:
        return [pack.sscc for order in self.orders for pack in order.packs if pack.sscc is not None]


ThreePLDocument: TypeAlias = (
    PickTicket | ShipmentConfirmation | StockReceipt | InventorySnapshot | InventoryAdjustment | AdvanceShipNotice
)
