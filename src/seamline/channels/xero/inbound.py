"""Xero webhooks in: ``x-xero-signature`` = base64(HMAC-SHA256(webhook key, raw body)), compared in constant
time. Xero proves the endpoint first with an "intent to receive" (an empty ``events`` list, signed; a bad
signature must get 401). Events name a resource that changed (``INVOICE``/``CONTACT``, ``CREATE``/
``UPDATE``): someone edited the books, which Seamline reports rather than trusts."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

HEADER_SIGNATURE = "x-xero-signature"


class WebhookRejected(Exception):
    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class XeroEvent:
    resource_id: str
    category: str
    event_type: str
    tenant_id: str
    event_date: str
    sequence: int | None


def sign(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def verify(body: bytes, headers: Mapping[str, str], key: str) -> list[XeroEvent]:
    """The events of a signed delivery (none for an intent-to-receive); ``WebhookRejected`` otherwise."""
    given = {k.lower(): v for k, v in headers.items()}.get(HEADER_SIGNATURE, "")
    try:
        provided = base64.b64decode(given, validate=True)
    except (binascii.Error, ValueError):
        provided = b""
    expected = hmac.new(key.encode(), body, hashlib.sha256).digest()
    if not given or not hmac.compare_digest(expected, provided):
        raise WebhookRejected("bad or missing x-xero-signature")
    try:
        payload: Any = json.loads(body)
    except ValueError:
        raise WebhookRejected("body is not JSON", 400) from None
    events = payload.get("events") if isinstance(payload, Mapping) else None
    if not isinstance(events, list):
        raise WebhookRejected("no events list", 400)
    return [
        XeroEvent(
            str(e.get("resourceId")),
            str(e.get("eventCategory")),
            str(e.get("eventType")),
            str(e.get("tenantId")),
            str(e.get("eventDateUtc")),
            e.get("eventSequence") if isinstance(e.get("eventSequence"), int) else None,
        )
        for e in events
        if isinstance(e, Mapping)
    ]
