"""Request and response shapes of the store tills: offline batches and the till catalog."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from seamline.api.order_schemas import CustomerIn, OrderLineIn, SaleTenderIn
from seamline.api.schemas import Code, Request, Response

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
BatchId = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class OfflineSaleIn(Request):
    external_id: ExternalId
    occurred_at: datetime = Field(description="when the till rang it up, with its UTC offset")
    sequence: Annotated[int, Field(strict=True, ge=0)] | None = Field(
        default=None, description="the till's own receipt counter: orders sales made in the same second"
    )
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=500)]
    tenders: Annotated[list[SaleTenderIn], Field(min_length=1, max_length=20)]
    currency: Currency
    customer: CustomerIn | None = None


class OfflineBatchIn(Request):
    till: Code
    batch_id: BatchId
    channel: Code | None = Field(default=None, description="the POS channel; default pos:<location>")
    sales: Annotated[list[OfflineSaleIn], Field(min_length=1, max_length=500)]


class OversellRef(Response):
    id: int
    sku: str
    units: int


class OfflineSaleResult(Response):
    external_id: str
    order_id: str
    status: str = Field(description="recorded | duplicate (the sale had already arrived)")
    occurred_at: str | None = None
    exceptions: list[OversellRef]


class StoreAvailability(Response):
    sku: str
    on_hand: int
    available: int


class OfflineBatchOut(Response):
    location: str
    till: str
    batch_id: str
    received_at: str
    replayed: bool
    sales: list[OfflineSaleResult]
    availability: list[StoreAvailability]
    catalog_version: int


class TillCatalogOut(Response):
    location: str
    price_list: str
    since: int
    version: int
    upto: int = Field(description="acknowledge this version once the last page is applied")
    complete: bool
    next_cursor: str | None = None
    items: list[dict[str, Any]]


class CatalogAckIn(Request):
    till: Code
    version: Annotated[int, Field(strict=True, ge=0)]


class CatalogAckOut(Response):
    location: str
    till: str
    version: int
    current: int
    behind: bool


class TillAck(Response):
    till: str
    version: int
    acked_at: str
    behind: bool


class StoreCatalogState(Response):
    location: str
    version: int
    tills: list[TillAck]
    behind: bool


class CatalogStatusOut(Response):
    price_list: str
    version: int
    items: list[StoreCatalogState]


class CatalogPublishOut(Response):
    version: int
    changed_skus: int
