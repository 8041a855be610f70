"""The ledger's SQL. Reserve, commit and release are each one conditional UPDATE per balance row,
touched in (sku, location) order so concurrent requests never deadlock on each other."""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
    text,
    tuple_,
    union,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from seamline.domain.errors import Shortage, ShortLine
from seamline.finance.cost import valued as cost_valued
from seamline.ledger.events import BalancesChanged
from seamline.ledger.model import Balance, LocationKind, PlannedMovement
from seamline.store import catalog_repo, channels_repo, cost_repo
from seamline.store.tables import allocations, balances, hold_lines, holds, locations, movements
from seamline.store.types import driver_time
from seamline.store.work import Work

Line = tuple[str, str, int]  # (sku, location, qty)

_available = balances.c.on_hand - balances.c.committed - balances.c.reserved


def touch(uow: Work, sku: str, location: str) -> None:
    """This balance row changed in ``uow``'s transaction: availability is recomputed for it (DESIGN 4.4)."""
    uow.raise_event(BalancesChanged(((sku, location),)))


_LOCATION_KINDS = select(locations.c.code, locations.c.kind)


def location_kinds(conn: Connection) -> dict[str, LocationKind]:
    """Every location's kind. A write reads them once per transaction through its unit of work
    (``UnitOfWork.location_kinds``), which keeps the answer for its savepoints."""
    return {r.code: LocationKind(r.kind) for r in conn.execute(_LOCATION_KINDS)}


def _add_on_hand_statement(dialect: Any) -> Any:
    """INSERT ... ON CONFLICT adding to on_hand, with bound parameters: built once per dialect."""
    stmt = dialect.insert(balances).values(
        sku=bindparam("add_sku"),
        location=bindparam("add_location"),
        on_hand=bindparam("add_delta"),
        committed=0,
        reserved=0,
    )
    return stmt.on_conflict_do_update(
        index_elements=["sku", "location"], set_={"on_hand": balances.c.on_hand + bindparam("add_delta")}
    )


_ADD_ON_HAND = {"postgresql": _add_on_hand_statement(postgresql), "sqlite": _add_on_hand_statement(sqlite)}


def _add_on_hand(uow: Work, sku: str, location: str, delta: int) -> None:
    conn = uow.conn
    touch(uow, sku, location)
    conn.execute(_ADD_ON_HAND[conn.dialect.name], {"add_sku": sku, "add_location": location, "add_delta": delta})


# Statements on every movement, built once: building a SQLAlchemy statement costs more Python than running
# it (issue 9's profile); the compiled form is cached per statement object.
_TAKE_AVAILABLE = (
    update(balances)
    .where(
        balances.c.sku == bindparam("take_sku"),
        balances.c.location == bindparam("take_location"),
        _available >= bindparam("take_qty"),
    )
    .values(on_hand=balances.c.on_hand - bindparam("take_qty"))
)
_INSERT_MOVEMENT = movements.insert().returning(movements.c.id)
#: A movement's cost columns when neither side is valued (every insert binds the same columns).
_NO_COST: dict[str, Any] = dict.fromkeys(("unit_cost", "cost_value", "cost_currency", "cost_source", "cost_cause"))


def _take_available(uow: Work, sku: str, location: str, qty: int) -> bool:
    conn = uow.conn
    result = conn.execute(_TAKE_AVAILABLE, {"take_sku": sku, "take_location": location, "take_qty": qty})
    if result.rowcount == 1:
        touch(uow, sku, location)
        return True
    return False


def available_at(conn: Connection, sku: str, location: str) -> int:
    value = conn.execute(select(_available).where(balances.c.sku == sku, balances.c.location == location)).scalar()
    return int(value or 0)


def record_movement(
    uow: Work,
    move: PlannedMovement,
    *,
    now: datetime,
    occurred_at: datetime | None = None,
    trace_id: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Append one movement and apply both sides to the balances, in location order.

    A checked source must have the units *available* (not merely on hand): goods that leave never take
    units already promised to a hold or an order. Raises Shortage and writes nothing otherwise.
    """
    conn = uow.conn
    for location in sorted((move.from_location, move.to_location)):
        if location == move.from_location:
            if move.checked:
                if not _take_available(uow, move.sku, location, move.qty):
                    have = available_at(conn, move.sku, location)
                    raise Shortage([ShortLine(move.sku, move.qty, have, location)])
            else:
                _add_on_hand(uow, move.sku, location, -move.qty)
        else:
            _add_on_hand(uow, move.sku, location, move.qty)
    row = {
        "sku": move.sku,
        "qty": move.qty,
        "from_location": move.from_location,
        "to_location": move.to_location,
        "kind": move.kind.value,
        "document": move.document,
        "channel": move.channel,
        "reason": move.reason,
        "idempotency_key": idempotency_key,
        "occurred_at": occurred_at or now,
        "recorded_at": now,
        "trace_id": trace_id,
        # Valued at cost once both balance rows are locked (``cost_repo``): the cost rows follow them.
        **_NO_COST,
        **cost_repo.value_movement(uow, move, occurred_at=occurred_at or now, now=now),
    }
    movement_id = conn.execute(_INSERT_MOVEMENT, row).scalar_one()
    return {"id": movement_id, **row}


def reserve(uow: Work, lines: Sequence[Line]) -> list[ShortLine]:
    """Reserve every line or report every short one. The caller rolls back when the list is not empty."""
    conn = uow.conn
    short: list[ShortLine] = []
    for sku, location, qty in sorted(lines):
        result = conn.execute(
            update(balances)
            .where(balances.c.sku == sku, balances.c.location == location, _available >= qty)
            .values(reserved=balances.c.reserved + qty)
        )
        if result.rowcount != 1:
            short.append(ShortLine(sku, qty, max(0, available_at(conn, sku, location)), location))
        else:
            touch(uow, sku, location)
    return short


def try_reserve_one(uow: Work, sku: str, location: str, qty: int) -> bool:
    conn = uow.conn
    result = conn.execute(
        update(balances)
        .where(balances.c.sku == sku, balances.c.location == location, _available >= qty)
        .values(reserved=balances.c.reserved + qty)
    )
    if result.rowcount == 1:
        touch(uow, sku, location)
        return True
    return False


def insert_hold(
    conn: Connection,
    hold_id: str,
    *,
    channel: str | None,
    lines: Sequence[Line],
    now: datetime,
    expires_at: datetime,
    trace_id: str | None,
) -> None:
    conn.execute(
        holds.insert().values(
            id=hold_id, channel=channel, status="held", created_at=now, expires_at=expires_at, trace_id=trace_id
        )
    )
    conn.execute(
        hold_lines.insert(),
        [
            {"hold_id": hold_id, "line_no": i, "sku": sku, "location": loc, "qty": qty}
            for i, (sku, loc, qty) in enumerate(lines, start=1)
        ],
    )


def get_hold(conn: Connection, hold_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(holds).where(holds.c.id == hold_id)).mappings().first()
    if row is None:
        return None
    lines = conn.execute(
        select(hold_lines.c.sku, hold_lines.c.location, hold_lines.c.qty)
        .where(hold_lines.c.hold_id == hold_id)
        .order_by(hold_lines.c.line_no)
    ).all()
    return {**dict(row), "lines": [{"sku": s, "location": loc, "qty": q} for s, loc, q in lines]}


def _hold_lines(conn: Connection, hold_ids: Sequence[str]) -> list[Line]:
    rows = conn.execute(
        select(hold_lines.c.sku, hold_lines.c.location, hold_lines.c.qty).where(hold_lines.c.hold_id.in_(hold_ids))
    ).all()
    return [(r.sku, r.location, r.qty) for r in rows]


def _net(lines: Iterable[Line]) -> list[Line]:
    total: dict[tuple[str, str], int] = defaultdict(int)
    for sku, loc, qty in lines:
        total[(sku, loc)] += qty
    return sorted((sku, loc, qty) for (sku, loc), qty in total.items())


def _unreserve(uow: Work, lines: Iterable[Line]) -> None:
    conn = uow.conn
    for sku, loc, qty in _net(lines):
        touch(uow, sku, loc)
        conn.execute(
            update(balances)
            .where(balances.c.sku == sku, balances.c.location == loc)
            .values(reserved=balances.c.reserved - qty)
        )


def end_hold(uow: Work, hold_id: str, *, status: str, now: datetime, require_live: bool) -> bool:
    """Move a hold from ``held`` to ``status`` (released or expired) and give its units back.

    The status flip is conditional, so of two racing releases (or a release and the sweeper) exactly
    one gives the units back. ``require_live`` refuses to release a hold that has already timed out.
    """
    conn = uow.conn
    condition = and_(holds.c.id == hold_id, holds.c.status == "held")
    if require_live:
        condition = and_(condition, holds.c.expires_at > now)
    lines = _hold_lines(conn, [hold_id])
    _lock_lines(conn, lines)
    flipped = conn.execute(update(holds).where(condition).values(status=status, ended_at=now)).rowcount == 1
    if flipped:
        _unreserve(uow, lines)
    return flipped


def hold_rows(conn: Connection, hold_ids: Sequence[str]) -> list[tuple[str, str]]:
    """The (sku, location) balance rows the given holds reserve."""
    return sorted({(sku, location) for sku, location, _ in _hold_lines(conn, hold_ids)}) if hold_ids else []


def lapsed_hold_rows(conn: Connection, skus: Iterable[str]) -> set[tuple[str, str]]:
    """On PostgreSQL, the rows reserved by live holds on ``skus`` that have lapsed, or will within 5 seconds,
    by the database's clock: a write taking these SKUs expires those holds first, so it declares their rows
    among those it locks in the global order (``service.lock_keys``). SQLite has one writer: none needed."""
    wanted = sorted(set(skus))
    if not wanted or conn.dialect.name != "postgresql":
        return set()
    return {(r.sku, r.location) for r in conn.execute(_LAPSED_ROWS_PG, {"wanted": wanted})}


_LAPSED = holds.alias("lapsed")
_LAPSED_LINES = hold_lines.alias("lapsed_lines")
_LAPSED_ROWS_PG = (
    select(hold_lines.c.sku, hold_lines.c.location)
    .distinct()
    .where(
        hold_lines.c.hold_id.in_(
            select(_LAPSED.c.id).where(
                _LAPSED.c.status == "held",
                _LAPSED.c.expires_at <= text("clock_timestamp() + interval '5 seconds'"),
                # Correlated, as in _EXPIRED_OF_SKUS: only the few lapsed holds the index finds are checked.
                exists().where(
                    _LAPSED_LINES.c.hold_id == _LAPSED.c.id,
                    _LAPSED_LINES.c.sku.in_(bindparam("wanted", expanding=True)),
                ),
            )
        )
    )
)


def _lock_free(conn: Connection, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Lock those of ``keys`` no other transaction holds, in the global order, without waiting; answers them
    (with the rows this transaction holds already). On SQLite the writer holds the database: all of them."""
    if not keys or conn.dialect.name != "postgresql":
        return keys
    return {(r.sku, r.location) for r in conn.execute(_LOCK_FREE_PG, {"wanted": sorted(keys)})}


def _lock_lines(conn: Connection, lines: Iterable[Line]) -> None:
    """Lock the balance rows of a hold's lines, in the global order, before its status row (issue 16): the
    hold batcher locks balance rows and then expires the lapsed holds on them, so taking a hold's row first
    and its balances second (a release, the sweeper) would make a cycle with it, a deadlock."""
    lock_available(conn, [(sku, location) for sku, location, _ in lines])


def expired_hold_ids(
    conn: Connection, now: datetime, *, skus: Iterable[str] | None = None, limit: int = 500
) -> list[str]:
    if skus is not None:
        wanted = sorted(set(skus))
        rows = conn.execute(_EXPIRED_OF_SKUS, {"now": now, "wanted": wanted, "limit": limit})
        return [r.id for r in rows]
    query = select(holds.c.id).where(holds.c.status == "held", holds.c.expires_at <= now)
    return [r.id for r in conn.execute(query.order_by(holds.c.expires_at).limit(limit))]


_EXPIRED_OF_SKUS = (
    select(holds.c.id)
    .where(
        holds.c.status == "held",
        holds.c.expires_at <= bindparam("now"),
        # Correlated, so only the few lapsed holds the index finds are checked, by hold_lines' primary key.
        # An uncorrelated `id IN (SELECT hold_id ... WHERE sku IN ...)` lists every hold line ever written for
        # the hot SKUs, once per batch, as soon as a single hold of theirs has lapsed.
        exists().where(hold_lines.c.hold_id == holds.c.id, hold_lines.c.sku.in_(bindparam("wanted", expanding=True))),
    )
    .order_by(holds.c.expires_at)
    .limit(bindparam("limit"))
)


def expire_holds(uow: Work, hold_ids: Sequence[str], now: datetime) -> int:
    """Flip the given holds to expired where they are still held and past their time; return how many."""
    conn = uow.conn
    if not hold_ids:
        return 0
    lines_of: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for hold_id, sku, location in conn.execute(
        select(hold_lines.c.hold_id, hold_lines.c.sku, hold_lines.c.location).where(
            hold_lines.c.hold_id.in_(list(hold_ids))
        )
    ):
        lines_of[hold_id].add((sku, location))
    # A lapsed hold is expired by whichever writer can lock its balance rows now (this transaction already
    # holds, or no one does): waiting here, for rows taken outside the global order, could deadlock. One whose
    # rows are busy is left to the next writer of its rows or the next sweep; it already counts as free.
    free = _lock_free(conn, {row for rows in lines_of.values() for row in rows})
    hold_ids = [hid for hid in hold_ids if lines_of.get(hid, set()) <= free]
    flipped = [
        hid
        for hid in sorted(hold_ids)
        if conn.execute(
            update(holds)
            .where(holds.c.id == hid, holds.c.status == "held", holds.c.expires_at <= now)
            .values(status="expired", ended_at=now)
        ).rowcount
        == 1
    ]
    if flipped:
        _unreserve(uow, _hold_lines(conn, flipped))
    return len(flipped)


def commit_hold(uow: Work, hold_id: str, *, document: str, now: datetime) -> list[Line] | None:
    """Turn a live hold into order allocations (reserved -> committed; available does not change).

    Returns the allocated lines, or None when the hold is not live (released, expired, already committed).
    """
    conn = uow.conn
    flipped = conn.execute(
        update(holds)
        .where(holds.c.id == hold_id, holds.c.status == "held", holds.c.expires_at > now)
        .values(status="committed", ended_at=now, document=document)
    ).rowcount
    if flipped != 1:
        return None
    lines = _net(_hold_lines(conn, [hold_id]))
    for sku, loc, qty in lines:
        touch(uow, sku, loc)  # available does not change, but committed does: readers of the row care
        conn.execute(
            update(balances)
            .where(balances.c.sku == sku, balances.c.location == loc)
            .values(reserved=balances.c.reserved - qty, committed=balances.c.committed + qty)
        )
    conn.execute(
        allocations.insert(),
        [
            {
                "document": document,
                "sku": s,
                "location": loc,
                "qty": q,
                "status": "open",
                "hold_id": hold_id,
                "created_at": now,
            }
            for s, loc, q in lines
        ],
    )
    return lines


def read_balances(
    conn: Connection,
    now: datetime,
    *,
    skus: Sequence[str] | None = None,
    locations_in: Sequence[str] | None = None,
) -> list[Balance]:
    """Balances as they are *now*: holds past their expiry no longer count as reserved, swept or not."""
    params: dict[str, Any] = {"now": now}
    if skus is not None:
        params["skus"] = list(skus)
    if locations_in is not None:
        params["locations"] = list(locations_in)
    rows = conn.execute(_balances_now(skus is not None, locations_in is not None), params)
    return [Balance(r.sku, r.location, int(r.on_hand), int(r.committed), int(r.reserved)) for r in rows]


def available_in_range(
    conn: Connection, now: datetime, after: str | None, last: str, locations_in: Sequence[str]
) -> Iterator[tuple[str, str, int]]:
    """(sku, location, available now) of every balance row of SKUs in (after, last] at ``locations_in``: what
    ``read_balances`` answers for those rows, filtered by a SKU range instead of a list (a page of a
    whole-catalog export is a range of SKUs in code order)."""
    if not locations_in:
        return
    params: dict[str, Any] = {"now": now, "after": after or "", "last": last, "locations": list(locations_in)}
    for r in conn.execute(_balances_in_range(), params):
        yield str(r.sku), str(r.location), int(r.on_hand) - int(r.committed) - int(r.reserved)


@functools.cache
def _balances_in_range() -> Select[Any]:
    expired = (
        select(hold_lines.c.sku, hold_lines.c.location, func.sum(hold_lines.c.qty).label("qty"))
        .join(holds, holds.c.id == hold_lines.c.hold_id)
        .where(holds.c.status == "held", holds.c.expires_at <= bindparam("now"))
        .where(hold_lines.c.sku > bindparam("after"), hold_lines.c.sku <= bindparam("last"))
        .group_by(hold_lines.c.sku, hold_lines.c.location)
        .subquery()
    )
    return (
        select(
            balances.c.sku,
            balances.c.location,
            balances.c.on_hand,
            balances.c.committed,
            (balances.c.reserved - func.coalesce(expired.c.qty, 0)).label("reserved"),
        )
        .outerjoin(expired, and_(expired.c.sku == balances.c.sku, expired.c.location == balances.c.location))
        .where(balances.c.sku > bindparam("after"), balances.c.sku <= bindparam("last"))
        .where(balances.c.location.in_(bindparam("locations", expanding=True)))
    )


@functools.cache
def _balances_now(by_skus: bool, by_locations: bool) -> Select[Any]:
    """The statement of ``read_balances``, built once per filter combination (the availability publisher runs
    it for every burst of writes)."""
    expired = (
        select(hold_lines.c.sku, hold_lines.c.location, func.sum(hold_lines.c.qty).label("qty"))
        .join(holds, holds.c.id == hold_lines.c.hold_id)
        .where(holds.c.status == "held", holds.c.expires_at <= bindparam("now"))
        .group_by(hold_lines.c.sku, hold_lines.c.location)
        .subquery()
    )
    query = select(
        balances.c.sku,
        balances.c.location,
        balances.c.on_hand,
        balances.c.committed,
        (balances.c.reserved - func.coalesce(expired.c.qty, 0)).label("reserved"),
    ).outerjoin(expired, and_(expired.c.sku == balances.c.sku, expired.c.location == balances.c.location))
    if by_skus:
        query = query.where(balances.c.sku.in_(bindparam("skus", expanding=True)))
    if by_locations:
        query = query.where(balances.c.location.in_(bindparam("locations", expanding=True)))
    return query.order_by(balances.c.sku, balances.c.location)


def stored_balances(conn: Connection) -> dict[tuple[str, str], tuple[int, int, int]]:
    return {
        (r.sku, r.location): (int(r.on_hand), int(r.committed), int(r.reserved)) for r in conn.execute(select(balances))
    }


def movement_sides(conn: Connection) -> list[tuple[str, str, str, int]]:
    """Every movement as (sku, from, to, qty), summed per pair so a long history stays cheap to reconcile."""
    rows = conn.execute(
        select(movements.c.sku, movements.c.from_location, movements.c.to_location, func.sum(movements.c.qty)).group_by(
            movements.c.sku, movements.c.from_location, movements.c.to_location
        )
    )
    return [(r[0], r[1], r[2], int(r[3])) for r in rows]


def live_hold_totals(conn: Connection) -> dict[tuple[str, str], int]:
    """Units still counted in ``reserved``: every hold in status held, expired-but-unswept included."""
    rows = conn.execute(
        select(hold_lines.c.sku, hold_lines.c.location, func.sum(hold_lines.c.qty))
        .join(holds, holds.c.id == hold_lines.c.hold_id)
        .where(holds.c.status == "held")
        .group_by(hold_lines.c.sku, hold_lines.c.location)
    )
    return {(r[0], r[1]): int(r[2]) for r in rows}


def open_allocation_totals(conn: Connection) -> dict[tuple[str, str], int]:
    rows = conn.execute(
        select(allocations.c.sku, allocations.c.location, func.sum(allocations.c.qty))
        .where(allocations.c.status == "open")
        .group_by(allocations.c.sku, allocations.c.location)
    )
    return {(r[0], r[1]): int(r[2]) for r in rows}


def balance_differences(conn: Connection) -> Iterator[tuple[str, str, str, int, int]]:
    """Every (sku, location, field, stored, expected) where a stored balance disagrees with the one rebuilt
    from history: on_hand from movements, committed from open allocations, reserved from live holds (held,
    expired-but-unswept included). ``ledger.reconcile.compare_balances`` says the same in Python; here the
    database compares and sends only the differences, so reconcile's memory does not grow with the ledger."""
    moved = union_all(
        select(movements.c.sku, movements.c.to_location.label("location"), movements.c.qty.label("delta")),
        select(movements.c.sku, movements.c.from_location.label("location"), (-movements.c.qty).label("delta")),
    ).subquery("moved")
    expected = (
        select(moved.c.sku, moved.c.location, func.sum(moved.c.delta).label("on_hand"))
        .group_by(moved.c.sku, moved.c.location)
        .subquery("expected")
    )
    live = (
        select(hold_lines.c.sku, hold_lines.c.location, func.sum(hold_lines.c.qty).label("reserved"))
        .join(holds, holds.c.id == hold_lines.c.hold_id)
        .where(holds.c.status == "held")
        .group_by(hold_lines.c.sku, hold_lines.c.location)
        .subquery("live")
    )
    allocated = (
        select(allocations.c.sku, allocations.c.location, func.sum(allocations.c.qty).label("committed"))
        .where(allocations.c.status == "open")
        .group_by(allocations.c.sku, allocations.c.location)
        .subquery("allocated")
    )
    keys = union(
        select(balances.c.sku, balances.c.location),
        select(expected.c.sku, expected.c.location),
        select(live.c.sku, live.c.location),
        select(allocated.c.sku, allocated.c.location),
    ).subquery("keys")

    def on_key(table: Any) -> Any:
        return and_(table.c.sku == keys.c.sku, table.c.location == keys.c.location)

    pairs = {
        "on_hand": (func.coalesce(balances.c.on_hand, 0), func.coalesce(expected.c.on_hand, 0)),
        "committed": (func.coalesce(balances.c.committed, 0), func.coalesce(allocated.c.committed, 0)),
        "reserved": (func.coalesce(balances.c.reserved, 0), func.coalesce(live.c.reserved, 0)),
    }
    query = (
        select(
            keys.c.sku, keys.c.location, *(v.label(f"{name}_{i}") for name, p in pairs.items() for i, v in enumerate(p))
        )
        .select_from(
            keys.outerjoin(balances, on_key(balances))
            .outerjoin(expected, on_key(expected))
            .outerjoin(live, on_key(live))
            .outerjoin(allocated, on_key(allocated))
        )
        .where(or_(*(stored != wanted for stored, wanted in pairs.values())))
        .order_by(keys.c.sku, keys.c.location)
    )
    # Streamed per statement: ``Connection.execution_options`` would change the connection in place and put
    # every later statement on it (an INSERT in a write transaction, on PostgreSQL) on a server-side cursor.
    for row in conn.execute(query, execution_options={"stream_results": True, "yield_per": 1000}):
        for name in pairs:
            stored, wanted = int(row._mapping[f"{name}_0"]), int(row._mapping[f"{name}_1"])
            if stored != wanted:
                yield row.sku, row.location, name, stored, wanted


def balance_row_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(balances)).scalar_one())


def unconserved_skus(conn: Connection) -> list[str]:
    """SKUs whose units do not add up to zero over every location (each movement has two sides)."""
    query = (
        select(balances.c.sku)
        .group_by(balances.c.sku)
        .having(func.sum(balances.c.on_hand) != 0)
        .order_by(balances.c.sku)
    )
    return list(conn.execute(query).scalars())


def negative_available(conn: Connection, sellable: Sequence[str]) -> list[Balance]:
    rows = conn.execute(select(balances).where(_available < 0, balances.c.location.in_(list(sellable))))
    return [Balance(r.sku, r.location, r.on_hand, r.committed, r.reserved) for r in rows]


def movement_history(conn: Connection, sku: str, location: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    query = select(movements).where(movements.c.sku == sku)
    if location is not None:
        query = query.where((movements.c.from_location == location) | (movements.c.to_location == location))
    return [dict(r) for r in conn.execute(query.order_by(movements.c.id.desc()).limit(limit)).mappings()]


# ---------------------------------------------------------------------------- group commit (DESIGN 11)
# What a batch of holds validates against, in one round trip on PostgreSQL where it was three: the requested
# SKUs' kinds (``catalog_repo.known_skus``), every location's kind (``location_kinds``) and the channels'
# sources (``channels_repo.sourcing``).
_HOLD_LOOKUPS_PG = (
    "SELECT 'sku', sku, kind, NULL::json, NULL::boolean FROM skus WHERE sku = ANY(%b::varchar[]) "
    "UNION ALL SELECT 'location', code, kind, NULL, NULL FROM locations "
    "UNION ALL SELECT 'channel', code, kind, sources, allow_split FROM channels WHERE code = ANY(%b::varchar[])"
)


@dataclass(frozen=True, slots=True)
class HoldLookups:
    sku_kinds: dict[str, str]  # known SKUs only: variant | prepack
    location_kinds: dict[str, LocationKind]
    sourcing: dict[str, tuple[list[str], bool]]  # known channels only: (ordered sources, allow split)
    #: The kinds of the known channels asked for as ``till_channels`` (a store token's hold must name a till
    #: channel of its stores): on PostgreSQL the one statement brings them, on SQLite one more per channel.
    channel_kinds: dict[str, str] = field(default_factory=dict)


def hold_lookups(
    conn: Connection, skus: Iterable[str], channels: Iterable[str], till_channels: Iterable[str] = ()
) -> HoldLookups:
    wanted, wanted_channels, tills = sorted(set(skus)), sorted(set(channels)), set(till_channels)
    if conn.dialect.name != "postgresql":  # no round trips to save: the portable statements
        sourcing = {c: found for c in wanted_channels if (found := channels_repo.sourcing(conn, c)) is not None}
        kinds = {c: f[0] for c in sorted(tills) if (f := channels_repo.kind_and_sources(conn, c))}
        return HoldLookups(catalog_repo.known_skus(conn, wanted), location_kinds(conn), sourcing, kinds)
    out = HoldLookups({}, {}, {})
    for what, code, kind, sources, split in conn.exec_driver_sql(_HOLD_LOOKUPS_PG, (wanted, wanted_channels)):
        if what == "sku":
            out.sku_kinds[code] = kind
        elif what == "location":
            out.location_kinds[code] = LocationKind(kind)
        else:
            out.sourcing[code] = (list(sources), bool(split))
            if code in tills:
                out.channel_kinds[code] = kind
    return out


def lock_available(conn: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Available per (sku, location), locking the rows on PostgreSQL in the one global order every writer
    uses: (sku, location) by code point, as Python sorts them, whatever the database's collation. Writers
    that lock rows one statement at a time go in ``sorted`` order too, so no two of them ever wait on each
    other in a cycle. On SQLite the writer already holds the database's write lock."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    if conn.dialect.name != "postgresql":
        found = conn.exec_driver_sql(_READ_AVAILABLE_SQLITE, (json.dumps(wanted),))
        return {(str(sku), str(location)): int(available) for sku, location, available in found}
    return {(r.sku, r.location): int(r.available) for r in conn.execute(_LOCK_AVAILABLE_PG, {"wanted": wanted})}


_READ_AVAILABLE = select(balances.c.sku, balances.c.location, _available.label("available")).where(
    tuple_(balances.c.sku, balances.c.location).in_(bindparam("wanted", expanding=True))
)
# SQLite plans a row-value IN list (``_READ_AVAILABLE``) as a scan of every balance row: at 2.1M rows each hold
# read for a second or more. The keys as one JSON array, joined to the balances' primary key, are two index
# probes per key, and one statement text whatever their number.
_READ_AVAILABLE_SQLITE = (
    "SELECT b.sku, b.location, b.on_hand - b.committed - b.reserved FROM json_each(?) AS k "
    "JOIN balances AS b ON b.sku = json_extract(k.value, '$[0]') AND b.location = json_extract(k.value, '$[1]')"
)
# COLLATE "C": code point order, the order of Python's ``sorted`` (a database created with a language's
# collation would otherwise lock rows in another order than the writers that update them one by one).
_LOCK_AVAILABLE_PG = _READ_AVAILABLE.order_by(
    balances.c.sku.collate("C"), balances.c.location.collate("C")
).with_for_update()
_LOCK_FREE_PG = _READ_AVAILABLE.order_by(balances.c.sku.collate("C"), balances.c.location.collate("C")).with_for_update(
    skip_locked=True
)


_ADD_RESERVED = (
    update(balances)
    .where(balances.c.sku == bindparam("s"), balances.c.location == bindparam("l"), _available >= bindparam("n"))
    .values(reserved=balances.c.reserved + bindparam("n"))
)


# The same condition as ``_available`` (on_hand - committed - reserved), spelled for the driver.
_ADD_RESERVED_PG = (
    "UPDATE balances SET reserved = balances.reserved + v.n "
    "FROM unnest(%b::varchar[], %b::varchar[], %b::int[]) AS v(s, l, n) "
    "WHERE balances.sku = v.s AND balances.location = v.l "
    "AND balances.on_hand - balances.committed - balances.reserved >= v.n"
)


def add_reserved(uow: Work, net: dict[tuple[str, str], int]) -> None:
    """Apply a batch's net reservations: one conditional update per row, whatever the number of requests, in
    one statement on PostgreSQL and one executemany of a statement built once on SQLite.

    The condition re-checks what the batch decided in memory; a miss means the rows changed under us,
    which the row locks rule out, so it aborts the batch (and its retry decides again). Each row matches at
    most one balance (its primary key), so the total row count equals the number of rows exactly when none
    missed."""
    conn = uow.conn
    rows = [(sku, loc, qty) for (sku, loc), qty in sorted(net.items()) if qty]
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        # One statement (arrays unnested server-side, binary), where executemany sends one per row.
        skus, locs, qtys = (list(column) for column in zip(*rows, strict=True))
        updated = conn.exec_driver_sql(_ADD_RESERVED_PG, (skus, locs, qtys)).rowcount
    else:
        # SQLite reports an executemany's total row count (SQLAlchemy: supports_sane_multi_rowcount).
        updated = conn.execute(_ADD_RESERVED, [{"s": sku, "l": loc, "n": qty} for sku, loc, qty in rows]).rowcount
    if updated != len(rows):
        raise RuntimeError("a balance row changed under a locked batch")
    for sku, loc, _ in rows:
        touch(uow, sku, loc)


_INSERT_HOLD = (
    "INSERT INTO holds (id, channel, status, created_at, expires_at, trace_id) VALUES ({p}, {p}, 'held', {p}, {p}, {p})"
)
_INSERT_HOLD_LINE = "INSERT INTO hold_lines (hold_id, line_no, sku, location, qty) VALUES ({p}, {p}, {p}, {p}, {p})"


def insert_holds(
    conn: Connection, hold_rows: Sequence[NewHold], line_rows: Sequence[tuple[str, int, str, str, int]]
) -> None:
    """Bulk-insert a batch's holds straight through the driver's executemany.

    The portable twin is ``insert_hold``; this is the group-commit hot path, where SQLAlchemy's per-row
    parameter processing cost more than the inserts themselves. Times are bound exactly as ``UTCDateTime``
    binds them (naive UTC text on SQLite, aware on PostgreSQL); a test reads them back through the table.
    """
    if not hold_rows:
        return
    dialect = conn.dialect.name
    bound: dict[datetime, Any] = {}  # a batch shares one creation time and a few expiry times

    def at(value: datetime) -> Any:
        if value not in bound:
            bound[value] = driver_time(value, dialect)
        return bound[value]

    if dialect == "postgresql":
        # One statement for both tables whatever the batch size (arrays unnested server-side, the holds in a
        # data-modifying WITH; the lines' foreign key is checked at the end of the statement), where
        # executemany would send a statement per row. The arrays go in binary (%b): psycopg's text form
        # quotes every element through a regular expression, which cost more than the insert.
        columns = list(zip(*line_rows, strict=True))
        conn.exec_driver_sql(
            "WITH new_holds AS (INSERT INTO holds (id, channel, status, created_at, expires_at, trace_id) "
            "SELECT id, channel, 'held', created_at, expires_at, trace_id FROM unnest("
            "%b::varchar[], %b::varchar[], %b::timestamptz[], %b::timestamptz[], %b::varchar[]"
            ") AS t(id, channel, created_at, expires_at, trace_id)) "
            "INSERT INTO hold_lines (hold_id, line_no, sku, location, qty) "
            "SELECT * FROM unnest(%b::varchar[], %b::int[], %b::varchar[], %b::varchar[], %b::int[])",
            (
                [h.id for h in hold_rows],
                [h.channel for h in hold_rows],
                [at(h.created_at) for h in hold_rows],
                [at(h.expires_at) for h in hold_rows],
                [h.trace_id for h in hold_rows],
                *(list(column) for column in columns),
            ),
        )
        return
    conn.exec_driver_sql(
        _INSERT_HOLD.format(p="?"),
        [(h.id, h.channel, at(h.created_at), at(h.expires_at), h.trace_id) for h in hold_rows],
    )
    conn.exec_driver_sql(_INSERT_HOLD_LINE.format(p="?"), list(line_rows))


@dataclass(frozen=True, slots=True)
class NewHold:
    id: str
    channel: str | None
    created_at: datetime
    expires_at: datetime
    trace_id: str | None


# ---------------------------------------------------------------------------- order allocations (DESIGN 5)
def allocate(uow: Work, document: str, takes: Sequence[Line], *, now: datetime) -> list[ShortLine]:
    """Commit units to an order straight from ``available`` (no hold first): one conditional UPDATE per row,
    in row order. Returns the rows that no longer had the units (the caller rolls back); else inserts the
    open allocations and returns []."""
    conn = uow.conn
    short: list[ShortLine] = []
    for sku, loc, qty in _net(takes):
        result = conn.execute(
            update(balances)
            .where(balances.c.sku == sku, balances.c.location == loc, _available >= qty)
            .values(committed=balances.c.committed + qty)
        )
        if result.rowcount != 1:
            short.append(ShortLine(sku, qty, max(0, available_at(conn, sku, loc)), loc))
        else:
            touch(uow, sku, loc)
    if short:
        return short
    if takes:
        conn.execute(
            allocations.insert(),
            [
                {"document": document, "sku": s, "location": loc, "qty": q, "status": "open", "created_at": now}
                for s, loc, q in _net(takes)
            ],
        )
    return []


def open_allocations(conn: Connection, document: str) -> list[tuple[int, str, str, int]]:
    """(id, sku, location, qty) of a document's open allocations, oldest first."""
    rows = conn.execute(
        select(allocations.c.id, allocations.c.sku, allocations.c.location, allocations.c.qty)
        .where(allocations.c.document == document, allocations.c.status == "open")
        .order_by(allocations.c.id)
    )
    return [(r.id, r.sku, r.location, r.qty) for r in rows]


def open_allocations_at(conn: Connection, sku: str, location: str) -> list[tuple[int, str, int]]:
    """(id, document, qty) of the open allocations on one balance row, newest first."""
    rows = conn.execute(
        select(allocations.c.id, allocations.c.document, allocations.c.qty)
        .where(allocations.c.sku == sku, allocations.c.location == location, allocations.c.status == "open")
        .order_by(allocations.c.id.desc())
    )
    return [(r.id, r.document, r.qty) for r in rows]


def document_allocations(conn: Connection, document: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(allocations.c.sku, allocations.c.location, allocations.c.qty, allocations.c.status)
        .where(allocations.c.document == document)
        .order_by(allocations.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def _insert_movement(
    uow: Work, move: PlannedMovement, *, now: datetime, occurred_at: datetime | None, trace_id: str | None
) -> dict[str, Any]:
    conn = uow.conn
    row = {
        "sku": move.sku,
        "qty": move.qty,
        "from_location": move.from_location,
        "to_location": move.to_location,
        "kind": move.kind.value,
        "document": move.document,
        "channel": move.channel,
        "reason": move.reason,
        "idempotency_key": None,
        "occurred_at": occurred_at or now,
        "recorded_at": now,
        "trace_id": trace_id,
        **_NO_COST,
        **cost_repo.value_movement(uow, move, occurred_at=occurred_at or now, now=now),
    }
    movement_id = conn.execute(_INSERT_MOVEMENT, row).scalar_one()
    return {"id": movement_id, **row}


def pick_allocation(
    uow: Work, allocation_id: int, qty: int, move: PlannedMovement, *, now: datetime, trace_id: str | None
) -> dict[str, Any] | None:
    """Pick ``qty`` units of one open allocation: the units leave the shelf (a ``pick`` movement to the
    customer) and stop being committed, in one step. The decrement happens here, not at ship (DESIGN 4.3).

    ``move`` is the planned pick movement (its ``from_location`` is the allocation's location). Returns the
    movement, or None when the units are not on hand any more (sold by a forced sale, lost in a count):
    nothing is changed then."""
    conn = uow.conn
    location = move.from_location
    for side in sorted((location, move.to_location)):
        if side == location:
            result = conn.execute(
                update(balances)
                .where(
                    balances.c.sku == move.sku,
                    balances.c.location == location,
                    balances.c.committed >= qty,
                    balances.c.on_hand >= qty,
                )
                .values(on_hand=balances.c.on_hand - qty, committed=balances.c.committed - qty)
            )
            if result.rowcount != 1:
                return None
            touch(uow, move.sku, location)
        else:
            _add_on_hand(uow, move.sku, side, qty)
    row = conn.execute(select(allocations).where(allocations.c.id == allocation_id)).mappings().one()
    if row["status"] != "open" or row["qty"] < qty:
        raise RuntimeError(f"allocation {allocation_id} changed under a locked order")
    if row["qty"] == qty:
        conn.execute(update(allocations).where(allocations.c.id == allocation_id).values(status="picked"))
    else:
        # Split: the picked part becomes its own row, the rest stays open.
        conn.execute(update(allocations).where(allocations.c.id == allocation_id).values(qty=row["qty"] - qty))
        conn.execute(
            allocations.insert().values(
                document=row["document"],
                sku=row["sku"],
                location=row["location"],
                qty=qty,
                status="picked",
                hold_id=row["hold_id"],
                created_at=row["created_at"],
            )
        )
    return _insert_movement(uow, move, now=now, occurred_at=None, trace_id=trace_id)


def cancel_allocations(uow: Work, document: str) -> list[Line]:
    """End a document's open allocations: their units go back to ``available``. Returns what was released."""
    conn = uow.conn
    rows = open_allocations(conn, document)
    if not rows:
        return []
    conn.execute(
        update(allocations)
        .where(allocations.c.id.in_([r[0] for r in rows]), allocations.c.status == "open")
        .values(status="cancelled")
    )
    released = _net((sku, loc, qty) for _, sku, loc, qty in rows)
    for sku, loc, qty in released:
        touch(uow, sku, loc)
        conn.execute(
            update(balances)
            .where(balances.c.sku == sku, balances.c.location == loc)
            .values(committed=balances.c.committed - qty)
        )
    return released


def release_allocated(uow: Work, document: str, sku: str, qty: int) -> int:
    """Give ``qty`` units of a document's open allocations of ``sku`` back to ``available`` (a line's units
    cancelled while the rest of the document goes on), newest allocation first, splitting one when only part
    of it goes. Answers the units released (fewer when fewer are allocated)."""
    conn = uow.conn
    left = qty
    rows = [r for r in open_allocations(conn, document) if r[1] == sku]
    for alloc_id, _, location, units in reversed(rows):
        if left <= 0:
            break
        take = min(units, left)
        if take == units:
            conn.execute(update(allocations).where(allocations.c.id == alloc_id).values(status="cancelled"))
        else:
            conn.execute(update(allocations).where(allocations.c.id == alloc_id).values(qty=units - take))
        conn.execute(
            update(balances)
            .where(balances.c.sku == sku, balances.c.location == location)
            .values(committed=balances.c.committed - take)
        )
        touch(uow, sku, location)
        left -= take
    return qty - left


def record_forced_movement(
    uow: Work,
    move: PlannedMovement,
    *,
    now: datetime,
    occurred_at: datetime | None = None,
    trace_id: str | None = None,
) -> tuple[dict[str, Any], Balance]:
    """Record goods that physically left (an offline till's sale, a count's loss) even when the ledger
    says they were promised: the source is not checked, so ``available`` may go negative. Returns the
    movement and the source's balance after it, for the caller's oversell check."""
    conn = uow.conn
    unchecked = PlannedMovement(
        kind=move.kind,
        sku=move.sku,
        qty=move.qty,
        from_location=move.from_location,
        to_location=move.to_location,
        reason=move.reason,
        document=move.document,
        channel=move.channel,
        checked=False,
    )
    row = record_movement(uow, unchecked, now=now, occurred_at=occurred_at, trace_id=trace_id)
    after = conn.execute(
        select(balances).where(balances.c.sku == move.sku, balances.c.location == move.from_location)
    ).one()
    return row, Balance(after.sku, after.location, after.on_hand, after.committed, after.reserved)


def on_hand_at(conn: Connection, sku: str, location: str) -> int:
    value = conn.execute(
        select(balances.c.on_hand).where(balances.c.sku == sku, balances.c.location == location)
    ).scalar()
    return int(value or 0)


def on_hand_by_sku(conn: Connection, location: str, skus: Sequence[str] | None = None) -> dict[str, int]:
    query = select(balances.c.sku, balances.c.on_hand).where(balances.c.location == location)
    if skus is not None:
        query = query.where(balances.c.sku.in_(sorted(set(skus))))
    return {r.sku: int(r.on_hand) for r in conn.execute(query.order_by(balances.c.sku))}


# ---------------------------------------------------------------------- bulk movements (issue 18)
#: Rows per statement of the bulk path: arrays of this size bind in one round trip on PostgreSQL.
BULK_CHUNK = 10_000
_BULK_ON_HAND_PG = (
    "INSERT INTO balances (sku, location, on_hand, committed, reserved) "
    "SELECT sku, location, delta, 0, 0 FROM unnest(%b::varchar[], %b::varchar[], %b::bigint[]) "
    "AS t(sku, location, delta) "
    "ON CONFLICT (sku, location) DO UPDATE SET on_hand = balances.on_hand + EXCLUDED.on_hand"
)
_BULK_ON_HAND_SQLITE = (
    "INSERT INTO balances (sku, location, on_hand, committed, reserved) VALUES (?, ?, ?, 0, 0) "
    "ON CONFLICT (sku, location) DO UPDATE SET on_hand = on_hand + excluded.on_hand"
)
_MOVEMENT_COLUMNS = (
    "sku, qty, from_location, to_location, kind, document, channel, reason, idempotency_key, occurred_at, "
    "recorded_at, trace_id, unit_cost, cost_value, cost_currency, cost_source, cost_cause"
)
_BULK_MOVEMENTS_PG = (
    f"INSERT INTO movements ({_MOVEMENT_COLUMNS}) "
    "SELECT sku, qty, from_location, to_location, kind, document, channel, reason, %b, %b, %b, %b, "
    "unit_cost, cost_value, cost_currency, cost_source, cost_cause "
    "FROM unnest(%b::varchar[], %b::bigint[], %b::varchar[], %b::varchar[], %b::varchar[], %b::varchar[], "
    "%b::varchar[], %b::text[], %b::numeric[], %b::numeric[], %b::varchar[], %b::varchar[], %b::varchar[]) "
    "WITH ORDINALITY AS t(sku, qty, from_location, to_location, kind, document, channel, "
    "reason, unit_cost, cost_value, cost_currency, cost_source, cost_cause, n) ORDER BY n"
)
# A receipt's movements share everything but the SKU, the quantity and the cost: those are sent once, not as
# arrays of 100k copies (binding the arrays was a fifth of a receipt's time on PostgreSQL).
_BULK_MOVEMENTS_ALIKE_PG = (
    f"INSERT INTO movements ({_MOVEMENT_COLUMNS}) "
    "SELECT sku, qty, %b, %b, %b, %b, %b, %b, %b, %b, %b, %b, unit_cost, cost_value, %b, cost_source, %b "
    "FROM unnest(%b::varchar[], %b::bigint[], %b::numeric[], %b::numeric[], %b::varchar[]) "
    "WITH ORDINALITY AS t(sku, qty, unit_cost, cost_value, cost_source, n) ORDER BY n"
)
_BULK_MOVEMENTS_SQLITE = (
    f"INSERT INTO movements ({_MOVEMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def record_movements(
    uow: Work,
    moves: Sequence[PlannedMovement],
    *,
    now: datetime,
    occurred_at: datetime | None = None,
    trace_id: str | None = None,
    idempotency_key: str | None = None,
) -> int:
    """``record_movement`` for many movements whose source is not checked (a receipt, a gain): the same
    movement rows, in order, and the same balances, in a few statements per ``BULK_CHUNK`` rows instead of
    four per movement. Balance rows get one net change each, in (sku, location) order, so concurrent writers
    never deadlock on them; every row changed is raised as ``BalancesChanged`` for the availability journal, as
    ``record_movement`` raises it. Answers how many movements were written. Movements are only ever inserted."""
    conn = uow.conn
    if any(move.checked for move in moves):
        raise ValueError("record_movements takes unchecked movements only: a checked source needs record_movement")
    if not moves:
        return 0
    net: dict[tuple[str, str], int] = defaultdict(int)
    for move in moves:
        net[(move.sku, move.from_location)] -= move.qty
        net[(move.sku, move.to_location)] += move.qty
    rows = sorted(net.items())
    uow.raise_event(BalancesChanged(tuple(key for key, _ in rows)))
    dialect = conn.dialect.name
    recorded, occurred = driver_time(now, dialect), driver_time(occurred_at or now, dialect)
    for start in range(0, len(rows), BULK_CHUNK):
        part = rows[start : start + BULK_CHUNK]
        if dialect == "postgresql":
            columns = ([s for (s, _), _ in part], [loc for (_, loc), _ in part], [d for _, d in part])
            conn.exec_driver_sql(_BULK_ON_HAND_PG, columns)
        else:
            conn.exec_driver_sql(_BULK_ON_HAND_SQLITE, [(s, loc, d) for (s, loc), d in part])
    # At cost once the balance rows are written (they lock the keys the cost rows follow).
    if all(m.kind.value == "receipt" and cost_valued(m.to_location) for m in moves):
        costs = cost_repo.value_receipts(uow, moves, occurred_at=occurred_at or now, now=now)
    else:
        costs = [
            {**_NO_COST, **cost_repo.value_movement(uow, m, occurred_at=occurred_at or now, now=now)} for m in moves
        ]
    for start in range(0, len(moves), BULK_CHUNK):
        chunk = moves[start : start + BULK_CHUNK]
        cost = costs[start : start + BULK_CHUNK]
        alike = {
            (
                m.from_location,
                m.to_location,
                m.kind,
                m.document,
                m.channel,
                m.reason,
                c["cost_currency"],
                c["cost_cause"],
            )
            for m, c in zip(chunk, cost, strict=True)
        }
        if dialect == "postgresql" and len(alike) == 1:
            (source, target, kind, document, channel, reason, currency, cause) = next(iter(alike))
            shared = (source, target, kind.value, document, channel, reason, idempotency_key, occurred, recorded)
            arrays2 = [
                [m.sku for m in chunk],
                [m.qty for m in chunk],
                [c["unit_cost"] for c in cost],
                [c["cost_value"] for c in cost],
                [c["cost_source"] for c in cost],
            ]
            conn.exec_driver_sql(_BULK_MOVEMENTS_ALIKE_PG, (*shared, trace_id, currency, cause, *arrays2))
        elif dialect == "postgresql":
            arrays = [
                [m.sku for m in chunk],
                [m.qty for m in chunk],
                [m.from_location for m in chunk],
                [m.to_location for m in chunk],
                [m.kind.value for m in chunk],
                [m.document for m in chunk],
                [m.channel for m in chunk],
                [m.reason for m in chunk],
                *([c[name] for c in cost] for name in _NO_COST),
            ]
            conn.exec_driver_sql(_BULK_MOVEMENTS_PG, (idempotency_key, occurred, recorded, trace_id, *arrays))
        else:
            conn.exec_driver_sql(
                _BULK_MOVEMENTS_SQLITE,
                [
                    (
                        m.sku,
                        m.qty,
                        m.from_location,
                        m.to_location,
                        m.kind.value,
                        m.document,
                        m.channel,
                        m.reason,
                        idempotency_key,
                        occurred,
                        recorded,
                        trace_id,
                        *(_driver_decimal(c[name]) if name in _DECIMALS else c[name] for name in _NO_COST),
                    )
                    for m, c in zip(chunk, cost, strict=True)
                ],
            )
    return len(moves)


_DECIMALS = frozenset({"unit_cost", "cost_value"})


def _driver_decimal(value: Any) -> Any:
    """A Decimal bound straight to SQLite's driver, as SQLAlchemy's Numeric binds it (a string keeps it exact)."""
    return None if value is None else str(value)


def last_movement_id(conn: Connection) -> int:
    """The highest movement id this transaction sees (0 for none): ``movements_after`` reads what follows."""
    return int(conn.execute(select(func.coalesce(func.max(movements.c.id), 0))).scalar_one())


def movements_after(conn: Connection, after_id: int, *, document: str) -> list[dict[str, Any]]:
    """The movements of ``document`` with ids above ``after_id``, in id order: what a bulk write just wrote."""
    query = select(movements).where(movements.c.id > after_id, movements.c.document == document)
    return [dict(r) for r in conn.execute(query.order_by(movements.c.id)).mappings()]


def has_movements_of(conn: Connection, document: str, kind: str) -> bool:
    """Whether any movement of ``kind`` names ``document`` (indexed by document)."""
    query = select(movements.c.id).where(movements.c.document == document, movements.c.kind == kind).limit(1)
    return conn.execute(query).first() is not None
