"""The shop the sandbox keeps in memory: locations, products with variants and options, inventory items and
levels per location, orders with fulfilment orders, fulfilments, and the webhook events its changes raise.

Quantities follow Shopify: ``on_hand = available + committed + reserved + damaged + safety_stock +
quality_control``; setting ``available`` moves ``on_hand`` by the same delta, and the reverse."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

ON_HAND_PARTS = ("available", "committed", "reserved", "damaged", "safety_stock", "quality_control")
QUANTITY_NAMES = (*ON_HAND_PARTS, "incoming", "on_hand")

_GID = re.compile(r"^gid://shopify/(?P<type>[A-Za-z]+)/(?P<id>[0-9]+)(?:\?inventory_item_id=(?P<item>[0-9]+))?$")


def gid(type_: str, id_: int) -> str:
    return f"gid://shopify/{type_}/{id_}"


def level_gid(level_id: int, item_id: int) -> str:
    """An InventoryLevel's gid: the level's own id (not its location's, as in Shopify's Admin API), with the
    inventory item as a query parameter."""
    return f"gid://shopify/InventoryLevel/{level_id}?inventory_item_id={item_id}"


def parse_gid(value: Any, type_: str) -> int | None:
    """The numeric id in ``gid://shopify/<type_>/<id>``; None when it is not one of that type."""
    if not isinstance(value, str):
        return None
    match = _GID.match(value)
    if match is None or match["type"] != type_:
        return None
    return int(match["id"])


def parse_level_gid(value: Any) -> tuple[int, int] | None:
    """(inventory item id, level id) from an InventoryLevel gid."""
    if not isinstance(value, str):
        return None
    match = _GID.match(value)
    if match is None or match["type"] != "InventoryLevel" or match["item"] is None:
        return None
    return int(match["item"]), int(match["id"])


def gid_type(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    match = _GID.match(value)
    return None if match is None else match["type"]


@dataclass
class Location:
    id: int
    name: str
    active: bool = True


@dataclass
class InventoryItem:
    id: int
    variant_id: int
    sku: str | None
    tracked: bool
    updated_at: datetime


@dataclass
class Level:
    item_id: int
    location_id: int
    quantities: dict[str, int]
    updated_at: datetime
    #: The level's own id, distinct from its location's and its item's (as Shopify numbers them).
    id: int = 0

    @property
    def gid(self) -> str:
        return level_gid(self.id, self.item_id)

    def quantity(self, name: str) -> int:
        if name == "on_hand":
            return sum(self.quantities.get(part, 0) for part in ON_HAND_PARTS)
        return self.quantities.get(name, 0)


@dataclass
class Variant:
    id: int
    product_id: int
    options: list[tuple[str, str]]
    sku: str | None
    barcode: str | None
    price: Decimal
    inventory_item_id: int
    position: int
    created_at: datetime
    updated_at: datetime

    @property
    def title(self) -> str:
        return " / ".join(value for _, value in self.options) or "Default Title"


@dataclass
class ProductOption:
    id: int
    name: str
    values: list[str]
    value_ids: dict[str, int] = field(default_factory=dict)


@dataclass
class Product:
    id: int
    title: str
    handle: str
    status: str  # ACTIVE | ARCHIVED | DRAFT
    vendor: str
    product_type: str
    options: list[ProductOption]
    variant_ids: list[int]
    created_at: datetime
    updated_at: datetime
    description_html: str = ""
    #: (original source URL, alt text), in order.
    media: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Customer:
    id: int
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None


@dataclass
class LineItem:
    id: int
    title: str
    quantity: int
    price: Decimal
    sku: str | None
    variant_id: int | None
    product_id: int | None
    gift_card: bool = False


@dataclass
class FulfillmentOrderLine:
    id: int
    line_item_id: int
    total: int
    remaining: int


@dataclass
class FulfillmentOrder:
    id: int
    order_id: int
    location_id: int
    status: str  # OPEN | IN_PROGRESS | CLOSED | CANCELLED
    lines: list[FulfillmentOrderLine]


@dataclass
class Tracking:
    company: str | None
    number: str | None
    url: str | None


@dataclass
class Fulfillment:
    id: int
    order_id: int
    location_id: int
    status: str
    tracking: list[Tracking]
    lines: list[tuple[int, int]]  # (line item id, quantity)
    created_at: datetime
    name: str


@dataclass
class Order:
    id: int
    number: int
    email: str | None
    phone: str | None
    currency: str
    presentment_currency: str
    customer: Customer | None
    line_items: list[LineItem]
    created_at: datetime
    test: bool = False
    source_name: str = "web"
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    fulfillment_order_ids: list[int] = field(default_factory=list)
    fulfillment_ids: list[int] = field(default_factory=list)
    refund_ids: list[int] = field(default_factory=list)
    location_id: int | None = None
    #: The payments, when the checkout named them (a gift card taking part of the total).
    transactions: list[Transaction] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"#{self.number}"


@dataclass
class GiftCard:
    """A card the shop issued: for a gift card line of an order, one per unit (``order_id``/``line_item_id``
    name the sale, as the Admin API's ``GiftCard.order`` and ``GiftCard.lineItem`` do). Its code is never
    shown again after it is made: only its last characters."""

    id: int
    code: str
    initial_value: Decimal
    balance: Decimal
    currency: str
    created_at: datetime
    order_id: int | None = None
    line_item_id: int | None = None

    @property
    def last_characters(self) -> str:
        return self.code[-4:]


@dataclass
class Transaction:
    """A payment of an order (the REST Transaction resource): a ``gift_card`` gateway one names its card in
    the receipt."""

    id: int
    gateway: str
    amount: Decimal
    gift_card_id: int | None = None
    gift_card_last_characters: str | None = None


@dataclass
class RefundLine:
    id: int
    line_item_id: int
    quantity: int
    restock_type: str  # no_restock | cancel | return | legacy_restock
    location_id: int | None


@dataclass
class Refund:
    id: int
    order_id: int
    note: str | None
    lines: list[RefundLine]
    created_at: datetime


@dataclass(frozen=True)
class ShopEvent:
    """A change the shop would tell its webhook subscribers about."""

    topic: str
    payload: dict[str, Any]
    #: Shared by every topic one merchant action raised (X-Shopify-Event-Id).
    event_id: str
    triggered_at: datetime


@dataclass
class Shop:
    domain: str
    name: str
    currency: str
    locations: dict[int, Location] = field(default_factory=dict)
    products: dict[int, Product] = field(default_factory=dict)
    variants: dict[int, Variant] = field(default_factory=dict)
    items: dict[int, InventoryItem] = field(default_factory=dict)
    levels: dict[tuple[int, int], Level] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    fulfillment_orders: dict[int, FulfillmentOrder] = field(default_factory=dict)
    fulfillments: dict[int, Fulfillment] = field(default_factory=dict)
    gift_cards: dict[int, GiftCard] = field(default_factory=dict)
    refunds: dict[int, Refund] = field(default_factory=dict)
    next_id: int = 7_310_000_000_001
    next_order_number: int = 1001

    def new_id(self) -> int:
        value = self.next_id
        self.next_id += 1
        return value

    def level(self, item_id: int, location_id: int) -> Level | None:
        return self.levels.get((item_id, location_id))

    def level_by_id(self, item_id: int, level_id: int) -> Level | None:
        return next((lv for (item, _), lv in self.levels.items() if item == item_id and lv.id == level_id), None)

    def levels_of(self, item_id: int) -> list[Level]:
        return [level for (item, _), level in sorted(self.levels.items()) if item == item_id]

    def stock(self, item_id: int, location_id: int, now: datetime, available: int = 0) -> Level:
        level = self.levels.get((item_id, location_id))
        if level is None:
            parts = dict.fromkeys(ON_HAND_PARTS, 0) | {"incoming": 0}
            level = Level(item_id, location_id, parts, now, id=self.new_id())
            level.quantities["available"] = available
            self.levels[(item_id, location_id)] = level
        return level

    def variants_of(self, product: Product) -> list[Variant]:
        return [self.variants[v] for v in product.variant_ids if v in self.variants]

    def product_by_handle(self, handle: str) -> Product | None:
        return next((p for p in self.products.values() if p.handle == handle), None)

    def unique_handle(self, wanted: str) -> str:
        handle, n = wanted, 1
        while self.product_by_handle(handle) is not None:
            handle = f"{wanted}-{n}"
            n += 1
        return handle


def handleize(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "product"


def search(terms: str | None, candidates: Iterable[Any], fields: dict[str, Any]) -> list[Any]:
    """Shopify's search syntax, the part we use: ``field:value`` terms joined by AND (spaces) or OR."""
    items = list(candidates)
    if not terms:
        return items
    groups = [group.strip() for group in re.split(r"\s+OR\s+", terms) if group.strip()]

    def matches(item: Any, term: str) -> bool:
        key, _, value = term.partition(":")
        value = value.strip().strip("'\"")
        getter = fields.get(key)
        if getter is None or not value:
            return False
        got = getter(item)
        if got is None:
            return False
        if value.endswith("*"):
            return str(got).lower().startswith(value[:-1].lower())
        return str(got).lower() == value.lower()

    def all_terms(item: Any, group: str) -> bool:
        return all(matches(item, term) for term in re.findall(r"""\S+:(?:"[^"]*"|'[^']*'|\S+)""", group))

    return [item for item in items if any(all_terms(item, group) for group in groups)]
