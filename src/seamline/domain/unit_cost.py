"""A unit cost as a client gives it (a receipt's ``unit_cost``, a variant's standard cost in the API or in the
catalog CSV's ``cost`` column): one rule for all of them, here so the catalog's CSV rules (below finance in the
layers) check it exactly as the API does. ``finance.cost`` holds what is done with it."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from seamline.domain.errors import FieldError, InvalidInput

#: Decimals of a unit cost and of an average (a unit cost of 0.0125 is kept; a value is in minor units).
COST_PLACES = 4
COST_QUANTUM = Decimal(1).scaleb(-COST_PLACES)
#: The largest unit cost accepted (the column holds 14 digits, 4 of them decimals).
MAX_UNIT_COST = Decimal("9999999999.9999")


def round_cost(value: Decimal) -> Decimal:
    return value.quantize(COST_QUANTUM, rounding=ROUND_HALF_EVEN)


def parse_unit_cost(raw: object, field: str = "unit_cost") -> Decimal:
    """A unit cost from a client: a decimal string or number, finite, 0 or more, at most ``COST_PLACES``
    decimals. Anything else is ``InvalidInput`` naming the field."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise InvalidInput("bad unit cost", [FieldError(field, 'must be a decimal string such as "12.50"')])
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise InvalidInput("bad unit cost", [FieldError(field, "is not a decimal number")]) from None
    if not value.is_finite():
        raise InvalidInput("bad unit cost", [FieldError(field, "must be finite")])
    if value < 0:
        raise InvalidInput("bad unit cost", [FieldError(field, "must not be negative")])
    if value != round_cost(value):
        raise InvalidInput("bad unit cost", [FieldError(field, f"has more than {COST_PLACES} decimals")])
    if value > MAX_UNIT_COST:
        raise InvalidInput("bad unit cost", [FieldError(field, f"must be at most {MAX_UNIT_COST}")])
    return value


__all__ = ["COST_PLACES", "COST_QUANTUM", "MAX_UNIT_COST", "parse_unit_cost", "round_cost"]
