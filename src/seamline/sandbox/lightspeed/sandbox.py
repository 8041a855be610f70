"""A local Lightspeed Retail (X-Series) retailer: the API calls a stock connector makes (outlets, products,
product inventory, and the direct inventory update documented under "Inventory Updates": ``PUT
/api/2.1/products/{id}`` with ``{"details": {"inventory": [{"outlet_id", "current_amount"}]}}``, which sets the
product's count at each outlet named), and the webhooks a till sends.

Webhooks are POSTed ``application/x-www-form-urlencoded`` with a ``payload`` field holding the JSON object
(the API 1.0 shape: a sale's ``register_sale_products`` and ``register_sale_payments``) and a ``type`` field;
they are signed with the add-on's client secret: ``X-Signature: signature=<hex HMAC-SHA256 of the raw body>,
algorithm=HMAC-SHA256``.

Rate limit (published at x-series-api.lightspeedhq.com/docs/rate_limiting): ``300 x registers + 50`` requests
per retailer per application in a 5-minute (300 s) window; every answer carries ``X-RateLimit-Limit`` and
``X-RateLimit-Remaining``, a refused one is ``429`` with ``Retry-After`` (seconds to the window's end)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI

from seamline.sandbox.http import Answer, CallRecord, HttpSandbox, SandboxError, SandboxResponse

WINDOW_SECONDS = 300.0


def rate_limit(registers: int) -> int:
    return 300 * registers + 50


@dataclass
class LightspeedSandboxConfig:
    token: str = "lightspeed-sandbox-token"
    client_secret: str = "lightspeed-client-secret"
    domain_prefix: str = "seamline"
    #: outlet id -> name, and register id -> outlet id.
    outlets: dict[str, str] = field(default_factory=lambda: {"OUT-1": "Soho"})
    registers: dict[str, str] = field(default_factory=lambda: {"REG-1": "OUT-1"})
    currency: str = "EUR"


@dataclass(frozen=True)
class Notification:
    body: bytes
    headers: dict[str, str]


def sign(client_secret: str, body: bytes) -> str:
    digest = hmac.new(client_secret.encode(), body, hashlib.sha256).hexdigest()
    return f"signature={digest}, algorithm=HMAC-SHA256"


def _money(value: Decimal) -> float:
    return float(value)


class LightspeedSandbox(HttpSandbox):
    name = "lightspeed"

    def __init__(self, config: LightspeedSandboxConfig | None = None, *, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.config = config or LightspeedSandboxConfig()
        self.clock = clock
        self.products: dict[str, dict[str, Any]] = {}  # id -> product (sku, name, price_including_tax)
        self.inventory: dict[tuple[str, str], int] = {}  # (product id, outlet id) -> current amount
        self.sales: dict[str, dict[str, Any]] = {}
        self.notifications: list[Notification] = []
        self._window_start = self.clock()
        self._used = 0

    # -- platform hooks -------------------------------------------------------------------------------
    def authorised(self, headers: dict[str, str]) -> bool:
        return headers.get("authorization") == f"Bearer {self.config.token}"

    def error_body(self, status: int, message: str) -> Any:
        return {"error": message}

    @property
    def limit(self) -> int:
        return rate_limit(len(self.config.registers))

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes, query: str = "") -> SandboxResponse:
        with self._lock:
            now = self.clock()
            if now - self._window_start >= WINDOW_SECONDS:
                self._window_start, self._used = now, 0
            if self._used >= self.limit:
                retry = max(1, int(self._window_start + WINDOW_SECONDS - now + 0.999))
                answer = Answer(
                    429,
                    self.error_body(429, "Rate limit exceeded"),
                    "rate_limited",
                    {"retry-after": str(retry), "x-ratelimit-limit": str(self.limit), "x-ratelimit-remaining": "0"},
                )
                self.calls.append(CallRecord(method.upper(), path, {}, None, 429, "rate_limited"))
                return self.encode(answer)
            self._used += 1
            response = super().handle(method, path, headers, body, query)
            remaining = str(max(self.limit - self._used, 0))
            return SandboxResponse(
                response.status,
                response.body,
                {**response.headers, "x-ratelimit-limit": str(self.limit), "x-ratelimit-remaining": remaining},
            )

    def _invalid(self, status: int, message: str) -> SandboxError:
        return SandboxError(Answer(status, self.error_body(status, message), "rejected"))

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> Answer:
        parts = path.strip("/").split("/")
        match (method, parts):
            case ("GET", ["api", "2.0", "outlets"]):
                return Answer(200, {"data": [{"id": k, "name": v} for k, v in self.config.outlets.items()]})
            case ("GET", ["api", "2.0", "products"]):
                return Answer(200, {"data": list(self.products.values())})
            case ("GET", ["api", "2.0", "products", product_id, "inventory"]):
                if product_id not in self.products:
                    raise self._invalid(404, f"product {product_id} not found")
                return Answer(200, {"data": self._inventory(product_id)})
            case ("PUT", ["api", "2.1", "products", product_id]):
                return self._update_product(product_id, body)
        return Answer(404, self.error_body(404, "Not Found"), "not_found")

    # -- stock ----------------------------------------------------------------------------------------
    def _inventory(self, product_id: str) -> list[dict[str, Any]]:
        return [
            {"product_id": product_id, "outlet_id": outlet, "current_amount": amount}
            for (pid, outlet), amount in sorted(self.inventory.items())
            if pid == product_id
        ]

    def _update_product(self, product_id: str, body: Any) -> Answer:
        """Only ``details.inventory`` is emulated: each entry sets ``current_amount`` at its outlet."""
        if product_id not in self.products:
            raise self._invalid(404, f"product {product_id} not found")
        details = body.get("details") if isinstance(body, dict) else None
        inventory = details.get("inventory") if isinstance(details, dict) else None
        if not isinstance(inventory, list) or not inventory:
            raise self._invalid(422, "details.inventory: a list of {outlet_id, current_amount}")
        staged: list[tuple[str, int]] = []
        for i, entry in enumerate(inventory):
            outlet = entry.get("outlet_id") if isinstance(entry, dict) else None
            amount = entry.get("current_amount") if isinstance(entry, dict) else None
            if isinstance(amount, Decimal) and amount == amount.to_integral_value():
                amount = int(amount)
            if outlet not in self.config.outlets:
                raise self._invalid(422, f"details.inventory[{i}].outlet_id: {outlet} is not an outlet")
            if not isinstance(amount, int) or isinstance(amount, bool):
                raise self._invalid(422, f"details.inventory[{i}].current_amount: a whole number")
            staged.append((str(outlet), amount))
        for outlet, amount in staged:
            self.inventory[(product_id, outlet)] = amount
        return Answer(200, {"data": {**self.products[product_id], "inventory": self._inventory(product_id)}})

    # -- the retailer's side --------------------------------------------------------------------------
    def add_product(self, sku: str, name: str, price_including_tax: Decimal) -> str:
        with self._lock:
            product_id = str(uuid.uuid4())
            self.products[product_id] = {
                "id": product_id,
                "sku": sku,
                "name": name,
                "price_including_tax": _money(price_including_tax),
            }
            return product_id

    def product_by_sku(self, sku: str) -> dict[str, Any] | None:
        return next((p for p in self.products.values() if p["sku"] == sku), None)

    def notify(self, event_type: str, payload: dict[str, Any]) -> Notification:
        body = urlencode(
            {"type": event_type, "domain_prefix": self.config.domain_prefix, "payload": json.dumps(payload)}
        ).encode()
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            "x-signature": sign(self.config.client_secret, body),
        }
        note = Notification(body, headers)
        self.notifications.append(note)
        return note

    def ring_up(
        self,
        register_id: str,
        lines: Sequence[tuple[str, int]],
        payments: Sequence[tuple[str, Decimal]],
        *,
        tax_rate: Decimal = Decimal("0.20"),
        status: str = "CLOSED",
        return_for: str | None = None,
    ) -> dict[str, Any]:
        """A sale at the till (negative quantities for a return): its products at their tax-inclusive prices,
        split into ``price``/``tax`` per unit as the API 1.0 sale payload carries them; stock moves at the
        register's outlet and a signed ``sale.update`` goes out."""
        with self._lock:
            outlet = self.config.registers[register_id]
            sale_id = str(uuid.uuid4())
            products = []
            for sku, qty in lines:
                product = self.product_by_sku(sku)
                if product is None:
                    raise KeyError(sku)
                gross = Decimal(str(product["price_including_tax"]))
                net = (gross / (1 + tax_rate)).quantize(Decimal("0.00001"))
                products.append(
                    {
                        "id": str(uuid.uuid4()),
                        "product_id": product["id"],
                        "quantity": qty,
                        "price": _money(net),
                        "tax": _money(gross - net),
                        "price_total": _money(net * qty),
                        "tax_total": _money((gross - net) * qty),
                    }
                )
                key = (product["id"], outlet)
                self.inventory[key] = self.inventory.get(key, 0) - qty
            sale = {
                "id": sale_id,
                "source": "USER",
                "register_id": register_id,
                "outlet_id": outlet,
                "sale_date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                "status": status,
                "invoice_number": str(len(self.sales) + 1),
                "return_for": return_for,
                "register_sale_products": products,
                "register_sale_payments": [
                    {"id": str(uuid.uuid4()), "name": name, "amount": _money(amount)} for name, amount in payments
                ],
            }
            self.sales[sale_id] = sale
            self.notify("sale.update", sale)
            return sale


def create_app(sandbox: LightspeedSandbox) -> FastAPI:
    return sandbox.asgi("Lightspeed Retail (X-Series) API sandbox")
