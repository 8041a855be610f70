"""What the REST sandboxes (Xero, QuickBooks Online, Square) share: one ``handle`` core served both as an
``httpx.MockTransport`` and as an ASGI app, an audit log of every call, idempotency keys that replay the
first answer, and the knobs tests turn: ``fail_next`` (5xx, before or after applying: a lost response),
``fail_then_succeed`` and ``rate_limit_next`` (429 with ``Retry-After``)."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import httpx
from fastapi import FastAPI, Request, Response


@dataclass(frozen=True)
class SandboxResponse:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class CallRecord:
    method: str
    path: str
    query: dict[str, str]
    idempotency_key: str | None
    status: int
    #: ok | rejected | replayed | failed | failed_after_apply | rate_limited | unauthorized | not_found
    outcome: str
    body: Any = None


@dataclass
class _Fault:
    status: int
    after_apply: bool = False
    retry_after: float | None = None


@dataclass
class Answer:
    """What a platform route answers: a status, a JSON body and how to log it."""

    status: int
    body: Any
    outcome: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)


class SandboxError(Exception):
    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.outcome)
        self.answer = answer


def match_route(
    routes: Sequence[tuple[str, re.Pattern[str], str]], method: str, path: str
) -> tuple[str, re.Match[str]] | tuple[None, None]:
    """The first (verb, path pattern, operation name) that fits the request: its operation and match."""
    for verb, pattern, name in routes:
        found = pattern.match(path)
        if found and verb == method.upper():
            return name, found
    return None, None


def decimal_json(body: bytes) -> Any:
    """Request bodies with exact decimals (platforms take JSON numbers for money)."""
    return json.loads(body, parse_float=Decimal) if body else None


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


class HttpSandbox:
    """Subclasses implement ``authorised``, ``idempotency_key``, ``route`` and the platform's error bodies."""

    name = "sandbox"

    def __init__(self) -> None:
        self.calls: list[CallRecord] = []
        self._faults: list[_Fault] = []
        self._stored: dict[str, tuple[str, SandboxResponse]] = {}
        self._lock = threading.RLock()

    # -- knobs ----------------------------------------------------------------------------------------
    def fail_next(self, count: int = 1, status: int = 503, *, after_apply: bool = False) -> None:
        """Answer the next ``count`` calls with ``status``; ``after_apply`` changes state first."""
        with self._lock:
            self._faults.extend(_Fault(status, after_apply) for _ in range(count))

    def fail_then_succeed(self, failures: int, status: int = 503) -> None:
        self.fail_next(failures, status)

    def rate_limit_next(self, count: int = 1, retry_after: float = 1.0) -> None:
        with self._lock:
            self._faults.extend(_Fault(429, retry_after=retry_after) for _ in range(count))

    def successes(self, path_prefix: str = "") -> list[CallRecord]:
        return [c for c in self.calls if c.outcome == "ok" and c.path.startswith(path_prefix)]

    # -- platform hooks -------------------------------------------------------------------------------
    def authorised(self, headers: dict[str, str]) -> bool:
        return True

    def idempotency_key(self, headers: dict[str, str], query: dict[str, str], body: Any) -> str | None:
        return None

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> Answer:
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> Any:
        return {"message": message}

    # -- the core -------------------------------------------------------------------------------------
    def encode(self, answer: Answer) -> SandboxResponse:
        headers = {"content-type": "application/json", **answer.headers}
        return SandboxResponse(answer.status, json.dumps(answer.body, default=_default).encode(), headers)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes, query: str = "") -> SandboxResponse:
        with self._lock:
            headers = {k.lower(): v for k, v in headers.items()}
            params = {k: v[-1] for k, v in parse_qs(query).items()}
            try:
                parsed = decimal_json(body)
            except ValueError:
                parsed = None
            key = self.idempotency_key(headers, params, parsed)
            record: dict[str, Any] = {
                "method": method.upper(),
                "path": path,
                "query": params,
                "idempotency_key": key,
                "body": parsed,
            }
            if not self.authorised(headers):
                answer = Answer(401, self.error_body(401, "AuthenticationFailed"), "unauthorized")
                return self._log(record, self.encode(answer), answer.outcome)
            fingerprint = hashlib.sha256(method.upper().encode() + path.encode() + body).hexdigest()
            if key is not None and key in self._stored:
                first, stored = self._stored[key]
                if first == fingerprint:
                    return self._log(record, stored, "replayed")
                answer = Answer(
                    400, self.error_body(400, "the idempotency key was used for another request"), "rejected"
                )
                return self._log(record, self.encode(answer), answer.outcome)
            fault = self._faults.pop(0) if self._faults else None
            if fault is not None and fault.status == 429:
                retry = fault.retry_after or 1.0
                answer = Answer(
                    429,
                    self.error_body(429, "rate limit exceeded"),
                    "rate_limited",
                    {"retry-after": str(int(retry) if float(retry).is_integer() else retry)},
                )
                return self._log(record, self.encode(answer), answer.outcome)
            if fault is not None and not fault.after_apply:
                answer = Answer(fault.status, self.error_body(fault.status, "service unavailable"), "failed")
                return self._log(record, self.encode(answer), answer.outcome)
            try:
                answer = self.route(method.upper(), path, params, parsed)
            except SandboxError as exc:
                answer = exc.answer
            response = self.encode(answer)
            if key is not None and 200 <= answer.status < 300:
                self._stored[key] = (fingerprint, response)
            if fault is not None:
                lost = Answer(fault.status, self.error_body(fault.status, "service unavailable"), "failed_after_apply")
                return self._log(record, self.encode(lost), lost.outcome)
            return self._log(record, response, answer.outcome)

    def _log(self, record: dict[str, Any], response: SandboxResponse, outcome: str) -> SandboxResponse:
        self.calls.append(CallRecord(status=response.status, outcome=outcome, **record))
        return response

    def transport(self) -> httpx.MockTransport:
        """The sandbox as an httpx transport: a client given it talks to this platform with no network."""

        def handler(request: httpx.Request) -> httpx.Response:
            answer = self.handle(
                request.method, request.url.path, dict(request.headers), request.read(), request.url.query.decode()
            )
            return httpx.Response(answer.status, content=answer.body, headers=answer.headers)

        return httpx.MockTransport(handler)

    def asgi(self, title: str) -> FastAPI:
        app = FastAPI(title=title, openapi_url=None, docs_url=None, redoc_url=None)

        @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
        async def platform(request: Request) -> Response:
            body = await request.body()
            answer = self.handle(request.method, request.url.path, dict(request.headers), body, request.url.query)
            return Response(answer.body, status_code=answer.status, headers=answer.headers)

        return app
