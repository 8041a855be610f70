"""A local Amazon Selling Partner API for one seller: Listings Items (``PATCH`` / ``GET`` on
``/listings/2021-08-01/items/{sellerId}/{sku}``), the Feeds API (documents, ``JSON_LISTINGS_FEED`` feeds and
their processing reports, pre-signed upload/download URLs), the Orders API 2026-01-01 (``searchOrders``: orders
with their items, and the ``includedData`` datasets asked for: ``BUYER``, ``FULFILLMENT``, ``PACKAGES``), the
deprecated Orders API v0 (``getOrders``, ``getOrderItems``) and v0's ``confirmShipment`` (a package of some
items with its carrier and tracking: partial shipments). One core, ``AmazonSandbox.handle``, serves the ASGI
app and an ``httpx.MockTransport``.

Faithful where it matters to a client: ``x-amz-access-token`` is required (403 otherwise), either the fixed
token of the config or one issued by Login with Amazon (``POST /auth/o2/token``, ``grant_type=refresh_token``,
living ``access_token_seconds``; an expired one answers 403 "has expired"); every operation
has its own token bucket at SP-API's default rate and burst and answers 429 ``QuotaExceeded`` with
``Retry-After`` (seconds until a token) and ``x-amzn-RateLimit-Limit``; a listings ``PATCH`` needs
``productType`` and ``marketplaceIds`` and answers a ``ListingsItemSubmissionResponse`` (``ACCEPTED`` or
``INVALID`` with issues); a feed goes ``IN_QUEUE`` → ``IN_PROGRESS`` → ``DONE`` (or ``FATAL`` for a document
that is not a listings feed, or holds more than 25,000 messages) over ``feed_processing_seconds`` of the
sandbox clock, and its report carries issues per ``messageId``. Issue codes are the sandbox's own.

Knobs for tests: ``throttle_next`` (429 with a given Retry-After), ``expire_tokens``, ``fail_next`` (5xx,
before or after applying), ``add_listing``, ``place_order`` (takes the units off the listing, as Amazon
does), ``cancel_order``; ``calls`` is the audit log of every request."""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx

from seamline.sandbox.amazon import order_feeds, settlement
from seamline.sandbox.amazon.state import (
    Feed,
    FeedDocument,
    Listing,
    Order,
    OrderItem,
    RateBucket,
)
from seamline.sandbox.clock import Clock, SystemClock
from seamline.sandbox.http import SandboxResponse, match_route

RATE_LIMITS: dict[str, tuple[float, float]] = {
    "patchListingsItem": (5.0, 5.0),
    "putListingsItem": (5.0, 5.0),
    "getListingsItem": (5.0, 5.0),
    "getOrders": (0.0167, 20.0),
    "getOrderItems": (0.5, 30.0),
    "searchOrders": (0.0056, 20.0),
    "confirmShipment": (2.0, 10.0),
    "createFeedDocument": (0.5, 15.0),
    "createFeed": (0.0083, 15.0),
    "getFeed": (2.0, 15.0),
    "getFeedDocument": (0.0222, 10.0),
}
PATCH_PATH = "/attributes/fulfillment_availability"
MAX_FEED_MESSAGES = 25_000

_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("PATCH", re.compile(r"^/listings/2021-08-01/items/(?P<seller>[^/]+)/(?P<sku>[^/]+)$"), "patchListingsItem"),
    ("GET", re.compile(r"^/listings/2021-08-01/items/(?P<seller>[^/]+)/(?P<sku>[^/]+)$"), "getListingsItem"),
    ("PUT", re.compile(r"^/listings/2021-08-01/items/(?P<seller>[^/]+)/(?P<sku>[^/]+)$"), "putListingsItem"),
    ("POST", re.compile(r"^/feeds/2021-06-30/documents$"), "createFeedDocument"),
    ("GET", re.compile(r"^/feeds/2021-06-30/documents/(?P<id>[^/]+)$"), "getFeedDocument"),
    ("POST", re.compile(r"^/feeds/2021-06-30/feeds$"), "createFeed"),
    ("GET", re.compile(r"^/feeds/2021-06-30/feeds/(?P<id>[^/]+)$"), "getFeed"),
    ("GET", re.compile(r"^/orders/v0/orders$"), "getOrders"),
    ("GET", re.compile(r"^/orders/v0/orders/(?P<id>[^/]+)/orderItems$"), "getOrderItems"),
    ("GET", re.compile(r"^/orders/2026-01-01/orders$"), "searchOrders"),
    ("POST", re.compile(r"^/orders/v0/orders/(?P<id>[^/]+)/shipmentConfirmation$"), "confirmShipment"),
    ("PUT", re.compile(r"^/feed-uploads/(?P<id>[^/]+)$"), "uploadDocument"),
    ("GET", re.compile(r"^/feed-downloads/(?P<id>[^/]+)$"), "downloadDocument"),
    ("POST", re.compile(r"^/auth/o2/token$"), "lwaToken"),
]
#: The pre-signed S3 URLs and Login with Amazon: no SP-API token, no SP-API rate limit.
_UNSIGNED = frozenset({"uploadDocument", "downloadDocument", "lwaToken"})


@dataclass
class SandboxConfig:
    seller_id: str = "A2SEAMLINESANDBOX"
    access_token: str = "Atza|sandbox-access-token"
    #: Login with Amazon: a refresh token of this app exchanges for access tokens living this long.
    client_id: str = "amzn1.application-oa2-client.sandbox"
    client_secret: str = "sandbox-client-secret"
    refresh_token: str = "Atzr|sandbox-refresh-token"
    access_token_seconds: float = 3600.0
    marketplace_ids: tuple[str, ...] = ("A1PA6795UKMFR9",)  # amazon.de
    currency: str = "EUR"
    #: Where the pre-signed document URLs point (the sandbox itself, under /feed-uploads and /feed-downloads).
    base_url: str = "https://sellingpartnerapi-eu.amazon.sandbox.test"
    rate_limits: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(RATE_LIMITS))
    feed_processing_seconds: float = 0.0
    max_feed_messages: int = MAX_FEED_MESSAGES
    orders_page_size: int = 100


@dataclass(frozen=True)
class CallRecord:
    at: datetime
    operation: str | None
    method: str
    path: str
    status: int
    body: Any = None


@dataclass
class _Fault:
    status: int
    after_apply: bool


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _error(code: str, message: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message}]}


def _issue(code: str, message: str, severity: str = "ERROR", **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "severity": severity, **extra}


class AmazonSandbox:
    def __init__(self, config: SandboxConfig | None = None, *, clock: Clock | None = None) -> None:
        self.config = config or SandboxConfig()
        self.clock: Clock = clock or SystemClock()
        now = self.clock.now()
        self.buckets = {
            op: RateBucket(rate, burst, burst, now) for op, (rate, burst) in self.config.rate_limits.items()
        }
        self.listings: dict[str, Listing] = {}
        self.documents: dict[str, FeedDocument] = {}
        self.feeds: dict[str, Feed] = {}
        self.orders: dict[str, Order] = {}
        self.calls: list[CallRecord] = []
        self._faults: list[_Fault] = []
        self._throttles: list[float] = []
        self._next_order = 1
        #: What the settlement reports paid out already: (order item id, adjustment index or -1 for the sale).
        self.settled: set[tuple[str, int]] = set()
        self._next_settlement = 1
        #: Access tokens issued through Login with Amazon, and when each expires.
        self.issued_tokens: dict[str, datetime] = {}
        self._lock = threading.RLock()

    # -- knobs ------------------------------------------------------------------------------------------

    def throttle_next(self, count: int = 1, *, retry_after: float = 1.0) -> None:
        """Answer the next ``count`` signed calls 429 with ``Retry-After: retry_after``."""
        with self._lock:
            self._throttles.extend([retry_after] * count)

    def expire_tokens(self) -> None:
        """Every access token issued so far expires now (as an hour passing would)."""
        with self._lock:
            now = self.clock.now()
            self.issued_tokens = dict.fromkeys(self.issued_tokens, now)

    def fail_next(self, count: int = 1, status: int = 503, *, after_apply: bool = False) -> None:
        with self._lock:
            self._faults.extend(_Fault(status, after_apply) for _ in range(count))

    def add_listing(
        self,
        sku: str,
        product_type: str,
        *,
        quantity: int | None = None,
        marketplace_ids: tuple[str, ...] | None = None,
        fulfillment_channel_code: str = "DEFAULT",
    ) -> Listing:
        with self._lock:
            listing = Listing(sku, product_type, set(marketplace_ids or self.config.marketplace_ids))
            if quantity is not None:
                listing.availability[fulfillment_channel_code] = quantity
            listing.updated_at = self.clock.now()
            self.listings[sku] = listing
            return listing

    def quantity(self, sku: str, fulfillment_channel_code: str = "DEFAULT") -> int | None:
        listing = self.listings.get(sku)
        return None if listing is None else listing.availability.get(fulfillment_channel_code)

    def place_order(
        self,
        lines: list[tuple[str, int, Decimal]],
        *,
        status: str = "Unshipped",
        fulfillment_channel: str = "MFN",
        buyer_email: str | None = "buyer@marketplace.amazon.de",
        currency: str | None = None,
        tax_rate: Decimal | None = None,
        shipping: Decimal = Decimal(0),
        promotions: dict[str, Decimal] | None = None,
        shipping_promotion: Decimal = Decimal(0),
    ) -> Order:
        """A buyer checks out (sku, qty, unit price) lines. Amazon takes a merchant-fulfilled order's units off
        the listing's quantity at once, and refuses more than it shows.

        Money as Amazon computes it for the ``PROCEEDS`` dataset: ``promotions`` (sku → amount off the line),
        ``shipping`` charged with the first item less ``shipping_promotion``, and tax at ``tax_rate`` on
        each discounted amount, rounded to the cent per item (added to the price, as in the published
        example order, whose grand total is items + shipping + tax)."""
        with self._lock:
            now = self.clock.now()
            if fulfillment_channel == "MFN":
                for sku, qty, _ in lines:
                    shown = self.quantity(sku)
                    if shown is None or shown < qty:
                        raise ValueError(f"{sku} shows {shown}; Amazon would not sell {qty}")
                for sku, qty, _ in lines:
                    self.listings[sku].availability["DEFAULT"] -= qty
            number = self._next_order
            self._next_order += 1
            order_id = f"302-{number:07d}-{(number * 7919) % 10_000_000:07d}"
            items = [
                OrderItem(f"{order_id}-{i}", sku, f"B0{abs(hash(sku)) % 10**8:08d}", sku, qty, price)
                for i, (sku, qty, price) in enumerate(lines, start=1)
            ]
            cent = Decimal("0.01")
            for n, item in enumerate(items):
                item.discount = (promotions or {}).get(item.seller_sku, Decimal(0))
                if n == 0:
                    item.shipping, item.shipping_discount = shipping, shipping_promotion
                if tax_rate is not None:
                    item.tax = ((item.unit_price * item.quantity - item.discount) * tax_rate).quantize(cent)
                    item.shipping_tax = ((item.shipping - item.shipping_discount) * tax_rate).quantize(cent)
            order = Order(
                order_id,
                self.config.marketplace_ids[0],
                now,
                now,
                status,
                fulfillment_channel,
                currency or self.config.currency,
                items,
                buyer_email,
            )
            self.orders[order_id] = order
            return order

    def cancel_order(self, order_id: str) -> None:
        with self._lock:
            order = self.orders[order_id]
            if order.fulfillment_channel == "MFN" and order.status in ("Pending", "Unshipped"):
                for item in order.items:
                    listing = self.listings.get(item.seller_sku)
                    if listing is not None:
                        listing.availability["DEFAULT"] = listing.availability.get("DEFAULT", 0) + item.quantity
            order.status = "Canceled"
            order.last_update_date = self.clock.now()

    def refund_in_seller_central(self, order_id: str, order_item_id: str, components: dict[str, Decimal]) -> None:
        """The seller refunds an item by hand in Seller Central (no feed): Amazon books it all the same."""
        with self._lock:
            order = self.orders[order_id]
            order.adjustments.append(
                {
                    "orderItemId": order_item_id,
                    "reason": "GeneralAdjustment",
                    "components": dict(components),
                    "quantity": None,
                    "postedDate": self.clock.now(),
                }
            )
            order.last_update_date = self.clock.now()

    def settlement_report(
        self,
        *,
        commission_rate: Decimal = Decimal("0.15"),
        fba_fee: Decimal = Decimal("3.20"),
        period_days: int = 14,
        marketplace_name: str = "Amazon.de",
    ) -> str:
        """The next settlement period's report (flat file V2, ``settlement.py``): every item shipped in full
        and every seller refund not settled before, its fees, and the deposit as the summary row's total."""
        with self._lock:
            now = self.clock.now()
            rows: list[settlement.Row] = []
            for order in self.orders.values():
                for item in order.items:
                    shipped = item.quantity_shipped >= item.quantity - item.quantity_cancelled > 0
                    if shipped and (item.order_item_id, -1) not in self.settled:
                        self.settled.add((item.order_item_id, -1))
                        rows += settlement.order_rows(order, item, commission_rate, fba_fee, now)
                for i, adjustment in enumerate(order.adjustments):
                    item_id = str(adjustment["orderItemId"])
                    if (item_id, i) in self.settled or (item_id, -1) not in self.settled:
                        continue
                    self.settled.add((item_id, i))
                    item = next(it for it in order.items if it.order_item_id == item_id)
                    rows += settlement.refund_rows(order, item, adjustment, commission_rate, i + 1)
            number = self._next_settlement
            self._next_settlement += 1
            return settlement.render(
                f"{11_000_000_000 + number}",
                now - timedelta(days=period_days),
                now,
                now + timedelta(days=1),
                self.config.currency,
                marketplace_name,
                rows,
            )

    def operations(self, operation: str) -> list[CallRecord]:
        return [c for c in self.calls if c.operation == operation]

    # -- HTTP -------------------------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            answer = self.handle(
                request.method, request.url.path, request.url.query.decode(), dict(request.headers), request.read()
            )
            return httpx.Response(answer.status, content=answer.body, headers=answer.headers)

        return httpx.MockTransport(handler)

    def handle(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> SandboxResponse:
        with self._lock:
            now = self.clock.now()
            lowered = {k.lower(): v for k, v in headers.items()}
            params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
            operation, match = match_route(_ROUTES, method, path)
            extra: dict[str, str] = {}
            recorded: Any = None
            if operation is None or match is None:
                status, answer = 404, _error("NotFound", f"No resource at {method} {path}")
            elif operation == "lwaToken":
                status, answer = self._lwa_token(body, now)
            elif operation not in _UNSIGNED and not self._authorised(lowered.get("x-amz-access-token"), now):
                expired = lowered.get("x-amz-access-token") in self.issued_tokens
                message = "The access token you provided has expired." if expired else None
                status, answer = 403, _error("Unauthorized", message or "Access to requested resource is denied.")
            else:
                limited = None if operation in _UNSIGNED else self._limit(operation, now)
                if limited is not None:
                    status, answer = 429, _error("QuotaExceeded", "You exceeded your quota for the requested resource.")
                    extra["retry-after"] = f"{limited:.3f}"
                else:
                    fault = self._faults.pop(0) if self._faults and operation not in _UNSIGNED else None
                    if fault is not None and not fault.after_apply:
                        status, answer = fault.status, _error("InternalFailure", "We encountered an internal error.")
                    else:
                        status, answer, recorded = self._dispatch(operation, match.groupdict(), params, body, now)
                        if fault is not None:
                            status, answer = (
                                fault.status,
                                _error("InternalFailure", "We encountered an internal error."),
                            )
                if operation in self.config.rate_limits:
                    extra["x-amzn-ratelimit-limit"] = str(self.config.rate_limits[operation][0])
            self.calls.append(CallRecord(now, operation, method.upper(), path, status, recorded))
            if answer is None:  # 204 No Content
                content, content_type = b"", "application/json"
            elif isinstance(answer, bytes):
                content, content_type = answer, "application/json"
            else:
                content, content_type = json.dumps(answer).encode(), "application/json"
            headers_out = {"content-type": content_type, "x-amzn-requestid": str(uuid.uuid4()), **extra}
            return SandboxResponse(status, content, headers_out)

    def _authorised(self, token: str | None, now: datetime) -> bool:
        if token is None:
            return False
        if token == self.config.access_token:
            return True
        expires = self.issued_tokens.get(token)
        return expires is not None and now < expires

    def _lwa_token(self, body: bytes, now: datetime) -> tuple[int, Any]:
        """``POST /auth/o2/token`` (form encoded), ``grant_type=refresh_token``: a new access token."""
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type", "error_description": "grant_type must be refresh_token"}
        if (form.get("client_id"), form.get("client_secret")) != (self.config.client_id, self.config.client_secret):
            return 401, {"error": "invalid_client", "error_description": "Client authentication failed"}
        if form.get("refresh_token") != self.config.refresh_token:
            return 400, {"error": "invalid_grant", "error_description": "The request has an invalid grant parameter"}
        token = f"Atza|{uuid.uuid4().hex}"
        self.issued_tokens[token] = now + timedelta(seconds=self.config.access_token_seconds)
        return 200, {
            "access_token": token,
            "refresh_token": self.config.refresh_token,
            "token_type": "bearer",
            "expires_in": int(self.config.access_token_seconds),
        }

    def _limit(self, operation: str, now: datetime) -> float | None:
        if self._throttles:
            return self._throttles.pop(0)
        bucket = self.buckets.get(operation)
        return None if bucket is None else bucket.take(now)

    def _dispatch(
        self, operation: str, args: dict[str, str], params: dict[str, str], body: bytes, now: datetime
    ) -> tuple[int, Any, Any]:
        try:
            payload: Any = json.loads(body) if body and operation != "uploadDocument" else None
        except ValueError:
            return 400, _error("InvalidInput", "The request body is not JSON."), None
        handler = getattr(self, "_" + re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower())
        result: tuple[int, Any, Any] = handler(args, params, payload if payload is not None else body, now)
        return result

    # -- listings ---------------------------------------------------------------------------------------

    def _patch_listings_item(
        self, args: dict[str, str], params: dict[str, str], body: Any, now: datetime
    ) -> tuple[int, Any, Any]:
        sku = unquote(args["sku"])
        if unquote(args["seller"]) != self.config.seller_id:
            return 403, _error("Unauthorized", "The seller id does not match the access token."), body
        if not params.get("marketplaceIds"):
            return 400, _error("InvalidInput", "Missing required 'marketplaceIds'."), body
        if not isinstance(body, Mapping) or not body.get("productType"):
            return 400, _error("InvalidInput", "Missing required 'productType'."), body
        patches = body.get("patches")
        if not isinstance(patches, list) or not patches:
            return 400, _error("InvalidInput", "Missing required 'patches'."), body
        submission = uuid.uuid4().hex
        listing = self.listings.get(sku)
        issues = []
        if listing is None:
            issues.append(_issue("SKU_NOT_FOUND", f"No listing exists for SKU '{sku}'."))
        elif listing.product_type != body["productType"]:
            issues.append(
                _issue("PRODUCT_TYPE_MISMATCH", f"'{sku}' is a {listing.product_type}, not a {body['productType']}.")
            )
        marketplaces = set(params["marketplaceIds"].split(","))
        if listing is not None and not marketplaces <= listing.marketplace_ids:
            issues.append(_issue("MARKETPLACE_NOT_LISTED", f"'{sku}' is not listed in {sorted(marketplaces)}."))
        for patch in patches:
            if isinstance(patch, Mapping) and patch.get("path") != PATCH_PATH:
                issues.extend(_content_patch_issues(patch, marketplaces))
                continue
            problem = _patch_problem(patch)
            if problem:
                issues.append(_issue("INVALID_PATCH", problem, attributeNames=["fulfillment_availability"]))
        if any(i["severity"] == "ERROR" for i in issues) or listing is None:
            return 200, {"sku": sku, "status": "INVALID", "submissionId": submission, "issues": issues}, body
        for patch in patches:
            if patch.get("path") == PATCH_PATH:
                _apply_patch(listing, patch)
            elif patch["op"] == "delete":
                listing.attributes.pop(str(patch["path"]).removeprefix("/attributes/"), None)
            else:
                listing.attributes[str(patch["path"]).removeprefix("/attributes/")] = patch["value"]
        listing.updated_at = now
        return 200, {"sku": sku, "status": "ACCEPTED", "submissionId": submission, "issues": []}, body

    def _put_listings_item(
        self, args: dict[str, str], params: dict[str, str], body: Any, now: datetime
    ) -> tuple[int, Any, Any]:
        """``putListingsItem``: create a listing or replace it whole. The attributes are checked against the
        product type's requirements the sandbox knows (``PRODUCT_TYPES``): a missing required attribute, a
        value that is not an array of objects, a marketplace not asked for or a text without its
        ``language_tag`` is an ERROR (``INVALID``, nothing changes); a listing without an image is a WARNING
        (``ACCEPTED``)."""
        sku = unquote(args["sku"])
        if unquote(args["seller"]) != self.config.seller_id:
            return 403, _error("Unauthorized", "The seller id does not match the access token."), body
        if not params.get("marketplaceIds"):
            return 400, _error("InvalidInput", "Missing required 'marketplaceIds'."), body
        if (
            not isinstance(body, Mapping)
            or not body.get("productType")
            or not isinstance(body.get("attributes"), Mapping)
        ):
            return 400, _error("InvalidInput", "productType and attributes are required."), body
        requirements = body.get("requirements", "LISTING")
        if requirements not in ("LISTING", "LISTING_PRODUCT_ONLY", "LISTING_OFFER_ONLY"):
            return 400, _error("InvalidInput", f"Invalid requirements {requirements!r}."), body
        marketplaces = set(params["marketplaceIds"].split(","))
        issues = _listing_issues(str(body["productType"]), str(requirements), body["attributes"], marketplaces)
        submission = uuid.uuid4().hex
        if any(i["severity"] == "ERROR" for i in issues):
            return 200, {"sku": sku, "status": "INVALID", "submissionId": submission, "issues": issues}, body
        attributes = {k: v for k, v in body["attributes"].items() if k != "fulfillment_availability"}
        listing = Listing(sku, str(body["productType"]), marketplaces, attributes=attributes)
        availability = body["attributes"].get("fulfillment_availability")
        if availability:
            _apply_patch(listing, {"op": "replace", "path": PATCH_PATH, "value": availability})
        listing.updated_at = now
        self.listings[sku] = listing
        return 200, {"sku": sku, "status": "ACCEPTED", "submissionId": submission, "issues": issues}, body

    def _get_listings_item(
        self, args: dict[str, str], params: dict[str, str], body: Any, now: datetime
    ) -> tuple[int, Any, Any]:
        listing = self.listings.get(unquote(args["sku"]))
        if listing is None:
            return 404, _error("NOT_FOUND", f"SKU '{unquote(args['sku'])}' not found in marketplace."), None
        availability = [{"fulfillmentChannelCode": c, "quantity": q} for c, q in sorted(listing.availability.items())]
        return (
            200,
            {
                "sku": listing.sku,
                "summaries": [
                    {"marketplaceId": m, "productType": listing.product_type, "status": ["BUYABLE"]}
                    for m in sorted(listing.marketplace_ids)
                ],
                "fulfillmentAvailability": availability,
            },
            None,
        )

    # -- feeds ------------------------------------------------------------------------------------------

    def _create_feed_document(
        self, args: dict[str, str], params: dict[str, str], body: Any, now: datetime
    ) -> tuple[int, Any, Any]:
        if not isinstance(body, Mapping) or not body.get("contentType"):
            return 400, _error("InvalidInput", "Missing required 'contentType'."), body
        document = FeedDocument("amzn1.tortuga.4." + uuid.uuid4().hex, str(body["contentType"]))
        self.documents[document.id] = document
        url = f"{self.config.base_url.rstrip('/')}/feed-uploads/{document.id}"
        return 201, {"feedDocumentId": document.id, "url": url}, body

    def _upload_document(
        self, args: dict[str, str], params: dict[str, str], body: Any, now: datetime
    ) -> tuple[int, Any, Any]:
        document = self.documents.get(args["id"])
        if document is None:
            return 403, b"<Error><Code>AccessDenied</Code></Error>", None
        document.content = bytes(body)
        return 200, b"", None

    def _create_feed(
        self, args: dict[str, str], params: dict[str, str], body: Any, now: datetime
    ) -> tuple[int, Any, Any]:
        if not isinstance(body, Mapping) or not body.get("feedType") or not body.get("inputFeedDocumentId"):
            return 400, _error("InvalidInput", "feedType, marketplaceIds and inputFeedDocumentId are required."), body
        if not body.get("marketplaceIds"):
            return 400, _error("InvalidInput", "Missing required 'marketplaceIds'."), body
        document = self.documents.get(str(body["inputFeedDocumentId"]))
        if document is None or document.content is None:
            return 400, _error("InvalidInput", "The input feed document was not uploaded."), body
        feed = Feed(
            str(50_000 + len(self.feeds) + 1),
            str(body["feedType"]),
            list(body["marketplaceIds"]),
            document.id,
            now,
        )
        self.feeds[feed.id] = feed
        return 202, {"feedId": feed.id}, body

    def _get_feed(self, args: dict[str, str], params: dict[str, str], body: Any, now: datetime) -> tuple[int, Any, Any]:
        feed = self.feeds.get(args["id"])
        if feed is None:
            return 404, _error("NotFound", f"No feed {args['id']}."), None
        self._progress(feed, now)
        out: dict[str, Any] = {
            "feedId": feed.id,
            "feedType": feed.feed_type,
            "marketplaceIds": feed.marketplace_ids,
            "createdTime": _iso(feed.created_at),
            "processingStatus": feed.status,
        }
        if feed.started_at:
            out["processingStartTime"] = _iso(feed.started_at)
        if feed.finished_at:
            out["processingEndTime"] = _iso(feed.finished_at)
        if feed.result_document_id:
            out["resultFeedDocumentId"] = feed.result_document_id
        return 200, out, None

    def _get_feed_document(
        self, args: dict[str, str], params: dict[str, str], body: Any, now: datetime
    ) -> tuple[int, Any, Any]:
        document = self.documents.get(args["id"])
        if document is None:
            return 404, _error("NotFound", f"No feed document {args['id']}."), None
        return (
            200,
            {"feedDocumentId": document.id, "url": f"{self.config.base_url.rstrip('/')}/feed-downloads/{document.id}"},
            None,
        )

    def _download_document(
        self, args: dict[str, str], params: dict[str, str], body: Any, now: datetime
    ) -> tuple[int, Any, Any]:
        document = self.documents.get(args["id"])
        if document is None or document.content is None:
            return 404, b"<Error><Code>NoSuchKey</Code></Error>", None
        return 200, document.content, None

    def process_feeds(self) -> None:
        """Finish every feed now, whatever the processing delay."""
        with self._lock:
            for feed in self.feeds.values():
                self._progress(feed, self.clock.now(), force=True)

    def _progress(self, feed: Feed, now: datetime, *, force: bool = False) -> None:
        if feed.status in ("DONE", "FATAL", "CANCELLED"):
            return
        delay = timedelta(seconds=self.config.feed_processing_seconds)
        if not force and now < feed.created_at + delay:
            if now >= feed.created_at + delay / 2 and feed.status == "IN_QUEUE":
                feed.status, feed.started_at = "IN_PROGRESS", now
            return
        feed.started_at = feed.started_at or now
        if feed.feed_type in order_feeds.ORDER_FEEDS:
            outcome = order_feeds.process(
                feed.feed_type,
                self.documents[feed.input_document_id].content or b"",
                seller_id=self.config.seller_id,
                marketplace_ids=feed.marketplace_ids,
                orders=self.orders,
                listings=self.listings,
                now=now,
            )
            result = FeedDocument("amzn1.tortuga.4.result." + uuid.uuid4().hex, "text/xml")
            result.content = order_feeds.report(self.config.seller_id, feed.id, outcome)
            self.documents[result.id] = result
            feed.status = "FATAL" if outcome.fatal else "DONE"
            feed.finished_at, feed.result_document_id = now, result.id
            return
        report, fatal = self._process(feed)
        result = FeedDocument("amzn1.tortuga.4.result." + uuid.uuid4().hex, "application/json")
        result.content = json.dumps(report).encode()
        self.documents[result.id] = result
        feed.status = "FATAL" if fatal else "DONE"
        feed.finished_at, feed.result_document_id = now, result.id

    def _process(self, feed: Feed) -> tuple[dict[str, Any], bool]:
        header = {"sellerId": self.config.seller_id, "version": "2.0", "feedId": feed.id}
        content = self.documents[feed.input_document_id].content or b""

        def fatal(message: str) -> tuple[dict[str, Any], bool]:
            summary = {"errors": 1, "warnings": 0, "messagesProcessed": 0, "messagesAccepted": 0, "messagesInvalid": 0}
            return {"header": header, "issues": [_issue("FATAL", message)], "summary": summary}, True

        if feed.feed_type != "JSON_LISTINGS_FEED":
            return fatal(
                f"The sandbox processes JSON_LISTINGS_FEED, {', '.join(order_feeds.ORDER_FEEDS)} only, "
                f"not {feed.feed_type}."
            )
        try:
            document = json.loads(content)
        except ValueError:
            return fatal("The feed document is not JSON.")
        if not isinstance(document, Mapping):
            return fatal("The feed document is not a JSON object.")
        head = document.get("header")
        if not isinstance(head, Mapping) or head.get("version") != "2.0" or not head.get("sellerId"):
            return fatal("The feed header needs sellerId and version 2.0.")
        if head.get("sellerId") != self.config.seller_id:
            return fatal("The feed's sellerId is not this seller.")
        messages = document.get("messages")
        if not isinstance(messages, list) or not messages:
            return fatal("The feed has no messages.")
        if len(messages) > self.config.max_feed_messages:
            return fatal(f"The feed has {len(messages)} messages; at most {self.config.max_feed_messages} are allowed.")
        issues: list[dict[str, Any]] = []
        accepted = invalid = 0
        seen: set[int] = set()
        for message in messages:
            found = self._apply_message(message, seen)
            if found:
                invalid += 1
                issues.extend(found)
            else:
                accepted += 1
        summary = {
            "errors": sum(1 for i in issues if i["severity"] == "ERROR"),
            "warnings": sum(1 for i in issues if i["severity"] == "WARNING"),
            "messagesProcessed": len(messages),
            "messagesAccepted": accepted,
            "messagesInvalid": invalid,
        }
        return {"header": header, "issues": issues, "summary": summary}, False

    def _apply_message(self, message: Any, seen: set[int]) -> list[dict[str, Any]]:
        number = message.get("messageId") if isinstance(message, Mapping) else None
        if not isinstance(number, int) or number < 1 or number in seen:
            return [_issue("INVALID_MESSAGE", "messageId must be a unique whole number from 1.", messageId=number)]
        seen.add(number)
        sku, operation = message.get("sku"), message.get("operationType")

        def problem(code: str, text: str) -> list[dict[str, Any]]:
            return [_issue(code, text, messageId=number, sku=sku)]

        if not sku or operation not in ("UPDATE", "PARTIAL_UPDATE", "PATCH", "DELETE"):
            return problem("INVALID_MESSAGE", "A message needs a sku and a known operationType.")
        listing = self.listings.get(str(sku))
        if operation == "DELETE":
            self.listings.pop(str(sku), None)
            return []
        product_type = message.get("productType")
        if not product_type:
            return problem("MISSING_PRODUCT_TYPE", "productType is required.")
        if operation == "UPDATE" and listing is None:
            listing = self.listings[str(sku)] = Listing(str(sku), str(product_type), set(self.config.marketplace_ids))
        if listing is None:
            return problem("SKU_NOT_FOUND", f"No listing exists for SKU '{sku}'.")
        if listing.product_type != product_type:
            return problem("PRODUCT_TYPE_MISMATCH", f"'{sku}' is a {listing.product_type}, not a {product_type}.")
        if operation == "PATCH":
            patches = message.get("patches")
            if not isinstance(patches, list) or not patches:
                return problem("INVALID_PATCH", "A PATCH message needs patches.")
            for patch in patches:
                text = _patch_problem(patch)
                if text:
                    return problem("INVALID_PATCH", text)
            for patch in patches:
                _apply_patch(listing, patch)
            return []
        attributes = message.get("attributes")
        if not isinstance(attributes, Mapping) or not attributes:
            return problem("MISSING_ATTRIBUTES", "UPDATE and PARTIAL_UPDATE need attributes.")
        availability = attributes.get("fulfillment_availability")
        if availability is not None:
            text = _patch_problem({"op": "replace", "path": PATCH_PATH, "value": availability})
            if text:
                return problem("INVALID_ATTRIBUTE", text)
            _apply_patch(listing, {"op": "replace", "path": PATCH_PATH, "value": availability})
        listing.attributes.update({k: v for k, v in attributes.items() if k != "fulfillment_availability"})
        return []

    # -- orders -----------------------------------------------------------------------------------------

    def _get_orders(
        self, args: dict[str, str], params: dict[str, str], body: Any, now: datetime
    ) -> tuple[int, Any, Any]:
        if params.get("NextToken"):
            try:
                state = json.loads(base64.urlsafe_b64decode(params["NextToken"].encode()))
                after, before, offset = (
                    datetime.fromisoformat(state["after"]),
                    datetime.fromisoformat(state["before"]),
                    int(state["offset"]),
                )
            except (ValueError, KeyError, TypeError):
                return 400, _error("InvalidInput", "Invalid NextToken."), None
        else:
            if not params.get("MarketplaceIds"):
                return 400, _error("InvalidInput", "Missing required 'MarketplaceIds'."), None
            raw = params.get("LastUpdatedAfter") or params.get("CreatedAfter")
            if not raw:
                return 400, _error("InvalidInput", "Either CreatedAfter or LastUpdatedAfter is required."), None
            try:
                after = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                return 400, _error("InvalidInput", f"Invalid date {raw}."), None
            before, offset = now, 0
        by_update = not params.get("CreatedAfter")
        matching = sorted(
            (
                o
                for o in self.orders.values()
                if after <= (o.last_update_date if by_update else o.purchase_date) <= before
            ),
            key=lambda o: (o.last_update_date, o.amazon_order_id),
        )
        page = matching[offset : offset + self.config.orders_page_size]
        payload: dict[str, Any] = {"Orders": [_order_json(o) for o in page], "LastUpdatedBefore": _iso(before)}
        if offset + len(page) < len(matching):
            token = {"after": after.isoformat(), "before": before.isoformat(), "offset": offset + len(page)}
            payload["NextToken"] = base64.urlsafe_b64encode(json.dumps(token).encode()).decode()
        return 200, {"payload": payload}, None

    def _get_order_items(
        self, args: dict[str, str], params: dict[str, str], body: Any, now: datetime
    ) -> tuple[int, Any, Any]:
        order = self.orders.get(unquote(args["id"]))
        if order is None:
            return 404, _error("InvalidInput", f"Invalid AmazonOrderId {args['id']}."), None
        items = [
            {
                "ASIN": item.asin,
                "SellerSKU": item.seller_sku,
                "OrderItemId": item.order_item_id,
                "Title": item.title,
                "QuantityOrdered": item.quantity,
                "QuantityShipped": item.quantity_shipped,
                "ItemPrice": {"CurrencyCode": order.currency, "Amount": str(item.unit_price * item.quantity)},
            }
            for item in order.items
        ]
        return 200, {"payload": {"AmazonOrderId": order.amazon_order_id, "OrderItems": items}}, None

    # -- Orders API 2026-01-01 --------------------------------------------------------------------------

    def _search_orders(
        self, args: dict[str, str], params: dict[str, str], body: Any, now: datetime
    ) -> tuple[int, Any, Any]:
        """``searchOrders``: exactly one of ``createdAfter`` / ``lastUpdatedAfter``; pages of
        ``maxResultsPerPage`` (1..100, default 100) with ``pagination.nextToken``; datasets by ``includedData``."""
        included = {x for x in params.get("includedData", "").split(",") if x}
        unknown = included - _DATASETS
        if unknown:
            return 400, _error("InvalidInput", f"Invalid includedData: {', '.join(sorted(unknown))}."), None
        try:
            size = int(params.get("maxResultsPerPage", "100"))
        except ValueError:
            return 400, _error("InvalidInput", "maxResultsPerPage must be an integer."), None
        if not 1 <= size <= 100:
            return 400, _error("InvalidInput", "maxResultsPerPage must be between 1 and 100."), None
        if params.get("paginationToken"):
            try:
                state = json.loads(base64.urlsafe_b64decode(params["paginationToken"].encode()))
                after, before, offset = (
                    datetime.fromisoformat(state["after"]),
                    datetime.fromisoformat(state["before"]),
                    int(state["offset"]),
                )
                by_update = bool(state["by_update"])
            except (ValueError, KeyError, TypeError):
                return 400, _error("InvalidInput", "Invalid paginationToken."), None
        else:
            given = [k for k in ("createdAfter", "lastUpdatedAfter") if params.get(k)]
            if len(given) != 1:
                return (
                    400,
                    _error("InvalidInput", "Exactly one of createdAfter and lastUpdatedAfter is required."),
                    None,
                )
            try:
                after = datetime.fromisoformat(params[given[0]].replace("Z", "+00:00"))
            except ValueError:
                return 400, _error("InvalidInput", f"Invalid date {params[given[0]]}."), None
            by_update, before, offset = given[0] == "lastUpdatedAfter", now, 0
        wanted = {m for m in params.get("marketplaceIds", "").split(",") if m}
        matching = sorted(
            (
                o
                for o in self.orders.values()
                if after <= (o.last_update_date if by_update else o.purchase_date) <= before
                and (not wanted or o.marketplace_id in wanted)
            ),
            key=lambda o: (o.last_update_date, o.amazon_order_id),
        )
        page = matching[offset : offset + size]
        answer: dict[str, Any] = {"orders": [_order_2026(o, included) for o in page]}
        answer["lastUpdatedBefore" if by_update else "createdBefore"] = _iso(before)
        if offset + len(page) < len(matching):
            token = {
                "after": after.isoformat(),
                "before": before.isoformat(),
                "offset": offset + len(page),
                "by_update": by_update,
            }
            answer["pagination"] = {"nextToken": base64.urlsafe_b64encode(json.dumps(token).encode()).decode()}
        return 200, answer, None

    def _confirm_shipment(
        self, args: dict[str, str], params: dict[str, str], body: Any, now: datetime
    ) -> tuple[int, Any, Any]:
        """``confirmShipment`` (Orders v0): one package of some of an order's items, with its carrier and
        tracking; the order goes ``PartiallyShipped`` until every unit has shipped. The same package confirmed
        again with the same content changes nothing; with other content it is refused."""
        order = self.orders.get(unquote(args["id"]))
        if order is None:
            return 404, _error("InvalidInput", f"Invalid orderId {args['id']}."), None
        problem = _package_problem(order, body)
        if problem is not None:
            return 400, _error("InvalidInput", problem), None
        package = body["packageDetail"]
        reference = str(package["packageReferenceId"])
        seen = next((p for p in order.packages if p["packageReferenceId"] == reference), None)
        if seen is not None:
            if seen["source"] == package:
                return 204, None, body
            return 400, _error("InvalidInput", f"Package {reference} was confirmed with other content."), None
        if order.fulfillment_channel != "MFN" or order.status not in ("Unshipped", "PartiallyShipped"):
            return (
                400,
                _error("InvalidInput", f"Order {order.amazon_order_id} is {order.status}: nothing to ship."),
                None,
            )
        by_id = {item.order_item_id: item for item in order.items}
        wanted: dict[str, int] = {}
        for line in package["orderItems"]:
            item = by_id.get(str(line["orderItemId"]))
            if item is None:
                return 400, _error("InvalidInput", f"Invalid orderItemId {line['orderItemId']}."), None
            wanted[item.order_item_id] = wanted.get(item.order_item_id, 0) + int(line["quantity"])
            if item.quantity_shipped + wanted[item.order_item_id] > item.quantity:
                return 400, _error("InvalidInput", f"Quantity of {item.order_item_id} exceeds what is unshipped."), None
        for item_id, qty in wanted.items():
            by_id[item_id].quantity_shipped += qty
        order.status = "Shipped" if all(i.quantity_shipped >= i.quantity for i in order.items) else "PartiallyShipped"
        order.last_update_date = now
        order.packages.append(
            {
                "packageReferenceId": reference,
                "createdTime": _iso(now),
                "packageStatus": {"status": "IN_TRANSIT"},
                "carrier": package.get("carrierName") or package["carrierCode"],
                "shipTime": package["shipDate"],
                "shippingService": package.get("shippingMethod"),
                "trackingNumber": package["trackingNumber"],
                "packageItems": [{"orderItemId": k, "quantity": v} for k, v in wanted.items()],
                "source": dict(package),
            }
        )
        return 204, None, body


_DATASETS = frozenset(
    {
        "BUYER",
        "RECIPIENT",
        "PROCEEDS",
        "EXPENSE",
        "PROMOTION",
        "CANCELLATION",
        "FULFILLMENT",
        "PACKAGES",
        "TAX",
        "PAYMENT",
        "FULFILLMENT_ORDERS",
    }
)
_STATUS_2026 = {
    "PendingAvailability": "PENDING_AVAILABILITY",
    "Pending": "PENDING",
    "Unshipped": "UNSHIPPED",
    "PartiallyShipped": "PARTIALLY_SHIPPED",
    "Shipped": "SHIPPED",
    "Canceled": "CANCELLED",
    "Unfulfillable": "UNFULFILLABLE",
}


def _package_problem(order: Order, body: Any) -> str | None:
    if not isinstance(body, Mapping) or not body.get("marketplaceId"):
        return "marketplaceId is required."
    if body["marketplaceId"] != order.marketplace_id:
        return f"Order {order.amazon_order_id} is not in marketplace {body['marketplaceId']}."
    package = body.get("packageDetail")
    if not isinstance(package, Mapping):
        return "packageDetail is required."
    for name in ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate", "orderItems"):
        if package.get(name) in (None, "", []):
            return f"packageDetail.{name} is required."
    if package["carrierCode"] == "Other" and not package.get("carrierName"):
        return "carrierName is required when carrierCode is Other."
    try:
        datetime.fromisoformat(str(package["shipDate"]).replace("Z", "+00:00"))
    except ValueError:
        return f"Invalid shipDate {package['shipDate']}."
    for line in package["orderItems"] if isinstance(package["orderItems"], list) else [None]:
        if not isinstance(line, Mapping) or not line.get("orderItemId"):
            return "Each order item needs an orderItemId."
        qty = line.get("quantity")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            return f"Invalid quantity for {line['orderItemId']}."
    return None


def _order_2026(order: Order, included: set[str]) -> dict[str, Any]:
    """An order as ``searchOrders`` answers it: its items always, each dataset only when asked for."""
    items = []
    for item in order.items:
        entry: dict[str, Any] = {
            "orderItemId": item.order_item_id,
            "quantityOrdered": item.quantity,
            "product": {
                "asin": item.asin,
                "title": item.title,
                "sellerSku": item.seller_sku,
                "price": {"unitPrice": {"amount": str(item.unit_price), "currencyCode": order.currency}},
            },
        }
        if "FULFILLMENT" in included:
            entry["fulfillment"] = {
                "quantityFulfilled": item.quantity_shipped,
                "quantityUnfulfilled": item.quantity - item.quantity_shipped - item.quantity_cancelled,
            }
        if "PROCEEDS" in included:
            entry["proceeds"] = {
                "proceedsTotal": _money(item.proceeds, order.currency),
                "breakdowns": _item_breakdowns(item, order.currency),
            }
        if "CANCELLATION" in included and item.cancelled_by:
            entry["cancellation"] = {
                "cancellationExecution": {"cancelledBy": item.cancelled_by, "cancelReason": item.cancel_reason}
            }
        items.append(entry)
    out: dict[str, Any] = {
        "orderId": order.amazon_order_id,
        "createdTime": _iso(order.purchase_date),
        "lastUpdatedTime": _iso(order.last_update_date),
        "salesChannel": {
            "channelName": "AMAZON",
            "marketplaceId": order.marketplace_id,
            "marketplaceName": "Amazon.de",
        },
        "orderItems": items,
    }
    if "BUYER" in included and order.buyer_email:
        out["buyer"] = {"buyerEmail": order.buyer_email}
    if "FULFILLMENT" in included:
        out["fulfillment"] = {
            "fulfillmentStatus": _STATUS_2026.get(order.status, order.status.upper()),
            "fulfilledBy": "AMAZON" if order.fulfillment_channel == "AFN" else "MERCHANT",
        }
    if "PACKAGES" in included:
        out["packages"] = [{k: v for k, v in p.items() if k != "source"} for p in order.packages]
    if "RECIPIENT" in included:
        out["recipient"] = {"deliveryAddress": dict(_RECIPIENT)}
    if "PROCEEDS" in included:
        totals: dict[str, Decimal] = {}
        for item in order.items:
            for entry in _item_breakdowns(item, order.currency):
                totals[entry["type"]] = totals.get(entry["type"], Decimal(0)) + Decimal(entry["subtotal"]["amount"])
        out["proceeds"] = {
            "grandTotal": _money(sum((i.proceeds for i in order.items), Decimal(0)), order.currency),
            "breakdowns": [{"type": k, "subtotal": _money(v, order.currency)} for k, v in totals.items()],
        }
    return out


_RECIPIENT = {
    "name": "Erika Mustermann",
    "addressLine1": "Heidestrasse 17",
    "city": "Koeln",
    "postalCode": "51147",
    "countryCode": "DE",
    "addressType": "RESIDENTIAL",
}


def _money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": str(amount), "currencyCode": currency}


def _item_breakdowns(item: OrderItem, currency: str) -> list[dict[str, Any]]:
    """An item's ``proceeds.breakdowns`` as the Orders API 2026-01-01 model names them: ``ITEM`` (unit price ×
    quantity), ``SHIPPING``, ``TAX`` and ``DISCOUNT`` (money off, negative), the last two split between
    ``ITEM`` and ``SHIPPING`` in ``detailedBreakdowns``."""
    out: list[dict[str, Any]] = [{"type": "ITEM", "subtotal": _money(item.unit_price * item.quantity, currency)}]
    if item.shipping:
        out.append({"type": "SHIPPING", "subtotal": _money(item.shipping, currency)})
    if item.tax or item.shipping_tax:
        out.append(
            {
                "type": "TAX",
                "subtotal": _money(item.tax + item.shipping_tax, currency),
                "detailedBreakdowns": [
                    {"subtype": "ITEM", "value": _money(item.tax, currency)},
                    {"subtype": "SHIPPING", "value": _money(item.shipping_tax, currency)},
                ],
            }
        )
    if item.discount or item.shipping_discount:
        out.append(
            {
                "type": "DISCOUNT",
                "subtotal": _money(-(item.discount + item.shipping_discount), currency),
                "detailedBreakdowns": [
                    {"subtype": "ITEM", "value": _money(-item.discount, currency)},
                    {"subtype": "SHIPPING", "value": _money(-item.shipping_discount, currency)},
                ],
            }
        )
    return out


def _order_json(order: Order) -> dict[str, Any]:
    total = sum((i.unit_price * i.quantity for i in order.items), Decimal(0))
    out: dict[str, Any] = {
        "AmazonOrderId": order.amazon_order_id,
        "PurchaseDate": _iso(order.purchase_date),
        "LastUpdateDate": _iso(order.last_update_date),
        "OrderStatus": order.status,
        "FulfillmentChannel": order.fulfillment_channel,
        "SalesChannel": "Amazon.de",
        "MarketplaceId": order.marketplace_id,
        "NumberOfItemsUnshipped": sum(i.quantity - i.quantity_shipped for i in order.items),
        "OrderTotal": {"CurrencyCode": order.currency, "Amount": str(total)},
    }
    if order.buyer_email:
        out["BuyerInfo"] = {"BuyerEmail": order.buyer_email}
    return out


#: The product types the sandbox knows and the attributes each requires for ``LISTING`` (product facts and
#: the offer); Amazon's own definitions (``getDefinitionsProductType``) require these among many others.
_APPAREL = ("item_name", "brand", "product_description", "bullet_point", "color", "size", "condition_type")
_APPAREL_TYPES = ("SHIRT", "PANTS", "DRESS", "SWEATER", "COAT", "SKIRT")
PRODUCT_TYPES: dict[str, tuple[str, ...]] = dict.fromkeys(_APPAREL_TYPES, _APPAREL)
_OFFER = ("purchasable_offer",)
#: What a variation parent (``parentage_level`` ``parent``) needs: the family's name and its theme.
_PARENT = ("item_name", "brand", "parentage_level", "variation_theme")


def _is_parent(attributes: Mapping[str, Any]) -> bool:
    level = attributes.get("parentage_level")
    return isinstance(level, list) and any(isinstance(e, Mapping) and e.get("value") == "parent" for e in level)


_IDENTIFIERS = (
    "externally_assigned_product_identifier",
    "merchant_suggested_asin",
    "supplier_declared_has_product_identifier_exemption",
)
#: Text attributes: each value names its language.
_LOCALIZED = frozenset(
    {"item_name", "brand", "product_description", "bullet_point", "color", "size", "care_instructions", "fabric_type"}
)


def _missing(name: str) -> dict[str, Any]:
    return _issue(
        "90220",
        f"'{name}' is required but not supplied.",
        attributeNames=[name],
        categories=["MISSING_ATTRIBUTE"],
    )


def _invalid(name: str, message: str) -> dict[str, Any]:
    return _issue("90000900", message, attributeNames=[name], categories=["INVALID_ATTRIBUTE"])


def _value_issues(name: str, value: Any, marketplaces: set[str]) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value or not all(isinstance(v, Mapping) for v in value):
        return [_invalid(name, f"'{name}' must be a non-empty array of objects.")]
    out = []
    for entry in value:
        market = entry.get("marketplace_id")
        if market is not None and market not in marketplaces:
            out.append(_invalid(name, f"'{name}' names marketplace {market}, not one asked for."))
        if name in _LOCALIZED and not entry.get("language_tag"):
            out.append(_invalid(name, f"'{name}' needs a language_tag."))
    if name == "externally_assigned_product_identifier":
        for entry in value:
            code = str(entry.get("value") or "")
            if entry.get("type") not in ("ean", "upc", "gtin", "isbn") or not _gtin_ok(code):
                out.append(_invalid(name, f"'{code}' is not a valid {entry.get('type')}."))
    if name == "purchasable_offer":
        for entry in value:
            if not entry.get("currency") or not entry.get("our_price"):
                out.append(_invalid(name, "'purchasable_offer' needs currency and our_price."))
    return out


def _gtin_ok(code: str) -> bool:
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        return False
    digits = [int(c) for c in code]
    check = digits.pop()
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10 == check


def _listing_issues(
    product_type: str, requirements: str, attributes: Mapping[str, Any], marketplaces: set[str]
) -> list[dict[str, Any]]:
    required = PRODUCT_TYPES.get(product_type)
    if required is None:
        return [_issue("4000003", f"The product type '{product_type}' is not valid.", categories=["INVALID_ATTRIBUTE"])]
    parent = _is_parent(attributes)
    if parent and requirements != "LISTING_PRODUCT_ONLY":
        return [_issue("INVALID_PARENT", "A variation parent is listed with requirements LISTING_PRODUCT_ONLY.")]
    if parent:
        wanted: tuple[str, ...] = _PARENT
    elif requirements == "LISTING_OFFER_ONLY":
        wanted = ("condition_type", *_OFFER)
    elif requirements == "LISTING_PRODUCT_ONLY":
        wanted = required
    else:
        wanted = (*required, *_OFFER)
    issues = [_missing(name) for name in wanted if name not in attributes]
    # A parent is never bought, so it needs no product identifier.
    if not parent and requirements != "LISTING_OFFER_ONLY" and not any(name in attributes for name in _IDENTIFIERS):
        issues.append(_missing("externally_assigned_product_identifier"))
    for name, value in attributes.items():
        if name != "fulfillment_availability":
            issues.extend(_value_issues(name, value, marketplaces))
    if requirements != "LISTING_OFFER_ONLY" and "main_product_image_locator" not in attributes:
        issues.append(
            _issue(
                "90244",
                "The listing has no main image; it will not show in search results.",
                "WARNING",
                attributeNames=["main_product_image_locator"],
                categories=["MISSING_IMAGE"],
            )
        )
    return issues


def _content_patch_issues(patch: Mapping[str, Any], marketplaces: set[str]) -> list[dict[str, Any]]:
    path = str(patch.get("path") or "")
    if not path.startswith("/attributes/") or patch.get("op") not in ("add", "replace", "merge", "delete"):
        return [_issue("INVALID_PATCH", f"Unsupported patch {patch.get('op')!r} on {path!r}.")]
    if patch["op"] == "delete":
        return []
    return _value_issues(path.removeprefix("/attributes/"), patch.get("value"), marketplaces)


def _patch_problem(patch: Any) -> str | None:
    if not isinstance(patch, Mapping):
        return "A patch is a JSON object."
    if patch.get("op") not in ("add", "replace", "merge", "delete"):
        return f"Unsupported op {patch.get('op')!r}."
    if patch.get("path") != PATCH_PATH:
        return f"The sandbox patches {PATCH_PATH} only, not {patch.get('path')!r}."
    if patch["op"] == "delete":
        return None
    value = patch.get("value")
    if not isinstance(value, list) or not value:
        return "fulfillment_availability needs a list value."
    for entry in value:
        if not isinstance(entry, Mapping) or not entry.get("fulfillment_channel_code"):
            return "Each fulfillment_availability entry needs a fulfillment_channel_code."
        quantity = entry.get("quantity")
        if quantity is not None and (isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0):
            return f"quantity {quantity!r} must be a whole number, 0 or more."
    return None


def _apply_patch(listing: Listing, patch: Mapping[str, Any]) -> None:
    if patch["op"] == "delete":
        listing.availability.clear()
        return
    values = {str(e["fulfillment_channel_code"]): e.get("quantity") for e in patch["value"]}
    if patch["op"] in ("replace", "add"):
        listing.availability.clear()
    for code, quantity in values.items():
        if quantity is not None:
            listing.availability[code] = int(quantity)
