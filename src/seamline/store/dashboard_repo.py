"""Read-only queries behind the operator's dashboard (``seamline.web``): pages of styles and orders, what a
document moved and caused, delivery outcomes over a recent window, and the cumulative counters the KPI
history samples. Every query is bounded (a page, a window or an id range) so a page stays fast on a
catalog of thousands of SKUs and an outbox of millions of deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from seamline.store.tables import (
    balances,
    channels,
    count_lines,
    counts,
    customers,
    deliveries,
    delivery_failures,
    holds,
    inbox_messages,
    movements,
    order_lines,
    orders,
    outbox_events,
    oversell_exceptions,
    published_availability,
    returns,
    settlements,
    skus,
    styles,
    till_batches,
)
from seamline.store.types import aggregate_time

#: Movement kinds that are units sold: a till sale leaves at once, an order's units leave at pick.
SOLD_KINDS = ("sale", "pick")


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# ---------------------------------------------------------------------- sessions
# ---------------------------------------------------------------------- catalog and stock
def style_page(conn: Connection, *, search: str | None, after: str | None, limit: int) -> list[dict[str, Any]]:
    """Styles by code, filtered by a case-insensitive match on code or name, with their variant count."""
    variant_count = (
        select(func.count())
        .where(skus.c.style_code == styles.c.code, skus.c.kind == "variant")
        .correlate(styles)
        .scalar_subquery()
    )
    query = select(
        styles.c.code,
        styles.c.name,
        styles.c.season,
        styles.c.category,
        styles.c.status,
        styles.c.version,
        variant_count.label("variants"),
    )
    if search:
        pattern = _like(search)
        query = query.where(
            or_(
                func.lower(styles.c.code).like(pattern, escape="\\"),
                func.lower(styles.c.name).like(pattern, escape="\\"),
            )
        )
    if after is not None:
        query = query.where(styles.c.code > after)
    return [dict(r) for r in conn.execute(query.order_by(styles.c.code).limit(limit)).mappings()]


def style_stock_totals(conn: Connection, codes: Sequence[str], locations: Sequence[str]) -> dict[str, dict[str, int]]:
    """On hand and committed per style over ``locations`` (the page's styles only)."""
    if not codes or not locations:
        return {}
    rows = conn.execute(
        select(skus.c.style_code, func.sum(balances.c.on_hand), func.sum(balances.c.committed))
        .select_from(balances.join(skus, skus.c.sku == balances.c.sku))
        .where(skus.c.style_code.in_(list(codes)), balances.c.location.in_(list(locations)))
        .group_by(skus.c.style_code)
    )
    return {r[0]: {"on_hand": int(r[1] or 0), "committed": int(r[2] or 0)} for r in rows}


def published_for(conn: Connection, sku_codes: Sequence[str]) -> list[dict[str, Any]]:
    """What each subscriber last published for these SKUs, per channel."""
    if not sku_codes:
        return []
    rows = conn.execute(
        select(published_availability)
        .where(published_availability.c.sku.in_(list(sku_codes)))
        .order_by(published_availability.c.channel, published_availability.c.subscriber, published_availability.c.sku)
    ).mappings()
    return [dict(r) for r in rows]


# ---------------------------------------------------------------------- orders
def order_channels(conn: Connection) -> list[str]:
    return [r[0] for r in conn.execute(select(orders.c.channel).distinct().order_by(orders.c.channel))]


def order_page(
    conn: Connection,
    *,
    channel: str | None = None,
    status: Sequence[str] | None = None,
    kind: str | None = None,
    placed_before: datetime | None = None,
    placed_after: datetime | None = None,
    before_seq: int | None = None,
    external_id: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """One page of the queue across every channel, newest first, with each order's unit count and its
    customer's name; ``external_id`` finds the channel's order number (case-insensitive, any part of it)."""
    units = (
        select(func.coalesce(func.sum(order_lines.c.qty), 0))
        .where(order_lines.c.order_id == orders.c.id)
        .correlate(orders)
        .scalar_subquery()
    )
    query = select(
        orders.c.seq,
        orders.c.id,
        orders.c.channel,
        orders.c.external_id,
        orders.c.kind,
        orders.c.status,
        orders.c.currency,
        orders.c.total,
        orders.c.location,
        orders.c.placed_at,
        orders.c.trace_id,
        orders.c.customer_id,
        customers.c.name.label("customer_name"),
        customers.c.email.label("customer_email"),
        units.label("units"),
    ).select_from(orders.outerjoin(customers, customers.c.id == orders.c.customer_id))
    if external_id:
        query = query.where(func.lower(orders.c.external_id).like(_like(external_id), escape="\\"))
    if channel:
        query = query.where(orders.c.channel == channel)
    if status:
        query = query.where(orders.c.status.in_(list(status)))
    if kind:
        query = query.where(orders.c.kind == kind)
    if placed_before is not None:
        query = query.where(orders.c.placed_at < placed_before)
    if placed_after is not None:
        query = query.where(orders.c.placed_at >= placed_after)
    if before_seq is not None:
        query = query.where(orders.c.seq < before_seq)
    return [dict(r) for r in conn.execute(query.order_by(orders.c.seq.desc()).limit(limit)).mappings()]


def product_names(conn: Connection, sku_codes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """What a person calls each SKU: its style's name, its colour's name, its size (and fit)."""
    if not sku_codes:
        return {}
    rows = conn.execute(
        select(skus.c.sku, skus.c.colour, skus.c.size, skus.c.fit, styles.c.name, styles.c.colours)
        .join(styles, styles.c.code == skus.c.style_code)
        .where(skus.c.sku.in_(sorted(set(sku_codes))))
    ).mappings()
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        colours = {c.get("code"): c.get("name") for c in (r["colours"] or []) if isinstance(c, dict)}
        out[r["sku"]] = {
            "style": r["name"],
            "colour": colours.get(r["colour"]) or r["colour"],
            "size": r["size"],
            "fit": r["fit"],
        }
    return out


def order_items(conn: Connection, order_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The lines of these orders (one page of the queue) with their SKU and quantity, in line order."""
    if not order_ids:
        return {}
    rows = conn.execute(
        select(order_lines.c.order_id, order_lines.c.sku, order_lines.c.qty)
        .where(order_lines.c.order_id.in_(list(order_ids)))
        .order_by(order_lines.c.order_id, order_lines.c.line_no)
    ).mappings()
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["order_id"], []).append({"sku": r["sku"], "qty": int(r["qty"])})
    return out


def customer_name(conn: Connection, customer_id: str) -> dict[str, Any] | None:
    row = (
        conn.execute(select(customers.c.id, customers.c.name, customers.c.email).where(customers.c.id == customer_id))
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def order_trace(conn: Connection, order_id: str) -> str | None:
    row = conn.execute(select(orders.c.trace_id).where(orders.c.id == order_id)).first()
    return None if row is None else row[0]


def order_traces(conn: Connection, order_id: str) -> list[str]:
    """Every trace an order's life wrote under: the request that placed it, the checkout hold it came from
    (a web order's stock was reserved, and its availability pushed, by the hold), its movements (pick,
    returns) and its returns. Placing an order from a hold changes no availability, so its own trace alone
    finds no delivery."""
    found: list[str] = []
    row = conn.execute(select(orders.c.trace_id, orders.c.hold_id).where(orders.c.id == order_id)).first()
    if row is None:
        return found
    found.append(row.trace_id)
    if row.hold_id:
        found += [r[0] for r in conn.execute(select(holds.c.trace_id).where(holds.c.id == row.hold_id))]
    found += [r[0] for r in conn.execute(select(movements.c.trace_id).where(movements.c.document == order_id))]
    found += [r[0] for r in conn.execute(select(returns.c.trace_id).where(returns.c.order_id == order_id))]
    return list(dict.fromkeys(t for t in found if t))


def movements_of_document(conn: Connection, document: str, limit: int = 200) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(movements).where(movements.c.document == document).order_by(movements.c.id).limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


def deliveries_of_traces(conn: Connection, trace_ids: Sequence[str], limit: int = 200) -> list[dict[str, Any]]:
    """The deliveries of the events these business transactions caused (an order's availability pushes, its
    shipment notice)."""
    if not trace_ids:
        return []
    rows = conn.execute(
        select(
            deliveries.c.id,
            deliveries.c.subscriber,
            deliveries.c.status,
            deliveries.c.attempts,
            deliveries.c.last_error,
            deliveries.c.created_at,
            deliveries.c.delivered_at,
            deliveries.c.event_type,
            outbox_events.c.channel,
            outbox_events.c.payload,
        )
        .join(outbox_events, outbox_events.c.seq == deliveries.c.event_seq)
        .where(deliveries.c.trace_id.in_(list(trace_ids)))
        .order_by(deliveries.c.id)
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


# ---------------------------------------------------------------------- integration health over a window
def deliveries_since(conn: Connection, since: datetime) -> list[dict[str, Any]]:
    """Deliveries of events created since ``since``: status, attempts, and when delivered."""
    rows = conn.execute(
        select(
            deliveries.c.subscriber,
            deliveries.c.status,
            deliveries.c.attempts,
            deliveries.c.created_at,
            deliveries.c.delivered_at,
        ).where(deliveries.c.created_at >= since)
    ).mappings()
    return [dict(r) for r in rows]


def failure_reasons_since(
    conn: Connection, since: datetime, per_subscriber: int = 5
) -> dict[str, list[dict[str, Any]]]:
    """Failed attempts since ``since`` grouped by subscriber and reason, the most frequent first."""
    rows = conn.execute(
        select(
            delivery_failures.c.subscriber,
            delivery_failures.c.error,
            func.count().label("count"),
            func.max(delivery_failures.c.failed_at).label("last_at"),
        )
        .where(delivery_failures.c.failed_at >= since)
        .group_by(delivery_failures.c.subscriber, delivery_failures.c.error)
    ).mappings()
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(row["subscriber"], []).append(dict(row))
    return {k: sorted(v, key=lambda r: -int(r["count"]))[:per_subscriber] for k, v in out.items()}


def failure_truth(conn: Connection, last_success: dict[str, datetime | None]) -> dict[str, dict[str, Any]]:
    """Per subscriber, read from the rows and not from a window of the clock: failed attempts since its last
    success, its last failure, and how many of its deliveries were ever dead-lettered (still dead or
    replayed). A demo's business clock or a long quiet spell must not turn an outage into "ok"."""
    out: dict[str, dict[str, Any]] = {}
    for subscriber, last_failure, attempts in conn.execute(
        select(delivery_failures.c.subscriber, func.max(delivery_failures.c.failed_at), func.count()).group_by(
            delivery_failures.c.subscriber
        )
    ):
        out[subscriber] = {"last_failure_at": aggregate_time(last_failure), "failed_attempts": int(attempts)}
    for subscriber, row in out.items():
        since = last_success.get(subscriber)
        query = select(func.count()).where(delivery_failures.c.subscriber == subscriber)
        if since is not None:
            query = query.where(delivery_failures.c.failed_at > since)
        row["failures_since_success"] = int(conn.execute(query).scalar_one())
    for subscriber, count in conn.execute(
        select(deliveries.c.subscriber, func.count())
        .where(or_(deliveries.c.status == "dead", deliveries.c.replays > 0))
        .group_by(deliveries.c.subscriber)
    ):
        out.setdefault(subscriber, {"last_failure_at": None, "failed_attempts": 0, "failures_since_success": 0})
        out[subscriber]["ever_dead"] = int(count)
    return out


def failure_reasons_between(
    conn: Connection, subscriber: str, since: datetime, per_subscriber: int = 5
) -> list[dict[str, Any]]:
    """One subscriber's failed attempts from ``since`` on, grouped by reason, the most frequent first."""
    rows = conn.execute(
        select(
            delivery_failures.c.error,
            func.count().label("count"),
            func.max(delivery_failures.c.failed_at).label("last_at"),
        )
        .where(delivery_failures.c.subscriber == subscriber, delivery_failures.c.failed_at >= since)
        .group_by(delivery_failures.c.error)
        .order_by(func.count().desc())
        .limit(per_subscriber)
    ).mappings()
    return [{**dict(r), "last_at": aggregate_time(r["last_at"])} for r in rows]


# ---------------------------------------------------------------------- exceptions and variances
def count_variances(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    """Counted lines that differ from the stock on hand when they were entered, newest count first."""
    rows = conn.execute(
        select(
            counts.c.id,
            counts.c.location,
            counts.c.status,
            counts.c.started_at,
            counts.c.posted_at,
            count_lines.c.sku,
            count_lines.c.expected,
            count_lines.c.on_hand_at_entry,
            count_lines.c.counted,
        )
        .join(count_lines, count_lines.c.count_id == counts.c.id)
        .where(
            count_lines.c.counted.is_not(None),
            count_lines.c.counted != func.coalesce(count_lines.c.on_hand_at_entry, count_lines.c.expected, 0),
            counts.c.status != "cancelled",
        )
        .order_by(counts.c.started_at.desc(), count_lines.c.sku)
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


def last_till_sales(conn: Connection) -> dict[str, dict[str, Any]]:
    """Per store: when its last till sale was received and how many there are, whether the till posted
    sales one by one (POS orders) or in batches. A till that sells is a till heard from."""
    out: dict[str, dict[str, Any]] = {}
    for location, last, count in conn.execute(
        select(orders.c.location, func.max(orders.c.placed_at), func.count())
        .where(orders.c.kind == "pos", orders.c.location.is_not(None))
        .group_by(orders.c.location)
    ):
        out[location] = {"last_sale_at": aggregate_time(last), "sales": int(count)}
    for location, last, count in conn.execute(
        select(till_batches.c.location, func.max(till_batches.c.received_at), func.sum(till_batches.c.sales)).group_by(
            till_batches.c.location
        )
    ):
        row = out.setdefault(location, {"last_sale_at": None, "sales": 0})
        at = aggregate_time(last)
        if at is not None and (row["last_sale_at"] is None or at > row["last_sale_at"]):
            row["last_sale_at"] = at
        row["batched_sales"] = int(count or 0)
    return out


# ---------------------------------------------------------------------- cumulative counters for KPIs
def sold_units_after(conn: Connection, after_id: int) -> tuple[int, int]:
    """Units sold in movements after ``after_id``, and the last movement id seen (an incremental scan)."""
    last = conn.execute(select(func.max(movements.c.id))).scalar_one_or_none()
    if last is None or int(last) <= after_id:
        return after_id, 0
    units = conn.execute(
        select(func.coalesce(func.sum(movements.c.qty), 0)).where(
            and_(movements.c.id > after_id, movements.c.id <= last, movements.c.kind.in_(SOLD_KINDS))
        )
    ).scalar_one()
    return int(last), int(units)


def oversold_units_total(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.sum(oversell_exceptions.c.units), 0))).scalar_one())


def failed_attempts_after(conn: Connection, after_id: int) -> tuple[int, int]:
    """Failed delivery attempts after ``after_id``, and the last failure id seen."""
    row = conn.execute(
        select(func.count(), func.max(delivery_failures.c.id)).where(delivery_failures.c.id > after_id)
    ).first()
    assert row is not None
    return (int(row[1]) if row[1] is not None else after_id), int(row[0])


def channel_list(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(channels.c.code, channels.c.kind, channels.c.sources).order_by(channels.c.code)
    ).mappings()
    return [{"code": r["code"], "kind": r["kind"], "sources": list(r["sources"])} for r in rows]


def settlement_variances(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    """Variances of closed store days (counted cash over/short, card processor against the till), newest day
    first, as frozen in each settlement's figures at close."""
    rows = conn.execute(
        select(settlements.c.store, settlements.c.business_date, settlements.c.figures)
        .where(settlements.c.status == "closed")
        .order_by(settlements.c.business_date.desc(), settlements.c.store)
        .limit(limit)
    )
    out: list[dict[str, Any]] = []
    for row in rows:
        for variance in (row.figures or {}).get("variances", []):
            out.append({"store": row.store, "business_date": row.business_date.isoformat(), **variance})
    return out[:limit]


def waiting_messages(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    """Inbound messages that need a person or are waiting for something (held, failed), oldest first:
    what each is about, why it waits and since when. Without their bodies."""
    c = inbox_messages.c
    rows = conn.execute(
        select(c.id, c.source, c.message_type, c.external_id, c.status, c.reason, c.waiting_for, c.received_at)
        .where(c.status.in_(("held", "failed")))
        .order_by(c.id)
        .limit(limit)
    )
    return [dict(r) for r in rows.mappings()]
