"""The Shopify Admin GraphQL client: availability pushes (batched, compare-and-set, idempotent), product
publish and archive, fulfilments, and the reads they need.

It paces itself on the cost bucket Shopify reports in ``extensions.cost.throttleStatus`` (it waits for
points rather than being throttled), waits and retries when it is throttled anyway (``THROTTLED`` under
HTTP 200 or 429), and raises typed errors for what the dispatcher should retry (``ShopifyUnavailable``,
``ShopifyThrottled``) and what it should dead-letter (``ShopifyRejected``).

Several processes of one installation share a shop's bucket: given ``points`` (a bucket in the database,
``SharedTokenBucket``), the client also takes each call's expected cost from it before calling and writes
back what Shopify reported after, so one process's spending is seen by the others before their next call.

``admin_api_url`` alone decides where it talks: a real shop (``https://<shop>.myshopify.com/admin/api/
2026-07``) or the sandbox; the transport is injectable (``ShopifySandbox.transport()`` in tests)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

import httpx

from seamline.channels.canonical import AvailabilityPush, Tracking
from seamline.channels.shopify.mapper import (
    DEFAULT_REASON,
    MAX_QUANTITIES_PER_CALL,
    coalesce_pushes,
    legacy_id,
    set_quantities_input,
    to_gid,
)
from seamline.domain.clock import Clock, SystemClock
from seamline.integration.channel_errors import ChannelRejected, ChannelThrottled, ChannelUnavailable
from seamline.integration.retry import Budget

API_VERSION = "2026-07"
_KEY_NAMESPACE = uuid.UUID("5b0c6f4e-7f0a-4a53-9a54-5ea41e5e0001")

SET_AVAILABLE = """
mutation SetAvailable($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup { id createdAt reason referenceDocumentUri }
    userErrors { field message code }
  }
}
"""

# An InventoryLevel's id is its own (not its location's), so levels are read through their inventory items
# at the location, never by an id built from the location.
READ_AVAILABLE = """
query ReadAvailable($ids: [ID!]!, $location: ID!) {
  nodes(ids: $ids) {
    ... on InventoryItem {
      id
      inventoryLevel(locationId: $location) { quantities(names: ["available"]) { name quantity } }
    }
  }
}
"""

PUBLISH_PRODUCT = """
mutation PublishProduct($identifier: ProductSetIdentifiers, $input: ProductSetInput!, $synchronous: Boolean!) {
  productSet(identifier: $identifier, input: $input, synchronous: $synchronous) {
    product {
      id handle status
      variants(first: 250) { nodes { id sku barcode price inventoryItem { id } } }
    }
    userErrors { field message code }
  }
}
"""

ARCHIVE_PRODUCT = """
mutation ArchiveProduct($product: ProductUpdateInput!) {
  productUpdate(product: $product) {
    product { id status }
    userErrors { field message }
  }
}
"""

FULFILLMENT_ORDERS = """
query FulfillmentOrders($id: ID!, $after: String) {
  order(id: $id) {
    id
    fulfillmentOrders(first: 5, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id status assignedLocation { location { id } }
        lineItems(first: 50) {
          pageInfo { hasNextPage endCursor }
          nodes { id remainingQuantity lineItem { sku } }
        }
      }
    }
  }
}
"""

FULFILLMENT_ORDER_LINES = """
query FulfillmentOrderLines($id: ID!, $after: String) {
  node(id: $id) {
    ... on FulfillmentOrder {
      lineItems(first: 50, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { id remainingQuantity lineItem { sku } }
      }
    }
  }
}
"""

OPEN_FULFILLMENT_ORDER = """
mutation OpenFulfillmentOrder($id: ID!) {
  fulfillmentOrderOpen(id: $id) {
    fulfillmentOrder { id status }
    userErrors { field message }
  }
}
"""

CREATE_FULFILLMENT = """
mutation CreateFulfillment($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo(first: 10) { company number url } }
    userErrors { field message }
  }
}
"""

PRODUCT_VARIANTS = """
query ProductVariants($id: ID!, $after: String) {
  product(id: $id) {
    id
    variants(first: 250, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { id sku barcode inventoryItem { id } }
    }
  }
}
"""

FIND_VARIANTS = """
query FindVariants($query: String!) {
  productVariants(first: 50, query: $query) {
    nodes { id sku barcode inventoryItem { id } product { id } }
  }
}
"""

LOCATIONS = """
query Locations {
  locations(first: 100) { nodes { id name isActive } }
}
"""

#: Gift cards with the order line that sold them (``GiftCard.lineItem``, Admin GraphQL 2026-07; ``order`` for older
#: cards): a payment by gift card names only the card's id, so our card (issued with its sale) is linked by line.
GIFT_CARDS = """
query GiftCards($query: String, $after: String) {
  giftCards(first: 100, query: $query, after: $after) {
    nodes { id lastCharacters order { id } lineItem { id } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

#: What a call costs before we have seen Shopify price it: a mutation is 10 points.
_DEFAULT_COSTS = {"SetAvailable": 10, "PublishProduct": 10, "ArchiveProduct": 10, "CreateFulfillment": 10}


# -- configuration, results, errors ---------------------------------------------------------------------


@dataclass(frozen=True)
class ShopifyConfig:
    #: ``https://<shop>.myshopify.com/admin/api/<version>`` (or the full ``.../graphql.json``); the sandbox's
    #: URL works the same way.
    admin_api_url: str
    access_token: str = field(repr=False)
    timeout_seconds: float = 10.0
    batch_size: int = MAX_QUANTITIES_PER_CALL
    #: Waiting for the bucket longer than this hands the delivery back to the dispatcher (``ShopifyThrottled``).
    max_throttle_wait_seconds: float = 60.0
    #: Compare-and-set rounds per batch before giving the conflict back as a rejection.
    max_stale_rounds: int = 3
    #: ``IDEMPOTENCY_CONCURRENT_REQUEST`` answers waited out (1 s apart) before handing the batch back to the
    #: dispatcher as unavailable (it retries later under the same key).
    max_in_progress_rounds: int = 5
    #: New keys tried after ``IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED`` before the batch is handed back.
    max_new_keys: int = 2
    reason: str = DEFAULT_REASON

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= MAX_QUANTITIES_PER_CALL:
            raise ValueError(f"batch_size must be between 1 and {MAX_QUANTITIES_PER_CALL}")

    @classmethod
    def for_shop(cls, shop_domain: str, access_token: str, api_version: str = API_VERSION) -> ShopifyConfig:
        return cls(f"https://{shop_domain}/admin/api/{api_version}", access_token)

    @property
    def graphql_url(self) -> str:
        url = self.admin_api_url.rstrip("/")
        return url if url.endswith("/graphql.json") else f"{url}/graphql.json"


#: How long a fulfilment held by the merchant in Shopify waits before it is tried again.
ON_HOLD_RETRY_SECONDS = 900.0


class ShopifyOnHold(ChannelUnavailable):
    """Everything left to fulfil is on a fulfilment order the merchant holds in Shopify (``ON_HOLD``): not
    overridden; the delivery is tried again after ``ON_HOLD_RETRY_SECONDS``, and stays visible until someone
    releases the hold."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, retry_after=ON_HOLD_RETRY_SECONDS)


class ShopifyUnavailable(ChannelUnavailable):
    """Shopify did not answer, or answered 5xx: retry later (with the same idempotency key)."""


class ShopifyThrottled(ChannelThrottled):
    """The bucket will not have room within ``max_throttle_wait_seconds``: come back after ``retry_after``."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Shopify cost bucket exhausted; retry after {retry_after:.1f}s", retry_after=retry_after)


class ShopifyRejected(ChannelRejected):
    """Shopify refused the request itself (credentials, an invalid document or input): retrying the same
    request cannot succeed. ``errors``: Shopify's GraphQL errors as it sent them."""

    def __init__(self, reason: str, *, status: int | None = None, errors: Sequence[Any] = ()) -> None:
        messages = [str(e.get("message")) if isinstance(e, Mapping) else str(e) for e in errors]
        super().__init__(reason, messages=messages, status=status)
        self.errors = list(errors)


@dataclass(frozen=True)
class ThrottleStatus:
    maximum: float
    available: float
    restore_rate: float
    observed_at: datetime

    def available_at(self, now: datetime) -> float:
        elapsed = max(0.0, (now - self.observed_at).total_seconds())
        return min(self.maximum, self.available + elapsed * self.restore_rate)


@dataclass(frozen=True)
class GraphQLResult:
    data: dict[str, Any]
    errors: list[dict[str, Any]]
    requested_cost: int | None
    actual_cost: int | None


@dataclass(frozen=True)
class Drift:
    """Shopify held a number other than the one we last published: someone else changed it (a merchant
    edit, another app). Ours overwrote it; the caller records it."""

    inventory_item_id: str
    location_id: str
    sku: str | None
    expected: int | None
    actual: int | None
    pushed: int


@dataclass(frozen=True)
class RejectedPush:
    push: AvailabilityPush
    code: str
    message: str


@dataclass
class PushReport:
    #: Pushes Shopify accepted, ``previous`` being the number actually compared against.
    applied: list[AvailabilityPush] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    rejected: list[RejectedPush] = field(default_factory=list)
    #: GraphQL calls made, reads and retries included.
    calls: int = 0
    mutations: int = 0
    throttled: int = 0


@dataclass(frozen=True)
class PublishedVariant:
    variant_id: str
    inventory_item_id: str
    sku: str | None


@dataclass(frozen=True)
class PublishedProduct:
    product_id: str | None
    handle: str | None
    status: str | None
    variants: tuple[PublishedVariant, ...]
    user_errors: tuple[dict[str, Any], ...]

    @property
    def ok(self) -> bool:
        return self.product_id is not None and not self.user_errors


@dataclass(frozen=True)
class FulfillmentResult:
    #: The first fulfilment made (one per assigned location; all of them in ``fulfillment_ids``).
    fulfillment_id: str | None
    #: Nothing was left to fulfil (already fulfilled, e.g. by a first attempt whose answer was lost).
    nothing_to_fulfil: bool
    user_errors: tuple[dict[str, Any], ...] = ()
    fulfillment_ids: tuple[str, ...] = ()
    #: Fulfilment orders the merchant holds in Shopify, left unfulfilled.
    on_hold: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShopGiftCard:
    """One of the shop's gift cards (legacy ids): the order and line that sold it, None when issued by hand."""

    gift_card_id: str
    last_characters: str | None
    order_id: str | None
    line_item_id: str | None


@dataclass(frozen=True)
class VariantMatch:
    variant_id: str
    product_id: str
    inventory_item_id: str
    sku: str | None
    barcode: str | None


# -- the client -----------------------------------------------------------------------------------------


def _stale_index(error: Mapping[str, Any]) -> int | None:
    path = error.get("field") or []
    if len(path) >= 3 and path[0] == "input" and path[1] == "quantities" and str(path[2]).isdigit():
        return int(path[2])
    return None


def batch_key(base: str | None, variables: Mapping[str, Any]) -> str:
    """An idempotency key that is the same for a retry of the same batch and new for anything else (a
    retry after a stale read changes ``changeFromQuantity``, so it gets a fresh key, as Shopify requires)."""
    digest = hashlib.sha256(json.dumps(variables, sort_keys=True).encode()).hexdigest()
    return str(uuid.uuid5(_KEY_NAMESPACE, f"{base or ''}|{digest}"))


class PointsBucket(Protocol):
    """A shop's cost bucket as every process of the installation sees it (``SharedTokenBucket``)."""

    @property
    def rate(self) -> float: ...

    def take(self, wanted: int) -> int: ...

    def give_back(self, count: int) -> None: ...

    def observe(self, budget: Budget) -> None: ...


class ShopifyClient:
    def __init__(
        self,
        config: ShopifyConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
        points: PointsBucket | None = None,
    ) -> None:
        self.config = config
        self.points = points
        self.clock: Clock = clock or SystemClock()
        self._sleep = sleep
        self._http = httpx.Client(
            transport=transport,
            timeout=config.timeout_seconds,
            headers={
                "X-Shopify-Access-Token": config.access_token,
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        self.throttle: ThrottleStatus | None = None
        self._costs: dict[str, int] = dict(_DEFAULT_COSTS)
        #: Calls made and throttled answers met over the client's life.
        self.calls = 0
        self.throttled = 0

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ShopifyClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- transport and pacing ------------------------------------------------------------------------

    def _wait_for(self, cost: int) -> float:
        if self.throttle is None:
            return 0.0
        have = self.throttle.available_at(self.clock.now())
        if cost <= have or self.throttle.restore_rate <= 0:
            return 0.0
        return (cost - have) / self.throttle.restore_rate

    def _observe(self, extensions: Any) -> tuple[int | None, int | None]:
        cost = extensions.get("cost") if isinstance(extensions, Mapping) else None
        if not isinstance(cost, Mapping):
            return None, None
        status = cost.get("throttleStatus")
        if isinstance(status, Mapping):
            with contextlib.suppress(KeyError, TypeError, ValueError):  # a malformed status teaches nothing
                self.throttle = ThrottleStatus(
                    float(status["maximumAvailable"]),
                    float(status["currentlyAvailable"]),
                    float(status["restoreRate"]),
                    self.clock.now(),
                )
        requested = cost.get("requestedQueryCost")
        actual = cost.get("actualQueryCost")
        return (requested if isinstance(requested, int) else None, actual if isinstance(actual, int) else None)

    def _shared_wait(self, cost: int) -> float:
        """Take ``cost`` points from the shared bucket, all or none; answers how long to wait when short."""
        if self.points is None:
            return 0.0
        granted = self.points.take(cost)
        if granted >= cost:
            return 0.0
        self.points.give_back(granted)
        return max(0.01, (cost - granted) / max(self.points.rate, 0.001))

    def _share(self) -> None:
        """Write Shopify's own account of the bucket (it counts every process's calls) to the shared one."""
        if self.points is not None and self.throttle is not None:
            self.points.observe(Budget(self.throttle.available, self.throttle.restore_rate))

    def _pause(self, seconds: float, waited: float) -> float:
        if waited + seconds > self.config.max_throttle_wait_seconds:
            raise ShopifyThrottled(seconds)
        self._sleep(seconds)
        return waited + seconds

    def execute(self, query: str, variables: Mapping[str, Any] | None = None, *, operation: str) -> GraphQLResult:
        """One GraphQL operation: paced on the bucket, retried while throttled, errors typed.

        User errors come back in ``data`` for the caller; top-level errors other than THROTTLED raise."""
        body = json.dumps({"query": query, "variables": dict(variables or {}), "operationName": operation})
        waited = 0.0
        while True:
            wait = self._wait_for(self._costs.get(operation, 1))
            if wait > 0:
                waited = self._pause(wait, waited)
            short = self._shared_wait(self._costs.get(operation, 1))
            if short > 0:
                waited = self._pause(short, waited)
                continue
            try:
                response = self._http.post(self.config.graphql_url, content=body)
            except httpx.TransportError as exc:
                raise ShopifyUnavailable(f"{type(exc).__name__}: {exc}") from exc
            self.calls += 1
            status = response.status_code
            retry_after = _retry_after(response)
            if status >= 500:
                raise ShopifyUnavailable(f"HTTP {status}", status=status, retry_after=retry_after)
            try:
                payload = response.json()
            except ValueError:
                if status == 429:
                    self.throttled += 1
                    waited = self._pause(max(retry_after or 1.0, 0.1), waited)
                    continue
                raise ShopifyUnavailable(f"HTTP {status} with a body that is not JSON", status=status) from None
            if status in (401, 403):
                raise ShopifyRejected(f"HTTP {status}: access token refused", status=status)
            if status != 429 and status >= 400:
                raise ShopifyRejected(f"HTTP {status}: {str(payload)[:300]}", status=status)
            payload = payload if isinstance(payload, Mapping) else {}
            requested, actual = self._observe(payload.get("extensions"))
            self._share()
            errors = [e for e in payload.get("errors") or [] if isinstance(e, Mapping)]
            throttled = status == 429 or any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors)
            if requested is not None:
                self._costs[operation] = requested
            if throttled:
                self.throttled += 1
                need = self._wait_for(requested or self._costs.get(operation, 1))
                floor = 1.0 / self.throttle.restore_rate if self.throttle and self.throttle.restore_rate > 0 else 1.0
                waited = self._pause(max(need, retry_after or 0.0, floor), waited)
                continue
            if errors:
                messages = "; ".join(str(e.get("message")) for e in errors)
                raise ShopifyRejected(f"GraphQL errors: {messages}", status=status, errors=errors)
            data = payload.get("data")
            return GraphQLResult(dict(data) if isinstance(data, Mapping) else {}, [], requested, actual)

    # -- availability ---------------------------------------------------------------------------------

    def set_available(
        self,
        pushes: Sequence[AvailabilityPush],
        *,
        reference_document_uri: str,
        idempotency_key: str | None = None,
        reason: str | None = None,
    ) -> PushReport:
        """Publish numbers in batches of at most ``batch_size`` (≤ 250) per ``inventorySetQuantities``.

        Pushes for the same (item, location) are coalesced first (latest number, earliest ``previous``).
        On ``CHANGE_FROM_QUANTITY_STALE`` the current numbers are read, reported as drift, and the batch is
        sent again comparing against them. Items Shopify refuses for good (unknown item or location, not
        stocked there) are reported as rejected and the rest of their batch goes through."""
        report = PushReport()
        calls_before, throttled_before = self.calls, self.throttled
        pending = coalesce_pushes(pushes)
        size = self.config.batch_size
        for start in range(0, len(pending), size):
            self._push_batch(pending[start : start + size], reference_document_uri, idempotency_key, reason, report)
        report.calls = self.calls - calls_before
        report.throttled = self.throttled - throttled_before
        return report

    def _push_batch(
        self,
        batch: list[AvailabilityPush],
        uri: str,
        base_key: str | None,
        reason: str | None,
        report: PushReport,
    ) -> None:
        rounds = in_progress = new_keys = 0
        while batch:
            variables = {
                "input": set_quantities_input(batch, reference_document_uri=uri, reason=reason or self.config.reason)
            }
            # After a failed attempt Shopify refuses its key for good: the same batch goes under a new one.
            key = batch_key(base_key if not new_keys else f"{base_key or ''}|attempt-{new_keys}", variables)
            result = self.execute(SET_AVAILABLE, {**variables, "idempotencyKey": key}, operation="SetAvailable")
            report.mutations += 1
            payload = result.data.get("inventorySetQuantities") or {}
            errors = [e for e in payload.get("userErrors") or [] if isinstance(e, Mapping)]
            if not errors:
                report.applied.extend(batch)
                return
            codes = {str(e.get("code") or "") for e in errors}
            if "IDEMPOTENCY_CONCURRENT_REQUEST" in codes:
                in_progress += 1
                if in_progress > self.config.max_in_progress_rounds:
                    raise ShopifyUnavailable(
                        f"inventorySetQuantities still in progress at Shopify after {in_progress - 1} retries"
                    )
                self._sleep(1.0)  # the same request is still running at Shopify: ask again, same key
                continue
            if "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED" in codes:
                new_keys += 1
                if new_keys > self.config.max_new_keys:
                    raise ShopifyUnavailable("inventorySetQuantities: every attempt under a new key failed at Shopify")
                continue
            stale: set[int] = set()
            refused: set[int] = set()
            for error in errors:
                code = str(error.get("code") or "")
                index = _stale_index(error)
                if index is None or index >= len(batch):
                    raise ShopifyRejected(
                        f"inventorySetQuantities refused the batch: {code} {error.get('message')}", errors=errors
                    )
                if code == "CHANGE_FROM_QUANTITY_STALE":
                    stale.add(index)
                else:
                    refused.add(index)
                    report.rejected.append(RejectedPush(batch[index], code, str(error.get("message"))))
            if stale:
                rounds += 1
                if rounds > self.config.max_stale_rounds:
                    for index in sorted(stale):
                        report.rejected.append(
                            RejectedPush(batch[index], "CHANGE_FROM_QUANTITY_STALE", "kept changing while we pushed")
                        )
                    refused |= stale
                else:
                    wanted = [(batch[i].inventory_item_id, batch[i].location_id) for i in sorted(stale)]
                    current = self.read_available(wanted)
                    for index in sorted(stale):
                        push = batch[index]
                        pair = (to_gid("InventoryItem", push.inventory_item_id), to_gid("Location", push.location_id))
                        actual = current.get(pair)
                        report.drift.append(
                            Drift(
                                push.inventory_item_id,
                                push.location_id,
                                push.sku,
                                push.previous,
                                actual,
                                push.available,
                            )
                        )
                        batch[index] = replace(push, previous=actual)
            batch = [push for i, push in enumerate(batch) if i not in refused]

    def read_available(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
        """Shopify's current ``available`` per (inventory item, location), keyed by gids; None when the
        item is not stocked at the location."""
        answer: dict[tuple[str, str], int | None] = {}
        keys = [(to_gid("InventoryItem", item), to_gid("Location", location)) for item, location in pairs]
        by_location: dict[str, list[tuple[str, str]]] = {}
        for key in keys:
            by_location.setdefault(key[1], []).append(key)
        for location, located in by_location.items():
            for start in range(0, len(located), MAX_QUANTITIES_PER_CALL):
                chunk = located[start : start + MAX_QUANTITIES_PER_CALL]
                variables = {"ids": [item for item, _ in chunk], "location": location}
                result = self.execute(READ_AVAILABLE, variables, operation="ReadAvailable")
                for pair, node in zip(chunk, result.data.get("nodes") or [], strict=False):
                    quantities = ((node or {}).get("inventoryLevel") or {}).get("quantities") or []
                    answer[pair] = next((q.get("quantity") for q in quantities if q.get("name") == "available"), None)
        for key in keys:
            answer.setdefault(key, None)
        return answer

    # -- products -------------------------------------------------------------------------------------

    def publish_product(self, variables: Mapping[str, Any]) -> PublishedProduct:
        """Run ``productSet`` with variables from ``mapper.product_set_variables``; answers the ids to keep
        in the channel mapping (variant and inventory item per SKU)."""
        result = self.execute(PUBLISH_PRODUCT, variables, operation="PublishProduct")
        payload = result.data.get("productSet") or {}
        product = payload.get("product") or {}
        variants = tuple(
            PublishedVariant(str(node["id"]), str((node.get("inventoryItem") or {}).get("id")), node.get("sku"))
            for node in ((product.get("variants") or {}).get("nodes") or [])
        )
        return PublishedProduct(
            product.get("id"),
            product.get("handle"),
            product.get("status"),
            variants,
            tuple(payload.get("userErrors") or ()),
        )

    def product_variants(self, product_id: str) -> list[VariantMatch] | None:
        """Every variant the product has in the shop now (None when the product is gone), paged."""
        found: list[VariantMatch] = []
        after: str | None = None
        while True:
            answer = self.execute(
                PRODUCT_VARIANTS, {"id": to_gid("Product", product_id), "after": after}, operation="ProductVariants"
            )
            product = answer.data.get("product")
            if product is None:
                return None
            connection = product.get("variants") or {}
            for node in connection.get("nodes") or []:
                found.append(
                    VariantMatch(
                        str(node["id"]),
                        str(product["id"]),
                        str((node.get("inventoryItem") or {}).get("id")),
                        node.get("sku"),
                        node.get("barcode"),
                    )
                )
            info = connection.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return found
            after = info.get("endCursor")

    def archive_product(self, product_id: str) -> tuple[dict[str, Any], ...]:
        """Set the product ARCHIVED (a discontinued style); answers Shopify's user errors (empty when done)."""
        result = self.execute(
            ARCHIVE_PRODUCT,
            {"product": {"id": to_gid("Product", product_id), "status": "ARCHIVED"}},
            operation="ArchiveProduct",
        )
        return tuple((result.data.get("productUpdate") or {}).get("userErrors") or ())

    def find_variants(self, *, sku: str | None = None, barcode: str | None = None) -> list[VariantMatch]:
        """Variants by SKU or barcode, for linking existing products to our SKUs."""
        if (sku is None) == (barcode is None):
            raise ValueError("give exactly one of sku, barcode")
        term = f'sku:"{sku}"' if sku is not None else f'barcode:"{barcode}"'
        result = self.execute(FIND_VARIANTS, {"query": term}, operation="FindVariants")
        return [
            VariantMatch(
                node["id"],
                str((node.get("product") or {}).get("id")),
                str((node.get("inventoryItem") or {}).get("id")),
                node.get("sku"),
                node.get("barcode"),
            )
            for node in (result.data.get("productVariants") or {}).get("nodes") or []
        ]

    def gift_cards(self, query: str | None = None) -> list[ShopGiftCard]:
        """The shop's gift cards matching ``query`` (Shopify's search syntax, e.g. ``created_at:>=2026-12-01``),
        every page."""
        out: list[ShopGiftCard] = []
        after: str | None = None
        while True:
            result = self.execute(GIFT_CARDS, {"query": query, "after": after}, operation="GiftCards")
            block = result.data.get("giftCards") or {}
            for node in block.get("nodes") or []:
                card_id = legacy_id(node.get("id"))
                if card_id is None:
                    continue
                out.append(
                    ShopGiftCard(
                        card_id,
                        node.get("lastCharacters"),
                        legacy_id((node.get("order") or {}).get("id")),
                        legacy_id((node.get("lineItem") or {}).get("id")),
                    )
                )
            info = block.get("pageInfo") or {}
            if not info.get("hasNextPage") or not info.get("endCursor"):
                return out
            after = str(info["endCursor"])

    def locations(self) -> list[tuple[str, str]]:
        result = self.execute(LOCATIONS, operation="Locations")
        return [
            (n["id"], n["name"]) for n in (result.data.get("locations") or {}).get("nodes") or [] if n.get("isActive")
        ]

    # -- fulfilment -----------------------------------------------------------------------------------

    def create_fulfillment(
        self,
        order_id: str,
        tracking: Tracking | None,
        *,
        notify_customer: bool = False,
        lines: Mapping[str, int] | None = None,
    ) -> FulfillmentResult:
        """Fulfil what is open on the order (or only ``lines``: SKU → quantity) with tracking: one
        ``fulfillmentCreate`` per assigned location, naming each fulfilment-order line and quantity (Shopify
        fulfils *everything* on a fulfilment order whose lines are not named). Every fulfilment order is read,
        paged (5 a page, 50 lines a page). A ``SCHEDULED`` one is opened first; one ``ON_HOLD`` is the merchant's
        hold and is not overridden: ``ShopifyOnHold`` when nothing else could be fulfilled. Safe to repeat: a
        repeat finds nothing open and says so instead of fulfilling twice."""
        orders = self._fulfillment_orders(order_id)
        wanted = dict(lines) if lines is not None else None
        by_location: dict[str, list[dict[str, Any]]] = {}
        held: list[str] = []
        for fo in orders:
            status = fo.get("status")
            if status == "SCHEDULED":
                self._open_fulfillment_order(str(fo["id"]))
                status = "OPEN"
            if status == "ON_HOLD":
                held.append(str(fo["id"]))
                continue
            if status not in ("OPEN", "IN_PROGRESS"):
                continue
            picks = []
            for line in fo["lines"]:
                remaining = int(line.get("remainingQuantity") or 0)
                sku = str((line.get("lineItem") or {}).get("sku") or "")
                qty = remaining if wanted is None else min(remaining, wanted.get(sku, 0))
                if qty > 0:
                    picks.append({"id": line["id"], "quantity": qty})
                    if wanted is not None:
                        wanted[sku] -= qty
            if picks:
                location = str(((fo.get("assignedLocation") or {}).get("location") or {}).get("id") or "")
                group = {"fulfillmentOrderId": fo["id"], "fulfillmentOrderLineItems": picks}
                by_location.setdefault(location, []).append(group)
        if not by_location:
            if held:
                raise ShopifyOnHold(f"order {order_id}: fulfilment orders on hold in Shopify: {', '.join(held)}")
            return FulfillmentResult(None, True)
        created: list[str] = []
        errors: list[dict[str, Any]] = []
        for groups in by_location.values():
            fulfillment: dict[str, Any] = {"lineItemsByFulfillmentOrder": groups, "notifyCustomer": notify_customer}
            if tracking is not None:
                fulfillment["trackingInfo"] = {
                    key: value
                    for key, value in (
                        ("company", tracking.company),
                        ("number", tracking.number),
                        ("url", tracking.url),
                    )
                    if value is not None
                }
            result = self.execute(CREATE_FULFILLMENT, {"fulfillment": fulfillment}, operation="CreateFulfillment")
            payload = result.data.get("fulfillmentCreate") or {}
            errors.extend(payload.get("userErrors") or ())
            made = (payload.get("fulfillment") or {}).get("id")
            if made:
                created.append(str(made))
        return FulfillmentResult(created[0] if created else None, False, tuple(errors), tuple(created), tuple(held))

    def _fulfillment_orders(self, order_id: str) -> list[dict[str, Any]]:
        """Every fulfilment order of the order with every line (``lines``), paging both."""
        found: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            answer = self.execute(
                FULFILLMENT_ORDERS, {"id": to_gid("Order", order_id), "after": after}, operation="FulfillmentOrders"
            )
            order = answer.data.get("order")
            if order is None:
                raise ShopifyRejected(f"order {order_id} does not exist in the shop")
            connection = order.get("fulfillmentOrders") or {}
            for fo in connection.get("nodes") or []:
                items = fo.get("lineItems") or {}
                lines = list(items.get("nodes") or [])
                page = items.get("pageInfo") or {}
                while page.get("hasNextPage"):
                    more = self.execute(
                        FULFILLMENT_ORDER_LINES,
                        {"id": fo["id"], "after": page.get("endCursor")},
                        operation="FulfillmentOrderLines",
                    )
                    items = (more.data.get("node") or {}).get("lineItems") or {}
                    lines.extend(items.get("nodes") or [])
                    page = items.get("pageInfo") or {}
                found.append({**fo, "lines": lines})
            info = connection.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return found
            after = info.get("endCursor")

    def _open_fulfillment_order(self, fulfillment_order_id: str) -> None:
        answer = self.execute(OPEN_FULFILLMENT_ORDER, {"id": fulfillment_order_id}, operation="OpenFulfillmentOrder")
        errors = (answer.data.get("fulfillmentOrderOpen") or {}).get("userErrors") or []
        if errors:
            raise ShopifyRejected(f"fulfillmentOrderOpen refused {fulfillment_order_id}: {errors}", errors=errors)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
