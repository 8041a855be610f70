"""Till catalog changes to the outbox: a before-commit hook that announces what the till catalog publisher
changed (``seamline.service.tills``) as ``StoreCatalogChanged``, in that same transaction. A POS connector
subscribes to it and pushes the changed styles and prices to its platform."""

from __future__ import annotations

from sqlalchemy import Connection

from seamline.integration.events import STORE_CATALOG_CHANGED, NewEvent
from seamline.integration.outbox import Outbox
from seamline.store import tills_repo


class TillCatalogEvents:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def __call__(self, conn: Connection) -> None:
        changed = conn.info.pop(tills_repo.CATALOG_CHANGED, None)
        if changed:
            self.outbox.emit(conn, [NewEvent(STORE_CATALOG_CHANGED, dict(changed))])
