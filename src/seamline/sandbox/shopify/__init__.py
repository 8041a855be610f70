"""A local Shopify: the Admin GraphQL calls Seamline makes (products and variants via ``productSet``,
archive via ``productUpdate``, inventory items and levels, ``inventorySetQuantities`` with compare-and-set
and ``@idempotent`` keys, ``fulfillmentCreate``), the calculated-cost rate limit with ``THROTTLED``, and
signed webhook deliveries, at-least-once and out of order on request."""

from seamline.sandbox.clock import Clock, ManualClock, SystemClock
from seamline.sandbox.shopify.asgi import create_app
from seamline.sandbox.shopify.sandbox import CallRecord, SandboxConfig, SandboxResponse, ShopifySandbox
from seamline.sandbox.shopify.state import ShopEvent, gid, level_gid, parse_gid
from seamline.sandbox.shopify.webhooks import Attempt, WebhookDelivery, WebhookSender, sign

__all__ = [
    "Attempt",
    "CallRecord",
    "Clock",
    "ManualClock",
    "SandboxConfig",
    "SandboxResponse",
    "ShopEvent",
    "ShopifySandbox",
    "SystemClock",
    "WebhookDelivery",
    "WebhookSender",
    "create_app",
    "gid",
    "level_gid",
    "parse_gid",
    "sign",
]
