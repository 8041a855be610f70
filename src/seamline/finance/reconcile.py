"""Posting completeness (DESIGN 8's "posting completeness"): every closed sale and every return has exactly
one posted document, every shipped unit is invoiced once, and the amounts agree to the cent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Expected:
    """What the order queue says a source should have posted: ``count`` documents (None: at least one)
    adding up to ``total``."""

    source: str  # order:<id> | return:<id> | shipment:<order id>
    kind: str
    currency: str
    total: Decimal
    count: int | None = 1


@dataclass(frozen=True)
class PostingDifference:
    source: str
    kind: str
    currency: str
    expected_total: Decimal | None
    posted_total: Decimal | None
    documents: int
    problem: str  # missing | duplicate | amount | unexpected

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "currency": self.currency,
            "expected_total": None if self.expected_total is None else str(self.expected_total),
            "posted_total": None if self.posted_total is None else str(self.posted_total),
            "documents": self.documents,
            "problem": self.problem,
        }


def compare_postings(
    expected: Sequence[Expected], posted: Mapping[tuple[str, str], Sequence[Decimal]]
) -> list[PostingDifference]:
    """``posted`` maps (source, kind) to the totals of the documents posted for it."""
    out: list[PostingDifference] = []
    seen: set[tuple[str, str]] = set()
    for exp in expected:
        key = (exp.source, exp.kind)
        seen.add(key)
        totals = list(posted.get(key, ()))
        total = sum(totals, Decimal(0)) if totals else None
        if not totals:
            if exp.total or exp.count:
                out.append(PostingDifference(exp.source, exp.kind, exp.currency, exp.total, None, 0, "missing"))
            continue
        if exp.count is not None and len(totals) != exp.count:
            out.append(
                PostingDifference(exp.source, exp.kind, exp.currency, exp.total, total, len(totals), "duplicate")
            )
        elif total != exp.total:
            out.append(PostingDifference(exp.source, exp.kind, exp.currency, exp.total, total, len(totals), "amount"))
    for key, found in sorted(posted.items()):
        if key not in seen:
            out.append(PostingDifference(key[0], key[1], "", None, sum(found, Decimal(0)), len(found), "unexpected"))
    return out
