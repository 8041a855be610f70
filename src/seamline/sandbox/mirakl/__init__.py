"""A local Mirakl Seller API for one shop: offers imports (OF01) with asynchronous processing, status (OF02)
and error reports (OF03), the offers list (OF21), and OF24 with its reset of every unsent field, behind
per-endpoint rate limits (429 + Retry-After)."""

from seamline.sandbox.http import SandboxResponse
from seamline.sandbox.mirakl.asgi import create_app
from seamline.sandbox.mirakl.sandbox import Attribute, CallRecord, MiraklSandbox, Offer, SandboxConfig

__all__ = ["Attribute", "CallRecord", "MiraklSandbox", "Offer", "SandboxConfig", "SandboxResponse", "create_app"]
