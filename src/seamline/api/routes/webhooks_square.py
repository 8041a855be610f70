"""``POST /webhooks/square/{channel}``: a Square POS channel's webhooks in (issue 6).

The signature is the authentication: ``x-square-hmacsha256-signature`` must be base64(HMAC-SHA256(signature
key, notification URL + raw body)) under the channel's ``signature_key`` (or one of ``signature_keys`` during
a rotation), compared in constant time, with the notification URL as configured in the channel's settings
(Square signs the URL it posted to, not the one this server sees behind a proxy). A bad or missing
signature is a 401 and nothing is stored. A good one is stored raw in the inbox keyed by ``event_id`` and
answered 200 at once; a repeat is answered 200 and stored once. The inbox worker applies it
(``seamline.channels.square.connector``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from seamline.api import problems
from seamline.api.deps import service
from seamline.channels.square import inbound
from seamline.channels.square.wiring import webhook_settings
from seamline.integration import Integration
from seamline.store import channels_repo

router = APIRouter(tags=["webhooks"])

#: The headers kept with the stored delivery (lower-cased): what processing and an operator need.
KEPT_HEADERS = (
    "content-type",
    "square-version",
    "square-environment",
    "square-initial-delivery-timestamp",
    "square-retry-number",
    "square-retry-reason",
    "user-agent",
)


@router.post(
    "/webhooks/square/{channel}",
    responses={
        200: {"description": "stored (or already stored)"},
        400: {"description": "signed, but not a Square event envelope; nothing stored"},
        401: {"description": "bad or missing signature; nothing stored"},
        404: {"description": "no Square POS channel of that code"},
    },
)
async def receive_square_webhook(channel: str, request: Request) -> Response:
    body = await request.body()
    svc = service(request)
    row = await run_in_threadpool(lambda: svc.read(lambda conn: channels_repo.get_channel(conn, channel)))
    verifying = webhook_settings(dict(row["settings"] or {})) if row is not None and row["kind"] == "pos" else None
    if verifying is None:
        return problems.problem(404, "unknown-channel", f"no Square POS channel {channel}")
    keys, notification_url = verifying
    try:
        event = inbound.verify(body, request.headers, keys, notification_url)
    except inbound.WebhookRejected as exc:
        if exc.status == 401:
            return problems.problem(401, "invalid-webhook-signature", exc.reason)
        return problems.problem(400, "invalid-webhook", exc.reason)
    kept = {name: value for name, value in request.headers.items() if name.lower() in KEPT_HEADERS}
    message = inbound.inbound_message(event, body, kept, channel=channel)
    integration: Integration = request.app.state.integration
    receipt = await run_in_threadpool(lambda: integration.inbox.receive(message))
    return JSONResponse({"id": receipt.id, "duplicate": receipt.duplicate, "status": receipt.status})
