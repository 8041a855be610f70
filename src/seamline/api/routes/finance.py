"""Finance over HTTP (DESIGN 7): the accounts mapping, the journal, documents, store-day settlements (count
the drawer, pay in/out, import the card processor's settlement, close) and the reconciliation report.

Reading needs ``read`` (a store's ``location:<code>`` token reads its own settlements); a store's token
counts, records cash movements and closes its own days; the configuration is admin's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from seamline.api.bodies import JsonRoute
from seamline.api.deps import principal, service, trace_id
from seamline.api.finance_schemas import (
    AccountingConnectionIn,
    AccountingConnectionList,
    AccountingConnectionOut,
    BackfillIn,
    BackfillOut,
    CashMovementIn,
    ContactList,
    CountIn,
    DocumentList,
    DocumentOut,
    ExportList,
    FinanceConfigIn,
    FinanceConfigOut,
    JournalList,
    PostPendingIn,
    PostPendingOut,
    ProcessorSettlementIn,
    ReconciliationOut,
    SettlementOut,
    StandardCostIn,
    ValuationOut,
)
from seamline.api.routes.common import PROBLEMS, put_status, run_command
from seamline.integration.finance import queue_backfill
from seamline.service import Principal
from seamline.service.accounting import AccountingDesk
from seamline.service.costing import Costing, CostPoster
from seamline.service.finance import FinanceDesk, JournalQuery
from seamline.service.receivables import ReceivableParties
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import accounting_repo

router = APIRouter(
    prefix="/v1/finance", tags=["finance"], responses=PROBLEMS, route_class=JsonRoute, strict_content_type=False
)


@router.get("/config", response_model=FinanceConfigOut)
def get_config(request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    who.require_read()
    return FinanceDesk(service(request)).get_config()


@router.put("/config", response_model=FinanceConfigOut, responses={201: {"model": FinanceConfigOut}})
def put_config(body: FinanceConfigIn, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    """The chart-of-accounts and tax-code mapping, set once: account codes per role, per tender, tax codes
    with their rate and their Xero/QuickBooks names, style tax classes, stores' time zones and floats."""
    who.require_admin()
    desk = FinanceDesk(service(request))
    config = body.as_config()

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        put = desk.put_config(uow.conn, config)
        return put_status(put.created), put.view.as_json()

    return run_command(request, who, config, work)


@router.get("/journal", response_model=JournalList)
def journal(
    request: Request,
    date_from: date | None = Query(default=None, alias="from"),
    date_to: date | None = Query(default=None, alias="to"),
    account: str | None = Query(default=None, max_length=32),
    store: str | None = Query(default=None, max_length=64),
    settlement: str | None = Query(default=None, max_length=40),
    document: str | None = Query(default=None, max_length=40),
    cursor: str | None = Query(default=None, max_length=32),
    limit: int = Query(default=100, ge=1, le=500),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Balanced journal entries in the order they were posted (``next_cursor`` continues)."""
    if store is None or not who.has_location(store):
        who.require_read()
    query = JournalQuery(date_from, date_to, account, store, settlement, document, cursor, limit)
    items, next_cursor = FinanceDesk(service(request)).journal(query)
    return {"items": items, "next_cursor": next_cursor}


@router.get("/documents", response_model=DocumentList)
def documents(
    request: Request,
    kind: str | None = Query(default=None, max_length=16),
    order_id: str | None = Query(default=None, max_length=40),
    store: str | None = Query(default=None, max_length=64),
    cursor: str | None = Query(default=None, max_length=32),
    limit: int = Query(default=100, ge=1, le=500),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Invoices, payments, credit notes, refunds, sales receipts and settlement journals, as posted."""
    if store is None or not who.has_location(store):
        who.require_read()
    items, next_cursor = FinanceDesk(service(request)).documents(
        kind=kind, order_id=order_id, store=store, cursor=cursor, limit=limit
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get("/documents/{document_id}", response_model=DocumentOut)
def get_document(document_id: str, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    found = FinanceDesk(service(request)).get_document(document_id)
    if found.get("store") is None or not who.has_location(found["store"]):
        who.require_read()
    return found


@router.get("/settlements/{store}/{day}", response_model=SettlementOut)
def get_settlement(store: str, day: date, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    """A store's business day: expected per tender (sales, refunds, paid in/out), the count and over/short,
    the processor's settlement tied out, variances; live while open, frozen once closed."""
    if not who.has_location(store):
        who.require_read()
    return FinanceDesk(service(request)).settlement(store, day)


def _settlement_command(
    request: Request,
    who: Principal,
    store: str,
    day: date,
    step: str,
    body: Any,
    work: Callable[[UnitOfWork], tuple[int, Any]],
) -> JSONResponse:
    who.require_location(store)
    return run_command(request, who, {"store": store, "date": day.isoformat(), "step": step, "body": body}, work)


@router.post("/settlements/{store}/{day}/count", response_model=SettlementOut)
def count_cash(
    store: str, day: date, body: CountIn, request: Request, who: Principal = Depends(principal)
) -> JSONResponse:
    """The drawer count (a recount replaces it until the day is closed); over/short follows."""
    desk = FinanceDesk(service(request))

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        conn = uow.conn
        view = desk.count_cash(
            conn,
            store,
            day,
            counted=body.counted,
            currency=body.currency,
            tender=body.tender,
            cash_float=body.cash_float,
            counted_by=body.counted_by,
        )
        return 200, view

    return _settlement_command(request, who, store, day, "count", body.model_dump(mode="json"), work)


@router.post("/settlements/{store}/{day}/cash-movements", response_model=SettlementOut)
def cash_movement(
    store: str, day: date, body: CashMovementIn, request: Request, who: Principal = Depends(principal)
) -> JSONResponse:
    """Cash paid into (``paid_in``) or out of (``paid_out``) the drawer, with the reason."""
    desk = FinanceDesk(service(request))

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        conn = uow.conn
        view = desk.add_cash_movement(
            conn,
            store,
            day,
            kind=body.kind,
            amount=body.amount,
            currency=body.currency,
            reason=body.reason,
            tender=body.tender,
            account=body.account,
        )
        return 200, view

    return _settlement_command(request, who, store, day, "cash-movement", body.model_dump(mode="json"), work)


@router.post("/settlements/{store}/{day}/processor-settlement", response_model=SettlementOut)
def processor_settlement(
    store: str, day: date, body: ProcessorSettlementIn, request: Request, who: Principal = Depends(principal)
) -> JSONResponse:
    """The card processor's balance transactions for the day (Stripe: gross ``amount``, ``fee``, ``net`` in
    minor units). Each counts once, however often it is imported."""
    desk = FinanceDesk(service(request))

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        conn = uow.conn
        view = desk.import_processor_settlement(
            conn, store, day, processor=body.processor, tender=body.tender, transactions=body.transactions
        )
        return 200, view

    return _settlement_command(request, who, store, day, "processor", body.model_dump(mode="json"), work)


@router.post("/settlements/{store}/{day}/close", response_model=SettlementOut)
def close(store: str, day: date, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    """Close the day once: figures frozen, one balanced journal entry per tender posted. Cash not counted:
    409 ``cash-not-counted``; already closed: 409 ``settlement-closed``."""
    desk = FinanceDesk(service(request))
    tid = trace_id(request)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        return 200, desk.close(uow, store, day, trace_id=tid)

    return _settlement_command(request, who, store, day, "close", {}, work)


@router.get("/reconciliation", response_model=ReconciliationOut)
def reconciliation(request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    """Every till sale and return has exactly one posted document, every shipped unit is invoiced, the
    totals agree to the cent, and every journal entry balances."""
    who.require_read()
    return FinanceDesk(service(request)).reconciliation()


@router.get("/valuation", response_model=ValuationOut)
def valuation(
    request: Request,
    as_of: str | None = Query(default=None, max_length=40, description="a date (its end, UTC) or an ISO datetime"),
    location: str | None = Query(default=None, max_length=64),
    by_sku: bool = Query(default=False, description="also list the value per SKU, paged"),
    cursor: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=500, ge=1, le=5000),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Inventory value at cost per location as of a date (now when not given): the sum of the movements at cost
    that occurred by then (DESIGN 13b). ``by_sku`` lists each SKU's value too, paged; ``total`` is always over
    every location asked. Units received without any known cost are counted in ``uncosted_units``."""
    who.require_read()
    return Costing(service(request)).valuation(
        as_of=as_of, location=location, by_sku=by_sku, cursor=cursor, limit=limit
    )


@router.get("/stock-costs")
def stock_costs(
    request: Request,
    sku: str | None = Query(default=None, max_length=64),
    location: str | None = Query(default=None, max_length=64),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """The moving average unit cost per SKU and location, now (units, average, value)."""
    who.require_read()
    return {"items": Costing(service(request)).cost_rows(sku=sku, location=location)}


@router.get("/revaluations")
def revaluations(
    request: Request,
    sku: str | None = Query(default=None, max_length=64),
    location: str | None = Query(default=None, max_length=64),
    limit: int = Query(default=100, ge=1, le=500),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Units received at no cost and revalued once their cost was known (a standard cost set, a receipt at
    cost into the same location), latest first: SKU, location, units, old and new unit cost, the amount booked
    to inventory against the cost revaluation account, and its journal's source."""
    who.require_read()
    return {"items": Costing(service(request)).revaluations(sku=sku, location=location, limit=limit)}


@router.put("/standard-costs/{sku}")
def put_standard_cost(
    sku: str, body: StandardCostIn, request: Request, who: Principal = Depends(principal)
) -> JSONResponse:
    """A variant's standard cost (admin): what a receipt that carries no unit cost of its own is valued at."""
    who.require_admin()
    costing = Costing(service(request))
    data = body.model_dump(exclude_none=True)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        return 200, costing.set_standard_cost(uow, sku, data)

    return run_command(request, who, data, work)


@router.post("/post-missing-costs", response_model=PostPendingOut)
def post_missing_costs(
    request: Request, body: PostPendingIn | None = None, who: Principal = Depends(principal)
) -> JSONResponse:
    """Book the cost journals reconcile finds missing (a posting that failed in its movement's transaction);
    an entry with a wrong amount is left listed for a person (admin)."""
    who.require_admin()
    limit = body.limit if body else 500
    poster = CostPoster(service(request))

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        return 200, {"posted": poster.post_missing(uow, limit), "documents": []}

    return run_command(request, who, {"limit": limit}, work)


@router.post("/post-pending", response_model=PostPendingOut)
def post_pending(
    request: Request, body: PostPendingIn | None = None, who: Principal = Depends(principal)
) -> JSONResponse:
    """Post the documents of sales, returns and shipments that have none (admin); ``limit`` at most (500)."""
    who.require_admin()
    limit = body.limit if body else 500
    desk = FinanceDesk(service(request))

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        posted = desk.post_pending(uow, limit)
        documents = [{"id": d.id, "kind": d.kind.value, "number": d.number} for d in posted]
        return 200, {"posted": len(posted), "documents": documents}

    return run_command(request, who, {"post_pending": limit}, work)


# ------------------------------------------------------------------------------------ accounting connections
def _wiring_state(request: Request, code: str) -> dict[str, Any]:
    wiring = getattr(request.app.state, "wiring", None)
    if wiring is None:
        return {}
    key = accounting_repo.WIRING_PREFIX + code
    return {"wired": key in wiring.wired() and key not in wiring.errors, "error": wiring.errors.get(key)}


@router.put(
    "/accounting/{code}",
    response_model=AccountingConnectionOut,
    responses={201: {"model": AccountingConnectionOut}},
)
def put_accounting_connection(
    code: str, body: AccountingConnectionIn, request: Request, who: Principal = Depends(principal)
) -> JSONResponse:
    """The books finance documents are exported to, configured once: a Xero organisation or a QuickBooks
    company. This process rewires at once (others within the wiring's refresh); tokens are write-only;
    ``sandbox:`` URLs are refused in production. Admin only."""
    who.require_admin()
    desk = AccountingDesk(service(request))
    payload = body.model_dump(mode="json")

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        conn = uow.conn
        put = desk.put_connection(conn, code, payload)
        return put_status(put.created), put.view

    response = run_command(request, who, {"code": code, **payload}, work)
    wiring = getattr(request.app.state, "wiring", None)
    if wiring is not None and response.status_code < 300:
        wiring.refresh()
        view = {**desk.connection(code), **_wiring_state(request, code)}
        replayed = {k: v for k, v in response.headers.items() if k.lower() == "idempotent-replayed"}
        return JSONResponse(view, status_code=response.status_code, headers=replayed)
    return response


@router.get("/accounting", response_model=AccountingConnectionList)
def list_accounting_connections(request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    who.require_read()
    items = AccountingDesk(service(request)).connections()
    return {"items": [{**item, **_wiring_state(request, item["code"])} for item in items]}


@router.get("/accounting/{code}", response_model=AccountingConnectionOut)
def get_accounting_connection(code: str, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    who.require_read()
    return {**AccountingDesk(service(request)).connection(code), **_wiring_state(request, code)}


@router.get("/accounting/{code}/exports", response_model=ExportList)
def accounting_exports(
    code: str,
    request: Request,
    status: str | None = Query(None, description="pending | exported | refused | dead"),
    kind: str | None = Query(None, description="invoice, payment, credit_note, refund, journal"),
    cursor: str | None = Query(None),
    limit: int = Query(100, ge=1, le=1000),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Each document's export state on these books: ``pending``, ``exported`` (with the id the books gave it
    and the total they acknowledged), ``refused`` (with the platform's validation messages) or ``dead``
    (its delivery dead-lettered); filterable by state and kind, oldest first, with the count per state."""
    who.require_read()
    connection = AccountingDesk(service(request)).connection(code)
    items, next_cursor, counts = FinanceDesk(service(request)).exports(
        connection["target"], status=status, kind=kind, cursor=cursor, limit=limit
    )
    return {"target": connection["target"], "counts": counts, "items": items, "next_cursor": next_cursor}


@router.get("/accounting/{code}/contacts", response_model=ContactList)
def accounting_contacts(code: str, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    """The receivable contacts these books hold for us: one per customer and per wholesale account, made
    once (the Xero contact / QuickBooks customer each party's documents are booked to)."""
    who.require_read()
    connection = AccountingDesk(service(request)).connection(code)
    items = ReceivableParties(service(request)).contacts(connection["target"])
    return {"target": connection["target"], "items": items}


@router.post("/accounting/{code}/backfill", response_model=BackfillOut)
def accounting_backfill(
    code: str, request: Request, body: BackfillIn | None = None, who: Principal = Depends(principal)
) -> JSONResponse:
    """Export what was posted before these books were connected (and what died on the way; the refused
    ones too with ``include_refused``): a page of ``limit`` documents queued for this connection only.
    Idempotent: a document queued, or exported, is not queued again. Admin only."""
    who.require_admin()
    app = service(request)
    connection = AccountingDesk(app).connection(code)
    target = connection["target"]
    include_refused = bool(body and body.include_refused)
    limit = body.limit if body else 500
    desk = FinanceDesk(app)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        conn = uow.conn
        docs = desk.backfill_candidates(conn, target, include_refused=include_refused, limit=limit)
        queued = queue_backfill(conn, target, docs, app.clock.now())
        left = desk.backfill_candidates(conn, target, include_refused=False, limit=1)
        return 200, {
            "target": target,
            "queued": queued,
            "documents": [d.number or d.id for d in docs],
            "more": bool(left),
        }

    return run_command(request, who, {"backfill": code, "include_refused": include_refused, "limit": limit}, work)
