"""The unified customer over HTTP (read-only: orders and sales write it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from seamline.api.bodies import JsonRoute
from seamline.api.deps import principal, service
from seamline.api.order_schemas import CustomerOut
from seamline.api.routes.common import PROBLEMS
from seamline.service import Principal
from seamline.service.customers import CustomerDesk

router = APIRouter(
    prefix="/v1", tags=["customers"], responses=PROBLEMS, route_class=JsonRoute, strict_content_type=False
)


@router.get("/customers")
def find_customers(
    request: Request,
    email: str | None = Query(default=None, max_length=320),
    phone: str | None = Query(default=None, max_length=40),
    country: str | None = Query(default=None, max_length=2),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Look a customer up by email or phone, normalised as orders are matched."""
    who.require_read()
    return {"items": CustomerDesk(service(request)).find(email=email, phone=phone, country=country)}


@router.get("/customers/{customer_id}", response_model=CustomerOut)
def get_customer(customer_id: str, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    who.require_read()
    return CustomerDesk(service(request)).get(customer_id)


@router.get("/customer-conflicts")
def list_conflicts(
    request: Request,
    customer: str | None = Query(default=None, max_length=40),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Match keys that pointed at two customers: recorded for a person, never merged automatically."""
    who.require_read()
    return {"items": CustomerDesk(service(request)).conflicts(customer)}
