"""One "channel order into the queue" use case for every storefront and marketplace (issues 19, 21).

Shopify (webhooks), Amazon (Orders API pulls) and Mirakl (OR11 pulls) map their own payloads into the
canonical ``OrderMapping`` (``seamline.channels.canonical``), which ``queue_order`` there turns into the
``ChannelOrder`` below; what happens to it then is decided here, once:

- **Place** (``place_action``): an ``accept`` verdict places the order in the one queue, idempotent by
  (channel, external id): a repeat answers the order already placed. An order the connector cannot map yet
  (an unknown SKU, a foreign currency, a location not mapped) is **held**, never rejected: ``OrderHeld`` is
  raised, the inbox keeps the message ``held`` and rechecks it, and once the configuration is fixed (the SKU
  linked, the currency set) it applies. An order with nothing to fulfil (a test order, only gift cards) is ignored.
  A contact our matcher refuses (an unreadable email or phone) is dropped rather than losing the order.
- **Cancel** (``cancel_action``): an order nothing of which has shipped is cancelled and its allocations
  released (units already picked stay sold, awaiting their return); one shipped in part or whole, closed or
  cancelled is left alone (what comes back is a return); a cancellation of an
  order never seen places it and cancels it at once when its body is a whole order (so a late create is a
  no-op), holds it when that body cannot be placed yet, and does nothing when there is no body.
- **Accept or refuse** (``decide_acceptance``, marketplaces that ask the seller, such as Mirakl's OR21): each
  line is accepted when the ledger can serve all of it (the channel's ATP, lines taken in order), refused
  otherwise. A line naming a SKU we do not know holds the whole decision while the acceptance window leaves
  time for someone to link it; within ``margin`` of the deadline it is refused, so the marketplace never
  auto-cancels an order we could have answered.

The pure rules are unit-tested in ``tests/unit/test_channel_orders.py``; ``ChannelOrders`` applies them inside
the caller's transaction (the inbox's), through ``OrderDesk``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection

from seamline.domain.clock import iso_utc
from seamline.domain.commerce import OrderCommerce
from seamline.domain.errors import InvalidInput
from seamline.ledger import channel_atp
from seamline.orders.model import OrderStatus
from seamline.orders.state import ALLOWED_FROM, Step
from seamline.service.app import Seamline
from seamline.service.customers import ContactRequest
from seamline.service.orders import LineRequest, OrderDesk, OrderRequest, TenderRequest
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import catalog_repo, channel_orders_repo, channels_repo, ledger_repo, orders_repo

log = logging.getLogger("seamline.channel_orders")


class Verdict(StrEnum):
    """What the connector's mapping says about an order (the canonical verdicts, grouped by effect)."""

    ACCEPT = "accept"
    #: Something configuration can fix (an unknown SKU, a foreign currency, an unmapped location).
    HOLD = "hold"
    #: Nothing to fulfil (a test order, only gift cards or custom items).
    IGNORE = "ignore"


@dataclass(frozen=True)
class ChannelLine:
    sku: str
    qty: int
    unit_price: str | None


@dataclass(frozen=True)
class ChannelOrder:
    """A channel's order as the queue takes it: resolved lines only, the verdict on the whole."""

    external_id: str
    currency: str
    lines: tuple[ChannelLine, ...]
    customer: ContactRequest | None
    verdict: Verdict
    detail: str = ""
    #: The channel's commercial truth (prices, discounts, tax, shipping, payments, its total), when mapped:
    #: finance invoices at it, and what the channel took pays the order.
    commerce: OrderCommerce | None = None


class OrderHeld(Exception):
    """The order cannot be applied as it is yet (unknown SKU, foreign currency, unmapped location, its order
    not seen yet). The connector's inbox handler turns it into the inbox's ``HoldMessage``: the message is
    ``held`` with this reason (no attempts spent, never rejected), rechecked, and applied once the
    configuration is fixed."""


class PlaceAction(StrEnum):
    PLACE = "place"
    HOLD = "hold"
    IGNORE = "ignore"


class CancelAction(StrEnum):
    CANCEL = "cancel"
    PLACE_THEN_CANCEL = "place_then_cancel"
    #: Never seen and no whole order to place (or one with nothing to fulfil): nothing was taken.
    NOTHING = "nothing"
    #: Never seen, and its body cannot be placed yet (an unknown SKU): held like its create would be, so a
    #: late create cannot place an order the channel already cancelled.
    HOLD = "hold"
    #: Shipped (in part or whole), closed or cancelled already: left alone (units coming back are a return).
    LEAVE = "leave"


def place_action(verdict: Verdict) -> PlaceAction:
    if verdict is Verdict.HOLD:
        return PlaceAction.HOLD
    return PlaceAction.PLACE if verdict is Verdict.ACCEPT else PlaceAction.IGNORE


def cancel_action(status: OrderStatus | None, verdict: Verdict | None) -> CancelAction:
    """What a cancellation does to an order in ``status`` (None: not in the queue); ``verdict`` is the
    mapping of the cancellation's body when it carries the whole order (None when it does not)."""
    if status is None:
        if verdict is Verdict.HOLD:
            return CancelAction.HOLD
        return CancelAction.PLACE_THEN_CANCEL if verdict is Verdict.ACCEPT else CancelAction.NOTHING
    return CancelAction.CANCEL if status in ALLOWED_FROM[Step.CANCEL] else CancelAction.LEAVE


# ---------------------------------------------------------------------- acceptance (Mirakl OR21)
@dataclass(frozen=True)
class OfferedLine:
    """A line the marketplace asks the seller to accept: its own line id, our SKU (None when not resolved)
    and the units."""

    line_id: str
    sku: str | None
    qty: int


@dataclass(frozen=True)
class Acceptance:
    accepted: tuple[OfferedLine, ...]
    refused: tuple[tuple[OfferedLine, str], ...]
    #: Why no decision is sent yet (an unknown SKU while the window leaves time); None when decided.
    held: str | None = None


def decide_acceptance(
    lines: Sequence[OfferedLine],
    known: Iterable[str],
    available: Mapping[str, int],
    *,
    now: datetime,
    deadline: datetime | None,
    margin: timedelta,
) -> Acceptance:
    """Accept each line the ledger can serve whole (``available`` per SKU, taken by the lines in order),
    refuse the rest. An unknown SKU holds the decision until ``deadline - margin``, then is refused."""
    known_set = set(known)
    unknown = [line for line in lines if line.sku is None or line.sku not in known_set]
    in_time = deadline is None or now < deadline - margin
    if unknown and in_time:
        names = ", ".join(sorted({line.sku or f"line {line.line_id}" for line in unknown}))
        return Acceptance((), (), held=f"unknown SKU {names}: link it before the acceptance deadline")
    left = {sku: max(0, int(qty)) for sku, qty in available.items()}
    accepted: list[OfferedLine] = []
    refused: list[tuple[OfferedLine, str]] = []
    for line in lines:
        if line.sku is None or line.sku not in known_set:
            refused.append((line, "unknown SKU at the acceptance deadline"))
        elif line.qty <= 0:
            refused.append((line, "no quantity"))
        elif left.get(line.sku, 0) >= line.qty:
            left[line.sku] -= line.qty
            accepted.append(line)
        else:
            refused.append((line, f"{left.get(line.sku, 0)} of {line.qty} available"))
    return Acceptance(tuple(accepted), tuple(refused))


# ---------------------------------------------------------------------- applying them
class ChannelOrders:
    def __init__(self, app: Seamline) -> None:
        self.app = app
        self.desk = OrderDesk(app)

    def place(self, uow: UnitOfWork, channel: str, order: ChannelOrder, *, kind: str) -> str | None:
        """The order into the queue (held or ignored by its verdict); answers our order id, None if ignored."""
        action = place_action(order.verdict)
        if action is PlaceAction.HOLD:
            raise OrderHeld(f"{order.external_id}: {order.detail}")
        if action is PlaceAction.IGNORE:
            log.info("%s order %s not placed: %s", channel, order.external_id, order.detail)
            return None
        lines = [LineRequest(line.sku, line.qty, line.unit_price) for line in order.lines]
        customer = order.customer
        commerce = order.commerce
        tenders = (
            [TenderRequest(p.tender, str(p.amount)) for p in commerce.payments if p.settled and p.kind != "refund"]
            if commerce is not None
            else []
        )
        request = OrderRequest(
            channel, order.external_id, lines, order.currency, kind, customer, tenders=tenders, commerce=commerce
        )
        try:
            view = self.desk.place_order(uow, request).order
        except InvalidInput as exc:
            if exc.code not in ("invalid-email", "invalid-phone") or customer is None:
                raise
            # Nothing is written before the contact is checked: place it without the contact we cannot read.
            view = self.desk.place_order(
                uow,
                OrderRequest(
                    channel, order.external_id, lines, order.currency, kind, tenders=tenders, commerce=commerce
                ),
            ).order
        return str(view["id"])

    def cancel(
        self, uow: UnitOfWork, channel: str, external_id: str, order: ChannelOrder | None, *, kind: str
    ) -> CancelAction:
        """The channel cancelled its order ``external_id``; ``order`` is its body when it is a whole order."""
        conn = uow.conn
        order_id = orders_repo.order_id_for(conn, channel, external_id)
        status = None
        if order_id is not None:
            row = orders_repo.get_order(conn, order_id)
            status = None if row is None else OrderStatus(row["status"])
        action = cancel_action(status, None if order is None else order.verdict)
        if action is CancelAction.HOLD:
            assert order is not None
            raise OrderHeld(f"cancelled order {external_id} not seen yet: {order.detail}")
        if action is CancelAction.PLACE_THEN_CANCEL:
            assert order is not None
            order_id = self.place(uow, channel, order, kind=kind)
            if order_id is not None:
                self.desk.cancel(uow, order_id)
        elif action is CancelAction.CANCEL:
            assert order_id is not None
            self.desk.cancel(uow, order_id)
        else:
            log.info("%s cancelled order %s: %s (status %s)", channel, external_id, action.value, status)
        return action

    def confirmations(
        self, channel: str, *, kind: str | None = None, refused: bool = False, limit: int = 100
    ) -> list[dict[str, Any]]:
        """What the channel is owed (acceptances, shipments, cancellations, refunds, listings created) and
        whether it was told: ``error`` is the platform's refusal, for a person to act on."""

        def work(conn: Connection) -> list[dict[str, Any]]:
            rows = channel_orders_repo.list_confirmations(conn, channel, kind=kind, refused=refused, limit=limit)
            return [
                {
                    "kind": r["kind"],
                    "ref": r["ref"],
                    "detail": r["detail"],
                    "decided_at": iso_utc(r["decided_at"]),
                    "sent_at": None if r["sent_at"] is None else iso_utc(r["sent_at"]),
                    "error": r["error"],
                }
                for r in rows
            ]

        return self.app.read(work)

    def known_skus(self, conn: Connection, skus: Iterable[str]) -> set[str]:
        return set(catalog_repo.known_skus(conn, sorted(set(skus))))

    def available(self, conn: Connection, channel: str, skus: Iterable[str]) -> dict[str, int]:
        """What the ledger can serve on the channel now, per SKU (the channel's ATP before any pause)."""
        wanted = sorted(set(skus))
        policies = channels_repo.policies(conn, skus=wanted)
        policy = next((p for p in policies if p.code == channel), None)
        if policy is None or not wanted:
            return {}
        balances = ledger_repo.read_balances(conn, self.app.clock.now(), skus=wanted, locations_in=list(policy.sources))
        by_sku: dict[str, dict[str, int]] = {sku: {} for sku in wanted}
        for b in balances:
            by_sku.setdefault(b.sku, {})[b.location] = b.available
        return {sku: max(0, channel_atp(policy, sku, by_sku[sku], policies).atp) for sku in wanted}
