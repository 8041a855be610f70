"""Writing events: into the outbox and, in the same transaction, one delivery per interested subscriber.

Nothing here commits: the caller's unit of work does, so an event exists exactly when its state change does,
and once it committed it wakes the dispatcher (``Outbox.on_commit``, set by ``integration.install`` to the
commit signal the dispatcher or the NATS relay listens to). The interested subscribers are read in that
transaction from the database (the subscriptions every configured connector declared, issue 16), plus the
subscribers this process alone knows (its ``SEAMLINE_WEBHOOK_SUBSCRIBERS``, a test's own): a channel
configured through another process gets its deliveries from the moment its PUT answered, whether this
process has wired it yet or not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection

from seamline.domain.clock import Clock
from seamline.domain.ids import random_hex
from seamline.integration import metrics, tracing
from seamline.integration.events import NewEvent
from seamline.integration.subscribers import SubscriberRegistry, Subscription
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import outbox_repo, subscriptions_repo


def new_event_id() -> str:
    return "evt_" + random_hex()


class Outbox:
    def __init__(
        self,
        registry: SubscriberRegistry,
        clock: Clock,
        *,
        notify: bool = True,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.registry = registry
        self.clock = clock
        self.notify = notify
        self._parsed: tuple[list[Any], list[Subscription]] = ([], [])
        #: Called once a transaction that wrote events committed (wakes this process's dispatcher).
        self.on_commit = on_commit

    def subscriptions(self, conn: Connection) -> list[Subscription]:
        """Who takes events now: the database's declared subscriptions and this process's own subscribers."""
        rows = subscriptions_repo.subscription_rows(conn)
        if rows != self._parsed[0]:  # parsed again only when the configuration changed
            parsed = [
                Subscription(name, frozenset(types), None if channels is None else frozenset(channels), coalesce)
                for name, types, channels, coalesce in rows
            ]
            self._parsed = (rows, parsed)
        local = self.registry.local()
        if not local:
            return self._parsed[1]
        names = {s.name for s in local}
        return [*local, *(s for s in self._parsed[1] if s.name not in names)]

    def emit(self, uow: UnitOfWork, events: Sequence[NewEvent], *, trace_id: str | None = None) -> list[str]:
        """Append events and their deliveries; answers the event ids. Call inside a write transaction."""
        if not events:
            return []
        conn = uow.conn
        now = self.clock.now()
        trace = trace_id or tracing.current()
        rows: list[dict[str, Any]] = [
            {
                "id": new_event_id(),
                "type": e.type,
                "channel": e.channel,
                "coalesce_key": e.coalesce_key,
                "payload": dict(e.payload),
                "trace_id": e.trace_id or trace,
            }
            for e in events
        ]
        subscriptions = self.subscriptions(conn)
        interested = [(row, [s for s in subscriptions if s.takes(row["type"], row["channel"])]) for row in rows]
        seqs = outbox_repo.append_events(conn, rows, now, seqs=any(subscribers for _, subscribers in interested))
        per_subscriber: dict[str, list[dict[str, Any]]] = defaultdict(list)
        coalescing: dict[str, list[str]] = defaultdict(list)
        for row, subscribers in interested:
            for subscriber in subscribers:
                key = row["coalesce_key"] if subscriber.coalesce else None
                per_subscriber[subscriber.name].append(
                    {
                        "event_seq": seqs[row["id"]],
                        "event_id": row["id"],
                        "event_type": row["type"],
                        "subscriber": subscriber.name,
                        "coalesce_key": key,
                        "created_at": now,
                        "trace_id": row["trace_id"],
                    }
                )
                if key is not None:
                    coalescing[subscriber.name].append(key)
        for name in sorted(per_subscriber):
            outbox_repo.supersede_pending(conn, name, coalescing.get(name, []), now)
            outbox_repo.add_deliveries(conn, per_subscriber[name])
        for row in rows:
            metrics.EVENTS.labels(row["type"]).inc()
        if self.on_commit is not None:
            uow.after_commit(self.on_commit)
        if self.notify:
            outbox_repo.notify(conn)
        return [r["id"] for r in rows]
