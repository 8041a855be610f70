"""QuickBooks Online webhooks in: ``intuit-signature`` = base64(HMAC-SHA256(verifier token, raw body)),
compared in constant time. A notification lists, per company (``realmId``), the entities that changed
(``name``, ``id``, ``operation``, ``lastUpdated``): someone edited the books, which Seamline reports."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

HEADER_SIGNATURE = "intuit-signature"


class WebhookRejected(Exception):
    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class EntityChange:
    realm_id: str
    entity: str
    entity_id: str
    operation: str
    last_updated: str


def sign(verifier_token: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()).decode()


def verify(body: bytes, headers: Mapping[str, str], verifier_token: str) -> list[EntityChange]:
    given = {k.lower(): v for k, v in headers.items()}.get(HEADER_SIGNATURE, "")
    try:
        provided = base64.b64decode(given, validate=True)
    except (binascii.Error, ValueError):
        provided = b""
    expected = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    if not given or not hmac.compare_digest(expected, provided):
        raise WebhookRejected("bad or missing intuit-signature")
    try:
        payload: Any = json.loads(body)
    except ValueError:
        raise WebhookRejected("body is not JSON", 400) from None
    out: list[EntityChange] = []
    for notification in payload.get("eventNotifications") or [] if isinstance(payload, Mapping) else []:
        realm = str(notification.get("realmId"))
        for entity in (notification.get("dataChangeEvent") or {}).get("entities") or []:
            out.append(
                EntityChange(
                    realm,
                    str(entity.get("name")),
                    str(entity.get("id")),
                    str(entity.get("operation")),
                    str(entity.get("lastUpdated")),
                )
            )
    return out
