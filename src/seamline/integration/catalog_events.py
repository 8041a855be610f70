"""Style changes to the outbox: a before-commit hook that announces each style the transaction saved as
``StyleChanged``, in that same transaction, so a storefront (Shopify) publishes the master again.

It reads the styles ``catalog_repo.save_style`` noted without taking them (the till catalog hook takes them
after it), so it is put first in the hook list."""

from __future__ import annotations

from sqlalchemy import Connection

from seamline.integration.events import STYLE_CHANGED, NewEvent
from seamline.integration.outbox import Outbox
from seamline.store import catalog_repo


def style_coalesce_key(style: str) -> str:
    return f"style:{style}"


class CatalogEvents:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def __call__(self, conn: Connection) -> None:
        saved = conn.info.get(catalog_repo.STYLES_SAVED)
        if not saved:
            return
        events = []
        found = catalog_repo.style_states(conn, saved)  # one read for an import's thousands of styles
        for code in sorted(saved):
            if code not in found:
                continue
            version, status = found[code]
            payload = {"style": code, "version": version, "status": status}
            events.append(NewEvent(STYLE_CHANGED, payload, None, style_coalesce_key(code)))
        self.outbox.emit(conn, events)
