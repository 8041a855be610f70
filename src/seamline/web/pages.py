"""What each dashboard page shows, as plain data for its template. Reads go through the service, the
integration layer and ``store.dashboard_repo``; nothing here writes except the operator's replay."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from seamline.domain.errors import FieldError, InvalidInput, SeamlineError
from seamline.integration import deadletters, tracing
from seamline.ledger import SELLABLE_KINDS, LocationKind
from seamline.orders.model import OrderStatus
from seamline.orders.returns import ReturnRequestLine
from seamline.service import Principal
from seamline.service.costing import Costing
from seamline.service.finance import FinanceDesk
from seamline.service.giftcards import GiftCardDesk
from seamline.service.orders import OrderDesk, ReturnRequest
from seamline.service.tills import TillDesk
from seamline.store import dashboard_repo, giftcard_repo, revaluation_repo
from seamline.web.charts import Sparkline, sparkline
from seamline.web.kpis import LAG_WINDOW, KpiSample, percentile

if TYPE_CHECKING:
    from seamline.web.dashboard import Dashboard

STYLES_PER_PAGE = 40
ORDERS_PER_PAGE = 50
DEAD_LETTERS_SHOWN = 50
FAILURE_WINDOW = timedelta(hours=1)
#: Age filters of the order queue: label, placed at or after (now - younger), placed before (now - older).
AGE_FILTERS: dict[str, tuple[str, timedelta | None, timedelta | None]] = {
    "": ("any age", None, None),
    "15m": ("placed in the last 15 min", timedelta(minutes=15), None),
    "1h": ("placed in the last hour", timedelta(hours=1), None),
    "gt1h": ("waiting over an hour", None, timedelta(hours=1)),
    "gt1d": ("waiting over a day", None, timedelta(days=1)),
}


def parse_iso(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


# ---------------------------------------------------------------------- integration health
def subscriber_state(
    *, dead_letters: int, failures_since_success: int, pending_wall_seconds: float, recovered: bool
) -> tuple[str, str]:
    """A connector's state and the words on its card, from what is outstanding (dead letters, attempts
    failed since its last success), never from how long ago on some clock the failures happened."""
    if dead_letters:
        return "failing", f"failing: {dead_letters:,} dead letter{'' if dead_letters == 1 else 's'}"
    if failures_since_success:
        n = failures_since_success
        return "failing", f"failing: {n:,} failed attempt{'' if n == 1 else 's'} since the last success"
    if pending_wall_seconds > 30:
        return "lagging", "lagging"
    if recovered:
        return "recovered", "recovered"
    return "ok", "ok"


def integration_health(d: Dashboard) -> dict[str, Any]:
    service, integration = d.service, d.integration
    status = integration.status()
    now = service.clock.now()
    last_success = {s["name"]: parse_iso(s["last_success_at"]) for s in status["subscribers"]}

    def reads(conn: Any) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        truth = dashboard_repo.failure_truth(conn, last_success)
        reasons = {  # the subscriber's last incident: the hour of failures up to its last failure
            name: dashboard_repo.failure_reasons_between(conn, name, row["last_failure_at"] - FAILURE_WINDOW)
            for name, row in truth.items()
            if row["last_failure_at"] is not None
        }
        return dashboard_repo.deliveries_since(conn, now - LAG_WINDOW), truth, reasons

    recent, truth, reasons = service.read(reads)
    lags: dict[str, list[float]] = defaultdict(list)
    delivered: dict[str, int] = defaultdict(int)
    for row in recent:
        if row["status"] == "delivered" and row["delivered_at"] is not None:
            delivered[row["subscriber"]] += 1
            lags[row["subscriber"]].append(max(0.0, d.wall_seconds(row["created_at"], row["delivered_at"])))
    dead = deadletters.list_dead(integration, limit=DEAD_LETTERS_SHOWN)
    window_minutes = LAG_WINDOW.total_seconds() / 60
    subscribers = []
    for sub in status["subscribers"]:
        name = sub["name"]
        last_ok = last_success[name]
        heartbeat = parse_iso(sub["heartbeat_at"])
        pending_for = d.wall_seconds(now - timedelta(seconds=sub["lag_seconds"]), now)
        facts = truth.get(name, {})
        last_failure = facts.get("last_failure_at")
        since_success = int(facts.get("failures_since_success", 0))
        state, headline = subscriber_state(
            dead_letters=int(sub["dead_letters"]),
            failures_since_success=since_success,
            pending_wall_seconds=pending_for,
            recovered=last_failure is not None or bool(facts.get("ever_dead")),
        )
        subscribers.append(
            {
                **sub,
                "state": state,
                "headline": headline,
                "failures_since_success": since_success,
                "ever_dead": int(facts.get("ever_dead", 0)),
                "last_failure_at": last_failure,
                "last_failure_ago": None if last_failure is None else max(0.0, (now - last_failure).total_seconds()),
                "last_success_ago": None if last_ok is None else max(0.0, (now - last_ok).total_seconds()),
                "heartbeat_ago": None if heartbeat is None else (now - heartbeat).total_seconds(),
                "lag_p50": percentile(lags[name], 0.5),
                "lag_p99": percentile(lags[name], 0.99),
                "pending_wall_seconds": pending_for,
                "throughput_per_minute": delivered[name] / window_minutes,
                "reasons": reasons.get(name, []),
            }
        )
    channels = []
    for view in service.list_channels():
        wiring = None if d.wiring is None else d.wiring.state(view["code"], view["kind"], view["settings"])
        channels.append({"code": view["code"], "kind": view["kind"], "wiring": wiring})
    return {
        "now": now,
        "transport": status["transport"],
        "channels": channels,
        "subscribers": subscribers,
        "inbox": status["inbox"],
        "dead_total": sum(s["dead_letters"] for s in status["subscribers"]),
        "dead": dead,
        "dead_shown": len(dead),
        "window_minutes": window_minutes,
    }


def replay_dead_letter(d: Dashboard, delivery_id: int) -> dict[str, Any]:
    return deadletters.replay_one(d.integration, delivery_id)


def replay_subscriber(d: Dashboard, subscriber: str) -> list[int]:
    return deadletters.replay_matching(d.integration, subscriber=subscriber)


# ---------------------------------------------------------------------- stock
def style_list(d: Dashboard, search: str | None, after: str | None) -> dict[str, Any]:
    sellable = [loc["code"] for loc in d.service.list_locations() if LocationKind(loc["kind"]) in SELLABLE_KINDS]

    def read(conn: Any) -> dict[str, Any]:
        rows = dashboard_repo.style_page(conn, search=search, after=after, limit=STYLES_PER_PAGE + 1)
        page = rows[:STYLES_PER_PAGE]
        totals = dashboard_repo.style_stock_totals(conn, [r["code"] for r in page], sellable)
        for row in page:
            row.update(totals.get(row["code"], {"on_hand": 0, "committed": 0}))
        return {"styles": page, "next_after": page[-1]["code"] if len(rows) > STYLES_PER_PAGE else None}

    return d.service.read(read)


def style_grid(d: Dashboard, code: str) -> dict[str, Any]:
    """A style's colour x size grids: one per physical location and a total, and one per channel with its
    available-to-promise and what each subscriber last published there."""
    service = d.service
    style = service.get_style(code)
    variants = style.sorted_variants()
    colour_names = {c.code: c.name for c in style.colours}
    sizes = [s for s in style.size_scale if any(v.size == s for v in variants)]
    rows: list[dict[str, Any]] = []
    sku_at: dict[str, str] = {}
    for v in variants:
        key = f"{v.colour}|{v.fit or ''}"
        if not any(r["key"] == key for r in rows):
            rows.append({"key": key, "colour": v.colour, "name": colour_names.get(v.colour, v.colour), "fit": v.fit})
        sku_at[f"{key}/{v.size}"] = v.sku
    rank = {"warehouse": 0, "threepl": 1, "store": 2}
    locations = sorted(
        (loc for loc in service.list_locations() if not loc["virtual"]),
        key=lambda loc: (rank.get(loc["kind"], 3), loc["code"]),
    )
    by_location: dict[str, dict[str, Mapping[str, Any]]] = defaultdict(dict)
    total: dict[str, dict[str, int]] = defaultdict(
        lambda: {"on_hand": 0, "committed": 0, "reserved": 0, "available": 0}
    )
    for row in service.stock(style=code):
        by_location[row["location"]][row["sku"]] = row
        if row["sellable"]:
            for name in ("on_hand", "committed", "reserved", "available"):
                total[row["sku"]][name] += row[name]
    channels = service.read(dashboard_repo.channel_list)
    published = service.read(lambda conn: dashboard_repo.published_for(conn, [v.sku for v in variants]))
    shown: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for entry in published:
        shown[entry["channel"]][entry["sku"]].append(entry)
    channel_grids = []
    for channel in channels:
        items, _ = service.availability(channel["code"], style=code)
        cells = {}
        for item in items:
            pubs = shown[channel["code"]].get(item["sku"], [])
            cells[item["sku"]] = {
                **item,
                "published": [{"subscriber": p["subscriber"], "available": p["available"]} for p in pubs],
                "in_sync": all(p["available"] == item["available"] for p in pubs),
            }
        pushed_by = sorted({p["subscriber"] for pubs in shown[channel["code"]].values() for p in pubs})
        channel_grids.append({**channel, "cells": cells, "pushed_by": pushed_by})
    return {
        "style": style,
        "sizes": sizes,
        "rows": rows,
        "sku_at": sku_at,
        "locations": [{**loc, "cells": by_location.get(loc["code"], {})} for loc in locations],
        "total": dict(total),
        "channels": channel_grids,
        "prepacks": [{"sku": p.sku, "units": p.units} for p in style.prepacks],
    }


def cell_history(d: Dashboard, sku: str, location: str | None) -> dict[str, Any]:
    service = d.service
    info = service.get_sku(sku)
    if location is not None:
        service.get_location(location)
    stock = [row for row in service.stock(sku=sku) if location is None or row["location"] == location]
    return {
        "sku": info,
        "location": location,
        "stock": stock,
        "movements": service.movements_of(sku, location, limit=200),
    }


# ---------------------------------------------------------------------- orders
def order_list(
    d: Dashboard,
    *,
    channel: str | None,
    status: str | None,
    kind: str | None,
    age: str,
    before: int | None,
    search: str | None = None,
) -> dict[str, Any]:
    now = d.service.clock.now()
    _, younger, older = AGE_FILTERS.get(age, AGE_FILTERS[""])

    def read(conn: Any) -> dict[str, Any]:
        rows = dashboard_repo.order_page(
            conn,
            channel=channel or None,
            status=[status] if status else None,
            kind=kind or None,
            placed_after=None if younger is None else now - younger,
            placed_before=None if older is None else now - older,
            before_seq=before,
            external_id=search or None,
            limit=ORDERS_PER_PAGE + 1,
        )
        page = rows[:ORDERS_PER_PAGE]
        items = dashboard_repo.order_items(conn, [r["id"] for r in page])
        names = dashboard_repo.product_names(conn, [i["sku"] for lines in items.values() for i in lines])
        for row in page:
            row["age_seconds"] = (now - row["placed_at"]).total_seconds()
            row["items"] = [{**i, **names.get(i["sku"], {})} for i in items.get(row["id"], [])]
        return {
            "orders": page,
            "next_before": page[-1]["seq"] if len(rows) > ORDERS_PER_PAGE else None,
            "channels": dashboard_repo.order_channels(conn),
        }

    out = d.service.read(read)
    out["statuses"] = [s.value for s in OrderStatus]
    out["ages"] = {k: label for k, (label, _, _) in AGE_FILTERS.items()}
    return out


def product_label(names: dict[str, Any]) -> str:
    """ "Rust overshirt, Rust, M": how a person names a SKU (empty when the SKU is unknown)."""
    parts = [names.get("style"), names.get("colour"), names.get("size"), names.get("fit")]
    return ", ".join(str(p) for p in parts if p)


def order_detail(d: Dashboard, order_id: str) -> dict[str, Any]:
    order = OrderDesk(d.service).get_order(order_id)

    def read(conn: Any) -> dict[str, Any]:
        names = dashboard_repo.product_names(conn, [line["sku"] for line in order["lines"]])
        customer_id = order["customer_id"]
        customer = dashboard_repo.customer_name(conn, customer_id) if customer_id else None
        trace = dashboard_repo.order_trace(conn, order_id)
        deliveries = dashboard_repo.deliveries_of_traces(conn, dashboard_repo.order_traces(conn, order_id))
        for row in deliveries:
            done = row["delivered_at"]
            row["lag"] = None if done is None else max(0.0, d.wall_seconds(row["created_at"], done))
        return {
            "trace_id": trace,
            "movements": dashboard_repo.movements_of_document(conn, order_id),
            "deliveries": deliveries,
            "products": {sku: product_label(n) for sku, n in names.items()},
            "customer": customer,
        }

    return {"order": order, **d.service.read(read), "actions": available_actions(order)}


def available_actions(order: Mapping[str, Any]) -> list[str]:
    """The steps the order's lines allow now; the service still checks each one when it is taken."""
    lines = order["lines"]
    status = order["status"]
    found = []
    if any(line["allocated"] > 0 for line in lines):
        found.append("pick")
    if any(line["picked"] > line["packed"] for line in lines):
        found.append("pack")
    if any(line["packed"] > line["shipped"] for line in lines):
        found.append("ship")
    if status not in ("shipped", "cancelled", "closed") and any(
        line["qty"] - line["picked"] - line["cancelled"] > 0 for line in lines
    ):
        found.append("cancel")
    if any(line["picked"] - line["returned"] > 0 for line in lines):
        found.append("return")
    return found


def in_words(exc: SeamlineError) -> str:
    """A refusal as a sentence: the service's detail and, for bad input, what is wrong with which field."""
    fields = getattr(exc, "errors", None) or []
    extra = "; ".join(f"{f.field}: {f.message}" for f in fields)
    return f"Not done: {exc.detail}" + (f" ({extra})" if extra else "") + "."


@dataclass(frozen=True)
class OrderAction:
    """A step taken from the order page: what the form asked for."""

    action: str
    tracking: str | None = None
    sku: str | None = None
    qty: int | None = None
    location: str | None = None
    condition: str = "sellable"
    refund_tender: str | None = None


def take_order_action(d: Dashboard, principal: Principal, order_id: str, step: OrderAction) -> str:
    """Run the same service command as the API's step (pick, pack, ship, cancel, return with its refund)
    for a principal allowed to act on the order, and say what happened in words. Errors are raised as the
    service's (shown by the page in words)."""
    desk = OrderDesk(d.service)
    order = desk.get_order(order_id)
    if not principal.has_channel(order["channel"]):
        sold_at = [order["location"]] if order["location"] else []
        locations = sorted({a["location"] for a in order.get("allocations", [])} | set(sold_at))
        principal.require_location_for_all(list(locations))
    name = f"{order['channel']} order {order['external_id']}"
    with tracing.traced(tracing.new_trace_id()) as trace:
        if step.action == "pick":
            done = d.service.write(lambda uow: desk.pick(uow, order_id, None, trace_id=trace))
            return f"Picked {name}: every allocated unit left its location; the order is {done['status']}."
        if step.action == "pack":
            done = d.service.write(lambda uow: desk.pack(uow, order_id))
            return f"Packed {name}; the order is {done['status']}."
        if step.action == "ship":
            done = d.service.write(lambda uow: desk.ship(uow, order_id, step.tracking))
            tracked = f" with tracking {step.tracking}" if step.tracking else " without a tracking number"
            return f"Shipped {name}{tracked}; the order is {done['status']}."
        if step.action == "cancel":
            done = d.service.write(lambda uow: desk.cancel(uow, order_id))
            return f"Cancelled {name}: what was not picked went back to available; the order is {done['status']}."
        if step.action == "return":
            if not step.sku or not step.qty or not step.location:
                raise InvalidInput(
                    "a return needs the SKU, how many units and where they came back",
                    [
                        FieldError(f, "required")
                        for f, v in (("sku", step.sku), ("qty", step.qty), ("location", step.location))
                        if not v
                    ],
                )
            principal.require_location(step.location)
            req = ReturnRequest(
                order_id=order_id,
                location=step.location,
                lines=[ReturnRequestLine(step.sku, step.qty, step.condition)],
                refund_tender=step.refund_tender or None,
            )
            returned = d.service.write(lambda uow: desk.record_return(uow, req, trace_id=trace))
            refund = returned["refund"]
            amount = refund.get("amount") or refund.get("total")
            money = f"; refunded {amount} {order['currency']}" if amount is not None else ""
            return f"Took back {step.qty} × {step.sku} at {step.location} ({step.condition}){money}."
    raise InvalidInput(f"unknown action {step.action!r}", [FieldError("action", "pick, pack, ship, cancel or return")])


# ---------------------------------------------------------------------- exceptions and reconciliation
def exceptions_view(d: Dashboard, *, force_reconcile: bool = False) -> dict[str, Any]:
    oversells, next_cursor = OrderDesk(d.service).exceptions(limit=100)
    ran_at, report = d.reconcile(force=force_reconcile)
    return {
        "oversells": list(reversed(oversells)),
        "more_oversells": next_cursor is not None,
        "oversold_total": sum(e["units"] for e in oversells),
        "drift": d.drift.recent(),
        "variances": d.service.read(dashboard_repo.count_variances),
        "settlement_variances": d.service.read(dashboard_repo.settlement_variances),
        "tills": till_catalog(d),
        "waiting_messages": d.service.read(dashboard_repo.waiting_messages),
        "reconcile": report,
        "reconciled_at": ran_at,
        "finance_holds": FinanceDesk(d.service).holds(),
        "gift_cards": gift_cards_view(d),
        "at_cost": at_cost_view(d),
    }


def at_cost_view(d: Dashboard, limit: int = 20) -> dict[str, Any]:
    """Stock waiting for a cost (units held at a unit cost of 0: valued at nothing until a standard cost or a
    receipt at cost revalues them) and the latest revaluations, for a finance lead."""
    rows, units = d.service.read(lambda conn: revaluation_repo.rows_at_nothing(conn, limit))
    return {"rows": rows, "units": units, "revaluations": Costing(d.service).revaluations(limit=limit)}


def gift_cards_view(d: Dashboard, limit: int = 50) -> dict[str, Any]:
    """The latest gift cards (codes masked but for the last four), the open liability per currency, and
    whether the journal's liability agrees with the cards (``GiftCardDesk.liability_differences``)."""
    desk, finance = GiftCardDesk(d.service), FinanceDesk(d.service)
    differences, checked = d.service.read(lambda conn: desk.liability_differences(conn, finance.config(conn)))
    cards = desk.cards(limit=limit)
    open_by_currency: dict[str, Decimal] = defaultdict(Decimal)
    for card in d.service.read(giftcard_repo.all_cards):
        open_by_currency[card["currency"]] += card["balance"]
    return {
        "cards": [{k: v for k, v in card.items() if k != "code"} for card in cards],
        "open": {cur: str(amount) for cur, amount in sorted(open_by_currency.items()) if amount},
        "checked": checked,
        "differences": [diff.as_json() for diff in differences],
    }


def till_catalog(d: Dashboard) -> dict[str, Any]:
    """Stores and their tills' catalog: ``behind`` only when a till acknowledged an older version; a store
    whose tills sell but never acknowledged is ``unacknowledged`` with its last sale, not "no till heard
    from"; ``silent`` when neither a sale nor an acknowledgement came in."""
    status = TillDesk(d.service).catalog_status()
    sales = d.service.read(dashboard_repo.last_till_sales)
    now = d.service.clock.now()
    for item in status["items"]:
        heard = sales.get(item["location"], {})
        last = heard.get("last_sale_at")
        item["sales"] = int(heard.get("sales", 0)) + int(heard.get("batched_sales", 0))
        item["last_sale_at"] = last
        item["last_sale_ago"] = None if last is None else max(0.0, (now - last).total_seconds())
        if item["tills"]:
            item["state"] = "behind" if any(t["behind"] for t in item["tills"]) else "current"
        else:
            item["state"] = "unacknowledged" if last is not None else "silent"
        item["behind"] = item["state"] == "behind"
    return status


# ---------------------------------------------------------------------- KPIs
def _chart(samples: Sequence[KpiSample], start: datetime, end: datetime, values: list[float | None]) -> Sparkline:
    return sparkline(list(zip([s.at for s in samples], values, strict=True)), start=start, end=end)


def kpi_view(d: Dashboard) -> dict[str, Any]:
    d.kpis.fresh()
    samples = d.kpis.samples()
    if not samples:
        return {"latest": None}
    latest = samples[-1]
    end = latest.at
    start = end - timedelta(hours=1)
    sold_hour = sum(s.sold_units for s in samples)
    oversold_hour = sum(s.oversold_units for s in samples)
    rate = [None if s.oversell_rate is None else 100 * s.oversell_rate for s in samples]
    return {
        "latest": latest,
        "start": start,
        "end": end,
        "sold_hour": sold_hour,
        "oversold_hour": oversold_hour,
        "oversell_rate_hour": None if sold_hour == 0 else oversold_hour / sold_hour,
        "oversell_rate_total": None if latest.sold_total == 0 else latest.oversold_total / latest.sold_total,
        "charts": {
            "oversell": _chart(samples, start, end, rate),
            "sold": _chart(samples, start, end, [float(s.sold_units) for s in samples]),
            "lag_p50": _chart(samples, start, end, [s.lag_p50 for s in samples]),
            "lag_p99": _chart(samples, start, end, [s.lag_p99 for s in samples]),
            "posting": _chart(
                samples, start, end, [None if s.posting_success is None else 100 * s.posting_success for s in samples]
            ),
            "dlq": _chart(samples, start, end, [float(s.dead_letters) for s in samples]),
            "dlq_age": _chart(
                samples,
                start,
                end,
                [None if s.dead_letter_oldest_seconds is None else s.dead_letter_oldest_seconds / 60 for s in samples],
            ),
        },
        "samples": len(samples),
    }
