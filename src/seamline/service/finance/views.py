"""Finance rows as the API's JSON: amounts to their currency's cents, times in UTC."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from seamline.domain.clock import iso_utc
from seamline.finance.amounts import quantum


def money_text(value: Decimal, currency: str) -> str:
    return str(value.quantize(quantum(currency)))


def iso_or_none(value: datetime | None) -> str | None:
    return None if value is None else iso_utc(value)


def document_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in doc.items() if k not in ("seq", "created_at", "source")}
    out["source"] = doc.get("source")
    out["created_at"] = iso_or_none(doc.get("created_at"))
    return out


def entry_view(row: Mapping[str, Any]) -> dict[str, Any]:
    cur = row["currency"]
    return {
        "id": row["id"],
        "date": row["entry_date"].isoformat(),
        "currency": cur,
        "memo": row["memo"],
        "total": money_text(row["total"], cur),
        "source": row["source_key"],
        "document_id": row["document_id"],
        "settlement_id": row["settlement_id"],
        "store": row["store"],
        "tender": row["tender"],
        "created_at": iso_or_none(row["created_at"]),
        "lines": [
            {
                "account": line["account"],
                "debit": money_text(line["debit"], cur),
                "credit": money_text(line["credit"], cur),
                "memo": line["memo"],
                "tax_code": line["tax_code"],
                "tender": line["tender"],
            }
            for line in row["lines"]
        ],
    }
