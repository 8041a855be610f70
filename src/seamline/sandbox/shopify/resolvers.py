"""What each query and mutation field does to the sandbox shop, with Shopify's user errors.

Behaviour the documentation pins down is followed (compare-and-set on ``changeFromQuantity``, the
mandatory ``@idempotent`` key from 2026-04, 250 quantities per call, atomic batches). Where it is silent,
the choice is written next to the code."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from seamline.sandbox.shopify import payloads
from seamline.sandbox.shopify.executor import Obj
from seamline.sandbox.shopify.state import (
    QUANTITY_NAMES,
    Fulfillment,
    FulfillmentOrder,
    GiftCard,
    InventoryItem,
    Level,
    Location,
    Order,
    Product,
    ProductOption,
    Shop,
    ShopEvent,
    Tracking,
    Variant,
    gid,
    gid_type,
    handleize,
    parse_gid,
    parse_level_gid,
    search,
)

#: Reasons ``inventorySetQuantities`` accepts (shopify.dev, "inventory quantities and states").
INVENTORY_REASONS = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_created",
        "movement_updated",
        "movement_received",
        "movement_canceled",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)
MAX_QUANTITY = 1_000_000_000


def iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


class TopLevelError(Exception):
    """An error Shopify reports in the top-level ``errors`` (the field resolves to null)."""

    def __init__(self, message: str, code: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = {"code": code, **extensions}


@dataclass
class Context:
    """One request: the shop, the time, the API version and a sink for the webhook events it raises."""

    shop: Shop
    now: datetime
    api_version: str
    event_id: str
    events: list[ShopEvent] = field(default_factory=list)
    max_quantities: int = 250

    def emit(self, topic: str, payload: dict[str, Any]) -> None:
        self.events.append(ShopEvent(topic, payload, self.event_id, self.now))

    @property
    def requires_idempotency(self) -> bool:
        return self.api_version == "unstable" or self.api_version >= "2026-04"


def user_error(message: str, path: list[Any] | None, code: str | None = None, *, typename: str = "UserError") -> Obj:
    fields: dict[str, Any] = {"message": message, "field": None if path is None else [str(p) for p in path]}
    if code is not None:
        fields["code"] = code
    return Obj(typename, fields)


# -- objects --------------------------------------------------------------------------------------------


def location_obj(location: Location) -> Obj:
    return Obj(
        "Location",
        {
            "id": gid("Location", location.id),
            "legacyResourceId": str(location.id),
            "name": location.name,
            "isActive": location.active,
        },
    )


def level_obj(shop: Shop, level: Level) -> Obj:
    def quantities(args: dict[str, Any]) -> list[Obj]:
        names = args.get("names") or []
        unknown = [name for name in names if name not in QUANTITY_NAMES]
        if unknown:
            raise TopLevelError(f"Invalid quantity names: {', '.join(unknown)}", "BAD_REQUEST")
        return [
            Obj(
                "InventoryQuantity",
                {
                    "id": f"gid://shopify/InventoryQuantity/{level.location_id}?inventory_item_id={level.item_id}"
                    f"&name={name}",
                    "name": name,
                    "quantity": level.quantity(name),
                    "updatedAt": iso(level.updated_at),
                },
            )
            for name in names
        ]

    return Obj(
        "InventoryLevel",
        {
            "id": level.gid,
            "location": lambda _: location_obj(shop.locations[level.location_id]),
            "item": lambda _: item_obj(shop, shop.items[level.item_id]),
            "quantities": quantities,
            "updatedAt": iso(level.updated_at),
        },
    )


def item_obj(shop: Shop, item: InventoryItem) -> Obj:
    def level(args: dict[str, Any]) -> Obj | None:
        location_id = parse_gid(args.get("locationId"), "Location")
        found = None if location_id is None else shop.level(item.id, location_id)
        return None if found is None else level_obj(shop, found)

    return Obj(
        "InventoryItem",
        {
            "id": gid("InventoryItem", item.id),
            "legacyResourceId": str(item.id),
            "sku": item.sku,
            "tracked": item.tracked,
            "updatedAt": iso(item.updated_at),
            "variant": lambda _: variant_obj(shop, shop.variants[item.variant_id]),
            "inventoryLevel": level,
            "inventoryLevels": lambda _: [level_obj(shop, lv) for lv in shop.levels_of(item.id)],
        },
    )


def variant_obj(shop: Shop, variant: Variant) -> Obj:
    return Obj(
        "ProductVariant",
        {
            "id": gid("ProductVariant", variant.id),
            "legacyResourceId": str(variant.id),
            "title": variant.title,
            "sku": variant.sku,
            "barcode": variant.barcode,
            "price": f"{variant.price:.2f}",
            "position": variant.position,
            "updatedAt": iso(variant.updated_at),
            "selectedOptions": [Obj("SelectedOption", {"name": n, "value": v}) for n, v in variant.options],
            "inventoryItem": lambda _: item_obj(shop, shop.items[variant.inventory_item_id]),
            "product": lambda _: product_obj(shop, shop.products[variant.product_id]),
        },
    )


def product_obj(shop: Shop, product: Product) -> Obj:
    def options(args: dict[str, Any]) -> list[Obj]:
        first = args.get("first")
        chosen = product.options[:first] if isinstance(first, int) else product.options
        return [
            Obj(
                "ProductOption",
                {
                    "id": gid("ProductOption", option.id),
                    "name": option.name,
                    "position": position,
                    "values": list(option.values),
                    "optionValues": [
                        Obj("ProductOptionValue", {"id": gid("ProductOptionValue", option.value_ids[v]), "name": v})
                        for v in option.values
                    ],
                },
            )
            for position, option in enumerate(chosen, start=1)
        ]

    return Obj(
        "Product",
        {
            "id": gid("Product", product.id),
            "legacyResourceId": str(product.id),
            "title": product.title,
            "handle": product.handle,
            "descriptionHtml": product.description_html,
            "status": product.status,
            "vendor": product.vendor,
            "productType": product.product_type,
            "createdAt": iso(product.created_at),
            "updatedAt": iso(product.updated_at),
            "options": options,
            "variants": lambda _: [variant_obj(shop, v) for v in shop.variants_of(product)],
            "variantsCount": Obj("Count", {"count": len(product.variant_ids), "precision": "EXACT"}),
        },
    )


def fulfillment_order_obj(shop: Shop, fo: FulfillmentOrder) -> Obj:
    order = shop.orders[fo.order_id]
    lines = {line.id: line for line in order.line_items}
    location = shop.locations[fo.location_id]
    return Obj(
        "FulfillmentOrder",
        {
            "id": gid("FulfillmentOrder", fo.id),
            "status": fo.status,
            "assignedLocation": Obj(
                "FulfillmentOrderAssignedLocation", {"name": location.name, "location": location_obj(location)}
            ),
            "lineItems": lambda _: [
                Obj(
                    "FulfillmentOrderLineItem",
                    {
                        "id": gid("FulfillmentOrderLineItem", line.id),
                        "sku": lines[line.line_item_id].sku,
                        "totalQuantity": line.total,
                        "remainingQuantity": line.remaining,
                        "lineItem": Obj(
                            "LineItem",
                            {
                                "id": gid("LineItem", line.line_item_id),
                                "sku": lines[line.line_item_id].sku,
                                "quantity": lines[line.line_item_id].quantity,
                                "title": lines[line.line_item_id].title,
                            },
                        ),
                    },
                )
                for line in fo.lines
            ],
        },
    )


def fulfillment_obj(fulfillment: Fulfillment) -> Obj:
    return Obj(
        "Fulfillment",
        {
            "id": gid("Fulfillment", fulfillment.id),
            "legacyResourceId": str(fulfillment.id),
            "status": fulfillment.status,
            "createdAt": iso(fulfillment.created_at),
            "trackingInfo": lambda args: [
                Obj("FulfillmentTrackingInfo", {"company": t.company, "number": t.number, "url": t.url})
                for t in fulfillment.tracking[: args.get("first") or None]
            ],
        },
    )


def order_obj(shop: Shop, order: Order) -> Obj:
    fulfilled = all(shop.fulfillment_orders[f].status == "CLOSED" for f in order.fulfillment_order_ids)
    return Obj(
        "Order",
        {
            "id": gid("Order", order.id),
            "legacyResourceId": str(order.id),
            "name": order.name,
            "displayFulfillmentStatus": "FULFILLED" if order.fulfillment_ids and fulfilled else "UNFULFILLED",
            "fulfillmentOrders": lambda _: [
                fulfillment_order_obj(shop, shop.fulfillment_orders[f]) for f in order.fulfillment_order_ids
            ],
            "fulfillments": lambda _: [fulfillment_obj(shop.fulfillments[f]) for f in order.fulfillment_ids],
        },
    )


def _money_obj(amount: Decimal, currency: str) -> Obj:
    return Obj("MoneyV2", {"amount": str(amount), "currencyCode": currency})


def gift_card_obj(shop: Shop, card: GiftCard) -> Obj:
    order = shop.orders.get(card.order_id) if card.order_id is not None else None
    line = None if order is None else next((li for li in order.line_items if li.id == card.line_item_id), None)
    return Obj(
        "GiftCard",
        {
            "id": gid("GiftCard", card.id),
            "lastCharacters": card.last_characters,
            "balance": _money_obj(card.balance, card.currency),
            "initialValue": _money_obj(card.initial_value, card.currency),
            "createdAt": iso(card.created_at),
            "enabled": True,
            "order": None if order is None else order_obj(shop, order),
            "lineItem": None
            if line is None
            else Obj(
                "LineItem",
                {
                    "id": gid("LineItem", line.id),
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "title": line.title,
                    "isGiftCard": line.gift_card,
                },
            ),
        },
    )


def node_obj(shop: Shop, value: Any) -> Obj | None:
    kind = gid_type(value)
    if kind == "InventoryLevel":
        pair = parse_level_gid(value)
        level = None if pair is None else shop.level_by_id(*pair)
        return None if level is None else level_obj(shop, level)
    number = parse_gid(value, kind or "")
    if number is None:
        return None
    lookups: dict[str, Callable[[int], Obj | None]] = {
        "Product": lambda n: product_obj(shop, shop.products[n]) if n in shop.products else None,
        "ProductVariant": lambda n: variant_obj(shop, shop.variants[n]) if n in shop.variants else None,
        "InventoryItem": lambda n: item_obj(shop, shop.items[n]) if n in shop.items else None,
        "Location": lambda n: location_obj(shop.locations[n]) if n in shop.locations else None,
        "Order": lambda n: order_obj(shop, shop.orders[n]) if n in shop.orders else None,
        "FulfillmentOrder": lambda n: (
            fulfillment_order_obj(shop, shop.fulfillment_orders[n]) if n in shop.fulfillment_orders else None
        ),
    }
    lookup = lookups.get(kind or "")
    return None if lookup is None else lookup(number)


# -- queries --------------------------------------------------------------------------------------------


def _variant_search_fields(shop: Shop) -> dict[str, Callable[[Variant], Any]]:
    return {
        "sku": lambda v: v.sku,
        "barcode": lambda v: v.barcode,
        "product_id": lambda v: v.product_id,
        "id": lambda v: v.id,
        "title": lambda v: v.title,
        "product_status": lambda v: shop.products[v.product_id].status.lower(),
    }


def resolve_query(ctx: Context, name: str, args: dict[str, Any]) -> Any:
    shop = ctx.shop
    if name == "shop":
        return Obj(
            "Shop",
            {
                "id": gid("Shop", 1),
                "name": shop.name,
                "myshopifyDomain": shop.domain,
                "currencyCode": shop.currency,
            },
        )
    if name in ("product", "productVariant", "inventoryItem", "inventoryLevel", "location", "order", "node"):
        wanted = {
            "product": "Product",
            "productVariant": "ProductVariant",
            "inventoryItem": "InventoryItem",
            "inventoryLevel": "InventoryLevel",
            "location": "Location",
            "order": "Order",
        }.get(name)
        if wanted is not None and gid_type(args["id"]) != wanted:
            raise TopLevelError(f"Invalid global id '{args['id']}'", "argumentLiteralsIncompatible")
        return node_obj(shop, args["id"])
    if name == "nodes":
        return [node_obj(shop, value) for value in args["ids"] or []]
    if name == "productByIdentifier":
        identifier = args["identifier"] or {}
        if identifier.get("id"):
            return node_obj(shop, identifier["id"])
        product = shop.product_by_handle(identifier.get("handle") or "")
        return None if product is None else product_obj(shop, product)
    if name == "products":
        found = search(
            args.get("query"),
            shop.products.values(),
            {
                "handle": lambda p: p.handle,
                "title": lambda p: p.title,
                "status": lambda p: p.status.lower(),
                "id": lambda p: p.id,
                "sku": lambda p: " ".join(v.sku or "" for v in shop.variants_of(p)),
            },
        )
        return [product_obj(shop, p) for p in found]
    if name == "productVariants":
        found = search(args.get("query"), shop.variants.values(), _variant_search_fields(shop))
        return [variant_obj(shop, v) for v in found]
    if name == "inventoryItems":
        found = search(args.get("query"), shop.items.values(), {"sku": lambda i: i.sku, "id": lambda i: i.id})
        return [item_obj(shop, i) for i in found]
    if name == "giftCards":
        found = search(
            args.get("query"),
            sorted(shop.gift_cards.values(), key=lambda c: c.id),
            {
                "id": lambda c: c.id,
                "source": lambda c: "purchased" if c.order_id is not None else "api_client",
                "status": lambda _: "enabled",
            },
        )
        return [gift_card_obj(shop, c) for c in found]
    if name == "locations":
        return [location_obj(loc) for loc in shop.locations.values() if loc.active or args.get("includeInactive")]
    raise AssertionError(f"no resolver for {name}")  # the schema check refused it first


# -- mutations ------------------------------------------------------------------------------------------


def _decimal(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def product_set(ctx: Context, args: dict[str, Any]) -> Obj:
    """Upsert a whole product: options, and variants matched by id or option values; variants left out are
    deleted (productSet's list semantics). Run synchronously whatever ``synchronous`` says."""
    shop = ctx.shop
    data = args.get("input") or {}
    identifier = args.get("identifier") or {}
    errors: list[Obj] = []

    def fail(message: str, path: list[Any], code: str = "INVALID_INPUT") -> None:
        errors.append(user_error(message, path, code, typename="ProductSetUserError"))

    product: Product | None = None
    wanted_id = identifier.get("id") or data.get("id")
    if wanted_id:
        number = parse_gid(wanted_id, "Product")
        product = shop.products.get(number) if number is not None else None
        if product is None:
            fail(
                "Product does not exist",
                ["identifier", "id"] if identifier.get("id") else ["input", "id"],
                "PRODUCT_DOES_NOT_EXIST",
            )
    elif identifier.get("handle"):
        product = shop.product_by_handle(identifier["handle"])
    elif data.get("handle"):
        product = shop.product_by_handle(data["handle"])

    options_in = data.get("productOptions")
    options: list[tuple[str, list[str]]] = []
    if options_in is not None:
        for i, option in enumerate(options_in):
            values = [v.get("name") for v in option.get("values") or []]
            if not option.get("name") or not values or not all(isinstance(v, str) and v for v in values):
                fail("Option must have a name and at least one value", ["input", "productOptions", i])
            options.append((option.get("name") or "", [v for v in values if isinstance(v, str)]))
    elif product is not None:
        options = [(o.name, list(o.values)) for o in product.options]

    variants_in = data.get("variants")
    if product is None and not wanted_id and not data.get("title"):
        fail("Title can't be blank", ["input", "title"], "BLANK")
    if variants_in is not None and not options and variants_in:
        fail("Product options input is required when variants are given", ["input", "productOptions"])
    option_names = [name for name, _ in options]
    seen: set[tuple[str, ...]] = set()
    for i, variant in enumerate(variants_in or []):
        chosen = {v.get("optionName"): v.get("name") for v in variant.get("optionValues") or []}
        if set(chosen) != set(option_names):
            fail("Variant option values must name every product option once", ["input", "variants", i, "optionValues"])
            continue
        for name, values in options:
            if chosen[name] not in values:
                fail(
                    f"Option value '{chosen[name]}' does not exist on option '{name}'",
                    ["input", "variants", i, "optionValues"],
                    "OPTION_VALUE_DOES_NOT_EXIST",
                )
        combo = tuple(chosen[name] for name in option_names)
        if combo in seen:
            fail("The variant already exists", ["input", "variants", i], "VARIANT_ALREADY_EXISTS")
        seen.add(combo)
        if "price" in variant and _decimal(variant["price"]) is None:
            fail("Price must be a non-negative decimal", ["input", "variants", i, "price"])
    if errors:
        return Obj("ProductSetPayload", {"product": None, "userErrors": errors})

    now = ctx.now
    if product is None:
        handle = shop.unique_handle(identifier.get("handle") or data.get("handle") or handleize(data["title"]))
        product = Product(shop.new_id(), data["title"], handle, "ACTIVE", "", "", [], [], now, now)
        shop.products[product.id] = product
        topic = "products/create"
    else:
        topic = "products/update"
    for key, attr in (("title", "title"), ("vendor", "vendor"), ("productType", "product_type")):
        if data.get(key) is not None:
            setattr(product, attr, data[key])
    if data.get("status") is not None:
        product.status = str(data["status"]).upper()
    if data.get("descriptionHtml") is not None:
        product.description_html = str(data["descriptionHtml"])
    if data.get("files") is not None:
        # productSet's list semantics: the product's media become exactly the files listed, in order; a file
        # whose source it already has is kept, not added again.
        product.media = [(str(f.get("originalSource")), str(f.get("alt") or "")) for f in data["files"]]
    if data.get("handle") and data["handle"] != product.handle:
        product.handle = shop.unique_handle(data["handle"])
    if options_in is not None:
        old = {o.name: o for o in product.options}
        product.options = []
        for name, values in options:
            option = old.get(name) or ProductOption(shop.new_id(), name, [])
            option.values = values
            option.value_ids = {v: option.value_ids.get(v) or shop.new_id() for v in values}
            product.options.append(option)
    if variants_in is not None:
        existing = {tuple(v for _, v in variant.options): variant for variant in shop.variants_of(product)}
        by_id = {variant.id: variant for variant in shop.variants_of(product)}
        kept: list[int] = []
        for position, variant_in in enumerate(variants_in, start=1):
            chosen = {v["optionName"]: v["name"] for v in variant_in.get("optionValues") or []}
            combo = tuple(chosen[name] for name in option_names)
            variant_id = parse_gid(variant_in.get("id"), "ProductVariant")
            variant = by_id.get(variant_id) if variant_id is not None else existing.get(combo)
            item_in = variant_in.get("inventoryItem") or {}
            sku = item_in.get("sku", variant_in.get("sku"))
            if variant is None:
                item_id = shop.new_id()
                variant = Variant(
                    shop.new_id(), product.id, [], None, None, Decimal("0.00"), item_id, position, now, now
                )
                shop.variants[variant.id] = variant
                shop.items[item_id] = InventoryItem(item_id, variant.id, None, True, now)
                # Shopify stocks a new variant at the shop's locations; the sandbox stocks it at every active one.
                for location in shop.locations.values():
                    if location.active:
                        shop.stock(item_id, location.id, now)
            variant.options = [(name, chosen[name]) for name in option_names]
            variant.position = position
            if "price" in variant_in:
                variant.price = _decimal(variant_in["price"]) or Decimal("0.00")
            if "barcode" in variant_in:
                variant.barcode = variant_in["barcode"]
            item = shop.items[variant.inventory_item_id]
            if sku is not None or "sku" in item_in:
                variant.sku = sku
                item.sku = sku
            if "tracked" in item_in:
                item.tracked = bool(item_in["tracked"])
            for quantity in variant_in.get("inventoryQuantities") or []:
                location_id = parse_gid(quantity.get("locationId"), "Location")
                if location_id in shop.locations:
                    level = shop.stock(item.id, location_id, now)
                    level.quantities["available"] = int(quantity.get("quantity") or 0)
                    level.updated_at = now
            variant.updated_at = now
            item.updated_at = now
            kept.append(variant.id)
        for gone in set(product.variant_ids) - set(kept):
            variant = shop.variants.pop(gone)
            shop.items.pop(variant.inventory_item_id, None)
            for pair in [k for k in shop.levels if k[0] == variant.inventory_item_id]:
                del shop.levels[pair]
        product.variant_ids = kept
    product.updated_at = now
    ctx.emit(topic, payloads.product_payload(shop, product))
    return Obj("ProductSetPayload", {"product": product_obj(shop, product), "userErrors": []})


def product_update(ctx: Context, args: dict[str, Any]) -> Obj:
    shop = ctx.shop
    data = args.get("product") or args.get("input") or {}
    number = parse_gid(data.get("id"), "Product")
    product = shop.products.get(number) if number is not None else None
    if product is None:
        return Obj(
            "ProductUpdatePayload", {"product": None, "userErrors": [user_error("Product does not exist", ["id"])]}
        )
    if data.get("status") is not None:
        status = str(data["status"]).upper()
        if status not in ("ACTIVE", "ARCHIVED", "DRAFT", "UNLISTED"):
            return Obj(
                "ProductUpdatePayload",
                {"product": None, "userErrors": [user_error("Status is not included in the list", ["status"])]},
            )
        product.status = status
    for key, attr in (("title", "title"), ("vendor", "vendor"), ("productType", "product_type"), ("handle", "handle")):
        if data.get(key) is not None:
            setattr(product, attr, data[key])
    product.updated_at = ctx.now
    ctx.emit("products/update", payloads.product_payload(shop, product))
    return Obj("ProductUpdatePayload", {"product": product_obj(shop, product), "userErrors": []})


def _reference_ok(uri: Any) -> bool:
    if uri is None:
        return True
    if not isinstance(uri, str) or ":" not in uri or uri.startswith("gid://shopify/"):
        return False
    scheme = uri.split(":", 1)[0]
    return scheme.isascii() and scheme[:1].isalpha() and all(c.isalnum() or c in "+-." for c in scheme)


def inventory_set_quantities(ctx: Context, args: dict[str, Any]) -> Obj:
    """Absolute quantities with compare-and-set. Any user error leaves every quantity untouched: the
    documentation is silent on partial application, and all-or-nothing is the safe reading."""
    shop = ctx.shop
    data = args.get("input") or {}
    name = data.get("name")
    quantities = data.get("quantities") or []
    if len(quantities) > ctx.max_quantities:
        raise TopLevelError(
            f"The input array size of {len(quantities)} is greater than the maximum allowed of {ctx.max_quantities}.",
            "MAX_INPUT_SIZE_EXCEEDED",
            path=["inventorySetQuantities", "input", "quantities"],
        )
    if ctx.requires_idempotency:
        for i, quantity in enumerate(quantities):
            if "changeFromQuantity" not in quantity:
                raise TopLevelError(
                    "InventoryQuantityInput must include the following argument: changeFromQuantity",
                    "INVALID_VARIABLE",
                    problems=[{"path": ["quantities", i], "explanation": "changeFromQuantity is required"}],
                )

    def err(message: str, path: list[Any], code: str) -> Obj:
        return user_error(message, path, code, typename="InventorySetQuantitiesUserError")

    errors: list[Obj] = []
    if name not in ("available", "on_hand"):
        errors.append(
            err("The quantity name must be either 'available' or 'on_hand'.", ["input", "name"], "INVALID_NAME")
        )
    if data.get("reason") not in INVENTORY_REASONS:
        errors.append(err("The specified reason is invalid.", ["input", "reason"], "INVALID_REASON"))
    if not _reference_ok(data.get("referenceDocumentUri")):
        errors.append(
            err(
                "The specified reference document is invalid.",
                ["input", "referenceDocumentUri"],
                "INVALID_REFERENCE_DOCUMENT",
            )
        )
    seen: set[tuple[int, int]] = set()
    planned: list[tuple[Level, int]] = []
    for i, quantity in enumerate(quantities):
        path = ["input", "quantities", i]
        item_id = parse_gid(quantity.get("inventoryItemId"), "InventoryItem")
        location_id = parse_gid(quantity.get("locationId"), "Location")
        if item_id is None or item_id not in shop.items:
            errors.append(
                err(
                    "The specified inventory item could not be found.",
                    [*path, "inventoryItemId"],
                    "INVALID_INVENTORY_ITEM",
                )
            )
            continue
        if location_id is None or location_id not in shop.locations:
            errors.append(err("The specified location could not be found.", [*path, "locationId"], "INVALID_LOCATION"))
            continue
        if (item_id, location_id) in seen:
            errors.append(
                err(
                    "The combination of inventoryItemId and locationId must be unique.",
                    path,
                    "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                )
            )
            continue
        seen.add((item_id, location_id))
        level = shop.level(item_id, location_id)
        if level is None:
            errors.append(
                err(
                    "The specified inventory item is not stocked at the location.",
                    [*path, "locationId"],
                    "ITEM_NOT_STOCKED_AT_LOCATION",
                )
            )
            continue
        target = quantity.get("quantity")
        if not isinstance(target, int) or isinstance(target, bool):
            errors.append(err("Quantity must be an integer.", [*path, "quantity"], "INVALID_QUANTITY_TOO_LOW"))
            continue
        if target > MAX_QUANTITY:
            errors.append(
                err(
                    "The total quantity can't be higher than 1,000,000,000.",
                    [*path, "quantity"],
                    "INVALID_QUANTITY_TOO_HIGH",
                )
            )
            continue
        if target < -MAX_QUANTITY:
            errors.append(
                err(
                    "The total quantity can't be lower than -1,000,000,000.",
                    [*path, "quantity"],
                    "INVALID_QUANTITY_TOO_LOW",
                )
            )
            continue
        if name == "on_hand" and target < 0:
            errors.append(err("The quantity can't be negative.", [*path, "quantity"], "INVALID_QUANTITY_NEGATIVE"))
            continue
        expected = quantity.get("changeFromQuantity")
        if expected is not None and isinstance(name, str) and expected != level.quantity(name):
            errors.append(
                err(
                    "The changeFromQuantity value does not match persisted value.",
                    [*path, "changeFromQuantity"],
                    "CHANGE_FROM_QUANTITY_STALE",
                )
            )
            continue
        planned.append((level, target))
    if errors:
        return Obj("InventorySetQuantitiesPayload", {"inventoryAdjustmentGroup": None, "userErrors": errors})

    changes: list[Obj] = []
    for level, target in planned:
        before_available, before_on_hand = level.quantity("available"), level.quantity("on_hand")
        delta = target - level.quantity(str(name))
        level.quantities["available"] = before_available + delta
        level.updated_at = ctx.now
        for quantity_name, before in (("available", before_available), ("on_hand", before_on_hand)):
            after = level.quantity(quantity_name)
            changes.append(
                Obj(
                    "InventoryChange",
                    {
                        "name": quantity_name,
                        "delta": after - before,
                        "quantityAfterChange": after,
                        "item": item_obj(shop, shop.items[level.item_id]),
                        "location": location_obj(shop.locations[level.location_id]),
                    },
                )
            )
        if delta:
            ctx.emit("inventory_levels/update", payloads.inventory_level_payload(level))
    group = Obj(
        "InventoryAdjustmentGroup",
        {
            "id": gid("InventoryAdjustmentGroup", shop.new_id()),
            "createdAt": iso(ctx.now),
            "reason": data.get("reason"),
            "referenceDocumentUri": data.get("referenceDocumentUri"),
            "changes": lambda args: [
                c for c in changes if not args.get("quantityNames") or c.fields["name"] in args["quantityNames"]
            ],
        },
    )
    return Obj("InventorySetQuantitiesPayload", {"inventoryAdjustmentGroup": group, "userErrors": []})


def inventory_activate(ctx: Context, args: dict[str, Any]) -> Obj:
    shop = ctx.shop
    item_id = parse_gid(args.get("inventoryItemId"), "InventoryItem")
    location_id = parse_gid(args.get("locationId"), "Location")
    if item_id is None or item_id not in shop.items:
        return Obj(
            "InventoryActivatePayload",
            {"inventoryLevel": None, "userErrors": [user_error("Inventory item does not exist", ["inventoryItemId"])]},
        )
    if location_id is None or location_id not in shop.locations:
        return Obj(
            "InventoryActivatePayload",
            {"inventoryLevel": None, "userErrors": [user_error("Location does not exist", ["locationId"])]},
        )
    level = shop.stock(item_id, location_id, ctx.now, int(args.get("available") or 0))
    return Obj("InventoryActivatePayload", {"inventoryLevel": level_obj(shop, level), "userErrors": []})


def fulfillment_create(ctx: Context, args: dict[str, Any]) -> Obj:
    """Fulfil fulfilment-order lines (all remaining when none are listed). Units leave ``committed`` at the
    fulfilment order's location, so ``on_hand`` drops and ``available`` does not move."""
    shop = ctx.shop
    data = args.get("fulfillment") or {}
    groups = data.get("lineItemsByFulfillmentOrder") or []

    def refuse(message: str, path: list[Any]) -> Obj:
        return Obj("FulfillmentCreatePayload", {"fulfillment": None, "userErrors": [user_error(message, path)]})

    if not groups:
        return refuse("Line items by fulfillment order can't be blank", ["fulfillment", "lineItemsByFulfillmentOrder"])
    plan: list[tuple[FulfillmentOrder, list[tuple[Any, int]]]] = []
    order_ids: set[int] = set()
    for i, group in enumerate(groups):
        path = ["fulfillment", "lineItemsByFulfillmentOrder", i, "fulfillmentOrderId"]
        number = parse_gid(group.get("fulfillmentOrderId"), "FulfillmentOrder")
        fo = shop.fulfillment_orders.get(number) if number is not None else None
        if fo is None:
            return refuse("Fulfillment order does not exist.", path)
        if fo.status not in ("OPEN", "IN_PROGRESS"):
            return refuse(f"Fulfillment order {fo.id} has an unfulfillable status= {fo.status.lower()}.", path)
        order_ids.add(fo.order_id)
        by_id = {gid("FulfillmentOrderLineItem", line.id): line for line in fo.lines}
        wanted = group.get("fulfillmentOrderLineItems")
        picks: list[tuple[Any, int]] = []
        if wanted:
            for item in wanted:
                line = by_id.get(item.get("id"))
                qty = item.get("quantity")
                if line is None or not isinstance(qty, int) or qty < 1 or qty > line.remaining:
                    return refuse("Invalid fulfillment order line item quantity requested.", ["fulfillment"])
                picks.append((line, qty))
        else:
            picks = [(line, line.remaining) for line in fo.lines if line.remaining > 0]
        plan.append((fo, picks))
    if len(order_ids) != 1:
        return refuse("All fulfillment orders must belong to the same order.", ["fulfillment"])
    if len({fo.location_id for fo, _ in plan}) != 1:
        return refuse("All fulfillment orders must be assigned to the same location.", ["fulfillment"])
    order = shop.orders[order_ids.pop()]
    tracking_in = data.get("trackingInfo") or {}
    numbers = tracking_in.get("numbers") or ([tracking_in["number"]] if tracking_in.get("number") else [])
    urls = tracking_in.get("urls") or ([tracking_in["url"]] if tracking_in.get("url") else [])
    tracking = [
        Tracking(tracking_in.get("company"), number, urls[i] if i < len(urls) else None)
        for i, number in enumerate(numbers)
    ] or ([Tracking(tracking_in.get("company"), None, None)] if tracking_in.get("company") else [])
    line_items = {line.id: line for line in order.line_items}
    done: list[tuple[int, int]] = []
    for fo, picks in plan:
        for line, qty in picks:
            line.remaining -= qty
            done.append((line.line_item_id, qty))
            item = line_items[line.line_item_id]
            variant = shop.variants.get(item.variant_id) if item.variant_id is not None else None
            level = shop.level(variant.inventory_item_id, fo.location_id) if variant else None
            if level is not None:
                level.quantities["committed"] -= qty
                level.updated_at = ctx.now
        fo.status = "CLOSED" if all(line.remaining == 0 for line in fo.lines) else "IN_PROGRESS"
    fulfillment = Fulfillment(
        shop.new_id(),
        order.id,
        plan[0][0].location_id,
        "SUCCESS",
        tracking,
        done,
        ctx.now,
        f"{order.name}.{len(order.fulfillment_ids) + 1}",
    )
    shop.fulfillments[fulfillment.id] = fulfillment
    order.fulfillment_ids.append(fulfillment.id)
    ctx.emit("fulfillments/create", payloads.fulfillment_payload(shop, fulfillment))
    return Obj("FulfillmentCreatePayload", {"fulfillment": fulfillment_obj(fulfillment), "userErrors": []})


def fulfillment_order_open(ctx: Context, args: dict[str, Any]) -> Obj:
    """A ``SCHEDULED`` fulfilment order (a pre-order, a subscription's next delivery) opened now, so it can be
    fulfilled; any other status is refused."""
    number = parse_gid(args.get("id"), "FulfillmentOrder")
    fo = ctx.shop.fulfillment_orders.get(number) if number is not None else None
    if fo is None:
        error = user_error("Fulfillment order does not exist.", ["id"])
        return Obj("FulfillmentOrderOpenPayload", {"fulfillmentOrder": None, "userErrors": [error]})
    if fo.status != "SCHEDULED":
        error = user_error(f"Fulfillment order {fo.id} is not in a scheduled state.", ["id"])
        return Obj("FulfillmentOrderOpenPayload", {"fulfillmentOrder": None, "userErrors": [error]})
    fo.status = "OPEN"
    return Obj(
        "FulfillmentOrderOpenPayload", {"fulfillmentOrder": fulfillment_order_obj(ctx.shop, fo), "userErrors": []}
    )


MUTATIONS: dict[str, Callable[[Context, dict[str, Any]], Obj]] = {
    "productSet": product_set,
    "productUpdate": product_update,
    "inventorySetQuantities": inventory_set_quantities,
    "inventoryActivate": inventory_activate,
    "fulfillmentCreate": fulfillment_create,
    "fulfillmentOrderOpen": fulfillment_order_open,
}
#: Mutations that take ``@idempotent(key:)``, and from which API version it is mandatory.
IDEMPOTENT_MUTATIONS = {"inventorySetQuantities": "2026-04"}


def fingerprint(args: dict[str, Any]) -> str:
    return json.dumps(args, sort_keys=True, default=str)
