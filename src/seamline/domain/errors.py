"""Every failure the core can answer with, each with a stable code.

The API turns ``code`` into the problem ``type`` URI, so clients can branch on it; ``docs/errors.md``
lists every code and a test fails when one is missing there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class ShortLine:
    sku: str
    requested: int
    available: int
    location: str | None = None
    #: Which bound of the channel's policy refused the line (DESIGN 4.4, docs/availability.md): ``sources``
    #: (not enough at the locations it may draw on), ``ring_fence`` (the rest is kept for another channel)
    #: or ``safety_stock`` (a hold may not take the channel's buffer); None when no channel policy applied.
    bound: str | None = None


class SeamlineError(Exception):
    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad-request"

    def __init__(self, detail: str, *, code: str | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.extra: dict[str, Any] = extra or {}


class InvalidInput(SeamlineError):
    status = 422
    default_code = "validation-error"

    def __init__(self, detail: str, errors: list[FieldError] | None = None, *, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.errors = errors or []


class NotFound(SeamlineError):
    status = 404
    default_code = "not-found"


class Conflict(SeamlineError):
    status = 409
    default_code = "conflict"


class Shortage(Conflict):
    """Not enough available stock; nothing was held. Lists every short line, not just the first."""

    default_code = "insufficient-stock"

    def __init__(self, lines: list[ShortLine]) -> None:
        skus = ", ".join(line.sku for line in lines)
        super().__init__(f"not enough available stock for {skus}")
        self.lines = lines


class Unauthorized(SeamlineError):
    status = 401
    default_code = "unauthorized"


class Forbidden(SeamlineError):
    status = 403
    default_code = "forbidden"


class Unavailable(SeamlineError):
    """The server is at capacity: retry after ``retry_after`` seconds. Nothing was written."""

    status = 503
    default_code = "overloaded"

    def __init__(self, detail: str, *, retry_after: int = 1, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.retry_after = retry_after
