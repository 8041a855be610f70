"""The wholesale B2B portal and rep API (issue 7), and the inbound supply pre-books are promised from.

Who may call: a token with ``account:<code>`` acts for that account (a sales rep's token lists each account
they serve); a token of the account's wholesale channel (``channel:<code>``, a B2B platform) acts for every
account on that channel; admin for all. Accounts and supply are managed by admin tokens.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field, StringConstraints

from seamline.api.bodies import JsonRoute
from seamline.api.deps import principal, service, trace_id
from seamline.api.order_schemas import CustomerIn, ShipWindowIn
from seamline.api.routes.common import PROBLEMS, put_status, run_command
from seamline.api.schemas import Code, Qty
from seamline.api.schemas import Request as RequestModel
from seamline.service import Principal
from seamline.service.b2b import PortalLine, PortalOrder, SupplyDocument, WholesalePortal
from seamline.service.customers import ContactRequest
from seamline.service.unit_of_work import UnitOfWork

router = APIRouter(
    prefix="/v1", tags=["wholesale"], responses=PROBLEMS, route_class=JsonRoute, strict_content_type=False
)

AccountCode = Annotated[str, Path(min_length=1, max_length=64)]
Reference = Annotated[str, Path(min_length=1, max_length=100)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class AccountIn(RequestModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    channel: Code
    price_tier: Code = "wholesale"
    currency: Currency
    allow_prebook: bool = False
    active: bool = True
    #: Net days: the account's invoices are due this long after they are raised (None: the books' default).
    payment_terms_days: Annotated[int, Field(ge=0, le=365)] | None = None


class PortalLineIn(RequestModel):
    sku: Code
    qty: Qty


class PortalOrderIn(RequestModel):
    # The queue keeps "<account>/<po>" as the external id (at most 200 characters).
    po_number: Annotated[str, StringConstraints(min_length=1, max_length=135)]
    lines: Annotated[list[PortalLineIn], Field(min_length=1, max_length=500)]
    ship_window: ShipWindowIn | None = None
    prebook: bool = False
    customer: CustomerIn | None = None


class SupplyIn(RequestModel):
    kind: Literal["po", "asn"]
    location: Code
    expected_on: date
    lines: Annotated[list[PortalLineIn], Field(min_length=1, max_length=5000)]


class ReceiveIn(RequestModel):
    lines: Annotated[list[PortalLineIn], Field(min_length=1, max_length=5000)] | None = None


def _portal(request: Request) -> WholesalePortal:
    return WholesalePortal(service(request))


def _authorise(request: Request, who: Principal, code: str) -> dict[str, Any]:
    """The account, once the caller may act for it (its channel is read only after the token could be an
    account token, so an unknown account and a forbidden one answer alike to outsiders)."""
    if not (who.is_admin or f"account:{code}" in who.scopes or any(s.startswith("channel:") for s in who.scopes)):
        who.require_account(code)
    account = _portal(request).account(code)
    who.require_account(code, account["channel"])
    return account


# ------------------------------------------------------------------ accounts
@router.put("/b2b/accounts/{code}", status_code=200, responses={201: {"description": "Created"}})
def put_account(
    code: AccountCode, body: AccountIn, request: Request, who: Principal = Depends(principal)
) -> JSONResponse:
    """Create or update a wholesale account: the wholesale channel it orders on, the price list it buys at
    (``price_tier``; styles without a price there fall back to ``wholesale``), its currency, and whether it
    may pre-book from incoming supply (admin only)."""
    who.require_admin()
    portal = _portal(request)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        conn = uow.conn
        put = portal.put_account(conn, code, body.model_dump())
        return put_status(put.created), put.view

    return run_command(request, who, {"account": code, **body.model_dump()}, work)


@router.get("/b2b/accounts/{code}")
def get_account(code: AccountCode, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    return _authorise(request, who, code)


# ------------------------------------------------------------------ availability
@router.get("/b2b/accounts/{code}/availability")
def availability(
    code: AccountCode,
    request: Request,
    sku: str | None = Query(default=None, max_length=64),
    style: str | None = Query(default=None, max_length=64),
    after: str | None = Query(default=None, max_length=64),
    limit: int = Query(default=100, ge=1, le=500),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Live availability for the account: per SKU, ``available`` now (its wholesale channel's ATP) at its
    ``price``; with pre-book, ``future_available`` and ``incoming`` (free to promise by each expected date,
    from open POs and ASNs less what is already backordered)."""
    _authorise(request, who, code)
    account, items, next_cursor = _portal(request).availability(code, sku=sku, style=style, after=after, limit=limit)
    return {"account": account["code"], "currency": account["currency"], "items": items, "next_cursor": next_cursor}


# ------------------------------------------------------------------ orders
@router.post(
    "/b2b/accounts/{code}/orders", status_code=201, responses={200: {"description": "The PO was placed before"}}
)
def place_order(
    code: AccountCode, body: PortalOrderIn, request: Request, who: Principal = Depends(principal)
) -> JSONResponse:
    """Enter an order into the one queue (kind ``wholesale``) at the account's prices, with its ship window
    (start-ship, cancel date) and, where allowed, as a pre-book. Units on hand are allocated now; units it
    backorders must be covered by supply expected by the cancel date, else 409 ``insufficient-stock`` and
    nothing is written. The same PO number again answers 200 with the first order."""
    _authorise(request, who, code)
    customer = body.customer
    req = PortalOrder(
        po_number=body.po_number,
        lines=[PortalLine(line.sku, line.qty) for line in body.lines],
        ship_start=body.ship_window.start if body.ship_window else None,
        cancel_date=body.ship_window.cancel if body.ship_window else None,
        prebook=body.prebook,
        customer=None
        if customer is None
        else ContactRequest(email=customer.email, phone=customer.phone, name=customer.name, country=customer.country),
    )
    portal = _portal(request)
    tid = trace_id(request)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        placed = portal.place_order(uow, code, req, trace_id=tid)
        return put_status(placed.created), placed.view

    return run_command(request, who, {"account": code, **body.model_dump(mode="json")}, work)


@router.get("/b2b/accounts/{code}/orders")
def list_orders(
    code: AccountCode,
    request: Request,
    cursor: str | None = Query(default=None, max_length=32),
    limit: int = Query(default=100, ge=1, le=500),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """The account's orders and their status, oldest first."""
    _authorise(request, who, code)
    items, next_cursor = _portal(request).orders(code, cursor=cursor, limit=limit)
    return {"items": items, "next_cursor": next_cursor}


@router.get("/b2b/accounts/{code}/orders/{order_id}")
def get_order(
    code: AccountCode,
    order_id: Annotated[str, Path(min_length=1, max_length=40)],
    request: Request,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    _authorise(request, who, code)
    return _portal(request).order(code, order_id)


# ------------------------------------------------------------------ inbound supply
@router.put("/inbound-supply/{reference}", status_code=200, responses={201: {"description": "Created"}})
def put_supply(
    reference: Reference, body: SupplyIn, request: Request, who: Principal = Depends(principal)
) -> JSONResponse:
    """Record (or replace) an open purchase order or ASN: units expected at a location on a date. Pre-books
    are promised from it (admin only)."""
    who.require_admin()
    doc = SupplyDocument(
        reference, body.kind, body.location, body.expected_on, [PortalLine(x.sku, x.qty) for x in body.lines]
    )
    portal = _portal(request)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        conn = uow.conn
        put = portal.put_supply(conn, doc)
        return put_status(put.created), put.view

    return run_command(request, who, {"supply": reference, **body.model_dump(mode="json")}, work)


@router.get("/inbound-supply")
def list_supply(
    request: Request,
    sku: str | None = Query(default=None, max_length=64),
    status: str | None = Query(default=None, pattern="^(open|received|cancelled)$"),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    who.require_read()
    return {"items": _portal(request).supply(sku=sku, status=status)}


@router.post("/inbound-supply/{reference}/receive")
def receive_supply(
    reference: Reference, request: Request, body: ReceiveIn | None = None, who: Principal = Depends(principal)
) -> JSONResponse:
    """The goods arrived: receipt movements for every line still to come (or ``lines``), the supply closed,
    and backorders (pre-books first, by ship date) allocated from them, in one transaction (admin only)."""
    who.require_admin()
    lines = None if body is None or body.lines is None else [PortalLine(x.sku, x.qty) for x in body.lines]
    portal = _portal(request)
    tid = trace_id(request)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        return 200, portal.receive_supply(uow, reference, lines, trace_id=tid)

    return run_command(request, who, {"receive": reference, **(body.model_dump() if body else {})}, work)
