"""Reading the books: the journal, the documents, the held ones, and the reconciliation report (every sale,
shipment and return posted, amounts equal to the channel's, entries balanced, gift cards and stock at cost
agreeing with the journal)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from seamline.domain.commerce import OrderCommerce, RefundCommerce
from seamline.domain.errors import FieldError, InvalidInput, NotFound
from seamline.finance import DocumentKind, Expected, FinanceConfig, compare_postings
from seamline.finance.channel import Unreproducible, invoice_lines
from seamline.finance.reconcile import MoneyDifference, compare_channel_totals, document_consistency
from seamline.service import costing
from seamline.service.finance.common import UNPOSTED, FinancePart
from seamline.service.finance.views import document_view, entry_view, iso_or_none
from seamline.service.giftcards import GiftCardDesk
from seamline.service.payouts import PayoutDesk
from seamline.store import accounting_repo, finance_repo, orders_repo


@dataclass(frozen=True)
class JournalQuery:
    date_from: date | None = None
    date_to: date | None = None
    account: str | None = None
    store: str | None = None
    settlement_id: str | None = None
    document_id: str | None = None
    cursor: str | None = None
    limit: int = 100


def _cursor(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        raise InvalidInput("bad query", [FieldError("cursor", "is not a cursor this API gave out")])
    return int(value)


class FinanceQueries(FinancePart):
    def journal(self, query: JournalQuery) -> tuple[list[dict[str, Any]], str | None]:
        after = _cursor(query.cursor)
        rows = self.app.read(
            lambda conn: finance_repo.list_entries(
                conn,
                date_from=query.date_from,
                date_to=query.date_to,
                account=query.account,
                store=query.store,
                settlement_id=query.settlement_id,
                document_id=query.document_id,
                after_seq=after,
                limit=query.limit,
            )
        )
        next_cursor = str(rows[-1]["seq"]) if len(rows) == query.limit else None
        return [entry_view(r) for r in rows], next_cursor

    def documents(
        self,
        *,
        kind: str | None = None,
        order_id: str | None = None,
        store: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> tuple[list[dict[str, Any]], str | None]:
        if kind is not None and kind not in {k.value for k in DocumentKind}:
            raise InvalidInput("bad query", [FieldError("kind", f"{kind!r} is not a document kind")])
        after = _cursor(cursor)
        rows = self.app.read(
            lambda conn: finance_repo.list_documents(
                conn, kind=kind, order_id=order_id, store=store, after_seq=after, limit=limit
            )
        )
        next_cursor = str(rows[-1]["seq"]) if len(rows) == limit else None
        return [document_view(r) for r in rows], next_cursor

    def get_document(self, doc_id: str) -> dict[str, Any]:
        row = self.app.read(lambda conn: finance_repo.get_document(conn, doc_id))
        if row is None:
            raise NotFound(f"no finance document {doc_id}", code="unknown-document")
        return document_view(row)

    def holds(self) -> list[dict[str, Any]]:
        """Documents held for a person (the channel's total cannot be reproduced), oldest first."""
        rows = self.app.read(finance_repo.list_holds)
        return [
            {**r, "created_at": iso_or_none(r["created_at"]), "resolved_at": iso_or_none(r["resolved_at"])}
            for r in rows
        ]

    # ---------------------------------------------------------------------------- reconciliation
    def reconciliation(self) -> dict[str, Any]:
        """Every till sale and every return has exactly one document, every shipped unit's value is
        invoiced, amounts agree to the cent, and every journal entry balances."""

        def work(conn: Connection) -> dict[str, Any]:
            expected = [Expected(f"order:{i}", "sales_receipt", c, t) for i, c, t in finance_repo.pos_sale_totals(conn)]
            expected += [Expected(f"return:{i}", "credit_note", c, t) for i, c, t in finance_repo.return_totals(conn)]
            expected += [Expected(f"order:{i}", "invoice", c, t, None) for i, c, t in finance_repo.shipped_totals(conn)]
            posted: dict[tuple[str, str], list[Decimal]] = {}
            kinds = (DocumentKind.SALES_RECEIPT, DocumentKind.CREDIT_NOTE, DocumentKind.INVOICE)
            # Orders and refunds with the channel's numbers are checked against the channel (``money_checks``).
            channel_orders = {r["id"] for r in finance_repo.channel_orders(conn)}
            channel_returns = {r["id"] for r in finance_repo.channel_returns(conn)}
            for kind, order_id, return_id, total in finance_repo.document_totals(conn, kinds):
                if (kind == DocumentKind.CREDIT_NOTE.value and return_id in channel_returns) or (
                    kind == DocumentKind.INVOICE.value and order_id in channel_orders
                ):
                    continue
                source = f"return:{return_id}" if kind == DocumentKind.CREDIT_NOTE.value else f"order:{order_id}"
                posted.setdefault((source, kind), []).append(total)
            differences = compare_postings(expected, posted)
            unbalanced = finance_repo.unbalanced_entries(conn)
            config = self.config(conn)
            today = config.business_date(self._now())
            money, money_checked = self.money_checks(conn, config)
            money += PayoutDesk(self.app).money_differences(conn)  # what marketplace payouts settled
            cards, money_checked["gift_cards"] = GiftCardDesk(self.app).liability_differences(conn, config)
            # The fourth leg (issue 17): valuation = movements at cost = the inventory account.
            inventory = costing.inventory_leg(conn, config)
            return {
                "clean": not differences and not unbalanced and not money and not cards and inventory["clean"],
                "gift_card_differences": [d.as_json() for d in cards],
                "inventory": inventory,
                "checked": {
                    "sales": sum(1 for e in expected if e.kind == "sales_receipt"),
                    "returns": sum(1 for e in expected if e.kind == "credit_note"),
                    "shipped_orders": sum(1 for e in expected if e.kind == "invoice"),
                },
                "money_checked": money_checked,
                "differences": [d.as_json() for d in differences],
                "money_differences": [d.as_json() for d in money],
                "unbalanced_entries": unbalanced,
                "till_documents_awaiting_settlement": finance_repo.unsettled_till_documents(conn, today),
            }

        report = self.app.read(work)
        UNPOSTED.set(sum(1 for d in report["differences"] if d["problem"] == "missing"))
        return report

    def money_checks(self, conn: Connection, config: FinanceConfig) -> tuple[list[MoneyDifference], dict[str, int]]:
        """Money that must agree, beyond posting completeness: every document with itself; each channel
        order's invoices with the channel's total (the channel's amounts for the units shipped so far,
        its own order total once all of it is invoiced) and its payments with what the channel took; each
        channel refund's credit notes with what the channel refunded; documents held for a person."""
        out: list[MoneyDifference] = []
        kinds = (
            DocumentKind.INVOICE,
            DocumentKind.CREDIT_NOTE,
            DocumentKind.PAYMENT,
            DocumentKind.REFUND,
            DocumentKind.SALES_RECEIPT,
        )
        docs = finance_repo.documents_by_kind(conn, kinds)
        for doc in docs:
            found = document_consistency(doc)
            if found is not None:
                out.append(found)
        by_order: dict[tuple[str | None, str], list[dict[str, Any]]] = {}
        by_return: dict[str | None, list[dict[str, Any]]] = {}
        for doc in docs:
            by_order.setdefault((doc["order_id"], doc["kind"]), []).append(doc)
            if doc["kind"] == DocumentKind.CREDIT_NOTE.value:
                by_return.setdefault(doc["return_id"], []).append(doc)
        held = {h["source_key"]: h for h in finance_repo.list_holds(conn)}
        held_orders = {h["order_id"] for h in held.values() if h["kind"] == DocumentKind.INVOICE.value}
        held_returns = {h["return_id"] for h in held.values() if h["kind"] == DocumentKind.CREDIT_NOTE.value}
        orders_checked = 0
        for row in finance_repo.channel_orders(conn):
            if not row["shipped"] or row["id"] in held_orders:
                continue
            orders_checked += 1
            order = orders_repo.get_order(conn, row["id"])
            assert order is not None
            commerce = OrderCommerce.from_json(row["commerce"])
            invoices = by_order.get((row["id"], DocumentKind.INVOICE.value), [])
            shipped = {li.line_no: li.shipped for li in order["lines"] if li.shipped}
            everything = all(li.shipped == li.qty for li in order["lines"])
            try:
                expected = (
                    commerce.channel_total
                    if everything and commerce.channel_total is not None
                    else invoice_lines(commerce, row["currency"], config, shipped, {}, first=True).total
                )
            except Unreproducible as exc:
                out.append(
                    MoneyDifference(
                        "held",
                        f"order:{row['id']}",
                        exc.reason,
                        row["currency"],
                        commerce.channel_total,
                        None,
                        detail=exc.detail,
                    )
                )
                continue
            what = "the channel's order total" if everything else "the channel's amounts for the units shipped"
            found = compare_channel_totals(
                f"order:{row['id']}", "invoice", row["currency"], expected, invoices, detail=what
            )
            if found is not None:
                out.append(found)
            invoiced = sum((d["total"] for d in invoices), Decimal(0))
            payments = by_order.get((row["id"], DocumentKind.PAYMENT.value), [])
            # What a marketplace's payout paid later (service.payouts) is checked against the payout, not here.
            payments = [p for p in payments if not str(p["body"].get("source", "")).startswith("payout:")]
            found = compare_channel_totals(
                f"order:{row['id']}",
                "payment",
                row["currency"],
                min(commerce.paid, invoiced),
                payments,
                detail="what the channel took, up to what is invoiced",
            )
            if found is not None:
                out.append(found)
        returns_checked = 0
        for row in finance_repo.channel_returns(conn):
            if row["id"] in held_returns:
                continue
            returns_checked += 1
            refund = RefundCommerce.from_json(row["commerce"])
            theirs = refund.channel_total if refund.channel_total is not None else refund.computed_total
            found = compare_channel_totals(
                f"return:{row['id']}",
                "credit_note",
                row["currency"],
                theirs,
                by_return.get(row["id"], []),
                detail=f"what the channel refunded (refund {refund.external_id})",
            )
            if found is not None:
                out.append(found)
        for hold in held.values():
            out.append(
                MoneyDifference(
                    "held",
                    hold["source_key"],
                    hold["reason"],
                    "",
                    None,
                    None,
                    detail=hold["detail"],
                )
            )
        acknowledged = 0
        for state in finance_repo.exported_states(conn):
            name = (state["number"] or state["document_id"],)
            if state["status"] == "exported":
                acknowledged += 1
                if state["remote_total"] is not None and state["remote_total"] != state["total"]:
                    out.append(
                        MoneyDifference(
                            "accounting",
                            state["target"],
                            "acknowledged amount",
                            state["currency"],
                            state["remote_total"],
                            state["total"],
                            name,
                            f"{state['target']} holds {state['remote_total']}, our document {state['total']}",
                        )
                    )
            elif state["status"] == "refused":
                out.append(
                    MoneyDifference(
                        "accounting",
                        state["target"],
                        "refused",
                        state["currency"],
                        None,
                        state["total"],
                        name,
                        "; ".join(state["messages"] or []),
                    )
                )
        for row in accounting_repo.list_connections(conn):
            target = f"{row['kind']}:{row['code']}"
            dead = finance_repo.dead_documents(conn, target)
            for state in finance_repo.export_states(conn, target, status="pending", ids=dead, limit=len(dead) or 1):
                if state["id"] in dead:
                    out.append(
                        MoneyDifference(
                            "accounting",
                            target,
                            "dead",
                            state["currency"],
                            None,
                            state["total"],
                            (state["number"] or state["id"],),
                            "its delivery was dead-lettered",
                        )
                    )
        checked = {
            "documents": len(docs),
            "channel_orders": orders_checked,
            "channel_refunds": returns_checked,
            "acknowledged_exports": acknowledged,
        }
        return out, checked
