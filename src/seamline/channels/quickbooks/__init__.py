"""QuickBooks Online as an accounting endpoint (DESIGN 7): Invoice or SalesReceipt, Payment, CreditMemo and
JournalEntry, each posted once, idempotently, with our document number as ``DocNumber``."""

from seamline.channels.quickbooks.client import PRODUCTION_URL, SANDBOX_URL, QuickBooksClient, QuickBooksConfig
from seamline.channels.quickbooks.connector import (
    QuickBooksExporter,
    QuickBooksSettings,
    accounting_subscriber,
)
from seamline.channels.quickbooks.mapper import QuickBooksRefs

__all__ = [
    "PRODUCTION_URL",
    "SANDBOX_URL",
    "QuickBooksClient",
    "QuickBooksConfig",
    "QuickBooksExporter",
    "QuickBooksRefs",
    "QuickBooksSettings",
    "accounting_subscriber",
]
