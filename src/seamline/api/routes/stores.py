"""Store tills over HTTP: offline batches, the till catalog since a version, and what each till has."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from seamline.api.bodies import JsonRoute
from seamline.api.deps import principal, service, trace_id
from seamline.api.routes.common import PROBLEMS, put_status, run_command
from seamline.api.routes.orders import contact
from seamline.api.store_schemas import (
    CatalogAckIn,
    CatalogAckOut,
    CatalogPublishOut,
    CatalogStatusOut,
    OfflineBatchIn,
    OfflineBatchOut,
    TillCatalogOut,
)
from seamline.service import Principal
from seamline.service.giftcards import GiftCardDesk
from seamline.service.orders import LineRequest, TenderRequest
from seamline.service.tills import OfflineBatch, OfflineSale, TillDesk
from seamline.service.unit_of_work import UnitOfWork

router = APIRouter(
    prefix="/v1/stores", tags=["stores"], responses=PROBLEMS, route_class=JsonRoute, strict_content_type=False
)


@router.post(
    "/{location}/offline-batches",
    status_code=201,
    response_model=OfflineBatchOut,
    responses={200: {"model": OfflineBatchOut, "description": "the batch was received before: its first results"}},
)
def post_offline_batch(
    location: str, body: OfflineBatchIn, request: Request, who: Principal = Depends(principal)
) -> JSONResponse:
    """Sales a till made while offline, applied in the order they happened, all or nothing. Units the
    ledger no longer has are still sold (the goods left) and raise oversell exceptions. Received once per
    (store, till, batch id); answers each sale's order and the store's availability now for the batch's
    SKUs. A ``location:<code>`` token uploads only for its own store, under its till channels (as
    ``POST /v1/sales``)."""
    who.require_location(location)
    batch = OfflineBatch(
        location=location,
        till=body.till,
        batch_id=body.batch_id,
        channel=body.channel,
        sales=[
            OfflineSale(
                external_id=s.external_id,
                occurred_at=s.occurred_at,
                sequence=s.sequence,
                lines=[LineRequest(li.sku, li.qty, li.unit_price) for li in s.lines],
                tenders=[TenderRequest(t.type, t.amount) for t in s.tenders],
                currency=s.currency,
                customer=contact(s.customer),
            )
            for s in body.sales
        ],
    )
    desk = TillDesk(service(request))
    tid = trace_id(request)

    cards = GiftCardDesk(service(request))
    card_tenders = {s.external_id: [(t.type, Decimal(t.amount), t.code) for t in s.tenders] for s in body.sales}
    currencies = {s.external_id: s.currency for s in body.sales}

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        answer = desk.record_offline_batch(uow, batch, trace_id=tid, caller=who)
        # Gift card tenders the till took offline come off their cards; one that cannot pay is held (issue 17).
        cards.redeem_offline_sales(
            uow, answer.view["sales"], card_tenders, currencies, channel=body.channel, trace_id=tid
        )
        return put_status(answer.created), answer.view

    dumped = {"location": location, **body.model_dump(mode="json")}
    for sale in dumped["sales"]:  # a tender without a code keeps the idempotency fingerprint it had
        for tender in sale["tenders"]:
            if tender.get("code") is None:
                tender.pop("code", None)
    return run_command(request, who, dumped, work)


@router.get("/catalog-status", response_model=CatalogStatusOut)
def catalog_status(request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    """Which stores' tills are behind the catalog (to chase before opening)."""
    who.require_read()
    return TillDesk(service(request)).catalog_status()


@router.post("/catalog/publish", response_model=CatalogPublishOut)
def publish_catalog(request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    """Rebuild the till catalog from every style (after an upgrade, or a restore): only what differs from
    what the tills were given gets a new version. Admin only."""
    who.require_admin()
    desk = TillDesk(service(request))
    changed = service(request).write(lambda uow: desk.publish(uow.conn))
    status = desk.catalog_status()
    return {"version": status["version"], "changed_skus": len(changed["skus"]) if changed else 0}


@router.get("/{location}/catalog", response_model=TillCatalogOut)
def till_catalog(
    location: str,
    request: Request,
    since: int = Query(default=0, ge=0, description="the version the till has; 0 for everything"),
    limit: int = Query(default=1000, ge=1, le=5000),
    cursor: str | None = Query(default=None, max_length=100),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """The SKUs whose till data (names, GTIN, the store price list's prices, status) changed after
    ``since``, oldest change first. When ``complete`` is false, ask again with ``cursor=next_cursor``;
    ``upto`` is the version to acknowledge once the last page is applied."""
    if not who.has_location(location):
        who.require_read()
    return TillDesk(service(request)).catalog(location, since, limit, cursor)


@router.put("/{location}/catalog/ack", response_model=CatalogAckOut)
def ack_catalog(
    location: str, body: CatalogAckIn, request: Request, who: Principal = Depends(principal)
) -> dict[str, Any]:
    """A till has applied the catalog up to ``version``."""
    who.require_location(location)
    desk = TillDesk(service(request))
    return service(request).write(lambda uow: desk.ack(uow.conn, location, body.till, body.version))


@router.get("/{location}/catalog/status", response_model=CatalogStatusOut)
def store_catalog_status(location: str, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    if not who.has_location(location):
        who.require_read()
    return TillDesk(service(request)).catalog_status(location)


@router.get("/{location}/sale-extras")
def sale_extras(
    location: str,
    request: Request,
    limit: int = Query(default=500, ge=1, le=5000),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """What the store's tills took that is not stock (a POS platform's gift cards sold, custom amounts, service
    charges, cash rounding), with the stock sale each came with: the sale's total plus these is what the till
    took."""
    if not who.has_location(location):
        who.require_read()
    return {"items": TillDesk(service(request)).sale_extras(location, limit=limit)}
