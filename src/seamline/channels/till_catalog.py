"""The catalog half every till connector shares (Square, Lightspeed): a ``StoreCatalogChanged`` delivery
pushes its styles, and a periodic catch-up pushes the styles the till has never had or has in an older
version. Each connector says how it pushes a style and which errors refuse one style only."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import ClassVar

from seamline.integration import ChannelError, Delivered, Delivery, DeliveryRejected, Subscriber, delivery_outcome
from seamline.integration.channel_errors import ChannelRejected
from seamline.integration.events import STORE_CATALOG_CHANGED
from seamline.service import Seamline
from seamline.store import tills_repo


class TillCatalogPush:
    #: The platform's name, in log lines and refusals.
    platform: ClassVar[str]
    #: What the platform's delivery of a refused push says (``delivery_outcome``'s ``refused``).
    refused: ClassVar[str]
    #: A style the connector cannot map for the platform (no price in its currency, ...).
    mapping_error: ClassVar[type[Exception]]
    #: The platform's refusal of one request.
    rejected: ClassVar[type[ChannelRejected]]

    app: Seamline
    channel: str

    @property
    def source(self) -> str:
        raise NotImplementedError

    def push_styles(self, codes: Sequence[str]) -> list[str]:
        raise NotImplementedError

    def push_stale(self, limit: int = 50) -> list[str]:
        """Styles the till has never had, or has in an older version (saved before the channel was wired, or
        a push that was dead-lettered): pushed now. One the platform cannot take (no price in the channel's
        currency, a refusal) is logged and skipped, so it cannot hold the others back."""
        codes = self.app.read(lambda conn: tills_repo.stale_style_codes(conn, self.channel, limit))
        pushed: list[str] = []
        for code in codes:
            try:
                pushed += self.push_styles([code])
            except (self.mapping_error, self.rejected) as exc:
                log = logging.getLogger(f"seamline.channels.{self.platform.lower()}")  # the connector's own log
                log.warning("%s channel %s: style %s not pushed: %s", self.platform, self.channel, code, exc)
        return pushed

    def deliver_catalog(self, delivery: Delivery) -> Delivered:
        try:
            self.push_styles([str(c) for c in delivery.payload.get("styles") or []])
        except ChannelError as exc:
            raise delivery_outcome(exc, refused=self.refused) from exc
        except self.mapping_error as exc:
            raise DeliveryRejected(str(exc)) from exc
        return Delivered()

    def catalog_subscriber(self, *, max_attempts: int | None = None) -> Subscriber:
        return Subscriber(
            name=f"{self.source}:catalog",
            event_types=frozenset({STORE_CATALOG_CHANGED}),
            deliver=self.deliver_catalog,
            coalesce=False,
            max_concurrency=1,
            max_attempts=max_attempts,
        )
