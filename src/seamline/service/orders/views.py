"""Reading the order queue: orders, returns and oversell exceptions, as the API's JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, NotRequired, TypedDict

from sqlalchemy import Connection

from seamline.domain.clock import iso_utc
from seamline.domain.errors import FieldError, InvalidInput, NotFound
from seamline.domain.money import minor_exponent
from seamline.orders.model import LineState, OrderKind, OrderStatus
from seamline.service.orders.common import OrderPart, Problems, unknown_order
from seamline.service.repositories import STORE, Repositories
from seamline.store import ledger_repo, orders_repo


class OrderLineView(TypedDict):
    line_no: int
    sku: str
    qty: int
    unit_price: str
    allocated: int
    backordered: int
    picked: int
    packed: int
    shipped: int
    cancelled: int
    returned: int


class OrderView(TypedDict):
    """An order as the API answers it (``OrderOut``)."""

    id: str
    channel: str
    external_id: str
    kind: str
    status: str
    currency: str
    total: str
    customer_id: str | None
    location: str | None
    price_tier: str | None
    ship_window: dict[str, str | None] | None
    prebook: bool
    tracking: str | None
    hold_id: str | None
    exchange_of: str | None
    placed_at: str
    occurred_at: str
    updated_at: str
    lines: list[OrderLineView]
    tenders: list[dict[str, str]]
    commerce: dict[str, Any] | None
    #: Units already picked of a cancelled order: bringing them back is a return.
    awaiting_return: NotRequired[list[dict[str, Any]]]
    #: With the order read whole (``read_order_view``), not in a list.
    allocations: NotRequired[list[dict[str, Any]]]
    returns: NotRequired[list[str]]
    #: On the answer of a line cancellation (``service.line_cancellations``): the units it just cancelled.
    cancellation: NotRequired[dict[str, Any]]


class ReturnView(TypedDict):
    """A return as the API answers it (``ReturnOut``)."""

    id: str
    order_id: str
    location: str
    currency: str
    lines: list[dict[str, Any]]
    refund: dict[str, Any]
    exchange_order_id: str | None
    created_at: str
    channel_refund: dict[str, Any] | None
    #: Gift cards the refund went back to or was issued on (``service.giftcards``), on the return's answer.
    gift_cards: NotRequired[list[dict[str, Any]]]


class ExceptionView(TypedDict):
    """An oversell exception; ``still_short`` when listed (how short its row is now)."""

    id: int
    sku: str
    location: str
    units: int
    cause: str
    document: str
    movement_id: int
    short_allocations: list[dict[str, Any]]
    created_at: str
    still_short: NotRequired[int]


#: An exchange: its return and the new order it paid for.
ExchangeView = TypedDict("ExchangeView", {"return": ReturnView, "order": OrderView})


class OrderViews(OrderPart):
    def get_order(self, order_id: str) -> OrderView:
        def work(conn: Connection) -> OrderView:
            if orders_repo.get_order(conn, order_id) is None:
                raise unknown_order(order_id, in_body=False)
            return read_order_view(conn, order_id)

        return self.app.read(work)

    def list_orders(
        self,
        *,
        channel: str | None = None,
        status: Sequence[str] | None = None,
        kind: str | None = None,
        customer_id: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> tuple[list[OrderView], str | None]:
        """One queue for the warehouse, sales and finance alike: oldest first, ``cursor`` continues a page."""
        problems = Problems()
        for value in status or ():
            if value not in {s.value for s in OrderStatus}:
                problems.add(FieldError("status", f"{value!r} is not an order status"))
        if kind is not None and kind not in {k.value for k in OrderKind}:
            problems.add(FieldError("kind", f"{kind!r} is not an order kind"))
        after = None
        if cursor is not None:
            if not cursor.isdigit():
                problems.add(FieldError("cursor", "is not a cursor this API gave out"))
            else:
                after = int(cursor)
        problems.raise_if_any("bad query")
        rows = self.app.read(
            lambda conn: orders_repo.list_orders(
                conn,
                channel=channel,
                status=status,
                kind=kind,
                customer_id=customer_id,
                after_seq=after,
                limit=limit,
            )
        )
        next_cursor = str(rows[-1]["seq"]) if len(rows) == limit else None
        return [order_view(r) for r in rows], next_cursor

    def get_return(self, return_id: str) -> ReturnView:
        row = self.app.read(lambda conn: orders_repo.get_return(conn, return_id))
        if row is None:
            raise NotFound(f"no return {return_id}", code="unknown-return")
        return return_view(row)

    def exceptions(
        self, *, sku: str | None = None, location: str | None = None, cursor: str | None = None, limit: int = 100
    ) -> tuple[list[ExceptionView], str | None]:
        """Oversell exceptions, oldest first, each with how short its row still is now."""
        if cursor is not None and not cursor.isdigit():
            raise InvalidInput("bad query", [FieldError("cursor", "is not a cursor this API gave out")])

        def work(conn: Connection) -> list[ExceptionView]:
            rows = orders_repo.list_exceptions(
                conn, sku=sku, location=location, after_id=int(cursor) if cursor else None, limit=limit
            )
            out = []
            for row in rows:
                view = exception_view(row)
                view["still_short"] = max(0, -ledger_repo.available_at(conn, row["sku"], row["location"]))
                out.append(view)
            return out

        items = self.app.read(work)
        return items, (str(items[-1]["id"]) if len(items) == limit else None)


def read_order_view(conn: Connection, order_id: str, repos: Repositories = STORE) -> OrderView:
    order = repos.orders.get_order(conn, order_id)
    assert order is not None
    view = order_view(order)
    view["allocations"] = repos.ledger.document_allocations(conn, order_id)
    view["returns"] = repos.orders.returns_of(conn, order_id)
    return view


def read_return_view(conn: Connection, return_id: str, repos: Repositories = STORE) -> ReturnView:
    row = repos.orders.get_return(conn, return_id)
    assert row is not None
    return return_view(row)


def _money(value: Decimal, currency: str) -> str:
    return str(value.quantize(Decimal(1).scaleb(-minor_exponent(currency))))


def order_view(order: Mapping[str, Any]) -> OrderView:
    currency = order["currency"]
    lines: list[LineState] = order["lines"]
    view: OrderView = {
        "id": order["id"],
        "channel": order["channel"],
        "external_id": order["external_id"],
        "kind": order["kind"],
        "status": order["status"],
        "currency": currency,
        "total": _money(orders_repo.money(order["total"], currency), currency),
        "customer_id": order["customer_id"],
        "location": order["location"],
        "price_tier": order["price_tier"],
        "ship_window": (
            {
                "start": order["ship_start"].isoformat() if order["ship_start"] else None,
                "cancel": order["cancel_date"].isoformat() if order["cancel_date"] else None,
            }
            if order["ship_start"] or order["cancel_date"]
            else None
        ),
        "prebook": bool(order["prebook"]),
        "tracking": order["tracking"],
        "hold_id": order["hold_id"],
        "exchange_of": order["exchange_of"],
        "placed_at": iso_utc(order["placed_at"]),
        "occurred_at": iso_utc(order["occurred_at"]),
        "updated_at": iso_utc(order["updated_at"]),
        "lines": [
            {
                "line_no": line.line_no,
                "sku": line.sku,
                "qty": line.qty,
                "unit_price": _money(line.unit_price, currency),
                "allocated": line.allocated,
                "backordered": line.backordered if order["status"] != OrderStatus.CANCELLED.value else 0,
                "picked": line.picked,
                "packed": line.packed,
                "shipped": line.shipped,
                "cancelled": line.cancelled,
                "returned": line.returned,
            }
            for line in lines
        ],
        "tenders": [{"type": kind, "amount": _money(amount, currency)} for kind, amount in order["tenders"]],
        "commerce": order.get("commerce"),
    }
    if order["status"] == OrderStatus.CANCELLED.value:
        view["awaiting_return"] = [
            {"sku": line.sku, "qty": line.picked - line.returned} for line in lines if line.picked > line.returned
        ]
    return view


def return_view(row: Mapping[str, Any]) -> ReturnView:
    currency = row["currency"]
    return {
        "id": row["id"],
        "order_id": row["order_id"],
        "location": row["location"],
        "currency": currency,
        "lines": [
            {
                "sku": line["sku"],
                "qty": line["qty"],
                "condition": line["condition"],
                "order_line_no": line["order_line_no"],
                "amount": _money(line["amount"], currency),
            }
            for line in row["lines"]
        ],
        "refund": {
            "total": _money(row["refund_total"], currency),
            "currency": currency,
            "tenders": [{"tender": tender, "amount": _money(amount, currency)} for tender, amount in row["refunds"]],
        },
        "exchange_order_id": row["exchange_order_id"],
        "created_at": iso_utc(row["created_at"]),
        "channel_refund": row.get("commerce"),
    }


def exception_view(row: Mapping[str, Any]) -> ExceptionView:
    return {
        "id": row["id"],
        "sku": row["sku"],
        "location": row["location"],
        "units": row["units"],
        "cause": row["cause"],
        "document": row["document"],
        "movement_id": row["movement_id"],
        "short_allocations": list(row["short_allocations"]),
        "created_at": iso_utc(row["created_at"]),
    }
