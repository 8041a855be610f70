"""Finance documents to the outbox: a before-commit hook that announces each document the transaction
posted as ``FinanceDocumentPosted``, in that same transaction (no document without its event, and no event
for a posting that rolled back). The accounting connectors (Xero, QuickBooks Online) subscribe to it."""

from __future__ import annotations

from sqlalchemy import Connection

from seamline.integration.events import FINANCE_DOCUMENT_POSTED, NewEvent
from seamline.integration.outbox import Outbox
from seamline.store import finance_repo


class FinancePublisher:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def __call__(self, conn: Connection) -> None:
        posted = conn.info.pop(finance_repo.POSTED, None)
        if posted:
            self.outbox.emit(conn, [NewEvent(FINANCE_DOCUMENT_POSTED, {"document": doc}) for doc in posted])
