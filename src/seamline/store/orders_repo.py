"""The order queue's SQL: orders and their lines, tenders, returns and refunds, oversell exceptions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from seamline.domain.money import minor_exponent
from seamline.orders.model import LineState
from seamline.store.tables import (
    allocations,
    order_lines,
    order_tenders,
    orders,
    oversell_exceptions,
    prepack_components,
    prices,
    refunds,
    return_lines,
    returns,
    skus,
)

LINE_STAGES = ("allocated", "picked", "packed", "shipped", "cancelled", "returned")


def money(value: Any, currency: str) -> Decimal:
    """A stored amount back at its currency's precision (SQLite hands NUMERIC back through a float)."""
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-minor_exponent(currency)))


def claim_order(conn: Connection, values: Mapping[str, Any]) -> bool:
    """Insert the order unless its (channel, external_id) exists; True when this call created it.

    On PostgreSQL a concurrent insert of the same key waits for the first to commit, then does nothing:
    the loser reads the winner's order instead of failing on the unique constraint."""
    dialect = conn.dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = (
            postgresql.insert(orders).values(**values).on_conflict_do_nothing(index_elements=["channel", "external_id"])
        )
    elif dialect == "sqlite":
        stmt = sqlite.insert(orders).values(**values).on_conflict_do_nothing(index_elements=["channel", "external_id"])
    else:  # pragma: no cover - only the two supported databases reach here
        raise NotImplementedError(dialect)
    return conn.execute(stmt.returning(orders.c.seq)).first() is not None


def order_id_for(conn: Connection, channel: str, external_id: str) -> str | None:
    value = conn.execute(
        select(orders.c.id).where(orders.c.channel == channel, orders.c.external_id == external_id)
    ).scalar()
    return None if value is None else str(value)


def insert_lines(conn: Connection, order_id: str, lines: Sequence[LineState]) -> None:
    conn.execute(
        order_lines.insert(),
        [
            {
                "order_id": order_id,
                "line_no": line.line_no,
                "sku": line.sku,
                "qty": line.qty,
                "unit_price": line.unit_price,
                **{stage: getattr(line, stage) for stage in LINE_STAGES},
            }
            for line in lines
        ],
    )


def insert_tenders(conn: Connection, order_id: str, tenders: Sequence[tuple[str, Decimal]]) -> None:
    if tenders:
        conn.execute(
            order_tenders.insert(),
            [
                {"order_id": order_id, "seq": i, "type": kind, "amount": amount}
                for i, (kind, amount) in enumerate(tenders, start=1)
            ],
        )


def save_lines(conn: Connection, order_id: str, lines: Sequence[LineState]) -> None:
    for line in lines:
        conn.execute(
            update(order_lines)
            .where(order_lines.c.order_id == order_id, order_lines.c.line_no == line.line_no)
            .values(**{stage: getattr(line, stage) for stage in LINE_STAGES})
        )


def update_order(conn: Connection, order_id: str, **values: Any) -> None:
    conn.execute(update(orders).where(orders.c.id == order_id).values(**values))


def _lines_of(conn: Connection, order_ids: Sequence[str]) -> dict[str, list[LineState]]:
    out: dict[str, list[LineState]] = defaultdict(list)
    if not order_ids:
        return out
    currency = dict(conn.execute(select(orders.c.id, orders.c.currency).where(orders.c.id.in_(order_ids))).all())
    for r in conn.execute(
        select(order_lines).where(order_lines.c.order_id.in_(order_ids)).order_by(order_lines.c.line_no)
    ).mappings():
        out[r["order_id"]].append(
            LineState(
                line_no=r["line_no"],
                sku=r["sku"],
                qty=r["qty"],
                unit_price=money(r["unit_price"], currency[r["order_id"]]),
                **{stage: r[stage] for stage in LINE_STAGES},
            )
        )
    return out


def _tenders_of(conn: Connection, order_ids: Sequence[str]) -> dict[str, list[tuple[str, Decimal]]]:
    out: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    if not order_ids:
        return out
    rows = conn.execute(
        select(order_tenders.c.order_id, order_tenders.c.type, order_tenders.c.amount, orders.c.currency)
        .join(orders, orders.c.id == order_tenders.c.order_id)
        .where(order_tenders.c.order_id.in_(order_ids))
        .order_by(order_tenders.c.order_id, order_tenders.c.seq)
    )
    for r in rows:
        out[r.order_id].append((r.type, money(r.amount, r.currency)))
    return out


def _with_details(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    ids = [r["id"] for r in rows]
    lines, tenders = _lines_of(conn, ids), _tenders_of(conn, ids)
    return [{**dict(r), "lines": lines[r["id"]], "tenders": tenders[r["id"]]} for r in rows]


def get_order(conn: Connection, order_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    """The order with its lines (as ``LineState``) and tenders. ``for_update`` locks it on PostgreSQL, so
    two steps on one order (a pick and a cancel) run one after the other."""
    query = select(orders).where(orders.c.id == order_id)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return None if row is None else _with_details(conn, [dict(row)])[0]


def list_orders(
    conn: Connection,
    *,
    channel: str | None = None,
    status: Sequence[str] | None = None,
    kind: str | None = None,
    customer_id: str | None = None,
    after_seq: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """One page of the queue, oldest first (the order the warehouse works in)."""
    query = select(orders)
    if channel is not None:
        query = query.where(orders.c.channel == channel)
    if status:
        query = query.where(orders.c.status.in_(list(status)))
    if kind is not None:
        query = query.where(orders.c.kind == kind)
    if customer_id is not None:
        query = query.where(orders.c.customer_id == customer_id)
    if after_seq is not None:
        query = query.where(orders.c.seq > after_seq)
    rows = conn.execute(query.order_by(orders.c.seq).limit(limit)).mappings().all()
    return _with_details(conn, [dict(r) for r in rows])


def backorder_candidates(conn: Connection, statuses: Iterable[str], limit: int) -> list[dict[str, Any]]:
    """Orders that may still have backordered units, in queue order (the caller sorts by priority)."""
    query = (
        select(
            orders.c.id,
            orders.c.seq,
            orders.c.channel,
            orders.c.ship_start,
            orders.c.cancel_date,
            orders.c.placed_at,
        )
        .where(
            orders.c.status.in_(sorted(statuses)),
            orders.c.id.in_(
                select(order_lines.c.order_id)
                .where(order_lines.c.qty > order_lines.c.cancelled + order_lines.c.allocated + order_lines.c.picked)
                .scalar_subquery()
            ),
        )
        .order_by(orders.c.seq)
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def prices_for(conn: Connection, sku_codes: Iterable[str], price_list: str, currency: str) -> dict[str, Decimal]:
    """The price-list price of each SKU's style (prices are per style), where there is one."""
    rows = conn.execute(
        select(skus.c.sku, prices.c.amount)
        .join(prices, prices.c.style_code == skus.c.style_code)
        .where(skus.c.sku.in_(sorted(set(sku_codes))), prices.c.list == price_list, prices.c.currency == currency)
    )
    return {r.sku: money(r.amount, currency) for r in rows}


def style_of(conn: Connection, sku_codes: Iterable[str]) -> dict[str, str]:
    rows = conn.execute(select(skus.c.sku, skus.c.style_code).where(skus.c.sku.in_(sorted(set(sku_codes)))))
    return {r.sku: r.style_code for r in rows}


# ------------------------------------------------------------------------------------------------ returns
def insert_return(
    conn: Connection,
    values: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    refund_rows: Sequence[tuple[str, Decimal]],
) -> None:
    conn.execute(returns.insert().values(**values))
    if lines:  # a channel's refund of money alone (shipping, an adjustment) brings no goods back
        conn.execute(return_lines.insert(), [{"return_id": values["id"], **line} for line in lines])
    if refund_rows:
        conn.execute(
            refunds.insert(),
            [
                {"return_id": values["id"], "seq": i, "order_id": values["order_id"], "tender": t, "amount": a}
                for i, (t, a) in enumerate(refund_rows, start=1)
            ],
        )


def get_return(conn: Connection, return_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(returns).where(returns.c.id == return_id)).mappings().first()
    if row is None:
        return None
    currency = row["currency"]
    lines = [
        dict(r)
        for r in conn.execute(
            select(return_lines).where(return_lines.c.return_id == return_id).order_by(return_lines.c.line_no)
        ).mappings()
    ]
    for line in lines:
        line["amount"] = money(line["amount"], currency)
    refund_rows = [
        (r.tender, money(r.amount, currency))
        for r in conn.execute(select(refunds).where(refunds.c.return_id == return_id).order_by(refunds.c.seq))
    ]
    return {**dict(row), "refund_total": money(row["refund_total"], currency), "lines": lines, "refunds": refund_rows}


def refunded_by_tender(conn: Connection, order_id: str, currency: str) -> dict[str, Decimal]:
    rows = conn.execute(
        select(refunds.c.tender, func.sum(refunds.c.amount))
        .where(refunds.c.order_id == order_id)
        .group_by(refunds.c.tender)
    )
    return {r[0]: money(r[1], currency) for r in rows}


def returns_of(conn: Connection, order_id: str) -> list[str]:
    return [
        r.id
        for r in conn.execute(
            select(returns.c.id).where(returns.c.order_id == order_id).order_by(returns.c.created_at, returns.c.id)
        )
    ]


def set_exchange(conn: Connection, return_id: str, order_id: str) -> None:
    conn.execute(update(returns).where(returns.c.id == return_id).values(exchange_order_id=order_id))


# ------------------------------------------------------------------------------------ oversell exceptions
def insert_exception(conn: Connection, values: Mapping[str, Any]) -> int:
    return int(
        conn.execute(oversell_exceptions.insert().values(**values).returning(oversell_exceptions.c.id)).scalar_one()
    )


def list_exceptions(
    conn: Connection,
    *,
    sku: str | None = None,
    location: str | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    query = select(oversell_exceptions)
    if sku is not None:
        query = query.where(oversell_exceptions.c.sku == sku)
    if location is not None:
        query = query.where(oversell_exceptions.c.location == location)
    if after_id is not None:
        query = query.where(oversell_exceptions.c.id > after_id)
    return [dict(r) for r in conn.execute(query.order_by(oversell_exceptions.c.id).limit(limit)).mappings()]


def exception_keys(conn: Connection) -> set[tuple[str, str]]:
    """(sku, location) rows where an oversell exception explains ``available`` below zero."""
    rows = conn.execute(select(oversell_exceptions.c.sku, oversell_exceptions.c.location).distinct())
    return {(r.sku, r.location) for r in rows}


# ----------------------------------------------------------------------------------------------- reconcile
def line_allocated_units(conn: Connection) -> dict[tuple[str, str], int]:
    """(order id, component SKU) -> units the orders' lines say are allocated, prepacks exploded."""
    comp = prepack_components
    rows = conn.execute(
        select(
            order_lines.c.order_id,
            func.coalesce(comp.c.component_sku, order_lines.c.sku).label("sku"),
            func.sum(order_lines.c.allocated * func.coalesce(comp.c.units, 1)).label("units"),
        )
        .outerjoin(comp, comp.c.pack_sku == order_lines.c.sku)
        .where(order_lines.c.allocated > 0)
        .group_by(order_lines.c.order_id, func.coalesce(comp.c.component_sku, order_lines.c.sku))
    )
    return {(r.order_id, r.sku): int(r.units) for r in rows}


def order_open_allocations(conn: Connection) -> dict[tuple[str, str], int]:
    """(order id, SKU) -> open allocated units, for allocations made to orders."""
    rows = conn.execute(
        select(allocations.c.document, allocations.c.sku, func.sum(allocations.c.qty))
        .join(orders, and_(orders.c.id == allocations.c.document))
        .where(allocations.c.status == "open")
        .group_by(allocations.c.document, allocations.c.sku)
    )
    return {(r[0], r[1]): int(r[2]) for r in rows}
