"""RFC 9457 problem details. ``type`` is a stable URI per error code; docs/errors.md documents each."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from seamline.domain.errors import InvalidInput, SeamlineError, Shortage, Unavailable

PROBLEM_BASE = "https://seamline.dev/problems/"
MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("seamline.api")

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    500: "Internal server error",
    503: "Service unavailable",
}


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    errors: Sequence[dict[str, str]] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = list(errors)
    if extra:  # RFC 9457's members are the problem's own: an extra never replaces them (``status`` is the HTTP one)
        body.update({key: value for key, value in extra.items() if key not in body})
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field_path(loc: Sequence[Any]) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + ("from" if part == "from_" else str(part))
    return out or "body"


async def on_seamline_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SeamlineError)
    errors = None
    extra = dict(exc.extra)
    if isinstance(exc, InvalidInput):
        errors = [{"field": e.field, "message": e.message} for e in exc.errors]
    if isinstance(exc, Shortage):
        extra["shortages"] = [
            {"sku": s.sku, "requested": s.requested, "available": s.available, "location": s.location, "bound": s.bound}
            for s in exc.lines
        ]
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if isinstance(exc, Unavailable):
        headers = {"Retry-After": str(exc.retry_after)}
    return problem(exc.status, exc.code, exc.detail, errors=errors, extra=extra, headers=headers)


async def on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            return problem(400, "malformed-json", f"the body is not valid JSON: {err.get('msg')}")
        errors.append({"field": _field_path(err.get("loc", ())), "message": str(err.get("msg"))})
    return problem(422, "validation-error", "the request is not valid", errors=errors)


async def on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not-found", 405: "method-not-allowed", 413: "body-too-large", 415: "unsupported-media-type"}.get(
        exc.status_code, "http-error"
    )
    return problem(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "internal-error", "an unexpected error occurred; it has been logged")
