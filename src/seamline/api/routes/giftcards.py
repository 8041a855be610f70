"""Gift cards over HTTP (DESIGN 13b, issue 17): issue one, read its balance and movements, take a held
gift card payment off the card a person found.

``POST /v1/gift-cards`` and ``POST /v1/gift-cards/{code}/redemptions`` need ``giftcards:write`` (or admin);
``GET /v1/gift-cards/{code}`` needs ``giftcards:read``, ``giftcards:write`` or read. Issuing honours
``Idempotency-Key`` (a replay answers the first card); without a key each call is a new card."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import StringConstraints

from seamline.api.bodies import JsonRoute
from seamline.api.deps import principal, service, trace_id
from seamline.api.routes.common import PROBLEMS, put_status, run_command
from seamline.api.schemas import Code, Response
from seamline.api.schemas import Request as Body
from seamline.domain.errors import FieldError, Forbidden, InvalidInput
from seamline.domain.money import Money
from seamline.service import Principal
from seamline.service.giftcards import GiftCardDesk
from seamline.service.unit_of_work import UnitOfWork

router = APIRouter(
    prefix="/v1", tags=["gift-cards"], responses=PROBLEMS, route_class=JsonRoute, strict_content_type=False
)

Text = Annotated[str, StringConstraints(min_length=1, max_length=32)]


class GiftCardIn(Body):
    amount: Text
    currency: Annotated[str, StringConstraints(min_length=1, max_length=8)]
    channel: Code | None = None
    code: Code | None = None


class GiftCardMovementOut(Response):
    id: str
    kind: str
    amount: str
    balance_after: str
    currency: str
    channel: str | None
    source: str
    order_id: str | None
    created_at: str | None


class GiftCardOut(Response):
    code: str
    currency: str
    initial_amount: str
    balance: str
    status: str
    channel: str | None
    issued_at: str | None
    expires_on: str | None
    movements: list[GiftCardMovementOut] = []


def _require_write(who: Principal) -> None:
    if not who.may_issue_gift_cards():
        raise Forbidden("issuing gift cards needs the giftcards:write scope", code="insufficient-scope")


@router.post("/gift-cards", status_code=201, response_model=GiftCardOut, responses={200: {"model": GiftCardOut}})
def post_gift_card(body: GiftCardIn, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    """Issue a card for ``amount`` in ``currency`` (a new code unless ``code`` is given; 409 when it is
    taken). Its expiry follows the finance configuration's ``gift_card_expiry_months``. Posts Dr tender
    clearing / Cr gift card liability. A bad amount or currency is 422, nothing written."""
    _require_write(who)
    money = Money.parse(body.amount, body.currency)
    if money.amount <= Decimal(0):
        raise InvalidInput("bad gift card amount", [FieldError("amount", "must be more than zero")])
    desk = GiftCardDesk(service(request))
    tid = trace_id(request)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        issued = desk.issue_api(
            uow, amount=money.amount, currency=money.currency, channel=body.channel, code=body.code, trace_id=tid
        )
        return put_status(issued.created), issued.view

    return run_command(request, who, body.model_dump(mode="json"), work)


class HeldRedemptionIn(Body):
    hold: Annotated[str, StringConstraints(min_length=1, max_length=200)]


@router.post("/gift-cards/{code}/redemptions", status_code=201, response_model=GiftCardMovementOut)
def post_held_redemption(
    code: str, body: HeldRedemptionIn, request: Request, who: Principal = Depends(principal)
) -> JSONResponse:
    """Take a held gift card payment off this card: ``hold`` is the held payment's key (``source`` of its
    ``held`` entry in ``GET /v1/finance/reconciliation``), e.g. a Square sale paid by Square's own gift card
    once a person has found which card it was. The amount comes off the card as that payment's movement and
    the hold is resolved; a card that cannot pay it (409) leaves the hold open, nothing written."""
    _require_write(who)
    desk = GiftCardDesk(service(request))
    tid = trace_id(request)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        return 201, desk.redeem_held(uow, code, body.hold, trace_id=tid)

    return run_command(request, who, body.model_dump(mode="json"), work)


@router.get("/gift-cards/{code}", response_model=GiftCardOut)
def get_gift_card(code: str, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    """The card's balance, status and every movement (issue, redemptions, refunds to it, expiry)."""
    if not who.may_read_gift_cards():
        raise Forbidden("reading gift cards needs the giftcards:read scope", code="insufficient-scope")
    return GiftCardDesk(service(request)).get(code)


@router.get("/gift-cards")
def list_gift_cards(
    request: Request,
    status: str | None = Query(default=None, pattern="^(active|redeemed|expired)$"),
    limit: int = Query(default=100, ge=1, le=500),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """The latest cards, their codes masked but for the last four characters."""
    if not who.may_read_gift_cards():
        raise Forbidden("reading gift cards needs the giftcards:read scope", code="insufficient-scope")
    items = GiftCardDesk(service(request)).cards(status=status, limit=limit)
    return {"items": [{**{k: v for k, v in item.items() if k != "code"}, "code": item["masked"]} for item in items]}
