"""The chart-of-accounts and tax-code mapping, configured once per installation (``PUT /v1/finance/config``).

Seamline speaks in account *roles* (revenue, discounts, the tax payable, each tender's clearing account...);
this mapping turns them into the codes of the brand's own ledger, which Xero and QuickBooks share. Prices
are tax-inclusive (a till's tenders pay exactly the line total), so tax is taken out of each line at the
rate of the tax code its style's ``tax_class`` maps to.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from seamline.domain.errors import FieldError, InvalidInput


class Role(StrEnum):
    REVENUE = "revenue"
    DISCOUNTS = "discounts"
    RETURNS = "returns"
    RECEIVABLE = "receivable"
    TAX = "tax"
    #: Where counted cash goes at the end of the day (the safe, then the bank): the drawer's takings.
    CASH_DEPOSIT = "cash_deposit"
    OVER_SHORT = "over_short"
    PAID_IN = "paid_in"
    PAID_OUT = "paid_out"
    PROCESSOR_FEES = "processor_fees"
    PROCESSOR_RECEIVABLE = "processor_receivable"
    PROCESSOR_VARIANCE = "processor_variance"
    #: Any tender without an account of its own (a channel's payment, a gift card provider).
    TENDER_CLEARING = "tender_clearing"
    #: What the brand owes gift card holders (issue 17): the sum of open card balances.
    GIFT_CARDS = "gift_cards"
    #: Income from gift card balances that expired unused.
    GIFT_CARD_BREAKAGE = "gift_card_breakage"
    #: Cost of goods (``finance.cost``): stock at cost, what it cost to sell, what was lost or written off,
    #: and goods received at cost not yet invoiced by the supplier (the supplier's bill clears it).
    INVENTORY = "inventory"
    COGS = "cogs"
    SHRINKAGE = "shrinkage"
    GOODS_RECEIVED = "goods_received"
    #: Marketplace payouts (``finance.payouts``): the bank account they are deposited in, and the
    #: marketplace's commissions and fees taken from them.
    MARKETPLACE_BANK = "marketplace_bank"
    MARKETPLACE_FEES = "marketplace_fees"
    #: The other side of a revaluation at cost (units received at 0 revalued once their cost is known).
    COST_REVALUATION = "cost_revaluation"


DEFAULT_ACCOUNTS: dict[str, str] = {
    Role.REVENUE: "4000",
    Role.DISCOUNTS: "4010",
    Role.RETURNS: "4020",
    Role.RECEIVABLE: "1100",
    Role.TAX: "2200",
    Role.CASH_DEPOSIT: "1000",
    Role.OVER_SHORT: "6110",
    Role.PAID_IN: "4900",
    Role.PAID_OUT: "6120",
    Role.PROCESSOR_FEES: "6100",
    Role.PROCESSOR_RECEIVABLE: "1010",
    Role.PROCESSOR_VARIANCE: "6130",
    Role.TENDER_CLEARING: "1090",
    Role.GIFT_CARDS: "2170",
    Role.GIFT_CARD_BREAKAGE: "4930",
    Role.INVENTORY: "1300",
    Role.COGS: "5000",
    Role.SHRINKAGE: "5100",
    Role.GOODS_RECEIVED: "2120",
    Role.MARKETPLACE_BANK: "1020",
    Role.MARKETPLACE_FEES: "6150",
    Role.COST_REVALUATION: "5150",
}
DEFAULT_TENDER_ACCOUNTS = {"exchange_credit": "2150", "gift_card": "2160"}
ACCOUNT_CODE_RE = re.compile(r"^[A-Za-z0-9._\-]{1,32}$")
TAX_CODE_RE = re.compile(r"^[A-Za-z0-9._\-]{1,32}$")


@dataclass(frozen=True)
class TaxCode:
    code: str
    rate: Decimal
    name: str
    #: Xero's ``TaxType`` (``OUTPUT2``, ``NONE``...) and QuickBooks Online's ``TaxCodeRef`` value.
    xero_tax_type: str = "NONE"
    qbo_tax_code: str = "NON"
    #: The liability account this tax is owed on; the ``tax`` role's account when not set.
    account: str | None = None


@dataclass(frozen=True)
class StoreConfig:
    timezone: str = "UTC"
    #: Cash left in the drawer overnight: counted with the takings, never deposited.
    float: Decimal = Decimal(0)


NO_TAX = TaxCode("NONE", Decimal(0), "No tax")


@dataclass(frozen=True)
class FinanceConfig:
    accounts: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ACCOUNTS))
    tender_accounts: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_TENDER_ACCOUNTS))
    tax_codes: Mapping[str, TaxCode] = field(default_factory=lambda: {NO_TAX.code: NO_TAX})
    #: A style's ``tax_class`` → tax code; styles without a class (or an unmapped one) use the default.
    tax_classes: Mapping[str, str] = field(default_factory=dict)
    default_tax_code: str = NO_TAX.code
    cash_tenders: frozenset[str] = frozenset({"cash"})
    #: Tenders settled by a card processor, and which one: their day is tied out to its settlement.
    processor_tenders: Mapping[str, str] = field(default_factory=lambda: {"card": "stripe"})
    #: The business day of documents that belong to no store (invoices, their payments).
    timezone: str = "UTC"
    stores: Mapping[str, StoreConfig] = field(default_factory=dict)
    #: The brand's gift card policy: a card expires this many months after it was issued (None: never).
    gift_card_expiry_months: int | None = None
    #: The brand's base currency: stock is valued at cost in it (receipts' unit costs are given in it).
    base_currency: str = "EUR"

    # -------------------------------------------------------------------------------- lookups
    def account(self, role: Role | str) -> str:
        return self.accounts.get(str(role)) or DEFAULT_ACCOUNTS[Role(role)]

    def tender_account(self, tender: str) -> str:
        """Cash lands in the drawer, cards in the processor's receivable, anything else in its own
        clearing account (or the shared one)."""
        if tender in self.tender_accounts:
            return self.tender_accounts[tender]
        if tender in self.cash_tenders:
            return self.account(Role.CASH_DEPOSIT)
        if tender in self.processor_tenders:
            return self.account(Role.PROCESSOR_RECEIVABLE)
        return self.account(Role.TENDER_CLEARING)

    def tax_code(self, code: str | None) -> TaxCode:
        return self.tax_codes.get(code or self.default_tax_code) or self.tax_codes[self.default_tax_code]

    def tax_for_class(self, tax_class: str | None) -> TaxCode:
        return self.tax_code(self.tax_classes.get(tax_class or "") or self.default_tax_code)

    def tax_account(self, code: str) -> str:
        tax = self.tax_codes.get(code)
        return (tax.account if tax is not None else None) or self.account(Role.TAX)

    def store(self, code: str | None) -> StoreConfig:
        return self.stores.get(code or "") or StoreConfig(timezone=self.timezone)

    def business_date(self, at: datetime, store: str | None = None) -> date:
        """The calendar day ``at`` falls on where it happened (the store's zone, else the company's)."""
        zone = self.store(store).timezone if store else self.timezone
        return at.astimezone(ZoneInfo(zone)).date()

    def day_bounds(self, day: date, store: str | None = None) -> tuple[datetime, datetime]:
        zone = ZoneInfo(self.store(store).timezone if store else self.timezone)
        start = datetime.combine(day, time(0), tzinfo=zone)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        return start, end

    # -------------------------------------------------------------------------------- JSON
    def as_json(self) -> dict[str, Any]:
        return {
            "accounts": {role.value: self.account(role) for role in Role},
            "tender_accounts": dict(sorted(self.tender_accounts.items())),
            "tax_codes": [
                {
                    "code": t.code,
                    "rate": str(t.rate),
                    "name": t.name,
                    "xero_tax_type": t.xero_tax_type,
                    "qbo_tax_code": t.qbo_tax_code,
                    "account": t.account,
                }
                for t in sorted(self.tax_codes.values(), key=lambda t: t.code)
            ],
            "tax_classes": dict(sorted(self.tax_classes.items())),
            "default_tax_code": self.default_tax_code,
            "cash_tenders": sorted(self.cash_tenders),
            "processor_tenders": dict(sorted(self.processor_tenders.items())),
            "timezone": self.timezone,
            "base_currency": self.base_currency,
            "stores": {
                code: {"timezone": s.timezone, "float": str(s.float)} for code, s in sorted(self.stores.items())
            },
            "gift_card_expiry_months": self.gift_card_expiry_months,
        }

    @classmethod
    def from_json(cls, data: Any) -> FinanceConfig:
        """Validate a configuration, naming every bad field; unknown roles are refused (a typo would post to
        the default account silently)."""
        errors: list[FieldError] = []
        if not isinstance(data, Mapping):
            raise InvalidInput("the finance configuration is a JSON object", [FieldError("body", "must be an object")])
        accounts = _codes(data.get("accounts", {}), "accounts", errors)
        for role in accounts:
            if role not in {r.value for r in Role}:
                errors.append(FieldError(f"accounts.{role}", f"is not a role ({', '.join(r.value for r in Role)})"))
        tender_accounts = _codes(data.get("tender_accounts", DEFAULT_TENDER_ACCOUNTS), "tender_accounts", errors)
        tax_codes: dict[str, TaxCode] = {}
        raw_taxes = data.get("tax_codes", [])
        if not isinstance(raw_taxes, list):
            errors.append(FieldError("tax_codes", "must be a list"))
            raw_taxes = []
        for i, raw in enumerate(raw_taxes):
            tax = _tax_code(raw, f"tax_codes[{i}]", errors)
            if tax is not None:
                if tax.code in tax_codes:
                    errors.append(FieldError(f"tax_codes[{i}].code", f"{tax.code} is listed twice"))
                tax_codes[tax.code] = tax
        if not tax_codes:
            tax_codes[NO_TAX.code] = NO_TAX
        default_tax = data.get("default_tax_code", next(iter(tax_codes)) if len(tax_codes) == 1 else NO_TAX.code)
        if default_tax not in tax_codes:
            errors.append(FieldError("default_tax_code", f"{default_tax!r} is not one of the tax codes"))
        tax_classes = _strings(data.get("tax_classes", {}), "tax_classes", errors)
        for name, code in tax_classes.items():
            if code not in tax_codes:
                errors.append(FieldError(f"tax_classes.{name}", f"{code!r} is not one of the tax codes"))
        cash = data.get("cash_tenders", ["cash"])
        if not isinstance(cash, list) or not all(isinstance(t, str) and t for t in cash):
            errors.append(FieldError("cash_tenders", "must be a list of tender types"))
            cash = ["cash"]
        processors = _strings(data.get("processor_tenders", {"card": "stripe"}), "processor_tenders", errors)
        timezone = data.get("timezone", "UTC")
        if not _zone_ok(timezone):
            errors.append(FieldError("timezone", "must be an IANA time zone such as Europe/London"))
        stores: dict[str, StoreConfig] = {}
        raw_stores = data.get("stores", {})
        if not isinstance(raw_stores, Mapping):
            errors.append(FieldError("stores", "must be an object keyed by location code"))
            raw_stores = {}
        for code, raw in raw_stores.items():
            where = f"stores.{code}"
            if not isinstance(raw, Mapping):
                errors.append(FieldError(where, "must be an object"))
                continue
            zone = raw.get("timezone", timezone)
            if not _zone_ok(zone):
                errors.append(FieldError(f"{where}.timezone", "must be an IANA time zone"))
                continue
            float_ = _decimal(raw.get("float", "0"), f"{where}.float", errors)
            if float_ is not None and float_ < 0:
                errors.append(FieldError(f"{where}.float", "must not be negative"))
            stores[str(code)] = StoreConfig(zone, float_ or Decimal(0))
        expiry = data.get("gift_card_expiry_months")
        if expiry is not None and (isinstance(expiry, bool) or not isinstance(expiry, int) or not 1 <= expiry <= 600):
            errors.append(FieldError("gift_card_expiry_months", "is a whole number of months (1-600), or null: never"))
            expiry = None
        base_currency = data.get("base_currency", "EUR")
        if not isinstance(base_currency, str) or not re.fullmatch(r"[A-Z]{3}", base_currency):
            errors.append(FieldError("base_currency", "must be an ISO 4217 code such as EUR"))
            base_currency = "EUR"
        if errors:
            raise InvalidInput("the finance configuration is not valid", errors)
        return cls(
            accounts={**DEFAULT_ACCOUNTS, **accounts},
            tender_accounts=tender_accounts,
            tax_codes=tax_codes,
            tax_classes=tax_classes,
            default_tax_code=str(default_tax),
            cash_tenders=frozenset(cash),
            processor_tenders=processors,
            timezone=str(timezone),
            stores=stores,
            gift_card_expiry_months=expiry,
            base_currency=base_currency,
        )


def _zone_ok(name: Any) -> bool:
    if not isinstance(name, str) or not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _strings(raw: Any, where: str, errors: list[FieldError]) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        errors.append(FieldError(where, "must be an object of strings"))
        return {}
    out: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(value, str) or not value:
            errors.append(FieldError(f"{where}.{key}", "must be a non-empty string"))
            continue
        out[str(key)] = value
    return out


def _codes(raw: Any, where: str, errors: list[FieldError]) -> dict[str, str]:
    out = _strings(raw, where, errors)
    for key, value in list(out.items()):
        if not ACCOUNT_CODE_RE.match(value):
            errors.append(FieldError(f"{where}.{key}", "an account code is 1-32 letters, digits or . _ -"))
            del out[key]
    return out


def _decimal(raw: Any, where: str, errors: list[FieldError]) -> Decimal | None:
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        errors.append(FieldError(where, 'must be a decimal string such as "0.20"'))
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        errors.append(FieldError(where, "is not a decimal number"))
        return None
    if not value.is_finite():
        errors.append(FieldError(where, "must be finite"))
        return None
    return value


def _tax_code(raw: Any, where: str, errors: list[FieldError]) -> TaxCode | None:
    if not isinstance(raw, Mapping):
        errors.append(FieldError(where, "must be an object"))
        return None
    code = raw.get("code")
    if not isinstance(code, str) or not TAX_CODE_RE.match(code):
        errors.append(FieldError(f"{where}.code", "is 1-32 letters, digits or . _ -"))
        return None
    rate = _decimal(raw.get("rate"), f"{where}.rate", errors)
    if rate is None:
        return None
    if not Decimal(0) <= rate < Decimal(1):
        errors.append(FieldError(f"{where}.rate", "is a fraction: 0.20 for 20%"))
        return None
    account = raw.get("account")
    if account is not None and (not isinstance(account, str) or not ACCOUNT_CODE_RE.match(account)):
        errors.append(FieldError(f"{where}.account", "an account code is 1-32 letters, digits or . _ -"))
        return None
    names = {k: raw.get(k) for k in ("name", "xero_tax_type", "qbo_tax_code")}
    for key, value in names.items():
        if value is not None and not isinstance(value, str):
            errors.append(FieldError(f"{where}.{key}", "must be a string"))
            return None
    return TaxCode(
        code,
        rate,
        str(names["name"] or code),
        str(names["xero_tax_type"] or "NONE"),
        str(names["qbo_tax_code"] or "NON"),
        account,
    )
