"""Shopify JSON ↔ canonical objects, as pure functions (tested on ``tests/fixtures/shopify``).

Inbound payloads are the REST-shaped webhook bodies (numeric ids, money as strings with ``*_set`` twins);
outbound are GraphQL variables (``gid://shopify/...`` ids). Defined behaviour for the awkward cases:

- **unknown SKU**: a line we cannot resolve (no variant mapping, and Shopify's SKU text is not one of ours)
  holds the whole order (``hold_unknown_sku``): half an order in the queue is worse than a late one, and
  the inbox replays it once ``seamline shopify link`` has mapped the variant;
- **foreign currency**: amounts are taken in shop money (what settles); the buyer's presentment currency is
  kept beside them; an order whose shop currency is not the channel's currency is held;
- **gift cards** and **custom line items** are skipped lines with their reason (no stock behind them); an
  order of nothing else is ignored (``ignore_nothing_to_fulfil``);
- **test orders** are mapped but ignored (``ignore_test_order``) unless the channel accepts them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from seamline.catalog.content import PublishedContent
from seamline.catalog.model import Style
from seamline.channels.canonical import (
    AvailabilityPush,
    CustomerRef,
    FieldDrift,
    FulfilledLine,
    FulfillmentReport,
    InboundOrder,
    InboundRefund,
    InventoryLevelReport,
    OrderCancellation,
    OrderLine,
    OrderMapping,
    OrderVerdict,
    ProductReport,
    RefundLine,
    RefundMapping,
    RefundVerdict,
    RestockType,
    SkippedLine,
    SkipReason,
    VariantReport,
)
from seamline.domain.commerce import (
    Address,
    CommerceLine,
    DiscountAllocation,
    OrderCommerce,
    Payment,
    RefundAdjustment,
    RefundCommerce,
    RefundedLine,
    ShippingLine,
    TaxLine,
)

MAX_QUANTITIES_PER_CALL = 250
#: The reason we give Shopify for a number we publish: our ledger corrects the channel's presentation.
DEFAULT_REASON = "correction"
OPTION_COLOUR = "Colour"
OPTION_SIZE = "Size"
OPTION_FIT = "Fit"
STATUS_TO_SHOPIFY = {"active": "ACTIVE", "draft": "DRAFT", "discontinued": "ARCHIVED"}

_GID = re.compile(r"^gid://shopify/(?P<type>[A-Za-z]+)/(?P<id>[0-9]+)")


class MappingError(ValueError):
    """The payload is not the shape Shopify documents: a bug on one side, never retried into success."""


class UnpublishableStyle(ValueError):
    """The master lacks something Shopify needs (a price in the channel's currency, a variant)."""


@dataclass(frozen=True)
class ShopifyLookups:
    """What the channel's mapping tables and settings say, handed to the mapper so it stays pure."""

    #: Shopify variant id (numeric string) → our SKU, filled by publish and by ``seamline shopify link``.
    variant_skus: Mapping[str, str] = field(default_factory=dict)
    #: Our SKUs. None trusts Shopify's SKU text as ours (used where the catalog is not at hand).
    known_skus: Collection[str] | None = None
    #: Shopify location id (numeric string) → our location code.
    location_codes: Mapping[str, str] = field(default_factory=dict)
    #: The channel's currency; None accepts whatever the shop's currency is.
    currency: str | None = None
    accept_test_orders: bool = False


# -- ids, money, time -----------------------------------------------------------------------------------


def to_gid(kind: str, value: str | int) -> str:
    """``gid://shopify/<kind>/<id>`` from a numeric id or an existing gid of that kind."""
    text = str(value)
    if text.isdigit():
        return f"gid://shopify/{kind}/{text}"
    match = _GID.match(text)
    if match is None or match["type"] != kind:
        raise MappingError(f"{value!r} is not a Shopify {kind} id")
    return text


def legacy_id(value: Any) -> str | None:
    """The numeric id as a string, from a number, a numeric string or a gid."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if text.isdigit():
        return text
    match = _GID.match(text)
    return match["id"] if match else None


def _decimal(value: Any, what: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, float):
        value = repr(value)  # refund subtotals arrive as JSON numbers; never let binary floats into money
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise MappingError(f"{what} is not a decimal: {value!r}") from None
    if not amount.is_finite():
        raise MappingError(f"{what} is not finite")
    return amount


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise MappingError(f"not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise MappingError(f"time without a zone: {value!r}")
    return parsed.astimezone(UTC)


def _shop_money(item: Mapping[str, Any], key: str) -> Decimal | None:
    """An amount in shop currency: the ``*_set.shop_money`` twin when present, else the plain field."""
    money_set = item.get(f"{key}_set")
    if isinstance(money_set, Mapping) and isinstance(money_set.get("shop_money"), Mapping):
        return _decimal(money_set["shop_money"].get("amount"), key)
    return _decimal(item.get(key), key)


def _require(payload: Any, *keys: str) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise MappingError("payload is not a JSON object")
    missing = [key for key in keys if payload.get(key) is None]
    if missing:
        raise MappingError(f"payload lacks {', '.join(missing)}")
    return payload


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _qty(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MappingError(f"{what} is not an integer: {value!r}")
    return value


# -- inbound: orders ------------------------------------------------------------------------------------


def resolve_sku(variant_id: str | None, sku_text: str | None, lookups: ShopifyLookups) -> str | None:
    """Our SKU for a Shopify line: the variant mapping first (what publish/link recorded), else Shopify's
    SKU text when it is one of ours."""
    if variant_id is not None and variant_id in lookups.variant_skus:
        return lookups.variant_skus[variant_id]
    if sku_text is not None and (lookups.known_skus is None or sku_text in lookups.known_skus):
        return sku_text
    return None


def _customer(payload: Mapping[str, Any]) -> CustomerRef | None:
    found = payload.get("customer")
    customer: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    email = _text(payload.get("email")) or _text(payload.get("contact_email")) or _text(customer.get("email"))
    phone = _text(payload.get("phone")) or _text(customer.get("phone"))
    name = " ".join(p for p in (_text(customer.get("first_name")), _text(customer.get("last_name"))) if p) or None
    for address in ("billing_address", "shipping_address"):
        block = payload.get(address)
        if name is None and isinstance(block, Mapping):
            name = _text(block.get("name"))
    if not (email or phone or name):
        return None
    return CustomerRef(email, phone, name, legacy_id(customer.get("id")))


# -- inbound: the commercial truth --------------------------------------------------------------------

#: ``financial_status`` values for which Shopify holds the buyer's money (part of it refunded or not).
PAID_STATUSES = frozenset({"paid", "partially_paid", "partially_refunded", "refunded"})


def _money(item: Mapping[str, Any], key: str) -> Decimal:
    """A required amount in shop money (``<key>_set.shop_money.amount`` or ``<key>``)."""
    value = _shop_money(item, key)
    if value is None:
        raise MappingError(f"{key} is missing")
    return value


def _tax_lines(item: Mapping[str, Any]) -> tuple[TaxLine, ...]:
    out = []
    for tax in item.get("tax_lines") or ():
        if not isinstance(tax, Mapping):
            raise MappingError("a tax line is not an object")
        rate = _decimal(tax.get("rate"), "tax_lines[].rate")
        out.append(
            TaxLine(_text(tax.get("title")) or "", rate if rate is not None else Decimal(0), _money(tax, "price"))
        )
    return tuple(out)


def _discounts(item: Mapping[str, Any], applications: Sequence[Any]) -> tuple[DiscountAllocation, ...]:
    out = []
    for alloc in item.get("discount_allocations") or ():
        if not isinstance(alloc, Mapping):
            raise MappingError("a discount allocation is not an object")
        index = alloc.get("discount_application_index")
        source = ""
        if isinstance(index, int) and 0 <= index < len(applications) and isinstance(applications[index], Mapping):
            app = applications[index]
            source = _text(app.get("code")) or _text(app.get("title")) or _text(app.get("type")) or ""
        out.append(DiscountAllocation(_money(alloc, "amount"), source))
    return tuple(out)


def _address(block: Any) -> Address | None:
    if not isinstance(block, Mapping):
        return None
    name = _text(block.get("name")) or (
        " ".join(p for p in (_text(block.get("first_name")), _text(block.get("last_name"))) if p) or None
    )
    return Address(
        name=name,
        company=_text(block.get("company")),
        line1=_text(block.get("address1")),
        line2=_text(block.get("address2")),
        city=_text(block.get("city")),
        region=_text(block.get("province_code")) or _text(block.get("province")),
        postcode=_text(block.get("zip")),
        country=_text(block.get("country_code")) or _text(block.get("country")),
        phone=_text(block.get("phone")),
    )


def _transactions(items: Any) -> tuple[Payment, ...]:
    out = []
    for txn in items or ():
        if not isinstance(txn, Mapping):
            continue
        gateway = _text(txn.get("gateway"))
        amount = _shop_money(txn, "amount")
        if amount is None:
            continue
        out.append(
            Payment(
                tender=gateway or "shopify",
                amount=amount,
                gateway=gateway,
                kind=_text(txn.get("kind")) or "sale",
                status=_text(txn.get("status")) or "success",
                reference=legacy_id(txn.get("id")),
                card=_gift_card_id(txn) if gateway == "gift_card" else None,
            )
        )
    return tuple(out)


def _gift_card_id(txn: Mapping[str, Any]) -> str | None:
    """The card a ``gift_card`` gateway transaction was taken from: Shopify puts ``gift_card_id`` (and
    ``gift_card_last_characters``) in the transaction's ``receipt`` (REST Transaction resource; a transaction
    created through the API names it at the top level too)."""
    receipt = txn.get("receipt")
    found = receipt.get("gift_card_id") if isinstance(receipt, Mapping) else None
    return legacy_id(found if found is not None else txn.get("gift_card_id"))


def _order_payments(data: Mapping[str, Any], total: Decimal | None) -> tuple[Payment, ...]:
    """The money Shopify took: its transactions when the payload carries them, else (a webhook order body
    has none) what ``financial_status`` and ``total_outstanding`` say was paid, booked to the first gateway
    (the tender's account is configured per gateway name)."""
    if isinstance(data.get("transactions"), list):
        return _transactions(data["transactions"])
    status = _text(data.get("financial_status"))
    if status not in PAID_STATUSES or total is None:
        return ()
    outstanding = _decimal(data.get("total_outstanding"), "total_outstanding") or Decimal(0)
    paid = total - outstanding
    if paid <= 0:
        return ()
    gateways = [str(g) for g in data.get("payment_gateway_names") or () if g]
    gateway = gateways[0] if gateways else "shopify"
    return (Payment(tender=gateway, amount=paid, gateway=", ".join(gateways) or None, kind="sale"),)


def order_commerce(data: Mapping[str, Any], lines: Sequence[OrderLine], stock: Sequence[OrderLine]) -> OrderCommerce:
    """The order's money as Shopify computed it (shop money): lines with their discount allocations, tax
    lines and duties; shipping lines (charged, discounted, taxed); addresses, buyer, payments, totals."""
    applications = [a for a in data.get("discount_applications") or () if isinstance(a, Mapping)]
    stock_no = {line.line_id: i for i, line in enumerate(stock, start=1)}
    items = {legacy_id(item.get("id")): item for item in data["line_items"]}
    commerce_lines = []
    for line in lines:
        item = items[line.line_id]
        duties = tuple(
            TaxLine("duty " + (_text(d.get("harmonized_system_code")) or ""), Decimal(0), _money(d, "price"))
            for d in item.get("duties") or ()
            if isinstance(d, Mapping)
        )
        commerce_lines.append(
            CommerceLine(
                line_id=line.line_id,
                title=line.title,
                qty=line.qty,
                unit_price=line.unit_price,
                sku=line.sku,
                order_line_no=stock_no.get(line.line_id),
                kind="gift_card" if line.gift_card else "custom" if line.custom else "goods",
                discounts=_discounts(item, applications),
                tax_lines=_tax_lines(item),
                duties=duties,
            )
        )
    shipping = []
    for ship in data.get("shipping_lines") or ():
        if not isinstance(ship, Mapping) or ship.get("is_removed"):
            continue
        price = _money(ship, "price")
        discounts = _discounts(ship, applications)
        discounted = _shop_money(ship, "discounted_price")
        if not discounts and discounted is not None and discounted < price:
            discounts = (DiscountAllocation(price - discounted, "shipping"),)
        shipping.append(ShippingLine(_text(ship.get("title")) or "shipping", price, discounts, _tax_lines(ship)))
    total = _shop_money(data, "total_price")
    customer_block = data.get("customer")
    customer: Mapping[str, Any] = customer_block if isinstance(customer_block, Mapping) else {}
    ref = _customer(data)
    totals = {}
    for key in ("subtotal_price", "total_tax", "total_discounts", "total_shipping_price", "total_duties"):
        value = _shop_money(data, key)
        if value is not None:
            totals[key] = str(value)
    currency = str(data["currency"])
    return OrderCommerce(
        source="shopify",
        name=_text(data.get("name")),
        currency=currency,
        presentment_currency=str(data.get("presentment_currency") or currency),
        taxes_included=bool(data.get("taxes_included")),
        lines=tuple(commerce_lines),
        channel_total=total,
        shipping=tuple(shipping),
        payments=_order_payments(data, total),
        ship_to=_address(data.get("shipping_address")),
        bill_to=_address(data.get("billing_address")),
        customer={
            "external_id": legacy_id(customer.get("id")),
            "email": ref.email if ref else None,
            "name": ref.name if ref else None,
        },
        channel_totals=totals,
    )


def refund_commerce(data: Mapping[str, Any], currency: str | None) -> RefundCommerce:
    """What Shopify refunded: per refunded line its subtotal (after discounts) and tax, shipping refunds
    (``refund_shipping_lines`` from API 2024-10; before that an order adjustment of kind
    ``shipping_refund``), order adjustments (a negative ``amount`` is money that went back to the buyer),
    and the refund transactions (what actually moved)."""
    lines = []
    for entry in data.get("refund_line_items") or ():
        found = entry.get("line_item")
        item: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        lines.append(
            RefundedLine(
                line_id=str(legacy_id(entry.get("line_item_id") or item.get("id"))),
                qty=_qty(entry.get("quantity"), "refund_line_items[].quantity"),
                subtotal=_money(entry, "subtotal"),
                tax=_shop_money(entry, "total_tax") or Decimal(0),
                sku=_text(item.get("sku")),
                title=_text(item.get("name")) or _text(item.get("title")) or "",
            )
        )
    adjustments = []
    for ship in data.get("refund_shipping_lines") or ():
        if not isinstance(ship, Mapping):
            continue
        amount = _shop_money(ship, "subtotal_amount") or Decimal(0)
        tax = _shop_money(ship, "tax_amount") or Decimal(0)
        adjustments.append(RefundAdjustment("shipping", amount + tax, tax, "shipping refund"))
    for adj in data.get("order_adjustments") or ():
        if not isinstance(adj, Mapping):
            continue
        amount = _shop_money(adj, "amount") or Decimal(0)
        tax = _shop_money(adj, "tax_amount") or Decimal(0)
        kind = "shipping" if adj.get("kind") == "shipping_refund" else "adjustment"
        reason = _text(adj.get("reason")) or _text(adj.get("kind")) or ""
        adjustments.append(RefundAdjustment(kind, -(amount + tax), -tax, reason))
    payments = tuple(p for p in _transactions(data.get("transactions")) if p.kind == "refund")
    settled = [p.amount for p in payments if p.settled]
    if currency is None:
        for txn in data.get("transactions") or ():
            if isinstance(txn, Mapping) and _text(txn.get("currency")):
                currency = _text(txn.get("currency"))
                break
    return RefundCommerce(
        source="shopify",
        external_id=str(legacy_id(data["id"])),
        currency=currency or "",
        lines=tuple(lines),
        adjustments=tuple(adjustments),
        payments=payments,
        channel_total=sum(settled, Decimal(0)) if settled else None,
    )


def map_order(payload: Any, lookups: ShopifyLookups | None = None) -> OrderMapping:
    """An ``orders/create`` (or ``orders/updated``) body → the canonical order and what to do with it."""
    lookups = lookups or ShopifyLookups()
    data = _require(payload, "id", "currency", "line_items")
    currency = str(data["currency"])
    lines: list[OrderLine] = []
    stock: list[OrderLine] = []
    skipped: list[SkippedLine] = []
    for item in data["line_items"]:
        line_id = legacy_id(item.get("id"))
        if line_id is None:
            raise MappingError("a line item has no id")
        variant_id = legacy_id(item.get("variant_id"))
        product_id = legacy_id(item.get("product_id"))
        qty = _qty(item.get("quantity"), "line_items[].quantity")
        price = _shop_money(item, "price")
        if price is None:
            raise MappingError(f"line {line_id} has no price")
        sku_text = _text(item.get("sku"))
        gift_card = bool(item.get("gift_card"))
        custom = variant_id is None and product_id is None
        sku = None if gift_card or custom else resolve_sku(variant_id, sku_text, lookups)
        title = _text(item.get("name")) or _text(item.get("title")) or ""
        line = OrderLine(line_id, sku, variant_id, product_id, qty, price, title, gift_card, custom)
        lines.append(line)
        reason = (
            SkipReason.GIFT_CARD
            if gift_card
            else SkipReason.CUSTOM_LINE_ITEM
            if custom
            else SkipReason.NO_QUANTITY
            if qty <= 0
            else SkipReason.UNKNOWN_SKU
            if sku is None
            else None
        )
        if reason is None:
            stock.append(line)
        else:
            skipped.append(SkippedLine(line_id, reason, sku or sku_text, qty, title, price))
    order = InboundOrder(
        external_id=str(legacy_id(data["id"])),
        name=_text(data.get("name")),
        placed_at=parse_time(data.get("processed_at") or data.get("created_at")),
        currency=currency,
        presentment_currency=str(data.get("presentment_currency") or currency),
        lines=tuple(lines),
        customer=_customer(data),
        test=bool(data.get("test")),
        total=_shop_money(data, "total_price"),
        cancelled_at=parse_time(data.get("cancelled_at")),
        source_name=_text(data.get("source_name")),
        location_id=legacy_id(data.get("location_id")),
        commerce=order_commerce(data, lines, stock),
    )
    unknown = [s for s in skipped if s.reason is SkipReason.UNKNOWN_SKU]
    if order.test and not lookups.accept_test_orders:
        verdict, detail = OrderVerdict.IGNORE_TEST_ORDER, "a Shopify test order never touches stock"
    elif lookups.currency is not None and currency != lookups.currency:
        verdict = OrderVerdict.HOLD_FOREIGN_CURRENCY
        detail = f"the order is in {currency}; the channel sells in {lookups.currency}"
    elif unknown:
        verdict = OrderVerdict.HOLD_UNKNOWN_SKU
        detail = "unknown SKU: " + ", ".join(s.sku or f"line {s.line_id} (no SKU)" for s in unknown)
    elif not stock:
        verdict, detail = OrderVerdict.IGNORE_NOTHING_TO_FULFIL, "no line takes stock"
    else:
        verdict, detail = OrderVerdict.ACCEPT, ""
    return OrderMapping(order, verdict, tuple(stock), tuple(skipped), detail)


def map_order_cancelled(payload: Any) -> OrderCancellation:
    data = _require(payload, "id")
    return OrderCancellation(
        str(legacy_id(data["id"])), parse_time(data.get("cancelled_at")), _text(data.get("cancel_reason"))
    )


# -- inbound: refunds, levels, products, fulfilments -------------------------------------------------


def map_refund(payload: Any, lookups: ShopifyLookups | None = None) -> RefundMapping:
    """A ``refunds/create`` body → one return line per ``refund_line_items`` entry. ``return``/``cancel``
    (and ``legacy_restock``, or no type on a refund with the deprecated ``restock: true``) put units back at the
    mapped location (a legacy one naming none: the order's); ``no_restock`` moves no stock."""
    lookups = lookups or ShopifyLookups()
    data = _require(payload, "id", "order_id", "refund_line_items")
    lines: list[RefundLine] = []
    skipped: list[SkippedLine] = []
    unmapped: list[str] = []
    unknown: list[str] = []
    currency: str | None = None
    for entry in data["refund_line_items"]:
        found = entry.get("line_item")
        item: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        line_item_id = legacy_id(entry.get("line_item_id") or item.get("id"))
        line_id = legacy_id(entry.get("id"))
        if line_item_id is None or line_id is None:
            raise MappingError("a refund line has no id or line_item_id")
        # A refund made with the deprecated top-level ``restock: true`` restocked its lines; its lines may name
        # no ``restock_type`` (or ``legacy_restock``), and no location: the order's own location takes them.
        default_type = "legacy_restock" if data.get("restock") is True else "no_restock"
        try:
            restock_type = RestockType(entry.get("restock_type") or default_type)
        except ValueError:
            raise MappingError(f"unknown restock_type {entry.get('restock_type')!r}") from None
        qty = _qty(entry.get("quantity"), "refund_line_items[].quantity")
        variant_id = legacy_id(item.get("variant_id"))
        product_id = legacy_id(item.get("product_id"))
        sku_text = _text(item.get("sku"))
        title = _text(item.get("name")) or _text(item.get("title")) or ""
        subtotal_set = entry.get("subtotal_set")
        if isinstance(subtotal_set, Mapping) and isinstance(subtotal_set.get("shop_money"), Mapping):
            currency = currency or _text(subtotal_set["shop_money"].get("currency_code"))
        subtotal = _shop_money(entry, "subtotal")
        if item.get("gift_card"):
            skipped.append(SkippedLine(line_id, SkipReason.GIFT_CARD, sku_text, qty, title, subtotal))
            continue
        if variant_id is None and product_id is None:
            skipped.append(SkippedLine(line_id, SkipReason.CUSTOM_LINE_ITEM, sku_text, qty, title, subtotal))
            continue
        sku = resolve_sku(variant_id, sku_text, lookups)
        location_id = legacy_id(entry.get("location_id"))
        location = lookups.location_codes.get(location_id) if location_id is not None else None
        if sku is None:
            skipped.append(SkippedLine(line_id, SkipReason.UNKNOWN_SKU, sku_text, qty, title, subtotal))
            if restock_type.restocks:
                unknown.append(sku_text or f"line {line_item_id}")
            continue
        legacy_without_location = restock_type is RestockType.LEGACY_RESTOCK and location_id is None
        if restock_type.restocks and location is None and not legacy_without_location:
            unmapped.append(location_id or "none given")
        lines.append(
            RefundLine(line_id, line_item_id, sku, variant_id, qty, restock_type, location_id, location, subtotal)
        )
    refund = InboundRefund(
        external_id=str(legacy_id(data["id"])),
        order_external_id=str(legacy_id(data["order_id"])),
        created_at=parse_time(data.get("processed_at") or data.get("created_at")),
        note=_text(data.get("note")),
        currency=currency,
        lines=tuple(lines),
        commerce=refund_commerce(data, currency),
    )
    if unknown:
        return RefundMapping(
            refund, RefundVerdict.HOLD_UNKNOWN_SKU, tuple(skipped), "unknown SKU: " + ", ".join(unknown)
        )
    if unmapped:
        detail = "restock at unmapped Shopify location: " + ", ".join(sorted(set(unmapped)))
        return RefundMapping(refund, RefundVerdict.HOLD_UNMAPPED_LOCATION, tuple(skipped), detail)
    return RefundMapping(refund, RefundVerdict.ACCEPT, tuple(skipped))


def map_inventory_level(payload: Any) -> InventoryLevelReport:
    data = _require(payload, "inventory_item_id", "location_id")
    available = data.get("available")
    return InventoryLevelReport(
        inventory_item_id=str(legacy_id(data["inventory_item_id"])),
        location_id=str(legacy_id(data["location_id"])),
        available=None if available is None else _qty(available, "available"),
        updated_at=parse_time(data.get("updated_at")),
    )


def map_product(payload: Any) -> ProductReport:
    """A ``products/update`` (or ``products/create``) body → the mastered fields Shopify now shows."""
    data = _require(payload, "id")
    options = tuple(
        str(option.get("name"))
        for option in sorted(data.get("options") or [], key=lambda o: o.get("position") or 0)
        if option.get("name")
    )
    variants = []
    for variant in data.get("variants") or []:
        values = tuple(str(variant[key]) for key in ("option1", "option2", "option3") if variant.get(key) is not None)
        variants.append(
            VariantReport(
                variant_id=str(legacy_id(variant.get("id"))),
                inventory_item_id=legacy_id(variant.get("inventory_item_id")),
                sku=_text(variant.get("sku")),
                barcode=_text(variant.get("barcode")),
                price=_decimal(variant.get("price"), "variants[].price"),
                options=values,
                title=_text(variant.get("title")),
            )
        )
    return ProductReport(
        product_id=str(legacy_id(data["id"])),
        title=_text(data.get("title")),
        handle=_text(data.get("handle")),
        status=_text(data.get("status")),
        options=options,
        variants=tuple(variants),
        updated_at=parse_time(data.get("updated_at")),
    )


def map_fulfillment(payload: Any) -> FulfillmentReport:
    data = _require(payload, "id", "order_id")
    numbers = [str(n) for n in data.get("tracking_numbers") or [] if n]
    if not numbers and data.get("tracking_number"):
        numbers = [str(data["tracking_number"])]
    urls = [str(u) for u in data.get("tracking_urls") or [] if u]
    if not urls and data.get("tracking_url"):
        urls = [str(data["tracking_url"])]
    return FulfillmentReport(
        external_id=str(legacy_id(data["id"])),
        order_external_id=str(legacy_id(data["order_id"])),
        status=_text(data.get("status")),
        location_id=legacy_id(data.get("location_id")),
        tracking_company=_text(data.get("tracking_company")),
        tracking_numbers=tuple(numbers),
        tracking_urls=tuple(urls),
        lines=tuple(
            FulfilledLine(
                str(legacy_id(item.get("id"))),
                _text(item.get("sku")),
                legacy_id(item.get("variant_id")),
                _qty(item.get("quantity"), "line_items[].quantity"),
            )
            for item in data.get("line_items") or []
        ),
        created_at=parse_time(data.get("created_at")),
    )


# -- outbound -------------------------------------------------------------------------------------------


def set_quantities_input(
    pushes: Sequence[AvailabilityPush],
    *,
    reference_document_uri: str,
    reason: str = DEFAULT_REASON,
) -> dict[str, Any]:
    """``inventorySetQuantities`` input: name ``available``, absolute quantities, each compare-and-set
    against what we last published (``changeFromQuantity``; an explicit null when we never published)."""
    if not pushes:
        raise ValueError("nothing to push")
    if len(pushes) > MAX_QUANTITIES_PER_CALL:
        raise ValueError(f"at most {MAX_QUANTITIES_PER_CALL} quantities per call, got {len(pushes)}")
    quantities = []
    seen: set[tuple[str, str]] = set()
    for push in pushes:
        pair = (to_gid("InventoryItem", push.inventory_item_id), to_gid("Location", push.location_id))
        if pair in seen:
            raise ValueError(f"item {pair[0]} at {pair[1]} appears twice; coalesce before mapping")
        seen.add(pair)
        quantities.append(
            {
                "inventoryItemId": pair[0],
                "locationId": pair[1],
                "quantity": push.available,
                "changeFromQuantity": push.previous,
            }
        )
    return {
        "name": "available",
        "reason": reason,
        "referenceDocumentUri": reference_document_uri,
        "quantities": quantities,
    }


def coalesce_pushes(pushes: Sequence[AvailabilityPush]) -> list[AvailabilityPush]:
    """One push per (item, location): the latest number, compared against the earliest ``previous`` (what
    Shopify holds before any of them lands). Order of first appearance is kept."""
    merged: dict[tuple[str, str], AvailabilityPush] = {}
    for push in pushes:
        key = (to_gid("InventoryItem", push.inventory_item_id), to_gid("Location", push.location_id))
        first = merged.get(key)
        previous = push.previous if first is None else first.previous
        sku = push.sku or (first.sku if first else None)
        merged[key] = AvailabilityPush(key[0], key[1], push.available, previous, sku)
    return list(merged.values())


def barcode_from_gtin(gtin: str | None) -> str | None:
    """The number printed on the label: a GTIN-14 with a leading 00 is a 12-digit UPC-A, with one 0 a
    13-digit EAN; anything else stays 14 digits."""
    if not gtin:
        return None
    if len(gtin) == 14 and gtin.startswith("00"):
        return gtin[2:]
    if len(gtin) == 14 and gtin.startswith("0"):
        return gtin[1:]
    return gtin


def style_handle(style: Style) -> str:
    return re.sub(r"[^a-z0-9]+", "-", style.code.lower()).strip("-")


def _price(style: Style, currency: str, price_list: str) -> Decimal:
    for price in style.prices:
        if price.list == price_list and price.currency == currency:
            return price.amount
    raise UnpublishableStyle(f"style {style.code} has no {price_list} price in {currency}")


def product_set_variables(
    style: Style,
    *,
    currency: str,
    price_list: str = "retail",
    product_id: str | None = None,
    vendor: str | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    """``productSet`` variables publishing a style: one product, options Colour / Size (/ Fit), one variant
    per SKU with its barcode and the style's price. Upserts by our handle (or the product id we hold);
    a discontinued style is sent ARCHIVED. Prepacks are wholesale-only and not published. The title,
    description (with care and composition) and images are the style's content, in ``channel``'s own words
    where it has them."""
    variants = style.sorted_variants()
    if not variants:
        raise UnpublishableStyle(f"style {style.code} has no variants")
    amount = _price(style, currency, price_list)
    colour_names = {c.code: c.name for c in style.colours}
    used_colours = [c.code for c in style.colours if any(v.colour == c.code for v in variants)]
    used_sizes = [s for s in style.size_scale if any(v.size == s for v in variants)]
    fits = [f for f in dict.fromkeys(v.fit for v in variants) if f]
    options = [
        {"name": OPTION_COLOUR, "position": 1, "values": [{"name": colour_names[c]} for c in used_colours]},
        {"name": OPTION_SIZE, "position": 2, "values": [{"name": s} for s in used_sizes]},
    ]
    if fits:
        options.append({"name": OPTION_FIT, "position": 3, "values": [{"name": f} for f in fits]})
    variant_inputs = []
    for variant in variants:
        option_values = [
            {"optionName": OPTION_COLOUR, "name": colour_names[variant.colour]},
            {"optionName": OPTION_SIZE, "name": variant.size},
        ]
        if fits:
            if not variant.fit:
                raise UnpublishableStyle(f"{variant.sku} has no fit while other variants of {style.code} do")
            option_values.append({"optionName": OPTION_FIT, "name": variant.fit})
        variant_inputs.append(
            {
                "optionValues": option_values,
                "inventoryItem": {"sku": variant.sku, "tracked": True},
                "barcode": barcode_from_gtin(variant.gtin),
                "price": f"{amount}",
            }
        )
    shown = style.content.for_channel(channel, style.name)
    product_input: dict[str, Any] = {
        "title": shown.title,
        "handle": style_handle(style),
        "status": STATUS_TO_SHOPIFY.get(style.status, "DRAFT"),
        "productOptions": options,
        "variants": variant_inputs,
    }
    if style.category:
        product_input["productType"] = style.category
    described = description_html(shown)
    if described is not None:
        product_input["descriptionHtml"] = described
    if shown.images:
        product_input["files"] = [
            {"originalSource": image.url, "alt": image.alt or "", "contentType": "IMAGE"} for image in shown.images
        ]
    if vendor:
        product_input["vendor"] = vendor
    identifier = {"id": to_gid("Product", product_id)} if product_id else {"handle": style_handle(style)}
    return {"identifier": identifier, "input": product_input, "synchronous": True}


def description_html(content: PublishedContent) -> str | None:
    """The description as Shopify's ``descriptionHtml``: each paragraph escaped, then care and composition."""
    parts = [
        f"<p>{html.escape(paragraph.strip())}</p>"
        for paragraph in (content.description or "").split("\n\n")
        if paragraph.strip()
    ]
    if content.care:
        parts.append(f"<p><strong>Care:</strong> {html.escape(content.care)}</p>")
    composition = content.composition_text()
    if composition:
        parts.append(f"<p><strong>Composition:</strong> {html.escape(composition)}</p>")
    return "".join(parts) or None


def product_drift(
    report: ProductReport,
    style: Style,
    *,
    currency: str,
    price_list: str = "retail",
    channel: str | None = None,
) -> list[FieldDrift]:
    """Mastered fields Shopify shows differently from the master (title, and per SKU: barcode, price,
    options). Variants only Shopify has, and SKUs it lacks, are drift too."""
    drift: list[FieldDrift] = []
    title = style.content.for_channel(channel, style.name).title
    if report.title != title:
        drift.append(FieldDrift(None, "title", title, report.title))
    try:
        amount: Decimal | None = _price(style, currency, price_list)
    except UnpublishableStyle:
        amount = None
    colour_names = {c.code: c.name for c in style.colours}
    theirs = {v.sku: v for v in report.variants if v.sku}
    for variant in style.sorted_variants():
        shown = theirs.pop(variant.sku, None)
        if shown is None:
            drift.append(FieldDrift(variant.sku, "variant", variant.sku, None))
            continue
        ours_barcode = barcode_from_gtin(variant.gtin)
        if (shown.barcode or None) != ours_barcode and (shown.barcode or "").zfill(14) != (variant.gtin or ""):
            drift.append(FieldDrift(variant.sku, "barcode", ours_barcode, shown.barcode))
        if amount is not None and shown.price != amount:
            drift.append(
                FieldDrift(variant.sku, "price", str(amount), None if shown.price is None else str(shown.price))
            )
        ours_options = (
            colour_names.get(variant.colour, variant.colour),
            variant.size,
            *([variant.fit] if variant.fit else []),
        )
        if shown.options and shown.options != ours_options:
            drift.append(FieldDrift(variant.sku, "options", " / ".join(ours_options), " / ".join(shown.options)))
    for sku in sorted(theirs):
        drift.append(FieldDrift(sku, "variant", None, sku))
    return drift
