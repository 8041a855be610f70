"""Transfers and counts (DESIGN 5): stock moving between the brand's own locations, and stock checked
against the shelf. Each public method taking a ``conn`` is one whole transaction."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from seamline.domain.clock import iso_utc
from seamline.domain.errors import FieldError, InvalidInput, NotFound, Shortage, ShortLine
from seamline.domain.quantity import require_positive_qty
from seamline.ledger.model import PHYSICAL_KINDS, MovementKind, PlannedMovement
from seamline.orders.stock_documents import (
    CountStatus,
    TransferStatus,
    count_variance,
    receipt_lines,
    require_count_open,
    require_transfer_step,
)
from seamline.service import metrics
from seamline.service.app import Seamline
from seamline.service.orders import record_oversell
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import catalog_repo, ledger_repo, stock_documents_repo


class StockDesk:
    def __init__(self, app: Seamline) -> None:
        self.app = app

    def _now(self) -> datetime:
        return self.app.clock.now()

    def _physical(self, conn: Connection, code: str, field_name: str) -> str:
        kinds = ledger_repo.location_kinds(conn)
        if code not in kinds:
            raise InvalidInput(
                f"unknown location {code}", [FieldError(field_name, f"location {code!r} does not exist")]
            )
        if kinds[code] not in PHYSICAL_KINDS:
            raise InvalidInput(
                f"{code} is a virtual location", [FieldError(field_name, "must be a warehouse, store or 3PL location")]
            )
        return code

    def _units(self, conn: Connection, lines: Sequence[tuple[str, int]], *, allow_zero: bool = False) -> dict[str, int]:
        """Lines to units per SKU: quantities checked, prepacks exploded (stock is kept in units)."""
        errors: list[FieldError] = []
        codes: set[str] = set()
        if not lines:
            errors.append(FieldError("lines", "needs at least one line"))
            codes.add("validation-error")
        kinds = catalog_repo.known_skus(conn, [sku for sku, _ in lines])
        packs = catalog_repo.prepack_map(conn, [s for s, k in kinds.items() if k == "prepack"])
        out: dict[str, int] = defaultdict(int)
        for i, (sku, qty) in enumerate(lines):
            if allow_zero and isinstance(qty, int) and not isinstance(qty, bool) and qty == 0:
                pass
            else:
                try:
                    require_positive_qty(qty, f"lines[{i}].qty")
                except InvalidInput as exc:
                    errors.extend(exc.errors)
                    codes.add(exc.code)
                    continue
            if sku not in kinds:
                errors.append(FieldError(f"lines[{i}].sku", f"unknown SKU {sku!r}"))
                codes.add("unknown-sku")
                continue
            for component, units in packs.get(sku, [(sku, 1)]):
                out[component] += qty * units
        if errors:
            raise InvalidInput("the lines are not valid", errors, code=codes.pop() if len(codes) == 1 else None)
        return dict(out)

    def _move(
        self,
        uow: UnitOfWork,
        kind: MovementKind,
        sku: str,
        qty: int,
        src: str,
        dst: str,
        document: str,
        trace_id: str | None,
        *,
        checked: bool,
        reason: str | None = None,
    ) -> dict[str, Any]:
        move = PlannedMovement(kind, sku, qty, src, dst, reason, document, None, checked)
        row = ledger_repo.record_movement(uow, move, now=self._now(), trace_id=trace_id)
        metrics.MOVEMENTS.labels(kind.value).inc()
        metrics.MOVEMENT_UNITS.labels(kind.value).inc(qty)
        return row

    # ------------------------------------------------------------------------------------ transfers
    def create_transfer(
        self,
        conn: Connection,
        from_location: str,
        to_location: str,
        lines: Sequence[tuple[str, int]],
        *,
        trace_id: str | None = None,
    ) -> dict[str, Any]:
        """A transfer between two of the brand's locations (store to store, warehouse to store). It moves
        nothing until it ships."""
        src = self._physical(conn, from_location, "from")
        dst = self._physical(conn, to_location, "to")
        if src == dst:
            raise InvalidInput(
                "a transfer goes between two locations",
                [FieldError("to", f"is the same location as from ({src})")],
                code="same-location",
            )
        units = self._units(conn, lines)
        transfer_id = "trf_" + uuid.uuid4().hex
        stock_documents_repo.insert_transfer(
            conn,
            {
                "id": transfer_id,
                "from_location": src,
                "to_location": dst,
                "status": TransferStatus.OPEN.value,
                "created_at": self._now(),
                "trace_id": trace_id,
            },
            units,
        )
        return self.transfer_view(conn, transfer_id)

    def _locked_transfer(self, conn: Connection, transfer_id: str) -> dict[str, Any]:
        transfer = stock_documents_repo.get_transfer(conn, transfer_id, for_update=True)
        if transfer is None:
            raise NotFound(f"no transfer {transfer_id}", code="unknown-transfer")
        return transfer

    def ship_transfer(self, uow: UnitOfWork, transfer_id: str, *, trace_id: str | None = None) -> dict[str, Any]:
        """from -> in_transit. Units in transit are in no channel's availability. All lines or none."""
        conn = uow.conn
        transfer = self._locked_transfer(conn, transfer_id)
        require_transfer_step("ship", TransferStatus(transfer["status"]))
        short: list[ShortLine] = []
        for line in transfer["lines"]:
            if not line["qty"]:
                continue
            try:
                self._move(
                    uow,
                    MovementKind.TRANSFER_OUT,
                    line["sku"],
                    line["qty"],
                    transfer["from_location"],
                    "in_transit",
                    transfer_id,
                    trace_id,
                    checked=True,
                )
            except Shortage as exc:
                short.extend(exc.lines)
        if short:
            raise Shortage(short)
        stock_documents_repo.update_transfer(
            conn, transfer_id, status=TransferStatus.IN_TRANSIT.value, shipped_at=self._now()
        )
        return self.transfer_view(conn, transfer_id)

    def receive_transfer(
        self,
        uow: UnitOfWork,
        transfer_id: str,
        lines: Sequence[tuple[str, int]] | None = None,
        *,
        trace_id: str | None = None,
    ) -> dict[str, Any]:
        """in_transit -> to. Without lines, exactly what shipped arrived. A short receipt writes the missing
        units off in transit, an over receipt books the extra as a gain: explicit adjustments, both."""
        conn = uow.conn
        transfer = self._locked_transfer(conn, transfer_id)
        require_transfer_step("receive", TransferStatus(transfer["status"]))
        shipped = {line["sku"]: line["qty"] for line in transfer["lines"]}
        received = None if lines is None else self._units(conn, lines, allow_zero=True)
        dst = transfer["to_location"]
        for item in receipt_lines(shipped, received):
            if item.arrived:
                self._move(
                    uow,
                    MovementKind.TRANSFER_IN,
                    item.sku,
                    item.arrived,
                    "in_transit",
                    dst,
                    transfer_id,
                    trace_id,
                    checked=False,
                )
            if item.short:
                self._move(
                    uow,
                    MovementKind.ADJUSTMENT,
                    item.sku,
                    item.short,
                    "in_transit",
                    "adjustment",
                    transfer_id,
                    trace_id,
                    checked=False,
                    reason=f"short receipt of transfer {transfer_id}",
                )
            if item.over:
                self._move(
                    uow,
                    MovementKind.ADJUSTMENT,
                    item.sku,
                    item.over,
                    "adjustment",
                    dst,
                    transfer_id,
                    trace_id,
                    checked=False,
                    reason=f"over receipt of transfer {transfer_id}",
                )
        stock_documents_repo.set_received(
            conn, transfer_id, {item.sku: item.received for item in receipt_lines(shipped, received)}
        )
        stock_documents_repo.update_transfer(
            conn, transfer_id, status=TransferStatus.RECEIVED.value, received_at=self._now()
        )
        return self.transfer_view(conn, transfer_id)

    def cancel_transfer(self, conn: Connection, transfer_id: str) -> dict[str, Any]:
        transfer = self._locked_transfer(conn, transfer_id)
        require_transfer_step("cancel", TransferStatus(transfer["status"]))
        stock_documents_repo.update_transfer(conn, transfer_id, status=TransferStatus.CANCELLED.value)
        return self.transfer_view(conn, transfer_id)

    def transfer_view(self, conn: Connection, transfer_id: str) -> dict[str, Any]:
        row = stock_documents_repo.get_transfer(conn, transfer_id)
        assert row is not None
        return transfer_view(row)

    def get_transfer(self, transfer_id: str) -> dict[str, Any]:
        row = self.app.read(lambda conn: stock_documents_repo.get_transfer(conn, transfer_id))
        if row is None:
            raise NotFound(f"no transfer {transfer_id}", code="unknown-transfer")
        return transfer_view(row)

    # ------------------------------------------------------------------------------------ counts
    def start_count(
        self, conn: Connection, location: str, skus: Sequence[str] | None = None, *, trace_id: str | None = None
    ) -> dict[str, Any]:
        """Snapshot what the ledger expects on the shelf (the given SKUs, or every SKU the location holds)."""
        loc = self._physical(conn, location, "location")
        if skus is not None:
            known = catalog_repo.known_skus(conn, skus)
            bad = [
                FieldError(f"skus[{i}]", f"unknown SKU {sku!r}" if sku not in known else "is a prepack: count units")
                for i, sku in enumerate(skus)
                if known.get(sku) != "variant"
            ]
            if bad:
                codes = {"unknown-sku" if "unknown" in e.message else "prepack-not-stocked" for e in bad}
                raise InvalidInput("the SKUs are not valid", bad, code=codes.pop() if len(codes) == 1 else None)
        on_hand = ledger_repo.on_hand_by_sku(conn, loc, skus)
        expected = {sku: on_hand.get(sku, 0) for sku in (skus if skus is not None else on_hand)}
        count_id = "cnt_" + uuid.uuid4().hex
        stock_documents_repo.insert_count(
            conn,
            {
                "id": count_id,
                "location": loc,
                "status": CountStatus.OPEN.value,
                "started_at": self._now(),
                "trace_id": trace_id,
            },
            expected,
        )
        return self.count_view(conn, count_id)

    def _locked_count(self, conn: Connection, count_id: str) -> dict[str, Any]:
        count = stock_documents_repo.get_count(conn, count_id, for_update=True)
        if count is None:
            raise NotFound(f"no count {count_id}", code="unknown-count")
        return count

    def enter_count(self, conn: Connection, count_id: str, lines: Sequence[tuple[str, int]]) -> dict[str, Any]:
        """Enter counted quantities. The ledger's on-hand at this moment is kept with each, so sales and
        receipts between the start and now are not mistaken for shrink. Entering a SKU again recounts it."""
        count = self._locked_count(conn, count_id)
        require_count_open(CountStatus(count["status"]), "enter")
        errors: list[FieldError] = []
        codes: set[str] = set()
        if not lines:
            errors.append(FieldError("lines", "needs at least one line"))
            codes.add("validation-error")
        kinds = catalog_repo.known_skus(conn, [sku for sku, _ in lines])
        for i, (sku, counted) in enumerate(lines):
            if isinstance(counted, bool) or not isinstance(counted, int) or counted < 0:
                errors.append(FieldError(f"lines[{i}].counted", "must be a whole number, 0 or more"))
                codes.add("validation-error")
            elif sku not in kinds:
                errors.append(FieldError(f"lines[{i}].sku", f"unknown SKU {sku!r}"))
                codes.add("unknown-sku")
            elif kinds[sku] != "variant":
                errors.append(FieldError(f"lines[{i}].sku", "is a prepack: count its units"))
                codes.add("prepack-not-stocked")
        if errors:
            raise InvalidInput("the counted lines are not valid", errors, code=codes.pop() if len(codes) == 1 else None)
        now = self._now()
        for sku, counted in lines:
            on_hand = ledger_repo.on_hand_at(conn, sku, count["location"])
            stock_documents_repo.enter_count(conn, count_id, sku, counted=counted, on_hand=on_hand, now=now)
        return self.count_view(conn, count_id)

    def post_count(self, uow: UnitOfWork, count_id: str, *, trace_id: str | None = None) -> dict[str, Any]:
        """Book the differences as ``count`` movements (to or from ``adjustment``). A loss is goods that are
        not there, so it is booked even when they were promised: an oversell exception then names the
        orders short. SKUs never counted are left alone."""
        conn = uow.conn
        count = self._locked_count(conn, count_id)
        require_count_open(CountStatus(count["status"]), "post")
        now = self._now()
        loc = count["location"]
        for line in count["lines"]:
            if line["counted"] is None:
                continue
            variance = count_variance(line["on_hand_at_entry"], line["counted"])
            if variance < 0:
                move = PlannedMovement(
                    MovementKind.COUNT,
                    line["sku"],
                    -variance,
                    loc,
                    "adjustment",
                    f"count {count_id}",
                    count_id,
                    None,
                    False,
                )
                row, after = ledger_repo.record_forced_movement(uow, move, now=now, trace_id=trace_id)
                record_oversell(
                    uow, after, moved=-variance, cause="count", document=count_id, movement_id=row["id"], now=now
                )
            elif variance > 0:
                move = PlannedMovement(
                    MovementKind.COUNT,
                    line["sku"],
                    variance,
                    "adjustment",
                    loc,
                    f"count {count_id}",
                    count_id,
                    None,
                    False,
                )
                ledger_repo.record_movement(uow, move, now=now, trace_id=trace_id)
            if variance:
                metrics.MOVEMENTS.labels("count").inc()
                metrics.MOVEMENT_UNITS.labels("count").inc(abs(variance))
        stock_documents_repo.update_count(conn, count_id, status=CountStatus.POSTED.value, posted_at=now)
        return self.count_view(conn, count_id)

    def cancel_count(self, conn: Connection, count_id: str) -> dict[str, Any]:
        count = self._locked_count(conn, count_id)
        require_count_open(CountStatus(count["status"]), "cancel")
        stock_documents_repo.update_count(conn, count_id, status=CountStatus.CANCELLED.value)
        return self.count_view(conn, count_id)

    def count_view(self, conn: Connection, count_id: str) -> dict[str, Any]:
        row = stock_documents_repo.get_count(conn, count_id)
        assert row is not None
        return count_view(row)

    def get_count(self, count_id: str) -> dict[str, Any]:
        row = self.app.read(lambda conn: stock_documents_repo.get_count(conn, count_id))
        if row is None:
            raise NotFound(f"no count {count_id}", code="unknown-count")
        return count_view(row)


def _iso(value: datetime | None) -> str | None:
    return iso_utc(value) if value else None


def transfer_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "from": row["from_location"],
        "to": row["to_location"],
        "status": row["status"],
        "lines": [{"sku": line["sku"], "qty": line["qty"], "received": line["received"]} for line in row["lines"]],
        "created_at": _iso(row["created_at"]),
        "shipped_at": _iso(row["shipped_at"]),
        "received_at": _iso(row["received_at"]),
    }


def count_view(row: Mapping[str, Any]) -> dict[str, Any]:
    lines = []
    for line in row["lines"]:
        entered = line["counted"] is not None
        lines.append(
            {
                "sku": line["sku"],
                "expected": line["expected"],
                "counted": line["counted"],
                "on_hand_at_entry": line["on_hand_at_entry"],
                "moved_during_count": (
                    line["on_hand_at_entry"] - line["expected"] if entered and line["expected"] is not None else None
                ),
                "variance": count_variance(line["on_hand_at_entry"], line["counted"]) if entered else None,
            }
        )
    return {
        "id": row["id"],
        "location": row["location"],
        "status": row["status"],
        "lines": lines,
        "started_at": _iso(row["started_at"]),
        "posted_at": _iso(row["posted_at"]),
    }
