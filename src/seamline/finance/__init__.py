"""Finance as an endpoint (DESIGN 7): balanced journal entries, documents derived from the order queue, POS
end-of-day settlement and card processor tie-out. Pure: the standard library and ``seamline.domain`` only."""

from seamline.finance.amounts import allocate, split_inclusive, to_minor
from seamline.finance.chart import FinanceConfig, Role, StoreConfig, TaxCode
from seamline.finance.documents import (
    EXCHANGE_CREDIT,
    Document,
    DocumentKind,
    DocumentLine,
    Posting,
    PricedLine,
    apply_tenders,
    document_entry,
    document_number,
    journal_document,
    priced_lines,
    tender_shares,
)
from seamline.finance.journal import EntryBuilder, JournalEntry, JournalLine, UnbalancedEntry, balanced, trial_balance
from seamline.finance.processors import (
    ProcessorTransaction,
    parse_processor_report,
    parse_stripe_balance_transactions,
)
from seamline.finance.reconcile import Expected, PostingDifference, compare_postings
from seamline.finance.settlement import (
    CashCount,
    CashMovement,
    ProcessorImport,
    SettlementFigures,
    SettlementInput,
    compute,
    journal_entries,
)

__all__ = [
    "EXCHANGE_CREDIT",
    "CashCount",
    "CashMovement",
    "Document",
    "DocumentKind",
    "DocumentLine",
    "EntryBuilder",
    "Expected",
    "FinanceConfig",
    "JournalEntry",
    "JournalLine",
    "PostingDifference",
    "Posting",
    "PricedLine",
    "ProcessorImport",
    "ProcessorTransaction",
    "Role",
    "SettlementFigures",
    "SettlementInput",
    "StoreConfig",
    "TaxCode",
    "UnbalancedEntry",
    "allocate",
    "apply_tenders",
    "balanced",
    "compare_postings",
    "compute",
    "document_entry",
    "document_number",
    "journal_document",
    "journal_entries",
    "parse_processor_report",
    "parse_stripe_balance_transactions",
    "priced_lines",
    "split_inclusive",
    "tender_shares",
    "to_minor",
    "trial_balance",
]
