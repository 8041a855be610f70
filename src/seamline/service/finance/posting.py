"""Posting (DESIGN 7): the documents and journal entries of what the order queue recorded.

``OrderDesk`` raises ``SaleRecorded``, ``OrderShipped`` or ``ReturnBooked`` on its unit of work; the handler table
(``service.handlers``) hands them to ``FinancePoster``, which posts their documents inside a savepoint, so a
posting bug never fails a sale: it is logged, counted, and ``post_pending`` (run by every settlement close, by
``POST /v1/finance/post-pending`` and by the reconciliation) posts what is missing. Every posting is keyed by its
cause, so posting twice posts once. A channel's total that cannot be reproduced is held for a person."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from seamline.domain.commerce import OrderCommerce, RefundCommerce
from seamline.finance import (
    EXCHANGE_CREDIT,
    Document,
    DocumentKind,
    FinanceConfig,
    Posting,
    PricedLine,
    apply_tenders,
    document_entry,
    priced_lines,
)
from seamline.finance.channel import Unreproducible, credit_note_lines, invoice_lines, refund_tenders
from seamline.service.app import Seamline
from seamline.service.finance.common import (
    DOCUMENTS,
    HELD,
    POSTING_FAILURES,
    TILL_LOCATION_KINDS,
    FinancePart,
    config_from,
)
from seamline.service.finance.views import iso_or_none
from seamline.service.giftcards import sold_card_receipt_lines
from seamline.service.unit_of_work import UnitOfWork

log = logging.getLogger("seamline.finance")


class DocumentPosting(FinancePart):
    def post_events(self, uow: UnitOfWork, events: Sequence[tuple[str, str]]) -> list[Document]:
        config = self._config(uow)
        out: list[Document] = []
        for kind, key in dict.fromkeys(events):  # each once, in the order raised
            if kind == "sale":
                out += self.post_sale(uow, key, config)
            elif kind == "shipment":
                out += self.post_shipment(uow, key, config)
            elif kind == "return":
                out += self.post_return(uow, key, config)
        return out

    @staticmethod
    def _config(uow: UnitOfWork) -> FinanceConfig:
        return config_from(uow.finance.get_config(uow.conn))

    def _post(self, uow: UnitOfWork, doc: Document, config: FinanceConfig, trace_id: str | None) -> Document | None:
        conn = uow.conn
        posted = uow.finance.insert_document(uow, doc, now=self._now(), trace_id=trace_id)
        if posted is None:
            return None
        entry = document_entry(posted, config)
        if entry is not None:
            uow.finance.insert_entry(
                conn, "jnl_" + uuid.uuid4().hex, entry, now=self._now(), document_id=posted.id, trace_id=trace_id
            )
        DOCUMENTS.labels(posted.kind.value).inc()
        return posted

    def _priced(
        self,
        uow: UnitOfWork,
        config: FinanceConfig,
        currency: str,
        price_list: str | None,
        lines: Sequence[tuple[int, str, int, Decimal]],
    ) -> tuple[Any, ...]:
        """(order line no, sku, qty, unit price) → document lines with tax and, against ``price_list``, discount."""
        conn = uow.conn
        skus = sorted({sku for _, sku, _, _ in lines})
        facts = uow.finance.sku_facts(conn, skus)
        listed: dict[str, Decimal] = {}
        if price_list is not None:
            listed = uow.orders.prices_for(conn, skus, price_list, currency)
            packs = uow.catalog.prepack_map(conn, skus)
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

    def _descriptions(self, uow: UnitOfWork, skus: Sequence[str]) -> dict[str, str]:
        facts = uow.finance.sku_facts(uow.conn, sorted(set(skus)))
        out = {}
        for sku, fact in facts.items():
            words = [fact.get("name") or sku, fact.get("colour"), fact.get("size")]
            out[sku] = " ".join(str(w) for w in words if w)
        return out

    def _hold(
        self,
        uow: UnitOfWork,
        source_key: str,
        kind: DocumentKind,
        exc: Unreproducible,
        order_id: str | None = None,
        return_id: str | None = None,
    ) -> None:
        """The channel's total cannot be reproduced: hold the document for a person, post nothing."""
        HELD.labels(exc.reason).inc()
        log.warning("finance holds %s: %s", source_key, exc.detail)
        uow.finance.hold(
            uow.conn,
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

    def post_sale(self, uow: UnitOfWork, order_id: str, config: FinanceConfig | None = None) -> list[Document]:
        """A till sale's sales receipt, booked by its store's settlement for the day it happened."""
        conn = uow.conn
        config = config or self._config(uow)
        order = uow.orders.get_order(conn, order_id)
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
                    descriptions=self._descriptions(uow, [li.sku for li in order["lines"]]),
                )
            except Unreproducible as exc:
                self._hold(uow, f"sale:{order_id}", DocumentKind.SALES_RECEIPT, exc, order_id=order_id)
                return []
            uow.finance.resolve_hold(conn, f"sale:{order_id}", self._now())
            lines: tuple[Any, ...] = built.lines
            channel_extra = {"channel_total": None if built.channel_total is None else str(built.channel_total)}
        else:
            lines = self._priced(
                uow,
                config,
                currency,
                "retail",
                [(li.line_no, li.sku, li.qty, li.unit_price) for li in order["lines"]],
            )
            # Gift cards sold with the goods: on the receipt at their price, booked to the liability. Only a sale
            # whose total is more than its goods sold any, so only then are they read.
            goods = sum((li.qty * li.unit_price for li in order["lines"]), Decimal(0))
            if order.get("total") is not None and Decimal(str(order["total"])) > goods:
                lines = (*lines, *sold_card_receipt_lines(conn, config, order_id, first_line_no=len(lines) + 1))
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
                "occurred_at": iso_or_none(order["occurred_at"]),
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
        config = config or self._config(uow)
        order = uow.orders.get_order(conn, order_id)
        if order is None or order["kind"] == "pos":
            return []
        invoiced = uow.finance.invoiced_units(conn, order_id)
        todo = [
            (li.line_no, li.sku, li.shipped - invoiced.get(li.line_no, 0), li.unit_price)
            for li in order["lines"]
            if li.shipped > invoiced.get(li.line_no, 0)
        ]
        if not todo:
            return []
        currency = order["currency"]
        count = len(uow.finance.documents_of_order(conn, order_id, DocumentKind.INVOICE))
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
                    descriptions=self._descriptions(uow, [sku for _, sku, _, _ in todo]),
                )
            except Unreproducible as exc:
                self._hold(uow, source_key, DocumentKind.INVOICE, exc, order_id=order_id)
                return []
            uow.finance.resolve_hold(conn, source_key, self._now())
            lines: tuple[Any, ...] = built.lines
            channel_extra = {
                "channel_total": None if built.channel_total is None else str(built.channel_total),
                "channel": dict(built.figures),
            }
        else:
            lines = self._priced(uow, config, currency, order["price_tier"] or "retail", todo)
        today = config.business_date(self._now())
        total = sum((li.gross for li in lines), Decimal(0))
        paid = apply_tenders(order["tenders"], uow.finance.payments_applied(conn, order_id), total)
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
        config = config or self._config(uow)
        ret = uow.orders.get_return(conn, return_id)
        if ret is None:
            return []
        order = uow.orders.get_order(conn, ret["order_id"])
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
                    descriptions=self._descriptions(uow, [li["sku"] for li in ret["lines"]]),
                )
            except Unreproducible as exc:
                self._hold(uow, f"return:{return_id}", DocumentKind.CREDIT_NOTE, exc, order["id"], return_id)
                return []
            uow.finance.resolve_hold(conn, f"return:{return_id}", self._now())
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
                uow,
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
        invoices = uow.finance.documents_of_order(conn, order["id"], DocumentKind.INVOICE)
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

    def post_pending(self, uow: UnitOfWork, limit: int = 500) -> list[Document]:
        """Post whatever is missing: till sales, returns and shipments without their documents (the sweep).
        Answers the documents posted, in order."""
        conn = uow.conn
        config = self._config(uow)
        sales = uow.finance.unposted_sales(conn, limit)
        returned = uow.finance.unposted_returns(conn, limit)
        shipped = uow.finance.uninvoiced_orders(conn, limit)
        posted: list[Document] = []
        for order_id in sales:
            posted += self.post_sale(uow, order_id, config)
        for order_id in shipped:
            posted += self.post_shipment(uow, order_id, config)
        for return_id in returned:
            posted += self.post_return(uow, return_id, config)
        return posted


class FinancePoster:
    """Posts the documents of a transaction's business facts (``service.handlers``: ``SaleRecorded``,
    ``OrderShipped``, ``ReturnBooked``) inside a savepoint: a posting failure is logged and counted, the
    documents and events of the savepoint are dropped, and the sale stands (the sweep posts it later)."""

    def __init__(self, app: Seamline) -> None:
        self.posting = DocumentPosting(app)

    def __call__(self, uow: UnitOfWork, causes: Sequence[tuple[str, str]]) -> None:
        if not causes:
            return
        try:
            with uow.savepoint() as posting:
                self.posting.post_events(posting, causes)
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
