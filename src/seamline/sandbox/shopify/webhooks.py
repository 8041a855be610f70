"""Webhook deliveries the way Shopify makes them: a JSON body signed with the app's secret
(``X-Shopify-Hmac-Sha256`` = base64 HMAC-SHA256 over the raw bytes) and the ``X-Shopify-*`` headers;
at-least-once, so on request the same delivery (same ``X-Shopify-Webhook-Id``) arrives more than once and
deliveries arrive out of order. A failed delivery (non-2xx or no answer) is tried again."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from seamline.sandbox.clock import Clock, SystemClock
from seamline.sandbox.shopify.state import ShopEvent


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass(frozen=True)
class WebhookDelivery:
    topic: str
    body: bytes
    headers: dict[str, str]

    @property
    def webhook_id(self) -> str:
        return self.headers["X-Shopify-Webhook-Id"]

    @property
    def event_id(self) -> str:
        return self.headers["X-Shopify-Event-Id"]

    def payload(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Attempt:
    delivery: WebhookDelivery
    #: The HTTP status, or None when the request never got an answer.
    status: int | None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookSender:
    def __init__(
        self,
        secret: str,
        *,
        shop_domain: str = "seamline-sandbox.myshopify.com",
        api_version: str = "2026-07",
        clock: Clock | None = None,
        seed: int | None = None,
    ) -> None:
        self.secret = secret
        self.shop_domain = shop_domain
        self.api_version = api_version
        self.clock: Clock = clock or SystemClock()
        self.rng = random.Random(seed)

    def build(
        self,
        topic: str,
        payload: Any,
        *,
        event_id: str | None = None,
        triggered_at: datetime | None = None,
        webhook_id: str | None = None,
    ) -> WebhookDelivery:
        body = json.dumps(payload, separators=(",", ":")).encode()
        when = triggered_at or self.clock.now()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sign(self.secret, body),
            "X-Shopify-Shop-Domain": self.shop_domain,
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "X-Shopify-Event-Id": event_id or str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "X-Shopify-Triggered-At": when.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "X-Shopify-API-Version": self.api_version,
        }
        return WebhookDelivery(topic, body, headers)

    def from_events(self, events: Iterable[ShopEvent]) -> list[WebhookDelivery]:
        return [self.build(e.topic, e.payload, event_id=e.event_id, triggered_at=e.triggered_at) for e in events]

    def schedule(
        self, deliveries: Sequence[WebhookDelivery], *, duplicates: int = 0, shuffle: bool = False
    ) -> list[WebhookDelivery]:
        """The order deliveries arrive in: each at least once, ``duplicates`` extra copies of deliveries
        picked at random (same webhook id, same body, same signature), shuffled if asked."""
        planned = list(deliveries)
        if deliveries:
            planned.extend(self.rng.choice(deliveries) for _ in range(duplicates))
        if shuffle:
            self.rng.shuffle(planned)
        return planned

    def send(
        self,
        deliveries: Sequence[WebhookDelivery],
        url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        duplicates: int = 0,
        shuffle: bool = False,
        retries: int = 8,
        timeout: float = 5.0,
    ) -> list[Attempt]:
        """POST each delivery to ``url``; a delivery not answered 2xx is tried again, up to ``retries``
        more times (Shopify spreads them over hours; here they follow at once)."""
        attempts: list[Attempt] = []
        with httpx.Client(transport=transport, timeout=timeout) as client:
            pending = self.schedule(deliveries, duplicates=duplicates, shuffle=shuffle)
            for _ in range(retries + 1):
                failed: list[WebhookDelivery] = []
                for delivery in pending:
                    try:
                        response = client.post(url, content=delivery.body, headers=delivery.headers)
                        attempt = Attempt(delivery, response.status_code)
                    except httpx.HTTPError as exc:
                        attempt = Attempt(delivery, None, f"{type(exc).__name__}: {exc}")
                    attempts.append(attempt)
                    if not attempt.succeeded:
                        failed.append(delivery)
                if not failed:
                    break
                pending = failed
        return attempts

    async def send_async(
        self,
        deliveries: Sequence[WebhookDelivery],
        url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        duplicates: int = 0,
        shuffle: bool = False,
        retries: int = 8,
        timeout: float = 5.0,
    ) -> list[Attempt]:
        """``send`` for an async transport, e.g. ``httpx.ASGITransport(app)`` straight into an ASGI app."""
        attempts: list[Attempt] = []
        async with httpx.AsyncClient(transport=transport, timeout=timeout) as client:
            pending = self.schedule(deliveries, duplicates=duplicates, shuffle=shuffle)
            for _ in range(retries + 1):
                failed: list[WebhookDelivery] = []
                for delivery in pending:
                    try:
                        response = await client.post(url, content=delivery.body, headers=delivery.headers)
                        attempt = Attempt(delivery, response.status_code)
                    except httpx.HTTPError as exc:
                        attempt = Attempt(delivery, None, f"{type(exc).__name__}: {exc}")
                    attempts.append(attempt)
                    if not attempt.succeeded:
                        failed.append(delivery)
                if not failed:
                    break
                pending = failed
        return attempts
