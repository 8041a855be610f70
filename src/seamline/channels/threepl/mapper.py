"""Pure mapping between X12 warehouse transaction sets and the canonical 3PL documents.

Out: 940 (warehouse shipping order, from a pick ticket) and 856 (ship notice). In: 945 (shipping advice),
944 (stock transfer receipt), 846 (inventory advice), 947 (inventory adjustment advice) and 856; the 940 is
read too, so what we write can be checked by reading it back.

Every read returns the whole file's documents or its errors, never some of its documents: a file is one
unit of work. Partner quirks that lose nothing (a bad SSCC check digit, a date that is not a date, an id
under a GTIN qualifier that is not a GTIN) are warnings; a line we could not apply correctly (no item, a
quantity that is not a whole number, a control total that disagrees with the lines) is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Generic, TypeVar

from seamline.catalog.gs1 import SSCC_LENGTH, sscc_problem
from seamline.catalog.gtin import normalise_gtin
from seamline.channels.threepl.documents import (
    Accepted,
    Address,
    AdjustmentLine,
    AdvanceShipNotice,
    AsnItem,
    AsnOrder,
    AsnPack,
    InventoryAdjustment,
    InventorySnapshot,
    Issue,
    ItemRef,
    Outcome,
    PickLine,
    PickTicket,
    ReceivedLine,
    Rejected,
    ShipmentConfirmation,
    ShippedLine,
    StockLevel,
    StockReceipt,
    ThreePLDocument,
)
from seamline.channels.threepl.x12 import (
    Envelope,
    Interchange,
    OutgoingSet,
    OutSegment,
    Segment,
    Tolerance,
    TransactionSet,
    parse_interchanges,
    write_interchange,
)

D = TypeVar("D")

#: X12 product id qualifiers (element 235) that carry a GS1 GTIN with its check digit.
GTIN_QUALIFIERS = frozenset({"UP", "EN", "UK"})

#: Reason codes of W1901 (X12 element 181) a 3PL commonly sends, in words for the adjustment record.
ADJUSTMENT_REASONS = {
    "01": "Damaged",
    "04": "Receipt less than previously reported",
    "05": "Product put on hold",
    "07": "Product dumped or destroyed",
    "51": "Unable-to-locate product located",
    "52": "Recoup/rework of damaged product",
    "53": "Shipment less than previously reported",
    "55": "Product taken off hold",
    "56": "Book adjustment increase",
    "AA": "Physical count",
    "AB": "Accounting error",
    "AC": "Condition change",
    "AE": "Reidentification",
    "AF": "Stock number change",
    "AH": "Other",
    "AR": "Order shipment error",
    "AU": "Damaged in facility",
    "AV": "Damaged in transit",
    "AW": "Product recall",
    "AX": "Shelf-life obsolescence",
    "AY": "Receipt error",
}


@dataclass(frozen=True, slots=True)
class PartnerProfile:
    """How one 3PL speaks X12: the envelope quirks to tolerate and which qualifiers carry our SKU."""

    tolerate: frozenset[Tolerance] = frozenset()
    #: Product id qualifiers that carry our SKU, best first: stock keeping unit, vendor's item/part number,
    #: buyer's part number (the 3PL is the buyer's warehouse from its point of view).
    sku_qualifiers: tuple[str, ...] = ("SK", "VN", "VP", "BP")


@dataclass(frozen=True, slots=True)
class X12Documents(Generic[D]):
    """The documents of one file, in the order of their transaction sets, with the envelopes they came in
    (a partner may batch several interchanges in one file)."""

    interchanges: tuple[Interchange, ...]
    documents: tuple[D, ...]

    @property
    def interchange(self) -> Interchange:
        """The file's first interchange (most files hold one)."""
        return self.interchanges[0]


# -- reading helpers ----------------------------------------------------------------------------------


@dataclass
class _Reader:
    """Reads one transaction set, collecting issues instead of stopping at the first one."""

    profile: PartnerProfile
    component: str = ">"
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    def error(self, segment: Segment, reason: str, position: int | None = None) -> None:
        self.errors.append(segment.issue(reason, position))

    def warn(self, segment: Segment, reason: str, position: int | None = None) -> None:
        self.warnings.append(segment.issue(reason, position))

    def required(self, segment: Segment, position: int, what: str) -> str:
        value = segment.value(position)
        if not value:
            self.error(segment, f"{what} is required", position)
        return value

    def quantity(
        self, segment: Segment, position: int, what: str, *, required: bool = True, signed: bool = False
    ) -> int | None:
        raw = segment.value(position)
        if not raw:
            if required:
                self.error(segment, f"{what} is required", position)
            return None
        try:
            number = Decimal(raw)
        except InvalidOperation:
            self.error(segment, f"{what} {raw!r} is not a number", position)
            return None
        if not number.is_finite() or number != number.to_integral_value():
            self.error(segment, f"{what} {raw!r} is not a whole number of units", position)
            return None
        if number < 0 and not signed:
            self.error(segment, f"{what} {raw!r} is negative", position)
            return None
        return int(number)

    def date(self, segment: Segment, position: int) -> date | None:
        raw = segment.value(position)
        if not raw:
            return None
        try:
            if len(raw) == 8 and raw.isdigit():
                return datetime.strptime(raw, "%Y%m%d").date()  # noqa: DTZ007 - a calendar date, no time
            if len(raw) == 6 and raw.isdigit():
                return datetime.strptime("20" + raw, "%Y%m%d").date()  # noqa: DTZ007
        except ValueError:
            pass
        self.warn(segment, f"{raw!r} is not a date (CCYYMMDD); ignored", position)
        return None

    def item(
        self,
        segment: Segment,
        pairs: Sequence[tuple[int, int]],
        case_code: int | None = None,
        extra_case_codes: Sequence[int] = (),
    ) -> ItemRef:
        """The item a line names, from its (qualifier, id) element pairs and its U.P.C. case code elements."""
        sku_rank = {q: i for i, q in enumerate(self.profile.sku_qualifiers)}
        skus: list[tuple[int, str, str]] = []
        gtin: str | None = None
        others: list[tuple[str, str]] = []
        for position in (case_code, *extra_case_codes):
            if position is not None and segment.value(position):
                # The U.P.C. case code (2-5-5) has no check digit: it is an id, not a GTIN.
                others.append(("UA", segment.value(position)))
        for q_pos, v_pos in pairs:
            qualifier, value = segment.value(q_pos), segment.value(v_pos)
            if not qualifier and not value:
                continue
            if not qualifier or not value:
                self.warn(segment, "a product id needs both its qualifier and its value; ignored", v_pos)
                continue
            if qualifier in sku_rank:
                skus.append((sku_rank[qualifier], qualifier, value))
            elif qualifier in GTIN_QUALIFIERS:
                try:
                    normalised = normalise_gtin(value)
                except ValueError as exc:
                    self.warn(segment, f"{value!r} under GTIN qualifier {qualifier} is not a GTIN ({exc})", v_pos)
                    others.append((qualifier, value))
                    continue
                if gtin is None:
                    gtin = normalised
                elif gtin != normalised:
                    self.warn(segment, f"a second, different GTIN {value}; kept as another id", v_pos)
                    others.append((qualifier, value))
            else:
                others.append((qualifier, value))
        sku: str | None = None
        if skus:
            best = min(skus)
            sku = best[2]
            others.extend((q, v) for rank, q, v in skus if (rank, q, v) != best)
        ref = ItemRef(sku, gtin, tuple(others))
        if sku is None and gtin is None and not others:
            self.error(segment, "no SKU, GTIN or other product id names the item")
        return ref

    def sscc(self, segment: Segment, position: int) -> str | None:
        """An SSCC from ``MAN*GM``: 20 digits with AI 00 or the bare 18; a bad check digit is warned about."""
        raw = segment.value(position).replace(" ", "")
        digits = raw[2:] if len(raw) == SSCC_LENGTH + 2 and raw.startswith("00") else raw
        if not (digits.isascii() and digits.isdigit() and len(digits) == SSCC_LENGTH):
            self.warn(segment, f"{raw!r} is not an SSCC (18 digits, optionally after AI 00); ignored", position)
            return None
        problem = sscc_problem(digits)
        if problem is not None:
            self.warn(segment, f"{problem}; kept as sent, since the carton's label carries it", position)
        return digits

    def address(self, segments: Sequence[Segment], start: int) -> tuple[Address, int]:
        """An N1 loop (N1, N2, N3, N4) starting at ``start``; returns it and the index after it."""
        n1 = segments[start]
        name = n1.value(2)
        index = start + 1
        lines: list[str] = []
        city = region = postcode = country = ""
        while index < len(segments) and segments[index].tag in ("N2", "N3", "N4"):
            seg = segments[index]
            if seg.tag == "N2":
                name = " ".join(p for p in (name, seg.value(1), seg.value(2)) if p)
            elif seg.tag == "N3":
                lines.extend(v for v in (seg.value(1), seg.value(2)) if v)
            else:
                city, region, postcode, country = seg.value(1), seg.value(2), seg.value(3), seg.value(4)
            index += 1
        address = Address(
            name=name,
            lines=tuple(lines),
            city=city,
            region=region,
            postcode=postcode,
            country=country,
            code=n1.value(4) or None,
            code_qualifier=n1.value(3) or None,
        )
        return address, index


def _sscc_shaped(value: str) -> bool:
    """18 digits, or 20 after AI 00: read as an SSCC (and its check digit checked)."""
    digits = value.replace(" ", "")
    return digits.isascii() and digits.isdigit() and len(digits) in (SSCC_LENGTH, SSCC_LENGTH + 2)


def _pairs(first: int, count: int) -> list[tuple[int, int]]:
    return [(first + 2 * i, first + 2 * i + 1) for i in range(count)]


def _check_total(reader: _Reader, segment: Segment | None, position: int, what: str, actual: int) -> None:
    if segment is None or reader.errors:
        return  # a line already refused would make the total disagree too: one reason is enough
    total = reader.quantity(segment, position, f"total {what}", required=False)
    if total is not None and total != actual:
        reader.error(segment, f"says {total} {what} in total, the lines add up to {actual}", position)


# -- 940: warehouse shipping order --------------------------------------------------------------------


def _read_940(ts: TransactionSet, reader: _Reader) -> PickTicket | None:
    segments = ts.body
    order_id = purchase_order = None
    ship_to: Address | None = None
    ship_by = None
    carrier: str | None = None
    notes: list[str] = []
    lines: list[PickLine] = []
    line_no: int | None = None
    total: Segment | None = None
    index = 0
    while index < len(segments):
        seg = segments[index]
        if seg.tag == "W05":
            order_id = reader.required(seg, 2, "the depositor order number")
            purchase_order = seg.value(3) or None
        elif seg.tag == "N1":
            address, index = reader.address(segments, index)
            if seg.value(1) == "ST":
                ship_to = address
            continue
        elif seg.tag == "G62" and seg.value(1) == "10":
            ship_by = reader.date(seg, 2)
        elif seg.tag == "NTE":
            notes.append(seg.value(2))
        elif seg.tag == "W66":
            carrier = seg.value(10) or seg.value(5) or None
        elif seg.tag == "LX":
            line_no = reader.quantity(seg, 1, "the line number")
        elif seg.tag == "W01":
            qty = reader.quantity(seg, 1, "the quantity ordered")
            item = reader.item(seg, _pairs(4, 2), case_code=3)
            number = line_no if line_no is not None else len(lines) + 1
            description = ""
            if index + 1 < len(segments) and segments[index + 1].tag == "G69":
                description = segments[index + 1].value(1)
            if qty is not None:
                lines.append(PickLine(number, item, qty, seg.value(2) or "EA", description))
            line_no = None
        elif seg.tag == "W76":
            total = seg
        index += 1
    if order_id is None:
        reader.errors.append(ts.header.issue("a 940 needs a W05 segment with the order number"))
    if ship_to is None:
        reader.errors.append(ts.header.issue("a 940 needs a ship-to party (N1*ST)"))
    if not lines and not reader.errors:
        reader.errors.append(ts.header.issue("a 940 needs at least one W01 line"))
    _check_total(reader, total, 1, "units ordered", sum(line.qty for line in lines))
    if reader.errors or order_id is None or ship_to is None:
        return None
    return PickTicket(
        order_id=order_id,
        ship_to=ship_to,
        lines=tuple(lines),
        purchase_order=purchase_order,
        ship_by=ship_by,
        carrier=carrier,
        instructions=" ".join(n for n in notes if n),
    )


# -- 945: warehouse shipping advice -------------------------------------------------------------------


def _read_945(ts: TransactionSet, reader: _Reader) -> ShipmentConfirmation | None:
    segments = ts.body
    order_id: str | None = None
    shipment_id = purchase_order = carrier = tracking = None
    shipped_on = None
    ship_to: Address | None = None
    lines: list[ShippedLine] = []
    total: Segment | None = None
    lx_no: int | None = None
    lx_lines: list[ShippedLine] = []
    lx_cartons: list[str] = []
    lx_plates: list[str] = []
    shipment_cartons: list[str] = []
    shipment_plates: list[str] = []

    def close_lx() -> None:
        lines.extend(
            ShippedLine(
                item=line.item,
                qty_shipped=line.qty_shipped,
                qty_ordered=line.qty_ordered,
                uom=line.uom,
                line_no=line.line_no,
                status=line.status,
                lot=line.lot,
                cartons=tuple(lx_cartons),
                license_plates=tuple(lx_plates),
            )
            for line in lx_lines
        )
        lx_lines.clear()
        lx_cartons.clear()
        lx_plates.clear()

    in_detail = False
    index = 0
    while index < len(segments):
        seg = segments[index]
        if seg.tag == "W06":
            order_id = reader.required(seg, 2, "the depositor order number")
            shipped_on = reader.date(seg, 3)
            shipment_id = seg.value(4) or None
            purchase_order = seg.value(6) or None
        elif seg.tag == "N1" and not in_detail:
            address, index = reader.address(segments, index)
            if seg.value(1) == "ST":
                ship_to = address
            continue
        elif seg.tag == "N9" and not in_detail and seg.value(1) in ("CN", "2I"):
            tracking = seg.value(2) or None
        elif seg.tag == "W27":
            carrier = seg.value(2) or seg.value(3) or None
        elif seg.tag == "LX":
            close_lx()
            in_detail = True
            lx_no = reader.quantity(seg, 1, "the line number")
        elif seg.tag == "N9" and seg.value(1) == "LV" and not _sscc_shaped(seg.value(2)):
            # A license plate that is not an SSCC (the public sample's "LPN6569"): the 3PL's own carton id.
            if seg.value(2):
                (lx_plates if in_detail else shipment_plates).append(seg.value(2))
        elif (seg.tag == "MAN" and seg.value(1) == "GM") or (seg.tag == "N9" and seg.value(1) == "LV"):
            # A carton's SSCC: MAN*GM, or (many 3PLs) N9*LV, the license plate of the carton, in the LX loop.
            sscc = reader.sscc(seg, 2)
            if sscc is not None:
                (lx_cartons if in_detail else shipment_cartons).append(sscc)
        elif seg.tag == "W12":
            in_detail = True
            shipped = reader.quantity(seg, 3, "the number of units shipped")
            ordered = reader.quantity(seg, 2, "the quantity ordered", required=False)
            difference = reader.quantity(seg, 4, "the quantity difference", required=False, signed=True)
            if None not in (shipped, ordered, difference) and (ordered or 0) - (shipped or 0) != difference:
                reader.warn(seg, f"ordered {ordered} - shipped {shipped} is not the difference {difference}", 4)
            # W1207/08, W1217/18 and W1221/22 are (qualifier, id) pairs; W1216 is a second U.P.C. case code.
            item = reader.item(seg, [(7, 8), (17, 18), (21, 22)], case_code=6, extra_case_codes=(16,))
            if shipped is not None:
                lx_lines.append(
                    ShippedLine(
                        item=item,
                        qty_shipped=shipped,
                        qty_ordered=ordered,
                        uom=seg.value(5) or "EA",
                        line_no=lx_no,
                        status=seg.value(1) or None,
                        lot=seg.value(9) or None,
                    )
                )
        elif seg.tag == "W03":
            close_lx()
            total = seg
        index += 1
    close_lx()
    if order_id is None:
        reader.errors.append(ts.header.issue("a 945 needs a W06 segment with the order number"))
    if not lines and not reader.errors:
        reader.errors.append(ts.header.issue("a 945 needs at least one W12 line"))
    _check_total(reader, total, 1, "units shipped", sum(line.qty_shipped for line in lines))
    if reader.errors or order_id is None:
        return None
    return ShipmentConfirmation(
        order_id=order_id,
        lines=tuple(lines),
        shipment_id=shipment_id,
        purchase_order=purchase_order,
        shipped_on=shipped_on,
        carrier=carrier,
        tracking=tracking,
        ship_to=ship_to,
        cartons=tuple(shipment_cartons),
        license_plates=tuple(shipment_plates),
    )


# -- 944: warehouse stock transfer receipt ------------------------------------------------------------


def _read_944(ts: TransactionSet, reader: _Reader) -> StockReceipt | None:
    segments = ts.body
    receipt_id: str | None = None
    reference = None
    received_on = None
    warehouse: Address | None = None
    lines: list[ReceivedLine] = []
    total: Segment | None = None
    line_no: int | None = None
    index = 0
    while index < len(segments):
        seg = segments[index]
        if seg.tag == "W17":
            received_on = reader.date(seg, 2)
            receipt_id = reader.required(seg, 3, "the warehouse receipt number")
            reference = seg.value(4) or None
        elif seg.tag == "N1":
            address, index = reader.address(segments, index)
            if seg.value(1) == "WH":
                warehouse = address
            continue
        elif seg.tag == "LX":
            line_no = reader.quantity(seg, 1, "the line number")
        elif seg.tag == "W07":
            qty = reader.quantity(seg, 1, "the quantity received")
            # W0704/05, W0706/07 and W0710/11 are (qualifier, id) pairs.
            item = reader.item(seg, [*_pairs(4, 2), (10, 11)], case_code=3)
            if qty is not None:
                lines.append(ReceivedLine(item, qty, seg.value(2) or "EA", line_no, seg.value(8) or None))
        elif seg.tag == "W13":
            reader.warn(seg, "receipt exceptions (W13) are not interpreted: check this receipt's condition")
        elif seg.tag == "W14":
            total = seg
        index += 1
    if receipt_id is None:
        reader.errors.append(ts.header.issue("a 944 needs a W17 segment with the receipt number"))
    if not lines and not reader.errors:
        reader.errors.append(ts.header.issue("a 944 needs at least one W07 line"))
    _check_total(reader, total, 1, "units received", sum(line.qty_received for line in lines))
    if reader.errors or receipt_id is None:
        return None
    return StockReceipt(receipt_id, tuple(lines), reference, received_on, warehouse)


# -- 846: inventory inquiry/advice --------------------------------------------------------------------


def _read_846(ts: TransactionSet, reader: _Reader) -> InventorySnapshot | None:
    reference: str | None = None
    as_of = None
    levels: list[StockLevel] = []
    current: list[Segment] = []

    def close_item() -> None:
        if not current:
            return
        lin = current[0]
        item = reader.item(lin, _pairs(2, 15))
        description = ""
        quantities: dict[str, tuple[int, str]] = {}
        by_location: list[tuple[str, int]] = []
        sdq_uom = ""
        for seg in current[1:]:
            if seg.tag == "PID" and not description:
                description = seg.value(5)
            elif seg.tag == "QTY":
                qty = reader.quantity(seg, 2, f"quantity {seg.value(1)}", signed=True)
                uom = seg.value(3).split(reader.component)[0]
                if qty is not None:
                    quantities.setdefault(seg.value(1), (qty, uom))
            elif seg.tag == "SDQ":
                sdq_uom = sdq_uom or seg.value(1)
                for loc_pos, qty_pos in _pairs(3, 10):
                    location = seg.value(loc_pos)
                    if not location:
                        continue
                    qty = reader.quantity(seg, qty_pos, f"quantity at {location}", signed=True)
                    if qty is not None:
                        by_location.append((location, qty))
        if "17" in quantities:
            (quantity, uom), measure = quantities["17"], "on_hand"
        elif "33" in quantities:
            (quantity, uom), measure = quantities["33"], "available"
        elif by_location:
            quantity, uom, measure = sum(q for _, q in by_location), sdq_uom, "available"
        else:
            reader.error(lin, "the item has no on-hand (QTY*17) or available (QTY*33) quantity")
            return
        levels.append(StockLevel(item, quantity, measure, uom or sdq_uom or "EA", description, tuple(by_location)))

    for seg in ts.body:
        if seg.tag == "BIA":
            reference = reader.required(seg, 3, "the report's reference")
            as_of = reader.date(seg, 4)
        elif seg.tag == "LIN":
            close_item()
            current = [seg]
        elif current and seg.tag in ("PID", "QTY", "SDQ"):
            current.append(seg)
    close_item()
    if reference is None:
        reader.errors.append(ts.header.issue("an 846 needs a BIA segment with its reference"))
    if not levels and not reader.errors:
        reader.errors.append(ts.header.issue("an 846 needs at least one LIN item"))
    if reader.errors or reference is None:
        return None
    return InventorySnapshot(reference, tuple(levels), as_of)


# -- 947: warehouse inventory adjustment advice -------------------------------------------------------


def _read_947(ts: TransactionSet, reader: _Reader) -> InventoryAdjustment | None:
    segments = ts.body
    adjustment_id: str | None = None
    adjusted_on = None
    warehouse: Address | None = None
    lines: list[AdjustmentLine] = []
    line_no: int | None = None
    index = 0
    while index < len(segments):
        seg = segments[index]
        if seg.tag == "W15":
            adjusted_on = reader.date(seg, 1)
            adjustment_id = seg.value(2) or seg.value(3)
            if not adjustment_id:
                reader.error(seg, "the warehouse (W1502) or depositor (W1503) adjustment number is required", 2)
        elif seg.tag == "N1":
            address, index = reader.address(segments, index)
            if seg.value(1) == "WH":
                warehouse = address
            continue
        elif seg.tag == "LX":
            line_no = reader.quantity(seg, 1, "the line number")
        elif seg.tag == "W19":
            code = reader.required(seg, 1, "the adjustment reason code")
            change = reader.quantity(seg, 2, "the credit/debit quantity", signed=True)
            item = reader.item(seg, [*_pairs(5, 2), (17, 18)], case_code=4)
            if change == 0:
                reader.error(seg, "an adjustment of 0 units changes nothing", 2)
            elif code and change is not None:
                reason = ADJUSTMENT_REASONS.get(code, f"reason code {code}")
                uom, lot = seg.value(3) or "EA", seg.value(9) or None
                lines.append(AdjustmentLine(item, change, code, reason, uom, line_no, lot))
        index += 1
    if adjustment_id is None:
        reader.errors.append(ts.header.issue("a 947 needs a W15 segment with the adjustment number"))
    if not lines and not reader.errors:
        reader.errors.append(ts.header.issue("a 947 needs at least one W19 line"))
    if reader.errors or not adjustment_id:
        return None
    return InventoryAdjustment(adjustment_id, tuple(lines), adjusted_on, warehouse)


# -- 856: ship notice/manifest ------------------------------------------------------------------------


@dataclass
class _Level:
    code: str
    parent: str
    segment: Segment
    body: list[Segment] = field(default_factory=list)


@dataclass
class _OrderDraft:
    purchase_order: str
    order_date: date | None
    references: tuple[tuple[str, str], ...]
    pack_ids: list[str] = field(default_factory=list)
    loose_items: list[AsnItem] = field(default_factory=list)


def _items_in_packs(
    reader: _Reader,
    level: _Level,
    item: AsnItem,
    pack_levels: Sequence[_Level],
    pack_ids: Sequence[str],
    out: list[tuple[str, AsnItem]],
) -> None:
    """An item level with its cartons below it (S/T/I/P): each pack level's SN1 says how many of the item it
    holds; a single pack without one holds them all. Quantities that do not add up are an error."""
    quantities: list[int | None] = []
    for pack in pack_levels:
        sn1 = next((s for s in pack.body if s.tag == "SN1"), None)
        quantities.append(None if sn1 is None else reader.quantity(sn1, 2, "the units in this pack"))
    if len(pack_levels) == 1 and quantities[0] is None:
        out.append((pack_ids[0], item))
        return
    if any(q is None for q in quantities):
        reader.error(level.segment, f"the item is in {len(pack_levels)} packs: each pack level needs its SN1 quantity")
        return
    total = sum(q for q in quantities if q is not None)
    if total != item.qty:
        reader.error(level.segment, f"the item's SN1 says {item.qty} units, its packs hold {total}")
        return
    out.extend((pid, AsnItem(item.item, q or 0, item.uom)) for pid, q in zip(pack_ids, quantities, strict=True))


def _read_856(ts: TransactionSet, reader: _Reader) -> AdvanceShipNotice | None:
    shipment_id: str | None = None
    issued_on = None
    levels: dict[str, _Level] = {}
    order_of_levels: list[str] = []
    current: _Level | None = None
    ctt: Segment | None = None
    for seg in ts.body:
        if seg.tag == "BSN":
            shipment_id = reader.required(seg, 2, "the shipment identification")
            issued_on = reader.date(seg, 3)
        elif seg.tag == "HL":
            hl_id, parent, code = seg.value(1), seg.value(2), seg.value(3)
            if not hl_id or hl_id in levels:
                reader.error(seg, f"HL01 {hl_id!r} is missing or used twice", 1)
                current = None
                continue
            if parent and parent not in levels:
                reader.error(seg, f"HL02 names parent {parent!r}, which is not an earlier HL", 2)
            if code not in ("S", "O", "T", "P", "I"):
                reader.error(seg, f"HL03 level {code!r} is not one of S, O, T, P, I", 3)
            current = _Level(code, parent, seg)
            levels[hl_id] = current
            order_of_levels.append(hl_id)
        elif seg.tag == "CTT":
            ctt = seg
        elif current is not None:
            current.body.append(seg)
    if shipment_id is None:
        reader.errors.append(ts.header.issue("an 856 needs a BSN segment with the shipment identification"))
    if reader.errors:
        return None

    def ancestor(hl_id: str, code: str) -> str | None:
        seen: set[str] = set()
        node = levels[hl_id].parent
        while node and node in levels and node not in seen:
            seen.add(node)
            if levels[node].code == code:
                return node
            node = levels[node].parent
        return None

    shipped_on = None
    carrier = bill_of_lading = None
    ship_to: Address | None = None
    ship_from: Address | None = None
    orders: dict[str, _OrderDraft] = {}
    packs: dict[str, tuple[str | None, list[AsnItem]]] = {}
    # Partners whose 856 has no order level (S/T/P/I, S/T/I/P, or the shipment alone) ship one order per
    # notice: its number is the shipment's PRF or REF*PO/ON, else the shipment id itself.
    implicit = not any(level.code == "O" for level in levels.values())
    if implicit:
        shipment = next((levels[h] for h in order_of_levels if levels[h].code == "S"), None)
        s_body = shipment.body if shipment is not None else []
        prf = next((s for s in s_body if s.tag == "PRF" and s.value(1)), None)
        po_ref = next((s for s in s_body if s.tag == "REF" and s.value(1) in ("PO", "ON") and s.value(2)), None)
        number = prf.value(1) if prf else po_ref.value(2) if po_ref else (shipment_id or "")
        references = tuple((s.value(1), s.value(2)) for s in s_body if s.tag == "REF")
        orders[""] = _OrderDraft(number, reader.date(prf, 4) if prf else None, references)
        if prf is None and po_ref is None:
            reader.warn(ts.header, f"no order level, PRF or REF*PO: the shipment id {shipment_id} stands for the order")

    def order_of(hl_id: str) -> str | None:
        found = ancestor(hl_id, "O")
        return "" if found is None and implicit else found

    #: Items whose cartons are below them (S/T/I/P): (pack level, item) once the pack level is read.
    item_packs: list[tuple[str, AsnItem]] = []
    for hl_id in order_of_levels:
        level = levels[hl_id]
        body = level.body
        if level.code == "S":
            index = 0
            while index < len(body):
                seg = body[index]
                if seg.tag == "N1":
                    address, index = reader.address(body, index)
                    if seg.value(1) == "ST":
                        ship_to = address
                    elif seg.value(1) == "SF":
                        ship_from = address
                    continue
                if seg.tag == "TD5" and seg.value(3):
                    carrier = seg.value(3)
                elif seg.tag == "REF" and seg.value(1) == "BM":
                    bill_of_lading = seg.value(2) or None
                elif seg.tag == "DTM" and seg.value(1) == "011":
                    shipped_on = reader.date(seg, 2)
                index += 1
        elif level.code == "O":
            prf = next((s for s in body if s.tag == "PRF"), None)
            if prf is None or not prf.value(1):
                reader.error(level.segment, "an order level needs a PRF segment with the purchase order number")
                continue
            references = tuple((s.value(1), s.value(2)) for s in body if s.tag == "REF")
            orders[hl_id] = _OrderDraft(prf.value(1), reader.date(prf, 4), references)
        elif level.code in ("P", "T"):
            man = next((s for s in body if s.tag == "MAN" and s.value(1) == "GM"), None)
            sscc = reader.sscc(man, 2) if man is not None else None
            packs[hl_id] = (sscc, [])
            order = order_of(hl_id)
            if order is None:
                reader.error(level.segment, "a pack level is not under an order level")
            elif level.code == "P" and order in orders:
                orders[order].pack_ids.append(hl_id)
        else:  # I
            lin = next((s for s in body if s.tag == "LIN"), None)
            sn1 = next((s for s in body if s.tag == "SN1"), None)
            if lin is None or sn1 is None:
                reader.error(level.segment, "an item level needs a LIN and an SN1 segment")
                continue
            item = reader.item(lin, _pairs(2, 15))
            qty = reader.quantity(sn1, 2, "the number of units shipped")
            if qty is None:
                continue
            asn_item = AsnItem(item, qty, sn1.value(3) or "EA")
            below = [h for h in order_of_levels if levels[h].code == "P" and levels[h].parent == hl_id]
            if below:
                _items_in_packs(reader, level, asn_item, [levels[h] for h in below], below, item_packs)
                continue
            pack = ancestor(hl_id, "P")
            order = order_of(hl_id)
            if pack is not None and pack in packs:
                packs[pack][1].append(asn_item)
            elif order is not None and order in orders:
                orders[order].loose_items.append(asn_item)
            else:
                reader.error(level.segment, "an item level is not under an order or a pack")
    for pack_id, asn_item in item_packs:
        packs[pack_id][1].append(asn_item)
    if ctt is not None:
        hl_count = len(levels)
        item_count = sum(1 for level in levels.values() if level.code == "I")
        stated = reader.quantity(ctt, 1, "the number of line items", required=False)
        if stated is not None and stated not in (hl_count, item_count):
            reader.warn(ctt, f"says {stated}, there are {hl_count} HL levels and {item_count} items", 1)
    if implicit and not reader.errors and not any(level.code in ("I", "P", "T") for level in levels.values()):
        reader.warn(ts.header, "the notice has a shipment level only: no cartons or items to expect")
    if not orders and not reader.errors:
        reader.errors.append(ts.header.issue("an 856 needs at least one order level (HL*O)"))
    if reader.errors or shipment_id is None:
        return None
    asn_orders = [
        AsnOrder(
            purchase_order=draft.purchase_order,
            packs=tuple(AsnPack(packs[p][0], tuple(packs[p][1])) for p in draft.pack_ids),
            loose_items=tuple(draft.loose_items),
            order_date=draft.order_date,
            references=draft.references,
        )
        for draft in orders.values()
    ]
    return AdvanceShipNotice(
        shipment_id=shipment_id,
        orders=tuple(asn_orders),
        issued_on=issued_on,
        shipped_on=shipped_on,
        carrier=carrier,
        bill_of_lading=bill_of_lading,
        ship_to=ship_to,
        ship_from=ship_from,
    )


# -- dispatch -----------------------------------------------------------------------------------------

_READERS: dict[str, Callable[[TransactionSet, _Reader], ThreePLDocument | None]] = {
    "940": _read_940,
    "945": _read_945,
    "944": _read_944,
    "846": _read_846,
    "947": _read_947,
    "856": _read_856,
}
#: Transaction sets a 3PL sends us; a 940 is only read to check what we wrote.
INBOUND_TRANSACTION_SETS = frozenset({"945", "944", "846", "947", "856"})


def read_x12(
    data: bytes | str, profile: PartnerProfile | None = None, *, expect: frozenset[str] | None = None
) -> Outcome[X12Documents[ThreePLDocument]]:
    """Read every transaction set of one interchange into canonical documents, or refuse the whole file.

    ``expect`` limits the transaction set codes the file may carry (a 945 reader refuses an 846).
    """
    profile = profile or PartnerProfile()
    envelope = parse_interchanges(data, profile.tolerate)
    errors: list[Issue] = []
    if isinstance(envelope, Rejected):
        # A count or control number the partner got wrong still leaves a readable structure: read the
        # contents too, so the file comes back with all its reasons at once rather than one per attempt.
        structure = parse_interchanges(data, frozenset(Tolerance))
        if isinstance(structure, Rejected):
            return envelope
        errors.extend(envelope.errors)
        envelope = Accepted(structure.document, envelope.warnings)
    interchanges = envelope.document
    warnings = list(envelope.warnings)
    documents: list[ThreePLDocument] = []
    for interchange, ts in ((i, ts) for i in interchanges for ts in i.transaction_sets()):
        read = _READERS.get(ts.code)
        if read is None or (expect is not None and ts.code not in expect):
            wanted = sorted(expect if expect is not None else _READERS)
            errors.append(ts.header.issue(f"transaction set {ts.code} is not one of {', '.join(wanted)}", 1))
            continue
        reader = _Reader(profile, interchange.delimiters.component)
        document = read(ts, reader)
        errors.extend(reader.errors)
        warnings.extend(reader.warnings)
        if document is not None:
            documents.append(document)
    if errors:
        return Rejected(tuple(errors), tuple(warnings))
    return Accepted(X12Documents(interchanges, tuple(documents)), tuple(warnings))


def _read_only(data: bytes | str, profile: PartnerProfile | None, code: str, kind: type[D]) -> Outcome[X12Documents[D]]:
    outcome = read_x12(data, profile, expect=frozenset({code}))
    if isinstance(outcome, Rejected):
        return outcome
    documents = tuple(d for d in outcome.document.documents if isinstance(d, kind))
    return Accepted(X12Documents(outcome.document.interchanges, documents), outcome.warnings)


def read_940(data: bytes | str, profile: PartnerProfile | None = None) -> Outcome[X12Documents[PickTicket]]:
    return _read_only(data, profile, "940", PickTicket)


def read_945(data: bytes | str, profile: PartnerProfile | None = None) -> Outcome[X12Documents[ShipmentConfirmation]]:
    return _read_only(data, profile, "945", ShipmentConfirmation)


def read_944(data: bytes | str, profile: PartnerProfile | None = None) -> Outcome[X12Documents[StockReceipt]]:
    return _read_only(data, profile, "944", StockReceipt)


def read_846(data: bytes | str, profile: PartnerProfile | None = None) -> Outcome[X12Documents[InventorySnapshot]]:
    return _read_only(data, profile, "846", InventorySnapshot)


def read_947(data: bytes | str, profile: PartnerProfile | None = None) -> Outcome[X12Documents[InventoryAdjustment]]:
    return _read_only(data, profile, "947", InventoryAdjustment)


def read_856(data: bytes | str, profile: PartnerProfile | None = None) -> Outcome[X12Documents[AdvanceShipNotice]]:
    return _read_only(data, profile, "856", AdvanceShipNotice)


# -- writing ------------------------------------------------------------------------------------------


def _n1_loop(entity: str, address: Address) -> list[OutSegment]:
    if not address.name:
        raise ValueError(f"the {entity} party needs a name")
    segments: list[OutSegment] = [("N1", entity, address.name, address.code_qualifier or "", address.code or "")]
    if address.code and not address.code_qualifier:
        raise ValueError(f"the {entity} party's code needs its qualifier (N103)")
    for i in range(0, len(address.lines), 2):
        segments.append(("N3", *address.lines[i : i + 2]))
    if address.city or address.region or address.postcode or address.country:
        segments.append(("N4", address.city, address.region, address.postcode, address.country))
    return segments


def _item_ids(item: ItemRef) -> list[str]:
    """(qualifier, id) elements naming an item: our SKU as VN, the GTIN as UP (12 digits) or UK (14)."""
    ids: list[str] = []
    if item.sku:
        ids += ["VN", item.sku]
    if item.gtin:
        gtin = normalise_gtin(item.gtin)
        ids += ["UP", gtin[2:]] if gtin.startswith("00") else ["UK", gtin]
    for qualifier, value in item.other_ids:
        ids += [qualifier, value]
    if not ids:
        raise ValueError("a line needs a SKU, a GTIN or another product id")
    return ids


def _date(value: date) -> str:
    return value.strftime("%Y%m%d")


def pick_ticket_to_940(ticket: PickTicket) -> OutgoingSet:
    """The body of a 940 for one pick ticket."""
    if not ticket.lines:
        raise ValueError(f"pick ticket {ticket.order_id} has no lines")
    body: list[OutSegment] = [("W05", "N", ticket.order_id, ticket.purchase_order or "")]
    body += _n1_loop("ST", ticket.ship_to)
    if ticket.ship_by is not None:
        body.append(("G62", "10", _date(ticket.ship_by)))
    if ticket.instructions:
        if len(ticket.instructions) > 80:
            raise ValueError("instructions are at most 80 characters (NTE02)")
        body.append(("NTE", "WHI", ticket.instructions))
    if ticket.carrier:
        body.append(("W66", "PP", "M", "", "", ticket.carrier))
    for line in ticket.lines:
        if line.qty <= 0:
            raise ValueError(f"line {line.line_no} of {ticket.order_id}: the quantity must be positive")
        ids = _item_ids(line.item)
        if len(ids) > 4:
            raise ValueError(f"line {line.line_no}: a W01 carries at most two product ids")
        body.append(("LX", str(line.line_no)))
        body.append(("W01", str(line.qty), line.uom, "", *ids))
        if line.description:
            body.append(("G69", line.description))
    body.append(("W76", str(sum(line.qty for line in ticket.lines))))
    return OutgoingSet("940", body)


def write_940(
    tickets: Sequence[PickTicket],
    envelope: Envelope,
    *,
    interchange_control_number: int,
    group_control_number: int,
    at: datetime,
) -> str:
    """A 940 interchange with one transaction set per pick ticket."""
    return write_interchange(
        envelope,
        [pick_ticket_to_940(t) for t in tickets],
        interchange_control_number=interchange_control_number,
        group_control_number=group_control_number,
        at=at,
    )


def asn_to_856(asn: AdvanceShipNotice, at: datetime) -> OutgoingSet:
    """The body of an 856 in the Shipment/Order/Pack/Item hierarchy (BSN05 0001), SSCCs as ``MAN*GM``."""
    if not asn.orders:
        raise ValueError(f"ship notice {asn.shipment_id} has no orders")
    issued = asn.issued_on or at.date()
    body: list[OutSegment] = [("BSN", "00", asn.shipment_id, _date(issued), at.strftime("%H%M"), "0001")]
    counter = 0

    def hl(parent: int | None, code: str) -> int:
        nonlocal counter
        counter += 1
        body.append(("HL", str(counter), "" if parent is None else str(parent), code))
        return counter

    def item_level(parent: int, item: AsnItem) -> None:
        if item.qty <= 0:
            raise ValueError(f"ship notice {asn.shipment_id}: an item quantity must be positive")
        hl(parent, "I")
        body.append(("LIN", "", *_item_ids(item.item)))
        body.append(("SN1", "", str(item.qty), item.uom))

    shipment = hl(None, "S")
    if asn.carrier:
        body.append(("TD5", "B", "2", asn.carrier))
    if asn.bill_of_lading:
        body.append(("REF", "BM", asn.bill_of_lading))
    if asn.shipped_on is not None:
        body.append(("DTM", "011", _date(asn.shipped_on)))
    if asn.ship_to is not None:
        body += _n1_loop("ST", asn.ship_to)
    if asn.ship_from is not None:
        body += _n1_loop("SF", asn.ship_from)
    for order in asn.orders:
        order_level = hl(shipment, "O")
        order_date = "" if order.order_date is None else _date(order.order_date)
        body.append(("PRF", order.purchase_order, "", "", order_date))
        body += [("REF", qualifier, value) for qualifier, value in order.references]
        for pack in order.packs:
            pack_level = hl(order_level, "P")
            if pack.sscc is not None:
                if pack.sscc_problem is not None:
                    raise ValueError(f"ship notice {asn.shipment_id}: {pack.sscc_problem}")
                body.append(("MAN", "GM", "00" + pack.sscc))
            for item in pack.items:
                item_level(pack_level, item)
        for item in order.loose_items:
            item_level(order_level, item)
    body.append(("CTT", str(counter)))
    return OutgoingSet("856", body)


def write_856(
    notices: Sequence[AdvanceShipNotice],
    envelope: Envelope,
    *,
    interchange_control_number: int,
    group_control_number: int,
    at: datetime,
) -> str:
    return write_interchange(
        envelope,
        [asn_to_856(n, at) for n in notices],
        interchange_control_number=interchange_control_number,
        group_control_number=group_control_number,
        at=at,
    )
