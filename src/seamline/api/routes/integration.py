"""Integration status, the dead-letter queue and the inbox over HTTP (DESIGN 8)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from seamline.api.bodies import JsonRoute
from seamline.api.deps import principal
from seamline.api.routes.common import PROBLEMS
from seamline.domain.errors import NotFound
from seamline.integration import Integration, deadletters
from seamline.integration.status import iso
from seamline.service import Principal

router = APIRouter(
    prefix="/v1/integration", tags=["integration"], responses=PROBLEMS, route_class=JsonRoute, strict_content_type=False
)

#: Row ids are 64-bit integers: a larger number is a 422, not a database overflow (a 500 on SQLite).
MAX_ROW_ID = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


class ReplayFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subscriber: str | None = Field(default=None, max_length=64)
    event_type: str | None = Field(default=None, max_length=64)
    ids: list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]] | None = Field(default=None, max_length=10_000)
    all: bool = False


def integration(request: Request) -> Integration:
    found: Integration = request.app.state.integration
    return found


@router.get("/status")
def status(request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    """Per subscriber: last success, lag, pending and retrying deliveries, recent failures with their
    reasons and the dead-letter count; per inbound source, messages by status."""
    who.require_read()
    return integration(request).status()


@router.get("/dead-letters")
def list_dead_letters(
    request: Request,
    subscriber: str | None = Query(default=None, max_length=64),
    event_type: str | None = Query(default=None, max_length=64),
    after: int | None = Query(default=None, ge=0, le=MAX_ROW_ID),
    limit: int = Query(default=100, ge=1, le=1000),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Dead letters, oldest first; page with ``after`` = the last id seen."""
    who.require_read()
    items = deadletters.list_dead(
        integration(request), subscriber=subscriber, event_type=event_type, after=after, limit=limit
    )
    return {"items": items, "next_after": items[-1]["id"] if len(items) == limit else None}


@router.get("/dead-letters/{delivery_id}")
def show_dead_letter(delivery_id: RowId, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    """One delivery with every failed attempt and its reason."""
    who.require_read()
    return deadletters.show(integration(request), delivery_id)


@router.post("/dead-letters/replay")
def replay_dead_letters(body: ReplayFilter, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    """Replay every dead letter matching the filter (``all: true`` for every one): back in the queue, due
    now, attempts reset. Subscribers apply by event id, so a replay never doubles an effect."""
    who.require_admin()
    replayed = deadletters.replay_matching(
        integration(request), subscriber=body.subscriber, event_type=body.event_type, ids=body.ids, everything=body.all
    )
    return {"replayed": len(replayed), "ids": replayed}


@router.post("/dead-letters/{delivery_id}/replay")
def replay_dead_letter(delivery_id: RowId, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    """Replay one dead letter."""
    who.require_admin()
    return deadletters.replay_one(integration(request), delivery_id)


def _message_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "source": row["source"],
        "external_id": row["external_id"],
        "message_type": row["message_type"],
        "status": row["status"],
        "reason": row["reason"],
        "waiting_for": row.get("waiting_for"),
        "attempts": row["attempts"],
        "duplicates": row["duplicates"],
        "aggregate_key": row["aggregate_key"],
        "aggregate_version": row["aggregate_version"],
        "received_at": iso(row["received_at"]),
        "processed_at": iso(row["processed_at"]),
        "trace_id": row["trace_id"],
    }


@router.get("/inbox")
def list_inbox(
    request: Request,
    status: str | None = Query(default=None, pattern="^(received|processed|rejected|failed|stale|held)$"),
    source: str | None = Query(default=None, max_length=64),
    limit: int = Query(default=100, ge=1, le=1000),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Inbound messages, newest first: ``?status=failed`` and ``?status=held`` list those that need someone to
    look (held: waiting for what ``waiting_for`` names, or for configuration; never failed for it)."""
    who.require_read()
    rows = integration(request).inbox.list(status=status, source=source, limit=limit)
    return {"items": [_message_view(r) for r in rows]}


@router.post("/inbox/{message_id}/retry")
def retry_inbox_message(message_id: RowId, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    """Put a failed or held message back in the queue (after fixing what made it fail or hold)."""
    who.require_admin()
    found = integration(request)
    if not found.inbox.retry(message_id):
        raise NotFound(f"no failed or held inbox message {message_id}", code="unknown-inbox-message")
    return {"id": message_id, "status": "received"}
