"""A local Lightspeed Retail (X-Series) retailer: the API calls a stock connector makes (outlets, products,
product inventory, and the direct inventory update documented under "Inventory Updates": ``PUT
/api/2.1/products/{id}`` with ``{"details": {"inventory": [{"outlet_id", "current_amount"}]}}``, which sets the
product's count at each outlet named), and the webhooks a till sends.

Webhooks are POSTed ``application/x-www-form-urlencoded`` with a ``payload`` field holding the JSON object
(the API 1.0 shape: a sale's ``register_sale_products`` and ``register_sale_payments``) and a ``type`` field;
they are signed with the add-on's client secret: ``X-Signature: signature=<hex HMAC-SHA256 of the raw body>,
algorithm=HMAC-SHA256``.

Products (x-series-api.lightspeedhq.com "Variants", "Creating Variants", "Updating Variants"): variant attributes
(``GET``/``POST /api/2.0/variant_attributes``); a family created by ``POST /api/2.0/products`` (``name`` and
``variants[]`` with ``sku``, ``variant_definitions``, ``product_codes`` and a price), answered with the new ids as a
flat list in Lightspeed's order (sorted by attribute values, not the order sent); a whole family read by
``GET /api/3.0/products/{id}``; products found by SKU with ``GET /api/2.0/search?type=products&sku=``; a product
updated by ``PUT /api/2.1/products/{id}`` (``common`` for the whole family, ``details`` for the one product; it
cannot create a variant). A SKU is one product: a create naming a SKU the retailer has is refused (422) with
nothing created, as is a family of more than 200 variants or a definition naming no variant attribute. A price is
kept both ways (``price_including_tax``/``price_excluding_tax``) at the retailer's tax rate.

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
    #: The outlets' sales tax (a product's price is kept with and without it).
    tax_rate: Decimal = Decimal("0.20")


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
        self.attributes: dict[str, str] = {}  # variant attribute id -> name
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
                if isinstance(body, dict) and ("common" in body or set(body.get("details") or {}) - {"inventory"}):
                    return self._edit_product(product_id, body)
                return self._update_product(product_id, body)
            case ("GET", ["api", "2.0", "variant_attributes"]):
                return Answer(200, {"data": [{"id": k, "name": v} for k, v in self.attributes.items()]})
            case ("POST", ["api", "2.0", "variant_attributes"]):
                name = body.get("name") if isinstance(body, dict) else None
                if not isinstance(name, str) or not name.strip():
                    raise self._invalid(422, "name: is required")
                attribute_id = str(uuid.uuid4())
                self.attributes[attribute_id] = name
                return Answer(201, {"data": {"id": attribute_id, "name": name}})
            case ("POST", ["api", "2.0", "products"]):
                return self._create_products(body)
            case ("GET", ["api", "3.0", "products", product_id]):
                return self._family(product_id)
            case ("GET", ["api", "2.0", "search"]):
                if query.get("type") != "products":
                    raise self._invalid(400, "type: only products are searched here")
                return Answer(200, {"data": [p for p in self.products.values() if p["sku"] == query.get("sku")]})
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

    # -- products -------------------------------------------------------------------------------------
    def _prices(self, where: str, data: dict[str, Any]) -> dict[str, float]:
        """One of ``price_including_tax``/``price_excluding_tax`` (a number): both, at the tax rate."""
        given = {k: data[k] for k in ("price_including_tax", "price_excluding_tax") if data.get(k) is not None}
        if len(given) != 1:
            raise self._invalid(422, f"{where}: one of price_including_tax or price_excluding_tax")
        [(key, value)] = given.items()
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise self._invalid(422, f"{where}.{key}: a number")
        amount = Decimal(str(value))
        rate = 1 + self.config.tax_rate
        incl = amount if key == "price_including_tax" else (amount * rate).quantize(Decimal("0.00001"))
        excl = amount if key == "price_excluding_tax" else (amount / rate).quantize(Decimal("0.00001"))
        return {"price_including_tax": _money(incl), "price_excluding_tax": _money(excl)}

    def _options(self, where: str, definitions: Any) -> list[dict[str, str]]:
        if not isinstance(definitions, list) or not definitions:
            raise self._invalid(422, f"{where}.variant_definitions: is required")
        options = []
        for j, d in enumerate(definitions):
            attribute = d.get("attribute_id") if isinstance(d, dict) else None
            if attribute not in self.attributes:
                raise self._invalid(422, f"{where}.variant_definitions[{j}].attribute_id: not a variant attribute")
            options.append({"name": self.attributes[str(attribute)], "value": str(d.get("value") or "")})
        return options

    @staticmethod
    def _codes(where: str, codes: Any) -> list[dict[str, str]]:
        if codes is None:
            return []
        if not isinstance(codes, list) or not all(
            isinstance(c, dict) and c.get("type") and c.get("code") for c in codes
        ):
            raise SandboxError(Answer(422, {"error": f"{where}.product_codes: a list of {{type, code}}"}, "rejected"))
        return [{"type": str(c["type"]), "code": str(c["code"])} for c in codes]

    def _create_products(self, body: Any) -> Answer:
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"].strip():
            raise self._invalid(422, "name: is required")
        variants = body.get("variants")
        if not isinstance(variants, list) or not variants:
            raise self._invalid(422, "variants: is required")
        if len(variants) > 200:
            raise self._invalid(422, "variants: there is a limit of 200 variants per family")
        if any(p["name"] == body["name"] for p in self.products.values()):
            raise self._invalid(422, f"name: {body['name']} is another family's name")
        staged: list[dict[str, Any]] = []
        for i, variant in enumerate(variants):
            where = f"variants[{i}]"
            if not isinstance(variant, dict):
                raise self._invalid(422, f"{where}: an object")
            sku = variant.get("sku")
            if not isinstance(sku, str) or not sku:
                raise self._invalid(422, f"{where}.sku: is required here (the sandbox generates none)")
            if self.product_by_sku(sku) is not None or any(sku == p["sku"] for p in staged):
                raise self._invalid(422, f"{where}.sku: {sku} is already used by another product")
            staged.append(
                {
                    "sku": sku,
                    "variant_options": self._options(where, variant.get("variant_definitions")),
                    "product_codes": self._codes(where, variant.get("product_codes")),
                    **self._prices(where, variant),
                }
            )
        parent = str(uuid.uuid4())
        ids: list[tuple[tuple[str, ...], str]] = []
        for i, product in enumerate(staged):
            product_id = parent if i == 0 else str(uuid.uuid4())
            self.products[product_id] = {
                "id": product_id,
                "name": body["name"],
                "description": str(body.get("description") or ""),
                "variant_parent_id": None if i == 0 else parent,
                "has_variants": i == 0 and len(staged) > 1,
                **product,
            }
            options: list[dict[str, str]] = product["variant_options"]
            ids.append((tuple(o["value"] for o in options), product_id))
        # The answer is Lightspeed's order: by the variants' attribute values, not the order sent.
        return Answer(201, {"data": [pid for _, pid in sorted(ids)]})

    def _members(self, product_id: str) -> list[dict[str, Any]]:
        product = self.products.get(product_id)
        if product is None:
            raise self._invalid(404, f"product {product_id} not found")
        parent = product["variant_parent_id"] or product_id
        return [p for p in self.products.values() if p["id"] == parent or p["variant_parent_id"] == parent]

    def _family(self, product_id: str) -> Answer:
        members = self._members(product_id)
        first = members[0]
        return Answer(200, {"data": {"id": first["id"], "name": first["name"], "variants": members}})

    def _edit_product(self, product_id: str, body: dict[str, Any]) -> Answer:
        """``common`` (name, description) for every member of the family, ``details`` for this product."""
        members = self._members(product_id)
        common = body.get("common") or {}
        details = body.get("details") or {}
        if not isinstance(common, dict) or not isinstance(details, dict):
            raise self._invalid(422, "common and details: objects")
        changes: dict[str, Any] = {}
        if "sku" in details:
            sku = details["sku"]
            other = self.product_by_sku(str(sku))
            if not isinstance(sku, str) or not sku or (other is not None and other["id"] != product_id):
                raise self._invalid(422, f"details.sku: {sku} is already used by another product")
            changes["sku"] = sku
        if "variant_definitions" in details:
            changes["variant_options"] = self._options("details", details["variant_definitions"])
        if "product_codes" in details:
            changes["product_codes"] = self._codes("details", details["product_codes"])
        if any(k in details for k in ("price_including_tax", "price_excluding_tax")):
            changes.update(self._prices("details", details))
        if "inventory" in details:
            self._update_product(product_id, {"details": {"inventory": details["inventory"]}})
        name = common.get("name")
        if name is not None and any(p["name"] == name and p not in members for p in self.products.values()):
            raise self._invalid(422, f"common.name: {name} is another family's name")
        for member in members:
            member.update({k: str(v) for k, v in common.items() if k in ("name", "description") and v is not None})
        self.products[product_id].update(changes)
        return Answer(200, {"data": self.products[product_id]})

    # -- the retailer's side --------------------------------------------------------------------------
    def add_product(self, sku: str, name: str, price_including_tax: Decimal) -> str:
        with self._lock:
            product_id = str(uuid.uuid4())
            self.products[product_id] = {
                "id": product_id,
                "sku": sku,
                "name": name,
                "variant_parent_id": None,
                "has_variants": False,
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
