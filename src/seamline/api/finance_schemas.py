"""Request and response shapes of finance: the accounts mapping, the journal, documents, store-day
settlements and the reconciliation report. Money is a decimal string with its currency beside it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

from seamline.api.order_schemas import Amount, Currency, TenderType
from seamline.api.schemas import Request, Response

AccountCode = Annotated[str, StringConstraints(min_length=1, max_length=32)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class TaxCodeIn(Request):
    code: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    rate: Annotated[str, StringConstraints(pattern=r"^0(\.[0-9]{1,6})?$")] = Field(
        description='a fraction: "0.20" for 20%'
    )
    name: Annotated[str, StringConstraints(max_length=100)] | None = None
    xero_tax_type: Annotated[str, StringConstraints(max_length=50)] | None = None
    qbo_tax_code: Annotated[str, StringConstraints(max_length=50)] | None = None
    account: AccountCode | None = None


class StoreFinanceIn(Request):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    cash_float: Amount | None = Field(default=None, alias="float")


class FinanceConfigIn(Request):
    accounts: dict[str, AccountCode] = Field(default_factory=dict, description="role → account code")
    tender_accounts: dict[str, AccountCode] | None = None
    tax_codes: Annotated[list[TaxCodeIn], Field(max_length=100)] = []
    tax_classes: dict[str, Annotated[str, StringConstraints(min_length=1, max_length=32)]] = Field(
        default_factory=dict, description="a style's tax_class → tax code"
    )
    default_tax_code: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None
    cash_tenders: Annotated[list[TenderType], Field(max_length=20)] | None = None
    processor_tenders: dict[str, Literal["stripe", "square", "adyen"]] | None = None
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    stores: dict[str, StoreFinanceIn] = Field(default_factory=dict)
    gift_card_expiry_months: Annotated[int, Field(strict=True, ge=1, le=600)] | None = Field(
        default=None, description="a gift card expires this many months after it was issued; null: never"
    )
    base_currency: Currency | None = Field(default=None, description="stock is valued at cost in it")

    def as_config(self) -> dict[str, Any]:
        data = self.model_dump(exclude_none=True, by_alias=True)
        if not data.get("tax_codes"):
            data.pop("tax_codes", None)
        return data


class FinanceConfigOut(Response):
    accounts: dict[str, str]
    tender_accounts: dict[str, str]
    tax_codes: list[dict[str, Any]]
    tax_classes: dict[str, str]
    default_tax_code: str
    cash_tenders: list[str]
    processor_tenders: dict[str, str]
    timezone: str
    stores: dict[str, Any]
    gift_card_expiry_months: int | None = None


class JournalLineOut(Response):
    account: str
    debit: str
    credit: str
    memo: str
    tax_code: str | None
    tender: str | None


class JournalEntryOut(Response):
    id: str
    date: str
    currency: str
    memo: str
    total: str
    source: str
    document_id: str | None
    settlement_id: str | None
    store: str | None
    tender: str | None
    lines: list[JournalLineOut]


class JournalList(Response):
    items: list[JournalEntryOut]
    next_cursor: str | None


class DocumentOut(Response):
    id: str
    kind: str
    number: str | None
    currency: str
    issued_on: str
    posting: str
    total: str
    lines: list[dict[str, Any]]
    tenders: list[dict[str, Any]]


class DocumentList(Response):
    items: list[DocumentOut]
    next_cursor: str | None


class CountIn(Request):
    counted: Amount
    currency: Currency
    tender: TenderType = "cash"
    cash_float: Amount | None = Field(default=None, alias="float", description="default: the store's float")
    counted_by: Annotated[str, StringConstraints(max_length=200)] | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CashMovementIn(Request):
    kind: Literal["paid_in", "paid_out"]
    amount: Amount
    currency: Currency
    reason: Text
    tender: TenderType = "cash"
    account: AccountCode | None = Field(default=None, description="default: the paid_in/paid_out role's account")


class ProcessorSettlementIn(Request):
    processor: Literal["stripe", "square", "adyen"] = "stripe"
    tender: TenderType = "card"
    transactions: Any = Field(
        description="Stripe balance transactions (one object, a list, or a list object {object: list, data: [...]}); "
        "Square payout entries (the ListPayoutEntries answer {payout_entries: [...]}, or a list); Adyen's "
        "Settlement details report (its CSV text, or its rows as objects keyed by column)"
    )


class SettlementOut(Response):
    id: str | None
    store: str
    business_date: str
    status: Literal["open", "closed"]
    tenders: list[dict[str, Any]]
    variances: list[dict[str, Any]]
    counts: list[dict[str, Any]]
    cash_movements: list[dict[str, Any]]
    documents: list[dict[str, Any]]
    journal: list[JournalEntryOut]


class ReconciliationOut(Response):
    clean: bool
    checked: dict[str, int]
    differences: list[dict[str, Any]]
    unbalanced_entries: list[str]
    till_documents_awaiting_settlement: int
    #: The gift card liability in the journal against the cards' balances (issue 17), naming the card.
    gift_card_differences: list[dict[str, Any]] = []


class ValuationOut(Response):
    as_of: str | None
    currency: str
    total: str
    units: int
    uncosted_units: int
    locations: list[dict[str, Any]]


class StandardCostIn(Request):
    unit_cost: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    currency: Currency | None = None


class PostPendingIn(Request):
    limit: Annotated[int, Field(strict=True, ge=1, le=5000)] = 500


class PostPendingOut(Response):
    posted: int
    documents: list[dict[str, Any]]


class AccountingConnectionIn(Request):
    kind: Literal["xero", "quickbooks"]
    settings: dict[str, Any] = Field(
        description="base_url (sandbox:<name> for the in-process sandbox), access_token (write-only), "
        "tenant_id (Xero) or realm_id (QuickBooks), and the optional mapping extras of the connector"
    )


class AccountingConnectionOut(Response):
    code: str
    kind: str
    target: str = Field(description="how exports to these books are recorded: <kind>:<code>")
    settings: dict[str, Any]
    wired: bool | None = None
    error: str | None = None


class AccountingConnectionList(Response):
    items: list[AccountingConnectionOut]


class ExportStateOut(Response):
    document_id: str
    number: str | None
    kind: str
    currency: str
    total: str
    status: Literal["pending", "exported", "refused", "dead"]
    external_id: str | None
    messages: list[str]
    acknowledged_total: str | None


class ExportList(Response):
    target: str
    counts: dict[str, int]
    items: list[ExportStateOut]
    next_cursor: str | None


class ContactOut(Response):
    party: str = Field(description="customer:<id>, account:<wholesale account> or cash:<channel>")
    external_id: str = Field(description="the Xero ContactID or QuickBooks Customer Id")
    name: str
    created_at: str


class ContactList(Response):
    target: str
    items: list[ContactOut]


class BackfillIn(Request):
    include_refused: bool = Field(default=False, description="also export again the documents the books refused")
    limit: Annotated[int, Field(strict=True, ge=1, le=5000)] = 500


class BackfillOut(Response):
    target: str
    queued: int
    documents: list[str]
    more: bool


class PayoutImportIn(Request):
    report: Any = Field(
        description="Amazon: the settlement report's flat file V2 text (GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2, "
        "tab separated, header first); Mirakl: TL02's answer {data: [...]} or its transaction lines"
    )


class PayoutImportOut(Response):
    channel: str
    imported: list[dict[str, Any]]
    repeated: list[str]
    discrepancies: list[dict[str, Any]]


class PayoutList(Response):
    items: list[dict[str, Any]]
    discrepancies: list[dict[str, Any]]
