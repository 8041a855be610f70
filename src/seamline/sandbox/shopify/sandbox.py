"""A local Shopify shop speaking the Admin GraphQL API: ``POST /admin/api/<version>/graphql.json`` with
``X-Shopify-Access-Token``. One core, ``ShopifySandbox.handle``, serves both the ASGI app (``asgi.py``) and
an ``httpx.MockTransport`` (``transport()``), so a test and the demo see the same shop.

Knobs for tests: ``fail_next`` (5xx, before or after applying), ``throttle_next`` and ``drain`` (rate
limiting), ``set_bucket``; ``calls`` is the audit log of every request received; ``events`` are the
webhooks the shop's changes would send (``drain_events``, then ``webhooks.WebhookSender``)."""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from seamline.sandbox.clock import Clock, SystemClock
from seamline.sandbox.shopify import payloads
from seamline.sandbox.shopify.bucket import CostBucket
from seamline.sandbox.shopify.executor import Obj, Projection
from seamline.sandbox.shopify.graphql import (
    Document,
    Field,
    FragmentSpread,
    GraphQLSyntaxError,
    InlineFragment,
    Operation,
    Selection,
    parse,
    resolve,
    variables_used,
)
from seamline.sandbox.shopify.resolvers import (
    IDEMPOTENT_MUTATIONS,
    MUTATIONS,
    Context,
    TopLevelError,
    fingerprint,
    resolve_query,
    user_error,
)
from seamline.sandbox.shopify.schema import MUTATION_COST, TYPES, Check, check
from seamline.sandbox.shopify.state import (
    Customer,
    FulfillmentOrder,
    FulfillmentOrderLine,
    GiftCard,
    InventoryItem,
    LineItem,
    Location,
    Order,
    Refund,
    RefundLine,
    Shop,
    ShopEvent,
    Transaction,
    Variant,
    gid,
)

GRAPHQL_PATH = re.compile(r"^/admin/api/(?P<version>\d{4}-(?:01|04|07|10)|unstable)/graphql\.json$")
KNOWN_DIRECTIVES = frozenset({"include", "skip", "idempotent"})
THROTTLED_DOCS = "https://shopify.dev/api/usage/rate-limits"


@dataclass
class SandboxConfig:
    shop_domain: str = "seamline-sandbox.myshopify.com"
    shop_name: str = "Seamline Sandbox"
    access_token: str = "shpat_sandbox_0000000000000000"
    currency: str = "USD"
    #: The cost bucket of a standard plan: 2,000 points, restoring 100 a second.
    bucket_maximum: float = 2000.0
    restore_rate: float = 100.0
    #: A single query may not ask for more than this.
    max_query_cost: int = 1000
    #: Shopify answers THROTTLED with HTTP 200 on GraphQL; some clients have seen 429. Pick one.
    throttled_status: int = 200
    max_quantities: int = 250


@dataclass(frozen=True)
class CallRecord:
    """One request as the sandbox saw it."""

    at: datetime
    api_version: str | None
    operation: str | None
    root_fields: tuple[str, ...]
    variables: dict[str, Any]
    idempotency_key: str | None
    status: int
    #: ok | user_errors | replayed | throttled | errors | failed | unauthorized | not_found | bad_request
    outcome: str
    requested_cost: int | None = None
    actual_cost: int | None = None


@dataclass(frozen=True)
class SandboxResponse:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


class InternalFailure(Exception):
    """The shop failed while running a mutation: answered 500, nothing applied."""


@dataclass
class _Fault:
    status: int
    after_apply: bool


@dataclass
class _Idempotent:
    fingerprint: str
    result: dict[str, Any] | None


@dataclass
class _Outcome:
    status: int = 200
    outcome: str = "ok"
    operation: str | None = None
    root_fields: tuple[str, ...] = ()
    variables: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    requested: int | None = None
    actual: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


class ShopifySandbox:
    def __init__(self, config: SandboxConfig | None = None, *, clock: Clock | None = None) -> None:
        self.config = config or SandboxConfig()
        self.clock: Clock = clock or SystemClock()
        self.shop = Shop(self.config.shop_domain, self.config.shop_name, self.config.currency)
        now = self.clock.now()
        self.bucket = CostBucket(self.config.bucket_maximum, self.config.restore_rate, self.config.bucket_maximum, now)
        self.calls: list[CallRecord] = []
        self.events: list[ShopEvent] = []
        self._faults: list[_Fault] = []
        self._throttle_next = 0
        self._idempotency: dict[tuple[str, str], _Idempotent] = {}
        self._in_progress = 0
        self._attempt_fails = 0
        self._failed_keys: set[tuple[str, str]] = set()
        self._lock = threading.RLock()

    # -- knobs ------------------------------------------------------------------------------------------

    def fail_next(self, count: int = 1, status: int = 503, *, after_apply: bool = False) -> None:
        """Answer the next ``count`` GraphQL calls with ``status``; ``after_apply`` runs them first (a lost
        response: the shop changed, the caller never heard)."""
        with self._lock:
            self._faults.extend(_Fault(status, after_apply) for _ in range(count))

    def idempotent_in_progress(self, count: int = 1) -> None:
        """The next ``count`` idempotent mutations find their key's earlier request still running at the shop:
        answered with the user error ``IDEMPOTENCY_CONCURRENT_REQUEST`` (retry later with the same key)."""
        with self._lock:
            self._in_progress += count

    def idempotent_attempt_fails(self) -> None:
        """The next idempotent mutation fails inside the shop (500, nothing applied) and its key stays marked
        failed: a retry with that key answers ``IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED`` (Shopify's guide: send
        the request again under a new key)."""
        with self._lock:
            self._attempt_fails += 1

    def throttle_next(self, count: int = 1) -> None:
        with self._lock:
            self._throttle_next += count

    def drain(self, points: float) -> None:
        """Spend points as another worker of the same app would."""
        with self._lock:
            self.bucket.refill(self.clock.now())
            self.bucket.available = max(0.0, self.bucket.available - points)

    def set_bucket(
        self, *, maximum: float | None = None, restore_rate: float | None = None, available: float | None = None
    ) -> None:
        with self._lock:
            self.bucket.refill(self.clock.now())
            if maximum is not None:
                self.bucket.maximum = maximum
                self.bucket.available = min(self.bucket.available, maximum)
            if restore_rate is not None:
                self.bucket.restore_rate = restore_rate
            if available is not None:
                self.bucket.available = available

    def drain_events(self) -> list[ShopEvent]:
        with self._lock:
            events, self.events = self.events, []
            return events

    # -- the merchant's side: seeding and changes made outside Seamline ------------------------------

    def add_location(self, name: str) -> int:
        with self._lock:
            location = Location(self.shop.new_id(), name)
            self.shop.locations[location.id] = location
            return location.id

    def inventory(self) -> dict[str, Any]:
        """What the merchant's admin shows: the shop's locations and, per variant with a SKU, each level's
        quantities (``seamline serve`` answers it at ``GET /v1/sandbox/shopify/<shop>``)."""
        with self._lock:
            shop = self.shop
            locations = [
                {"id": gid("Location", loc.id), "legacy_id": str(loc.id), "name": loc.name, "active": loc.active}
                for loc in shop.locations.values()
            ]
            levels = []
            for variant in sorted(shop.variants.values(), key=lambda v: (v.sku or "", v.id)):
                for level in shop.levels_of(variant.inventory_item_id):
                    levels.append(
                        {
                            "sku": variant.sku,
                            "inventory_item_id": gid("InventoryItem", variant.inventory_item_id),
                            "inventory_level_id": level.gid,
                            "location_id": gid("Location", level.location_id),
                            "location": shop.locations[level.location_id].name,
                            "available": level.quantity("available"),
                            "on_hand": level.quantity("on_hand"),
                        }
                    )
            return {"shop_domain": shop.domain, "locations": locations, "inventory": levels}

    def variant_by_sku(self, sku: str) -> Variant | None:
        return next((v for v in self.shop.variants.values() if v.sku == sku), None)

    def quantity(self, inventory_item_id: int, location_id: int, name: str = "available") -> int | None:
        level = self.shop.level(inventory_item_id, location_id)
        return None if level is None else level.quantity(name)

    def set_quantity(self, inventory_item_id: int, location_id: int, available: int) -> None:
        """A merchant edits a number in the Shopify admin: drift the next compare-and-set will find."""
        with self._lock:
            now = self.clock.now()
            level = self.shop.stock(inventory_item_id, location_id, now)
            level.quantities["available"] = available
            level.updated_at = now
            self._emit("inventory_levels/update", payloads.inventory_level_payload(level))

    def place_order(
        self,
        lines: list[tuple[str, int]],
        *,
        email: str | None = "buyer@example.com",
        phone: str | None = None,
        name: tuple[str, str] | None = ("Ada", "Buyer"),
        location_id: int | None = None,
        test: bool = False,
        currency: str | None = None,
        presentment_currency: str | None = None,
        gift_cards: list[Decimal] | None = None,
        custom_items: list[tuple[str, Decimal]] | None = None,
        source_name: str = "web",
        gift_card_payment: tuple[int, Decimal] | None = None,
    ) -> Order:
        """A storefront checkout: each (sku, qty) line moves units from ``available`` to ``committed`` at the
        order's location (the first location by default) and one fulfilment order per location is opened."""
        with self._lock:
            shop = self.shop
            now = self.clock.now()
            location = location_id or next(iter(shop.locations))
            items: list[LineItem] = []
            for sku, qty in lines:
                variant = self.variant_by_sku(sku)
                if variant is None:
                    raise KeyError(f"no variant with SKU {sku}")
                product = shop.products[variant.product_id]
                items.append(
                    LineItem(
                        shop.new_id(),
                        f"{product.title} - {variant.title}",
                        qty,
                        variant.price,
                        sku,
                        variant.id,
                        product.id,
                    )
                )
                level = shop.stock(variant.inventory_item_id, location, now)
                level.quantities["available"] -= qty
                level.quantities["committed"] += qty
                level.updated_at = now
            for amount in gift_cards or []:
                items.append(LineItem(shop.new_id(), "Gift card", 1, amount, None, None, None, gift_card=True))
            for title, amount in custom_items or []:
                items.append(LineItem(shop.new_id(), title, 1, amount, None, None, None))
            customer = None
            if email or phone:
                first, last = name or (None, None)
                customer = Customer(shop.new_id(), email, phone, first, last)
            order = Order(
                shop.new_id(),
                shop.next_order_number,
                email,
                phone,
                currency or shop.currency,
                presentment_currency or currency or shop.currency,
                customer,
                items,
                now,
                test=test,
            )
            order.source_name = source_name
            # Each gift card line issues a card (Shopify makes one per unit when the order is paid), named by
            # the order and line that sold it.
            for line in items:
                if line.gift_card:
                    for _ in range(line.quantity):
                        card_id = shop.new_id()
                        shop.gift_cards[card_id] = GiftCard(
                            card_id,
                            f"{card_id:016X}"[-16:],
                            line.price,
                            line.price,
                            order.currency,
                            now,
                            order_id=order.id,
                            line_item_id=line.id,
                        )
            if gift_card_payment is not None:
                card_id, amount = gift_card_payment
                card = shop.gift_cards.get(card_id)
                if card is None or card.balance < amount:
                    raise ValueError(f"gift card {card_id} cannot pay {amount}")
                card.balance -= amount
                total = sum((line.price * line.quantity for line in items), Decimal(0))
                order.transactions.append(
                    Transaction(shop.new_id(), "gift_card", amount, card.id, card.last_characters)
                )
                if total > amount:
                    order.transactions.append(Transaction(shop.new_id(), "shopify_payments", total - amount))
            if source_name == "pos":
                order.location_id = location  # a POS sale names the store it was rung up at
            shop.next_order_number += 1
            shop.orders[order.id] = order
            stock_lines = [line for line in items if line.variant_id is not None]
            if stock_lines:
                fo = FulfillmentOrder(
                    shop.new_id(),
                    order.id,
                    location,
                    "OPEN",
                    [
                        FulfillmentOrderLine(shop.new_id(), line.id, line.quantity, line.quantity)
                        for line in stock_lines
                    ],
                )
                shop.fulfillment_orders[fo.id] = fo
                order.fulfillment_order_ids.append(fo.id)
            event = self._new_event_id()
            self._emit("orders/create", payloads.order_payload(shop, order), event)
            for line in stock_lines:
                variant = shop.variants[line.variant_id or 0]
                stocked = shop.level(variant.inventory_item_id, location)
                if stocked is not None:
                    self._emit("inventory_levels/update", payloads.inventory_level_payload(stocked), event)
            return order

    def merchant_adds_variant(self, product_id: int, sku: str, options: list[tuple[str, str]]) -> int:
        """The merchant adds a variant to the product in Shopify's admin (a size we do not sell, say): it is
        the shop's, and a ``productSet`` that leaves it out would delete it. Answers the variant's id."""
        with self._lock:
            shop = self.shop
            product = shop.products[product_id]
            now = self.clock.now()
            for name, value in options:
                option = next(o for o in product.options if o.name == name)
                if value not in option.values:
                    option.values.append(value)
                    option.value_ids[value] = shop.new_id()
            item_id = shop.new_id()
            variant = Variant(
                shop.new_id(),
                product.id,
                list(options),
                sku,
                None,
                Decimal("0.00"),
                item_id,
                len(product.variant_ids) + 1,
                now,
                now,
            )
            shop.variants[variant.id] = variant
            shop.items[item_id] = InventoryItem(item_id, variant.id, sku, True, now)
            product.variant_ids.append(variant.id)
            return variant.id

    def split_fulfillment_orders(self, order_id: int, locations: list[int] | None = None) -> list[int]:
        """The merchant splits the order's open fulfilment order into one per line (as Shopify does when lines
        are assigned to different locations, or held apart), the n-th at ``locations[n % len]`` (the
        original location by default). Answers the new fulfilment orders' ids."""
        with self._lock:
            shop = self.shop
            order = shop.orders[order_id]
            made: list[int] = []
            for fo_id in list(order.fulfillment_order_ids):
                fo = shop.fulfillment_orders[fo_id]
                if fo.status != "OPEN" or len(fo.lines) < 2:
                    continue
                order.fulfillment_order_ids.remove(fo_id)
                del shop.fulfillment_orders[fo_id]
                for n, line in enumerate(fo.lines):
                    where = locations[n % len(locations)] if locations else fo.location_id
                    part = FulfillmentOrder(shop.new_id(), order.id, where, "OPEN", [line])
                    shop.fulfillment_orders[part.id] = part
                    order.fulfillment_order_ids.append(part.id)
                    made.append(part.id)
            return made

    def set_fulfillment_order_status(self, fulfillment_order_id: int, status: str) -> None:
        """The merchant (or an app) holds, schedules or reopens a fulfilment order: ``ON_HOLD``, ``SCHEDULED``,
        ``OPEN``."""
        with self._lock:
            self.shop.fulfillment_orders[fulfillment_order_id].status = status

    def cancel_order(self, order_id: int, *, restock: bool = True, reason: str = "customer") -> None:
        with self._lock:
            shop = self.shop
            order = shop.orders[order_id]
            now = self.clock.now()
            order.cancelled_at = now
            order.cancel_reason = reason
            for fo_id in order.fulfillment_order_ids:
                fo = shop.fulfillment_orders[fo_id]
                lines = {line.id: line for line in order.line_items}
                for fo_line in fo.lines:
                    variant = shop.variants.get(lines[fo_line.line_item_id].variant_id or 0)
                    level = shop.level(variant.inventory_item_id, fo.location_id) if variant else None
                    if level is not None and fo_line.remaining:
                        level.quantities["committed"] -= fo_line.remaining
                        if restock:
                            level.quantities["available"] += fo_line.remaining
                        level.updated_at = now
                    fo_line.remaining = 0
                fo.status = "CANCELLED" if fo.status == "OPEN" else "CLOSED"
            self._emit("orders/cancelled", payloads.order_payload(shop, order))

    def refund(
        self,
        order_id: int,
        lines: list[tuple[str, int, str]],
        *,
        location_id: int | None = None,
        note: str | None = None,
    ) -> Refund:
        """Refund (sku, qty, restock_type) lines; ``return``/``cancel`` put units back into ``available`` at
        ``location_id``."""
        with self._lock:
            shop = self.shop
            order = shop.orders[order_id]
            now = self.clock.now()
            refund_lines: list[RefundLine] = []
            for sku, qty, restock_type in lines:
                line = next(item for item in order.line_items if item.sku == sku)
                restocks = restock_type in ("return", "cancel", "legacy_restock")
                refund_lines.append(
                    RefundLine(shop.new_id(), line.id, qty, restock_type, location_id if restocks else None)
                )
                if restocks and location_id is not None and line.variant_id is not None:
                    variant = shop.variants[line.variant_id]
                    level = shop.stock(variant.inventory_item_id, location_id, now)
                    level.quantities["available"] += qty
                    level.updated_at = now
            refund = Refund(shop.new_id(), order.id, note, refund_lines, now)
            shop.refunds[refund.id] = refund
            order.refund_ids.append(refund.id)
            self._emit("refunds/create", payloads.refund_payload(shop, refund))
            return refund

    def _new_event_id(self) -> str:
        return str(uuid.uuid4())

    def _emit(self, topic: str, payload: dict[str, Any], event_id: str | None = None) -> None:
        self.events.append(ShopEvent(topic, payload, event_id or self._new_event_id(), self.clock.now()))

    # -- HTTP -------------------------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        """The sandbox as an httpx transport: a client given it talks to this shop with no network."""

        def handler(request: httpx.Request) -> httpx.Response:
            answer = self.handle(request.method, request.url.path, dict(request.headers), request.read())
            return httpx.Response(answer.status, content=answer.body, headers=answer.headers)

        return httpx.MockTransport(handler)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> SandboxResponse:
        with self._lock:
            headers = {key.lower(): value for key, value in headers.items()}
            now = self.clock.now()
            match = GRAPHQL_PATH.match(path)
            outcome = _Outcome()
            version = match["version"] if match else None
            if match is None or method.upper() != "POST":
                outcome.status, outcome.outcome = 404, "not_found"
                answer: Any = {"errors": "Not Found"}
            elif headers.get("x-shopify-access-token") != self.config.access_token:
                outcome.status, outcome.outcome = 401, "unauthorized"
                answer = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
            else:
                fault = self._faults.pop(0) if self._faults else None
                if fault is not None and not fault.after_apply:
                    outcome.status, outcome.outcome = fault.status, "failed"
                    answer = {"errors": "Internal Server Error" if fault.status == 500 else "Service Unavailable"}
                else:
                    try:
                        answer = self._graphql(match["version"], headers, body, now, outcome)
                    except InternalFailure:
                        outcome.status, outcome.outcome = 500, "failed"
                        answer = {"errors": "Internal Server Error"}
                    if fault is not None:
                        outcome.status, outcome.outcome = fault.status, "failed"
                        answer = {"errors": "Service Unavailable"}
            self.calls.append(
                CallRecord(
                    now,
                    version,
                    outcome.operation,
                    outcome.root_fields,
                    outcome.variables,
                    outcome.idempotency_key,
                    outcome.status,
                    outcome.outcome,
                    outcome.requested,
                    outcome.actual,
                )
            )
            response_headers = {"content-type": "application/json; charset=utf-8", "x-request-id": str(uuid.uuid4())}
            if version is not None:
                response_headers["x-shopify-api-version"] = version
            response_headers.update(outcome.headers)
            return SandboxResponse(outcome.status, json.dumps(answer).encode(), response_headers)

    def _graphql(
        self, version: str, headers: dict[str, str], body: bytes, now: datetime, outcome: _Outcome
    ) -> dict[str, Any]:
        query, variables, operation_name = _read_request(headers, body)
        if query is None:
            outcome.status, outcome.outcome = 400, "bad_request"
            return {"errors": {"query": "Required parameter missing or invalid"}}
        outcome.variables = variables
        try:
            document = parse(query)
        except GraphQLSyntaxError as exc:
            outcome.outcome = "errors"
            return {"errors": [{"message": exc.message, "locations": [{"line": exc.line, "column": exc.column}]}]}
        operation, problem = _pick_operation(document, operation_name)
        if operation is None:
            outcome.outcome = "errors"
            return {"errors": [{"message": problem}]}
        outcome.operation = operation.name
        fields = [s for s in operation.selections if isinstance(s, Field)]
        outcome.root_fields = tuple(f.name for f in fields)
        idempotency = [d for f in fields for d in f.directives if d.name == "idempotent"]
        if idempotency:
            outcome.idempotency_key = resolve(idempotency[0].arguments.get("key"), variables)
        errors = _validate(document, operation, variables)
        if errors:
            outcome.outcome = "errors"
            return {"errors": errors}
        root = "Mutation" if operation.kind == "mutation" else "QueryRoot"
        checked = Check([])
        requested = check(
            operation.selections,
            root,
            document.fragments,
            variables,
            [operation.kind],
            checked,
            mutation=root == "Mutation",
        )
        if checked.errors:
            outcome.outcome = "errors"
            return {"errors": checked.errors}
        outcome.requested = requested
        if requested > self.config.max_query_cost:
            outcome.outcome = "errors"
            return {
                "errors": [
                    {
                        "message": f"Query cost is {requested}, which exceeds the single query max cost limit "
                        f"({self.config.max_query_cost}).",
                        "extensions": {
                            "code": "MAX_COST_EXCEEDED",
                            "cost": requested,
                            "maxCost": self.config.max_query_cost,
                        },
                    }
                ]
            }
        self.bucket.refill(now)
        if self._throttle_next > 0 or requested > self.bucket.available:
            self._throttle_next = max(0, self._throttle_next - 1)
            outcome.status, outcome.outcome = self.config.throttled_status, "throttled"
            if outcome.status == 429:
                deficit = max(0.0, requested - self.bucket.available) / self.bucket.restore_rate
                outcome.headers["retry-after"] = f"{max(1.0, deficit):.1f}"
            return {
                "errors": [
                    {"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": THROTTLED_DOCS}}
                ],
                "extensions": {
                    "cost": {
                        "requestedQueryCost": requested,
                        "actualQueryCost": None,
                        "throttleStatus": self.bucket.status(),
                    }
                },
            }
        self.bucket.available -= requested
        context = Context(self.shop, now, version, self._new_event_id(), max_quantities=self.config.max_quantities)
        data, errors, actual, replayed, user_errors = self._execute(document, operation, variables, context)
        self.events.extend(context.events)
        actual = min(actual, requested)
        self.bucket.available = min(self.bucket.maximum, self.bucket.available + requested - actual)
        outcome.actual = actual
        outcome.outcome = "errors" if errors else "replayed" if replayed else "user_errors" if user_errors else "ok"
        answer: dict[str, Any] = {}
        if errors:
            answer["errors"] = errors
        answer["data"] = data
        answer["extensions"] = {
            "cost": {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": self.bucket.status()}
        }
        return answer

    def _execute(
        self, document: Document, operation: Operation, variables: dict[str, Any], context: Context
    ) -> tuple[dict[str, Any], list[dict[str, Any]], int, bool, bool]:
        projection = Projection(document.fragments, variables)
        data: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        replayed = has_user_errors = False
        mutation = operation.kind == "mutation"
        root = "Mutation" if mutation else "QueryRoot"
        cost = 0
        for node in projection.selected(operation.selections, root):
            if node.name == "__typename":
                data[node.key] = root
                continue
            args = projection.arguments(node)
            spec = TYPES[root][node.name]
            try:
                if mutation:
                    cost += MUTATION_COST
                    value, was_replayed = self._mutate(node, args, variables, context, projection)
                    replayed = replayed or was_replayed
                    data[node.key] = value
                    if value and value.get("userErrors"):
                        has_user_errors = True
                else:
                    raw = resolve_query(context, node.name, args)
                    before = projection.cost
                    data[node.key] = projection.shape(raw, spec, node)
                    cost += projection.cost - before
            except TopLevelError as exc:
                data[node.key] = None
                errors.append(
                    {
                        "message": exc.message,
                        "locations": [{"line": node.line, "column": node.column}],
                        "path": [node.key],
                        "extensions": exc.extensions,
                    }
                )
        return data, errors, cost, replayed, has_user_errors

    def _mutate(
        self,
        node: Field,
        args: dict[str, Any],
        variables: dict[str, Any],
        context: Context,
        projection: Projection,
    ) -> tuple[dict[str, Any] | None, bool]:
        directive = next((d for d in node.directives if d.name == "idempotent"), None)
        key = resolve(directive.arguments.get("key"), variables) if directive else None
        required_from = IDEMPOTENT_MUTATIONS.get(node.name)
        if (
            required_from is not None
            and key is None
            and (context.api_version == "unstable" or context.api_version >= required_from)
        ):
            raise TopLevelError(
                "The @idempotent directive is required for this mutation but was not provided.", "BAD_REQUEST"
            )
        if required_from is None or key is None:
            return projection.shape(MUTATIONS[node.name](context, args), TYPES["Mutation"][node.name], node), False
        if not isinstance(key, str) or not key:
            raise TopLevelError("The idempotency key must be a non-empty string.", "BAD_REQUEST")
        print_ = fingerprint(args)
        refusal: tuple[str, str] | None = None
        if (node.name, key) in self._failed_keys:
            refusal = (
                "The previous attempt with this idempotency key failed; retry with a new key.",
                "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED",
            )
        elif self._in_progress:
            self._in_progress -= 1
            refusal = ("This request is currently in progress, please try again.", "IDEMPOTENCY_CONCURRENT_REQUEST")
        if refusal is not None:
            error = user_error(refusal[0], None, refusal[1], typename="InventorySetQuantitiesUserError")
            return projection.shape(_payload(node.name, error), TYPES["Mutation"][node.name], node), False
        if self._attempt_fails:
            self._attempt_fails -= 1
            self._failed_keys.add((node.name, key))
            raise InternalFailure()
        stored = self._idempotency.get((node.name, key))
        if stored is not None:
            if stored.fingerprint == print_:
                return stored.result, True
            mismatch = user_error(
                "The same idempotency key cannot be used with different operation parameters.",
                None,
                "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                typename="InventorySetQuantitiesUserError",
            )
            payload = projection.shape(_payload(node.name, mismatch), TYPES["Mutation"][node.name], node)
            return payload, False
        result = projection.shape(MUTATIONS[node.name](context, args), TYPES["Mutation"][node.name], node)
        self._idempotency[(node.name, key)] = _Idempotent(print_, result)
        return result, False


def _payload(mutation: str, error: Obj) -> Obj:
    if mutation == "inventorySetQuantities":
        return Obj("InventorySetQuantitiesPayload", {"inventoryAdjustmentGroup": None, "userErrors": [error]})
    raise AssertionError(mutation)


def _read_request(headers: dict[str, str], body: bytes) -> tuple[str | None, dict[str, Any], str | None]:
    if headers.get("content-type", "").startswith("application/graphql"):
        return body.decode("utf-8", "replace"), {}, None
    try:
        request = json.loads(body or b"null")
    except ValueError:
        return None, {}, None
    if not isinstance(request, dict) or not isinstance(request.get("query"), str):
        return None, {}, None
    variables = request.get("variables") or {}
    if not isinstance(variables, dict):
        return None, {}, None
    name = request.get("operationName")
    return request["query"], variables, name if isinstance(name, str) else None


def _pick_operation(document: Document, name: str | None) -> tuple[Operation | None, str]:
    if not document.operations:
        return None, "No operations in the document"
    if name:
        found = next((op for op in document.operations if op.name == name), None)
        return (found, "") if found else (None, f'No operation named "{name}"')
    if len(document.operations) > 1:
        return None, "An operation name is required"
    operation = document.operations[0]
    if operation.kind == "subscription":
        return None, "Subscriptions are not supported by the Admin API"
    return operation, ""


def _walk(selections: tuple[Selection, ...], document: Document, seen: set[str]) -> list[Field]:
    fields: list[Field] = []
    for selection in selections:
        if isinstance(selection, Field):
            fields.append(selection)
            fields.extend(_walk(selection.selections or (), document, seen))
        elif isinstance(selection, InlineFragment):
            fields.extend(_walk(selection.selections, document, seen))
        elif (
            isinstance(selection, FragmentSpread)
            and selection.name not in seen
            and selection.name in document.fragments
        ):
            seen.add(selection.name)
            fields.extend(_walk(document.fragments[selection.name].selections, document, seen))
    return fields


def _validate(document: Document, operation: Operation, variables: dict[str, Any]) -> list[dict[str, Any]]:
    """The checks Shopify runs before anything executes: directives exist, variables are declared and
    non-null ones are given."""
    errors: list[dict[str, Any]] = []
    declared = {v.name: v for v in operation.variables}
    used: set[str] = set()
    for node in _walk(operation.selections, document, set()):
        for value in node.arguments.values():
            used |= variables_used(value)
        for directive in node.directives:
            for value in directive.arguments.values():
                used |= variables_used(value)
            if directive.name not in KNOWN_DIRECTIVES:
                errors.append(
                    {
                        "message": f"Directive @{directive.name} is not defined",
                        "locations": [{"line": directive.line, "column": directive.column}],
                        "path": [operation.kind, node.key],
                        "extensions": {"code": "undefinedDirective", "directiveName": directive.name},
                    }
                )
    label = operation.name or "anonymous " + operation.kind
    for name in sorted(used - set(declared)):
        errors.append(
            {
                "message": f"Variable ${name} is used by {label} but not declared",
                "locations": [{"line": operation.line, "column": operation.column}],
                "path": [operation.kind],
                "extensions": {"code": "variableNotDefined", "variableName": name},
            }
        )
    for definition in operation.variables:
        if definition.has_default and definition.name not in variables:
            variables[definition.name] = resolve(definition.default, {})
        if definition.required and variables.get(definition.name) is None:
            errors.append(
                {
                    "message": f"Variable ${definition.name} of type {definition.type} was provided invalid value",
                    "locations": [{"line": operation.line, "column": operation.column}],
                    "extensions": {
                        "value": None,
                        "problems": [{"path": [], "explanation": "Expected value to not be null"}],
                    },
                }
            )
    return errors
