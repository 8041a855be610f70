"""How a Mirakl channel is wired from its configuration (see ``seamline.channels.wiring``).

``settings``: ``base_url`` (the operator's Mirakl URL, or ``sandbox:mirakl[/<name>]``), ``api_key``,
``shop_id``, ``import_mode``, ``min_import_interval_seconds``, ``auto_list``, ``sync_every_seconds`` (15);
for orders ``currency``, ``shipment_mode`` (``shipments``: ST01 per parcel; ``order``: OR23 + OR24),
``carrier_codes``, ``refund_reason_code`` (RE01 REFUND code, "17"), ``cancel_reason_code`` (RE01 CANCELATION
code, "35") and ``cancel_reason_codes`` (our reason → theirs), ``order_tax_mode`` (``TAX_INCLUDED``),
``acceptance_window_hours`` (48), ``acceptance_margin_hours`` (2) and ``orders_every_seconds`` (60).

Listings from the master (with ``currency`` and ``catalog``: ``{categories: {ours: operator's H11 code},
attributes: {category|title|description|brand|colour|size|gtin|care|composition|variant_group: operator's
PM11 code, images: [codes in order]}, brand, price_list}``): the ``StyleChanged`` subscriber and the catalog
job (``catalog_every_seconds``, 60) that lists styles with OF01 ``with_products``.

Wired: the subscriber that records each new number on its offer, and the offer sync job: settle the OF01
import in flight (OF02 status, OF03 error report line by line), then upload the pending numbers as the next
OF01 ``PARTIAL_UPDATE`` file. Never OF24, which resets the fields it is not sent. Orders: the inbox handler
of the channel's orders, the order job (OR11 pull, OR21 answers, OR28 refunds; one process per period) and
the shipment subscriber (``OrderShipped`` → ST01, or OR23/OR24) and the line cancellation subscriber
(``OrderLinesCancelled`` → OR30) and the refund subscriber (``ReturnBooked`` → OR28; the order round refunds
what it missed).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from seamline.channels import sandboxes
from seamline.channels.mirakl.catalog import MiraklCatalog
from seamline.channels.mirakl.client import MiraklClient, MiraklConfig
from seamline.channels.mirakl.connector import MiraklConnector
from seamline.channels.mirakl.listings import CatalogMapping
from seamline.channels.mirakl.orders import ORDER_MESSAGE, MiraklOrders, source_for
from seamline.channels.wiring import (
    SANDBOX_SCHEME,
    ChannelConfig,
    PeriodicJob,
    Wired,
    WiringContext,
    availability_catch_up,
)
from seamline.sandbox.mirakl import MiraklSandbox, SandboxConfig

log = logging.getLogger("seamline.channels.mirakl")


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

    orders = MiraklOrders(context.app, config.code, connector.client)
    integration = context.integration

    def sync() -> None:
        connector.sync_once()

    def run_orders() -> None:
        report = orders.run_once(integration.inbox)
        if report.error:
            log.warning("Mirakl orders of %s: %s", config.code, report.error)

    subscribers = [connector.subscriber()]
    extra = [orders.shipment_subscriber(), orders.line_cancel_subscriber(), orders.refund_subscriber()]
    jobs = [
        PeriodicJob(f"{connector.name}:offer_sync", float(settings.get("sync_every_seconds", 15.0)), sync),
        PeriodicJob(f"{connector.name}:orders", float(settings.get("orders_every_seconds", 60.0)), run_orders),
    ]
    if settings.get("catalog") and settings.get("currency"):
        # Listings from the master: styles saved here are listed there (OF01 with products).
        catalog = MiraklCatalog(
            context.app,
            config.code,
            connector.client,
            CatalogMapping.from_settings(settings["catalog"]),
            currency=str(settings["currency"]),
        )

        def publish() -> None:
            report = catalog.publish_once()
            if report.error:
                log.warning("Mirakl catalog of %s: %s", config.code, report.error)

        extra.append(catalog.subscriber())
        jobs.append(
            PeriodicJob(f"{connector.name}:catalog", float(settings.get("catalog_every_seconds", 60.0)), publish)
        )
    return Wired(
        subscribers=[*subscribers, *extra],
        handlers=[(source_for(config.code), ORDER_MESSAGE, orders.handler())],
        jobs=jobs,
        on_wire=[availability_catch_up(context, config.code, subscribers)],
    )
