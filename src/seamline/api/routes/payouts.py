"""Marketplace payouts over HTTP (issue 17): import a channel's payout report (Amazon's settlement report,
Mirakl's transaction lines) and list the payouts imported with the discrepancies they leave. Admin imports;
reading needs ``read``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from seamline.api.bodies import JsonRoute
from seamline.api.deps import principal, service, trace_id
from seamline.api.finance_schemas import PayoutImportIn, PayoutImportOut, PayoutList
from seamline.api.routes.common import PROBLEMS, run_command
from seamline.service import Principal
from seamline.service.payouts import PayoutDesk
from seamline.service.unit_of_work import UnitOfWork

router = APIRouter(
    prefix="/v1/finance/payouts",
    tags=["finance"],
    responses=PROBLEMS,
    route_class=JsonRoute,
    strict_content_type=False,
)


@router.post("/{channel}", response_model=PayoutImportOut)
def import_payouts(
    channel: str, body: PayoutImportIn, request: Request, who: Principal = Depends(principal)
) -> JSONResponse:
    """Book each payout of the report once: the deposit to the bank, the marketplace's fees, and what it
    settled of each order out of the marketplace's clearing account. The same report again books nothing.
    A report that does not add up is refused whole (422); orders it pays that we never invoiced, or at
    another amount, are answered as ``discrepancies`` (and listed by the reconciliation)."""
    who.require_admin()
    desk = PayoutDesk(service(request))
    tid = trace_id(request)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        return 200, desk.import_report(uow, channel, body.report, trace_id=tid).as_json()

    return run_command(request, who, {"payouts": channel, "body": body.model_dump(mode="json")}, work)


@router.get("", response_model=PayoutList)
def list_payouts(
    request: Request,
    channel: str | None = Query(default=None, max_length=64),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """The payouts imported (oldest first) and every discrepancy between what they settled and our documents."""
    who.require_read()
    return PayoutDesk(service(request)).payouts(channel)
