"""Finance documents announced again to one accounting connection (a backfill). A document's first
announcement, ``FinanceDocumentPosted`` in the transaction that posted it, is the handler table's
(``service.handlers.announce_documents``, written by ``integration.announcements``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from seamline.finance import Document
from seamline.integration.events import FINANCE_DOCUMENT_POSTED
from seamline.integration.outbox import new_event_id
from seamline.store import finance_repo, outbox_repo


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
