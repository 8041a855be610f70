"""A local Square seller: the Catalog (``POST /v2/catalog/batch-upsert``, ``GET /v2/catalog/object/{id}``),
Orders (``GET /v2/orders/{id}``) and Inventory (``POST /v2/inventory/counts/batch-retrieve``,
``POST /v2/inventory/changes/batch-create`` with physical counts) calls a POS
connector makes, and the webhooks a till's activity sends (``order.updated``, ``inventory.count.updated``),
signed as Square signs them: base64(HMAC-SHA256(signature key, notification URL + raw body)).

Catalog upserts need a body ``idempotency_key`` (a repeat replays the first answer), temporary ``#ids`` for
new objects, and the current ``version`` to change an existing one (else ``VERSION_MISMATCH``); money is an
integer ``amount`` in the currency's minor unit; quantities are decimal strings."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fastapi import FastAPI

from seamline.sandbox.http import Answer, HttpSandbox, SandboxError

SQUARE_VERSION = "2025-01-23"
MAX_INVENTORY_CHANGES = 100


@dataclass
class SquareSandboxConfig:
    access_token: str = "square-sandbox-token"
    merchant_id: str = "6SSW7HV8K2ST5"
    signature_key: str = "square-signature-key"
    notification_url: str = "https://seamline.example/webhooks/square/soho"
    locations: dict[str, str] = field(default_factory=lambda: {"EF6D9SACKWBKZ": "Soho"})


@dataclass(frozen=True)
class Notification:
    """A webhook as Square would POST it: the raw body and its headers."""

    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


def sign(key: str, notification_url: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), notification_url.encode() + body, hashlib.sha256).digest()).decode()


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class SquareSandbox(HttpSandbox):
    name = "square"

    def __init__(self, config: SquareSandboxConfig | None = None) -> None:
        super().__init__()
        self.config = config or SquareSandboxConfig()
        self.catalog: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.counts: dict[tuple[str, str], int] = {}  # (variation id, location id) -> IN_STOCK
        self.notifications: list[Notification] = []
        #: The seller's clock (when a sale is rung up); tests on a fixed business clock set theirs.
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    # -- platform hooks -------------------------------------------------------------------------------
    def authorised(self, headers: dict[str, str]) -> bool:
        return headers.get("authorization") == f"Bearer {self.config.access_token}"

    def idempotency_key(self, headers: dict[str, str], query: dict[str, str], body: Any) -> str | None:
        key = body.get("idempotency_key") if isinstance(body, dict) else None
        return str(key) if key else None

    def error_body(self, status: int, message: str) -> Any:
        code, category = {
            401: ("UNAUTHORIZED", "AUTHENTICATION_ERROR"),
            404: ("NOT_FOUND", "INVALID_REQUEST_ERROR"),
            429: ("RATE_LIMITED", "RATE_LIMIT_ERROR"),
        }.get(status, ("SERVICE_UNAVAILABLE", "API_ERROR"))
        return {"errors": [{"category": category, "code": code, "detail": message}]}

    def _invalid(self, code: str, detail: str, where: str | None = None) -> SandboxError:
        error = {"category": "INVALID_REQUEST_ERROR", "code": code, "detail": detail}
        if where:
            error["field"] = where
        return SandboxError(Answer(400, {"errors": [error]}, "rejected"))

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> Answer:
        parts = path.strip("/").split("/")
        match (method, parts):
            case ("POST", ["v2", "catalog", "batch-upsert"]):
                return self._upsert(body)
            case ("GET", ["v2", "catalog", "object", object_id]):
                found = self.catalog.get(object_id)
                if found is None:
                    return Answer(404, self.error_body(404, f"Object {object_id} not found"), "not_found")
                return Answer(200, {"object": found})
            case ("GET", ["v2", "orders", order_id]):
                order = self.orders.get(order_id)
                if order is None:
                    return Answer(404, self.error_body(404, f"Order {order_id} not found"), "not_found")
                return Answer(200, {"order": order})
            case ("POST", ["v2", "inventory", "changes", "batch-create"]):
                return self._change_counts(body)
            case ("POST", ["v2", "inventory", "counts", "batch-retrieve"]):
                wanted = set((body or {}).get("catalog_object_ids") or [])
                counts = [self._count(obj, loc) for (obj, loc) in sorted(self.counts) if not wanted or obj in wanted]
                return Answer(200, {"counts": counts})
        return Answer(404, self.error_body(404, "not found"), "not_found")

    # -- inventory ------------------------------------------------------------------------------------
    def _change_counts(self, body: Any) -> Answer:
        """``BatchChangeInventory`` with ``PHYSICAL_COUNT`` changes: the count becomes what the seller says."""
        if not isinstance(body, dict) or not body.get("idempotency_key"):
            raise self._invalid("MISSING_REQUIRED_PARAMETER", "Field must be set", "idempotency_key")
        changes = body.get("changes")
        if not isinstance(changes, list) or not changes:
            raise self._invalid("MISSING_REQUIRED_PARAMETER", "Field must be set", "changes")
        if len(changes) > MAX_INVENTORY_CHANGES:
            # BatchChangeInventoryRequest.changes: "Max size is 100 changes"; nothing of the batch is applied.
            raise self._invalid(
                "ARRAY_LENGTH_TOO_LONG",
                f"Array length {len(changes)} exceeds the maximum of {MAX_INVENTORY_CHANGES}",
                "changes",
            )
        staged: list[tuple[str, str, int]] = []
        for i, change in enumerate(changes):
            count = (change or {}).get("physical_count") if isinstance(change, dict) else None
            where = f"changes[{i}]"
            if (change or {}).get("type") != "PHYSICAL_COUNT" or not isinstance(count, dict):
                raise self._invalid("INVALID_VALUE", "only PHYSICAL_COUNT changes are emulated", f"{where}.type")
            obj, loc, qty = count.get("catalog_object_id"), count.get("location_id"), count.get("quantity")
            if obj not in self.catalog:
                raise self._invalid("NOT_FOUND", f"Object {obj} not found", f"{where}.catalog_object_id")
            if loc not in self.config.locations:
                raise self._invalid("NOT_FOUND", f"Location {loc} not found", f"{where}.location_id")
            if not isinstance(qty, str) or not qty.lstrip("-").isdigit():
                raise self._invalid("INVALID_VALUE", "quantity is a decimal string", f"{where}.quantity")
            staged.append((str(obj), str(loc), int(qty)))
        for obj, loc, qty in staged:
            self.counts[(obj, loc)] = qty
        return Answer(200, {"counts": [self._count(obj, loc) for obj, loc, _ in staged]})

    # -- catalog --------------------------------------------------------------------------------------
    def _upsert(self, body: Any) -> Answer:
        if not isinstance(body, dict) or not body.get("idempotency_key"):
            raise self._invalid("MISSING_REQUIRED_PARAMETER", "Field must be set", "idempotency_key")
        batches = body.get("batches")
        if not isinstance(batches, list) or not batches:
            raise self._invalid("MISSING_REQUIRED_PARAMETER", "Field must be set", "batches")
        mappings: list[dict[str, str]] = []
        staged: list[dict[str, Any]] = []
        ids: dict[str, str] = {}
        for b, batch in enumerate(batches):
            for o, obj in enumerate((batch or {}).get("objects") or []):
                staged.extend(self._stage(obj, f"batches[{b}].objects[{o}]", ids))
        now = _now()
        version = int(datetime.now(UTC).timestamp() * 1000)
        for obj in staged:
            obj["version"] = version
            obj["updated_at"] = now
            self.catalog[obj["id"]] = obj
        mappings = [{"client_object_id": temp, "object_id": real} for temp, real in ids.items()]
        tops = [o for o in staged if o["type"] == "ITEM"]
        return Answer(200, {"objects": tops, "id_mappings": mappings, "updated_at": now})

    def _resolve(self, object_id: Any, version: Any, where: str, ids: dict[str, str]) -> str:
        if not isinstance(object_id, str) or not object_id:
            raise self._invalid("MISSING_REQUIRED_PARAMETER", "Field must be set", f"{where}.id")
        if object_id.startswith("#"):
            return ids.setdefault(object_id, uuid.uuid4().hex[:24].upper())
        current = self.catalog.get(object_id)
        if current is None:
            raise self._invalid("NOT_FOUND", f"Object {object_id} not found", f"{where}.id")
        if version != current["version"]:
            raise self._invalid(
                "VERSION_MISMATCH", f"Object version does not match for object: {object_id}", f"{where}.version"
            )
        return object_id

    def _stage(self, obj: Any, where: str, ids: dict[str, str]) -> list[dict[str, Any]]:
        if not isinstance(obj, dict) or obj.get("type") != "ITEM":
            raise self._invalid(
                "INVALID_VALUE", "only ITEM objects (with their variations) are emulated", f"{where}.type"
            )
        item_id = self._resolve(obj.get("id"), obj.get("version"), where, ids)
        data = obj.get("item_data")
        if not isinstance(data, dict) or not data.get("name"):
            raise self._invalid("MISSING_REQUIRED_PARAMETER", "Field must be set", f"{where}.item_data.name")
        variations = []
        for v, variation in enumerate(data.get("variations") or []):
            vwhere = f"{where}.item_data.variations[{v}]"
            if not isinstance(variation, dict) or variation.get("type") != "ITEM_VARIATION":
                raise self._invalid("INVALID_VALUE", "expected an ITEM_VARIATION", f"{vwhere}.type")
            variation_id = self._resolve(variation.get("id"), variation.get("version"), vwhere, ids)
            vdata = dict(variation.get("item_variation_data") or {})
            parent = vdata.get("item_id")
            if parent not in (obj.get("id"), item_id):
                raise self._invalid(
                    "INVALID_VALUE", "item_id must name the item", f"{vwhere}.item_variation_data.item_id"
                )
            pricing = vdata.get("pricing_type", "FIXED_PRICING")
            money = vdata.get("price_money")
            if pricing == "FIXED_PRICING" and (
                not isinstance(money, dict)
                or not isinstance(money.get("amount"), int)
                or isinstance(money.get("amount"), bool)
                or money["amount"] < 0
                or not isinstance(money.get("currency"), str)
            ):
                raise self._invalid(
                    "INVALID_VALUE",
                    "price_money needs an integer amount and a currency",
                    f"{vwhere}.item_variation_data.price_money",
                )
            vdata["item_id"] = item_id
            variations.append({**variation, "id": variation_id, "item_variation_data": vdata, "is_deleted": False})
        if not variations:
            raise self._invalid(
                "MISSING_REQUIRED_PARAMETER", "an item needs at least one variation", f"{where}.item_data.variations"
            )
        item = {**obj, "id": item_id, "is_deleted": False, "item_data": {**data, "variations": variations}}
        return [item, *variations]

    def variation_by_sku(self, sku: str) -> dict[str, Any] | None:
        return next(
            (
                o
                for o in self.catalog.values()
                if o["type"] == "ITEM_VARIATION" and o["item_variation_data"].get("sku") == sku
            ),
            None,
        )

    # -- the till's side ------------------------------------------------------------------------------
    def _count(self, variation_id: str, location_id: str) -> dict[str, Any]:
        return {
            "catalog_object_id": variation_id,
            "catalog_object_type": "ITEM_VARIATION",
            "state": "IN_STOCK",
            "location_id": location_id,
            "quantity": str(self.counts[(variation_id, location_id)]),
            "calculated_at": _now(),
        }

    @staticmethod
    def _non_catalog_item(item_type: str, name: str, amount: int, currency: str) -> dict[str, Any]:
        return {
            "uid": uuid.uuid4().hex[:22],
            "item_type": item_type,
            "quantity": "1",
            "name": name,
            "base_price_money": {"amount": amount, "currency": currency},
            "total_money": {"amount": amount, "currency": currency},
        }

    def set_count(self, variation_id: str, location_id: str, quantity: int) -> None:
        with self._lock:
            self.counts[(variation_id, location_id)] = quantity

    def notify(self, event_type: str, data_type: str, data_id: str, obj: dict[str, Any]) -> Notification:
        body = json.dumps(
            {
                "merchant_id": self.config.merchant_id,
                "type": event_type,
                "event_id": str(uuid.uuid4()),
                "created_at": self.clock().isoformat().replace("+00:00", "Z"),
                "data": {"type": data_type, "id": data_id, "object": obj},
            }
        ).encode()
        headers = {
            "content-type": "application/json",
            "square-version": SQUARE_VERSION,
            "x-square-hmacsha256-signature": sign(self.config.signature_key, self.config.notification_url, body),
        }
        note = Notification(body, headers)
        self.notifications.append(note)
        return note

    def ring_up(
        self,
        location_id: str,
        lines: list[tuple[str, int]],
        tenders: list[tuple[str, int]],
        *,
        currency: str = "EUR",
        gift_cards: Sequence[int] = (),
        custom_amounts: Sequence[tuple[str, int]] = (),
        service_charges: Sequence[tuple[str, int]] = (),
        rounding: int = 0,
        inclusive_tax: str | None = None,
    ) -> dict[str, Any]:
        """A sale at the till: a COMPLETED order of (sku, qty) lines at their catalog prices, paid by (type,
        amount in minor units) tenders; stock counts fall, and the webhooks go out: ``order.updated`` and an
        ``inventory.count.updated`` with the counts before and after the sale (IN_STOCK, then SOLD).

        Besides catalog lines the till can sell gift cards (``item_type: GIFT_CARD``, no catalog object),
        keyed-in (name, amount) custom amounts (``CUSTOM_AMOUNT``), add (name, amount) service charges and a
        signed cash ``rounding`` (``rounding_adjustment``), as Square's orders carry them.

        ``inclusive_tax`` (a percentage, "20") puts one order-scoped ``INCLUSIVE`` tax on every line (gift cards
        aside) and service charge, as the Orders API reports it: the order's ``taxes[]`` (uid, name, percentage,
        type, scope), and per line ``applied_taxes[{tax_uid, applied_money}]`` and ``total_tax_money`` (the tax
        within the price, rounded half up to the minor unit); totals are unchanged (the tax is within them)."""
        with self._lock:
            order_id = uuid.uuid4().hex[:29]
            now = self.clock().isoformat().replace("+00:00", "Z")
            items: list[dict[str, Any]] = []
            for sku, qty in lines:
                variation = self.variation_by_sku(sku)
                if variation is None:
                    raise KeyError(sku)
                price = variation["item_variation_data"]["price_money"]["amount"]
                items.append(
                    {
                        "uid": uuid.uuid4().hex[:22],
                        "item_type": "ITEM",
                        "catalog_object_id": variation["id"],
                        "catalog_version": variation["version"],
                        "quantity": str(qty),
                        "name": variation["item_variation_data"].get("name"),
                        "base_price_money": {"amount": price, "currency": currency},
                        "total_money": {"amount": price * qty, "currency": currency},
                    }
                )
            stock_items = list(items)
            for amount in gift_cards:
                items.append(self._non_catalog_item("GIFT_CARD", "Gift Card", amount, currency))
            for name, amount in custom_amounts:
                items.append(self._non_catalog_item("CUSTOM_AMOUNT", name, amount, currency))
            charges: list[dict[str, Any]] = [
                {
                    "uid": uuid.uuid4().hex[:22],
                    "name": name,
                    "amount_money": {"amount": amount, "currency": currency},
                    "applied_money": {"amount": amount, "currency": currency},
                    "total_money": {"amount": amount, "currency": currency},
                    "calculation_phase": "SUBTOTAL_PHASE",
                }
                for name, amount in service_charges
            ]
            taxes: list[dict[str, Any]] = []
            if inclusive_tax is not None:
                tax_uid = uuid.uuid4().hex[:22]
                taxes.append(
                    {"uid": tax_uid, "name": "VAT", "percentage": inclusive_tax, "type": "INCLUSIVE", "scope": "ORDER"}
                )
                rate = Decimal(inclusive_tax)
                taxable = [i for i in items if i["item_type"] != "GIFT_CARD"]  # a gift card sold is not taxed
                for part in [*taxable, *charges]:
                    gross = Decimal(part["total_money"]["amount"])
                    within = int((gross * rate / (100 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
                    part["applied_taxes"] = [
                        {"uid": uuid.uuid4().hex[:22], "tax_uid": tax_uid, "applied_money": _m(within, currency)}
                    ]
                    part["total_tax_money"] = _m(within, currency)
            total = (
                sum(i["total_money"]["amount"] for i in items)
                + sum(c["total_money"]["amount"] for c in charges)
                + rounding
            )
            order = {
                "id": order_id,
                "location_id": location_id,
                "state": "COMPLETED",
                "version": 4,
                "line_items": items,
                "tenders": [_tender(kind, amount, currency) for kind, amount in tenders],
                "total_money": {"amount": total, "currency": currency},
                **({"service_charges": charges} if charges else {}),
                **({"taxes": taxes} if taxes else {}),
                **(
                    {
                        "rounding_adjustment": {
                            "uid": uuid.uuid4().hex[:22],
                            "name": "Cash rounding",
                            "amount_money": {"amount": rounding, "currency": currency},
                        }
                    }
                    if rounding
                    else {}
                ),
                "created_at": now,
                "updated_at": now,
                "closed_at": now,
            }
            self.orders[order_id] = order
            self.notify(
                "order.updated",
                "order",
                order_id,
                {
                    "order_updated": {
                        "created_at": now,
                        "location_id": location_id,
                        "order_id": order_id,
                        "state": "COMPLETED",
                        "updated_at": now,
                        "version": 4,
                    }
                },
            )
            counts = []
            for item in stock_items:
                key = (item["catalog_object_id"], location_id)
                self.counts[key] = self.counts.get(key, 0) - int(item["quantity"])
                counts.append(self._count(*key))
                counts.append({**self._count(*key), "state": "SOLD", "quantity": item["quantity"]})
            if counts:  # a gift card alone moves no stock
                self.notify("inventory.count.updated", "inventory", str(uuid.uuid4()), {"inventory_counts": counts})
            return order


def _m(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


def create_app(sandbox: SquareSandbox) -> FastAPI:
    return sandbox.asgi("Square API sandbox")


def _tender(kind: str, amount: int, currency: str) -> dict[str, Any]:
    """An Orders API ``Tender``. A ``SQUARE_GIFT_CARD`` one, as Square sends it, carries ``card_details``
    (``TenderCardDetails``: the card's brand and last 4 digits, never its number) and the ``payment_id``
    Square's gift card activities name for the REDEEM."""
    tender: dict[str, Any] = {
        "id": uuid.uuid4().hex[:24],
        "type": kind,
        "amount_money": {"amount": amount, "currency": currency},
    }
    if kind == "SQUARE_GIFT_CARD":
        tender["card_details"] = {
            "status": "CAPTURED",
            "card": {"card_brand": "SQUARE_GIFT_CARD", "last_4": str(int(uuid.uuid4().int % 10_000)).zfill(4)},
            "entry_method": "SWIPED",
        }
        tender["payment_id"] = uuid.uuid4().hex[:22]
    return tender
