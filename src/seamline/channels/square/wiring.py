"""A POS channel whose ``settings.provider`` is ``square`` becomes the Square connector (see
``seamline.channels.wiring``); other POS channels (a till using ``POST /v1/sales`` directly) wire nothing.

Settings: ``base_url`` (``https://connect.squareup.com``, or ``sandbox:<name>`` for the in-process sandbox,
refused in production), ``access_token``, ``signature_key`` (the webhook subscription's), ``notification_url``
(exactly as configured at Square: it is signed), ``locations`` (Square location id → store location code)
and ``currency`` (the stores' price currency, default EUR).

Wired: the inbox handlers for ``square:<channel>`` (``order.updated``, ``inventory.count.updated``), a
subscriber pushing catalog and price changes (``StoreCatalogChanged``), one pushing the channel's stock
numbers as the till's counts (``AvailabilityChanged``, when the channel sources the one store a Square
location is linked to), and a periodic job that answers count drift with the ledger's number and pushes
styles Square has not got in their current version."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seamline.channels import sandboxes
from seamline.channels.square import mapper
from seamline.channels.square.client import SquareClient, SquareConfig
from seamline.channels.square.connector import SquareConnector, refs_from_json
from seamline.channels.wiring import SANDBOX_SCHEME, ChannelConfig, PeriodicJob, Wired, WiringContext
from seamline.domain.errors import FieldError, InvalidInput
from seamline.sandbox.square import SquareSandbox
from seamline.sandbox.square.sandbox import SquareSandboxConfig
from seamline.store import tills_repo

PROVIDER = "square"
SYNC_SECONDS = 30.0


def missing(settings: Mapping[str, Any]) -> list[str]:
    """The settings a Square till still needs; a till without ``provider`` posts its sales itself (manual)."""
    if settings.get("provider") != PROVIDER:
        return []
    needed = ("base_url", "access_token", "signature_key", "notification_url", "locations")
    return [key for key in needed if not settings.get(key)]


def sandbox(url: str, settings: Mapping[str, Any] | None = None) -> SquareSandbox:
    """The in-process Square seller named by a ``sandbox:`` URL: one per name in this process, so the demo
    and the tests ring up sales on the same seller the connector talks to."""

    def make() -> SquareSandbox:
        given = settings or {}
        config = SquareSandboxConfig()
        config.access_token = str(given.get("access_token") or config.access_token)
        config.signature_key = str(given.get("signature_key") or config.signature_key)
        config.notification_url = str(given.get("notification_url") or config.notification_url)
        config.locations = {str(k): str(v) for k, v in (given.get("locations") or config.locations).items()}
        return SquareSandbox(config)

    return sandboxes.instance("square", url, SquareSandbox, make)


def settings_of(config: ChannelConfig) -> dict[str, Any]:
    settings = dict(config.settings)
    missing = [k for k in ("base_url", "access_token", "signature_key", "notification_url") if not settings.get(k)]
    locations = settings.get("locations")
    errors = [FieldError(f"settings.{k}", "is required for a Square till") for k in missing]
    if not isinstance(locations, Mapping) or not locations:
        errors.append(FieldError("settings.locations", "maps Square location ids to store codes"))
    if errors:
        raise InvalidInput(f"channel {config.code}: Square settings are incomplete", errors)
    return settings


def build(context: WiringContext, config: ChannelConfig) -> Wired | None:
    if config.settings.get("provider") != PROVIDER:
        return None
    settings = settings_of(config)
    base_url = str(settings["base_url"])
    transport = None
    if context.check_url(config.code, "base_url", base_url):
        transport = sandbox(base_url, settings).transport()
        base_url = "http://" + base_url.removeprefix(SANDBOX_SCHEME).strip("/") + ".square.sandbox"
    client = SquareClient(SquareConfig(base_url, str(settings["access_token"])), transport=transport)
    locations = {str(k): str(v) for k, v in settings["locations"].items()}
    app = context.app

    cached: list[tuple[tuple[int, int, Any], mapper.SquareLookups]] = []

    def lookups() -> mapper.SquareLookups:
        """Read again only when the catalog refs changed: a stock push of a whole catalog asks for every
        call of 100 counts, and parsing every style's refs each time cost more than the calls."""
        version = app.read(lambda conn: tills_repo.catalog_refs_version(conn, config.code))
        if cached and cached[0][0] == version:
            return cached[0][1]
        rows = app.read(lambda conn: tills_repo.catalog_refs(conn, config.code))
        skus = {
            variation: sku
            for row in rows.values()
            for sku, (variation, _) in refs_from_json(row["refs"]).variations.items()
        }
        found = mapper.SquareLookups(sku_for_variation=skus, location_for=locations)
        cached[:] = [(version, found)]
        return found

    connector = SquareConnector(
        app,
        client,
        lookups,
        channel=config.code,
        currency=str(settings.get("currency") or "EUR"),
        record_drift=True,
    )

    def sync() -> None:
        connector.repush_drifts()
        connector.push_stale()

    subscribers = [connector.catalog_subscriber()]
    # The channel's number is one store's when it sources one store that a Square location is linked to.
    linked = [square for square, store in locations.items() if tuple(config.sources) == (store,)]
    if len(linked) == 1:
        subscribers.append(connector.stock_subscriber(linked[0]))
    return Wired(
        subscribers=subscribers,
        handlers=connector.handlers(),
        jobs=[PeriodicJob(f"{connector.source}:sync", SYNC_SECONDS, sync)],
    )


def webhook_settings(settings: Mapping[str, Any]) -> tuple[list[str], str] | None:
    """The signature keys (a list during a rotation) and the notification URL a Square POS channel's
    webhooks are verified with, or None when the channel is not a Square one."""
    if settings.get("provider") != PROVIDER:
        return None
    keys = settings.get("signature_keys") or [settings.get("signature_key")]
    return [str(k) for k in keys if k], str(settings.get("notification_url") or "")
