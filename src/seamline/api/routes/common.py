"""Shared route plumbing: documented problem responses and running a command with its idempotency key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from seamline.api.deps import idempotency_key, service
from seamline.api.problems import MEDIA_TYPE
from seamline.api.schemas import Problem
from seamline.service import Principal
from seamline.service.group_commit import LockKeys
from seamline.service.unit_of_work import UnitOfWork

_PROBLEM = {"model": Problem, "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {**_PROBLEM, "description": text}
    for status, text in (
        (400, "Malformed request"),
        (401, "Missing or invalid token"),
        (403, "Token lacks the scope"),
        (404, "Not found"),
        (409, "Conflict"),
        (413, "Body too large"),
        (415, "The body is not JSON (send Content-Type: application/json)"),
        (422, "Invalid input"),
    )
}


def put_status(created: bool) -> int:
    """A command's typed result to HTTP: 201 when it created the thing, 200 when it was there already (a
    repeated external id, a PUT of an existing resource)."""
    return 201 if created else 200


def run_command(
    request: Request,
    who: Principal,
    body: Any,
    work: Callable[[UnitOfWork], tuple[int, Any]],
    *,
    batch: bool = False,
    lock_keys: LockKeys | None = None,
) -> JSONResponse:
    """Execute a write, honouring Idempotency-Key: a replay answers the first response, marked as such.
    ``batch``: through the group commit (sales and orders; issue 9); ``lock_keys``: the balance rows it may
    touch, locked first in the global order."""
    stored = service(request).idempotent(idempotency_key(request, who, body), work, batch=batch, lock_keys=lock_keys)
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else None
    return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)
