"""The QuickBooks Online Accounting API v3 client: creates with ``POST /v3/company/{realmId}/{entity}`` and a
``requestid`` (a retry with the same id replays QuickBooks' first answer), finds entities by ``DocNumber``
with the query endpoint, and turns answers into typed errors: ``QuickBooksThrottled`` (429),
``QuickBooksUnavailable`` (no answer, 5xx, an expired token) and ``QuickBooksRejected`` (a ``Fault``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from seamline.channels.quickbooks.mapper import fault_errors
from seamline.integration.channel_errors import ChannelRejected, ChannelThrottled, ChannelUnavailable

PRODUCTION_URL = "https://quickbooks.api.intuit.com"
SANDBOX_URL = "https://sandbox-quickbooks.api.intuit.com"
#: The minor version whose entity shapes the mapper writes.
MINOR_VERSION = "75"
DUPLICATE_DOC_NUMBER = "6140"
#: The most items one ``POST /batch`` takes ("The maximum number of payloads in a single batch request is 30",
#: Intuit, Building Smarter with Intuit: Batch without a Scratch, blogs.intuit.com 2023-07-19); the same page:
#: 40 batch requests per minute per realm.
BATCH_LIMIT = 30


@dataclass(frozen=True)
class QuickBooksConfig:
    base_url: str
    realm_id: str
    access_token: str
    timeout_seconds: float = 20.0


class QuickBooksThrottled(ChannelThrottled):
    def __init__(self, retry_after: float | None) -> None:
        super().__init__(f"QuickBooks throttled the call; retry after {retry_after}s", retry_after=retry_after)


class QuickBooksUnavailable(ChannelUnavailable):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason, retry_after=retry_after)


class QuickBooksRejected(ChannelRejected):
    """A ``Fault``: ``errors`` are its (code, message) pairs."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        messages = [f"{code} {text}" for code, text in errors]
        super().__init__("; ".join(messages) or "rejected", messages=messages)
        self.errors = errors

    @property
    def duplicate_number(self) -> bool:
        return any(code == DUPLICATE_DOC_NUMBER for code, _ in self.errors)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["retry-after"]))
    except (KeyError, ValueError):
        return None


class QuickBooksClient:
    def __init__(self, config: QuickBooksConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self._http = httpx.Client(
            base_url=f"{config.base_url.rstrip('/')}/v3/company/{config.realm_id}",
            timeout=config.timeout_seconds,
            transport=transport,
            headers={"Authorization": f"Bearer {config.access_token}", "Accept": "application/json"},
        )

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, *, params: dict[str, str], json_body: Any = None) -> Any:
        try:
            response = self._http.request(method, path, params=params, json=json_body)
        except httpx.HTTPError as exc:
            raise QuickBooksUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 429:
            raise QuickBooksThrottled(_retry_after(response))
        if response.status_code in (401, 403, 408) or response.status_code >= 500:
            raise QuickBooksUnavailable(
                f"QuickBooks HTTP {response.status_code}: {response.text[:200]}", _retry_after(response)
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise QuickBooksUnavailable(f"QuickBooks answered HTTP {response.status_code} without JSON") from exc
        if response.status_code >= 400 or "Fault" in body:
            raise QuickBooksRejected(fault_errors(body) or [(str(response.status_code), "rejected")])
        return body

    def create(self, entity: str, body: Any, *, request_id: str) -> Any:
        """``POST /{entity}`` (invoice, salesreceipt, creditmemo, payment, journalentry)."""
        params = {"minorversion": MINOR_VERSION, "requestid": request_id}
        return self._call("POST", f"/{entity.lower()}", params=params, json_body=body)

    def batch(self, items: list[dict[str, Any]], *, request_id: str) -> list[dict[str, Any]]:
        """``POST /batch``: up to ``BATCH_LIMIT`` items (``{"bId", "operation": "create", "<Entity>": {...}}``).
        QuickBooks answers 200 with one ``BatchItemResponse`` per item, each its entity or its own ``Fault``:
        read them item by item (``mapper.batch_results``); a throttled or failed call raises as any call."""
        if len(items) > BATCH_LIMIT:
            raise ValueError(f"a QuickBooks batch takes {BATCH_LIMIT} items at most, not {len(items)}")
        params = {"minorversion": MINOR_VERSION, "requestid": request_id}
        body = self._call("POST", "/batch", params=params, json_body={"BatchItemRequest": items})
        answered = body.get("BatchItemResponse") if isinstance(body, dict) else None
        if not isinstance(answered, list):
            raise QuickBooksUnavailable("QuickBooks answered a batch without BatchItemResponse")
        return [item for item in answered if isinstance(item, dict)]

    def find_customer(self, display_name: str) -> dict[str, Any] | None:
        """The customer whose ``DisplayName`` this is (unique per company), if any."""
        quoted = display_name.replace("\\", "").replace("'", "\\'")
        query = f"select * from Customer where DisplayName = '{quoted}'"
        body = self._call("GET", "/query", params={"query": query, "minorversion": MINOR_VERSION})
        rows = (body.get("QueryResponse") or {}).get("Customer") or []
        found = [r for r in rows if r.get("DisplayName") == display_name]
        return found[0] if found else None

    def find(self, entity: str, doc_number: str) -> dict[str, Any] | None:
        query = f"select * from {entity} where DocNumber = '{doc_number.replace(chr(39), '')}'"
        body = self._call("GET", "/query", params={"query": query, "minorversion": MINOR_VERSION})
        rows = (body.get("QueryResponse") or {}).get(entity) or []
        return rows[0] if rows else None
