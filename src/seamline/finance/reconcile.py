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


# ---------------------------------------------------------------------------------------------- the channel
@dataclass(frozen=True)
class MoneyDifference:
    """Money that disagrees: a channel's figure against our documents, a document against itself, or our
    document against what an accounting connection acknowledged. Names the document when there is one."""

    check: str  # channel | document | accounting | held
    source: str  # order:<id> | return:<id> | document:<id> | <target>
    problem: str
    currency: str
    theirs: Decimal | None
    ours: Decimal | None
    documents: tuple[str, ...] = ()
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "source": self.source,
            "problem": self.problem,
            "currency": self.currency,
            "theirs": None if self.theirs is None else str(self.theirs),
            "ours": None if self.ours is None else str(self.ours),
            "documents": list(self.documents),
            "detail": self.detail,
        }


def document_consistency(doc: Mapping[str, Any]) -> MoneyDifference | None:
    """A posted document agrees with itself: its stored total, its body's total, its lines and its tenders
    (for a payment or refund). A total edited in one place and not the others is named here."""
    stored = Decimal(str(doc["total"]))
    body = doc["body"]
    totals = {"stored": stored, "body": Decimal(str(body["total"]))}
    lines = body.get("lines") or []
    if lines:
        totals["lines"] = sum((Decimal(str(li["gross"])) for li in lines), Decimal(0))
    if doc["kind"] in ("payment", "refund") and body.get("tenders"):
        totals["tenders"] = sum((Decimal(str(t["amount"])) for t in body["tenders"]), Decimal(0))
    if len(set(totals.values())) == 1:
        return None
    name = doc.get("number") or doc["id"]
    return MoneyDifference(
        "document",
        f"document:{doc['id']}",
        "inconsistent",
        str(doc["currency"]),
        totals.get("lines", totals["body"]),
        stored,
        (str(name),),
        f"{doc['kind']} {name}: " + ", ".join(f"{k} {v}" for k, v in totals.items()),
    )


def compare_channel_totals(
    source: str,
    kind: str,
    currency: str,
    channel_total: Decimal | None,
    documents: Sequence[Mapping[str, Any]],
    *,
    detail: str = "",
) -> MoneyDifference | None:
    """The channel's figure for a source (an order's total, a refund's transactions) against the documents
    we posted for it; None when they agree to the cent (or the channel gave no figure and we posted none)."""
    names = tuple(str(d.get("number") or d["id"]) for d in documents)
    ours = sum((Decimal(str(d["total"])) for d in documents), Decimal(0)) if documents else None
    if channel_total is None:
        return None
    if ours is None:
        if channel_total == 0:
            return None
        return MoneyDifference("channel", source, f"missing {kind}", currency, channel_total, None, (), detail)
    if ours != channel_total:
        return MoneyDifference("channel", source, f"{kind} amount", currency, channel_total, ours, names, detail)
    return None
