"""Store-day settlements (DESIGN 7): count the drawer, pay cash in and out, import the card processor's
settlement report, and close the day (its till documents claimed, its figures frozen, one balanced entry per
tender)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Connection

from seamline.domain.errors import Conflict, FieldError, InvalidInput, NotFound
from seamline.domain.money import Money, parse_currency
from seamline.finance import (
    CashCount,
    CashMovement,
    Document,
    DocumentKind,
    FinanceConfig,
    ProcessorImport,
    ProcessorTransaction,
    SettlementInput,
    compute,
    journal_document,
    journal_entries,
    parse_processor_report,
)
from seamline.finance.chart import ACCOUNT_CODE_RE
from seamline.finance.settlement import CASH_MOVEMENT_KINDS
from seamline.service.app import Seamline
from seamline.service.finance.common import DOCUMENTS, TILL_LOCATION_KINDS, FinancePart
from seamline.service.finance.posting import DocumentPosting
from seamline.service.finance.views import entry_view, iso_or_none, money_text
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import finance_repo, ledger_repo


class StoreDays(FinancePart):
    def __init__(self, app: Seamline) -> None:
        super().__init__(app)
        self.posting = DocumentPosting(app)

    def _store(self, conn: Connection, store: str) -> None:
        kind = ledger_repo.location_kinds(conn).get(store)
        if kind is None:
            raise NotFound(f"no location {store}", code="unknown-location")
        if kind not in TILL_LOCATION_KINDS:
            raise InvalidInput(
                f"{store} is not a store", [FieldError("store", "settlements are per store (a till location)")]
            )

    def _open(self, conn: Connection, store: str, day: date) -> dict[str, Any]:
        self._store(conn, store)
        found = finance_repo.get_settlement(conn, store, day, for_update=True)
        if found is None:
            found = finance_repo.open_settlement(
                conn,
                {"id": "set_" + uuid.uuid4().hex, "store": store, "business_date": day, "opened_at": self._now()},
            )
        if found["status"] != "open":
            raise Conflict(
                f"the settlement of {store} for {day.isoformat()} is closed: it cannot change",
                code="settlement-closed",
            )
        return found

    def _input(
        self, conn: Connection, settlement: Mapping[str, Any], config: FinanceConfig
    ) -> tuple[SettlementInput, list[dict[str, Any]]]:
        closed = settlement["status"] == "closed"
        docs = finance_repo.till_documents(
            conn, settlement["store"], settlement["business_date"], settlement["id"] if closed else None
        )
        moves = [
            CashMovement(m["kind"], m["tender"], m["currency"], m["amount"], m["reason"], m["account"])
            for m in finance_repo.cash_movements(conn, settlement["id"])
        ]
        counted = [
            CashCount(c["tender"], c["currency"], c["counted"], c["cash_float"])
            for c in finance_repo.counts(conn, settlement["id"])
        ]
        processor = [
            ProcessorImport(
                p["tender"],
                ProcessorTransaction(
                    p["processor"],
                    p["external_id"],
                    p["type"],
                    p["currency"],
                    p["amount"],
                    p["fee"],
                    p["net"],
                    p["created"],
                    str(p["raw"].get("status") or ""),
                ),
            )
            for p in finance_repo.processor_rows(conn, settlement["id"])
        ]
        day = SettlementInput(
            settlement["store"],
            settlement["business_date"],
            [Document.from_json(d) for d in docs],
            moves,
            counted,
            processor,
        )
        return day, docs

    def _view(self, conn: Connection, settlement: Mapping[str, Any]) -> dict[str, Any]:
        config = self.config(conn)
        day, docs = self._input(conn, settlement, config)
        figures = settlement["figures"] if settlement["status"] == "closed" else compute(day, config).as_json()
        entries = (
            finance_repo.list_entries(conn, settlement_id=settlement["id"], limit=1000)
            if settlement["status"] == "closed"
            else []
        )
        return {
            "id": settlement["id"],
            "store": settlement["store"],
            "business_date": settlement["business_date"].isoformat(),
            "status": settlement["status"],
            "opened_at": iso_or_none(settlement["opened_at"]),
            "closed_at": iso_or_none(settlement["closed_at"]),
            **figures,
            "counts": [
                {
                    "tender": c.tender,
                    "currency": c.currency,
                    "counted": money_text(c.counted, c.currency),
                    "float": money_text(c.float, c.currency),
                }
                for c in day.counts
            ],
            "cash_movements": [
                {
                    "kind": m.kind,
                    "tender": m.tender,
                    "currency": m.currency,
                    "amount": money_text(m.amount, m.currency),
                    "reason": m.reason,
                    "account": m.account,
                }
                for m in day.cash_movements
            ],
            "documents": [
                {
                    "id": d["id"],
                    "number": d["number"],
                    "kind": d["kind"],
                    "issued_on": d["issued_on"],
                    "total": d["total"],
                    "currency": d["currency"],
                    "late": d["issued_on"] < settlement["business_date"].isoformat(),
                }
                for d in docs
            ],
            "journal": [entry_view(e) for e in entries],
        }

    def settlement(self, store: str, day: date) -> dict[str, Any]:
        """The store day as it stands: live figures while open, the frozen ones once closed."""

        def work(conn: Connection) -> dict[str, Any]:
            self._store(conn, store)
            found = finance_repo.get_settlement(conn, store, day)
            if found is None:
                found = {
                    "id": None,
                    "store": store,
                    "business_date": day,
                    "status": "open",
                    "opened_at": None,
                    "closed_at": None,
                    "figures": None,
                }
            return self._view(conn, found)

        return self.app.read(work)

    def count_cash(
        self,
        conn: Connection,
        store: str,
        day: date,
        *,
        counted: str,
        currency: str,
        tender: str = "cash",
        cash_float: str | None = None,
        counted_by: str | None = None,
    ) -> dict[str, Any]:
        """Record the drawer count (a recount replaces it while the day is open). ``float`` defaults to the
        store's configured float."""
        config = self.config(conn)
        currency = parse_currency(currency)
        if tender not in config.cash_tenders:
            raise InvalidInput(
                f"{tender} is not counted", [FieldError("tender", f"must be one of {sorted(config.cash_tenders)}")]
            )
        amount = Money.parse(counted, currency, "counted").amount
        float_ = config.store(store).float if cash_float is None else Money.parse(cash_float, currency, "float").amount
        problems = [
            FieldError(name, "must not be negative") for name, v in (("counted", amount), ("float", float_)) if v < 0
        ]
        if problems:
            raise InvalidInput("a count is not negative", problems)
        settlement = self._open(conn, store, day)
        finance_repo.save_count(
            conn,
            {
                "settlement_id": settlement["id"],
                "tender": tender,
                "currency": currency,
                "counted": amount,
                "cash_float": float_,
                "counted_at": self._now(),
                "counted_by": counted_by,
            },
        )
        return self._view(conn, settlement)

    def add_cash_movement(
        self,
        conn: Connection,
        store: str,
        day: date,
        *,
        kind: str,
        amount: str,
        currency: str,
        reason: str,
        tender: str = "cash",
        account: str | None = None,
    ) -> dict[str, Any]:
        """Cash paid into or out of the drawer (change from the bank, a courier paid from the till)."""
        config = self.config(conn)
        currency = parse_currency(currency)
        errors: list[FieldError] = []
        if kind not in CASH_MOVEMENT_KINDS:
            errors.append(FieldError("kind", "must be paid_in or paid_out"))
        if tender not in config.cash_tenders:
            errors.append(FieldError("tender", f"must be one of {sorted(config.cash_tenders)}"))
        if not reason or not reason.strip():
            errors.append(FieldError("reason", "say what the money was for"))
        if account is not None and not ACCOUNT_CODE_RE.match(account):
            errors.append(FieldError("account", "an account code is 1-32 letters, digits or . _ -"))
        value = Money.parse(amount, currency, "amount").amount
        if value <= 0:
            errors.append(FieldError("amount", "must be greater than 0"))
        if errors:
            raise InvalidInput("the cash movement is not valid", errors)
        settlement = self._open(conn, store, day)
        finance_repo.add_cash_movement(
            conn,
            {
                "settlement_id": settlement["id"],
                "kind": kind,
                "tender": tender,
                "currency": currency,
                "amount": value,
                "reason": reason.strip(),
                "account": account,
                "recorded_at": self._now(),
            },
        )
        return self._view(conn, settlement)

    def import_processor_settlement(
        self, conn: Connection, store: str, day: date, *, processor: str, tender: str, transactions: Any
    ) -> dict[str, Any]:
        """The card processor's settlement report for the store's day (Stripe balance transactions, Square
        payout entries, Adyen's Settlement details report). Re-importing is harmless: each transaction counts
        once (by its id); one imported into another day is reported, not moved."""
        config = self.config(conn)
        if config.processor_tenders.get(tender) != processor:
            raise InvalidInput(
                f"{tender} is not settled by {processor}",
                [FieldError("tender", f"processor tenders: {dict(config.processor_tenders)}")],
            )
        parsed = parse_processor_report(processor, transactions)
        settlement = self._open(conn, store, day)
        raw = {str(t.get("id")): t for t in _items(transactions)} if not isinstance(transactions, str) else {}
        now = self._now()
        added, elsewhere = finance_repo.import_processor_transactions(
            conn,
            [
                {
                    "processor": processor,
                    "external_id": t.id,
                    "settlement_id": settlement["id"],
                    "tender": tender,
                    "type": t.type,
                    "currency": t.currency,
                    "amount": t.amount,
                    "fee": t.fee,
                    "net": t.net,
                    "created": t.created,
                    "raw": dict(t.raw if t.raw is not None else raw.get(t.id, {})),
                    "imported_at": now,
                }
                for t in parsed
            ],
        )
        view = self._view(conn, settlement)
        view["imported"] = {"new": added, "repeated": len(parsed) - added, "in_other_settlements": elsewhere}
        return view

    def close(self, uow: UnitOfWork, store: str, day: date, *, trace_id: str | None = None) -> dict[str, Any]:
        """Close the store day: post what is missing, claim its till documents (and earlier ones left
        unsettled), freeze the figures and book one balanced entry per tender. Once only."""
        conn = uow.conn
        config = self.config(conn)
        today = config.business_date(self._now(), store)
        if day > today:
            raise InvalidInput("a day closes once it has begun", [FieldError("date", f"is after today ({today})")])
        self._store(conn, store)
        self.posting.post_pending(uow)
        settlement = self._open(conn, store, day)
        inputs, docs = self._input(conn, settlement, config)
        figures = compute(inputs, config)
        uncounted = [
            t
            for t in figures.tenders
            if t.mode == "cash" and t.counted is None and (t.takings or t.paid_in or t.paid_out)
        ]
        if uncounted:
            raise Conflict(
                f"count the drawer first: {', '.join(f'{t.tender} {t.currency}' for t in uncounted)} not counted",
                code="cash-not-counted",
            )
        for entry in journal_entries(figures, config, settlement["id"]):
            doc = journal_document(
                "doc_" + uuid.uuid4().hex,
                entry,
                store=store,
                extra={"settlement_id": settlement["id"], "tender": entry.tender},
            )
            posted = finance_repo.insert_document(uow, doc, now=self._now(), trace_id=trace_id)
            if posted is None:
                continue
            finance_repo.insert_entry(
                conn,
                "jnl_" + uuid.uuid4().hex,
                entry,
                now=self._now(),
                document_id=posted.id,
                settlement_id=settlement["id"],
                trace_id=trace_id,
            )
            DOCUMENTS.labels(DocumentKind.JOURNAL.value).inc()
        finance_repo.claim_documents(conn, [d["id"] for d in docs], settlement["id"])
        if not finance_repo.close_settlement(conn, settlement["id"], figures.as_json(), self._now()):
            raise Conflict(f"the settlement of {store} for {day.isoformat()} is closed", code="settlement-closed")
        closed = finance_repo.get_settlement(conn, store, day)
        assert closed is not None
        return self._view(conn, closed)


def _items(payload: Any) -> list[Mapping[str, Any]]:
    if isinstance(payload, Mapping) and payload.get("object") == "list":
        data = payload.get("data")
        items = data if isinstance(data, list) else [data]
    else:
        items = payload if isinstance(payload, list) else [payload]
    return [item for item in items if isinstance(item, Mapping)]
