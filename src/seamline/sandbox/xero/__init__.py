"""A local Xero organisation: Invoices, CreditNotes and their Allocations, Payments and ManualJournals over
the Accounting API, validated as Xero validates them, idempotent by ``Idempotency-Key``."""

from seamline.sandbox.http import CallRecord, SandboxResponse
from seamline.sandbox.xero.sandbox import FIXTURE_CONTACT, XeroSandbox, XeroSandboxConfig, create_app

__all__ = ["FIXTURE_CONTACT", "CallRecord", "SandboxResponse", "XeroSandbox", "XeroSandboxConfig", "create_app"]
