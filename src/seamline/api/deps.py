"""Request-scoped helpers: the service, the caller, the trace id and the idempotency key."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from seamline.api.bodies import is_json_media_type
from seamline.domain.errors import FieldError, InvalidInput
from seamline.domain.ids import random_hex
from seamline.service import Principal, Seamline
from seamline.service.app import IdempotencyKey

M = TypeVar("M", bound=BaseModel)

TRACEPARENT_RE = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def service(request: Request) -> Seamline:
    svc: Seamline = request.app.state.seamline
    return svc


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def principal(request: Request) -> Principal:
    return service(request).authenticate(_bearer(request))


async def principal_async(request: Request) -> Principal:
    """For async routes on the hot path: a cached token is answered on the event loop, without the
    thread-pool hop a sync dependency costs; a cache miss reads the database in the pool."""
    svc, token = service(request), _bearer(request)
    cached = svc.authenticate_cached(token)
    if cached is not None:
        return cached
    return await run_in_threadpool(svc.authenticate, token)


def trace_id_from(traceparent: str) -> str:
    """W3C traceparent's trace id when the caller sent a valid one, else a new one (DESIGN 8 tracing)."""
    match = TRACEPARENT_RE.match(traceparent)
    return match.group(1) if match and match.group(1) != "0" * 32 else random_hex()


def trace_id(request: Request) -> str:
    value: str | None = getattr(request.state, "trace_id", None)
    if value is None:
        value = request.state.trace_id = trace_id_from(request.headers.get("traceparent", ""))
    return value


def idempotency_key(request: Request, who: Principal, body: Any) -> IdempotencyKey | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= 200 or not key.isprintable():
        raise InvalidInput("bad Idempotency-Key", [FieldError("Idempotency-Key", "must be 1-200 printable characters")])
    canonical = json.dumps(
        {"method": request.method, "path": request.url.path, "body": body}, sort_keys=True, separators=(",", ":")
    )
    return IdempotencyKey(who.id, key, hashlib.sha256(canonical.encode()).hexdigest())


async def read_json_body(request: Request) -> Any:
    """The body as FastAPI reads one for a body parameter, before any dependency runs (so a malformed body is
    a 400 whoever sends it): the decoded JSON when the content type is JSON or absent, the raw bytes otherwise
    (``JsonRoute`` answers those 415 first), None when there is none. Malformed JSON is its
    ``RequestValidationError``; a body that cannot be read (the client went away) its 400.

    For the flash-sale path (``POST /v1/holds``), where FastAPI's body dependency cost more per request than
    the hold's share of its batch; ``validate_body`` finishes the job. A test compares both, error by error,
    with a route that declares its body the FastAPI way.
    """
    try:
        raw = await request.body()
        if not raw:
            return None
        content_type = request.headers.get("content-type")
        if not content_type or is_json_media_type(content_type):
            return json.loads(raw)
        return raw
    except json.JSONDecodeError as exc:
        error = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error", "input": {}}
        raise RequestValidationError([{**error, "ctx": {"error": exc.msg}}], body=exc.doc) from exc
    except HTTPException:
        raise
    except Exception as exc:  # noqa: BLE001 - as FastAPI: a disconnect, bad UTF-8 and the like are the client's
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc


def validate_body(model: type[M], payload: Any) -> M:
    """``payload`` from ``read_json_body`` as ``model``, with the errors, locations and messages of FastAPI's
    own body validation (Python-mode validation from attributes, locations under ``body``)."""
    if payload is None:
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}])
    try:
        return model.model_validate(payload, from_attributes=True)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None
