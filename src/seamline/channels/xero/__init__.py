"""Xero as an accounting endpoint (DESIGN 7): invoices, credit notes and their allocations, payments and
settlement journals, each posted once, idempotently, with our document number as Xero's reference."""

from seamline.channels.xero.client import PRODUCTION_URL, XeroClient, XeroConfig
from seamline.channels.xero.connector import XeroExporter, XeroSettings, accounting_subscriber

__all__ = [
    "PRODUCTION_URL",
    "XeroClient",
    "XeroConfig",
    "XeroExporter",
    "XeroSettings",
    "accounting_subscriber",
]
