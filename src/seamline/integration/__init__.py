"""The integration layer (DESIGN 8): inbox, outbox, dispatcher with retries and dead letters, real-time
availability push, the in-process and NATS JetStream transports, tracing and metrics.

It sits above the service (it never is imported by it): ``install(app)`` registers what it needs on a
``Seamline`` application, and the top layer (API, CLI) calls it.
"""

from seamline.integration.channel_errors import ChannelError, ChannelRejected, ChannelThrottled, ChannelUnavailable
from seamline.integration.events import (
    AVAILABILITY_CHANGED,
    EVENT_TYPES,
    FINANCE_DOCUMENT_POSTED,
    LISTING_PAUSED,
    LISTING_RESUMED,
    Delivery,
    NewEvent,
)
from seamline.integration.inbox import (
    FunctionHandler,
    HandlerRegistry,
    HoldMessage,
    InboundMessage,
    InvalidMessage,
    Receipt,
    StoredMessage,
)
from seamline.integration.retry import Budget
from seamline.integration.runtime import Integration, install, installed
from seamline.integration.settings import IntegrationSettings, WebhookConfig
from seamline.integration.subscribers import (
    Delivered,
    DeliveryFailed,
    DeliveryRejected,
    RateLimited,
    Subscriber,
    SubscriberRegistry,
    delivery_outcome,
)

__all__ = [
    "AVAILABILITY_CHANGED",
    "EVENT_TYPES",
    "FINANCE_DOCUMENT_POSTED",
    "LISTING_PAUSED",
    "LISTING_RESUMED",
    "Budget",
    "ChannelError",
    "ChannelRejected",
    "ChannelThrottled",
    "ChannelUnavailable",
    "Delivered",
    "Delivery",
    "DeliveryFailed",
    "DeliveryRejected",
    "FunctionHandler",
    "HandlerRegistry",
    "InboundMessage",
    "Integration",
    "IntegrationSettings",
    "InvalidMessage",
    "HoldMessage",
    "NewEvent",
    "RateLimited",
    "Receipt",
    "StoredMessage",
    "Subscriber",
    "SubscriberRegistry",
    "WebhookConfig",
    "delivery_outcome",
    "install",
    "installed",
]
