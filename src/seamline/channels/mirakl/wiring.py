"""How a Mirakl channel is wired from its configuration (see ``seamline.channels.wiring``).

``settings``: ``base_url`` (the operator's Mirakl URL, or ``sandbox:mirakl[/<name>]``), ``api_key``,
``shop_id``, ``import_mode``, ``min_import_interval_seconds``, ``auto_list``, and ``sync_every_seconds`` (15).

Wired: the subscriber that records each new number on its offer, and the offer sync job: settle the OF01
import in flight (OF02 status, OF03 error report line by line), then upload the pending numbers as the next
OF01 ``PARTIAL_UPDATE`` file. Never OF24, which resets the fields it is not sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from seamline.channels import sandboxes
from seamline.channels.mirakl.client import MiraklClient, MiraklConfig
from seamline.channels.mirakl.connector import MiraklConnector
from seamline.channels.wiring import (
    SANDBOX_SCHEME,
    ChannelConfig,
    PeriodicJob,
    Wired,
    WiringContext,
    availability_catch_up,
)
from seamline.sandbox.mirakl import MiraklSandbox, SandboxConfig


def sandbox(name: str = "default") -> MiraklSandbox:
    """The in-process Mirakl behind ``sandbox:mirakl/<name>``."""
    return sandboxes.instance("mirakl", name, MiraklSandbox, lambda: MiraklSandbox(SandboxConfig()))


def missing(settings: Mapping[str, Any]) -> list[str]:
    """The settings a Mirakl channel still needs (a sandbox base URL brings its own key)."""
    base_url = str(settings.get("base_url") or "")
    if not base_url:
        return ["base_url"]
    return [] if base_url.startswith(SANDBOX_SCHEME) or settings.get("api_key") else ["api_key"]


def build(context: WiringContext, config: ChannelConfig) -> Wired | None:
    settings: dict[str, Any] = dict(config.settings)
    base_url = str(settings.get("base_url") or "")
    if not base_url:
        return None  # not connected yet
    transport: httpx.BaseTransport | None = None
    if context.check_url(config.code, "base_url", base_url):
        platform = sandbox(sandboxes.name_of(base_url, "mirakl"))
        transport = platform.transport()
        settings["base_url"] = "https://mirakl.sandbox.test"
        settings.setdefault("api_key", platform.config.api_key)
        settings.setdefault("shop_id", platform.config.shop_id)
    connector = MiraklConnector(
        context.app, config.code, MiraklClient(MiraklConfig.from_settings(settings), transport=transport)
    )

    def sync() -> None:
        connector.sync_once()

    subscribers = [connector.subscriber()]
    return Wired(
        subscribers=subscribers,
        jobs=[PeriodicJob(f"{connector.name}:offer_sync", float(settings.get("sync_every_seconds", 15.0)), sync)],
        on_wire=[availability_catch_up(context, config.code, subscribers)],
    )
