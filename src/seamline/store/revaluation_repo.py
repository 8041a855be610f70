"""Revaluations at cost (``finance.cost.revalue``): units received at nothing (no unit cost, no standard cost,
no average when they came in) are valued once a cost is known, explicitly: a ``cost_revaluations`` record
(SKU, location, units, old and new unit cost, amount), an ``InventoryValued`` event that books it as its own
journal (inventory against the ``cost_revaluation`` account), and the cost row's new value and average.

Which units are "at nothing" is read from the movements: those that came in with no cost anywhere (source
``missing``) or at an average or a document's cost of 0, less those that left at 0, less those revalued;
``finance.cost.uncosted_units`` keeps it within what the row holds. Valuation (``cost_repo``) counts the same
terms, so ``GET /v1/finance/valuation``'s ``uncosted_units`` lists them until they are revalued."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, case, func, insert, literal, or_, select, union

from seamline.finance.cost import (
    SOURCE_AVERAGE,
    SOURCE_DOCUMENT,
    SOURCE_MISSING,
    CostRow,
    booking,
    revaluation_cause,
    revalue,
    uncosted_units,
)
from seamline.finance.events import InventoryValued
from seamline.store.tables import cost_revaluations, movements, stock_costs
from seamline.store.work import Work

Key = tuple[str, str]  # (sku, location)

#: A movement's units that arrive at nothing (+) on its ``to_location`` and leave at nothing (-) from its
#: ``from_location``: the terms valuation's ``uncosted`` counts (``cost_repo._signed_movements``).
UNCOSTED_IN = case(
    (
        or_(
            movements.c.cost_source == SOURCE_MISSING,
            and_(movements.c.unit_cost == 0, movements.c.cost_source.in_([SOURCE_AVERAGE, SOURCE_DOCUMENT])),
        ),
        movements.c.qty,
    ),
    else_=0,
)
UNCOSTED_OUT = case(
    (
        and_(
            movements.c.unit_cost == 0,
            movements.c.cost_source.in_([SOURCE_AVERAGE, SOURCE_DOCUMENT, SOURCE_MISSING]),
        ),
        -movements.c.qty,
    ),
    else_=0,
)


def signed_revaluations(as_of: datetime | None, *, uncosted: bool = False) -> Any:
    """Each revaluation as a side of valuation: (sku, location, qty 0, value[, uncosted -units])."""
    columns = [
        cost_revaluations.c.sku,
        cost_revaluations.c.location,
        literal(0).label("qty"),
        cost_revaluations.c.amount.label("value"),
    ]
    if uncosted:
        columns.append((-cost_revaluations.c.units).label("uncosted"))
    query = select(*columns)
    return query if as_of is None else query.where(cost_revaluations.c.occurred_at <= as_of)


def keys_at_nothing(as_of: datetime | None) -> Any:
    """(sku, location) of the keys that can hold units at nothing by ``as_of``. Now: the cost rows holding
    units at an average of 0 (a row with an average holds none: ``finance.cost.uncosted_units``), read from
    the cost rows, not the ledger. As of a past moment: every key that had units arrive or leave at nothing,
    or be revalued, by then (a scan of the movements, no grouping)."""
    if as_of is None:
        return select(stock_costs.c.sku, stock_costs.c.location).where(
            stock_costs.c.qty > 0, stock_costs.c.unit_cost == 0
        )
    arrived = select(movements.c.sku, movements.c.to_location.label("location")).where(UNCOSTED_IN != 0)
    left = select(movements.c.sku, movements.c.from_location.label("location")).where(UNCOSTED_OUT != 0)
    revalued = select(cost_revaluations.c.sku, cost_revaluations.c.location)
    return union(
        arrived.where(movements.c.occurred_at <= as_of),
        left.where(movements.c.occurred_at <= as_of),
        revalued.where(cost_revaluations.c.occurred_at <= as_of),
    )


def uncosted_counted(conn: Connection, key: Key) -> int:
    """Units of (sku, location) that came in at nothing and neither left at nothing nor were revalued."""
    sku, location = key
    into = conn.execute(
        select(func.sum(UNCOSTED_IN)).where(movements.c.sku == sku, movements.c.to_location == location)
    ).scalar()
    out_of = conn.execute(
        select(func.sum(UNCOSTED_OUT)).where(movements.c.sku == sku, movements.c.from_location == location)
    ).scalar()
    revalued = conn.execute(
        select(func.sum(cost_revaluations.c.units)).where(
            cost_revaluations.c.sku == sku, cost_revaluations.c.location == location
        )
    ).scalar()
    return int(into or 0) + int(out_of or 0) - int(revalued or 0)


def may_revalue(row: CostRow, unit_cost: Decimal) -> bool:
    """Only a row with units and no average can hold units at nothing, and only a cost above 0 values them."""
    return row.qty > 0 and row.unit_cost == 0 and unit_cost > 0


def revalue_row(
    uow: Work,
    key: Key,
    row: CostRow,
    unit_cost: Decimal,
    currency: str,
    *,
    reason: str,
    occurred_at: datetime,
    now: datetime,
    pending: int = 0,
) -> CostRow:
    """Revalue the units of ``row`` (the cost row of ``key``, locked by the caller) still at nothing at
    ``unit_cost``: record it, raise its ``InventoryValued`` and answer the row after it (the caller writes it).
    ``pending``: units at nothing this transaction added that the movements table does not hold yet (a bulk
    receipt's earlier lines). Answers ``row`` itself when none of its units are at nothing."""
    if not may_revalue(row, unit_cost):
        return row
    units = uncosted_units(row, uncosted_counted(uow.conn, key) + pending)
    if units == 0:
        return row
    after, revalued = revalue(row, units, unit_cost, currency)
    revaluation_id = "rev_" + uuid.uuid4().hex
    cause = revaluation_cause(revaluation_id)
    uow.conn.execute(
        insert(cost_revaluations).values(
            id=revaluation_id,
            sku=key[0],
            location=key[1],
            units=revalued.units,
            old_unit_cost=revalued.old_unit_cost,
            new_unit_cost=revalued.new_unit_cost,
            amount=revalued.amount,
            currency=currency,
            reason=reason[:200],
            cause=cause,
            occurred_at=occurred_at,
            recorded_at=now,
        )
    )
    booked = booking("revaluation", "supplier", key[1])
    if booked is not None and revalued.amount:
        uow.raise_event(
            InventoryValued(
                cause=cause,
                kind="revaluation",
                role=booked.account_role,
                memo=f"{revalued.units} x {key[0]} at {key[1]} revalued from {revalued.old_unit_cost} to {unit_cost}",
                currency=currency,
                value=revalued.amount,
                inward=True,
                occurred_at=occurred_at,
                document=revaluation_id,
            )
        )
    return after


# ------------------------------------------------------------------------------------------------ reads
def _view(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "sku": r.sku,
        "location": r.location,
        "units": int(r.units),
        "old_unit_cost": Decimal(str(r.old_unit_cost)),
        "new_unit_cost": Decimal(str(r.new_unit_cost)),
        "amount": Decimal(str(r.amount)),
        "currency": r.currency,
        "reason": r.reason,
        "cause": r.cause,
        "occurred_at": r.occurred_at,
    }


def revaluations(
    conn: Connection, *, sku: str | None = None, location: str | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """Revaluations, latest first (``GET /v1/finance/revaluations``)."""
    query = select(cost_revaluations)
    if sku is not None:
        query = query.where(cost_revaluations.c.sku == sku)
    if location is not None:
        query = query.where(cost_revaluations.c.location == location)
    query = query.order_by(cost_revaluations.c.occurred_at.desc(), cost_revaluations.c.id).limit(limit)
    return [_view(r) for r in conn.execute(query)]


def rows_at_nothing(conn: Connection, limit: int = 50) -> tuple[list[dict[str, Any]], int]:
    """Cost rows holding units at a unit cost of 0 now (the dashboard: what waits for a cost), most units
    first, and how many units all of them hold. Read from the cost rows (one per SKU and location), not the
    movements, so the page stays cheap; an explicit cost of 0 shows here too."""
    at_nothing = and_(stock_costs.c.qty > 0, stock_costs.c.unit_cost == 0)
    rows = conn.execute(
        select(stock_costs.c.sku, stock_costs.c.location, stock_costs.c.qty)
        .where(at_nothing)
        .order_by(stock_costs.c.qty.desc(), stock_costs.c.sku, stock_costs.c.location)
        .limit(limit)
    )
    total = conn.execute(select(func.sum(stock_costs.c.qty)).where(at_nothing)).scalar()
    return [{"sku": r.sku, "location": r.location, "units": int(r.qty)} for r in rows], int(total or 0)


def by_cause(conn: Connection, cause: str) -> dict[str, Any] | None:
    row = conn.execute(select(cost_revaluations).where(cost_revaluations.c.cause == cause)).one_or_none()
    return None if row is None else _view(row)


def expected_postings() -> Any:
    """(cause, value) each revaluation moved into inventory: reconcile's inventory leg compares its journal."""
    return select(cost_revaluations.c.cause.label("cause"), cost_revaluations.c.amount.label("value"))


__all__ = [
    "UNCOSTED_IN",
    "UNCOSTED_OUT",
    "by_cause",
    "expected_postings",
    "keys_at_nothing",
    "may_revalue",
    "revaluations",
    "revalue_row",
    "rows_at_nothing",
    "signed_revaluations",
    "uncosted_counted",
]
