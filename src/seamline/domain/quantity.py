"""Quantities are whole units: an apparel ledger never holds half a shirt."""

from __future__ import annotations

from seamline.domain.errors import FieldError, InvalidInput


def require_positive_qty(qty: object, field: str = "qty") -> int:
    # bool is an int subclass; True is not "one unit".
    if isinstance(qty, bool) or not isinstance(qty, int):
        raise InvalidInput("quantity must be a whole number", [FieldError(field, "must be an integer")])
    if qty <= 0:
        raise InvalidInput("quantity must be positive", [FieldError(field, "must be greater than 0")])
    return qty
