"""Shared vocabulary of the pure core: errors, money, quantities, time."""

from seamline.domain.clock import Clock, FixedClock, SystemClock
from seamline.domain.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    SeamlineError,
    Shortage,
    ShortLine,
    Unauthorized,
)
from seamline.domain.money import Money, parse_currency
from seamline.domain.quantity import require_positive_qty

__all__ = [
    "Clock",
    "Conflict",
    "FieldError",
    "FixedClock",
    "Forbidden",
    "InvalidInput",
    "Money",
    "NotFound",
    "SeamlineError",
    "ShortLine",
    "Shortage",
    "SystemClock",
    "Unauthorized",
    "parse_currency",
    "require_positive_qty",
]
