"""An accounting connection of kind ``quickbooks`` (``PUT /v1/finance/accounting/{code}``) becomes the
subscriber that posts every finance document to that QuickBooks Online company (see
``seamline.channels.wiring``).

Settings: ``base_url`` (``https://quickbooks.api.intuit.com``, or ``sandbox:<name>`` for the in-process
sandbox, refused in production), ``access_token``, ``realm_id``; optional ``customers`` (channel → customer
id), ``default_customer``, ``sales_item``, ``returns_item``, ``accounts`` (our code → QuickBooks account id),
``due_days``, ``sales_receipts`` (a web order paid at once as a SalesReceipt, default true), ``receivables``
(``per_customer``, the default: a QuickBooks customer per customer and wholesale account, created once;
``per_channel``: every document on its channel's customer) and ``batch`` (documents posted up to 30 at a time
through ``POST /batch``, default true)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seamline.channels import sandboxes
from seamline.channels.quickbooks.client import QuickBooksClient, QuickBooksConfig
from seamline.channels.quickbooks.connector import QuickBooksExporter, QuickBooksSettings, accounting_subscriber
from seamline.channels.quickbooks.mapper import QuickBooksRefs
from seamline.channels.wiring import SANDBOX_SCHEME, ChannelConfig, Wired, WiringContext
from seamline.sandbox.quickbooks import QuickBooksSandbox, QuickBooksSandboxConfig
from seamline.service.finance import FinanceDesk
from seamline.service.receivables import ReceivableParties
from seamline.store.accounting_repo import WIRING_PREFIX


def sandbox(url: str, settings: Mapping[str, Any] | None = None) -> QuickBooksSandbox:
    """The in-process QuickBooks company a ``sandbox:`` URL names (one per name in this process)."""

    def make() -> QuickBooksSandbox:
        given = settings or {}
        defaults = QuickBooksSandboxConfig()
        config = QuickBooksSandboxConfig(
            realm_id=str(given.get("realm_id") or defaults.realm_id),
            access_token=str(given.get("access_token") or defaults.access_token),
        )
        return QuickBooksSandbox(config)

    return sandboxes.instance("quickbooks", url, QuickBooksSandbox, make)


def _strings(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


def missing(settings: Mapping[str, Any]) -> list[str]:
    return [key for key in ("base_url", "access_token", "realm_id") if not settings.get(key)]


def build(context: WiringContext, config: ChannelConfig) -> Wired | None:
    settings = config.settings
    base_url = str(settings["base_url"])
    transport = None
    if context.check_url(config.code, "base_url", base_url):
        transport = sandbox(base_url, settings).transport()
        base_url = "http://" + base_url.removeprefix(SANDBOX_SCHEME).strip("/") + ".qbo.sandbox"
    client = QuickBooksClient(
        QuickBooksConfig(base_url, str(settings["realm_id"]), str(settings["access_token"])), transport=transport
    )
    refs = QuickBooksRefs(
        customers=_strings(settings.get("customers")),
        default_customer=str(settings.get("default_customer") or "1"),
        sales_item=str(settings.get("sales_item") or "1"),
        returns_item=str(settings.get("returns_item") or "2"),
        accounts=_strings(settings.get("accounts")),
    )
    desk = FinanceDesk(context.app)
    exporter = QuickBooksExporter(
        client,
        desk,
        desk.current_config,
        QuickBooksSettings(
            name=config.code.removeprefix(WIRING_PREFIX),
            environment=context.app.settings.env,
            refs=refs,
            due_days={str(k): int(v) for k, v in (settings.get("due_days") or {"wholesale": 30}).items()},
            sales_receipts=bool(settings.get("sales_receipts", True)),
        ),
        parties=None if settings.get("receivables") == "per_channel" else ReceivableParties(context.app),
    )
    return Wired(subscribers=[accounting_subscriber(exporter, batch=bool(settings.get("batch", True)))])
