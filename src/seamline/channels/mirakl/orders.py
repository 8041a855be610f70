"""Mirakl orders in and confirmations out (issue 21), through the one channel-order use case.

- **Pull** (``run_once``, a periodic job claimed by one process per period): OR11 pages of the orders updated
  since the stored cursor, each stored raw in the inbox (keyed by order id and ``last_updated_date``, so a
  repeated pull stores nothing twice; versioned by that date, so an older state never overwrites a newer
  one) *before* the cursor moves, then applied at once.
- **Apply** (the inbox handler, in the inbox's transaction): an order ``WAITING_ACCEPTANCE`` gets its
  acceptance decided once (``channel_orders.decide_acceptance``: each line the ledger can serve whole is
  accepted, the rest refused; an unknown SKU holds the decision until near the end of the acceptance
  window) and its accepted lines are placed in the queue at once, so the units are allocated while Mirakl
  debits the customer. The decision is recorded (``channel_confirmations``) and sent with OR21 after the
  transaction. An order accepted without us (in the back office) is placed with its live lines; a refused or
  cancelled one (a failed debit, the window passed) is cancelled here.
- **Shipments** (``shipment_subscriber``, on ``OrderShipped`` of the channel's orders): each shipment the
  ledger recorded (``order_shipments``: its lines, carrier and tracking) is confirmed once: ST01 with its
  lines and tracking (partial shipments), or, with ``shipment_mode: order``, OR23 with the parcel's
  tracking and OR24 once every unit has shipped.
- **Money** (``commerce.order_commerce``): each order is placed with the operator's numbers for the lines
  taken (prices after promotions, taxes, shipping, its total less the lines refused), so finance invoices at
  them; each order line at what the buyer paid per unit.
- **Line cancellations** (``line_cancel_subscriber``, on ``OrderLinesCancelled``): units cancelled here after
  acceptance are cancelled there with OR30, at the operator's amount and tax for them, with its CANCELATION
  reason code.
- **Refunds and cancellations** (``refund_subscriber`` on ``ReturnBooked``, and ``run_once`` for what it
  missed): each return booked against a Mirakl order is refunded with OR28, line by line, at the operator's
  amount and taxes for the units returned; an order cancelled here (not by Mirakl) is cancelled there with
  OR29 unless its lines were all cancelled already.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Connection

from seamline.channels.mirakl.client import ORDER_PAGE, MiraklClient, MiraklRejected
from seamline.channels.mirakl.commerce import (
    CommerceError,
    TakenLine,
    adjustment,
    lines_by_id,
    order_commerce,
    shipping_given_back,
    with_shipping_back,
)
from seamline.channels.mirakl.mapper import (
    ACCEPTED_STATES,
    ENDED_STATES,
    MappingError,
    MarketplaceLine,
    MarketplaceOrder,
    parse_order,
)
from seamline.domain.clock import iso_utc
from seamline.domain.commerce import OrderCommerce
from seamline.finance.refunds import nothing_kept
from seamline.integration import (
    ChannelError,
    Delivered,
    Delivery,
    DeliveryRejected,
    FunctionHandler,
    HoldMessage,
    InboundMessage,
    InvalidMessage,
    Receipt,
    StoredMessage,
    Subscriber,
    delivery_outcome,
)
from seamline.integration.events import ORDER_LINES_CANCELLED, ORDER_SHIPPED, RETURN_BOOKED
from seamline.service import Seamline
from seamline.service.channel_orders import (
    ChannelLine,
    ChannelOrder,
    ChannelOrders,
    OfferedLine,
    OrderHeld,
    Verdict,
    decide_acceptance,
)
from seamline.service.customers import ContactRequest
from seamline.service.marketplaces import Listings
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import channel_orders_repo, orders_repo

ORDER_MESSAGE = "order"
CURSOR = "orders"
#: What a channel's first pull takes: the orders still open at Mirakl, however old.
OPEN_STATES = ("WAITING_ACCEPTANCE", "WAITING_DEBIT", "WAITING_DEBIT_PAYMENT", "SHIPPING")
ACCEPTANCE, SHIPMENT, SHIPPED, REFUND, CANCEL = "acceptance", "shipment", "shipped", "refund", "cancel"
CANCEL_LINES = "cancel_lines"
KIND = "marketplace"

log = logging.getLogger("seamline.channels.mirakl")


def source_for(channel: str) -> str:
    return f"mirakl:{channel}"


class _Inbox(Protocol):
    def receive(self, message: InboundMessage) -> Receipt: ...

    def process(self, message_id: int) -> str | None: ...

    def retry(self, message_id: int) -> bool: ...

    def list(
        self, *, status: str | None = None, source: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]: ...


def order_message(channel: str, raw: Mapping[str, Any]) -> InboundMessage:
    order_id = str(raw.get("order_id") or "")
    updated = str(raw.get("last_updated_date") or "")
    version = None
    with contextlib.suppress(MappingError):  # stored all the same: the handler rejects it, visibly
        version = int(parse_order(raw).updated.timestamp() * 1_000_000)
    return InboundMessage(
        source=source_for(channel),
        external_id=f"{order_id}@{updated}",
        message_type=ORDER_MESSAGE,
        body=json.dumps(dict(raw)).encode(),
        headers={"channel": channel},
        aggregate_key=f"order:{order_id}",
        aggregate_version=version,
    )


@dataclass(frozen=True)
class RunReport:
    orders: int = 0
    stored: int = 0
    duplicates: int = 0
    #: OR21 calls made, and lines refused in them.
    answered: int = 0
    refused_lines: int = 0
    #: OR28 calls made.
    refunds: int = 0
    error: str | None = None


class MiraklOrders:
    def __init__(self, app: Seamline, channel: str, client: MiraklClient) -> None:
        self.app = app
        self.channel = channel
        self.client = client
        self.orders = ChannelOrders(app)
        self.cursors = Listings(app)

    @property
    def name(self) -> str:
        return f"mirakl-orders:{self.channel}"

    # ------------------------------------------------------------------ the inbox handler
    def handler(self) -> FunctionHandler:
        return FunctionHandler(self.parse, self.apply)

    def parse(self, message: StoredMessage) -> MarketplaceOrder:
        try:
            return parse_order(message.json())
        except MappingError as exc:
            raise InvalidMessage(str(exc)) from None

    def apply(self, uow: UnitOfWork, order: MarketplaceOrder) -> None:
        try:
            self._apply(uow, order)
        except OrderHeld as exc:
            raise HoldMessage(str(exc)) from exc  # held in the inbox, not failed: configuration can fix it

    def _apply(self, uow: UnitOfWork, order: MarketplaceOrder) -> None:
        conn = uow.conn
        if order.state == "WAITING_ACCEPTANCE":
            self._decide(uow, order)
        elif order.state in ACCEPTED_STATES:
            self._ensure_placed(uow, order)
        elif order.state in ENDED_STATES:
            self.orders.cancel(uow, self.channel, order.order_id, None, kind=KIND)
            # Mirakl ended it: nothing to tell it back.
            now = self.app.clock.now()
            if channel_orders_repo.decide(conn, self.channel, CANCEL, order.order_id, {"by": "mirakl"}, now):
                channel_orders_repo.mark(conn, self.channel, CANCEL, order.order_id, sent_at=now, error=None)

    def _skus(self, conn: Connection, lines: Sequence[MarketplaceLine]) -> dict[str, str]:
        """Offer SKU → ours: the listing's mapping, else the offer SKU itself when it is one of ours."""
        offers = [line.offer_sku for line in lines]
        mapped = channel_orders_repo.skus_for_seller_skus(conn, self.channel, offers)
        known = self.orders.known_skus(conn, [*offers, *mapped.values()])
        out = {offer: sku for offer, sku in mapped.items() if sku in known}
        for offer in offers:
            if offer not in out and offer in known:
                out[offer] = offer
        return out

    def _check_currency(self, order: MarketplaceOrder) -> None:
        currency = self.client.config.currency
        if currency and order.currency != currency:
            raise OrderHeld(f"{order.order_id}: priced in {order.currency}, the channel sells in {currency}")

    def _decide(self, uow: UnitOfWork, order: MarketplaceOrder) -> None:
        conn = uow.conn
        if channel_orders_repo.get(conn, self.channel, ACCEPTANCE, order.order_id) is not None:
            return  # decided once; OR21 is on its way (or was sent)
        self._check_currency(order)
        waiting = [line for line in order.lines if line.state == "WAITING_ACCEPTANCE"]
        skus = self._skus(conn, waiting)
        offered = [OfferedLine(line.line_id, skus.get(line.offer_sku), line.qty) for line in waiting]
        known = set(skus.values())
        config = self.client.config
        decision = decide_acceptance(
            offered,
            known,
            self.orders.available(conn, self.channel, known),
            now=self.app.clock.now(),
            deadline=order.created + timedelta(hours=config.acceptance_window_hours),
            margin=timedelta(hours=config.acceptance_margin_hours),
        )
        if decision.held is not None:
            raise OrderHeld(f"{order.order_id}: {decision.held}")
        by_id = {line.line_id: line for line in waiting}
        accepted = [(by_id[x.line_id], str(x.sku)) for x in decision.accepted]
        detail = self._place(uow, order, accepted)
        detail["refused"] = [{"line_id": x.line_id, "reason": why} for x, why in decision.refused]
        channel_orders_repo.decide(conn, self.channel, ACCEPTANCE, order.order_id, detail, self.app.clock.now())

    def _ensure_placed(self, uow: UnitOfWork, order: MarketplaceOrder) -> None:
        """An order the customer was debited for: ours already, or accepted without us (placed now)."""
        conn = uow.conn
        if channel_orders_repo.get(conn, self.channel, ACCEPTANCE, order.order_id) is not None:
            return
        self._check_currency(order)
        live = [line for line in order.lines if line.live]
        skus = self._skus(conn, live)
        unknown = sorted({line.offer_sku for line in live if line.offer_sku not in skus})
        if unknown:
            raise OrderHeld(f"{order.order_id}: unknown SKU {', '.join(unknown)}: link the offer to one of ours")
        detail = self._place(uow, order, [(line, skus[line.offer_sku]) for line in live])
        detail["refused"] = []
        now = self.app.clock.now()
        channel_orders_repo.decide(conn, self.channel, ACCEPTANCE, order.order_id, detail, now)
        channel_orders_repo.mark(conn, self.channel, ACCEPTANCE, order.order_id, sent_at=now, error=None)

    def _place(
        self, uow: UnitOfWork, order: MarketplaceOrder, lines: Sequence[tuple[MarketplaceLine, str]]
    ) -> dict[str, Any]:
        """Place the accepted lines (none: nothing placed); answers the decision's detail, each accepted
        Mirakl line with the number of the order line it became."""
        conn = uow.conn
        if not lines:
            return {"order_id": None, "accepted": []}
        customer = None
        if order.customer_name or order.customer_email:
            customer = ContactRequest(order.customer_email, None, order.customer_name)
        # The operator's money for the lines taken (order lines are numbered 1.. in the order given): finance
        # invoices at it, so the invoices add up to the operator's total or are held.
        taken = {line.line_id: TakenLine(n, sku) for n, (line, sku) in enumerate(lines, start=1)}
        try:
            commerce = order_commerce(order.body, taken, tax_mode=self.client.config.order_tax_mode)
        except CommerceError as exc:
            raise InvalidMessage(f"{order.order_id}: {exc}") from None
        queued = ChannelOrder(
            order.order_id,
            order.currency,
            tuple(ChannelLine(sku, line.qty, str(_paid_unit(commerce, line))) for line, sku in lines),
            customer,
            Verdict.ACCEPT,
            commerce=commerce,
        )
        order_id = self.orders.place(uow, self.channel, queued, kind=KIND)
        assert order_id is not None
        numbers = [line.line_no for line in orders_repo.get_order(conn, order_id)["lines"]]  # type: ignore[index]
        if numbers != list(range(1, len(lines) + 1)):
            raise RuntimeError(f"{order.order_id}: order lines numbered {numbers}, not 1..{len(lines)}")
        return {
            "order_id": order_id,
            "accepted": [
                {"line_id": line.line_id, "offer_sku": line.offer_sku, "sku": sku, "qty": line.qty, "line_no": n}
                for (line, sku), n in zip(lines, numbers, strict=True)
            ],
        }

    # ------------------------------------------------------------------ the periodic round
    def run_once(self, inbox: _Inbox) -> RunReport:
        """Pull, apply, answer acceptances, send refunds. A throttled or unavailable Mirakl ends the round
        early; what is left waits for the next (nothing is lost: the inbox and the decisions are durable)."""
        report = RunReport()
        try:
            report = self.pull(inbox)
            self.revisit_held(inbox)
            answered, refused = self.send_acceptances()
            self.send_cancellations()
            refunds = self.send_refunds()
        except ChannelError as exc:
            return RunReport(report.orders, report.stored, report.duplicates, error=str(exc))
        return RunReport(report.orders, report.stored, report.duplicates, answered, refused, refunds)

    def pull(self, inbox: _Inbox) -> RunReport:
        """OR11 pages of the orders updated since the cursor, into the inbox; the cursor moves to when this
        pull started (Mirakl takes a margin off ``start_update_date`` itself; repeats are duplicates). The
        first pull of a channel takes every order still open, however old (waiting for acceptance, for its
        debit, or to ship), and nothing closed."""
        started = self.app.clock.now()
        since = self.cursors.cursor(self.channel, CURSOR)
        states = None if since is not None else OPEN_STATES
        offset = seen = stored = duplicates = 0
        received: list[int] = []
        while True:
            page, total = self.client.list_orders(
                updated_since=since, states=states, offset=offset, max_results=ORDER_PAGE
            )
            for raw in page:
                seen += 1
                receipt = inbox.receive(order_message(self.channel, raw))
                if receipt.duplicate:
                    duplicates += 1
                else:
                    stored += 1
                    received.append(receipt.id)
            offset += len(page)
            if not page or offset >= total:
                break
        self.cursors.set_cursor(self.channel, CURSOR, iso_utc(started))
        for message_id in received:
            inbox.process(message_id)
        return RunReport(seen, stored, duplicates)

    def revisit_held(self, inbox: _Inbox) -> int:
        """Orders waiting for acceptance that are held (an unknown SKU, a foreign currency) are tried again
        every round, not only on the inbox's recheck: once the SKU is linked, or the acceptance deadline is
        near, they are answered rather than left for Mirakl to refuse. Answers how many were tried."""
        tried = 0
        for row in inbox.list(status="held", source=source_for(self.channel), limit=200):
            try:
                body = json.loads(bytes(row["body"]))
            except ValueError:
                continue
            if not isinstance(body, Mapping) or body.get("order_state") != "WAITING_ACCEPTANCE":
                continue
            if self._decision(str(body.get("order_id"))) is not None:
                continue
            if inbox.retry(int(row["id"])):
                inbox.process(int(row["id"]))
                tried += 1
        return tried

    def send_acceptances(self) -> tuple[int, int]:
        """OR21 for every decision not sent yet; answers (orders answered, lines refused)."""
        rows = self.app.read(lambda conn: channel_orders_repo.unsent(conn, self.channel, ACCEPTANCE))
        answered = refused = 0
        for row in rows:
            detail = row["detail"]
            answers = [(str(x["line_id"]), True) for x in detail.get("accepted", [])]
            answers += [(str(x["line_id"]), False) for x in detail.get("refused", [])]
            error = None
            try:
                self.client.accept_lines(str(row["ref"]), answers)
            except MiraklRejected as exc:
                # Mirakl will not take it (the window passed): the next pull sees the order refused.
                error = str(exc)
                log.warning("Mirakl %s refused the acceptance of %s: %s", self.channel, row["ref"], exc)
            self._mark(ACCEPTANCE, str(row["ref"]), error)
            answered += 1
            refused += len(detail.get("refused", []))
        return answered, refused

    def send_cancellations(self) -> int:
        """OR29 for each of the channel's orders cancelled here (nothing of it shipped) that Mirakl still
        expects; one Mirakl will not cancel (already shipping in part, or ended) is recorded with its reason."""
        rows = self.app.read(lambda conn: channel_orders_repo.cancelled_untold(conn, self.channel))
        for row in rows:
            error = None
            page, _ = self.client.list_orders(order_ids=[str(row["external_id"])], max_results=1)
            if page and parse_order(page[0]).state in ENDED_STATES:
                # Cancelled there already (its lines cancelled one by one with OR30): nothing left to cancel.
                self._record(CANCEL, str(row["external_id"]), {"by": "lines", "order_id": row["id"]}, None)
                continue
            try:
                self.client.cancel_order(str(row["external_id"]))
            except MiraklRejected as exc:
                error = str(exc)
                log.warning("Mirakl %s refused to cancel %s: %s", self.channel, row["external_id"], exc)
            self._record(CANCEL, str(row["external_id"]), {"by": "seamline", "order_id": row["id"]}, error, sent=True)
        return len(rows)

    def send_refunds(self) -> int:
        """OR28 for the returns booked against the channel's orders that Mirakl was not told of. Per order,
        what is sent is the difference between the units the ledger took back per line and the units Mirakl
        already shows refunded (read with OR11 first), so a refund whose answer was lost is never paid twice.
        Answers the OR28 calls made."""
        returns = self.app.read(lambda conn: channel_orders_repo.channel_returns(conn, self.channel))
        by_order: dict[str, list[dict[str, Any]]] = {}
        for ret in returns:
            by_order.setdefault(str(ret["external_id"]), []).append(ret)
        return sum(self._refund_order(external_id, rets) for external_id, rets in by_order.items())

    def _refund_order(self, external_id: str, rets: Sequence[Mapping[str, Any]]) -> int:
        """OR28 for these returns of one order (what is due: see ``send_refunds``); answers the calls made."""
        decision = self._decision(external_id)
        refunds = [] if decision is None else self._refunds_due(external_id, decision, rets)
        error = None
        if refunds:
            try:
                self.client.refund(refunds)
            except MiraklRejected as exc:
                error = str(exc)
                log.warning("Mirakl %s refused the refund of %s: %s", self.channel, external_id, exc)
        for ret in rets:
            self._record(REFUND, str(ret["id"]), {"order": external_id, "refunds": refunds}, error, sent=True)
        return 1 if refunds else 0

    def refund_subscriber(self) -> Subscriber:
        return Subscriber(
            name=f"mirakl-refunds:{self.channel}",
            event_types=frozenset({RETURN_BOOKED}),
            deliver=self.deliver_refund,
            channels=frozenset({self.channel}),
            coalesce=False,
            max_concurrency=1,
        )

    def deliver_refund(self, delivery: Delivery) -> Delivered:
        """A return booked against one of the channel's orders: refunded at Mirakl (OR28) at once, with what
        is due for its order (a return told before, by this or by the order round, sends nothing)."""
        external_id = str(delivery.payload["external_id"])
        returns = self.app.read(lambda conn: channel_orders_repo.channel_returns(conn, self.channel))
        rets = [r for r in returns if str(r["external_id"]) == external_id]
        if rets:
            try:
                self._refund_order(external_id, rets)
            except ChannelError as exc:
                raise delivery_outcome(exc) from exc
        return Delivered()

    def _refunds_due(
        self, external_id: str, decision: Mapping[str, Any], rets: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        lines = {int(x["line_no"]): x for x in decision["detail"].get("accepted", [])}
        order_id = decision["detail"].get("order_id")
        if not lines or order_id is None:
            return []
        row = self.app.read(lambda conn: orders_repo.get_order(conn, str(order_id)))
        if row is None:
            return []
        returned = {line.line_no: line.returned for line in row["lines"]}
        page, _ = self.client.list_orders(order_ids=[external_id], max_results=1)
        shown = {}
        if page:
            shown = {line.line_id: line.refunded for line in parse_order(page[0]).lines}
        # The buyer keeps nothing of the order: its shipping goes back too (the credit note carries it).
        whole = nothing_kept([(line.line_no, line.qty, line.cancelled + line.returned) for line in row["lines"]], {})
        currency = str(rets[0]["currency"])
        unit: dict[int, tuple[Decimal, int]] = {}
        for ret in rets:
            for line in ret["lines"]:
                amount, qty = unit.get(int(line["order_line_no"]), (Decimal(0), 0))
                unit[int(line["order_line_no"])] = (
                    amount + orders_repo.money(line["amount"], currency),
                    qty + int(line["qty"]),
                )
        commerce = OrderCommerce.from_json(row["commerce"]) if row.get("commerce") else None
        by_id = lines_by_id(commerce) if commerce is not None else {}
        refunds = []
        for line_no, (amount, qty) in sorted(unit.items()):
            target = lines.get(line_no)
            if target is None or qty <= 0:
                continue
            already = shown.get(str(target["line_id"]), 0)
            due = returned.get(line_no, 0) - already
            if due <= 0:
                continue
            units = min(due, qty)
            found = by_id.get(str(target["line_id"]))
            if commerce is not None and found is not None:
                # The operator's own amounts for these units (its price after promotions, its taxes), in the
                # tax mode the order was read in: what it charged, never more.
                refunds.append(
                    adjustment(
                        commerce,
                        found,
                        already,
                        units,
                        reason_code=self.client.config.refund_reason_code,
                        with_shipping=False,
                    )
                )
                continue
            value = orders_repo.money(amount / qty * units, currency)
            refunds.append(
                {
                    "order_line_id": target["line_id"],
                    "quantity": units,
                    "amount": str(value),
                    "shipping_amount": "0",
                    "currency_iso_code": currency,
                    "reason_code": self.client.config.refund_reason_code,
                }
            )
        if refunds and whole and commerce is not None and page:
            given_back = shipping_given_back(page[0])
            return with_shipping_back(commerce, refunds, given_back, reason_code=self.client.config.refund_reason_code)
        return refunds

    def _decision(self, external_id: str) -> dict[str, Any] | None:
        return self.app.read(lambda conn: channel_orders_repo.get(conn, self.channel, ACCEPTANCE, external_id))

    def _mark(self, kind: str, ref: str, error: str | None) -> None:
        now = self.app.clock.now()
        self.app.write(
            lambda uow: channel_orders_repo.mark(uow.conn, self.channel, kind, ref, sent_at=now, error=error)
        )

    # ------------------------------------------------------------------ line cancellations out (OR30)
    def line_cancel_subscriber(self) -> Subscriber:
        return Subscriber(
            name=f"mirakl-line-cancellations:{self.channel}",
            event_types=frozenset({ORDER_LINES_CANCELLED}),
            deliver=self.deliver_line_cancellation,
            channels=frozenset({self.channel}),
            coalesce=False,
            max_concurrency=1,
        )

    def deliver_line_cancellation(self, delivery: Delivery) -> Delivered:
        """Cancel at Mirakl (OR30) the units cancelled here. Per line, what is sent is the units our ledger
        cancelled less those Mirakl already shows cancelled (read with OR11 first; a line Mirakl ended counts
        as cancelled), so a repeat, or an answer lost, never cancels twice. Amounts are the operator's own
        for those units (the line's last units: the first ones are what ships and is invoiced), with their
        taxes, in the tax mode orders are read in; the reason is the operator's CANCELATION code."""
        payload = delivery.payload
        order_id, external_id = str(payload["order_id"]), str(payload["external_id"])
        ref = f"{order_id}/{payload['cancellation']}"

        def read(conn: Connection) -> tuple[Any, Any, Any]:
            decision = channel_orders_repo.get(conn, self.channel, ACCEPTANCE, external_id)
            done = channel_orders_repo.get(conn, self.channel, CANCEL_LINES, ref)
            return decision, done, orders_repo.get_order(conn, order_id)

        decision, done, order = self.app.read(read)
        if decision is None or order is None:
            return Delivered()  # not an order taken from Mirakl
        if done is not None and done["sent_at"] is not None:
            return Delivered()
        accepted = {int(x["line_no"]): x for x in decision["detail"].get("accepted", [])}
        config = self.client.config
        reason = payload.get("reason")
        code = config.cancel_reason_codes.get(str(reason), config.cancel_reason_code) if reason else None
        code = code or config.cancel_reason_code
        try:
            page, _ = self.client.list_orders(order_ids=[external_id], max_results=1)
            shown = {line.line_id: line for line in parse_order(page[0]).lines} if page else {}
            commerce = OrderCommerce.from_json(order["commerce"]) if order.get("commerce") else None
            by_id = lines_by_id(commerce) if commerce is not None else {}
            items = []
            for line in order["lines"]:
                target = accepted.get(line.line_no)
                if target is None or not line.cancelled:
                    continue
                theirs = shown.get(str(target["line_id"]))
                if theirs is None:
                    continue
                gone = theirs.qty if theirs.state in ("CANCELED", "REFUSED") else theirs.cancelled
                due = line.cancelled - gone
                if due <= 0:
                    continue
                found = by_id.get(str(target["line_id"]))
                if commerce is not None and found is not None:
                    start = found.qty - gone - due
                    items.append(adjustment(commerce, found, start, due, reason_code=code, with_shipping=False))
                else:
                    items.append(
                        {
                            "order_line_id": target["line_id"],
                            "quantity": due,
                            "amount": str(orders_repo.money(line.unit_price * due, order["currency"])),
                            "shipping_amount": "0",
                            "currency_iso_code": order["currency"],
                            "reason_code": code,
                        }
                    )
            lines = order["lines"]
            # Nothing shipped and nothing left to ship: the buyer's shipping is cancelled with the units.
            unserved = not any(line.shipped for line in lines) and nothing_kept(
                [(line.line_no, line.qty, line.cancelled + line.returned) for line in lines], {}
            )
            if items and commerce is not None and page and unserved:
                items = with_shipping_back(commerce, items, shipping_given_back(page[0]), reason_code=code)
            if items:
                try:
                    self.client.cancel_lines(items)
                except MiraklRejected as exc:
                    self._record(CANCEL_LINES, ref, {"cancelations": items}, str(exc))
                    raise DeliveryRejected(f"OR30 refused the cancellation {ref}: {exc}") from exc
        except ChannelError as exc:
            raise delivery_outcome(exc) from exc
        self._record(CANCEL_LINES, ref, {"cancelations": items}, None)
        return Delivered()

    # ------------------------------------------------------------------ shipments out
    def shipment_subscriber(self) -> Subscriber:
        return Subscriber(
            name=f"mirakl-shipments:{self.channel}",
            event_types=frozenset({ORDER_SHIPPED}),
            deliver=self.deliver_shipment,
            channels=frozenset({self.channel}),
            coalesce=False,
            max_concurrency=1,
        )

    def deliver_shipment(self, delivery: Delivery) -> Delivered:
        """Confirm every shipment of the order not confirmed yet (a repeat finds none), each with its own
        lines, carrier and tracking."""
        order_id = str(delivery.payload["order_id"])
        external_id = str(delivery.payload["external_id"])

        def read(conn: Connection) -> tuple[Any, list[dict[str, Any]], set[str], str | None]:
            decision = channel_orders_repo.get(conn, self.channel, ACCEPTANCE, external_id)
            shipments = channel_orders_repo.shipments(conn, order_id)
            refs = [(SHIPMENT, f"{order_id}/{row['shipment_no']}") for row in shipments] + [
                (SHIPPED, f"{order_id}/all")
            ]
            done = set()
            for kind, ref in refs:
                row = channel_orders_repo.get(conn, self.channel, kind, ref)
                if row is not None and row["sent_at"] is not None:
                    done.add(ref)
            order = orders_repo.get_order(conn, order_id)
            return decision, shipments, done, None if order is None else str(order["status"])

        decision, shipments, done, status = self.app.read(read)
        if decision is None:
            return Delivered()  # not an order taken from Mirakl
        lines = {int(x["line_no"]): x for x in decision["detail"].get("accepted", [])}
        try:
            for shipment in shipments:
                ref = f"{order_id}/{shipment['shipment_no']}"
                if ref in done:
                    continue
                tracking = self._tracking(shipment)
                if self.client.config.shipment_mode == "shipments":
                    self._st01(external_id, shipment, lines, tracking, ref)
                else:
                    if tracking:
                        self.client.update_tracking(external_id, tracking)
                    self._record(SHIPMENT, ref, {"tracking": tracking}, None)
            if self.client.config.shipment_mode == "order" and status in ("shipped", "closed"):
                ref = f"{order_id}/all"
                if ref not in done:
                    self.client.ship_order(external_id)
                    self._record(SHIPPED, ref, {}, None)
        except ChannelError as exc:
            raise delivery_outcome(exc) from exc
        return Delivered()

    def _tracking(self, shipment: Mapping[str, Any]) -> dict[str, str]:
        out: dict[str, str] = {}
        carrier = shipment.get("carrier")
        if carrier:
            code = self.client.config.carrier_codes.get(str(carrier))
            out["carrier_code" if code else "carrier_name"] = code or str(carrier)
        if shipment.get("tracking"):
            out["tracking_number"] = str(shipment["tracking"])
            if not carrier:
                out["carrier_name"] = "unknown"  # Mirakl needs a carrier with a tracking number
        return out

    def _st01(
        self,
        external_id: str,
        shipment: Mapping[str, Any],
        lines: Mapping[int, Mapping[str, Any]],
        tracking: Mapping[str, str],
        ref: str,
    ) -> None:
        parts = []
        for part in shipment["lines"]:
            target = lines.get(int(part["line_no"]))
            if target is None:
                raise DeliveryRejected(f"{ref}: order line {part['line_no']} has no Mirakl order line")
            parts.append(
                {"order_line_id": target["line_id"], "offer_sku": target["offer_sku"], "quantity": part["qty"]}
            )
        body: dict[str, Any] = {"order_id": external_id, "shipment_lines": parts, "shipped": True}
        if tracking:
            body["tracking"] = dict(tracking)
        if any(_same_shipment(found, body) for found in self.client.list_shipments(external_id)):
            self._record(SHIPMENT, ref, body, None)  # sent before, its answer lost: Mirakl has it already
            return
        _, errors = self.client.create_shipments([body])
        if errors:
            message = "; ".join(str(e.get("message", e)) if isinstance(e, Mapping) else str(e) for e in errors)
            self._record(SHIPMENT, ref, body, message)
            raise DeliveryRejected(f"ST01 refused shipment {ref}: {message}")
        self._record(SHIPMENT, ref, body, None)

    def _record(self, kind: str, ref: str, detail: Mapping[str, Any], error: str | None, *, sent: bool = False) -> None:
        """Record what was told (``sent``, or no error): a refused one stays unsent with its error."""
        now = self.app.clock.now()

        def work(uow: UnitOfWork) -> None:
            conn = uow.conn
            channel_orders_repo.decide(conn, self.channel, kind, ref, detail, now)
            done = sent or error is None
            channel_orders_repo.mark(conn, self.channel, kind, ref, sent_at=now if done else None, error=error)

        self.app.write(work)


def _paid_unit(commerce: OrderCommerce, line: MarketplaceLine) -> Decimal:
    """What the buyer paid per unit of ``line`` (its price after promotions over its units, its taxes added
    in ``TAX_EXCLUDED`` mode, to the cent): the order line's price, so an exchange priced from it or a return
    here credits what was paid, not the offer's price before promotion or before tax."""
    found = next((x for x in commerce.lines if x.line_id == line.line_id), None)
    if found is None or not found.qty:
        return line.unit_price
    paid = found.gross - found.discount + (Decimal(0) if commerce.taxes_included else found.tax)
    return (paid / found.qty).quantize(Decimal("0.01"))


def _same_shipment(found: Mapping[str, Any], body: Mapping[str, Any]) -> bool:
    """Whether a shipment Mirakl lists (ST11) is the one ``body`` would create: same tracking, same lines."""
    tracking = found.get("tracking") if isinstance(found.get("tracking"), Mapping) else {}
    if (tracking or {}).get("tracking_number") != (body.get("tracking") or {}).get("tracking_number"):
        return False

    def lines(items: Any) -> list[tuple[str, int]]:
        return sorted((str(x.get("order_line_id")), int(x.get("quantity") or 0)) for x in items or [])

    return lines(found.get("shipment_lines")) == lines(body.get("shipment_lines"))
