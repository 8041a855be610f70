"""The Square API client: catalog upserts (``BatchUpsertCatalogObjects``, with the body ``idempotency_key``
Square requires: a retry replays the first answer), ``RetrieveOrder`` for a completed till order, and
inventory counts for drift checks. ``Square-Version`` pins the API version the mapper writes for. Errors:
``SquareRateLimited`` (429), ``SquareUnavailable`` (no answer, 5xx, a bad token), ``SquareRejected``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from seamline.integration.channel_errors import ChannelRejected, ChannelThrottled, ChannelUnavailable

PRODUCTION_URL = "https://connect.squareup.com"
SANDBOX_URL = "https://connect.squareupsandbox.com"
SQUARE_VERSION = "2025-01-23"
#: ``BatchChangeInventoryRequest.changes``: "Max size is 100 changes".
MAX_INVENTORY_CHANGES = 100


@dataclass(frozen=True)
class SquareConfig:
    base_url: str
    access_token: str
    version: str = SQUARE_VERSION
    timeout_seconds: float = 20.0


class SquareRateLimited(ChannelThrottled):
    def __init__(self, retry_after: float | None) -> None:
        super().__init__(f"Square rate limit; retry after {retry_after}s", retry_after=retry_after)


class SquareUnavailable(ChannelUnavailable):
    """No answer from Square, or a 5xx."""


class SquareRejected(ChannelRejected):
    """Square's ``errors`` array (``code``, ``detail``, ``field``) as it sent it."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        messages = [f"{e.get('code')}: {e.get('detail')}" for e in errors]
        super().__init__("; ".join(messages) or "rejected", messages=messages)
        self.errors = errors

    @property
    def codes(self) -> set[str]:
        return {str(e.get("code")) for e in self.errors}


class SquareClient:
    def __init__(self, config: SquareConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self._http = httpx.Client(
            base_url=config.base_url.rstrip("/"),
            timeout=config.timeout_seconds,
            transport=transport,
            headers={
                "Authorization": f"Bearer {config.access_token}",
                "Square-Version": config.version,
                "Accept": "application/json",
            },
        )

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, json_body: Any = None) -> Any:
        try:
            response = self._http.request(method, path, json=json_body)
        except httpx.HTTPError as exc:
            raise SquareUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 429:
            try:
                retry = float(response.headers["retry-after"])
            except (KeyError, ValueError):
                retry = None
            raise SquareRateLimited(retry)
        if response.status_code in (401, 403) or response.status_code >= 500:
            raise SquareUnavailable(f"Square HTTP {response.status_code}: {response.text[:200]}")
        try:
            body = response.json()
        except ValueError as exc:
            raise SquareUnavailable(f"Square answered HTTP {response.status_code} without JSON") from exc
        if response.status_code >= 400:
            raise SquareRejected([e for e in body.get("errors") or [] if isinstance(e, dict)])
        return body

    def upsert_catalog(self, body: dict[str, Any]) -> Any:
        return self._call("POST", "/v2/catalog/batch-upsert", body)

    def retrieve_order(self, order_id: str) -> dict[str, Any]:
        order: dict[str, Any] = self._call("GET", f"/v2/orders/{quote(order_id)}")["order"]
        return order

    def inventory_counts(self, catalog_object_ids: list[str]) -> list[dict[str, Any]]:
        body = self._call("POST", "/v2/inventory/counts/batch-retrieve", {"catalog_object_ids": catalog_object_ids})
        counts: list[dict[str, Any]] = body.get("counts") or []
        return counts

    def set_counts(self, counts: list[tuple[str, str, int]], *, idempotency_key: str, occurred_at: str) -> list[Any]:
        """``BatchChangeInventory``: (variation id, location id, quantity) as physical counts (Seamline's
        number replaces the till's), in calls of at most ``MAX_INVENTORY_CHANGES`` (Square refuses more with
        ``ARRAY_LENGTH_TOO_LONG``). Each call's key is ``idempotency_key`` and its part number, so a retry
        after a part failed replays the parts already applied and sends the rest; answers each call's body."""
        changes = [
            {
                "type": "PHYSICAL_COUNT",
                "physical_count": {
                    "catalog_object_id": variation,
                    "state": "IN_STOCK",
                    "location_id": location,
                    "quantity": str(quantity),
                    "occurred_at": occurred_at,
                },
            }
            for variation, location, quantity in counts
        ]
        answers = []
        parts = [changes[i : i + MAX_INVENTORY_CHANGES] for i in range(0, len(changes), MAX_INVENTORY_CHANGES)]
        for number, part in enumerate(parts, start=1):
            key = idempotency_key if len(parts) == 1 else f"{idempotency_key[:120]}:{number}"
            body = {"idempotency_key": key, "changes": part, "ignore_unchanged_counts": True}
            answers.append(self._call("POST", "/v2/inventory/changes/batch-create", body))
        return answers
