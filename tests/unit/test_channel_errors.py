"""One connector error hierarchy and one translation to a delivery outcome (issue #19): every client's
platform errors are ``ChannelThrottled``, ``ChannelUnavailable`` or ``ChannelRejected``, and
``delivery_outcome`` alone decides what the dispatcher does with each."""

from __future__ import annotations

import httpx
import pytest

from seamline.channels.amazon.client import AmazonRejected, AmazonThrottled, AmazonUnavailable
from seamline.channels.lightspeed.client import LightspeedRateLimited, LightspeedRejected, LightspeedUnavailable
from seamline.channels.mirakl.client import MiraklRejected, MiraklThrottled, MiraklUnavailable
from seamline.channels.quickbooks.client import QuickBooksRejected, QuickBooksThrottled, QuickBooksUnavailable
from seamline.channels.shopify.client import (
    ON_HOLD_RETRY_SECONDS,
    ShopifyOnHold,
    ShopifyRejected,
    ShopifyThrottled,
    ShopifyUnavailable,
)
from seamline.channels.square.client import SquareRateLimited, SquareRejected, SquareUnavailable
from seamline.channels.xero.client import XeroRateLimited, XeroRejected, XeroUnavailable
from seamline.integration import (
    Budget,
    ChannelError,
    ChannelRejected,
    ChannelThrottled,
    ChannelUnavailable,
    DeliveryFailed,
    DeliveryRejected,
    RateLimited,
    delivery_outcome,
)
from seamline.integration.subscribers import answer_error

THROTTLED = [
    ShopifyThrottled(2.5),
    AmazonThrottled("patchListingsItem", 2.5),
    MiraklThrottled("OF01", 2.5),
    XeroRateLimited(2.5, "minute"),
    QuickBooksThrottled(2.5),
    SquareRateLimited(2.5),
    LightspeedRateLimited(2.5),
]
UNAVAILABLE = [
    ShopifyUnavailable("HTTP 503", status=503, retry_after=4.0),
    ShopifyOnHold("order 1: fulfilment orders on hold in Shopify: 7"),
    AmazonUnavailable("HTTP 503", status=503, retry_after=4.0),
    MiraklUnavailable("OF01: HTTP 503", status=503),
    XeroUnavailable("Xero HTTP 503", 4.0),
    QuickBooksUnavailable("QuickBooks HTTP 503", 4.0),
    SquareUnavailable("Square HTTP 503"),
    LightspeedUnavailable("Lightspeed HTTP 503"),
]
REJECTED = [
    ShopifyRejected("GraphQL errors: bad", errors=[{"message": "bad"}]),
    AmazonRejected("HTTP 400: bad", status=400, errors=[{"code": "InvalidInput", "message": "bad"}]),
    MiraklRejected("OF01: HTTP 400: bad", status=400),
    XeroRejected(["Account code '999' is not a valid code"]),
    QuickBooksRejected([("6000", "A business validation error has occurred")]),
    SquareRejected([{"code": "INVALID_VALUE", "detail": "bad"}]),
    LightspeedRejected("Lightspeed HTTP 400: bad"),
]


@pytest.mark.parametrize("error", THROTTLED, ids=lambda e: type(e).__name__)
def test_every_clients_throttling_is_a_channel_throttled_that_waits_its_retry_after(error: ChannelError) -> None:
    assert isinstance(error, ChannelThrottled)
    outcome = delivery_outcome(error)
    assert isinstance(outcome, RateLimited)
    assert (outcome.retry_after, outcome.reason) == (2.5, str(error))


@pytest.mark.parametrize("error", UNAVAILABLE, ids=lambda e: type(e).__name__)
def test_every_clients_outage_is_a_channel_unavailable_retried_with_backoff(error: ChannelError) -> None:
    assert isinstance(error, ChannelUnavailable)
    outcome = delivery_outcome(error)
    assert type(outcome) is DeliveryFailed, "an outage uses up an attempt; only throttling does not"
    assert outcome.retry_after == error.retry_after
    assert outcome.reason == str(error)


@pytest.mark.parametrize("error", REJECTED, ids=lambda e: type(e).__name__)
def test_every_clients_refusal_is_a_channel_rejected_dead_lettered_with_the_platforms_messages(
    error: ChannelError,
) -> None:
    assert isinstance(error, ChannelRejected)
    assert error.messages
    assert all(error.messages)
    outcome = delivery_outcome(error, refused="Xero refused invoice INV-1")
    assert isinstance(outcome, DeliveryRejected)
    assert outcome.reason == f"Xero refused invoice INV-1: {error}"
    assert delivery_outcome(error).reason == str(error)


def test_a_rejection_names_the_platforms_own_messages() -> None:
    assert XeroRejected(["a", "b"]).messages == ["a", "b"]
    assert QuickBooksRejected([("6140", "Duplicate Document Number")]).messages == ["6140 Duplicate Document Number"]
    assert SquareRejected([{"code": "VERSION_MISMATCH", "detail": "stale"}]).messages == ["VERSION_MISMATCH: stale"]
    assert ShopifyRejected("HTTP 401: access token refused", status=401).messages == ["HTTP 401: access token refused"]


def test_the_platforms_live_budget_rides_on_a_retry_but_not_on_a_dead_letter() -> None:
    budget = Budget(remaining=3.0, per_second=5.0)
    assert delivery_outcome(ShopifyThrottled(1.0), budget=budget).budget == budget
    assert delivery_outcome(ShopifyUnavailable("HTTP 502"), budget=budget).budget == budget
    assert not hasattr(delivery_outcome(ShopifyRejected("no"), budget=budget), "budget")


def test_a_fulfilment_the_merchant_holds_in_shopify_is_tried_again_after_the_hold_wait() -> None:
    outcome = delivery_outcome(ShopifyOnHold("order 1: fulfilment orders on hold in Shopify: 7"))
    assert type(outcome) is DeliveryFailed
    assert outcome.retry_after == ON_HOLD_RETRY_SECONDS


def test_an_unclassified_channel_error_is_retried_not_dead_lettered() -> None:
    outcome = delivery_outcome(ChannelError("something odd"))
    assert type(outcome) is DeliveryFailed
    assert outcome.reason == "ChannelError: something odd"


@pytest.mark.parametrize(
    ("status", "headers", "kind", "retry_after"),
    [
        (429, {"Retry-After": "12"}, ChannelThrottled, 12.0),
        (429, {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, ChannelThrottled, None),
        (503, {"Retry-After": "30"}, ChannelUnavailable, 30.0),
        (500, {}, ChannelUnavailable, None),
        (408, {}, ChannelUnavailable, None),
        (425, {}, ChannelUnavailable, None),
        (400, {}, ChannelRejected, None),
        (404, {}, ChannelRejected, None),
    ],
)
def test_a_webhook_receivers_answer_maps_to_the_hierarchy(
    status: int, headers: dict[str, str], kind: type[ChannelError], retry_after: float | None
) -> None:
    error = answer_error(httpx.Response(status, headers=headers, text="nope"))
    assert type(error) is kind
    assert error.status == status
    assert str(error) == f"HTTP {status}: nope"
    assert getattr(error, "retry_after", None) == retry_after
