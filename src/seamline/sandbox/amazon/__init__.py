"""A local Amazon Selling Partner API: Listings Items PATCH on ``fulfillment_availability``, the Feeds API with
``JSON_LISTINGS_FEED`` processing reports, and the Orders API, with SP-API's per-operation rate limits (429 +
Retry-After) and error modes."""

from seamline.sandbox.amazon.asgi import create_app
from seamline.sandbox.amazon.sandbox import AmazonSandbox, CallRecord, SandboxConfig
from seamline.sandbox.amazon.state import Listing, Order
from seamline.sandbox.clock import Clock, ManualClock, SystemClock
from seamline.sandbox.http import SandboxResponse

__all__ = [
    "AmazonSandbox",
    "CallRecord",
    "Clock",
    "Listing",
    "ManualClock",
    "Order",
    "SandboxConfig",
    "SandboxResponse",
    "SystemClock",
    "create_app",
]
