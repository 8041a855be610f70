"""The order state machine (DESIGN 5): placed -> allocated -> picked -> packed -> shipped -> closed, with
backordered, partially_* and cancelled. A step from a status that does not allow it is an error, never a
silent no-op.

The status of an open order is *derived* from its lines' quantities, so it can never disagree with them;
the steps only decide which transitions are legal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from enum import StrEnum

from seamline.domain.errors import Conflict
from seamline.orders.model import LineState, OrderStatus

S = OrderStatus


class Step(StrEnum):
    ALLOCATE = "allocate"
    PICK = "pick"
    PACK = "pack"
    SHIP = "ship"
    CANCEL = "cancel"
    CLOSE = "close"


ALLOWED_FROM: dict[Step, frozenset[OrderStatus]] = {
    Step.ALLOCATE: frozenset(
        {S.PLACED, S.BACKORDERED, S.PARTIALLY_ALLOCATED, S.PARTIALLY_PICKED, S.PARTIALLY_PACKED, S.PARTIALLY_SHIPPED}
    ),
    Step.PICK: frozenset(
        {S.ALLOCATED, S.PARTIALLY_ALLOCATED, S.PARTIALLY_PICKED, S.PARTIALLY_PACKED, S.PARTIALLY_SHIPPED}
    ),
    Step.PACK: frozenset({S.PICKED, S.PARTIALLY_PICKED, S.PARTIALLY_PACKED, S.PARTIALLY_SHIPPED}),
    Step.SHIP: frozenset({S.PACKED, S.PARTIALLY_PACKED, S.PARTIALLY_SHIPPED}),
    # Once anything has shipped the order is the customer's: what is left ships or is returned.
    Step.CANCEL: frozenset(
        {
            S.PLACED,
            S.BACKORDERED,
            S.PARTIALLY_ALLOCATED,
            S.ALLOCATED,
            S.PARTIALLY_PICKED,
            S.PICKED,
            S.PARTIALLY_PACKED,
            S.PACKED,
        }
    ),
    Step.CLOSE: frozenset({S.SHIPPED}),
}


def illegal(step: Step, status: OrderStatus, why: str | None = None) -> Conflict:
    detail = f"cannot {step.value} an order that is {status.value}"
    return Conflict(detail + (f": {why}" if why else ""), code="illegal-transition", extra={"current": status.value})


def require_step(step: Step, status: OrderStatus) -> None:
    if status not in ALLOWED_FROM[step]:
        raise illegal(step, status)


def derive_status(lines: Sequence[LineState]) -> OrderStatus:
    """The status an open order's quantities mean. Closed and cancelled are set by their steps."""
    wanted = sum(line.open for line in lines)
    if wanted == 0:
        return S.CANCELLED
    for total, full, partial in (
        (sum(line.shipped for line in lines), S.SHIPPED, S.PARTIALLY_SHIPPED),
        (sum(line.packed for line in lines), S.PACKED, S.PARTIALLY_PACKED),
        (sum(line.picked for line in lines), S.PICKED, S.PARTIALLY_PICKED),
        (sum(line.picked + line.allocated for line in lines), S.ALLOCATED, S.PARTIALLY_ALLOCATED),
    ):
        if total == wanted:
            return full
        if total > 0:
            return partial
    return S.BACKORDERED


def pack_all(lines: Sequence[LineState], status: OrderStatus) -> list[LineState]:
    """Pack every picked unit not yet packed."""
    require_step(Step.PACK, status)
    if not any(line.picked > line.packed for line in lines):
        raise illegal(Step.PACK, status, "no picked unit is waiting to be packed")
    return [replace(line, packed=line.picked) for line in lines]


def ship_all(lines: Sequence[LineState], status: OrderStatus) -> list[LineState]:
    """Ship every packed unit not yet shipped."""
    require_step(Step.SHIP, status)
    if not any(line.packed > line.shipped for line in lines):
        raise illegal(Step.SHIP, status, "no packed unit is waiting to be shipped")
    return [replace(line, shipped=line.packed) for line in lines]


def cancel_all(lines: Sequence[LineState], status: OrderStatus) -> list[LineState]:
    """Cancel every unit not yet picked. Picked units stay sold: bringing them back is a return."""
    require_step(Step.CANCEL, status)
    return [replace(line, cancelled=line.qty - line.picked, allocated=0) for line in lines]
