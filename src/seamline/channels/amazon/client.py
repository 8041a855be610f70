"""The Amazon Selling Partner API client: Listings Items ``PATCH`` for availability, the Feeds API for bulk
catch-up (createFeedDocument → upload → createFeed → getFeed → getFeedDocument → download the report) and
the Orders API 2026-01-01 (``searchOrders``: each order with its items, replacing the deprecated v0
``getOrders``/``getOrderItems``, kept for reading) and v0's ``confirmShipment`` (one package per shipment).

Each operation has its own token bucket at Amazon's documented default rate and burst (``patchListingsItem``
5/s, burst 5 in Listings Items v2021-08-01, per selling-partner account and application): the client waits for
a token rather than be throttled, and when it is throttled anyway (HTTP 429) it waits ``Retry-After`` (or one
token's time) and tries again, up to ``max_throttle_wait_seconds``; past that it raises ``AmazonThrottled``
for the dispatcher to reschedule. 5xx and no answer are ``AmazonUnavailable`` (retry); other 4xx
``AmazonRejected``.

``endpoint`` alone decides where it talks (a regional SP-API host or the sandbox); the transport is
injectable (``AmazonSandbox.transport()`` in tests)."""

from __future__ import annotations

import gzip
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from seamline.channels.amazon.mapper import (
    DEFAULT_FULFILLMENT_CHANNEL,
    FEED_CONTENT_TYPE,
    FEED_TYPE,
    MAX_FEED_MESSAGES,
    PATCH_OPS,
    MappingError,
    ProcessingReport,
    Submission,
    parse_processing_report,
    parse_submission,
    patch_listing_body,
)
from seamline.channels.amazon.order_feeds import XML_CONTENT_TYPE, OrderFeedReport, parse_order_feed_report
from seamline.domain.clock import Clock, SystemClock, iso_utc
from seamline.integration.channel_errors import ChannelRejected, ChannelThrottled, ChannelUnavailable
from seamline.integration.retry import TokenBucket

LISTINGS_VERSION = "2021-08-01"
ORDERS_VERSION = "2026-01-01"
#: The ``searchOrders`` datasets the connector reads (the items come with every order).
ORDER_DATASETS = ("BUYER", "RECIPIENT", "FULFILLMENT", "PACKAGES", "PROCEEDS")
FEEDS_VERSION = "2021-06-30"
#: Amazon's default (rate per second, burst) per operation, per selling-partner account and application.
DEFAULT_RATE_LIMITS: Mapping[str, tuple[float, float]] = {
    "patchListingsItem": (5.0, 5.0),
    "putListingsItem": (5.0, 5.0),
    "getOrders": (0.0167, 20.0),
    "getOrderItems": (0.5, 30.0),
    "searchOrders": (0.0056, 20.0),
    "confirmShipment": (2.0, 10.0),
    "createFeedDocument": (0.5, 15.0),
    "createFeed": (0.0083, 15.0),
    "getFeed": (2.0, 15.0),
    "getFeedDocument": (0.0222, 10.0),
}
FEED_DONE = "DONE"
#: Login with Amazon: where a refresh token is exchanged for an SP-API access token (valid one hour).
LWA_TOKEN_ENDPOINT = "https://api.amazon.com/auth/o2/token"
#: A token is renewed this long before Amazon says it expires, so no call goes out on a dying one.
LWA_MARGIN_SECONDS = 60.0
FEED_FINAL = frozenset({"DONE", "CANCELLED", "FATAL"})


@dataclass(frozen=True)
class AmazonConfig:
    #: ``https://sellingpartnerapi-eu.amazon.com`` (or -na, -fe), or the sandbox's URL.
    endpoint: str
    seller_id: str
    #: A fixed SP-API access token; or leave it empty and give the LWA refresh token and app credentials
    #: below, and the client fetches access tokens itself (and a new one on expiry, or once on a 401/403).
    access_token: str = field(repr=False)
    marketplace_ids: tuple[str, ...] = ()
    refresh_token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    token_endpoint: str = LWA_TOKEN_ENDPOINT
    #: The productType sent when a listing names none (every PATCH must carry one).
    product_type: str | None = None
    patch_op: str = "merge"
    fulfillment_channel_code: str = DEFAULT_FULFILLMENT_CHANNEL
    max_feed_messages: int = MAX_FEED_MESSAGES
    #: List every SKU that gets a number (True), or only SKUs linked to a listing (the default).
    auto_list: bool = False
    timeout_seconds: float = 10.0
    max_throttle_wait_seconds: float = 30.0
    rate_limits: Mapping[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    #: Our carrier name → Amazon's ``carrierCode`` (``DHL``, ``UPS``, ...); one not in it goes as ``Other``
    #: with its name.
    carrier_codes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.access_token and not (self.refresh_token and self.client_id and self.client_secret):
            raise ValueError("an Amazon channel needs access_token, or refresh_token, client_id and client_secret")
        if self.patch_op not in PATCH_OPS:
            raise ValueError(f"patch_op must be one of {', '.join(PATCH_OPS)}")
        if not 1 <= self.max_feed_messages <= MAX_FEED_MESSAGES:
            raise ValueError(f"max_feed_messages must be 1..{MAX_FEED_MESSAGES}")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> AmazonConfig:
        """From a channel's ``settings``: ``endpoint``, ``seller_id``, ``access_token``, ``marketplace_ids``,
        and optionally ``product_type``, ``patch_op``, ``fulfillment_channel_code``, ``max_feed_messages``,
        ``auto_list``."""
        lwa = ("refresh_token", "client_id", "client_secret")
        token = ("access_token",) if settings.get("access_token") or not settings.get("refresh_token") else lwa
        missing = [k for k in ("endpoint", "seller_id", *token, "marketplace_ids") if not settings.get(k)]
        if missing:
            raise ValueError("an Amazon channel needs settings " + ", ".join(missing))
        return cls(
            endpoint=str(settings["endpoint"]),
            seller_id=str(settings["seller_id"]),
            access_token=str(settings.get("access_token") or ""),
            marketplace_ids=tuple(str(m) for m in settings["marketplace_ids"]),
            refresh_token=None if settings.get("refresh_token") is None else str(settings["refresh_token"]),
            client_id=None if settings.get("client_id") is None else str(settings["client_id"]),
            client_secret=None if settings.get("client_secret") is None else str(settings["client_secret"]),
            token_endpoint=str(settings.get("token_endpoint") or LWA_TOKEN_ENDPOINT),
            product_type=settings.get("product_type"),
            patch_op=str(settings.get("patch_op", "merge")),
            fulfillment_channel_code=str(settings.get("fulfillment_channel_code", DEFAULT_FULFILLMENT_CHANNEL)),
            max_feed_messages=int(settings.get("max_feed_messages", MAX_FEED_MESSAGES)),
            carrier_codes={str(k): str(v) for k, v in dict(settings.get("carrier_codes") or {}).items()},
            auto_list=bool(settings.get("auto_list", False)),
        )


class AmazonThrottled(ChannelThrottled):
    """Amazon's rate limit leaves no room within ``max_throttle_wait_seconds``: come back after ``retry_after``."""

    def __init__(self, operation: str, retry_after: float) -> None:
        super().__init__(f"{operation} throttled; retry after {retry_after:.2f}s", retry_after=retry_after)
        self.operation = operation


class AmazonUnavailable(ChannelUnavailable):
    """No answer from SP-API (or LWA), or a 5xx."""


class AmazonRejected(ChannelRejected):
    """Amazon refused the request itself (credentials, a malformed body): the same request cannot succeed.
    ``errors``: SP-API's error objects as it sent them."""

    def __init__(self, reason: str, *, status: int | None = None, errors: Sequence[Any] = ()) -> None:
        messages = [f"{e.get('code')}: {e.get('message')}" if isinstance(e, Mapping) else str(e) for e in errors]
        super().__init__(reason, messages=messages, status=status)
        self.errors = list(errors)


@dataclass(frozen=True)
class FeedResult:
    feed_id: str
    status: str
    report: ProcessingReport | None


@dataclass(frozen=True)
class OrdersPage:
    orders: list[dict[str, Any]]
    next_token: str | None
    #: Where the next pull should start (``LastUpdatedBefore``): Amazon's clock, not ours.
    last_updated_before: str | None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class Bucket(Protocol):
    """What the client paces an operation on: ``TokenBucket`` (this process's memory) or the database's
    ``SharedTokenBucket``, which every process of an installation draws from (issue 16)."""

    @property
    def rate(self) -> float: ...

    def take(self, wanted: int) -> int: ...

    def wait_time(self) -> float: ...

    def pause(self, seconds: float) -> None: ...


#: Makes the bucket of one operation from (operation, rate per second, burst).
BucketFactory = Callable[[str, float, float], Bucket]


class AmazonClient:
    def __init__(
        self,
        config: AmazonConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
        buckets: BucketFactory | None = None,
    ) -> None:
        """``buckets`` makes each operation's bucket; by default one in this process's memory on ``clock``.
        Amazon counts calls per selling-partner account and application, whichever process makes them: an
        installation of several processes passes buckets kept in the database."""
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self._sleep = sleep
        self._epoch = self.clock.now()
        self._http = httpx.Client(
            transport=transport, timeout=config.timeout_seconds, headers={"Accept": "application/json"}
        )
        self._token: str | None = config.access_token or None
        self._token_expires: datetime | None = None
        #: LWA token exchanges made over the client's life.
        self.token_refreshes = 0
        #: Pre-signed document URLs (S3) take no SP-API token.
        self._documents = httpx.Client(transport=transport, timeout=config.timeout_seconds)
        make = buckets or (lambda _op, rate, burst: TokenBucket(rate, burst, now=self._seconds))
        limits = config.rate_limits.items()
        self._buckets: dict[str, Bucket] = {op: make(op, rate, burst) for op, (rate, burst) in limits}
        #: Calls made and 429s met over the client's life.
        self.calls = 0
        self.throttled = 0

    def _seconds(self) -> float:
        # Relative to the client's start: small numbers keep microsecond steps exact in a float.
        return (self.clock.now() - self._epoch).total_seconds()

    def close(self) -> None:
        self._http.close()
        self._documents.close()

    def __enter__(self) -> AmazonClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- transport and pacing ------------------------------------------------------------------------

    def _access_token(self) -> str:
        if self.config.refresh_token and (
            self._token is None or (self._token_expires is not None and self.clock.now() >= self._token_expires)
        ):
            self._refresh_token()
        return self._token or ""

    def _refresh_token(self) -> None:
        """Exchange the LWA refresh token for an access token (a form POST, outside SP-API's rate limits)."""
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.config.refresh_token or "",
            "client_id": self.config.client_id or "",
            "client_secret": self.config.client_secret or "",
        }
        try:
            response = self._documents.post(self.config.token_endpoint, data=form)
        except httpx.TransportError as exc:
            raise AmazonUnavailable(f"LWA token: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise AmazonUnavailable(
                f"LWA token: HTTP {response.status_code}",
                status=response.status_code,
                retry_after=_retry_after(response),
            )
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code >= 400 or not isinstance(answer, Mapping) or not answer.get("access_token"):
            reason = answer.get("error_description") or answer.get("error") if isinstance(answer, Mapping) else None
            raise AmazonRejected(
                f"LWA token: HTTP {response.status_code}: {reason or 'no access token'}", status=response.status_code
            )
        self._token = str(answer["access_token"])
        lifetime = float(answer.get("expires_in") or 3600)
        self._token_expires = self.clock.now() + timedelta(seconds=max(0.0, lifetime - LWA_MARGIN_SECONDS))
        self.token_refreshes += 1

    def _url(self, path: str) -> str:
        return self.config.endpoint.rstrip("/") + path

    def _wait(self, operation: str, seconds: float, waited: float) -> float:
        seconds = math.ceil(seconds * 1_000_000) / 1_000_000  # whole microseconds: clocks tick no finer
        if waited + seconds > self.config.max_throttle_wait_seconds:
            raise AmazonThrottled(operation, seconds)
        self._sleep(seconds)
        return waited + seconds

    def request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """One SP-API operation: paced on its bucket, retried while throttled, errors typed; answers the JSON."""
        bucket = self._buckets.get(operation)
        content = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if content is not None else {}
        waited = 0.0
        refreshed = False
        while True:
            headers["x-amz-access-token"] = self._access_token()
            if bucket is not None:
                wait = bucket.wait_time()
                if wait > 0:
                    waited = self._wait(operation, wait, waited)
                    continue
                if not bucket.take(1):
                    continue
            try:
                response = self._http.request(method, self._url(path), params=params, content=content, headers=headers)
            except httpx.TransportError as exc:
                raise AmazonUnavailable(f"{operation}: {type(exc).__name__}: {exc}") from exc
            self.calls += 1
            status = response.status_code
            if status == 429:
                self.throttled += 1
                pause = _retry_after(response)
                if pause is None:
                    pause = 1.0 / (bucket.rate if bucket is not None else 1.0)
                if bucket is not None:
                    bucket.pause(pause)  # no call of this operation goes out before then
                waited = self._wait(operation, pause, waited)
                continue
            if status >= 500:
                raise AmazonUnavailable(
                    f"{operation}: HTTP {status}", status=status, retry_after=_retry_after(response)
                )
            try:
                payload = response.json() if response.content else {}
            except ValueError:
                raise AmazonUnavailable(
                    f"{operation}: HTTP {status} with a body that is not JSON", status=status
                ) from None
            if status in (401, 403) and self.config.refresh_token and not refreshed:
                # expired or revoked under us: one new token, one more try
                self._refresh_token()
                refreshed = True
                continue
            if status >= 400:
                errors = payload.get("errors", []) if isinstance(payload, Mapping) else []
                text = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, Mapping))
                raise AmazonRejected(
                    f"{operation}: HTTP {status}: {text or str(payload)[:300]}", status=status, errors=errors
                )
            return payload

    # -- listings -------------------------------------------------------------------------------------

    def patch_availability(
        self, seller_sku: str, *, product_type: str, quantity: int, marketplace_ids: Sequence[str]
    ) -> Submission:
        """Set the quantity Amazon shows for a listing (``fulfillment_availability``, op per config)."""
        body = patch_listing_body(
            product_type,
            quantity,
            op=self.config.patch_op,
            fulfillment_channel_code=self.config.fulfillment_channel_code,
        )
        path = (
            f"/listings/{LISTINGS_VERSION}/items/{quote(self.config.seller_id, safe='')}/{quote(seller_sku, safe='')}"
        )
        answer = self.request(
            "patchListingsItem", "PATCH", path, params={"marketplaceIds": ",".join(marketplace_ids)}, body=body
        )
        try:
            return parse_submission(answer)
        except MappingError as exc:
            raise AmazonUnavailable(f"patchListingsItem: {exc}") from exc

    def _listing_path(self, seller_sku: str) -> str:
        return (
            f"/listings/{LISTINGS_VERSION}/items/{quote(self.config.seller_id, safe='')}/{quote(seller_sku, safe='')}"
        )

    def put_listing(self, seller_sku: str, body: Mapping[str, Any], marketplace_ids: Sequence[str]) -> Submission:
        """``putListingsItem``: create the listing, or replace it whole (``listings.put_body``)."""
        answer = self.request(
            "putListingsItem",
            "PUT",
            self._listing_path(seller_sku),
            params={"marketplaceIds": ",".join(marketplace_ids)},
            body=dict(body),
        )
        try:
            return parse_submission(answer)
        except MappingError as exc:
            raise AmazonUnavailable(f"putListingsItem: {exc}") from exc

    def patch_listing(self, seller_sku: str, body: Mapping[str, Any], marketplace_ids: Sequence[str]) -> Submission:
        """``patchListingsItem`` with any patches (``listings.content_patch_body``)."""
        answer = self.request(
            "patchListingsItem",
            "PATCH",
            self._listing_path(seller_sku),
            params={"marketplaceIds": ",".join(marketplace_ids)},
            body=dict(body),
        )
        try:
            return parse_submission(answer)
        except MappingError as exc:
            raise AmazonUnavailable(f"patchListingsItem: {exc}") from exc

    # -- feeds ----------------------------------------------------------------------------------------

    def create_feed_document(self, content_type: str = FEED_CONTENT_TYPE) -> tuple[str, str]:
        answer = self.request(
            "createFeedDocument", "POST", f"/feeds/{FEEDS_VERSION}/documents", body={"contentType": content_type}
        )
        return str(answer["feedDocumentId"]), str(answer["url"])

    def upload(self, url: str, content: bytes, content_type: str = FEED_CONTENT_TYPE) -> None:
        """PUT the document to the pre-signed URL (S3: no SP-API token, no SP-API rate limit)."""
        try:
            response = self._documents.put(url, content=content, headers={"Content-Type": content_type})
        except httpx.TransportError as exc:
            raise AmazonUnavailable(f"upload: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise AmazonUnavailable(f"upload: HTTP {response.status_code}", status=response.status_code)
        if response.status_code >= 400:
            raise AmazonRejected(
                f"upload: HTTP {response.status_code}: {response.text[:200]}", status=response.status_code
            )

    def create_feed(self, document_id: str, marketplace_ids: Sequence[str], feed_type: str = FEED_TYPE) -> str:
        answer = self.request(
            "createFeed",
            "POST",
            f"/feeds/{FEEDS_VERSION}/feeds",
            body={"feedType": feed_type, "marketplaceIds": list(marketplace_ids), "inputFeedDocumentId": document_id},
        )
        return str(answer["feedId"])

    def submit_feed(self, document: Mapping[str, Any], marketplace_ids: Sequence[str] | None = None) -> str:
        """createFeedDocument → upload → createFeed; answers the feed id."""
        document_id, url = self.create_feed_document()
        self.upload(url, json.dumps(document).encode())
        return self.create_feed(document_id, marketplace_ids or self.config.marketplace_ids)

    def submit_order_feed(self, feed_type: str, content: bytes, marketplace_ids: Sequence[str] | None = None) -> str:
        """An XML order feed (``POST_ORDER_ACKNOWLEDGEMENT_DATA``, ``POST_PAYMENT_ADJUSTMENT_DATA``):
        createFeedDocument → upload → createFeed; answers the feed id."""
        document_id, url = self.create_feed_document(XML_CONTENT_TYPE)
        self.upload(url, content, XML_CONTENT_TYPE)
        return self.create_feed(document_id, marketplace_ids or self.config.marketplace_ids, feed_type)

    def order_feed_result(self, feed_id: str) -> tuple[str, OrderFeedReport | None]:
        """An order feed's status and, once it has finished, its XML processing report (None when the
        result document is not one: a FATAL feed's bare error)."""
        feed = self.get_feed(feed_id)
        status = str(feed.get("processingStatus"))
        if not feed.get("resultFeedDocumentId") or status not in FEED_FINAL:
            return status, None
        raw = self.download_document(str(feed["resultFeedDocumentId"]))
        try:
            return status, parse_order_feed_report(raw)
        except MappingError:
            return status, None

    def get_feed(self, feed_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.request(
            "getFeed", "GET", f"/feeds/{FEEDS_VERSION}/feeds/{quote(feed_id, safe='')}"
        )
        return answer

    def download_document(self, document_id: str) -> bytes:
        meta = self.request("getFeedDocument", "GET", f"/feeds/{FEEDS_VERSION}/documents/{quote(document_id, safe='')}")
        try:
            response = self._documents.get(str(meta["url"]))
        except httpx.TransportError as exc:
            raise AmazonUnavailable(f"download: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            raise AmazonUnavailable(f"download: HTTP {response.status_code}", status=response.status_code)
        body = response.content
        if str(meta.get("compressionAlgorithm") or "").upper() == "GZIP":
            body = gzip.decompress(body)
        return body

    def feed_result(self, feed_id: str) -> FeedResult:
        """The feed's status now and, once it is DONE, its processing report."""
        feed = self.get_feed(feed_id)
        status = str(feed.get("processingStatus"))
        report = None
        if feed.get("resultFeedDocumentId") and status in FEED_FINAL:
            raw = self.download_document(str(feed["resultFeedDocumentId"]))
            try:
                report = parse_processing_report(json.loads(raw))
            except (ValueError, MappingError):
                report = None  # a FATAL feed's report may be a bare error document
        return FeedResult(feed_id, status, report)

    # -- orders ---------------------------------------------------------------------------------------

    def get_orders(
        self,
        *,
        last_updated_after: datetime | str | None = None,
        next_token: str | None = None,
        marketplace_ids: Sequence[str] | None = None,
    ) -> OrdersPage:
        params: dict[str, Any] = {"MarketplaceIds": ",".join(marketplace_ids or self.config.marketplace_ids)}
        if next_token:
            params["NextToken"] = next_token
        elif last_updated_after is not None:
            after = last_updated_after if isinstance(last_updated_after, str) else iso_utc(last_updated_after)
            params["LastUpdatedAfter"] = after
        else:
            raise ValueError("give last_updated_after or next_token")
        answer = self.request("getOrders", "GET", "/orders/v0/orders", params=params)
        payload = answer.get("payload") or {}
        return OrdersPage(
            [dict(o) for o in payload.get("Orders") or []],
            payload.get("NextToken") or None,
            payload.get("LastUpdatedBefore") or None,
        )

    def search_orders(
        self, *, last_updated_after: datetime | str | None = None, pagination_token: str | None = None
    ) -> OrdersPage:
        """Orders API 2026-01-01 ``searchOrders``: a page of orders updated since ``last_updated_after``, each
        with its items and the buyer, fulfilment and package datasets."""
        params: dict[str, Any] = {"includedData": ",".join(ORDER_DATASETS)}
        if pagination_token:
            params["paginationToken"] = pagination_token
        elif last_updated_after is not None:
            after = last_updated_after if isinstance(last_updated_after, str) else iso_utc(last_updated_after)
            params["lastUpdatedAfter"] = after
            params["marketplaceIds"] = ",".join(self.config.marketplace_ids)
        else:
            raise ValueError("give last_updated_after or pagination_token")
        answer = self.request("searchOrders", "GET", f"/orders/{ORDERS_VERSION}/orders", params=params)
        pagination = answer.get("pagination") or {}
        return OrdersPage(
            [dict(o) for o in answer.get("orders") or []],
            pagination.get("nextToken") or None,
            answer.get("lastUpdatedBefore") or None,
        )

    def confirm_shipment(self, order_id: str, marketplace_id: str, package: Mapping[str, Any]) -> None:
        """v0 ``confirmShipment``: one package (``packageReferenceId``, ``carrierCode``/``carrierName``,
        ``trackingNumber``, ``shipDate``, ``orderItems``) of the order has shipped."""
        self.request(
            "confirmShipment",
            "POST",
            f"/orders/v0/orders/{quote(order_id, safe='')}/shipmentConfirmation",
            body={"marketplaceId": marketplace_id, "packageDetail": dict(package)},
        )

    def get_order_items(self, order_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params = {"NextToken": token} if token else None
            answer = self.request(
                "getOrderItems", "GET", f"/orders/v0/orders/{quote(order_id, safe='')}/orderItems", params=params
            )
            payload = answer.get("payload") or {}
            items.extend(dict(i) for i in payload.get("OrderItems") or [])
            token = payload.get("NextToken") or None
            if not token:
                return items
