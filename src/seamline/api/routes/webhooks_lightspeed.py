"""``POST /webhooks/lightspeed/{channel}``: a Lightspeed Retail (X-Series) POS channel's webhooks in (issue 21).

The signature is the authentication: ``X-Signature: signature=<hex>, algorithm=HMAC-SHA256``, the HMAC-SHA256 of
the raw form-encoded body under the add-on's ``client_secret`` (or one of ``client_secrets`` during a
rotation), compared in constant time. A bad or missing signature is a 401 and nothing is stored. A good one
is stored in the inbox and answered 200 at once (Lightspeed allows 5 seconds, then retries up to 20 times
over 48 hours; a retry is answered 200 and stored once). The inbox worker applies it
(``seamline.channels.lightspeed.connector``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from seamline.api import problems
from seamline.api.deps import service
from seamline.channels.lightspeed import inbound
from seamline.channels.lightspeed.wiring import webhook_secrets
from seamline.integration import Integration
from seamline.store import channels_repo

router = APIRouter(tags=["webhooks"])

KEPT_HEADERS = ("content-type", "user-agent")


@router.post(
    "/webhooks/lightspeed/{channel}",
    responses={
        200: {"description": "stored (or already stored)"},
        400: {"description": "signed, but not a form with a JSON payload; nothing stored"},
        401: {"description": "bad or missing signature; nothing stored"},
        404: {"description": "no Lightspeed POS channel of that code"},
    },
)
async def receive_lightspeed_webhook(channel: str, request: Request) -> Response:
    body = await request.body()
    svc = service(request)
    row = await run_in_threadpool(lambda: svc.read(lambda conn: channels_repo.get_channel(conn, channel)))
    secrets = webhook_secrets(dict(row["settings"] or {})) if row is not None and row["kind"] == "pos" else None
    if secrets is None:
        return problems.problem(404, "unknown-channel", f"no Lightspeed POS channel {channel}")
    try:
        webhook = inbound.verify(body, request.headers, secrets, topic=request.query_params.get("type"))
    except inbound.WebhookRejected as exc:
        if exc.status == 401:
            return problems.problem(401, "invalid-webhook-signature", exc.reason)
        return problems.problem(400, "invalid-webhook", exc.reason)
    kept = {name: value for name, value in request.headers.items() if name.lower() in KEPT_HEADERS}
    message = inbound.inbound_message(webhook, body, kept, channel=channel)
    integration: Integration = request.app.state.integration
    receipt = await run_in_threadpool(lambda: integration.inbox.receive(message))
    return JSONResponse({"id": receipt.id, "duplicate": receipt.duplicate, "status": receipt.status})
