"""A local Lightspeed Retail (X-Series) retailer: outlets, products, stocktake consignments, its documented rate
limit, and signed form-encoded webhooks from till activity."""

from seamline.sandbox.lightspeed.sandbox import (
    LightspeedSandbox,
    LightspeedSandboxConfig,
    Notification,
    create_app,
    rate_limit,
    sign,
)

__all__ = ["LightspeedSandbox", "LightspeedSandboxConfig", "Notification", "create_app", "rate_limit", "sign"]
