"""Cost of goods' SQL (``finance.cost``): each movement valued as it is written, the moving average cost per
(sku, location), standard costs, valuation as of a date, and what reconcile compares.

``value_movement`` runs inside the ledger's movement write, after the balance rows were updated: the
balance rows of (sku, from) and (sku, to) are locked by then, so the cost rows of the same keys (written
only here, only after that) are read and written by one transaction at a time, in the movement's order."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, case, func, literal, or_, select, tuple_, union, union_all

from seamline.finance.cost import (
    COST_QUANTUM,
    SOURCE_AVERAGE,
    SOURCE_CATALOG,
    SOURCE_DOCUMENT,
    SOURCE_MISSING,
    SOURCE_RECEIPT,
    UNVALUED_LOCATIONS,
    CostRow,
    Valued,
    booking,
    cause_of,
    issue,
    receive,
    round_cost,
    valued,
)
from seamline.finance.events import InventoryValued
from seamline.ledger.model import PlannedMovement
from seamline.store import ledger_repo, revaluation_repo  # ledger_repo imports this module: used at call time
from seamline.store.tables import (
    cost_revaluations,
    finance_config,
    finance_documents,
    journal_entries,
    journal_lines,
    movements,
    order_lines,
    standard_costs,
    stock_costs,
)
from seamline.store.types import aggregate_time, driver_time
from seamline.store.upsert import insert_on_conflict, upsert_many
from seamline.store.work import Work

Key = tuple[str, str]  # (sku, location)
_UNVALUED = sorted(UNVALUED_LOCATIONS)
#: Reconcile's reads stream their rows (memory grows with the differences, not the ledger). Per statement:
#: ``Connection.execution_options`` would leave every later statement of the connection on a server cursor.
_STREAMED: dict[str, Any] = {"stream_results": True, "yield_per": 1000}
DEFAULT_CURRENCY = "EUR"


def base_currency(conn: Connection) -> str:
    """The currency stock is valued in (the finance configuration's ``base_currency``)."""
    config = conn.execute(select(finance_config.c.config).where(finance_config.c.id == 1)).scalar_one_or_none()
    found = (config or {}).get("base_currency") if isinstance(config, dict) else None
    return str(found or DEFAULT_CURRENCY)


# ------------------------------------------------------------------------------------------------ cost rows
_ROWS = select(
    stock_costs.c.sku,
    stock_costs.c.location,
    stock_costs.c.qty,
    stock_costs.c.value,
    stock_costs.c.unit_cost,
    stock_costs.c.currency,
)


@dataclass(frozen=True, slots=True)
class _Stored:
    row: CostRow
    currency: str


def _read_rows(conn: Connection, keys: Sequence[Key]) -> dict[Key, _Stored]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    query = _ROWS.where(or_(*(and_(stock_costs.c.sku == s, stock_costs.c.location == loc) for s, loc in wanted)))
    return {(r.sku, r.location): _stored(r) for r in conn.execute(query)}


#: SKUs per statement where a list of them is bound (standard costs saved, rows awaiting revaluation).
_COST_CHUNK = 10_000


def _read_rows_by_sku(conn: Connection, keys: Sequence[Key]) -> dict[Key, _Stored]:
    """``_read_rows`` for many keys: the rows of their SKUs read by SKU list in chunks, the keys asked for kept."""
    wanted = set(keys)
    skus = sorted({sku for sku, _ in wanted})
    out: dict[Key, _Stored] = {}
    for start in range(0, len(skus), _COST_CHUNK):
        query = _ROWS.where(stock_costs.c.sku.in_(skus[start : start + _COST_CHUNK]))
        for r in conn.execute(query):
            if (r.sku, r.location) in wanted:
                out[(r.sku, r.location)] = _stored(r)
    return out


def _stored(r: Any) -> _Stored:
    value = Decimal(str(r.value)).quantize(Decimal("0.0001"))
    return _Stored(CostRow(int(r.qty), value, round_cost(Decimal(str(r.unit_cost)))), r.currency)


def _write_row(conn: Connection, key: Key, row: CostRow, currency: str, now: datetime) -> None:
    values = {"qty": row.qty, "value": row.value, "unit_cost": max(row.unit_cost, Decimal(0)), "currency": currency}
    insert_on_conflict(
        conn,
        stock_costs,
        ["sku", "location"],
        {"sku": key[0], "location": key[1], **values, "updated_at": now},
        {**values, "updated_at": now},
    )


def standard_cost(conn: Connection, sku: str) -> Decimal | None:
    value = conn.execute(select(standard_costs.c.unit_cost).where(standard_costs.c.sku == sku)).scalar_one_or_none()
    return None if value is None else round_cost(Decimal(str(value)))


def standard_costs_of(conn: Connection, skus: Sequence[str]) -> dict[str, Decimal]:
    """The standard costs of ``skus`` that have one, in one statement: the SKUs bound as one array (one JSON
    array on SQLite), not an IN list (a 100k-line receipt's list expanded to 100k parameters, a tenth of its
    time, and overflowed PostgreSQL's 65,535 parameters)."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    if conn.dialect.name == "postgresql":
        found = conn.exec_driver_sql(_STANDARD_COSTS_PG, (wanted,))
    else:
        found = conn.exec_driver_sql(_STANDARD_COSTS_SQLITE, (json.dumps(wanted),))
    return {str(sku): round_cost(_decimal(cost)) for sku, cost in found}


_STANDARD_COSTS_PG = "SELECT sku, unit_cost FROM standard_costs WHERE sku = ANY(%b::varchar[])"
_STANDARD_COSTS_SQLITE = "SELECT sku, unit_cost FROM standard_costs WHERE sku IN (SELECT value FROM json_each(?))"


def _decimal(value: Any) -> Decimal:
    """A NUMERIC read straight from the driver: a Decimal from PostgreSQL; an int or float from SQLite (its
    NUMERIC affinity), taken at its shortest repr and quantized by the caller as SQLAlchemy's Numeric does."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def save_standard_cost(conn: Connection, sku: str, unit_cost: Decimal, currency: str, now: datetime) -> None:
    values = {"unit_cost": unit_cost, "currency": currency, "updated_at": now}
    insert_on_conflict(conn, standard_costs, ["sku"], {"sku": sku, **values}, values)


def _left_at(conn: Connection, document: str, sku: str, kinds: Sequence[str]) -> tuple[Decimal, str] | None:
    """The unit cost at which a document's units of ``sku`` left (weighted over its movements of ``kinds``)."""
    row = conn.execute(
        select(func.sum(movements.c.cost_value), func.sum(movements.c.qty), func.max(movements.c.cost_currency)).where(
            movements.c.document == document,
            movements.c.sku == sku,
            movements.c.kind.in_(list(kinds)),
            movements.c.cost_value.is_not(None),
        )
    ).one()
    if row[0] is None or not row[1]:
        return None
    return round_cost(Decimal(str(row[0])) / int(row[1])), str(row[2])


# ------------------------------------------------------------------------------------------------ one movement
def value_movement(uow: Work, move: PlannedMovement, *, occurred_at: datetime, now: datetime) -> dict[str, Any]:
    """Value ``move`` at cost, update the cost rows of its valued sides, and raise ``InventoryValued`` when
    its value crosses the walls. Answers the movement's cost columns (all None when neither side is valued).
    Called after the balance rows of both sides were written in this transaction (they lock the keys)."""
    conn = uow.conn
    src, dst = valued(move.from_location), valued(move.to_location)
    if not (src or dst):
        return {}
    keys = [(move.sku, loc) for loc, on in ((move.from_location, src), (move.to_location, dst)) if on]
    stored = _read_rows(conn, keys)
    currency: str | None = next((s.currency for s in stored.values()), None)
    # What the goods carry: from the source row when the source is valued, else from outside.
    if src:
        source = stored.get((move.sku, move.from_location))
        currency = currency or base_currency(conn)
        fixed: Decimal | None = None
        if move.kind.value == "transfer_in" and move.document:
            left = _left_at(conn, move.document, move.sku, ("transfer_out",))
            fixed = left[0] if left else None
        after, carried = issue(source.row if source else CostRow(), move.qty, currency, fixed)
        if source is None and fixed is None:
            carried = Valued(carried.unit_cost, carried.value, SOURCE_MISSING)  # nothing here was ever costed
        _write_row(conn, (move.sku, move.from_location), after, currency, now)
        unit_cost, value, how = carried.unit_cost, carried.value, carried.source
    else:
        target = stored.get((move.sku, move.to_location))
        unit_cost, how, currency = _incoming_cost(conn, move, target, currency)
        value = None
        if dst and target is not None and how in (SOURCE_RECEIPT, SOURCE_CATALOG):
            # Units here at nothing are revalued at the cost now known before these join them.
            key = (move.sku, move.to_location)
            revalued = revaluation_repo.revalue_row(
                uow, key, target.row, unit_cost, currency, reason=_revalued_by(move), occurred_at=occurred_at, now=now
            )
            stored[key] = _Stored(revalued, currency)
    if dst:
        target = stored.get((move.sku, move.to_location))
        before = target.row if target else CostRow()
        row = receive(before, move.qty, unit_cost, currency, value)
        if value is None:
            value = row.value - before.value
        _write_row(conn, (move.sku, move.to_location), row, currency, now)
    assert value is not None
    cause = cause_of(move.kind.value, move.document, move.reason, uow.token)
    booked = booking(move.kind.value, move.from_location, move.to_location)
    if booked is None or cause is None:
        cause = None
    elif value:
        uow.raise_event(
            InventoryValued(
                cause=cause,
                kind=move.kind.value,
                role=booked.account_role,
                memo=booked.memo,
                currency=currency,
                value=value,
                inward=dst,
                occurred_at=occurred_at,
                document=move.document,
            )
        )
    return {
        "unit_cost": unit_cost,
        "cost_value": value,
        "cost_currency": currency,
        "cost_source": how,
        "cost_cause": cause,
    }


def _incoming_cost(
    conn: Connection, move: PlannedMovement, target: _Stored | None, currency: str | None
) -> tuple[Decimal, str, str]:
    """(unit cost, where it came from, currency) of goods coming in from outside the valued locations."""
    kind = move.kind.value
    if kind == "receipt":
        currency = base_currency(conn)
        if move.unit_cost is not None:
            return move.unit_cost, SOURCE_RECEIPT, currency
        catalog = standard_cost(conn, move.sku)
        if catalog is not None:
            return catalog, SOURCE_CATALOG, currency
    elif kind == "return" and move.document:
        # Back at the cost its order's units went out at (a till sale or a pick).
        left = _left_at(conn, move.document, move.sku, ("sale", "pick", "employee_purchase"))
        if left is not None:
            return left[0], SOURCE_DOCUMENT, left[1]
    currency = currency or base_currency(conn)
    if target is not None and target.row.qty > 0:
        return target.row.unit_cost, SOURCE_AVERAGE, currency  # a gain (count, adjustment) at the average
    if kind != "receipt":
        catalog = standard_cost(conn, move.sku)
        if catalog is not None:
            return catalog, SOURCE_CATALOG, currency
    if target is not None and target.row.unit_cost > 0:
        return target.row.unit_cost, SOURCE_AVERAGE, currency
    return Decimal(0), SOURCE_MISSING, currency


# ------------------------------------------------------------------------------------------------ many receipts
def value_receipts(
    uow: Work, moves: Sequence[PlannedMovement], *, occurred_at: datetime, now: datetime
) -> list[dict[str, Any]]:
    """``value_movement`` for a bulk receipt (every move from the supplier into a valued location, balance
    rows already written): the cost rows and standard costs are read in one statement per location, each
    move valued in order by ``finance.cost.receive`` (the row-by-row path's rule, so a key received twice
    averages as it would one movement at a time), the rows written in one statement per chunk, one event per
    document. Answers each movement's cost columns, in order."""
    conn = uow.conn
    currency = base_currency(conn)
    keys = sorted({(m.sku, m.to_location) for m in moves})
    rows = _cost_rows_at(conn, keys)
    catalog = standard_costs_of(conn, [m.sku for m in moves if m.unit_cost is None])
    out: list[dict[str, Any]] = []
    totals: dict[tuple[str, str | None, str], Decimal] = {}
    causes: dict[tuple[str, str | None, str | None], str] = {}
    empty = CostRow()
    pending: dict[Key, int] = {}
    for move in moves:
        key = (move.sku, move.to_location)
        before = rows.get(key, empty)
        if move.unit_cost is not None:
            unit_cost, how = move.unit_cost, SOURCE_RECEIPT
        elif move.sku in catalog:
            unit_cost, how = catalog[move.sku], SOURCE_CATALOG
        elif before.qty > 0 or before.unit_cost > 0:
            unit_cost, how = before.unit_cost, SOURCE_AVERAGE
        else:
            unit_cost, how = Decimal(0), SOURCE_MISSING
        if how in (SOURCE_RECEIPT, SOURCE_CATALOG) and revaluation_repo.may_revalue(before, unit_cost):
            before = revaluation_repo.revalue_row(
                uow,
                key,
                before,
                unit_cost,
                currency,
                reason=_revalued_by(move),
                occurred_at=occurred_at,
                now=now,
                pending=pending.pop(key, 0),
            )
        elif unit_cost == 0 and how in (SOURCE_MISSING, SOURCE_AVERAGE):
            pending[key] = pending.get(key, 0) + move.qty  # at nothing, not in the movements table yet
        after = receive(before, move.qty, unit_cost, currency)
        rows[key] = after
        value = after.value - before.value
        kind = move.kind.value
        named = (kind, move.document, move.reason)
        cause = causes.get(named)
        if cause is None:
            found = cause_of(kind, move.document, move.reason, uow.token)
            assert found is not None
            cause = causes[named] = found
        total = (cause, move.document, kind)
        totals[total] = totals.get(total, Decimal(0)) + value
        out.append(
            {
                "unit_cost": unit_cost,
                "cost_value": value,
                "cost_currency": currency,
                "cost_source": how,
                "cost_cause": cause,
            }
        )
    _write_rows(conn, [(key, rows[key]) for key in keys], currency, now)
    for (cause, document, kind), value in totals.items():
        booked = booking(kind, "supplier", "warehouse")
        if booked is not None and value:
            uow.raise_event(
                InventoryValued(
                    cause=cause,
                    kind=kind,
                    role=booked.account_role,
                    memo=booked.memo,
                    currency=currency,
                    value=value,
                    inward=True,
                    occurred_at=occurred_at,
                    document=document,
                )
            )
    return out


#: A location's cost rows of many SKUs: the SKUs bound as one array (PostgreSQL) or one JSON array (SQLite).
_COST_ROWS_PG = "SELECT sku, qty, value, unit_cost FROM stock_costs WHERE location = %b AND sku = ANY(%b::varchar[])"
_COST_ROWS_SQLITE = (
    "SELECT sku, qty, value, unit_cost FROM stock_costs WHERE location = ? AND sku IN (SELECT value FROM json_each(?))"
)
#: Many cost rows written in one statement per chunk: arrays unnested on PostgreSQL, executemany on SQLite.
_COST_ROWS_CHUNK = 10_000
_WRITE_ROWS_PG = (
    "INSERT INTO stock_costs (sku, location, qty, value, unit_cost, currency, updated_at) "
    "SELECT sku, location, qty, value, unit_cost, %b, %b "
    "FROM unnest(%b::varchar[], %b::varchar[], %b::bigint[], %b::numeric[], %b::numeric[]) "
    "AS t(sku, location, qty, value, unit_cost) "
    "ON CONFLICT (sku, location) DO UPDATE SET qty = EXCLUDED.qty, value = EXCLUDED.value, "
    "unit_cost = EXCLUDED.unit_cost, currency = EXCLUDED.currency, updated_at = EXCLUDED.updated_at"
)
_WRITE_ROWS_SQLITE = (
    "INSERT INTO stock_costs (sku, location, qty, value, unit_cost, currency, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (sku, location) DO UPDATE SET qty = excluded.qty, value = excluded.value, "
    "unit_cost = excluded.unit_cost, currency = excluded.currency, updated_at = excluded.updated_at"
)


def _cost_rows_at(conn: Connection, keys: Sequence[Key]) -> dict[Key, CostRow]:
    """The stored cost rows of ``keys`` (those that exist), one statement per location among them."""
    by_location: dict[str, list[str]] = {}
    for sku, location in keys:
        by_location.setdefault(location, []).append(sku)
    postgres = conn.dialect.name == "postgresql"
    out: dict[Key, CostRow] = {}
    for location, skus in sorted(by_location.items()):
        if postgres:
            found = conn.exec_driver_sql(_COST_ROWS_PG, (location, skus))
        else:
            found = conn.exec_driver_sql(_COST_ROWS_SQLITE, (location, json.dumps(skus)))
        for sku, qty, value, unit_cost in found:
            out[(str(sku), location)] = CostRow(
                int(qty), _decimal(value).quantize(COST_QUANTUM), round_cost(_decimal(unit_cost))
            )
    return out


def _write_rows(conn: Connection, rows: Sequence[tuple[Key, CostRow]], currency: str, now: datetime) -> None:
    """Insert or overwrite the cost rows ``rows`` (in key order, so concurrent writers never deadlock)."""
    dialect = conn.dialect.name
    at = driver_time(now, dialect)
    for start in range(0, len(rows), _COST_ROWS_CHUNK):
        part = rows[start : start + _COST_ROWS_CHUNK]
        if dialect == "postgresql":
            columns = (
                [sku for (sku, _), _ in part],
                [location for (_, location), _ in part],
                [row.qty for _, row in part],
                [row.value for _, row in part],
                [max(row.unit_cost, Decimal(0)) for _, row in part],
            )
            conn.exec_driver_sql(_WRITE_ROWS_PG, (currency, at, *columns))
        else:
            conn.exec_driver_sql(
                _WRITE_ROWS_SQLITE,
                [
                    (sku, location, row.qty, str(row.value), str(max(row.unit_cost, Decimal(0))), currency, at)
                    for (sku, location), row in part
                ],
            )


# ------------------------------------------------------------------------------------------------ reads
def cost_rows(conn: Connection, *, sku: str | None = None, location: str | None = None) -> list[dict[str, Any]]:
    query = select(stock_costs)
    if sku is not None:
        query = query.where(stock_costs.c.sku == sku)
    if location is not None:
        query = query.where(stock_costs.c.location == location)
    return [dict(r) for r in conn.execute(query.order_by(stock_costs.c.sku, stock_costs.c.location)).mappings()]


def _signed_movements(as_of: datetime | None, *, uncosted: bool = False, only: Sequence[Key] | None = None) -> Any:
    """Every movement's two sides at cost: (sku, location, qty, value), + where it went, - where it left, and
    each revaluation's value. ``uncosted`` adds the units arriving (+) and leaving (-) at nothing; ``only``
    keeps the sides of those (sku, location) keys."""
    into_cols = [
        movements.c.sku,
        movements.c.to_location.label("location"),
        movements.c.qty.label("qty"),
        func.coalesce(movements.c.cost_value, 0).label("value"),
    ]
    out_cols = [
        movements.c.sku,
        movements.c.from_location.label("location"),
        (-movements.c.qty).label("qty"),
        (-func.coalesce(movements.c.cost_value, 0)).label("value"),
    ]
    revalued = revaluation_repo.signed_revaluations(as_of, uncosted=uncosted)
    if uncosted:
        into_cols.append(revaluation_repo.UNCOSTED_IN.label("uncosted"))
        out_cols.append(revaluation_repo.UNCOSTED_OUT.label("uncosted"))
    into, out_of = select(*into_cols), select(*out_cols)
    if as_of is not None:
        into = into.where(movements.c.occurred_at <= as_of)
        out_of = out_of.where(movements.c.occurred_at <= as_of)
    if only is not None:
        pairs = sorted(set(only))
        # By SKU first (the movements' index leads with it), then the exact (sku, location) pairs.
        skus = sorted({sku for sku, _ in pairs})
        into = into.where(movements.c.sku.in_(skus), tuple_(movements.c.sku, movements.c.to_location).in_(pairs))
        out_of = out_of.where(movements.c.sku.in_(skus), tuple_(movements.c.sku, movements.c.from_location).in_(pairs))
        revalued = revalued.where(tuple_(cost_revaluations.c.sku, cost_revaluations.c.location).in_(pairs))
    # Units received at nothing and revalued later: the revaluation's value, as of when it was made.
    return union_all(into, out_of, revalued).subquery("signed")


def _uncosted(conn: Connection, as_of: datetime | None, locations: Sequence[str]) -> dict[Key, int]:
    """Units at nothing per (location, sku) by ``as_of``: counted over the keys that ever had units arrive or
    leave at nothing or be revalued (few), never fewer than 0 nor more than the units the key held."""
    keys = [(r.sku, r.location) for r in conn.execute(revaluation_repo.keys_at_nothing(as_of))]
    wanted = set(locations)
    keys = sorted({key for key in keys if key[1] in wanted})
    out: dict[Key, int] = {}
    for start in range(0, len(keys), _KEYS_CHUNK):
        signed = _signed_movements(as_of, uncosted=True, only=keys[start : start + _KEYS_CHUNK])
        units, counted = func.sum(signed.c.qty), func.sum(signed.c.uncosted)
        query = select(
            signed.c.location,
            signed.c.sku,
            case((counted < 0, 0), (counted > units, units), else_=counted).label("uncosted"),
        ).group_by(signed.c.location, signed.c.sku)
        out.update({(r.location, r.sku): int(r.uncosted) for r in conn.execute(query) if r.uncosted > 0})
    return out


#: Keys per statement when counting units at nothing (two parameters a key, well under PostgreSQL's limit).
_KEYS_CHUNK = 5_000


def valuation(
    conn: Connection,
    *,
    as_of: datetime | None,
    locations: Sequence[str],
    by_sku: bool,
    after: tuple[str, str] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Units and value at cost per location (and per SKU) over the movements that occurred by ``as_of``:
    the sum of the movements' values, never the cost rows (they say only now), and the units held at nothing
    (``uncosted``). Rows with neither units nor value are left out."""
    signed = _signed_movements(as_of)
    columns = [signed.c.location] + ([signed.c.sku] if by_sku else [])
    query = (
        select(*columns, func.sum(signed.c.qty).label("units"), func.sum(signed.c.value).label("value"))
        .where(signed.c.location.in_(list(locations)))
        .group_by(*columns)
        .having(or_(func.sum(signed.c.qty) != 0, func.round(func.sum(signed.c.value), 4) != 0))
    )
    if by_sku and after is not None:
        query = query.where(
            or_(signed.c.location > after[0], and_(signed.c.location == after[0], signed.c.sku > after[1]))
        )
    query = query.order_by(*columns)
    if limit is not None:
        query = query.limit(limit)
    rows = [dict(r) for r in conn.execute(query).mappings()]
    at_nothing = _uncosted(conn, as_of, locations)
    if by_sku:
        for row in rows:
            row["uncosted"] = at_nothing.get((row["location"], row["sku"]), 0)
    else:
        per_location: dict[str, int] = {}
        for (location, _), units in at_nothing.items():
            per_location[location] = per_location.get(location, 0) + units
        for row in rows:
            row["uncosted"] = per_location.get(row["location"], 0)
    return rows


# ------------------------------------------------------------------------------------------------ reconcile
def cost_row_differences(conn: Connection) -> Iterator[tuple[str, str, Decimal, Decimal]]:
    """(sku, location, stored value, value of its movements) wherever the cost row disagrees with the sum of
    the movements at cost, compared in the database at the stored precision."""
    signed = _signed_movements(None)
    moved = (
        select(signed.c.sku, signed.c.location, func.sum(signed.c.value).label("value"))
        .where(signed.c.location.not_in(_UNVALUED))
        .group_by(signed.c.sku, signed.c.location)
        .subquery("moved")
    )
    keys = union(
        select(stock_costs.c.sku, stock_costs.c.location),
        select(moved.c.sku, moved.c.location).where(func.round(moved.c.value, 4) != 0),
    ).subquery("keys")
    stored = func.coalesce(stock_costs.c.value, 0)
    wanted = func.coalesce(moved.c.value, 0)
    query = (
        select(keys.c.sku, keys.c.location, stored.label("stored"), wanted.label("wanted"))
        .select_from(
            keys.outerjoin(
                stock_costs, and_(stock_costs.c.sku == keys.c.sku, stock_costs.c.location == keys.c.location)
            ).outerjoin(moved, and_(moved.c.sku == keys.c.sku, moved.c.location == keys.c.location))
        )
        .where(func.round(stored - wanted, 4) != 0)
        .order_by(keys.c.sku, keys.c.location)
    )
    for row in conn.execute(query, execution_options=_STREAMED):
        yield row.sku, row.location, _money(row.stored), _money(row.wanted)


def _money(value: Any) -> Decimal:
    """A stored or summed amount at the stored precision (SQLite sums NUMERIC as binary floats)."""
    return Decimal(str(value or 0)).quantize(Decimal("0.0001"))


def _fully_shipped() -> Any:
    """Orders every picked unit of which has shipped: their picks' value is all booked to COGS by then. An
    order with picked units still to ship (picked again after a partial shipment, or picked and cancelled)
    has its picks awaiting shipment: what its shipments booked so far is not compared yet."""
    return (
        select(order_lines.c.order_id)
        .group_by(order_lines.c.order_id)
        .having(func.sum(order_lines.c.picked) == func.sum(order_lines.c.shipped), func.sum(order_lines.c.shipped) > 0)
    )


def _shipment_docs() -> Any:
    return finance_documents.c.source_key.like("cost:shipment:%")


def posting_differences(conn: Connection, inventory_account: str) -> Iterator[tuple[str, Decimal, Decimal]]:
    """(cause, value its movements moved across the walls, amount its journal entry booked to the inventory
    account) wherever they differ: the movements of each cause (a sale, a return, a receipt, a count...)
    against the entry posted for it, and each fully shipped order's picks against its shipments' entries.
    Signed: goods in are positive. Orders with picks awaiting shipment are not compared (``awaiting_shipment``
    counts them)."""
    inward = case((movements.c.to_location.in_(_UNVALUED), -1), else_=1)
    moved = (
        select(movements.c.cost_cause.label("cause"), func.sum(inward * movements.c.cost_value).label("value"))
        .where(movements.c.cost_cause.is_not(None))
        .group_by(movements.c.cost_cause)
    )
    picked = (
        select(
            (literal("cost:shipment:") + movements.c.document).label("cause"),
            func.sum(-movements.c.cost_value).label("value"),
        )
        .where(
            movements.c.kind == "pick",
            movements.c.document.in_(_fully_shipped()),
            movements.c.cost_value.is_not(None),
        )
        .group_by(movements.c.document)
    )
    expected = union_all(moved, picked, revaluation_repo.expected_postings()).subquery("expected")
    signed_line = journal_lines.c.debit - journal_lines.c.credit
    doc_cause = case(
        (_shipment_docs(), literal("cost:shipment:") + finance_documents.c.order_id),
        else_=finance_documents.c.source_key,
    )
    booked = (
        select(doc_cause.label("cause"), func.sum(signed_line).label("value"))
        .select_from(
            finance_documents.join(journal_entries, journal_entries.c.document_id == finance_documents.c.id).join(
                journal_lines, journal_lines.c.entry_id == journal_entries.c.id
            )
        )
        .where(
            finance_documents.c.source_key.like("cost:%"),
            journal_lines.c.account == inventory_account,
            or_(~_shipment_docs(), finance_documents.c.order_id.in_(_fully_shipped())),
        )
        .group_by(doc_cause)
        .subquery("booked")
    )
    keys = union(select(expected.c.cause), select(booked.c.cause)).subquery("keys")
    want = func.coalesce(expected.c.value, 0)
    have = func.coalesce(booked.c.value, 0)
    query = (
        select(keys.c.cause, want.label("want"), have.label("have"))
        .select_from(
            keys.outerjoin(expected, expected.c.cause == keys.c.cause).outerjoin(booked, booked.c.cause == keys.c.cause)
        )
        .where(func.round(want - have, 4) != 0)
        .order_by(keys.c.cause)
    )
    for row in conn.execute(query, execution_options=_STREAMED):
        yield row.cause, _money(row.want), _money(row.have)


def inventory_account_balance(conn: Connection, inventory_account: str) -> Decimal:
    """Debits minus credits of the inventory account over the whole journal."""
    value = conn.execute(
        select(func.sum(journal_lines.c.debit - journal_lines.c.credit)).where(
            journal_lines.c.account == inventory_account
        )
    ).scalar()
    return _money(value)


def awaiting_shipment_value(conn: Connection, inventory_account: str) -> Decimal:
    """The value at cost of picks not yet booked to COGS: the picks of orders with picked units still to ship,
    less what their shipments so far booked (left the shelves, still in the inventory account)."""
    picked = conn.execute(
        select(func.sum(movements.c.cost_value)).where(
            movements.c.kind == "pick", movements.c.document.not_in(_fully_shipped())
        )
    ).scalar()
    booked = conn.execute(
        select(func.sum(journal_lines.c.credit - journal_lines.c.debit))
        .select_from(
            finance_documents.join(journal_entries, journal_entries.c.document_id == finance_documents.c.id).join(
                journal_lines, journal_lines.c.entry_id == journal_entries.c.id
            )
        )
        .where(
            _shipment_docs(),
            journal_lines.c.account == inventory_account,
            finance_documents.c.order_id.not_in(_fully_shipped()),
        )
    ).scalar()
    return _money(picked) - _money(booked)


def uncosted_movements(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    """Movements valued at nothing because no cost was known (a receipt without a cost anywhere): flagged."""
    rows = conn.execute(
        select(
            movements.c.id,
            movements.c.sku,
            movements.c.kind,
            movements.c.to_location,
            movements.c.from_location,
            movements.c.qty,
            movements.c.document,
        )
        .where(movements.c.cost_source == SOURCE_MISSING)
        .order_by(movements.c.id)
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


def uncosted_count(conn: Connection) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(movements).where(movements.c.cost_source == SOURCE_MISSING)
        ).scalar_one()
    )


def cause_parts(conn: Connection, cause: str) -> list[dict[str, Any]]:
    """What a cause's movements moved across the walls, per kind and direction (to post a missing entry)."""
    outward = movements.c.to_location.in_(_UNVALUED)
    rows = conn.execute(
        select(
            movements.c.kind,
            outward.label("outward"),
            func.sum(movements.c.cost_value).label("value"),
            func.min(movements.c.occurred_at).label("occurred_at"),
            func.max(movements.c.document).label("document"),
            func.max(movements.c.cost_currency).label("currency"),
        )
        .where(movements.c.cost_cause == cause)
        .group_by(movements.c.kind, outward)
    ).mappings()
    return [{**r, "occurred_at": aggregate_time(r["occurred_at"])} for r in rows]


def picks_to_book(conn: Connection, order_id: str) -> Decimal:
    """The value at cost of an order's picks (its COGS once shipped)."""
    value = conn.execute(
        select(func.sum(movements.c.cost_value)).where(movements.c.document == order_id, movements.c.kind == "pick")
    ).scalar()
    return _money(value)


def booked_shipments(conn: Connection, order_id: str) -> tuple[int, Decimal]:
    """How many shipment COGS entries an order has, and the value they credited to inventory."""
    rows = conn.execute(
        select(finance_documents.c.total).where(
            finance_documents.c.order_id == order_id, finance_documents.c.source_key.like("cost:shipment:%")
        )
    ).all()
    return len(rows), sum((Decimal(str(r[0])) for r in rows), Decimal(0))


# ------------------------------------------------------------------------------------------------ standard costs
def save_standard_costs(conn: Connection, costs: dict[str, Decimal], currency: str, now: datetime) -> list[str]:
    """Set many variants' standard costs in a few statements: only those that differ from what is stored (a
    re-imported file writes nothing). Answers the SKUs whose standard cost changed, sorted."""
    wanted = sorted(costs)
    stored: dict[str, tuple[Decimal, str]] = {}
    for start in range(0, len(wanted), _COST_CHUNK):
        part = wanted[start : start + _COST_CHUNK]
        query = select(standard_costs.c.sku, standard_costs.c.unit_cost, standard_costs.c.currency).where(
            standard_costs.c.sku.in_(part)
        )
        stored.update({r.sku: (round_cost(Decimal(str(r.unit_cost))), r.currency) for r in conn.execute(query)})
    changed = [sku for sku in wanted if stored.get(sku) != (round_cost(costs[sku]), currency)]
    upsert_many(
        conn,
        standard_costs,
        ["sku"],
        [{"sku": sku, "unit_cost": costs[sku], "currency": currency, "updated_at": now} for sku in changed],
    )
    return changed


def _revalued_by(move: PlannedMovement) -> str:
    what = "its unit cost" if move.unit_cost is not None else "the standard cost"
    return f"receipt {move.document or ''} at {what}".replace("  ", " ")


def revalue_at_standard_costs(uow: Work, costs: dict[str, Decimal], *, occurred_at: datetime, now: datetime) -> int:
    """Standard costs just set: the units of those SKUs held at nothing in any valued location are revalued
    at them. The balance rows of the keys are locked first (every writer of a cost row holds them), then the
    cost rows read again. Answers how many (sku, location) rows were revalued."""
    conn = uow.conn
    wanted = sorted(sku for sku, cost in costs.items() if cost > 0)
    if not wanted:
        return 0
    candidates: list[Key] = []
    for start in range(0, len(wanted), _COST_CHUNK):
        query = select(stock_costs.c.sku, stock_costs.c.location).where(
            stock_costs.c.sku.in_(wanted[start : start + _COST_CHUNK]),
            stock_costs.c.qty > 0,
            stock_costs.c.unit_cost == 0,
            stock_costs.c.location.not_in(_UNVALUED),
        )
        candidates += [(r.sku, r.location) for r in conn.execute(query)]
    if not candidates:
        return 0
    ledger_repo.lock_available(conn, candidates)
    stored = _read_rows_by_sku(conn, candidates)
    revalued = 0
    for key in sorted(stored):
        found = stored[key]
        after = revaluation_repo.revalue_row(
            uow,
            key,
            found.row,
            costs[key[0]],
            found.currency,
            reason="standard cost set",
            occurred_at=occurred_at,
            now=now,
        )
        if after != found.row:
            _write_row(conn, key, after, found.currency, now)
            revalued += 1
    return revalued


def standard_costs_awaiting_revaluation(conn: Connection, limit: int) -> dict[str, Decimal]:
    """SKUs that have a standard cost above 0 and a valued row still holding units at no average: units that
    came in at nothing while the standard cost was being set (they read it before it committed)."""
    query = (
        select(standard_costs.c.sku, standard_costs.c.unit_cost)
        .select_from(standard_costs.join(stock_costs, stock_costs.c.sku == standard_costs.c.sku))
        .where(
            standard_costs.c.unit_cost > 0,
            stock_costs.c.qty > 0,
            stock_costs.c.unit_cost == 0,
            stock_costs.c.location.not_in(_UNVALUED),
        )
        .distinct()
        .order_by(standard_costs.c.sku)
        .limit(limit)
    )
    return {r.sku: round_cost(Decimal(str(r.unit_cost))) for r in conn.execute(query)}


__all__ = [
    "SOURCE_AVERAGE",
    "SOURCE_CATALOG",
    "SOURCE_DOCUMENT",
    "base_currency",
    "value_movement",
    "value_receipts",
]
