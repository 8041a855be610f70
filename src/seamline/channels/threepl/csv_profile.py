"""The CSV profile: the same canonical documents as the X12 mapper, for 3PLs that exchange spreadsheets.

One row per line, header row required, comma-separated UTF-8, ISO dates (YYYY-MM-DD), whole quantities.
Columns a file does not need may be left out; unknown columns are ignored. A file is read whole or
refused with the line and column of every problem.

- pick tickets (out): order_id, purchase_order, ship_by, carrier, instructions, ship_to_name,
  ship_to_address1, ship_to_address2, ship_to_city, ship_to_region, ship_to_postcode, ship_to_country,
  line_no, sku, gtin, qty, uom, description
- shipment confirmations (in): order_id, shipment_id, shipped_on, carrier, tracking, line_no, sku, gtin,
  qty_ordered, qty_shipped, uom, lot, sscc
- receipts (in): receipt_id, reference, received_on, line_no, sku, gtin, qty_received, qty_damaged, uom, lot
- inventory snapshots (in): sku, gtin, description, on_hand or available, uom, location, as_of
- adjustments (in, the 947's twin): adjustment_id, adjusted_on, line_no, sku, gtin, qty_change (signed),
  reason_code, reason, uom, lot
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from seamline.catalog.gs1 import normalise_sscc, sscc_problem
from seamline.catalog.gtin import normalise_gtin
from seamline.channels.threepl.documents import (
    Accepted,
    Address,
    AdjustmentLine,
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
)
from seamline.channels.threepl.mapper import ADJUSTMENT_REASONS

D = TypeVar("D")
_Row = tuple[int, dict[str, str]]

PICK_TICKET_COLUMNS = (
    "order_id",
    "purchase_order",
    "ship_by",
    "carrier",
    "instructions",
    "ship_to_name",
    "ship_to_address1",
    "ship_to_address2",
    "ship_to_city",
    "ship_to_region",
    "ship_to_postcode",
    "ship_to_country",
    "line_no",
    "sku",
    "gtin",
    "qty",
    "uom",
    "description",
)

SHIPMENT_CONFIRMATION = "shipment-confirmation"
RECEIPT = "receipt"
INVENTORY_SNAPSHOT = "inventory-snapshot"
ADJUSTMENT = "adjustment"
PICK_TICKET = "pick-ticket"


def detect_kind(header: Sequence[str]) -> str | None:
    """Which canonical document a CSV header row describes, or None."""
    columns = {c.strip().lower() for c in header}
    has_item = bool(columns & {"sku", "gtin"})
    if {"adjustment_id", "qty_change"} <= columns and has_item:
        return ADJUSTMENT
    if {"order_id", "qty_shipped"} <= columns and has_item:
        return SHIPMENT_CONFIRMATION
    if {"receipt_id", "qty_received"} <= columns and has_item:
        return RECEIPT
    if columns & {"on_hand", "available"} and has_item:
        return INVENTORY_SNAPSHOT
    if {"order_id", "qty"} <= columns and has_item:
        return PICK_TICKET
    return None


# -- writing ------------------------------------------------------------------------------------------


def write_pick_tickets(tickets: Sequence[PickTicket]) -> str:
    """Pick tickets as CSV, one row per line; the order's fields repeat on each of its rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(PICK_TICKET_COLUMNS)
    for ticket in tickets:
        if not ticket.lines:
            raise ValueError(f"pick ticket {ticket.order_id} has no lines")
        address = ticket.ship_to
        if len(address.lines) > 2:
            raise ValueError(f"pick ticket {ticket.order_id}: the CSV profile has two address lines")
        lines = (*address.lines, "", "")[:2]
        for line in ticket.lines:
            if not (line.item.sku or line.item.gtin):
                raise ValueError(f"pick ticket {ticket.order_id} line {line.line_no} needs a SKU or a GTIN")
            writer.writerow(
                [
                    ticket.order_id,
                    ticket.purchase_order or "",
                    "" if ticket.ship_by is None else ticket.ship_by.isoformat(),
                    ticket.carrier or "",
                    ticket.instructions,
                    address.name,
                    *lines,
                    address.city,
                    address.region,
                    address.postcode,
                    address.country,
                    line.line_no,
                    line.item.sku or "",
                    line.item.gtin or "",
                    line.qty,
                    line.uom,
                    line.description,
                ]
            )
    return out.getvalue()


# -- reading ------------------------------------------------------------------------------------------


@dataclass
class _Rows:
    """The rows of one CSV file as dicts, with the line each starts on."""

    rows: list[_Row]
    columns: set[str]
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    def error(self, line: int, column: str | None, reason: str) -> None:
        self.errors.append(Issue(reason, line=line, element=column))

    def text(self, line: int, row: dict[str, str], column: str, *, required: bool = False) -> str:
        value = row.get(column, "").strip()
        if required and not value:
            self.error(line, column, "is required")
        return value

    def quantity(self, line: int, row: dict[str, str], column: str, *, required: bool = True) -> int | None:
        raw = row.get(column, "").strip()
        if not raw:
            if required:
                self.error(line, column, "is required")
            return None
        if not (raw.isascii() and raw.isdigit()):
            self.error(line, column, f"{raw!r} is not a whole number of units")
            return None
        return int(raw)

    def change(self, line: int, row: dict[str, str], column: str) -> int | None:
        """A signed whole number of units, not zero (``-2`` removes two, ``3`` or ``+3`` adds three)."""
        raw = row.get(column, "").strip()
        digits = raw[1:] if raw[:1] in ("-", "+") else raw
        if not (digits.isascii() and digits.isdigit()):
            self.error(line, column, f"{raw!r} is not a whole number of units" if raw else "is required")
            return None
        if int(raw) == 0:
            self.error(line, column, "an adjustment of 0 units changes nothing")
            return None
        return int(raw)

    def date(self, line: int, row: dict[str, str], column: str) -> date | None:
        raw = row.get(column, "").strip()
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            self.error(line, column, f"{raw!r} is not a date (YYYY-MM-DD)")
            return None

    def item(self, line: int, row: dict[str, str]) -> ItemRef:
        sku = row.get("sku", "").strip() or None
        raw_gtin = row.get("gtin", "").strip()
        gtin: str | None = None
        others: tuple[tuple[str, str], ...] = ()
        if raw_gtin:
            try:
                gtin = normalise_gtin(raw_gtin)
            except ValueError as exc:
                self.warnings.append(Issue(f"{raw_gtin!r} is not a GTIN ({exc})", line=line, element="gtin"))
                others = (("gtin", raw_gtin),)
        if sku is None and gtin is None and not others:
            self.error(line, "sku", "a line needs a SKU or a GTIN")
        return ItemRef(sku, gtin, others)

    def same_on_every_row(self, rows: list[_Row], column: str) -> None:
        values = {row.get(column, "").strip() for _, row in rows}
        if len(values) > 1:
            self.error(rows[-1][0], column, f"differs between rows of the same document: {sorted(values)}")


def _rows(data: bytes | str) -> Outcome[_Rows]:
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return Rejected((Issue(f"the file is not UTF-8 (byte {exc.start})"),))
    else:
        text = data.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return Rejected((Issue("the file is empty", line=1),))
    except csv.Error as exc:
        return Rejected((Issue(f"unreadable CSV: {exc}", line=1),))
    columns = [c.strip().lower() for c in header]
    duplicates = sorted({c for c in columns if columns.count(c) > 1 and c})
    if duplicates:
        return Rejected((Issue(f"columns named more than once: {', '.join(duplicates)}", line=1),))
    rows: list[_Row] = []
    errors: list[Issue] = []
    line = reader.line_num + 1
    try:
        for values in reader:
            if any(v.strip() for v in values):
                if len(values) > len(columns):
                    errors.append(Issue(f"{len(values)} fields, the header has {len(columns)}", line=line))
                rows.append((line, dict(zip(columns, values, strict=False))))
            line = reader.line_num + 1
    except csv.Error as exc:
        errors.append(Issue(f"unreadable CSV: {exc}", line=line))
    if errors:
        return Rejected(tuple(errors))
    if not rows:
        return Rejected((Issue("the file has a header but no rows", line=1),))
    return Accepted(_Rows(rows, set(columns)))


def _group(rows: _Rows, key: Callable[[dict[str, str]], tuple[str, ...]]) -> dict[tuple[str, ...], list[_Row]]:
    groups: dict[tuple[str, ...], list[_Row]] = {}
    for line, row in rows.rows:
        groups.setdefault(key(row), []).append((line, row))
    return groups


def _finish(rows: _Rows, documents: list[D]) -> Outcome[tuple[D, ...]]:
    if rows.errors:
        return Rejected(tuple(rows.errors), tuple(rows.warnings))
    return Accepted(tuple(documents), tuple(rows.warnings))


def _start(data: bytes | str, kind: str) -> _Rows | Rejected:
    parsed = _rows(data)
    if isinstance(parsed, Rejected):
        return parsed
    rows = parsed.document
    found = detect_kind(sorted(rows.columns))
    if found != kind:
        return Rejected((Issue(f"the header row is not that of a {kind} file (it looks like {found})", line=1),))
    return rows


def read_pick_tickets(data: bytes | str) -> Outcome[tuple[PickTicket, ...]]:
    rows = _start(data, PICK_TICKET)
    if isinstance(rows, Rejected):
        return rows
    tickets: list[PickTicket] = []
    for (order_id,), group in _group(rows, lambda r: (r.get("order_id", "").strip(),)).items():
        first_line, first = group[0]
        if not order_id:
            rows.error(first_line, "order_id", "is required")
            continue
        for column in ("purchase_order", "ship_by", "carrier", "instructions", "ship_to_name", "ship_to_postcode"):
            rows.same_on_every_row(group, column)
        lines: list[PickLine] = []
        for line, row in group:
            qty = rows.quantity(line, row, "qty")
            number = rows.quantity(line, row, "line_no")
            item = rows.item(line, row)
            if qty is not None and number is not None:
                uom = rows.text(line, row, "uom") or "EA"
                lines.append(PickLine(number, item, qty, uom, rows.text(line, row, "description")))
        address = Address(
            name=rows.text(first_line, first, "ship_to_name", required=True),
            lines=tuple(v for v in (first.get("ship_to_address1", ""), first.get("ship_to_address2", "")) if v),
            city=first.get("ship_to_city", ""),
            region=first.get("ship_to_region", ""),
            postcode=first.get("ship_to_postcode", ""),
            country=first.get("ship_to_country", ""),
        )
        tickets.append(
            PickTicket(
                order_id=order_id,
                ship_to=address,
                lines=tuple(lines),
                purchase_order=rows.text(first_line, first, "purchase_order") or None,
                ship_by=rows.date(first_line, first, "ship_by"),
                carrier=rows.text(first_line, first, "carrier") or None,
                instructions=rows.text(first_line, first, "instructions"),
            )
        )
    return _finish(rows, tickets)


def read_shipment_confirmations(data: bytes | str) -> Outcome[tuple[ShipmentConfirmation, ...]]:
    rows = _start(data, SHIPMENT_CONFIRMATION)
    if isinstance(rows, Rejected):
        return rows
    confirmations: list[ShipmentConfirmation] = []
    key = _group(rows, lambda r: (r.get("order_id", "").strip(), r.get("shipment_id", "").strip()))
    for (order_id, shipment_id), group in key.items():
        first_line, first = group[0]
        if not order_id:
            rows.error(first_line, "order_id", "is required")
            continue
        for column in ("shipped_on", "carrier", "tracking"):
            rows.same_on_every_row(group, column)
        lines: list[ShippedLine] = []
        for line, row in group:
            shipped = rows.quantity(line, row, "qty_shipped")
            ordered = rows.quantity(line, row, "qty_ordered", required=False)
            number = rows.quantity(line, row, "line_no", required=False)
            item = rows.item(line, row)
            cartons: tuple[str, ...] = ()
            raw_sscc = rows.text(line, row, "sscc")
            if raw_sscc:
                cartons = (_sscc(rows, line, raw_sscc),)
            if shipped is not None:
                lines.append(
                    ShippedLine(
                        item=item,
                        qty_shipped=shipped,
                        qty_ordered=ordered,
                        uom=rows.text(line, row, "uom") or "EA",
                        line_no=number,
                        lot=rows.text(line, row, "lot") or None,
                        cartons=cartons,
                    )
                )
        confirmations.append(
            ShipmentConfirmation(
                order_id=order_id,
                lines=tuple(lines),
                shipment_id=shipment_id or None,
                shipped_on=rows.date(first_line, first, "shipped_on"),
                carrier=rows.text(first_line, first, "carrier") or None,
                tracking=rows.text(first_line, first, "tracking") or None,
            )
        )
    return _finish(rows, confirmations)


def _sscc(rows: _Rows, line: int, raw: str) -> str:
    """Same policy as X12: a bad check digit is kept and warned about; a non-SSCC is an error."""
    digits = raw.replace(" ", "").removeprefix("(00)")
    if len(digits) == 20 and digits.startswith("00"):
        digits = digits[2:]
    problem = sscc_problem(digits)
    if problem is None:
        return normalise_sscc(digits)
    if digits.isascii() and digits.isdigit() and len(digits) == 18:
        rows.warnings.append(Issue(f"{problem}; kept as sent", line=line, element="sscc"))
    else:
        rows.error(line, "sscc", problem)
    return digits


def read_receipts(data: bytes | str) -> Outcome[tuple[StockReceipt, ...]]:
    rows = _start(data, RECEIPT)
    if isinstance(rows, Rejected):
        return rows
    receipts: list[StockReceipt] = []
    for (receipt_id,), group in _group(rows, lambda r: (r.get("receipt_id", "").strip(),)).items():
        first_line, first = group[0]
        if not receipt_id:
            rows.error(first_line, "receipt_id", "is required")
            continue
        for column in ("reference", "received_on"):
            rows.same_on_every_row(group, column)
        lines: list[ReceivedLine] = []
        for line, row in group:
            received = rows.quantity(line, row, "qty_received")
            damaged = rows.quantity(line, row, "qty_damaged", required=False) or 0
            number = rows.quantity(line, row, "line_no", required=False)
            item = rows.item(line, row)
            if received is not None and damaged > received:
                rows.error(line, "qty_damaged", f"{damaged} damaged of {received} received")
            elif received is not None:
                uom, lot = rows.text(line, row, "uom") or "EA", rows.text(line, row, "lot") or None
                lines.append(ReceivedLine(item, received, uom, number, lot, damaged))
        receipts.append(
            StockReceipt(
                receipt_id=receipt_id,
                lines=tuple(lines),
                reference=rows.text(first_line, first, "reference") or None,
                received_on=rows.date(first_line, first, "received_on"),
            )
        )
    return _finish(rows, receipts)


def read_inventory_snapshot(data: bytes | str, reference: str) -> Outcome[InventorySnapshot]:
    """One snapshot per file; ``reference`` names it (the file name), since the rows carry no id."""
    rows = _start(data, INVENTORY_SNAPSHOT)
    if isinstance(rows, Rejected):
        return rows
    measure = "on_hand" if "on_hand" in rows.columns else "available"
    rows.same_on_every_row(rows.rows, "as_of")
    levels: list[StockLevel] = []
    # One level per item; rows of the same item at several 3PL locations add up.
    for _, group in _group(rows, lambda r: (r.get("sku", "").strip(), r.get("gtin", "").strip())).items():
        item = rows.item(*group[0])
        rows.same_on_every_row(group, "uom")
        total = 0
        by_location: list[tuple[str, int]] = []
        for line, row in group:
            qty = rows.quantity(line, row, measure)
            location = rows.text(line, row, "location")
            if qty is None:
                continue
            total += qty
            if location:
                by_location.append((location, qty))
            elif len(group) > 1:
                rows.error(line, "location", "an item on several rows needs the location of each")
        uom, description = rows.text(*group[0], "uom") or "EA", rows.text(*group[0], "description")
        levels.append(StockLevel(item, total, measure, uom, description, tuple(by_location)))
    as_of = rows.date(rows.rows[0][0], rows.rows[0][1], "as_of")
    if rows.errors:
        return Rejected(tuple(rows.errors), tuple(rows.warnings))
    return Accepted(InventorySnapshot(reference, tuple(levels), as_of), tuple(rows.warnings))


def read_adjustments(data: bytes | str) -> Outcome[tuple[InventoryAdjustment, ...]]:
    """The CSV twin of the 947: ``adjustment_id, sku|gtin, qty_change, reason_code[, reason, uom, lot,
    line_no, adjusted_on]``; rows of one ``adjustment_id`` make one adjustment."""
    rows = _start(data, ADJUSTMENT)
    if isinstance(rows, Rejected):
        return rows
    adjustments: list[InventoryAdjustment] = []
    for (adjustment_id,), group in _group(rows, lambda r: (r.get("adjustment_id", "").strip(),)).items():
        first_line, first = group[0]
        if not adjustment_id:
            rows.error(first_line, "adjustment_id", "is required")
            continue
        rows.same_on_every_row(group, "adjusted_on")
        lines: list[AdjustmentLine] = []
        for line, row in group:
            change = rows.change(line, row, "qty_change")
            code = rows.text(line, row, "reason_code", required=True)
            item = rows.item(line, row)
            number = rows.quantity(line, row, "line_no", required=False)
            if change is None or not code:
                continue
            reason = rows.text(line, row, "reason") or ADJUSTMENT_REASONS.get(code, f"reason code {code}")
            uom, lot = rows.text(line, row, "uom") or "EA", rows.text(line, row, "lot") or None
            lines.append(AdjustmentLine(item, change, code, reason, uom, number, lot))
        adjustments.append(
            InventoryAdjustment(adjustment_id, tuple(lines), rows.date(first_line, first, "adjusted_on"))
        )
    return _finish(rows, adjustments)
