"""What a request body may be, on every API route (docs/errors.md, "Request bodies").

FastAPI reads a body only for a route that declares one, and reads ``null`` as "no body": a route whose body
is optional (a pick with no lines picks everything) would take ``null`` for "all", and a route with no body
would ignore a truncated one and write. ``JsonRoute`` checks the raw body before FastAPI sees it, for the
routes of the JSON API; the webhook routes keep the plain route, reading their raw bodies as the platforms
send them (the signature covers those bytes).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Iterator
from typing import Any
from urllib.parse import parse_qsl

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from seamline.api import problems

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NUL_MESSAGE = "must not contain the NUL character (\\u0000)"
NO_BODY_MESSAGE = "this operation takes no body: send none, or {}"
NULL_BODY_MESSAGE = "send a JSON object, or no body at all (null is not an object)"


def is_json_media_type(content_type: str) -> bool:
    """``application/json`` or ``application/*+json``, parameters (``charset``) aside."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def unsupported_media_type(content_type: str) -> HTTPException:
    return HTTPException(
        status_code=415,
        detail=f"the body's media type is {content_type!r}: send JSON with Content-Type: application/json",
    )


def _nul_paths(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, str):
        if "\x00" in value:
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                yield (*path, key)
            yield from _nul_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_paths(item, (*path, index))


def refuse_nul_in_json(raw: bytes) -> None:
    """422 naming every string that holds a NUL: PostgreSQL's text cannot store one. The byte scan is the
    whole cost for bodies without the escape; ``"\\\\u0000"`` (an escaped backslash) is parsed and let go."""
    if b"\\u0000" not in raw:
        return
    try:
        value = json.loads(raw)
    except ValueError:
        return  # malformed: FastAPI's own reading answers 400
    errors = [
        {"type": "string_nul", "loc": ("body", *path), "msg": NUL_MESSAGE, "input": None} for path in _nul_paths(value)
    ]
    if errors:
        raise RequestValidationError(errors)


def _malformed(exc: json.JSONDecodeError) -> RequestValidationError:
    """The error FastAPI raises for a malformed body parameter, so every route answers it alike."""
    error = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error", "input": {}}
    return RequestValidationError([{**error, "ctx": {"error": exc.msg}}], body=exc.doc)


def _declares_body(route: APIRoute) -> bool:
    """A body parameter, or a body the route reads itself and documents (``POST /v1/holds``)."""
    return route.body_field is not None or "requestBody" in (route.openapi_extra or {})


class JsonRoute(APIRoute):
    """An API route whose body, when there is one, must be JSON: a media type other than JSON is 415 (none at
    all is read as JSON); a route without a body takes none (or ``{}``), malformed is 400 and anything else
    422; a route whose body is optional refuses ``null``; a string with a NUL is 422."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not (self.methods or set()) & WRITES:
            return handler  # a read's body is never read
        declared = _declares_body(self)
        optional = self.body_field is not None and not self.body_field.field_info.is_required()

        async def checked(request: Request) -> Response:
            try:
                raw = await request.body()
            except Exception as exc:  # noqa: BLE001 - as FastAPI: a client gone mid-body is its 400
                raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc
            if raw:
                content_type = request.headers.get("content-type")
                if content_type and not is_json_media_type(content_type):
                    raise unsupported_media_type(content_type)
                if not declared:
                    _refuse_a_body(raw)
                elif optional and raw.strip() == b"null":
                    raise RequestValidationError(
                        [{"type": "model_type", "loc": ("body",), "msg": NULL_BODY_MESSAGE, "input": None}]
                    )
                refuse_nul_in_json(raw)
            return await handler(request)

        return checked


def _refuse_a_body(raw: bytes) -> None:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _malformed(exc) from exc
    except ValueError as exc:  # bad UTF-8: FastAPI's answer for a body it cannot decode
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc
    if value != {}:
        raise RequestValidationError(
            [{"type": "extra_forbidden", "loc": ("body",), "msg": NO_BODY_MESSAGE, "input": None}]
        )


class RefuseNul:
    """A NUL in the path is 400 and in a query parameter 422 naming it, on every route (the dashboard's and
    the webhooks' too): PostgreSQL's text cannot hold one, and a lookup with it would be a 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if "\x00" in scope["path"]:
                response = problems.problem(400, "invalid-path", "the path must not contain the NUL character")
                await response(scope, receive, send)
                return
            query: bytes = scope.get("query_string", b"")
            if b"%00" in query or b"\x00" in query:
                names = [
                    name
                    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True)
                    if "\x00" in name + value
                ]
                if names:
                    errors = [{"field": name.replace("\x00", "\\u0000"), "message": NUL_MESSAGE} for name in names]
                    response = problems.problem(422, "validation-error", "the request is not valid", errors=errors)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
