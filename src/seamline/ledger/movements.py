"""Which two locations each kind of movement joins. Every kind is explicit; nothing is a free-form edit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from seamline.domain.errors import FieldError, InvalidInput
from seamline.domain.quantity import require_positive_qty
from seamline.ledger.model import (
    DIRECT_KINDS,
    PHYSICAL_KINDS,
    LocationKind,
    MovementKind,
    MovementRequest,
    PlannedMovement,
)

# kind -> (the virtual location on the fixed side, which side is fixed)
_FIXED_SIDE: dict[MovementKind, tuple[str, str]] = {
    MovementKind.RECEIPT: ("supplier", "from"),
    MovementKind.DAMAGE: ("damaged", "to"),
    MovementKind.SAMPLE: ("samples", "to"),
    MovementKind.EMPLOYEE_PURCHASE: ("customer", "to"),
}


def plan_movement(request: MovementRequest, location_kinds: dict[str, LocationKind]) -> PlannedMovement:
    """Resolve a client's movement into its two sides, or say precisely what is wrong.

    ``location_kinds`` maps every known location code to its kind.
    """
    try:
        kind = MovementKind(request.kind)
    except ValueError:
        raise InvalidInput(
            "unknown movement kind",
            [FieldError("kind", f"must be one of {', '.join(sorted(k.value for k in DIRECT_KINDS))}")],
        ) from None
    if kind not in DIRECT_KINDS:
        raise InvalidInput(
            f"{kind.value} movements are written by their documents (orders, transfers, counts)",
            [FieldError("kind", "is not a kind that can be posted directly")],
        )
    qty = require_positive_qty(request.qty)
    cost = request.unit_cost
    if cost is not None and (not isinstance(cost, Decimal) or not cost.is_finite() or cost < 0):
        # The bulk receipt's rule for a line's cost (``Inventory.receive_lines``): a negative cost would take
        # value out of stock it adds.
        raise InvalidInput("bad unit cost", [FieldError("unit_cost", "must be a decimal, 0 or more")])
    if cost is not None and kind is not MovementKind.RECEIPT:
        raise InvalidInput(
            "only a receipt carries a unit cost: other movements are valued at the location's average",
            [FieldError("unit_cost", "is only for a receipt")],
        )
    for field, code in (("from", request.from_location), ("to", request.to_location)):
        if code is not None and code not in location_kinds:
            raise InvalidInput(f"unknown location {code}", [FieldError(field, f"location {code!r} does not exist")])

    def physical(field: str, code: str | None) -> str:
        if code is None:
            raise InvalidInput(f"a {kind.value} needs `{field}`", [FieldError(field, "is required")])
        if location_kinds[code] not in PHYSICAL_KINDS:
            raise InvalidInput(
                f"{code} is a virtual location",
                [FieldError(field, "must be a warehouse, store or 3PL location")],
            )
        return code

    if kind is MovementKind.ADJUSTMENT:
        # A gain names `to`, a loss names `from`; the other side is the adjustment location.
        if (request.from_location is None) == (request.to_location is None):
            raise InvalidInput(
                "an adjustment names exactly one of `from` (a loss) or `to` (a gain)",
                [FieldError("from", "give either from or to"), FieldError("to", "give either from or to")],
            )
        if request.to_location is not None:
            src, dst = "adjustment", physical("to", request.to_location)
        else:
            src, dst = physical("from", request.from_location), "adjustment"
        if not (request.reason and request.reason.strip()):
            raise InvalidInput("an adjustment needs a reason", [FieldError("reason", "is required")])
    else:
        fixed, side = _FIXED_SIDE[kind]
        other = "to" if side == "from" else "from"
        given_fixed = request.from_location if side == "from" else request.to_location
        if given_fixed is not None and given_fixed != fixed:
            raise InvalidInput(
                f"a {kind.value} always goes {side} {fixed}",
                [FieldError(side, f"must be omitted or {fixed!r}")],
            )
        real = physical(other, request.to_location if other == "to" else request.from_location)
        src, dst = (fixed, real) if side == "from" else (real, fixed)

    return PlannedMovement(
        kind=kind,
        sku=request.sku,
        qty=qty,
        from_location=src,
        to_location=dst,
        reason=request.reason,
        document=request.document,
        channel=request.channel,
        # Goods leaving a sellable location must be available there: a damage write-off never eats a hold.
        checked=location_kinds[src] in PHYSICAL_KINDS,
        unit_cost=request.unit_cost,
    )


def plan_alike(
    request: MovementRequest,
    lines: Sequence[tuple[str, object, Decimal | None]],
    location_kinds: dict[str, LocationKind],
) -> tuple[list[PlannedMovement], list[tuple[int, FieldError]]]:
    """``plan_movement`` for many movements that differ only in SKU, quantity and unit cost (a receipt's
    lines): the kind and the two sides are resolved once, by ``plan_movement`` itself (which raises what is
    wrong with them, a unit cost on a kind that takes none included), and each line's quantity is checked by
    the very rule ``plan_movement`` applies. Answers the planned movements and, per bad line, its index and the
    quantity's error (``field`` "qty")."""
    costed = next((cost for _, _, cost in lines if cost is not None), None)
    template = plan_movement(replace(request, qty=1, unit_cost=costed), location_kinds)
    planned: list[PlannedMovement] = []
    errors: list[tuple[int, FieldError]] = []
    for i, (sku, qty, unit_cost) in enumerate(lines):
        if type(qty) is int and qty > 0:  # the common case skips the call; the rule is require_positive_qty's
            units = qty
        else:
            try:
                units = require_positive_qty(qty)
            except InvalidInput as exc:
                errors.extend((i, e) for e in exc.errors)
                continue
        planned.append(
            PlannedMovement(
                template.kind,
                sku,
                units,
                template.from_location,
                template.to_location,
                template.reason,
                template.document,
                template.channel,
                template.checked,
                unit_cost,
            )
        )
    return planned, errors
