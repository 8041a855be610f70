"""Webhook topic payloads built from the sandbox shop, in the shape of Shopify's own samples
(``tests/fixtures/shopify``): REST-style snake_case, numeric ids, money as strings with ``*_set`` twins in
shop and presentment currency, ``admin_graphql_api_id`` beside every id."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from seamline.sandbox.shopify.state import (
    Fulfillment,
    Level,
    LineItem,
    Order,
    Product,
    Refund,
    Shop,
    Transaction,
    gid,
)


def stamp(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def money_set(amount: Decimal, currency: str, presentment: str | None = None) -> dict[str, Any]:
    return {
        "shop_money": {"amount": money(amount), "currency_code": currency},
        "presentment_money": {"amount": money(amount), "currency_code": presentment or currency},
    }


def _line_item(line: LineItem, order: Order, fulfilled: int) -> dict[str, Any]:
    return {
        "id": line.id,
        "admin_graphql_api_id": gid("LineItem", line.id),
        "current_quantity": line.quantity,
        "fulfillable_quantity": max(0, line.quantity - fulfilled),
        "fulfillment_service": "manual",
        "fulfillment_status": "fulfilled" if fulfilled >= line.quantity else None,
        "gift_card": line.gift_card,
        "grams": 0,
        "name": line.title,
        "price": money(line.price),
        "price_set": money_set(line.price, order.currency, order.presentment_currency),
        "product_exists": line.product_id is not None,
        "product_id": line.product_id,
        "properties": [],
        "quantity": line.quantity,
        "requires_shipping": not line.gift_card,
        "sku": line.sku,
        "taxable": True,
        "title": line.title,
        "total_discount": "0.00",
        "total_discount_set": money_set(Decimal(0), order.currency, order.presentment_currency),
        "variant_id": line.variant_id,
        "variant_inventory_management": "shopify" if line.variant_id is not None else None,
        "variant_title": None,
        "vendor": None,
        "tax_lines": [],
        "duties": [],
        "discount_allocations": [],
    }


def order_payload(shop: Shop, order: Order) -> dict[str, Any]:
    fulfilled: dict[int, int] = {}
    for fulfillment_id in order.fulfillment_ids:
        for line_id, qty in shop.fulfillments[fulfillment_id].lines:
            fulfilled[line_id] = fulfilled.get(line_id, 0) + qty
    total = sum((line.price * line.quantity for line in order.line_items), Decimal(0))
    customer = order.customer
    all_fulfilled = all(fulfilled.get(line.id, 0) >= line.quantity for line in order.line_items)
    return {
        "id": order.id,
        "admin_graphql_api_id": gid("Order", order.id),
        "app_id": None,
        "cancel_reason": order.cancel_reason,
        "cancelled_at": stamp(order.cancelled_at),
        "confirmed": True,
        "contact_email": order.email,
        "created_at": stamp(order.created_at),
        "currency": order.currency,
        "current_subtotal_price": money(total),
        "current_total_price": money(total),
        "email": order.email,
        "financial_status": "voided" if order.cancelled_at else "paid",
        "fulfillment_status": "fulfilled" if order.fulfillment_ids and all_fulfilled else None,
        "location_id": order.location_id,
        "name": order.name,
        "note": None,
        "note_attributes": [],
        "number": order.number - 1000,
        "order_number": order.number,
        "phone": order.phone,
        "presentment_currency": order.presentment_currency,
        "processed_at": stamp(order.created_at),
        "source_name": order.source_name,
        "subtotal_price": money(total),
        "subtotal_price_set": money_set(total, order.currency, order.presentment_currency),
        "tags": "",
        "tax_lines": [],
        "taxes_included": False,
        "test": order.test,
        "total_discounts": "0.00",
        "total_line_items_price": money(total),
        "total_price": money(total),
        "total_price_set": money_set(total, order.currency, order.presentment_currency),
        "total_tax": "0.00",
        "updated_at": stamp(order.created_at),
        "customer": None
        if customer is None
        else {
            "id": customer.id,
            "email": customer.email,
            "phone": customer.phone,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "state": "enabled",
            "currency": order.currency,
            "admin_graphql_api_id": gid("Customer", customer.id),
        },
        "billing_address": None,
        "shipping_address": None,
        "discount_applications": [],
        "fulfillments": [fulfillment_payload(shop, shop.fulfillments[f]) for f in order.fulfillment_ids],
        "line_items": [_line_item(line, order, fulfilled.get(line.id, 0)) for line in order.line_items],
        "refunds": [],
        "shipping_lines": [],
        **(_payments(order) if order.transactions else {}),
    }


def _payments(order: Order) -> dict[str, Any]:
    """An order paid in part by gift card: its gateways and its transactions. NOTE: Shopify's ``orders/create``
    webhook body carries ``payment_gateway_names`` but no ``transactions`` (those are the Transaction resource
    and the ``order_transactions/create`` topic); the sandbox adds them here, where the mapper reads them,
    until the connector reads an order's transactions itself."""
    return {
        "payment_gateway_names": sorted({t.gateway for t in order.transactions}),
        "transactions": [_transaction(order, t) for t in order.transactions],
    }


def _transaction(order: Order, txn: Transaction) -> dict[str, Any]:
    """An order's payment as the REST Transaction resource shows it: a ``gift_card`` one names its card in the
    receipt (``gift_card_id``, ``gift_card_last_characters``)."""
    out: dict[str, Any] = {
        "id": txn.id,
        "order_id": order.id,
        "kind": "sale",
        "status": "success",
        "gateway": txn.gateway,
        "amount": money(txn.amount),
        "currency": order.currency,
        "admin_graphql_api_id": gid("OrderTransaction", txn.id),
    }
    if txn.gift_card_id is not None:
        out["receipt"] = {
            "gift_card_id": txn.gift_card_id,
            "gift_card_last_characters": txn.gift_card_last_characters,
        }
    return out


def refund_payload(shop: Shop, refund: Refund) -> dict[str, Any]:
    order = shop.orders[refund.order_id]
    lines = {line.id: line for line in order.line_items}
    refund_lines = []
    for line in refund.lines:
        item = lines[line.line_item_id]
        subtotal = item.price * line.quantity
        refund_lines.append(
            {
                "id": line.id,
                "quantity": line.quantity,
                "line_item_id": line.line_item_id,
                "location_id": line.location_id,
                "restock_type": line.restock_type,
                "subtotal": float(subtotal),
                "total_tax": 0.0,
                "subtotal_set": money_set(subtotal, order.currency, order.presentment_currency),
                "total_tax_set": money_set(Decimal(0), order.currency, order.presentment_currency),
                "line_item": _line_item(item, order, 0),
            }
        )
    return {
        "id": refund.id,
        "order_id": refund.order_id,
        "created_at": stamp(refund.created_at),
        "note": refund.note,
        "user_id": None,
        "processed_at": stamp(refund.created_at),
        "duties": [],
        "return": None,
        "refund_shipping_lines": [],
        "restock": any(line.restock_type != "no_restock" for line in refund.lines),
        "admin_graphql_api_id": gid("Refund", refund.id),
        "order_adjustments": [],
        "refund_line_items": refund_lines,
        "transactions": [],
    }


def inventory_level_payload(level: Level) -> dict[str, Any]:
    return {
        "inventory_item_id": level.item_id,
        "location_id": level.location_id,
        "available": level.quantity("available"),
        "updated_at": stamp(level.updated_at),
        "admin_graphql_api_id": level.gid,
    }


def product_payload(shop: Shop, product: Product) -> dict[str, Any]:
    variants = []
    for position, variant in enumerate(shop.variants_of(product), start=1):
        values = [value for _, value in variant.options] + [None, None, None]
        levels = shop.levels_of(variant.inventory_item_id)
        on_hand = sum(level.quantity("available") for level in levels)
        variants.append(
            {
                "admin_graphql_api_id": gid("ProductVariant", variant.id),
                "barcode": variant.barcode,
                "compare_at_price": None,
                "created_at": stamp(variant.created_at),
                "id": variant.id,
                "inventory_policy": "deny",
                "position": position,
                "price": money(variant.price),
                "product_id": product.id,
                "sku": variant.sku,
                "taxable": True,
                "title": variant.title,
                "updated_at": stamp(variant.updated_at),
                "option1": values[0],
                "option2": values[1],
                "option3": values[2],
                "image_id": None,
                "inventory_item_id": variant.inventory_item_id,
                "inventory_quantity": on_hand,
                "old_inventory_quantity": on_hand,
            }
        )
    return {
        "admin_graphql_api_id": gid("Product", product.id),
        "body_html": "",
        "created_at": stamp(product.created_at),
        "handle": product.handle,
        "id": product.id,
        "product_type": product.product_type,
        "published_at": stamp(product.created_at),
        "template_suffix": None,
        "title": product.title,
        "updated_at": stamp(product.updated_at),
        "vendor": product.vendor,
        "status": product.status.lower(),
        "published_scope": "web",
        "tags": "",
        "variants": variants,
        "options": [
            {
                "id": option.id,
                "product_id": product.id,
                "name": option.name,
                "position": position,
                "values": list(option.values),
            }
            for position, option in enumerate(product.options, start=1)
        ],
        "images": [],
        "image": None,
        "media": [],
        "variant_gids": [
            {"admin_graphql_api_id": gid("ProductVariant", v.id), "updated_at": stamp(v.updated_at)}
            for v in shop.variants_of(product)
        ],
        "has_variants_that_requires_components": False,
        "category": None,
    }


def fulfillment_payload(shop: Shop, fulfillment: Fulfillment) -> dict[str, Any]:
    order = shop.orders[fulfillment.order_id]
    lines = {line.id: line for line in order.line_items}
    first = fulfillment.tracking[0] if fulfillment.tracking else None
    return {
        "id": fulfillment.id,
        "admin_graphql_api_id": gid("Fulfillment", fulfillment.id),
        "order_id": fulfillment.order_id,
        "status": fulfillment.status.lower(),
        "created_at": stamp(fulfillment.created_at),
        "updated_at": stamp(fulfillment.created_at),
        "service": "manual",
        "shipment_status": None,
        "location_id": fulfillment.location_id,
        "email": order.email,
        "destination": None,
        "name": fulfillment.name,
        "tracking_company": first.company if first else None,
        "tracking_number": first.number if first else None,
        "tracking_numbers": [t.number for t in fulfillment.tracking if t.number],
        "tracking_url": first.url if first else None,
        "tracking_urls": [t.url for t in fulfillment.tracking if t.url],
        "receipt": {},
        "line_items": [{**_line_item(lines[line_id], order, 0), "quantity": qty} for line_id, qty in fulfillment.lines],
    }
