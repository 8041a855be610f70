"""``POST /webhooks/shopify/{channel}``: Shopify's deliveries in (DESIGN 8, issue 5).

The HMAC is the authentication: the signature over the raw body is checked in constant time against every
secret in the channel's ``settings.webhook_secrets`` (the current one and, during a rotation, the previous
one) before anything else is read. A bad or missing signature is a 401 and nothing is stored. A good one is
stored raw in the inbox, keyed by (shop domain, webhook id), with the event id, trigger time and topic kept
in its headers, and answered 200 at once; a repeat is answered 200 too and stored once. Processing happens
in the inbox worker (``seamline.channels.shopify.handlers``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from seamline.api import problems
from seamline.api.deps import service
from seamline.channels.shopify import inbound
from seamline.channels.shopify.mapper import MappingError
from seamline.integration import InboundMessage, Integration
from seamline.store import shopify_repo

router = APIRouter(tags=["webhooks"])

#: The headers kept with the stored delivery (lower-cased): what processing and an operator need.
KEPT_HEADERS = (
    inbound.HEADER_TOPIC,
    inbound.HEADER_SHOP,
    inbound.HEADER_WEBHOOK_ID,
    inbound.HEADER_EVENT_ID,
    inbound.HEADER_TRIGGERED_AT,
    inbound.HEADER_API_VERSION,
)


def _secrets(settings: Mapping[str, Any]) -> list[str]:
    raw = settings.get("webhook_secrets")
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list | tuple):
        return [str(s) for s in raw if s]
    return []


@router.post(
    "/webhooks/shopify/{channel}",
    responses={
        200: {"description": "stored (or already stored)"},
        401: {"description": "bad or missing signature; nothing stored"},
        404: {"description": "no Shopify channel of that code"},
    },
)
async def receive_shopify_webhook(channel: str, request: Request) -> Response:
    body = await request.body()
    return await run_in_threadpool(_receive, request, channel, body)


def _receive(request: Request, channel: str, body: bytes) -> Response:
    """Verify, then store: one hop off the event loop for both database calls."""
    found = service(request).read(lambda conn: shopify_repo.channel_settings(conn, channel))
    if found is None or found[0] != "shopify":
        return problems.problem(404, "unknown-channel", f"no Shopify channel {channel}")
    settings = found[1]
    try:
        headers = inbound.verify(body, request.headers, _secrets(settings), shop_domain=settings.get("shop_domain"))
    except inbound.WebhookRejected as exc:
        if exc.status == 401:
            return problems.problem(401, "invalid-webhook-signature", exc.reason)
        return problems.problem(400, "invalid-webhook", exc.reason)
    try:
        aggregate_key, aggregate_version = inbound.aggregate(headers.topic, inbound.load_body(body))
    except MappingError:
        aggregate_key, aggregate_version = None, None  # stored all the same; processing rejects it with a reason
    lowered = {key.lower(): value for key, value in request.headers.items()}
    message = InboundMessage(
        source=inbound.inbox_source(channel),
        external_id=headers.external_id,
        message_type=headers.topic,
        body=body,
        headers={name: lowered[name] for name in KEPT_HEADERS if name in lowered},
        aggregate_key=aggregate_key,
        aggregate_version=aggregate_version,
        trace_id=request.scope.get("state", {}).get("trace_id"),
    )
    integration: Integration = request.app.state.integration
    receipt = integration.inbox.receive(message)
    return JSONResponse({"id": receipt.id, "duplicate": receipt.duplicate, "status": receipt.status})
