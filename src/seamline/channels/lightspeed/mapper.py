"""Lightspeed Retail (X-Series) ↔ canonical. Pure: no HTTP, no database.

Inbound, a webhook's ``payload`` is the API 1.0 object: a sale (``sale.update``) carries
``register_sale_products`` (``product_id``, ``quantity`` — negative on a return —, ``price`` and ``tax`` per unit,
``price_total``/``tax_total`` for the line) and ``register_sale_payments`` (``name``, ``amount``), with
``status`` (only a ``CLOSED`` sale, or a closed layby/on-account one, has sold anything) and the register and
outlet it was rung up at. Money arrives as JSON numbers: it is read as the decimal text it was written as.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from seamline.domain.money import minor_exponent

CLOSED_STATUSES = frozenset({"CLOSED", "ONACCOUNT_CLOSED", "LAYBY_CLOSED"})
#: Payment names a till commonly shows, as our tender types (others are kept, lower-cased).
TENDERS = {"cash": "cash", "credit card": "card", "card": "card", "eftpos": "card", "gift card": "gift_card"}


class LightspeedMappingError(ValueError):
    """The payload is not the shape Lightspeed documents (or not one we can book)."""


class LightspeedUnmapped(LightspeedMappingError):
    """The payload names an outlet or product the channel's settings do not link yet: held, not rejected."""


@dataclass(frozen=True)
class LightspeedLookups:
    #: Lightspeed product id → our SKU.
    sku_for_product: Mapping[str, str] = field(default_factory=dict)
    #: Lightspeed outlet id → our store location code.
    location_for: Mapping[str, str] = field(default_factory=dict)
    #: Lightspeed register id → outlet id (a sale names its register; the outlet may be left out).
    outlet_for_register: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SaleLine:
    sku: str
    qty: int
    unit_price: Decimal


@dataclass(frozen=True)
class LightspeedContact:
    """A Lightspeed customer as our contact: the match keys (email, phone) and a name."""

    customer_id: str
    email: str | None
    phone: str | None
    name: str | None

    @property
    def matchable(self) -> bool:
        return bool(self.email or self.phone)


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def map_customer(payload: Any) -> LightspeedContact:
    """A ``customer.update`` payload (or a sale's ``customer``): email, phone (``phone`` or ``mobile``) and the
    name (``first_name last_name``, else ``name``). The till's walk-in customer has neither email nor phone."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("id"), str):
        raise LightspeedMappingError("a customer payload is an object with an id")
    name = " ".join(p for p in (_text(payload.get("first_name")), _text(payload.get("last_name"))) if p)
    return LightspeedContact(
        customer_id=payload["id"],
        email=_text(payload.get("email")),
        phone=_text(payload.get("phone")) or _text(payload.get("mobile")),
        name=name or _text(payload.get("name")),
    )


@dataclass(frozen=True)
class LightspeedSale:
    sale_id: str
    location: str
    currency: str
    lines: tuple[SaleLine, ...]
    tenders: tuple[tuple[str, Decimal], ...]
    occurred_at: datetime
    #: The sale this one returns goods of (its lines have negative quantities).
    return_for: str | None = None
    customer: LightspeedContact | None = None

    @property
    def is_return(self) -> bool:
        return any(line.qty < 0 for line in self.lines)


def decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise LightspeedMappingError(f"{where} must be a number, not {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise LightspeedMappingError(f"{where}: {value!r} is not a number") from None
    if not number.is_finite():
        raise LightspeedMappingError(f"{where}: {value!r} is not a number")
    return number


def parse_time(value: Any) -> datetime:
    """``2026-11-27 10:15:00`` (API 1.0, UTC) or an ISO 8601 time with its offset (API 2.0)."""
    if not isinstance(value, str) or not value:
        raise LightspeedMappingError(f"not a time: {value!r}")
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise LightspeedMappingError(f"not a time: {value!r}") from None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _cents(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-minor_exponent(currency)), rounding=ROUND_HALF_UP)


def map_sale(payload: Any, lookups: LightspeedLookups, currency: str) -> LightspeedSale | None:
    """A closed sale → a till sale (or a return, for negative quantities); None for a sale still open (saved,
    parked, a layby not yet paid): nothing has left the shop. Lines must name products we published;
    payments must add up to the lines (tax included)."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("id"), str):
        raise LightspeedMappingError("a sale payload is an object with an id")
    sale_id = payload["id"]
    if str(payload.get("status") or "") not in CLOSED_STATUSES:
        return None
    outlet = payload.get("outlet_id") or lookups.outlet_for_register.get(str(payload.get("register_id")))
    location = lookups.location_for.get(str(outlet))
    if location is None:
        raise LightspeedUnmapped(f"sale {sale_id}: outlet {outlet} is not linked to a store")
    lines: list[SaleLine] = []
    for i, raw in enumerate(payload.get("register_sale_products") or []):
        where = f"register_sale_products[{i}]"
        if not isinstance(raw, Mapping):
            raise LightspeedMappingError(f"{where} is not an object")
        sku = lookups.sku_for_product.get(str(raw.get("product_id")))
        if sku is None:
            raise LightspeedUnmapped(f"{where} names product {raw.get('product_id')}, not a published SKU")
        quantity = decimal(raw.get("quantity"), f"{where}.quantity")
        if quantity != quantity.to_integral_value():
            raise LightspeedMappingError(f"{where}.quantity {quantity} is not a whole number of units")
        qty = int(quantity)
        if qty == 0:
            continue
        if raw.get("price_total") is not None and raw.get("tax_total") is not None:
            total = decimal(raw["price_total"], f"{where}.price_total") + decimal(
                raw["tax_total"], f"{where}.tax_total"
            )
            unit = total / qty
        else:
            unit = decimal(raw.get("price"), f"{where}.price") + decimal(raw.get("tax"), f"{where}.tax")
        lines.append(SaleLine(sku, qty, _cents(abs(unit), currency)))
    if not lines:
        raise LightspeedMappingError(f"sale {sale_id} has no lines to sell")
    if any(line.qty < 0 for line in lines) and any(line.qty > 0 for line in lines):
        raise LightspeedMappingError(f"sale {sale_id} sells and returns in one sale: an exchange is not taken yet")
    tenders: list[tuple[str, Decimal]] = []
    for i, raw in enumerate(payload.get("register_sale_payments") or []):
        where = f"register_sale_payments[{i}]"
        if not isinstance(raw, Mapping):
            raise LightspeedMappingError(f"{where} is not an object")
        amount = _cents(decimal(raw.get("amount"), f"{where}.amount"), currency)
        name = str(raw.get("name") or raw.get("payment_type_id") or "other").strip().lower()
        tenders.append((TENDERS.get(name, name.replace(" ", "_")), abs(amount)))
    sold = sum((abs(line.qty) * line.unit_price for line in lines), Decimal(0))
    paid = sum((a for _, a in tenders), Decimal(0))
    if sold != paid:
        raise LightspeedMappingError(f"sale {sale_id}: lines total {sold}, payments {paid}")
    return_for = payload.get("return_for")
    customer = map_customer(payload["customer"]) if isinstance(payload.get("customer"), Mapping) else None
    return LightspeedSale(
        sale_id=sale_id,
        location=location,
        currency=currency,
        lines=tuple(lines),
        tenders=tuple(tenders),
        occurred_at=parse_time(payload.get("sale_date") or payload.get("created_at")),
        return_for=str(return_for) if return_for else None,
        customer=customer if customer is not None and customer.matchable else None,
    )
