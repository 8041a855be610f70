"""Marketplace payouts (issue 17): Amazon's settlement report and Mirakl's transaction lines imported once,
booked as one journal document per payout (``finance.payouts.payout_entry``), and what each payout settled
of each order matched against the order's documents. A mismatch is a discrepancy listed with the payouts
(``GET /v1/finance/payouts``) and by the reconciliation, never absorbed."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from seamline.domain.clock import iso_utc
from seamline.domain.errors import Conflict, FieldError, InvalidInput, NotFound
from seamline.finance import Document, DocumentKind, FinanceConfig, Posting, document_entry, journal_document
from seamline.finance.amounts import ZERO, quantum
from seamline.finance.payouts import (
    ORIGINAL_PAYMENT,
    PARSERS,
    OrderMoney,
    Payout,
    PayoutDiscrepancy,
    invoice_payments,
    match_order,
    parse_payout_report,
    payout_entry,
)
from seamline.finance.reconcile import MoneyDifference
from seamline.service.app import Seamline
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import channels_repo, finance_repo, orders_repo, payouts_repo

log = logging.getLogger("seamline.finance.payouts")


@dataclass(frozen=True)
class PayoutImport:
    channel: str
    new: tuple[dict[str, Any], ...]
    repeated: tuple[str, ...]
    discrepancies: tuple[PayoutDiscrepancy, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "imported": list(self.new),
            "repeated": list(self.repeated),
            "discrepancies": [d.as_json() for d in self.discrepancies],
        }


class PayoutDesk:
    def __init__(self, app: Seamline) -> None:
        self.app = app

    def _config(self, conn: Connection) -> FinanceConfig:
        stored = finance_repo.get_config(conn)
        return FinanceConfig() if stored is None else FinanceConfig.from_json(stored)

    @staticmethod
    def source_of(conn: Connection, channel: str) -> str:
        """The marketplace a channel is (its kind), which names the report it is paid out with."""
        found = channels_repo.kind_and_sources(conn, channel)
        if found is None:
            raise NotFound(f"no channel {channel}", code="unknown-channel")
        kind = found[0]
        if kind not in PARSERS:
            raise InvalidInput(
                f"{channel} is a {kind} channel",
                [FieldError("channel", f"payouts are imported for {', '.join(sorted(PARSERS))} channels")],
            )
        return kind

    def import_report(self, uow: UnitOfWork, channel: str, report: Any, *, trace_id: str | None = None) -> PayoutImport:
        """Read the channel's payout report and book each payout not imported before: its lines kept, one
        journal document (deposit, fees, the orders it settled). Importing the same report again books
        nothing; a payout id seen before with another total is a conflict, not a second booking."""
        conn = uow.conn
        source = self.source_of(conn, channel)
        payouts = parse_payout_report(source, report)
        config = self._config(conn)
        now = self.app.clock.now()
        new: list[dict[str, Any]] = []
        repeated: list[str] = []
        for payout in payouts:
            before = payouts_repo.get_payout(conn, channel, payout.id)
            if before is not None:
                if before["total"].quantize(quantum(payout.currency)) != payout.total.quantize(
                    quantum(payout.currency)
                ):
                    raise Conflict(
                        f"{channel} payout {payout.id} was imported with total {before['total']}, now {payout.total}",
                        code="payout-changed",
                    )
                repeated.append(payout.id)
                continue
            if not self._record(conn, channel, payout, now):
                repeated.append(payout.id)
                continue
            booked_on = payout.day or config.business_date(now)
            source_key = f"payout:{channel}:{payout.id}"
            refund_tenders = self._pay_invoices(uow, config, channel, payout, booked_on, trace_id)
            entry = payout_entry(payout, config, source_key, booked_on, refund_tenders)
            doc = journal_document(
                "doc_" + uuid.uuid4().hex,
                entry,
                extra={"payout": payout.id, "channel": channel, "marketplace": source},
            )
            posted = uow.finance.insert_document(uow, doc, now=now, trace_id=trace_id)
            if posted is not None:
                uow.finance.insert_entry(
                    conn, "jnl_" + uuid.uuid4().hex, entry, now=now, document_id=posted.id, trace_id=trace_id
                )
                payouts_repo.set_document(conn, channel, payout.id, posted.id)
            new.append(self._view(payout, None if posted is None else posted.id, posted.number if posted else None))
        found = self.discrepancies(conn, channel)
        touched = {li.order_ref for p in payouts for li in p.lines if li.order_ref}
        mine = tuple(d for d in found if d.order_ref in touched)
        if mine:
            log.warning("%s payouts leave %d discrepancies", channel, len(mine))
        return PayoutImport(channel, tuple(new), tuple(repeated), mine)

    def _pay_invoices(
        self,
        uow: UnitOfWork,
        config: FinanceConfig,
        channel: str,
        payout: Payout,
        booked_on: date,
        trace_id: str | None,
    ) -> dict[str, str]:
        """Post the payments the payout makes against its orders' invoices nobody paid yet (one per invoice,
        ``finance.payouts.invoice_payments``), and answer which tender each order's refunds were booked to."""
        conn = uow.conn
        settled: dict[str, Decimal] = {}
        for row in payouts_repo.order_money(conn, channel):
            if row["kind"] == "sale":
                settled[row["order_ref"]] = settled.get(row["order_ref"], ZERO) + Decimal(row["amount"])
        refund_tenders: dict[str, str] = {}
        now = self.app.clock.now()
        for ref in payout.order_money():
            order_id = orders_repo.order_id_for(conn, channel, ref)
            if order_id is None:
                continue
            docs = uow.finance.documents_of_order(conn, order_id)
            refunded = {t["tender"] for d in docs if d["kind"] == DocumentKind.REFUND.value for t in d["tenders"]}
            if payout.source not in refunded and ORIGINAL_PAYMENT in refunded:
                refund_tenders[ref] = ORIGINAL_PAYMENT
            invoices = [d for d in docs if d["kind"] == DocumentKind.INVOICE.value]
            if not invoices or invoices[0]["currency"] != payout.currency:
                continue
            payments = [d for d in docs if d["kind"] == DocumentKind.PAYMENT.value]
            paid = sum(
                (Decimal(t["amount"]) for d in payments for t in d["tenders"] if t["tender"] == payout.source), ZERO
            )
            unpaid = [
                (
                    inv["id"],
                    Decimal(inv["total"])
                    - sum((Decimal(p["total"]) for p in payments if p["applies_to"] == inv["id"]), ZERO),
                )
                for inv in invoices
            ]
            due = invoice_payments(settled.get(ref, ZERO).quantize(quantum(payout.currency)), paid, unpaid)
            by_id = {inv["id"]: inv for inv in invoices}
            for invoice_id, amount in due or []:
                invoice = by_id[invoice_id]
                payment = Document(
                    id="doc_" + uuid.uuid4().hex,
                    kind=DocumentKind.PAYMENT,
                    currency=payout.currency,
                    issued_on=booked_on,
                    posting=Posting.JOURNAL,
                    total=amount,
                    tenders=((payout.source, amount),),
                    channel=channel,
                    order_id=order_id,
                    order_ref=invoice.get("order_ref"),
                    customer_id=invoice.get("customer_id"),
                    applies_to=invoice_id,
                    memo=f"{payout.source} payout {payout.id} of {invoice['number']}",
                    source_key=f"payout:{channel}:{payout.id}:{invoice_id}",
                    extra={"payout": payout.id},
                )
                posted = uow.finance.insert_document(uow, payment, now=now, trace_id=trace_id)
                entry = None if posted is None else document_entry(posted, config)
                if posted is not None and entry is not None:
                    uow.finance.insert_entry(
                        conn, "jnl_" + uuid.uuid4().hex, entry, now=now, document_id=posted.id, trace_id=trace_id
                    )
        return refund_tenders

    def _record(self, conn: Connection, channel: str, payout: Payout, now: datetime) -> bool:
        return payouts_repo.insert_payout(
            conn,
            {
                "channel": channel,
                "payout_id": payout.id,
                "source": payout.source,
                "currency": payout.currency,
                "total": payout.total,
                "start_date": payout.start,
                "end_date": payout.end,
                "deposit_date": payout.deposit_date,
                "body": payout.as_json(),
                "imported_at": now,
            },
            [
                {
                    "line_no": i,
                    "kind": li.kind.value,
                    "category": li.category[:200],
                    "amount": li.amount,
                    "order_ref": li.order_ref,
                    "posted": li.posted,
                    "sku": li.sku,
                }
                for i, li in enumerate(payout.lines, start=1)
            ],
        )

    @staticmethod
    def _view(payout: Payout | Mapping[str, Any], document_id: str | None, number: str | None) -> dict[str, Any]:
        body = payout.as_json() if isinstance(payout, Payout) else dict(payout)
        body.pop("lines", None)
        return {**body, "document_id": document_id, "document_number": number}

    # ---------------------------------------------------------------------------- reads
    def payouts(self, channel: str | None = None) -> dict[str, Any]:
        """The payouts imported (newest last) and every discrepancy they leave."""

        def work(conn: Connection) -> dict[str, Any]:
            rows = payouts_repo.list_payouts(conn, channel)
            numbers = {
                d["id"]: d["number"]
                for d in finance_repo.document_bodies(conn, [r["document_id"] for r in rows if r["document_id"]])
            }
            items = [
                {
                    **self._view(r["body"], r["document_id"], numbers.get(r["document_id"] or "")),
                    "channel": r["channel"],
                    "imported_at": iso_utc(r["imported_at"]),
                }
                for r in rows
            ]
            return {"items": items, "discrepancies": [d.as_json() for d in self.discrepancies(conn, channel)]}

        return self.app.read(work)

    def discrepancies(self, conn: Connection, channel: str | None = None) -> list[PayoutDiscrepancy]:
        """Each order the payouts settled, all payouts so far together, against its documents."""
        settled: dict[tuple[str, str], dict[str, Any]] = {}
        for row in payouts_repo.order_money(conn, channel):
            key = (row["channel"], row["order_ref"])
            slot = settled.setdefault(
                key,
                {"currency": row["currency"], "source": row["source"], "sale": ZERO, "refund": ZERO, "payouts": []},
            )
            slot[row["kind"]] += Decimal(row["amount"])
            if row["payout_id"] not in slot["payouts"]:
                slot["payouts"].append(row["payout_id"])
        out: list[PayoutDiscrepancy] = []
        for (chan, ref), slot in sorted(settled.items()):
            q = quantum(slot["currency"])
            ours = self._order_money(conn, chan, ref, slot["source"])
            out += match_order(
                chan,
                ref,
                slot["currency"],
                slot["sale"].quantize(q),
                slot["refund"].quantize(q),
                ours,
                slot["payouts"],
            )
        return out

    @staticmethod
    def _order_money(conn: Connection, channel: str, order_ref: str, tender: str) -> OrderMoney | None:
        order_id = orders_repo.order_id_for(conn, channel, order_ref)
        if order_id is None:
            return None
        docs = finance_repo.documents_of_order(conn, order_id)
        if not any(d["kind"] == DocumentKind.INVOICE.value for d in docs):
            return None
        currency = str(docs[0]["currency"])

        def paid(kind: DocumentKind) -> list[tuple[Decimal, str]]:
            # A refund the order queue booked as the channel's (``original_payment``) is the marketplace's.
            tenders = {tender} if kind is DocumentKind.PAYMENT else {tender, ORIGINAL_PAYMENT}
            out = []
            for d in docs:
                if d["kind"] != kind.value:
                    continue
                amount = sum((Decimal(t["amount"]) for t in d["tenders"] if t["tender"] in tenders), ZERO)
                if amount:
                    out.append((amount, str(d["number"] or d["id"])))
            return out

        payments, refunds = paid(DocumentKind.PAYMENT), paid(DocumentKind.REFUND)
        return OrderMoney(
            order_id,
            currency,
            tuple(a for a, _ in payments),
            tuple(a for a, _ in refunds),
            tuple(n for _, n in payments + refunds),
        )

    def money_differences(self, conn: Connection) -> list[MoneyDifference]:
        """The discrepancies as the reconciliation lists them (check ``payout``)."""
        return [
            MoneyDifference(
                "payout",
                f"{d.source}:{d.order_ref}",
                d.problem,
                d.currency,
                d.theirs,
                d.ours,
                d.documents,
                f"{d.detail} (payouts {', '.join(d.payouts)})",
            )
            for d in self.discrepancies(conn)
        ]
