"""How an Amazon channel is wired from its configuration (see ``seamline.channels.wiring``).

``settings``: ``endpoint`` (the SP-API regional URL, or ``sandbox:amazon[/<name>]``), ``seller_id``,
``access_token``, or Login with Amazon's ``refresh_token``, ``client_id`` and ``client_secret`` (the client then
fetches access tokens and renews them on expiry, or once on a 401/403), ``marketplace_ids`` (the sandbox's own
when it is a sandbox and they are left out), ``product_type``, ``currency``, ``carrier_codes``, and the periods
of the connector's jobs: ``pull_orders_every_seconds`` (60), ``settle_feeds_every_seconds`` (60),
``catch_up_every_seconds`` (none: bulk catch-up only when set).

Wired: the availability subscriber (5 PATCHes/s, burst 5, 429 → Retry-After), the shipment subscriber
(``OrderShipped`` → ``confirmShipment`` per shipment; ``carrier_codes`` maps our carrier names to Amazon's
codes), the listings subscriber (``StyleChanged`` → ``putListingsItem``/``patchListingsItem`` from the master;
``product_types`` maps a style category to Amazon's productType, ``language_tag``, ``brand`` and
``price_list`` shape the attributes), the cancellation and refund subscriber (``OrderCancelled`` and
``ReturnBooked`` → the order feeds), the order handler of the inbox, and the periodic jobs (pull orders into
the inbox, settle listings and order feeds, catch up).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from seamline.channels import sandboxes
from seamline.channels.amazon import inbound
from seamline.channels.amazon.client import AmazonClient, AmazonConfig
from seamline.channels.amazon.connector import AmazonConnector
from seamline.channels.wiring import (
    SANDBOX_SCHEME,
    ChannelConfig,
    PeriodicJob,
    Wired,
    WiringContext,
    availability_catch_up,
)
from seamline.integration.shared_limits import SharedTokenBucket
from seamline.sandbox.amazon import AmazonSandbox, SandboxConfig


def sandbox(name: str = "default") -> AmazonSandbox:
    """The in-process Amazon behind ``sandbox:amazon/<name>``."""
    return sandboxes.instance("amazon", name, AmazonSandbox, lambda: AmazonSandbox(SandboxConfig()))


def missing(settings: Mapping[str, Any]) -> list[str]:
    """The settings an Amazon channel still needs (a sandbox endpoint fills in the rest itself)."""
    endpoint = str(settings.get("endpoint") or "")
    if not endpoint:
        return ["endpoint"]
    if endpoint.startswith(SANDBOX_SCHEME):
        return []
    lwa = ("refresh_token", "client_id", "client_secret")
    token = ["access_token"] if settings.get("access_token") or not settings.get("refresh_token") else list(lwa)
    return [key for key in ("seller_id", *token, "marketplace_ids") if not settings.get(key)]


def build(context: WiringContext, config: ChannelConfig) -> Wired | None:
    settings: dict[str, Any] = dict(config.settings)
    endpoint = str(settings.get("endpoint") or "")
    if not endpoint:
        return None  # not connected yet
    transport: httpx.BaseTransport | None = None
    if context.check_url(config.code, "endpoint", endpoint):
        platform = sandbox(sandboxes.name_of(endpoint, "amazon"))
        transport = platform.transport()
        settings["endpoint"] = platform.config.base_url
        settings.setdefault("seller_id", platform.config.seller_id)
        if settings.get("refresh_token"):  # Login with Amazon against the sandbox's token endpoint
            settings.setdefault("client_id", platform.config.client_id)
            settings.setdefault("client_secret", platform.config.client_secret)
            settings["token_endpoint"] = platform.config.base_url + "/auth/o2/token"
        else:
            settings.setdefault("access_token", platform.config.access_token)
        settings.setdefault("marketplace_ids", list(platform.config.marketplace_ids))
        settings.setdefault("currency", platform.config.currency)
    # Amazon's rate limits are in real time: the client paces on the system clock, not on business time, and
    # on buckets every process of the installation shares (per selling-partner account and endpoint).
    amazon = AmazonConfig.from_settings(settings)
    engine = context.app.engine

    def shared(operation: str, rate: float, burst: float) -> SharedTokenBucket:
        return SharedTokenBucket(engine, f"amazon:{amazon.endpoint}:{amazon.seller_id}:{operation}", rate, burst)

    client = AmazonClient(amazon, transport=transport, buckets=shared)
    currency = settings.get("currency")
    connector = AmazonConnector(context.app, config.code, client, currency=str(currency) if currency else None)
    integration = context.integration

    def pull_orders() -> None:
        connector.pull_orders(integration)

    def settle_feeds() -> None:
        connector.settle_feeds()
        connector.settle_order_feeds()

    def catch_up() -> None:
        connector.catch_up()

    jobs = [
        PeriodicJob(
            f"{connector.name}:pull_orders", float(settings.get("pull_orders_every_seconds", 60.0)), pull_orders
        ),
        PeriodicJob(
            f"{connector.name}:settle_feeds",
            float(settings.get("settle_feeds_every_seconds", 60.0)),
            settle_feeds,
        ),
    ]
    if settings.get("catch_up_every_seconds"):
        jobs.append(
            PeriodicJob(
                f"{connector.name}:catch_up",
                float(settings["catch_up_every_seconds"]),
                catch_up,
            )
        )
    subscribers = [connector.subscriber()]
    return Wired(
        subscribers=[
            *subscribers,
            connector.shipment_subscriber(),
            connector.adjustment_subscriber(),
            connector.content_subscriber(),
        ],
        handlers=[(inbound.source_for(config.code), inbound.ORDER_MESSAGE, connector.order_handler())],
        jobs=jobs,
        on_wire=[availability_catch_up(context, config.code, subscribers)],
    )
