"""The Lightspeed Retail (X-Series) API client: outlets, and the till's stock set from the ledger by the direct
inventory update the X-Series docs describe ("Inventory Updates": ``PUT /api/2.1/products/{id}`` with
``details.inventory[{outlet_id, current_amount}]``). Seamline owns stock, so the till's number is replaced,
not adjusted; a stocktake consignment is not used because one started without filters counts every product
of the store and zeroes the ones not counted when completed.

Errors: ``LightspeedRateLimited`` (429, with ``Retry-After``: the documented limit is 300 x registers + 50
requests per 5 minutes per retailer and application), ``LightspeedUnavailable`` (no answer, 5xx, a bad
token), ``LightspeedRejected`` (4xx)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

from seamline.integration.channel_errors import ChannelRejected, ChannelThrottled, ChannelUnavailable


@dataclass(frozen=True)
class LightspeedConfig:
    #: ``https://<domain_prefix>.retail.lightspeed.app``
    base_url: str
    token: str
    timeout_seconds: float = 20.0


class LightspeedRateLimited(ChannelThrottled):
    def __init__(self, retry_after: float | None) -> None:
        super().__init__(f"Lightspeed rate limit; retry after {retry_after}s", retry_after=retry_after)


class LightspeedUnavailable(ChannelUnavailable):
    """No answer from Lightspeed, or a 5xx."""


class LightspeedRejected(ChannelRejected):
    """Lightspeed refused the call (a 4xx other than 429)."""


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds or as an HTTP date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


class LightspeedClient:
    def __init__(self, config: LightspeedConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self._http = httpx.Client(
            base_url=config.base_url.rstrip("/"),
            timeout=config.timeout_seconds,
            transport=transport,
            headers={"Authorization": f"Bearer {config.token}", "Accept": "application/json"},
        )
        #: What the last answer said is left of the window (``X-RateLimit-Remaining``).
        self.remaining: int | None = None

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, json_body: Any = None, params: dict[str, str] | None = None) -> Any:
        try:
            response = self._http.request(method, path, json=json_body, params=params)
        except httpx.HTTPError as exc:
            raise LightspeedUnavailable(f"{type(exc).__name__}: {exc}") from exc
        left = response.headers.get("x-ratelimit-remaining")
        self.remaining = int(left) if left and left.isdigit() else self.remaining
        if response.status_code == 429:
            raise LightspeedRateLimited(retry_after(response.headers.get("retry-after")))
        if response.status_code in (401, 403) or response.status_code >= 500:
            raise LightspeedUnavailable(f"Lightspeed HTTP {response.status_code}: {response.text[:200]}")
        if response.status_code >= 400:
            raise LightspeedRejected(f"Lightspeed HTTP {response.status_code}: {response.text[:300]}")
        try:
            return response.json()
        except ValueError as exc:
            raise LightspeedUnavailable(f"Lightspeed answered HTTP {response.status_code} without JSON") from exc

    def outlets(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self._call("GET", "/api/2.0/outlets").get("data") or []
        return data

    def set_inventory(self, product_id: str, outlet_id: str, count: int) -> None:
        """The product's count at the outlet becomes ``count``."""
        body = {"details": {"inventory": [{"outlet_id": outlet_id, "current_amount": count}]}}
        self._call("PUT", f"/api/2.1/products/{quote(product_id)}", body)

    # -- products (channels.lightspeed.catalog) -------------------------------------------------------
    def variant_attributes(self) -> dict[str, str]:
        """The retailer's variant attributes, name → id (``GET /api/2.0/variant_attributes``)."""
        data = self._call("GET", "/api/2.0/variant_attributes").get("data") or []
        return {str(a["name"]): str(a["id"]) for a in data if isinstance(a, dict) and a.get("name")}

    def create_variant_attribute(self, name: str) -> str:
        return str(self._call("POST", "/api/2.0/variant_attributes", {"name": name})["data"]["id"])

    def create_products(self, body: dict[str, Any]) -> list[str]:
        """``POST /api/2.0/products`` (a product or a whole variant family): the new ids, in Lightspeed's order
        (not the order sent): pair them with SKUs by reading the family back."""
        ids = self._call("POST", "/api/2.0/products", body).get("data")
        if not isinstance(ids, list) or not ids:
            raise LightspeedUnavailable(f"Lightspeed answered a product create without ids: {str(ids)[:200]}")
        return [str(i) for i in ids]

    def family(self, product_id: str) -> dict[str, Any]:
        """The product's whole family (``GET /api/3.0/products/{id}``, any member's id)."""
        data: dict[str, Any] = self._call("GET", f"/api/3.0/products/{quote(product_id)}").get("data") or {}
        return data

    def products_with_sku(self, sku: str) -> list[dict[str, Any]]:
        """Products whose SKU is ``sku`` (``GET /api/2.0/search?type=products&sku=``)."""
        data: list[dict[str, Any]] = (
            self._call("GET", "/api/2.0/search", params={"type": "products", "sku": sku}).get("data") or []
        )
        return data

    def update_product(self, product_id: str, body: dict[str, Any]) -> None:
        """``PUT /api/2.1/products/{id}`` with ``common`` and/or ``details``."""
        self._call("PUT", f"/api/2.1/products/{quote(product_id)}", body)
