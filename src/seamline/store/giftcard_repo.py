"""Gift cards' SQL (issue 17): the cards, their immutable movements, and the reads the liability check needs.

A redemption is one conditional statement (``UPDATE ... SET balance = balance - :x WHERE balance >= :x``):
on PostgreSQL the second of two racing tills waits for the first's row lock and then re-reads the row, so
only one wins when only one fits; SQLite serialises writers. The ``balance >= 0`` CHECK backs it up.
Sums are taken in Python: SQLite adds NUMERIC as binary floats.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from seamline.domain.money import minor_exponent
from seamline.finance.giftcards import SIGN, MovementKind
from seamline.store.tables import (
    finance_documents,
    gift_card_movements,
    gift_cards,
    journal_entries,
    journal_lines,
    orders,
)

C = gift_cards.c
M = gift_card_movements.c


def _money(value: Any, currency: str) -> Decimal:
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-minor_exponent(currency)))


def _card(row: Any) -> dict[str, Any]:
    out = dict(row)
    for key in ("balance", "initial_amount"):
        out[key] = _money(out[key], out["currency"])
    return out


def insert_card(conn: Connection, values: Mapping[str, Any]) -> bool:
    """The card, unless its code or its source is taken (then nothing is written): True when written."""
    stmt: Any
    if conn.dialect.name == "postgresql":
        stmt = postgresql.insert(gift_cards).values(**values).on_conflict_do_nothing()
    else:
        stmt = sqlite.insert(gift_cards).values(**values).on_conflict_do_nothing()
    return conn.execute(stmt.returning(C.code)).scalar_one_or_none() is not None


def get_card(conn: Connection, code: str) -> dict[str, Any] | None:
    row = conn.execute(select(gift_cards).where(C.code == code)).mappings().first()
    return None if row is None else _card(row)


def card_by(conn: Connection, *, source: str | None = None, external_ref: str | None = None) -> dict[str, Any] | None:
    query = select(gift_cards)
    query = query.where(C.source == source) if source is not None else query.where(C.external_ref == external_ref)
    row = conn.execute(query).mappings().first()
    return None if row is None else _card(row)


def link_external(
    conn: Connection, code: str, external_ref: str, now: datetime, *, last_characters: str | None = None
) -> bool:
    """Name the channel's own id of a card that has none yet: True when written (a card linked already, or
    another card holding that id, writes nothing)."""
    taken = conn.execute(select(C.code).where(C.external_ref == external_ref)).first()
    if taken is not None:
        return False
    done = conn.execute(
        update(gift_cards)
        .where(C.code == code, C.external_ref.is_(None))
        .values(external_ref=external_ref, external_last_characters=last_characters, updated_at=now)
        .returning(C.code)
    ).first()
    return done is not None


def cards_of_line(conn: Connection, line_source: str) -> list[dict[str, Any]]:
    """The cards a channel order's gift card line issued: ``line_source`` for one unit, ``<line_source>-<n>``
    for each of several, in unit order."""
    rows = conn.execute(
        select(gift_cards).where((C.source == line_source) | C.source.startswith(line_source + "-", autoescape=True))
    ).mappings()
    cards = [_card(r) for r in rows]
    tail = len(line_source) + 1
    return sorted(cards, key=lambda c: int(str(c["source"])[tail:] or 0) if str(c["source"])[tail:].isdigit() else 0)


def cards_sold_in(conn: Connection, source_prefix: str) -> list[dict[str, Any]]:
    """The cards whose source starts with ``source_prefix`` (a till sale's ``sale:<order id>:card:``), in the
    order the sale listed them (the index after the prefix)."""
    rows = conn.execute(select(gift_cards).where(C.source.startswith(source_prefix, autoescape=True))).mappings()
    cards = [_card(r) for r in rows]
    return sorted(cards, key=lambda c: int(str(c["source"])[len(source_prefix) :] or 0))


def take(conn: Connection, code: str, amount: Decimal, now: datetime) -> Decimal | None:
    """Take ``amount`` off an active card that holds at least that much: its new balance, or None (nothing
    changed) when it does not."""
    row = conn.execute(
        update(gift_cards)
        .where(C.code == code, C.status == "active", C.balance >= amount)
        .values(balance=C.balance - amount, updated_at=now)
        .returning(C.balance, C.currency)
    ).first()
    if row is None:
        return None
    balance = _money(row[0], row[1])
    if balance == 0:
        conn.execute(update(gift_cards).where(C.code == code).values(status="redeemed"))
    return balance


def add(conn: Connection, code: str, amount: Decimal, now: datetime) -> Decimal | None:
    """Put ``amount`` back on a card that has not expired: its new balance, or None."""
    row = conn.execute(
        update(gift_cards)
        .where(C.code == code, C.status != "expired")
        .values(balance=C.balance + amount, status="active", updated_at=now)
        .returning(C.balance, C.currency)
    ).first()
    return None if row is None else _money(row[0], row[1])


def expire(conn: Connection, code: str, seen: Decimal, now: datetime) -> bool:
    """Close a card whose balance is still ``seen`` (a redemption in between makes this a no-op)."""
    done = conn.execute(
        update(gift_cards)
        .where(C.code == code, C.status != "expired", C.balance == seen)
        .values(balance=0, status="expired", updated_at=now)
        .returning(C.code)
    ).first()
    return done is not None


def movement_by_source(conn: Connection, source: str) -> dict[str, Any] | None:
    row = conn.execute(select(gift_card_movements).where(M.source == source)).mappings().first()
    return None if row is None else _movement(row)


def _movement(row: Any) -> dict[str, Any]:
    out = dict(row)
    for key in ("amount", "balance_after"):
        out[key] = _money(out[key], out["currency"])
    return out


def insert_movement(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(gift_card_movements.insert().values(**values))


def movements(conn: Connection, code: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(gift_card_movements).where(M.code == code).order_by(M.seq)).mappings()
    return [_movement(r) for r in rows]


def movements_of_order(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(gift_card_movements).where(M.order_id == order_id).order_by(M.seq)).mappings()
    return [_movement(r) for r in rows]


def list_cards(conn: Connection, *, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    query = select(gift_cards)
    if status is not None:
        query = query.where(C.status == status)
    rows = conn.execute(query.order_by(C.issued_at.desc(), C.code).limit(limit)).mappings()
    return [_card(r) for r in rows]


def due_to_expire(conn: Connection, today: date, limit: int) -> list[dict[str, Any]]:
    """Cards past their last day that still hold something (or were never closed), oldest first."""
    rows = conn.execute(
        select(gift_cards)
        .where(C.status != "expired", C.expires_on.is_not(None), C.expires_on < today)
        .order_by(C.expires_on, C.code)
        .limit(limit)
    ).mappings()
    return [_card(r) for r in rows]


# ---------------------------------------------------------------------------------------------- the check
def all_cards(conn: Connection) -> list[dict[str, Any]]:
    return [_card(r) for r in conn.execute(select(C.code, C.currency, C.balance, C.initial_amount)).mappings()]


def movement_sums(conn: Connection) -> tuple[dict[str, Decimal], dict[str, str]]:
    """code → signed sum of its movements; movement id → its card's code."""
    sums: dict[str, Decimal] = {}
    owner: dict[str, str] = {}
    for row in conn.execute(select(M.id, M.code, M.kind, M.amount, M.currency)):
        owner[row.id] = row.code
        signed = _money(row.amount, row.currency) * SIGN[MovementKind(row.kind)]
        sums[row.code] = sums.get(row.code, Decimal(0)) + signed
    return sums, owner


def liability_lines(conn: Connection, account: str) -> list[tuple[str, str, Decimal]]:
    """(entry source key, currency, credit - debit) of every journal line on the liability account."""
    rows = conn.execute(
        select(journal_entries.c.source_key, journal_entries.c.currency, journal_lines.c.debit, journal_lines.c.credit)
        .join(journal_entries, journal_entries.c.id == journal_lines.c.entry_id)
        .where(journal_lines.c.account == account)
    )
    return [(r[0], r[1], _money(r[3], r[1]) - _money(r[2], r[1])) for r in rows]


def clearing_movements(conn: Connection) -> list[tuple[MovementKind, Decimal, str, str | None, str]]:
    """(kind, amount, currency, order id, the card's source) of every movement: what each put on the gift card
    clearing follows from these (``finance.giftcards.movement_clearing``)."""
    rows = conn.execute(
        select(M.kind, M.amount, M.currency, M.order_id, C.source).join(gift_cards, C.code == M.code).order_by(M.seq)
    )
    return [(MovementKind(r.kind), _money(r.amount, r.currency), r.currency, r.order_id, r.source) for r in rows]


def clearing_documents(conn: Connection) -> list[tuple[dict[str, Any], bool]]:
    """Every document but the journals, as its stored body, and whether it is booked: a till document once a
    closed settlement claimed it, any other when it was posted."""
    d = finance_documents.c
    rows = conn.execute(select(d.body, d.posting, d.settlement_id).where(d.kind != "journal").order_by(d.seq))
    return [(dict(r.body), r.posting != "settlement" or r.settlement_id is not None) for r in rows]


def till_sale_ids(conn: Connection, order_ids: list[str]) -> set[str]:
    """Which of these orders are till sales (``pos``)."""
    found: set[str] = set()
    for start in range(0, len(order_ids), 1000):
        chunk = order_ids[start : start + 1000]
        found.update(conn.execute(select(orders.c.id).where(orders.c.id.in_(chunk), orders.c.kind == "pos")).scalars())
    return found
