"""A local Square seller: catalog upserts with versions and idempotency keys, orders and inventory counts,
and signed ``order.updated`` / ``inventory.count.updated`` webhooks from till activity."""

from seamline.sandbox.http import CallRecord, SandboxResponse
from seamline.sandbox.square.sandbox import (
    SQUARE_VERSION,
    Notification,
    SquareSandbox,
    SquareSandboxConfig,
    create_app,
    sign,
)

__all__ = [
    "SQUARE_VERSION",
    "CallRecord",
    "Notification",
    "SandboxResponse",
    "SquareSandbox",
    "SquareSandboxConfig",
    "create_app",
    "sign",
]
