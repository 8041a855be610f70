"""Finance commands (DESIGN 7): documents and journal entries posted from what the order queue recorded,
store-day settlements, the chart-of-accounts configuration, and the reconciliation report.

Posting happens in the transaction of the business event: ``OrderDesk`` raises ``SaleRecorded``,
``OrderShipped`` or ``ReturnBooked`` on its unit of work; the handler table (``service.handlers``) hands them to
``FinancePoster``, which posts their documents inside a savepoint, so a posting bug never fails a sale: it is
logged, counted, and ``post_pending`` (run by every settlement close, by ``POST /v1/finance/post-pending`` and by the
reconciliation) posts what is missing. Every posting is keyed by its cause, so posting twice posts once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy import Connection

from seamline.domain.clock import iso_utc
from seamline.domain.commerce import OrderCommerce, RefundCommerce
from seamline.domain.errors import Conflict, FieldError, InvalidInput, NotFound
from seamline.domain.money import Money, parse_currency
from seamline.finance import (
    EXCHANGE_CREDIT,
    CashCount,
    CashMovement,
    Document,
    DocumentKind,
    Expected,
    FinanceConfig,
    Posting,
    PricedLine,
    ProcessorImport,
    ProcessorTransaction,
    SettlementInput,
    apply_tenders,
    compare_postings,
    compute,
    document_entry,
    journal_document,
    journal_entries,
    parse_processor_report,
    priced_lines,
)
from seamline.finance.amounts import quantum
from seamline.finance.channel import Unreproducible, credit_note_lines, invoice_lines, refund_tenders
from seamline.finance.chart import ACCOUNT_CODE_RE
from seamline.finance.reconcile import MoneyDifference, compare_channel_totals, document_consistency
from seamline.finance.settlement import CASH_MOVEMENT_KINDS
from seamline.service import costing
from seamline.service.app import Seamline
from seamline.service.giftcards import GiftCardDesk
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import accounting_repo, catalog_repo, finance_repo, ledger_repo, orders_repo

log = logging.getLogger("seamline.finance")

DOCUMENTS = Counter("seamline_finance_documents_total", "Finance documents posted", ["kind"])
POSTING_FAILURES = Counter(
    "seamline_finance_posting_failures_total", "Postings that failed in the event's transaction (left for the sweep)"
)
HELD = Counter(
    "seamline_finance_held_total", "Documents held because the channel's total cannot be reproduced", ["reason"]
)
UNPOSTED = Gauge("seamline_finance_unposted", "Sales, returns and shipments without their document (last check)")

TILL_LOCATION_KINDS = frozenset({"store"})


# ------------------------------------------------------------------------------------------------ posting
class FinancePoster:
    """Posts the documents of a transaction's business facts (``service.handlers``: ``SaleRecorded``,
    ``OrderShipped``, ``ReturnBooked``) inside a savepoint: a posting failure is logged and counted, the
    documents and events of the savepoint are dropped, and the sale stands (the sweep posts it later)."""

    def __init__(self, app: Seamline) -> None:
        self.desk = FinanceDesk(app)

    def __call__(self, uow: UnitOfWork, causes: Sequence[tuple[str, str]]) -> None:
        if not causes:
            return
        try:
            with uow.savepoint() as posting:
                self.desk.post_events(posting, causes)
        except Exception:  # noqa: BLE001 - the sale stands; the sweep posts its document later
            POSTING_FAILURES.inc()
            log.exception("finance posting of %s failed; left for post-pending", list(causes))


def install(app: Seamline) -> FinancePoster:
    """Post finance documents from every write transaction of ``app`` (once)."""
    if isinstance(app.bus.deps.finance, FinancePoster):
        return app.bus.deps.finance
    poster = FinancePoster(app)
    app.bus.deps.finance = poster
    return poster


# ------------------------------------------------------------------------------------------------ views
def _m(value: Decimal, currency: str) -> str:
    return str(value.quantize(quantum(currency)))


def _iso(value: datetime | None) -> str | None:
    return None if value is None else iso_utc(value)


def document_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in doc.items() if k not in ("seq", "created_at", "source")}
    out["source"] = doc.get("source")
    out["created_at"] = _iso(doc.get("created_at"))
    return out


def entry_view(row: Mapping[str, Any]) -> dict[str, Any]:
    cur = row["currency"]
    return {
        "id": row["id"],
        "date": row["entry_date"].isoformat(),
        "currency": cur,
        "memo": row["memo"],
        "total": _m(row["total"], cur),
        "source": row["source_key"],
        "document_id": row["document_id"],
        "settlement_id": row["settlement_id"],
        "store": row["store"],
        "tender": row["tender"],
        "created_at": _iso(row["created_at"]),
        "lines": [
            {
                "account": line["account"],
                "debit": _m(line["debit"], cur),
                "credit": _m(line["credit"], cur),
                "memo": line["memo"],
                "tax_code": line["tax_code"],
                "tender": line["tender"],
            }
            for line in row["lines"]
        ],
    }


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


class FinanceDesk:
    def __init__(self, app: Seamline) -> None:
        self.app = app

    def _now(self) -> datetime:
        return self.app.clock.now()

    # ---------------------------------------------------------------------------- configuration
    def config(self, conn: Connection) -> FinanceConfig:
        stored = finance_repo.get_config(conn)
        return FinanceConfig() if stored is None else FinanceConfig.from_json(stored)

    def get_config(self) -> dict[str, Any]:
        return self.current_config().as_json()

    def current_config(self) -> FinanceConfig:
        return self.app.read(self.config)

    def put_config(self, conn: Connection, body: Any) -> tuple[int, dict[str, Any]]:
        """Set the chart-of-accounts and tax mapping. Posted documents keep the accounts they were posted
        with (the journal is history); new postings use the new mapping."""
        config = FinanceConfig.from_json(body)
        existed = finance_repo.get_config(conn) is not None
        finance_repo.save_config(conn, config.as_json(), self._now())
        return (200 if existed else 201), config.as_json()

    # ---------------------------------------------------------------------------- posting
    def post_events(self, uow: UnitOfWork, events: Sequence[tuple[str, str]]) -> list[Document]:
        conn = uow.conn
        config = self.config(conn)
        out: list[Document] = []
        for kind, key in dict.fromkeys(events):  # each once, in the order raised
            if kind == "sale":
                out += self.post_sale(uow, key, config)
            elif kind == "shipment":
                out += self.post_shipment(uow, key, config)
            elif kind == "return":
                out += self.post_return(uow, key, config)
        return out

    def _post(self, uow: UnitOfWork, doc: Document, config: FinanceConfig, trace_id: str | None) -> Document | None:
        conn = uow.conn
        posted = finance_repo.insert_document(uow, doc, now=self._now(), trace_id=trace_id)
        if posted is None:
            return None
        entry = document_entry(posted, config)
        if entry is not None:
            finance_repo.insert_entry(
                conn, "jnl_" + uuid.uuid4().hex, entry, now=self._now(), document_id=posted.id, trace_id=trace_id
            )
        DOCUMENTS.labels(posted.kind.value).inc()
        return posted

    def _priced(
        self,
        conn: Connection,
        config: FinanceConfig,
        currency: str,
        price_list: str | None,
        lines: Sequence[tuple[int, str, int, Decimal]],
    ) -> tuple[Any, ...]:
        """(order line no, sku, qty, unit price) → document lines with tax and, against ``price_list``, discount."""
        skus = sorted({sku for _, sku, _, _ in lines})
        facts = finance_repo.sku_facts(conn, skus)
        listed: dict[str, Decimal] = {}
        if price_list is not None:
            listed = orders_repo.prices_for(conn, skus, price_list, currency)
            packs = catalog_repo.prepack_map(conn, skus)
            listed = {sku: price * sum(u for _, u in packs.get(sku, [(sku, 1)])) for sku, price in listed.items()}
        priced = []
        for line_no, sku, qty, unit_price in lines:
            fact = facts.get(sku, {})
            words = [fact.get("name") or sku, fact.get("colour"), fact.get("size")]
            priced.append(
                PricedLine(
                    sku,
                    " ".join(str(w) for w in words if w),
                    qty,
                    unit_price,
                    config.tax_for_class(fact.get("tax_class")),
                    listed.get(sku),
                    line_no,
                )
            )
        return priced_lines(priced, currency)

    def _descriptions(self, conn: Connection, skus: Sequence[str]) -> dict[str, str]:
        facts = finance_repo.sku_facts(conn, sorted(set(skus)))
        out = {}
        for sku, fact in facts.items():
            words = [fact.get("name") or sku, fact.get("colour"), fact.get("size")]
            out[sku] = " ".join(str(w) for w in words if w)
        return out

    def _hold(
        self,
        conn: Connection,
        source_key: str,
        kind: DocumentKind,
        exc: Unreproducible,
        order_id: str | None = None,
        return_id: str | None = None,
    ) -> None:
        """The channel's total cannot be reproduced: hold the document for a person, post nothing."""
        HELD.labels(exc.reason).inc()
        log.warning("finance holds %s: %s", source_key, exc.detail)
        finance_repo.hold(
            conn,
            {
                "source_key": source_key,
                "kind": kind.value,
                "order_id": order_id,
                "return_id": return_id,
                "reason": exc.reason,
                "detail": exc.detail,
                "figures": exc.figures,
                "created_at": self._now(),
            },
        )

    def holds(self) -> list[dict[str, Any]]:
        """Documents held for a person (the channel's total cannot be reproduced), oldest first."""
        rows = self.app.read(finance_repo.list_holds)
        return [{**r, "created_at": _iso(r["created_at"]), "resolved_at": _iso(r["resolved_at"])} for r in rows]

    def post_sale(self, uow: UnitOfWork, order_id: str, config: FinanceConfig | None = None) -> list[Document]:
        """A till sale's sales receipt, booked by its store's settlement for the day it happened."""
        conn = uow.conn
        conn = uow.conn
        config = config or self.config(conn)
        order = orders_repo.get_order(conn, order_id)
        if order is None or order["kind"] != "pos":
            return []
        currency = order["currency"]
        commerce = OrderCommerce.from_json(order["commerce"]) if order.get("commerce") else None
        channel_extra: dict[str, Any] = {}
        if commerce is not None and commerce.channel_totals.get("has_taxes") == "true":
            # The till sent its tax lines: the receipt is its numbers, not our chart's recomputation.
            try:
                built = invoice_lines(
                    commerce,
                    currency,
                    config,
                    {li.order_line_no: li.qty for li in commerce.lines if li.order_line_no is not None},
                    {},
                    first=True,
                    descriptions=self._descriptions(conn, [li.sku for li in order["lines"]]),
                )
            except Unreproducible as exc:
                self._hold(conn, f"sale:{order_id}", DocumentKind.SALES_RECEIPT, exc, order_id=order_id)
                return []
            finance_repo.resolve_hold(conn, f"sale:{order_id}", self._now())
            lines: tuple[Any, ...] = built.lines
            channel_extra = {"channel_total": None if built.channel_total is None else str(built.channel_total)}
        else:
            lines = self._priced(
                conn,
                config,
                currency,
                "retail",
                [(li.line_no, li.sku, li.qty, li.unit_price) for li in order["lines"]],
            )
        doc = Document(
            id="doc_" + uuid.uuid4().hex,
            kind=DocumentKind.SALES_RECEIPT,
            currency=currency,
            issued_on=config.business_date(order["occurred_at"], order["location"]),
            posting=Posting.SETTLEMENT,
            total=sum((li.gross for li in lines), Decimal(0)),
            lines=lines,
            tenders=tuple(order["tenders"]),
            store=order["location"],
            channel=order["channel"],
            order_id=order_id,
            order_ref=order["external_id"],
            customer_id=order["customer_id"],
            memo=f"till sale {order['external_id']} at {order['location']}",
            source_key=f"sale:{order_id}",
            extra={
                "occurred_at": _iso(order["occurred_at"]),
                "exchange_of": order["exchange_of"],
                **channel_extra,
            },
        )
        posted = self._post(uow, doc, config, order["trace_id"])
        return [posted] if posted else []

    def post_shipment(self, uow: UnitOfWork, order_id: str, config: FinanceConfig | None = None) -> list[Document]:
        """Invoice the units shipped and not invoiced yet, then apply the order's tenders to it. An order
        that carries the channel's numbers is invoiced at them (its discounts, tax lines and shipping), so
        the invoices add up to the channel's total; when they cannot be reproduced the invoice is held."""
        conn = uow.conn
        config = config or self.config(conn)
        order = orders_repo.get_order(conn, order_id)
        if order is None or order["kind"] == "pos":
            return []
        invoiced = finance_repo.invoiced_units(conn, order_id)
        todo = [
            (li.line_no, li.sku, li.shipped - invoiced.get(li.line_no, 0), li.unit_price)
            for li in order["lines"]
            if li.shipped > invoiced.get(li.line_no, 0)
        ]
        if not todo:
            return []
        currency = order["currency"]
        count = len(finance_repo.documents_of_order(conn, order_id, DocumentKind.INVOICE))
        source_key = f"invoice:{order_id}:{count + 1}"
        channel_extra: dict[str, Any] = {}
        if order.get("commerce"):
            commerce = OrderCommerce.from_json(order["commerce"])
            try:
                built = invoice_lines(
                    commerce,
                    currency,
                    config,
                    {no: qty for no, _, qty, _ in todo},
                    invoiced,
                    first=count == 0,
                    descriptions=self._descriptions(conn, [sku for _, sku, _, _ in todo]),
                )
            except Unreproducible as exc:
                self._hold(conn, source_key, DocumentKind.INVOICE, exc, order_id=order_id)
                return []
            finance_repo.resolve_hold(conn, source_key, self._now())
            lines: tuple[Any, ...] = built.lines
            channel_extra = {
                "channel_total": None if built.channel_total is None else str(built.channel_total),
                "channel": dict(built.figures),
            }
        else:
            lines = self._priced(conn, config, currency, order["price_tier"] or "retail", todo)
        today = config.business_date(self._now())
        total = sum((li.gross for li in lines), Decimal(0))
        paid = apply_tenders(order["tenders"], finance_repo.payments_applied(conn, order_id), total)
        invoice = Document(
            id="doc_" + uuid.uuid4().hex,
            kind=DocumentKind.INVOICE,
            currency=currency,
            issued_on=today,
            posting=Posting.JOURNAL,
            total=total,
            lines=lines,
            channel=order["channel"],
            order_id=order_id,
            order_ref=order["external_id"],
            customer_id=order["customer_id"],
            memo=f"{order['kind']} order {order['external_id']} on {order['channel']}, shipment {count + 1}",
            source_key=source_key,
            extra={
                "order_kind": order["kind"],
                "tracking": order["tracking"],
                "paid": [{"tender": t, "amount": str(a)} for t, a in paid],
                **channel_extra,
            },
        )
        posted = self._post(uow, invoice, config, order["trace_id"])
        if posted is None:
            return []
        out = [posted]
        for tender, amount in paid:
            # An exchange's new goods paid with those brought back: accounting links it to the credit note.
            exchange = tender == EXCHANGE_CREDIT and order["exchange_of"] is not None
            payment = Document(
                id="doc_" + uuid.uuid4().hex,
                kind=DocumentKind.PAYMENT,
                currency=currency,
                issued_on=today,
                posting=Posting.JOURNAL,
                total=amount,
                tenders=((tender, amount),),
                channel=order["channel"],
                order_id=order_id,
                order_ref=order["external_id"],
                customer_id=order["customer_id"],
                applies_to=posted.id,
                memo=f"{tender} payment of {posted.number}",
                source_key=f"payment:{posted.id}:{tender}",
                extra={"credit_note_source": f"return:{order['exchange_of']}"} if exchange else {},
            )
            applied = self._post(uow, payment, config, order["trace_id"])
            if applied:
                out.append(applied)
        return out

    def post_return(self, uow: UnitOfWork, return_id: str, config: FinanceConfig | None = None) -> list[Document]:
        """The credit note for a return, at the price paid, and (unless a till's settlement books it) one
        refund document per tender paid back, the exchange credit included."""
        conn = uow.conn
        config = config or self.config(conn)
        ret = orders_repo.get_return(conn, return_id)
        if ret is None:
            return []
        order = orders_repo.get_order(conn, ret["order_id"])
        assert order is not None
        currency = ret["currency"]
        channel_extra: dict[str, Any] = {}
        if ret.get("commerce"):
            channel_refund = RefundCommerce.from_json(ret["commerce"])
            order_commerce = OrderCommerce.from_json(order["commerce"]) if order.get("commerce") else None
            try:
                built = credit_note_lines(
                    channel_refund,
                    order_commerce,
                    currency,
                    config,
                    descriptions=self._descriptions(conn, [li["sku"] for li in ret["lines"]]),
                )
            except Unreproducible as exc:
                self._hold(conn, f"return:{return_id}", DocumentKind.CREDIT_NOTE, exc, order["id"], return_id)
                return []
            finance_repo.resolve_hold(conn, f"return:{return_id}", self._now())
            lines: tuple[Any, ...] = built.lines
            value = built.total
            # What the channel's transactions paid back; without any, what the order queue refunded to the
            # order's tenders (the same amount: the channel's refund lines, shipping and adjustments).
            tenders = refund_tenders(channel_refund) or list(ret["refunds"])
            channel_extra = {
                "channel_total": None if built.channel_total is None else str(built.channel_total),
                "channel": {"refund": channel_refund.external_id},
            }
        else:
            lines = self._priced(
                conn,
                config,
                currency,
                None,
                [(li["order_line_no"], li["sku"], li["qty"], li["amount"] / li["qty"]) for li in ret["lines"]],
            )
            value = sum((li.gross for li in lines), Decimal(0))
            tenders = list(ret["refunds"])
        credit = value - sum((amount for _, amount in tenders), Decimal(0))
        if credit > 0:
            tenders.append((EXCHANGE_CREDIT, credit))
        kinds = uow.location_kinds()
        till = order["kind"] == "pos" and kinds.get(ret["location"]) in TILL_LOCATION_KINDS
        invoices = finance_repo.documents_of_order(conn, order["id"], DocumentKind.INVOICE)
        returned_lines = {li["order_line_no"] for li in ret["lines"]}
        against = [d for d in invoices if returned_lines & {li["order_line_no"] for li in d["lines"]}] or invoices
        note = Document(
            id="doc_" + uuid.uuid4().hex,
            kind=DocumentKind.CREDIT_NOTE,
            currency=currency,
            issued_on=config.business_date(ret["created_at"], ret["location"] if till else None),
            posting=Posting.SETTLEMENT if till else Posting.JOURNAL,
            total=value,
            lines=lines,
            tenders=tuple(tenders),
            store=ret["location"] if till else None,
            channel=order["channel"],
            order_id=order["id"],
            return_id=return_id,
            order_ref=order["external_id"],
            customer_id=order["customer_id"],
            applies_to=against[-1]["id"] if against else None,
            memo=f"return {return_id} of {order['kind']} order {order['external_id']} at {ret['location']}",
            source_key=f"return:{return_id}",
            extra={"exchange_order_id": ret["exchange_order_id"], **channel_extra},
        )
        posted = self._post(uow, note, config, ret["trace_id"])
        if posted is None:
            return []
        out = [posted]
        if till:
            return out
        for i, (tender, amount) in enumerate(tenders, start=1):
            refund = Document(
                id="doc_" + uuid.uuid4().hex,
                kind=DocumentKind.REFUND,
                currency=currency,
                issued_on=posted.issued_on,
                posting=Posting.JOURNAL,
                total=amount,
                tenders=((tender, amount),),
                channel=order["channel"],
                order_id=order["id"],
                return_id=return_id,
                order_ref=order["external_id"],
                customer_id=order["customer_id"],
                applies_to=posted.id,
                memo=f"{tender} refund of {posted.number}",
                source_key=f"refund:{return_id}:{i}",
            )
            refunded = self._post(uow, refund, config, ret["trace_id"])
            if refunded:
                out.append(refunded)
        return out

    def post_pending(self, uow: UnitOfWork, limit: int = 500) -> dict[str, Any]:
        """Post whatever is missing: till sales, returns and shipments without their documents (the sweep)."""
        conn = uow.conn
        config = self.config(conn)
        sales = finance_repo.unposted_sales(conn, limit)
        returned = finance_repo.unposted_returns(conn, limit)
        shipped = finance_repo.uninvoiced_orders(conn, limit)
        posted: list[Document] = []
        for order_id in sales:
            posted += self.post_sale(uow, order_id, config)
        for order_id in shipped:
            posted += self.post_shipment(uow, order_id, config)
        for return_id in returned:
            posted += self.post_return(uow, return_id, config)
        return {
            "posted": len(posted),
            "documents": [{"id": d.id, "kind": d.kind.value, "number": d.number} for d in posted],
        }

    # ---------------------------------------------------------------------------- reads
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

    # ---------------------------------------------------------------------------- settlements
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
            "opened_at": _iso(settlement["opened_at"]),
            "closed_at": _iso(settlement["closed_at"]),
            **figures,
            "counts": [
                {
                    "tender": c.tender,
                    "currency": c.currency,
                    "counted": _m(c.counted, c.currency),
                    "float": _m(c.float, c.currency),
                }
                for c in day.counts
            ],
            "cash_movements": [
                {
                    "kind": m.kind,
                    "tender": m.tender,
                    "currency": m.currency,
                    "amount": _m(m.amount, m.currency),
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
        self.post_pending(uow)
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

    # ---------------------------------------------------------------------------- accounting exports
    def document_for(self, source_key: str) -> dict[str, Any] | None:
        """The document posted for a cause (``return:<id>``, ``sale:<order id>``...), if any."""
        return self.app.read(lambda conn: finance_repo.document_for(conn, source_key))

    def export_of(self, target: str, document_id: str) -> dict[str, Any] | None:
        return self.app.read(lambda conn: finance_repo.get_export(conn, target, document_id))

    def record_export(
        self,
        target: str,
        document_id: str,
        *,
        entity: str,
        external_id: str,
        external_number: str | None,
        remote_total: Decimal | None = None,
    ) -> None:
        """What an accounting system called a document we posted to it (the credit note allocation and the
        payments need their invoice's id there), and the total it acknowledged; its export state becomes
        ``exported``."""
        values = {
            "target": target,
            "document_id": document_id,
            "entity": entity,
            "external_id": external_id,
            "external_number": external_number,
            "exported_at": self._now(),
        }

        def work(uow: UnitOfWork) -> None:
            conn = uow.conn
            finance_repo.save_export(conn, values)
            finance_repo.set_export_state(
                conn,
                target,
                document_id,
                "exported",
                now=self._now(),
                external_id=external_id,
                remote_total=remote_total,
            )

        self.app.write(work)

    def record_refusal(self, target: str, document_id: str, messages: Sequence[str]) -> None:
        """The accounting system refused the document: its state is ``refused`` with the platform's messages
        (fix the cause, then backfill with ``refused`` included to export it again)."""
        self.app.write(
            lambda uow: finance_repo.set_export_state(
                uow.conn, target, document_id, "refused", now=self._now(), messages=list(messages)
            )
        )

    def export_attempts(self, target: str, document_id: str) -> int:
        return self.app.read(lambda conn: finance_repo.export_attempts(conn, target, document_id))

    # ---------------------------------------------------------------------------- export states
    def exports(
        self,
        target: str,
        *,
        status: str | None = None,
        kind: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> tuple[list[dict[str, Any]], str | None, dict[str, int]]:
        """Each document's export state on one connection (``pending``, ``exported`` with the remote id,
        ``refused`` with the platform's messages, ``dead`` when its delivery was dead-lettered without a
        refusal on record), filterable by state and kind, oldest first; and the count per state."""
        problems = []
        if status is not None and status not in finance_repo.EXPORT_STATES:
            problems.append(FieldError("status", f"must be one of {', '.join(finance_repo.EXPORT_STATES)}"))
        if kind is not None and kind not in {k.value for k in DocumentKind}:
            problems.append(FieldError("kind", f"{kind!r} is not a document kind"))
        after = None
        if cursor is not None:
            if not cursor.isdigit():
                problems.append(FieldError("cursor", "is not a cursor this API gave out"))
            else:
                after = int(cursor)
        if problems:
            raise InvalidInput("bad query", problems)

        def work(conn: Connection) -> tuple[list[dict[str, Any]], set[str], dict[str, int]]:
            dead = finance_repo.dead_documents(conn, target)
            if status in ("dead", "pending"):
                # Dead-lettered without a state on record are stored as pending: split them here.
                rows = finance_repo.export_states(
                    conn, target, status="pending", kind=kind, after_seq=after, limit=limit
                )
                rows = [r for r in rows if (r["id"] in dead) == (status == "dead")]
            else:
                rows = finance_repo.export_states(conn, target, status=status, kind=kind, after_seq=after, limit=limit)
            counts = finance_repo.count_exports(conn, target)
            if dead:
                flagged = len(finance_repo.export_states(conn, target, status="pending", ids=dead, limit=len(dead)))
                counts["dead"] = counts.get("dead", 0) + flagged
                counts["pending"] = counts.get("pending", 0) - flagged
            return rows, dead, counts

        rows, dead, counts = self.app.read(work)
        items = [_export_view(r, "dead" if r["status"] == "pending" and r["id"] in dead else r["status"]) for r in rows]
        next_cursor = str(rows[-1]["seq"]) if len(rows) == limit else None
        return items, next_cursor, {k: v for k, v in counts.items() if v}

    def backfill_candidates(
        self,
        conn: Connection,
        target: str,
        *,
        include_refused: bool = False,
        after_seq: int | None = None,
        limit: int = 500,
    ) -> list[Document]:
        """Documents never exported to ``target`` (those made before the connection existed, those whose
        delivery died), and the refused ones when asked: a page, oldest first."""
        dead = finance_repo.dead_documents(conn, target)
        statuses = ("pending", "refused") if include_refused else ("pending",)
        ids: list[str] = []
        while len(ids) < limit:
            rows = finance_repo.export_states(conn, target, statuses=statuses, after_seq=after_seq, limit=limit)
            if not rows:
                break
            after_seq = rows[-1]["seq"]
            # A pending one already queued (attempted) waits for its delivery, unless that died.
            ids += [r["id"] for r in rows if r["status"] == "refused" or not r["attempts"] or r["id"] in dead]
        ids = ids[:limit]
        return [Document.from_json(d) for d in finance_repo.document_bodies(conn, ids)]


def _export_view(row: Mapping[str, Any], state: str) -> dict[str, Any]:
    cur = row["currency"]
    return {
        "document_id": row["id"],
        "number": row["number"],
        "kind": row["kind"],
        "currency": cur,
        "total": _m(row["total"], cur),
        "issued_on": row["issued_on"].isoformat(),
        "order_id": row["order_id"],
        "status": state,
        "external_id": row["external_id"],
        "messages": list(row["messages"]),
        "acknowledged_total": None if row["remote_total"] is None else _m(row["remote_total"], cur),
        "attempts": row["attempts"],
        "updated_at": _iso(row["updated_at"]),
    }


def _items(payload: Any) -> list[Mapping[str, Any]]:
    if isinstance(payload, Mapping) and payload.get("object") == "list":
        data = payload.get("data")
        items = data if isinstance(data, list) else [data]
    else:
        items = payload if isinstance(payload, list) else [payload]
    return [item for item in items if isinstance(item, Mapping)]
