"""A local QuickBooks Online company: Invoice, SalesReceipt, CreditMemo, Payment and JournalEntry over the
Accounting API v3, validated as QuickBooks validates them, idempotent by ``requestid``."""

from seamline.sandbox.http import CallRecord, SandboxResponse
from seamline.sandbox.quickbooks.sandbox import QuickBooksSandbox, QuickBooksSandboxConfig, create_app

__all__ = ["CallRecord", "QuickBooksSandbox", "QuickBooksSandboxConfig", "SandboxResponse", "create_app"]
