"""An accounting connection of kind ``xero`` (``PUT /v1/finance/accounting/{code}``) becomes the subscriber
that posts every finance document to that Xero organisation (see ``seamline.channels.wiring``).

Settings: ``base_url`` (``https://api.xero.com/api.xro/2.0``, or ``sandbox:<name>`` for the in-process
sandbox, refused in production), ``access_token``, ``tenant_id``; optional ``contacts`` (channel → ContactID),
``due_days`` (order kind → days), ``accounts`` (our account code → the organisation's, where they differ),
``tracking_category`` (store codes, on settlement journals) and
``receivables`` (``per_customer``, the default: a contact per customer and wholesale account, created once;
``per_channel``: every document on its channel's contact, as before)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seamline.channels import sandboxes
from seamline.channels.wiring import SANDBOX_SCHEME, ChannelConfig, Wired, WiringContext
from seamline.channels.xero.client import XeroClient, XeroConfig
from seamline.channels.xero.connector import XeroExporter, XeroSettings, accounting_subscriber
from seamline.sandbox.xero import XeroSandbox, XeroSandboxConfig
from seamline.service.finance import FinanceDesk
from seamline.service.receivables import ReceivableParties
from seamline.store.accounting_repo import WIRING_PREFIX


def sandbox(url: str, settings: Mapping[str, Any] | None = None) -> XeroSandbox:
    """The in-process Xero organisation a ``sandbox:`` URL names (one per name in this process)."""

    def make() -> XeroSandbox:
        given = settings or {}
        config = XeroSandboxConfig(
            access_token=str(given.get("access_token") or XeroSandboxConfig.access_token),
            tenant_id=str(given.get("tenant_id") or XeroSandboxConfig.tenant_id),
        )
        return XeroSandbox(config)

    return sandboxes.instance("xero", url, XeroSandbox, make)


def missing(settings: Mapping[str, Any]) -> list[str]:
    return [key for key in ("base_url", "access_token", "tenant_id") if not settings.get(key)]


def per_customer(context: WiringContext, settings: Mapping[str, Any]) -> ReceivableParties | None:
    """Receivables per customer and wholesale account (the default), or per channel when the connection's
    ``receivables`` setting says ``per_channel``."""
    return None if settings.get("receivables") == "per_channel" else ReceivableParties(context.app)


def build(context: WiringContext, config: ChannelConfig) -> Wired | None:
    settings = config.settings
    name = config.code.removeprefix(WIRING_PREFIX)
    base_url = str(settings["base_url"])
    transport = None
    if context.check_url(config.code, "base_url", base_url):
        transport = sandbox(base_url, settings).transport()
        base_url = "http://" + base_url.removeprefix(SANDBOX_SCHEME).strip("/") + ".xero.sandbox/api.xro/2.0"
    client = XeroClient(
        XeroConfig(base_url, str(settings["access_token"]), str(settings["tenant_id"])), transport=transport
    )
    desk = FinanceDesk(context.app)
    exporter = XeroExporter(
        client,
        desk,
        desk.current_config,
        XeroSettings(
            name=name,
            environment=context.app.settings.env,
            contacts={str(k): str(v) for k, v in (settings.get("contacts") or {}).items()},
            due_days={str(k): int(v) for k, v in (settings.get("due_days") or {"wholesale": 30}).items()},
            tracking_category=settings.get("tracking_category"),
            accounts={str(k): str(v) for k, v in (settings.get("accounts") or {}).items()},
        ),
        parties=per_customer(context, settings),
    )
    return Wired(subscribers=[accounting_subscriber(exporter)])
