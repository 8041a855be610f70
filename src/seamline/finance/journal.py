"""Balanced journal entries (DESIGN 7): every entry's debits equal its credits, in one currency, to the cent.

An entry is built from signed amounts (positive debits, negative credits) so the code that derives it from
a business event reads like the accountant's T-account; ``build`` refuses an entry that does not balance,
which makes an unbalanced posting a bug caught at the source, never a row in the journal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from seamline.domain.errors import Conflict
from seamline.finance.amounts import ZERO, quantum, to_minor


class UnbalancedEntry(Conflict):
    """Debits and credits differ: a bug in a posting rule. Nothing is written."""

    default_code = "unbalanced-entry"


@dataclass(frozen=True)
class JournalLine:
    account: str
    debit: Decimal
    credit: Decimal
    memo: str
    tax_code: str | None = None
    tender: str | None = None

    @property
    def signed(self) -> Decimal:
        return self.debit - self.credit

    def as_json(self, currency: str) -> dict[str, Any]:
        q = quantum(currency)
        return {
            "account": self.account,
            "debit": str(self.debit.quantize(q)),
            "credit": str(self.credit.quantize(q)),
            "memo": self.memo,
            "tax_code": self.tax_code,
            "tender": self.tender,
        }


@dataclass(frozen=True)
class JournalEntry:
    entry_date: date
    currency: str
    memo: str
    lines: tuple[JournalLine, ...]
    #: What caused it: ``document:<id>`` or ``settlement:<id>:<tender>:<currency>``; unique in the journal.
    source_key: str
    store: str | None = None
    tender: str | None = None

    @property
    def total(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)

    def as_json(self) -> dict[str, Any]:
        return {
            "date": self.entry_date.isoformat(),
            "currency": self.currency,
            "memo": self.memo,
            "source": self.source_key,
            "store": self.store,
            "tender": self.tender,
            "total": str(self.total.quantize(quantum(self.currency))),
            "lines": [line.as_json(self.currency) for line in self.lines],
        }


@dataclass
class EntryBuilder:
    entry_date: date
    currency: str
    memo: str
    source_key: str
    store: str | None = None
    tender: str | None = None
    _lines: list[JournalLine] = field(default_factory=list)

    def post(
        self, account: str, amount: Decimal, memo: str, *, tax_code: str | None = None, tender: str | None = None
    ) -> EntryBuilder:
        """A signed amount: positive is a debit, negative a credit, zero is left out."""
        amount = to_minor(amount, self.currency)
        if amount > 0:
            self._lines.append(JournalLine(account, amount, ZERO, memo, tax_code, tender))
        elif amount < 0:
            self._lines.append(JournalLine(account, ZERO, -amount, memo, tax_code, tender))
        return self

    def debit(self, account: str, amount: Decimal, memo: str, **kw: Any) -> EntryBuilder:
        return self.post(account, amount, memo, **kw)

    def credit(self, account: str, amount: Decimal, memo: str, **kw: Any) -> EntryBuilder:
        return self.post(account, -amount, memo, **kw)

    def build(self) -> JournalEntry:
        return balanced(
            JournalEntry(
                self.entry_date,
                self.currency,
                self.memo,
                tuple(self._lines),
                self.source_key,
                self.store,
                self.tender,
            )
        )


def balanced(entry: JournalEntry) -> JournalEntry:
    """The entry itself when it balances and every line is one-sided, positive and at the currency's
    precision; else ``UnbalancedEntry``."""
    q = quantum(entry.currency)
    for line in entry.lines:
        one_sided = (line.debit > 0) != (line.credit > 0) and min(line.debit, line.credit) == 0
        if not one_sided or line.debit != line.debit.quantize(q) or line.credit != line.credit.quantize(q):
            raise UnbalancedEntry(f"{entry.source_key}: line {line} is not a one-sided amount in {entry.currency}")
    debits = sum((line.debit for line in entry.lines), ZERO)
    credits = sum((line.credit for line in entry.lines), ZERO)
    if debits != credits:
        raise UnbalancedEntry(
            f"{entry.source_key}: debits {debits} and credits {credits} {entry.currency} differ by {debits - credits}"
        )
    return entry


def trial_balance(entries: Sequence[JournalEntry]) -> dict[tuple[str, str], Decimal]:
    """(account, currency) → signed balance (debits positive) over these entries."""
    out: dict[tuple[str, str], Decimal] = {}
    for entry in entries:
        for line in entry.lines:
            key = (line.account, entry.currency)
            out[key] = out.get(key, ZERO) + line.signed
    return out
