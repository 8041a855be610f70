"""Finance documents to the outbox: a before-commit hook that announces each document the transaction
posted as ``FinanceDocumentPosted``, in that same transaction (no document without its event, and no event
for a posting that rolled back). The accounting connectors (Xero, QuickBooks Online) subscribe to it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from seamline.finance import Document
from seamline.integration.events import FINANCE_DOCUMENT_POSTED, NewEvent
from seamline.integration.outbox import Outbox, new_event_id
from seamline.store import finance_repo, outbox_repo


class FinancePublisher:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def __call__(self, conn: Connection) -> None:
        posted = conn.info.pop(finance_repo.POSTED, None)
        if posted:
            self.outbox.emit(conn, [NewEvent(FINANCE_DOCUMENT_POSTED, {"document": doc}) for doc in posted])


def queue_backfill(conn: Connection, target: str, documents: Sequence[Document], now: datetime) -> int:
    """Announce documents again, to one accounting connection only (``target``, its subscriber's name):
    a ``FinanceDocumentPosted`` per document with a delivery for that subscriber alone, so the books it
    connects get what was posted before it existed. Its export state is set ``pending`` (attempted), so a
    second backfill before the worker delivers does not queue it twice; the exporter checks what it exported
    before sending, so a document exported meanwhile is not sent again."""
    if not documents:
        return 0
    rows: list[dict[str, Any]] = [
        {
            "id": new_event_id(),
            "type": FINANCE_DOCUMENT_POSTED,
            "channel": None,
            "coalesce_key": None,
            "payload": {"document": doc.as_json(), "backfill": target},
            "trace_id": None,
        }
        for doc in documents
    ]
    seqs = outbox_repo.append_events(conn, rows, now)
    outbox_repo.add_deliveries(
        conn,
        [
            {
                "event_seq": seqs[row["id"]],
                "event_id": row["id"],
                "event_type": FINANCE_DOCUMENT_POSTED,
                "subscriber": target,
                "coalesce_key": None,
                "created_at": now,
                "trace_id": None,
            }
            for row in rows
        ],
    )
    for doc in documents:
        finance_repo.set_export_state(conn, target, doc.id, "pending", now=now, messages=["queued by backfill"])
    outbox_repo.notify(conn)
    return len(rows)
