"""Gift cards (issue 17): issued through the API, by a channel order's gift card line or at a till; redeemed as
a tender on any channel; expired into breakage. Every change of a balance is a movement with its journal
entry, in the transaction of its cause (``finance.giftcards`` has the rules and the postings).

- A till sale's ``gift_card`` tender names the card: the redemption runs in the sale's transaction and a
  card that holds too little refuses the sale (409, nothing written).
- A channel order's payment by gift card already happened on the channel: a card we cannot take it from
  (unknown, expired, too little on it) is held for a person as a finance hold (the exceptions page, and
  reconcile is not clean until it is resolved), never silently dropped.
- Each cause takes effect once: a movement's ``source`` (``order:<id>:tender:<i>``, ``channel:<code>:<order>:
  payment:<i>``, ``expire:<code>``...) is unique, so a replayed sale or message changes nothing.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from seamline.domain.clock import iso_utc
from seamline.domain.commerce import OrderCommerce
from seamline.domain.errors import Conflict, FieldError, InvalidInput, NotFound
from seamline.finance import journal_document
from seamline.finance.chart import FinanceConfig, Role
from seamline.finance.documents import Document, DocumentLine
from seamline.finance.giftcards import (
    GIFT_CARD_TENDER,
    CardNotUsable,
    InsufficientBalance,
    LiabilityDifference,
    MovementKind,
    check_amount,
    check_code,
    clearing_check,
    document_clearing,
    expiry_for,
    liability_check,
    movement_clearing,
    movement_entry,
    sold_card_lines,
)
from seamline.service.app import Seamline
from seamline.service.results import PutResult
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import channels_repo, finance_repo, giftcard_repo

log = logging.getLogger("seamline.giftcards")

#: Generated codes: 16 characters without look-alikes (0/O, 1/I), grouped by the till's printer.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(16))


def masked(code: str) -> str:
    """What a screen may show of a card: its last four characters."""
    return "•" * max(len(code) - 4, 0) + code[-4:]


def channel_card_code(channel: str, key: str) -> str:
    """The code of a card a channel sold, from the channel's own key for it (its line id): the channel's
    code as a prefix, so two shops' line ids never collide."""
    prefix = re.sub(r"[^A-Za-z0-9]+", "-", channel).strip("-").upper()[:24] or "CH"
    return f"{prefix}-{re.sub(r'[^A-Za-z0-9_-]+', '-', key)}"[:64]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else iso_utc(value)


def movement_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "amount": str(row["amount"]),
        "balance_after": str(row["balance_after"]),
        "currency": row["currency"],
        "channel": row["channel"],
        "source": row["source"],
        "order_id": row["order_id"],
        "created_at": _iso(row["created_at"]),
    }


def card_view(card: dict[str, Any], movements: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": card["code"],
        "currency": card["currency"],
        "initial_amount": str(card["initial_amount"]),
        "balance": str(card["balance"]),
        "status": card["status"],
        "channel": card["channel"],
        "source": card["source"],
        "issued_at": _iso(card["issued_at"]),
        "expires_on": None if card["expires_on"] is None else card["expires_on"].isoformat(),
        # The channel's own card it is linked to (a Shopify gift card's id and what Shopify shows of its code).
        "channel_card": None
        if card.get("external_ref") is None
        else {
            "id": str(card["external_ref"]).split(":", 1)[-1],
            "last_characters": card.get("external_last_characters"),
        },
    }
    if movements is not None:
        out["movements"] = [movement_view(m) for m in movements]
    return out


def sold_card_receipt_lines(
    conn: Connection, config: FinanceConfig, order_id: str, *, first_line_no: int
) -> tuple[DocumentLine, ...]:
    """The receipt lines of the gift cards a till sale sold (``GiftCardDesk.sell_at_till``), after its goods."""
    sold = giftcard_repo.cards_sold_in(conn, GiftCardDesk.sold_in_sale_prefix(order_id))
    return sold_card_lines([(c["code"], c["initial_amount"]) for c in sold], config, first_line_no=first_line_no)


class GiftCardDesk:
    def __init__(self, app: Seamline) -> None:
        self.app = app

    def _now(self) -> datetime:
        return self.app.clock.now()

    @staticmethod
    def _config(conn: Connection) -> FinanceConfig:
        stored = finance_repo.get_config(conn)
        return FinanceConfig() if stored is None else FinanceConfig.from_json(stored)

    # ------------------------------------------------------------------------------------ movements
    def _move(
        self,
        uow: UnitOfWork,
        card: dict[str, Any],
        kind: MovementKind,
        amount: Decimal,
        balance_after: Decimal,
        *,
        source: str,
        channel: str | None,
        order_id: str | None,
        trace_id: str | None,
    ) -> dict[str, Any]:
        conn = uow.conn
        now = self._now()
        movement_id = "gcm_" + uuid.uuid4().hex
        values = {
            "id": movement_id,
            "code": card["code"],
            "kind": kind.value,
            "amount": amount,
            "balance_after": balance_after,
            "currency": card["currency"],
            "channel": channel,
            "source": source,
            "order_id": order_id,
            "created_at": now,
            "trace_id": trace_id,
        }
        giftcard_repo.insert_movement(conn, values)
        config = self._config(conn)
        entry = movement_entry(
            movement_id=movement_id,
            kind=kind,
            code=card["code"],
            amount=amount,
            currency=card["currency"],
            on=config.business_date(now),
            source=card["source"] if kind is MovementKind.ISSUE else source,
            config=config,
        )
        # A journal document, exported to the accounting connections like the settlement and cost journals: the
        # liability in the books equals the cards, there as here.
        doc = journal_document("doc_" + uuid.uuid4().hex, entry, order_id=order_id, extra={"gift_card": True})
        posted = finance_repo.insert_document(uow, doc, now=now)
        document_id = None if posted is None else posted.id
        finance_repo.insert_entry(
            conn, "jnl_" + uuid.uuid4().hex, entry, now=now, trace_id=trace_id, document_id=document_id
        )
        return values

    def issue(
        self,
        uow: UnitOfWork,
        *,
        amount: Decimal,
        currency: str,
        source: str,
        channel: str | None = None,
        code: str | None = None,
        external_ref: str | None = None,
        order_id: str | None = None,
        trace_id: str | None = None,
    ) -> PutResult[dict[str, Any]]:
        """The new card, created; the card, not created, when ``source`` already issued one; ``Conflict``
        ``gift-card-code-taken`` for a code another card has."""
        conn = uow.conn
        check_amount(amount, currency)
        if code is not None:
            check_code(code)
        prior = giftcard_repo.card_by(conn, source=source)
        if prior is not None:
            return PutResult(False, card_view(prior, giftcard_repo.movements(conn, prior["code"])))
        now = self._now()
        config = self._config(conn)
        values = {
            "code": code or new_code(),
            "currency": currency,
            "initial_amount": amount,
            "balance": amount,
            "status": "active",
            "channel": channel,
            "source": source,
            "external_ref": external_ref,
            "issued_at": now,
            "expires_on": expiry_for(config.business_date(now), config.gift_card_expiry_months),
            "updated_at": now,
        }
        if not giftcard_repo.insert_card(conn, values):
            raced = giftcard_repo.card_by(conn, source=source)  # the same cause, committed by another writer
            if raced is not None:
                return PutResult(False, card_view(raced, giftcard_repo.movements(conn, raced["code"])))
            raise Conflict(f"a gift card with code {values['code']} exists", code="gift-card-code-taken")
        self._move(
            uow,
            values,
            MovementKind.ISSUE,
            amount,
            amount,
            source=f"issue:{source}",
            channel=channel,
            order_id=order_id,
            trace_id=trace_id,
        )
        card = giftcard_repo.get_card(conn, str(values["code"]))
        assert card is not None
        return PutResult(True, card_view(card, giftcard_repo.movements(conn, card["code"])))

    def issue_api(
        self,
        uow: UnitOfWork,
        *,
        amount: Decimal,
        currency: str,
        channel: str | None,
        code: str | None,
        trace_id: str | None = None,
    ) -> PutResult[dict[str, Any]]:
        """``POST /v1/gift-cards``: a card sold elsewhere (a gifting site, customer service), paid into the
        tender clearing account. ``channel``, when given, must be one of ours."""
        check_amount(amount, currency)
        if channel is not None and channels_repo.kind_and_sources(uow.conn, channel) is None:
            raise InvalidInput("unknown channel", [FieldError("channel", f"no channel {channel}")])
        return self.issue(
            uow,
            amount=amount,
            currency=currency,
            source="api:" + uuid.uuid4().hex,
            channel=channel,
            code=code,
            trace_id=trace_id,
        )

    def redeem(
        self,
        uow: UnitOfWork,
        code: str,
        amount: Decimal,
        *,
        source: str,
        channel: str | None = None,
        order_id: str | None = None,
        currency: str | None = None,
        trace_id: str | None = None,
    ) -> dict[str, Any]:
        """Take ``amount`` off the card, once per ``source``. 404 for an unknown card; 409 for an expired one
        or one holding less than ``amount`` (nothing taken); 422 for another currency than the card's."""
        conn = uow.conn
        prior = giftcard_repo.movement_by_source(conn, source)
        if prior is not None:
            return movement_view(prior)
        card = giftcard_repo.get_card(conn, code)
        if card is None:
            raise NotFound(f"no gift card {code}", code="unknown-gift-card")
        if currency is not None and currency != card["currency"]:
            raise InvalidInput(
                "the gift card is in another currency",
                [FieldError("currency", f"the card holds {card['currency']}, the sale is in {currency}")],
                code="gift-card-currency",
            )
        check_amount(amount, card["currency"])
        today = self._config(conn).business_date(self._now())
        if card["status"] == "expired" or (card["expires_on"] is not None and today > card["expires_on"]):
            raise CardNotUsable(f"gift card {masked(code)} expired on {card['expires_on']}")
        balance = giftcard_repo.take(conn, code, amount, self._now())
        if balance is None:
            fresh = giftcard_repo.get_card(conn, code)
            held = fresh["balance"] if fresh is not None else Decimal(0)
            raise InsufficientBalance(
                f"gift card {masked(code)} holds {held} {card['currency']}, less than the {amount} asked",
                extra={"balance": str(held), "requested": str(amount), "currency": card["currency"]},
            )
        moved = self._move(
            uow,
            card,
            MovementKind.REDEEM,
            amount,
            balance,
            source=source,
            channel=channel,
            order_id=order_id,
            trace_id=trace_id,
        )
        return movement_view(moved)

    def refund_to_card(
        self,
        uow: UnitOfWork,
        code: str,
        amount: Decimal,
        *,
        source: str,
        channel: str | None = None,
        order_id: str | None = None,
        trace_id: str | None = None,
    ) -> dict[str, Any]:
        conn = uow.conn
        prior = giftcard_repo.movement_by_source(conn, source)
        if prior is not None:
            return movement_view(prior)
        card = giftcard_repo.get_card(conn, code)
        if card is None:
            raise NotFound(f"no gift card {code}", code="unknown-gift-card")
        check_amount(amount, card["currency"])
        balance = giftcard_repo.add(conn, code, amount, self._now())
        if balance is None:
            raise CardNotUsable(f"gift card {masked(code)} has expired: nothing can be put back on it")
        moved = self._move(
            uow,
            card,
            MovementKind.REFUND_TO_CARD,
            amount,
            balance,
            source=source,
            channel=channel,
            order_id=order_id,
            trace_id=trace_id,
        )
        return movement_view(moved)

    def expire_due(self, uow: UnitOfWork, today: date | None = None, *, limit: int = 500) -> list[dict[str, Any]]:
        """Close every card past its last day: what it still held is breakage income. Once per card."""
        conn = uow.conn
        today = today or self._config(conn).business_date(self._now())
        out = []
        for card in giftcard_repo.due_to_expire(conn, today, limit):
            if not giftcard_repo.expire(conn, card["code"], card["balance"], self._now()):
                continue  # redeemed in between: the next sweep sees it again
            if card["balance"] > 0:
                self._move(
                    uow,
                    card,
                    MovementKind.EXPIRE,
                    card["balance"],
                    Decimal(0),
                    source=f"expire:{card['code']}",
                    channel=None,
                    order_id=None,
                    trace_id=None,
                )
            out.append({"code": card["code"], "breakage": str(card["balance"]), "currency": card["currency"]})
        return out

    @staticmethod
    def sold_in_sale_prefix(order_id: str) -> str:
        """The source prefix of the cards a till sale sold (``sale:<order id>:card:<i>``)."""
        return f"sale:{order_id}:card:"

    def sell_at_till(
        self,
        uow: UnitOfWork,
        order: Mapping[str, Any],
        cards: Sequence[tuple[Decimal, str | None]],
        *,
        created: bool,
        channel: str | None = None,
        trace_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """The gift cards a till sale sold, (face value, code or None) each, issued in the sale's transaction
        and paid into the gift card clearing (the sale's receipt credits it with their price, so the money
        is the liability, never revenue). Once per sale: a sale the till sent before (``created`` False)
        answers the cards it issued then, whatever the repeat asks. ``channel``: the platform's channel that
        sold them, when not the sale's own (a Square till's sale is filed under the store's till channel)."""
        prefix = self.sold_in_sale_prefix(str(order["id"]))
        if created:
            for i, (amount, code) in enumerate(cards):
                self.issue(
                    uow,
                    amount=amount,
                    currency=str(order["currency"]),
                    source=f"{prefix}{i}",
                    channel=channel or order["channel"],
                    code=code,
                    order_id=str(order["id"]),
                    trace_id=trace_id,
                )
        return [card_view(c) for c in giftcard_repo.cards_sold_in(uow.conn, prefix)]

    def redeem_sale_tenders(
        self,
        uow: UnitOfWork,
        order: Mapping[str, Any],
        tenders: Sequence[tuple[str, Decimal, str | None]],
        *,
        trace_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """A till sale's ``gift_card`` tenders (type, amount, card code), in the sale's transaction: each takes
        its amount off its card, once per (sale, tender). A card that cannot pay refuses the whole sale."""
        out = []
        for i, (kind, amount, code) in enumerate(tenders):
            if kind != GIFT_CARD_TENDER:
                continue
            if not code:
                raise InvalidInput(
                    "a gift card tender names its card",
                    [FieldError(f"tenders[{i}].code", "the gift card's code is required")],
                )
            out.append(
                self.redeem(
                    uow,
                    code,
                    amount,
                    source=f"order:{order['id']}:tender:{i}",
                    channel=order["channel"],
                    order_id=order["id"],
                    currency=order["currency"],
                    trace_id=trace_id,
                )
            )
        return out

    def refund_return(
        self, uow: UnitOfWork, ret: Mapping[str, Any], *, trace_id: str | None = None
    ) -> list[dict[str, Any]]:
        """A return refunded to the ``gift_card`` tender puts the money back on the cards its order was paid
        with (each up to what it paid, latest first); what is left (the order was not paid by card) becomes a
        new card, store credit. Once per return."""
        conn = uow.conn
        due = sum(
            (Decimal(t["amount"]) for t in ret["refund"]["tenders"] if t["tender"] == GIFT_CARD_TENDER), Decimal(0)
        )
        if due <= 0:
            return []
        out: list[dict[str, Any]] = []
        paid: dict[str, Decimal] = {}
        for move in giftcard_repo.movements_of_order(conn, ret["order_id"]):
            sign = {"redeem": 1, "refund_to_card": -1}.get(move["kind"], 0)
            paid[move["code"]] = paid.get(move["code"], Decimal(0)) + sign * move["amount"]
        for code, room in reversed(list(paid.items())):
            part = min(room, due)
            if part <= 0:
                continue
            out.append(
                self.refund_to_card(
                    uow,
                    code,
                    part,
                    source=f"return:{ret['id']}:card:{code}",
                    order_id=ret["order_id"],
                    trace_id=trace_id,
                )
            )
            due -= part
        if due > 0:
            card = self.issue(
                uow,
                amount=due,
                currency=ret["currency"],
                source=f"return:{ret['id']}:store-credit",
                order_id=ret["order_id"],
                trace_id=trace_id,
            ).view
            out.append({"kind": "issue", "code": card["code"], "amount": card["initial_amount"]})
        return out

    # ------------------------------------------------------------------------------------ channels
    def channel_order(
        self,
        uow: UnitOfWork,
        channel: str,
        external_id: str,
        commerce: OrderCommerce,
        *,
        order_id: str | None = None,
        trace_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """A channel order's gift cards: one card per unit of each gift card line (issued at its face value,
        keyed by the channel's line id: the code itself is not in the order), and each settled payment by
        gift card redeemed from the card it names. A payment we cannot take is held for a person."""
        issued = []
        for line in commerce.lines:
            if line.kind != "gift_card":
                continue
            for unit in range(max(line.qty, 0)):
                suffix = "" if line.qty == 1 else f"-{unit + 1}"
                sold = self.issue(
                    uow,
                    amount=line.unit_price,
                    currency=commerce.currency,
                    source=f"channel:{channel}:{external_id}:line:{line.line_id}{suffix}",
                    channel=channel,
                    code=channel_card_code(channel, line.line_id + suffix),
                    order_id=order_id,
                    trace_id=trace_id,
                ).view
                issued.append(sold)
        self.redeem_channel_payments(uow, channel, external_id, commerce, order_id=order_id, trace_id=trace_id)
        return issued

    def redeem_channel_payments(
        self,
        uow: UnitOfWork,
        channel: str,
        external_id: str,
        commerce: OrderCommerce,
        *,
        order_id: str | None = None,
        trace_id: str | None = None,
    ) -> None:
        """Each settled payment by gift card of a channel order (or a channel's till sale) taken off the card
        it names, once per payment; one we cannot take is held for a person."""
        conn = uow.conn
        for i, payment in enumerate(commerce.payments):
            if payment.tender != GIFT_CARD_TENDER or not payment.settled or payment.kind == "refund":
                continue
            source = f"channel:{channel}:{external_id}:payment:{i}"
            card: dict[str, Any] | None = None
            if payment.card is not None:
                card = giftcard_repo.card_by(conn, external_ref=f"{channel}:{payment.card}") or giftcard_repo.get_card(
                    conn, payment.card
                )
            missing = None
            if card is None:
                missing = NotFound(
                    f"{channel} took {payment.amount} {commerce.currency} by gift card on order {external_id}, "
                    + (
                        f"from card {payment.card}, which Seamline does not know"
                        if payment.card
                        else "without naming the card"
                    ),
                    code="unknown-gift-card",
                )
            self.redeem_or_hold(
                uow,
                None if card is None else card["code"],
                payment.amount,
                currency=commerce.currency,
                source=source,
                channel=channel,
                order_id=order_id,
                reference=external_id,
                card_ref=payment.card,
                missing=missing,
                trace_id=trace_id,
            )

    def link_channel_card(
        self,
        uow: UnitOfWork,
        channel: str,
        line_source: str,
        external_id: str,
        *,
        last_characters: str | None = None,
        trace_id: str | None = None,
    ) -> int | None:
        """The channel's own card for a card a channel order's gift card line issued (``line_source``,
        ``channel:<code>:<order>:line:<line id>``: Shopify names the gift card a sale created by the order and
        line; its payments name only that card's id): the link is stored
        (``external_ref``) and each payment held because it named that id, unknown until now, is taken off
        our card, once. Answers how many held payments were taken; None when there is no card from
        that line (its sale not yet received) or the id is linked to another card (nothing written).

        A line of several units issued a card each, all of one face value: the card already linked to this
        id, else the line's first card not linked yet."""
        conn = uow.conn
        ref = f"{channel}:{external_id}"
        card = giftcard_repo.card_by(conn, external_ref=ref)
        if card is None:
            free = [c for c in giftcard_repo.cards_of_line(conn, line_source) if c["external_ref"] is None]
            if not free or not giftcard_repo.link_external(
                conn, free[0]["code"], ref, self._now(), last_characters=last_characters
            ):
                return None
            card = free[0]
        elif card["source"] != line_source and not str(card["source"]).startswith(line_source + "-"):
            return None
        taken = 0
        for hold in finance_repo.open_holds_from(conn, f"giftcard:channel:{channel}:", kind="gift_card"):
            figures = hold["figures"] or {}
            if hold["reason"] != "unknown-gift-card" or str(figures.get("card")) != external_id:
                continue
            if self.redeem_or_hold(
                uow,
                card["code"],
                Decimal(str(figures["amount"])),
                currency=str(figures["currency"]),
                source=str(hold["source_key"]).removeprefix("giftcard:"),
                channel=channel,
                order_id=hold["order_id"],
                reference=str(figures.get("order") or hold["order_id"]),
                card_ref=external_id,
                trace_id=trace_id,
            ):
                taken += 1
        return taken

    def hold_platform_card_tenders(
        self,
        uow: UnitOfWork,
        tenders: Sequence[tuple[str, Decimal]],
        *,
        channel: str,
        external_id: str,
        currency: str,
        order_id: str | None,
        platform: str,
        why: str,
        references: Mapping[int, str] | None = None,
        trace_id: str | None = None,
    ) -> int:
        """A till platform's sale paid by the platform's own gift card (Square's ``SQUARE_GIFT_CARD`` tender, a
        Lightspeed ``Gift Card`` payment): the platform took the money off a card of its own program and its
        tender names no card of ours, so nothing can be taken here. Each such tender is held for a person
        (``gift-card-unidentified``: the exceptions page, reconcile not clean) instead of leaving the sale's
        revenue booked against nothing; ``references`` (tender index → what the platform shows of the card,
        its last digits and payment) goes on the hold. Once per tender. Answers how many were held."""
        held = 0
        for i, (kind, amount) in enumerate(tenders):
            if kind != GIFT_CARD_TENDER or amount <= 0:
                continue
            source = f"channel:{channel}:{external_id}:tender:{i}"
            if finance_repo.hold_exists(uow.conn, f"giftcard:{source}"):
                continue  # the sale delivered again: its hold stands (or a person resolved it)
            ref = (references or {}).get(i)
            shown = f" ({ref})" if ref else ""
            self.redeem_or_hold(
                uow,
                None,
                amount,
                currency=currency,
                source=source,
                channel=channel,
                order_id=order_id,
                reference=f"{platform} sale {external_id}",
                card_ref=ref,
                missing=NotFound(
                    f"{platform} took {amount} {currency} by its own gift card{shown} on sale {external_id}: {why}",
                    code="gift-card-unidentified",
                ),
                trace_id=trace_id,
            )
            held += 1
        return held

    def redeem_held(self, uow: UnitOfWork, code: str, hold_key: str, *, trace_id: str | None = None) -> dict[str, Any]:
        """A person resolves a gift card payment that was held (``redeem_or_hold``, a platform's own card):
        the held amount comes off the card they found, as the payment's own movement (its order, its cause),
        and the hold is resolved, in one transaction. 404 ``unknown-hold`` for no gift card hold by that key;
        409 ``hold-not-held`` when it was resolved already; the card's own refusals (too little on it,
        expired, another currency) leave the hold open and write nothing."""
        conn = uow.conn
        hold = finance_repo.get_hold(conn, hold_key)
        if hold is None or hold["kind"] != "gift_card" or not hold_key.startswith("giftcard:"):
            raise NotFound(f"no gift card payment is held as {hold_key}", code="unknown-hold")
        if hold["resolved_at"] is not None:
            raise Conflict(f"the held gift card payment {hold_key} was resolved already", code="hold-not-held")
        figures = hold["figures"] or {}
        taken = self.redeem(
            uow,
            code,
            Decimal(str(figures["amount"])),
            source=hold_key.removeprefix("giftcard:"),
            order_id=hold["order_id"],
            currency=str(figures["currency"]),
            trace_id=trace_id,
        )
        finance_repo.resolve_hold(conn, hold_key, self._now())
        return taken

    def redeem_or_hold(
        self,
        uow: UnitOfWork,
        code: str | None,
        amount: Decimal,
        *,
        currency: str,
        source: str,
        channel: str | None,
        order_id: str | None,
        reference: str,
        card_ref: str | None = None,
        missing: NotFound | None = None,
        trace_id: str | None = None,
    ) -> bool:
        """Money already taken by gift card (a channel's payment, an offline till's tender): take it off the
        card, or, when the card cannot pay it (unknown, expired, too little on it), hold it for a person as a
        finance hold (the exceptions page; reconcile is not clean until it is resolved). True when taken."""
        conn = uow.conn
        hold_key = f"giftcard:{source}"
        try:
            if code is None:
                raise missing or NotFound(f"a gift card payment on {reference} names no card", code="unknown-gift-card")
            with uow.savepoint() as redemption:
                self.redeem(
                    redemption,
                    code,
                    amount,
                    source=source,
                    channel=channel,
                    order_id=order_id,
                    currency=currency,
                    trace_id=trace_id,
                )
            finance_repo.resolve_hold(conn, hold_key, self._now())
            return True
        except (NotFound, Conflict, InvalidInput) as exc:
            log.warning("gift card payment held: %s", exc.detail)
            finance_repo.hold(
                conn,
                {
                    "source_key": hold_key,
                    "kind": "gift_card",
                    "order_id": order_id,
                    "return_id": None,
                    "reason": exc.code,
                    "detail": f"{exc.detail}. The money was already taken: take it off the right card by hand "
                    "(or fix the card) and resolve this hold.",
                    "figures": {
                        "amount": str(amount),
                        "currency": currency,
                        "card": card_ref if card_ref is not None else (None if code is None else masked(code)),
                        "order": reference,
                    },
                    "created_at": self._now(),
                },
            )
            return False

    def redeem_offline_sales(
        self,
        uow: UnitOfWork,
        results: Sequence[dict[str, Any]],
        tenders: Mapping[str, Sequence[tuple[str, Decimal, str | None]]],
        currency: Mapping[str, str],
        *,
        channel: str | None,
        trace_id: str | None = None,
    ) -> None:
        """An offline till's sales (``TillDesk.record_offline_batch`` results): the gift card tenders of each
        sale recorded now are taken off their cards; the till already took them, so one that cannot pay is
        held for a person, never a refused batch."""
        for result in results:
            if result["status"] != "recorded":
                continue
            for i, (kind, amount, code) in enumerate(tenders.get(result["external_id"], ())):
                if kind != GIFT_CARD_TENDER:
                    continue
                self.redeem_or_hold(
                    uow,
                    code,
                    amount,
                    currency=currency[result["external_id"]],
                    source=f"order:{result['order_id']}:tender:{i}",
                    channel=channel,
                    order_id=result["order_id"],
                    reference=f"till sale {result['external_id']}",
                    trace_id=trace_id,
                )

    # ------------------------------------------------------------------------------------ reads
    def get(self, code: str) -> dict[str, Any]:
        def work(conn: Connection) -> dict[str, Any]:
            card = giftcard_repo.get_card(conn, code)
            if card is None:
                raise NotFound(f"no gift card {code}", code="unknown-gift-card")
            return card_view(card, giftcard_repo.movements(conn, code))

        return self.app.read(work)

    def cards(self, *, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        rows = self.app.read(lambda conn: giftcard_repo.list_cards(conn, status=status, limit=limit))
        return [{**card_view(r), "masked": masked(r["code"])} for r in rows]

    # ------------------------------------------------------------------------------------ the check
    def liability_differences(self, conn: Connection, config: FinanceConfig) -> tuple[list[LiabilityDifference], int]:
        """The journal's gift card liability against the cards (``finance.giftcards.liability_check``)."""
        account = config.account(Role.GIFT_CARDS)
        sums, owner = giftcard_repo.movement_sums(conn)
        total: dict[str, Decimal] = {}
        by_card: dict[str, Decimal] = {}
        for source_key, currency, amount in giftcard_repo.liability_lines(conn, account):
            total[currency] = total.get(currency, Decimal(0)) + amount
            code = owner.get(source_key.removeprefix("giftcard:")) if source_key.startswith("giftcard:") else None
            if code is not None:
                by_card[code] = by_card.get(code, Decimal(0)) + amount
        cards = giftcard_repo.all_cards(conn)
        found = liability_check(total, by_card, cards, sums) + self.clearing_differences(conn, config)
        return found, len(cards)

    def clearing_differences(self, conn: Connection, config: FinanceConfig) -> list[LiabilityDifference]:
        """The gift card clearing in the journal against the movements and the documents booked, and each till
        sale's card money against its cards (``finance.giftcards.clearing_check``)."""
        journal: dict[str, Decimal] = {}
        clearing = config.tender_account(GIFT_CARD_TENDER)
        # On the shared tender clearing (a chart that maps no account of its own to gift cards) other tenders'
        # money moves too (a marketplace refund, a payout clearing it): the account's balance says nothing about
        # gift cards, so only each till sale's card money is checked there.
        shared = clearing == config.account(Role.TENDER_CLEARING)
        for _, currency, credit in [] if shared else giftcard_repo.liability_lines(conn, clearing):
            journal[currency] = journal.get(currency, Decimal(0)) - credit
        moved: dict[str, Decimal] = {}
        per_order: dict[tuple[str, str], Decimal] = {}
        for kind, amount, currency, order_id, card_source in giftcard_repo.clearing_movements(conn):
            effect = movement_clearing(kind, amount, card_source, config)
            moved[currency] = moved.get(currency, Decimal(0)) + effect
            if order_id is not None and effect:
                per_order[(order_id, currency)] = per_order.get((order_id, currency), Decimal(0)) + effect
        booked: dict[str, Decimal] = {}
        for body, is_booked in giftcard_repo.clearing_documents(conn):
            doc = Document.from_json(body)
            effect = document_clearing(doc, config)
            if not effect:
                continue
            if is_booked:
                booked[doc.currency] = booked.get(doc.currency, Decimal(0)) + effect
            if doc.order_id is not None:
                key = (doc.order_id, doc.currency)
                per_order[key] = per_order.get(key, Decimal(0)) + effect
        tills = giftcard_repo.till_sale_ids(conn, sorted({order_id for order_id, _ in per_order}))
        till_sales = {key: left for key, left in per_order.items() if key[0] in tills}
        if shared:  # the account-wide leg has nothing to compare against: only each sale's card money
            moved, booked = {}, {}
        return clearing_check(journal, moved, booked, till_sales)
