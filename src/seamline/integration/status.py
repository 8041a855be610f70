"""What ``GET /v1/integration/status`` and ``seamline dlq`` show: per subscriber, last success, lag,
failures with their reasons and dead letters; per inbound source, messages by status."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from seamline.store import inbox_repo, marketplace_repo, outbox_repo
from seamline.store.db import run_transaction

if TYPE_CHECKING:
    from seamline.integration.runtime import Integration


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def integration_status(integration: Integration) -> dict[str, Any]:
    now = integration.app.clock.now()

    def read(conn: Connection) -> dict[str, Any]:
        per = outbox_repo.subscriber_status(conn, now)
        names = sorted(set(per) | set(integration.registry.names()))
        subscribers = []
        for name in names:
            row = per.get(name, {})
            sub = integration.registry.get(name)
            oldest_pending = row.get("oldest_pending_at")
            oldest_dead = row.get("oldest_dead_at")
            heartbeat = integration.dispatcher.heartbeats.get(name)
            subscribers.append(
                {
                    "name": name,
                    "registered": sub is not None,
                    "event_types": sorted(sub.event_types) if sub else [],
                    "channels": sorted(sub.channels) if sub and sub.channels is not None else None,
                    "last_success_at": iso(row.get("last_success_at")),
                    "lag_seconds": 0.0 if oldest_pending is None else max(0.0, (now - oldest_pending).total_seconds()),
                    "last_delivery_lag_seconds": row.get("last_lag_seconds"),
                    "pending": row.get("pending", 0),
                    "retrying": row.get("retrying", 0),
                    "delivered": row.get("delivered", 0),
                    "superseded": row.get("superseded", 0),
                    "dead_letters": row.get("dead", 0),
                    "oldest_dead_letter_age_seconds": None
                    if oldest_dead is None
                    else max(0.0, (now - oldest_dead).total_seconds()),
                    "recent_failures": [
                        {
                            "delivery_id": f["delivery_id"],
                            "attempt": f["attempt"],
                            "failed_at": iso(f["failed_at"]),
                            "error": f["error"],
                        }
                        for f in outbox_repo.recent_failures(conn, name)
                    ],
                    "heartbeat_at": iso(heartbeat),
                }
            )
        return {
            "transport": integration.settings.transport,
            "subscribers": subscribers,
            "inbox": inbox_repo.counts(conn),
            "unrelayed_events": outbox_repo.unrelayed_count(conn) if integration.settings.transport == "nats" else None,
            "listings": listings_status(conn),
        }

    return run_transaction(integration.app.engine, read, write=False)


def listings_status(conn: Connection) -> dict[str, Any]:
    """Per channel: marketplace listings by state, SKUs paused now, and the pause log's counts (issue 7)."""
    pauses = marketplace_repo.pause_summary(conn)
    listings = marketplace_repo.listing_summary(conn)
    return {
        code: {
            "listings": listings.get(code, {}),
            "paused_now": pauses.get(code, {}).get("paused_now", 0),
            "pauses": pauses.get(code, {}).get("pauses", 0),
            "restores": pauses.get(code, {}).get("restores", 0),
            "last_crossing_at": iso(pauses.get(code, {}).get("last_crossing_at")),
        }
        for code in sorted(set(pauses) | set(listings))
    }
