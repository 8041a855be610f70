"""The Xero Accounting API client: creates with ``PUT`` and an ``Idempotency-Key`` (a retry of the same key
replays Xero's first answer instead of creating twice), finds documents by number, and turns Xero's answers
into typed errors: ``XeroRateLimited`` (429, with ``Retry-After``), ``XeroUnavailable`` (no answer, 5xx,
an expired token: retry) and ``XeroRejected`` (a ``ValidationException``: retrying cannot fix it).

``base_url`` alone decides where it talks (``https://api.xero.com/api.xro/2.0`` or the sandbox); the
transport is injectable (``XeroSandbox.transport()`` in tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from seamline.channels.xero.mapper import validation_messages
from seamline.integration.channel_errors import ChannelRejected, ChannelThrottled, ChannelUnavailable

PRODUCTION_URL = "https://api.xero.com/api.xro/2.0"


@dataclass(frozen=True)
class XeroConfig:
    base_url: str
    access_token: str
    tenant_id: str
    timeout_seconds: float = 20.0


class XeroRateLimited(ChannelThrottled):
    def __init__(self, retry_after: float | None, problem: str | None) -> None:
        super().__init__(
            f"Xero rate limit ({problem or 'unknown'}); retry after {retry_after}s", retry_after=retry_after
        )
        #: Which of Xero's limits it was (``X-Rate-Limit-Problem``: minute, day, concurrent).
        self.problem = problem


class XeroUnavailable(ChannelUnavailable):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason, retry_after=retry_after)


class XeroRejected(ChannelRejected):
    """A ``ValidationException``: ``messages`` are its validation errors."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages) or "rejected", messages=messages)

    @property
    def duplicate_number(self) -> bool:
        return any("must be unique" in m for m in self.messages)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["retry-after"]))
    except (KeyError, ValueError):
        return None


class XeroClient:
    def __init__(self, config: XeroConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self._http = httpx.Client(
            base_url=config.base_url.rstrip("/"),
            timeout=config.timeout_seconds,
            transport=transport,
            headers={
                "Authorization": f"Bearer {config.access_token}",
                "xero-tenant-id": config.tenant_id,
                "Accept": "application/json",
            },
        )

    def close(self) -> None:
        self._http.close()

    def _call(
        self, method: str, path: str, *, json_body: Any = None, idempotency_key: str | None = None, params: Any = None
    ) -> Any:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        try:
            response = self._http.request(method, path, json=json_body, headers=headers, params=params)
        except httpx.HTTPError as exc:
            raise XeroUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 429:
            raise XeroRateLimited(_retry_after(response), response.headers.get("x-rate-limit-problem"))
        if response.status_code in (401, 403) or response.status_code >= 500 or response.status_code == 408:
            raise XeroUnavailable(f"Xero HTTP {response.status_code}: {response.text[:200]}", _retry_after(response))
        try:
            body = response.json()
        except ValueError as exc:
            raise XeroUnavailable(f"Xero answered HTTP {response.status_code} without JSON") from exc
        if response.status_code >= 400:
            raise XeroRejected(validation_messages(body) or [f"HTTP {response.status_code}"])
        return body

    def create(self, collection: str, body: Any, *, idempotency_key: str) -> Any:
        """``PUT /{collection}``: Contacts, Invoices, CreditNotes, Payments, ManualJournals."""
        return self._call("PUT", f"/{collection}", json_body=body, idempotency_key=idempotency_key)

    def allocate_credit_note(self, credit_note_id: str, body: Any, *, idempotency_key: str) -> Any:
        return self._call(
            "PUT", f"/CreditNotes/{quote(credit_note_id)}/Allocations", json_body=body, idempotency_key=idempotency_key
        )

    def find_contact(self, contact_number: str) -> dict[str, Any] | None:
        """``GET /Contacts?where=ContactNumber=="..."`` (xero_accounting.yaml getContacts, ``where``)."""
        quoted = contact_number.replace('"', "")
        body = self._call("GET", "/Contacts", params={"where": f'ContactNumber=="{quoted}"'})
        found = [c for c in body.get("Contacts") or [] if c.get("ContactNumber") == contact_number]
        return found[0] if found else None

    def find_invoice(self, number: str) -> dict[str, Any] | None:
        body = self._call("GET", "/Invoices", params={"InvoiceNumbers": number})
        found = [i for i in body.get("Invoices") or [] if i.get("InvoiceNumber") == number]
        return found[0] if found else None

    def find_credit_note(self, number: str) -> dict[str, Any] | None:
        body = self._call("GET", "/CreditNotes", params={"where": f'CreditNoteNumber=="{number}"'})
        found = [c for c in body.get("CreditNotes") or [] if c.get("CreditNoteNumber") == number]
        return found[0] if found else None
