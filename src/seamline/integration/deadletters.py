"""The dead-letter queue: deliveries that used up their attempts (or were refused for good), kept until an
operator replays them (``seamline dlq``, ``/v1/integration/dead-letters``). Never purged automatically."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from seamline.domain.errors import Conflict, InvalidInput, NotFound
from seamline.integration.status import iso
from seamline.store import outbox_repo
from seamline.store.db import run_transaction

if TYPE_CHECKING:
    from seamline.integration.runtime import Integration


def delivery_view(row: dict[str, Any], failures: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    out = {
        "id": row["id"],
        "subscriber": row["subscriber"],
        "status": row["status"],
        "event_id": row["event_id"],
        "event_type": row["event_type"],
        "event_seq": row["event_seq"],
        "payload": row["payload"],
        "attempts": row["attempts"],
        "replays": row["replays"],
        "last_error": row["last_error"],
        "trace_id": row["trace_id"],
        "created_at": iso(row["created_at"]),
        "next_attempt_at": iso(row["next_attempt_at"]),
        "delivered_at": iso(row["delivered_at"]),
        "dead_at": iso(row["dead_at"]),
    }
    if failures is not None:
        out["failures"] = [
            {"attempt": f["attempt"], "failed_at": iso(f["failed_at"]), "error": f["error"]} for f in failures
        ]
    return out


def list_dead(
    integration: Integration,
    *,
    subscriber: str | None = None,
    event_type: str | None = None,
    after: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    rows = run_transaction(
        integration.app.engine,
        lambda c: outbox_repo.dead_letters(
            c, subscriber=subscriber, event_type=event_type, after_id=after, limit=limit
        ),
        write=False,
    )
    return [delivery_view(r) for r in rows]


def show(integration: Integration, delivery_id: int) -> dict[str, Any]:
    def read(conn: Any) -> dict[str, Any]:
        row = outbox_repo.get_delivery(conn, delivery_id)
        if row is None:
            raise NotFound(f"no delivery {delivery_id}", code="unknown-delivery")
        return delivery_view(row, outbox_repo.failures_of(conn, delivery_id))

    return run_transaction(integration.app.engine, read, write=False)


def replay_one(integration: Integration, delivery_id: int) -> dict[str, Any]:
    """Replay one dead letter. Replaying one that is already back in the queue (or delivered) is a 409."""
    now = integration.app.clock.now()

    def work(conn: Any) -> dict[str, Any]:
        row = outbox_repo.get_delivery(conn, delivery_id)
        if row is None:
            raise NotFound(f"no delivery {delivery_id}", code="unknown-delivery")
        if row["status"] != "dead":
            raise Conflict(f"delivery {delivery_id} is {row['status']}, not dead-lettered", code="not-dead-lettered")
        outbox_repo.replay_dead(conn, now, ids=[delivery_id])
        replayed = outbox_repo.get_delivery(conn, delivery_id)
        assert replayed is not None
        return delivery_view(replayed)

    view = run_transaction(integration.app.engine, work)
    integration.dispatcher.wake()
    integration.dispatcher.refresh_gauges()
    return view


def replay_matching(
    integration: Integration,
    *,
    subscriber: str | None = None,
    event_type: str | None = None,
    ids: Sequence[int] | None = None,
    everything: bool = False,
) -> list[int]:
    """Replay every dead letter matching the filter. An empty filter must say ``everything`` explicitly."""
    if subscriber is None and event_type is None and ids is None and not everything:
        raise InvalidInput("say which dead letters to replay", code="replay-filter-required")
    now = integration.app.clock.now()
    replayed = run_transaction(
        integration.app.engine,
        lambda c: outbox_repo.replay_dead(c, now, ids=ids, subscriber=subscriber, event_type=event_type),
    )
    if replayed:
        integration.dispatcher.wake()
        integration.dispatcher.refresh_gauges()
    return replayed
