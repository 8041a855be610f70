"""Wholesale terms: a ship window (start-ship to cancel date) and the order in which backorders are served."""

from __future__ import annotations

from datetime import date, datetime

from seamline.domain.errors import Conflict, FieldError, InvalidInput


def check_window(ship_start: date | None, cancel_date: date | None) -> None:
    if ship_start is not None and cancel_date is not None and cancel_date < ship_start:
        raise InvalidInput(
            "the cancel date is before the start-ship date",
            [FieldError("ship_window.cancel", "must be on or after ship_window.start")],
        )


def require_in_window(ship_start: date | None, cancel_date: date | None, today: date) -> None:
    """A wholesale order ships inside its window: the retailer may refuse goods early or after cancel."""
    if ship_start is not None and today < ship_start:
        raise Conflict(f"the ship window opens on {ship_start.isoformat()}", code="outside-ship-window")
    if cancel_date is not None and today > cancel_date:
        raise Conflict(f"the ship window closed on {cancel_date.isoformat()}", code="outside-ship-window")


def past_cancel(cancel_date: date | None, today: date) -> bool:
    return cancel_date is not None and today > cancel_date


def allocation_priority(ship_start: date | None, placed_at: datetime, seq: int) -> tuple[date, datetime, int]:
    """Backorders are served by ship date, then first come first served; an order without a ship window
    wants its goods from the day it was placed."""
    return (ship_start or placed_at.date(), placed_at, seq)
