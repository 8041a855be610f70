"""A POS channel whose ``settings.provider`` is ``lightspeed`` becomes the Lightspeed Retail (X-Series) connector
(see ``seamline.channels.wiring``).

Settings: ``base_url`` (``https://<domain_prefix>.retail.lightspeed.app``, or ``sandbox:<name>`` for the
in-process sandbox, refused in production), ``token``, ``client_secret`` (the add-on's: it signs the
webhooks; ``client_secrets`` during a rotation), ``outlets`` (Lightspeed outlet id → store location code),
``registers`` (register id → outlet id, for sales that name only their register), ``products`` (Lightspeed
product id → SKU, for products the retailer had before Seamline), ``currency`` (default EUR) and
``tax_inclusive`` (whether the outlets' prices include tax; default true: prices go out as
``price_including_tax``, else ``price_excluding_tax``).

Wired: the inbox handler for ``lightspeed:<channel>`` (``sale.update``), and (when the channel sources the one
store an outlet is linked to) a subscriber setting that outlet's stock to the channel's number by stocktake,
caught up with the current numbers when the channel is wired; and a subscriber pushing saved styles as
products (``StoreCatalogChanged``), whose ids are kept per SKU and read back into the lookups.
Webhooks arrive at ``POST /webhooks/lightspeed/{channel}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seamline.channels import sandboxes
from seamline.channels.lightspeed import mapper
from seamline.channels.lightspeed.client import LightspeedClient, LightspeedConfig
from seamline.channels.lightspeed.connector import LightspeedConnector
from seamline.channels.wiring import (
    SANDBOX_SCHEME,
    ChannelConfig,
    PeriodicJob,
    Wired,
    WiringContext,
    availability_catch_up,
)
from seamline.domain.errors import FieldError, InvalidInput
from seamline.sandbox.lightspeed import LightspeedSandbox, LightspeedSandboxConfig
from seamline.store import tills_repo

PROVIDER = "lightspeed"
NEEDED = ("base_url", "token", "client_secret", "outlets")
#: How often styles Lightspeed does not have in their current version are pushed (saved before wiring).
SYNC_SECONDS = 60.0


def missing(settings: Mapping[str, Any]) -> list[str]:
    if settings.get("provider") != PROVIDER:
        return []
    return [key for key in NEEDED if not settings.get(key)]


def _strings(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def sandbox(url: str, settings: Mapping[str, Any] | None = None) -> LightspeedSandbox:
    """The in-process Lightspeed retailer named by a ``sandbox:`` URL (one per name in this process)."""

    def make() -> LightspeedSandbox:
        given = settings or {}
        config = LightspeedSandboxConfig()
        config.token = str(given.get("token") or config.token)
        config.client_secret = str(given.get("client_secret") or config.client_secret)
        config.outlets = {k: k for k in _strings(given.get("outlets"))} or config.outlets
        config.registers = _strings(given.get("registers")) or config.registers
        return LightspeedSandbox(config)

    return sandboxes.instance("lightspeed", url, LightspeedSandbox, make)


def build(context: WiringContext, config: ChannelConfig) -> Wired | None:
    if config.settings.get("provider") != PROVIDER:
        return None
    settings = dict(config.settings)
    absent = missing(settings)
    if absent:
        raise InvalidInput(
            f"channel {config.code}: Lightspeed settings are incomplete",
            [FieldError(f"settings.{key}", "is required for a Lightspeed till") for key in absent],
        )
    base_url = str(settings["base_url"])
    transport = None
    if context.check_url(config.code, "base_url", base_url):
        transport = sandbox(base_url, settings).transport()
        base_url = "http://" + base_url.removeprefix(SANDBOX_SCHEME).strip("/") + ".lightspeed.sandbox"
    client = LightspeedClient(LightspeedConfig(base_url, str(settings["token"])), transport=transport)
    outlets = _strings(settings["outlets"])
    registers = _strings(settings.get("registers"))
    configured = _strings(settings.get("products"))
    app = context.app

    def lookups() -> mapper.LightspeedLookups:
        """The products the settings link, and those Seamline created (kept per SKU by the product push)."""
        rows = app.read(lambda conn: tills_repo.catalog_refs(conn, config.code))
        pushed = {
            str(pid): str(sku) for row in rows.values() for sku, pid in (row["refs"].get("products") or {}).items()
        }
        return mapper.LightspeedLookups(
            sku_for_product={**pushed, **configured}, location_for=outlets, outlet_for_register=registers
        )

    connector = LightspeedConnector(
        app,
        client,
        lookups,
        channel=config.code,
        currency=str(settings.get("currency") or "EUR"),
        tax_inclusive=settings.get("tax_inclusive", True) is not False,
    )

    def push_stale() -> None:
        connector.push_stale()

    linked = [outlet for outlet, store in outlets.items() if tuple(config.sources) == (store,)]
    subscribers = [connector.stock_subscriber(linked[0])] if len(linked) == 1 else []
    subscribers.append(connector.catalog_subscriber())
    # A newly wired till is shown the ledger's current numbers at once, not only the next change.
    return Wired(
        subscribers=subscribers,
        handlers=connector.handlers(),
        on_wire=[availability_catch_up(context, config.code, subscribers)],
        jobs=[PeriodicJob(f"{connector.source}:products", SYNC_SECONDS, push_stale)],
    )


def webhook_secrets(settings: Mapping[str, Any]) -> list[str] | None:
    """The client secrets a Lightspeed POS channel's webhooks are verified with, or None when the channel is
    not a Lightspeed one."""
    if settings.get("provider") != PROVIDER:
        return None
    secrets = settings.get("client_secrets") or [settings.get("client_secret")]
    return [str(s) for s in secrets if s]
