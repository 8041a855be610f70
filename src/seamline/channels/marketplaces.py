"""Wiring the marketplace connectors (issue 7) from the channels configured in the database: every ``amazon``
and ``mirakl`` channel whose ``settings`` name an endpoint gets its connector, its subscriber registered on
the integration and (Amazon) its order handler. ``seamline serve`` / ``worker`` call ``install_marketplaces``
after ``install``; the connectors' periodic work (Amazon ``pull_orders``/``settle_feeds``, Mirakl
``OfferSync``) is started by whoever runs the background workers.

Production refuses a connector pointed at a sandbox (``sandbox`` in its host), as DESIGN 10 asks."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlparse

import httpx

from seamline.channels.amazon.client import AmazonClient, AmazonConfig
from seamline.channels.amazon.connector import AmazonConnector
from seamline.channels.mirakl.client import MiraklClient, MiraklConfig
from seamline.channels.mirakl.connector import MiraklConnector
from seamline.domain.errors import InvalidInput
from seamline.integration import Integration
from seamline.service import Seamline
from seamline.store import channels_repo

log = logging.getLogger("seamline.channels")


@dataclass
class Marketplaces:
    amazon: list[AmazonConnector] = field(default_factory=list)
    mirakl: list[MiraklConnector] = field(default_factory=list)
    #: Channels left out, and why (incomplete settings).
    skipped: dict[str, str] = field(default_factory=dict)


def _refuse_sandbox(app: Seamline, channel: str, url: str) -> None:
    if app.settings.env == "production" and "sandbox" in (urlparse(url).hostname or ""):
        raise InvalidInput(f"channel {channel} points at a sandbox ({url}); production refuses sandbox connectors")


def install_marketplaces(
    app: Seamline,
    integration: Integration,
    *,
    transports: Mapping[str, httpx.BaseTransport] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Marketplaces:
    """Build and register a connector per configured marketplace channel. ``transports`` (channel code →
    transport) points a channel at a sandbox in tests and the demo."""
    found = Marketplaces()

    def read() -> list[tuple[str, str, dict[str, object]]]:
        out = []
        with app.engine.connect() as conn:
            for policy in channels_repo.policies(conn):
                if policy.kind in ("amazon", "mirakl"):
                    row = channels_repo.get_channel(conn, policy.code)
                    out.append((policy.code, policy.kind, dict(row["settings"] if row else {})))
        return out

    for code, kind, settings in read():
        transport = (transports or {}).get(code)
        try:
            if kind == "amazon":
                amazon = AmazonConfig.from_settings(settings)
                _refuse_sandbox(app, code, amazon.endpoint)
                client = AmazonClient(amazon, transport=transport, clock=app.clock, sleep=sleep)
                currency = settings.get("currency")
                connector = AmazonConnector(app, code, client, currency=str(currency) if currency else None)
                connector.install(integration)
                found.amazon.append(connector)
            else:
                mirakl = MiraklConfig.from_settings(settings)
                _refuse_sandbox(app, code, mirakl.base_url)
                mirakl_connector = MiraklConnector(app, code, MiraklClient(mirakl, transport=transport, sleep=sleep))
                mirakl_connector.install(integration)
                found.mirakl.append(mirakl_connector)
        except ValueError as exc:
            found.skipped[code] = str(exc)
            log.warning("marketplace channel %s not connected: %s", code, exc)
    return found
