"""Cancelling units of order lines after the order was taken (issue 21): a line Seamline cannot serve, or one
a person cancels, while the rest of the order goes on. Pure: the caller releases the allocations named and
saves the lines.

Only units not picked can be cancelled (picked units left the shelf: bringing them back is a return).
Units still backordered go first (no stock to give back), then allocated ones, whose allocations are
released. An order whose every unit ends cancelled is cancelled; otherwise its status follows its lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from seamline.domain.errors import Conflict, FieldError, InvalidInput
from seamline.orders.model import LineState, OrderStatus
from seamline.orders.state import derive_status

#: Statuses with units that may still be cancelled line by line (a part shipped included).
OPEN_STATUSES = frozenset(set(OrderStatus) - {OrderStatus.SHIPPED, OrderStatus.CLOSED, OrderStatus.CANCELLED})


@dataclass(frozen=True)
class LineCancellation:
    lines: tuple[LineState, ...]
    status: OrderStatus
    #: Line number -> allocated units to release (the rest of each cancellation was backordered).
    release: Mapping[int, int]


def cancel_units(lines: Sequence[LineState], status: OrderStatus, wanted: Mapping[int, int]) -> LineCancellation:
    """Cancel ``wanted`` (line number -> units) of ``lines``. Every problem is reported at once, nothing
    applied: an unknown line, a count that is not positive, more units than are still unpicked."""
    if status not in OPEN_STATUSES:
        raise Conflict(
            f"cannot cancel lines of an order that is {status.value}",
            code="illegal-transition",
            extra={"current": status.value},
        )
    if not wanted:
        raise InvalidInput("no lines to cancel", [FieldError("lines", "name at least one line")])
    by_no = {line.line_no: line for line in lines}
    errors: list[FieldError] = []
    for line_no, qty in sorted(wanted.items()):
        line = by_no.get(line_no)
        if line is None:
            errors.append(FieldError(f"lines.{line_no}", "no such line on this order"))
        elif qty <= 0:
            errors.append(FieldError(f"lines.{line_no}.qty", "must be 1 or more"))
        elif qty > line.allocated + line.backordered:
            errors.append(
                FieldError(
                    f"lines.{line_no}.qty",
                    f"{line.allocated + line.backordered} unit(s) not picked yet; picked units come back as a return",
                )
            )
    if errors:
        raise InvalidInput("cannot cancel these units", errors, code="cancel-refused")
    out: list[LineState] = []
    release: dict[int, int] = {}
    for line in lines:
        qty = wanted.get(line.line_no, 0)
        if not qty:
            out.append(line)
            continue
        from_allocation = max(0, qty - line.backordered)
        if from_allocation:
            release[line.line_no] = from_allocation
        out.append(replace(line, cancelled=line.cancelled + qty, allocated=line.allocated - from_allocation))
    return LineCancellation(tuple(out), derive_status(out), release)
