"""Request and response shapes of the order queue: orders, sales, returns, exchanges, transfers, counts and
customers. Strict like the rest (a quantity of "2" is refused); money is a decimal string with a currency."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

from seamline.api.schemas import Code, NonNegative, Qty, Request, Response

Amount = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,10}(\.[0-9]{1,4})?$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
TenderType = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]
DocumentId = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class CustomerIn(Request):
    email: Annotated[str, StringConstraints(max_length=320)] | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")] | None = Field(
        default=None, description="ISO 3166 region for a phone number given without its country code"
    )


class OrderLineIn(Request):
    sku: Code
    qty: Qty
    unit_price: Amount | None = Field(default=None, description="omitted: the price list's (retail, or the tier's)")


class TenderIn(Request):
    type: TenderType
    amount: Amount


class SaleTenderIn(TenderIn):
    code: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None, description="a gift_card tender's card code: the sale takes the amount off the card"
    )


class ShipWindowIn(Request):
    start: date | None = None
    cancel: date | None = None


Rate = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,3}(\.[0-9]{1,6})?$")]
Text200 = Annotated[str, StringConstraints(max_length=200)]


class TaxLineIn(Request):
    title: Text200 = ""
    rate: Rate = Field(description='a fraction: "0.2" for 20 %')
    amount: Amount


class DiscountIn(Request):
    amount: Amount
    source: Text200 = ""


class CommerceLineIn(Request):
    discounts: Annotated[list[DiscountIn], Field(max_length=20)] = []
    tax_lines: Annotated[list[TaxLineIn], Field(max_length=10)] = []
    duties: Annotated[list[TaxLineIn], Field(max_length=10)] = []


class ShippingLineIn(Request):
    title: Text200 = "shipping"
    price: Amount
    discounts: Annotated[list[DiscountIn], Field(max_length=20)] = []
    tax_lines: Annotated[list[TaxLineIn], Field(max_length=10)] = []


class AddressIn(Request):
    name: Text200 | None = None
    company: Text200 | None = None
    line1: Text200 | None = None
    line2: Text200 | None = None
    city: Text200 | None = None
    region: Text200 | None = None
    postcode: Annotated[str, StringConstraints(max_length=32)] | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None


class PaymentIn(Request):
    tender: TenderType
    amount: Amount
    gateway: Text200 | None = None
    reference: Text200 | None = None


class CommerceIn(Request):
    """The order's money as the selling channel computed it; finance invoices at these numbers."""

    channel_total: Amount = Field(description="the channel's own total of the order (what the buyer is charged)")
    taxes_included: bool = False
    presentment_currency: Currency | None = None
    name: Text200 | None = None
    lines: Annotated[list[CommerceLineIn], Field(max_length=500)] = Field(
        default=[], description="one per order line, in the same order (discounts, tax lines, duties)"
    )
    shipping: Annotated[list[ShippingLineIn], Field(max_length=10)] = []
    ship_to: AddressIn | None = None
    bill_to: AddressIn | None = None
    payments: Annotated[list[PaymentIn], Field(max_length=20)] = Field(
        default=[], description="money taken; when tenders are not given they are these"
    )


class OrderIn(Request):
    channel: Code
    external_id: ExternalId
    kind: Literal["dtc", "marketplace", "wholesale"] | None = None
    customer: CustomerIn | None = None
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=500)]
    currency: Currency
    hold_id: DocumentId | None = None
    tenders: Annotated[list[TenderIn], Field(max_length=20)] = []
    price_tier: Code | None = None
    ship_window: ShipWindowIn | None = None
    prebook: bool = False
    commerce: CommerceIn | None = Field(
        default=None, description="the channel's numbers: invoices then equal channel_total to the cent"
    )


class OrderLineOut(Response):
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


class OrderOut(Response):
    id: str
    channel: str
    external_id: str
    kind: str
    status: str
    currency: str
    total: str
    lines: list[OrderLineOut]
    commerce: dict[str, Any] | None = Field(
        default=None,
        description="the channel's commercial truth: per line unit price, discounts (with their allocation), tax "
        "lines and duties; shipping lines; ship-to and bill-to; the buyer; payments by tender and gateway; the "
        "currency and presentment currency; the channel's own total (channel_total) and what its lines add up "
        "to (computed_total)",
    )


class OrderList(Response):
    items: list[OrderOut]
    next_cursor: str | None = None


class PickLineIn(Request):
    sku: Code
    qty: Qty


class PickIn(Request):
    lines: Annotated[list[PickLineIn], Field(min_length=1, max_length=500)] | None = None


class ShipIn(Request):
    tracking: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    #: The carrier of this shipment (marketplaces confirm each parcel with its carrier and tracking).
    carrier: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None


class CancelLineIn(Request):
    line_no: Annotated[int, Field(strict=True, ge=1)]
    qty: Annotated[int, Field(strict=True, ge=1, le=1_000_000)]


class CancelLinesIn(Request):
    """Units of some lines to cancel while the rest of the order goes on (only units not picked)."""

    lines: Annotated[list[CancelLineIn], Field(min_length=1, max_length=500)]
    #: Why (``out_of_stock``, ``customer``, ...): a marketplace channel maps it to its own reason code.
    reason: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None


class AllocationRunIn(Request):
    limit: Annotated[int, Field(strict=True, ge=1, le=5000)] = 500


class SaleGiftCardIn(Request):
    amount: Amount = Field(description="the card's face value, paid by the sale's tenders")
    code: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None, description="the printed card's code; left out, Seamline makes one up (in the answer)"
    )


class SaleIn(Request):
    location: Code
    external_id: ExternalId
    channel: Code | None = None
    lines: Annotated[list[OrderLineIn], Field(max_length=500)] = Field(
        description="the goods sold: at least one, unless the sale sells only gift cards"
    )
    tenders: Annotated[list[SaleTenderIn], Field(min_length=1, max_length=20)]
    gift_cards: Annotated[list[SaleGiftCardIn], Field(max_length=20)] = Field(
        default=[],
        description="gift cards sold: issued in the sale's transaction, their money the gift card liability "
        "(not revenue); the tenders pay the goods and the cards",
    )
    currency: Currency
    customer: CustomerIn | None = None
    occurred_at: datetime | None = None
    force: bool = Field(
        default=False, description="the goods already left (an offline till): record even if not available"
    )


class ReturnLineIn(Request):
    sku: Code
    qty: Qty
    condition: Literal["sellable", "damaged"]


class RefundIn(Request):
    tender: TenderType | None = None


class ReturnIn(Request):
    order_id: DocumentId
    location: Code
    lines: Annotated[list[ReturnLineIn], Field(min_length=1, max_length=500)]
    refund: RefundIn | None = None


class ReturnOut(Response):
    id: str
    order_id: str
    location: str
    lines: list[dict[str, Any]]
    refund: dict[str, Any]


class ExchangeIn(Request):
    order_id: DocumentId
    location: Code
    return_lines: Annotated[list[ReturnLineIn], Field(min_length=1, max_length=500)]
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=500)]
    tenders: Annotated[list[TenderIn], Field(max_length=20)] = []
    refund: RefundIn | None = None
    fulfil: Literal["here", "ship"] | None = None


class ExchangeOut(Response):
    return_: ReturnOut = Field(alias="return")
    order: OrderOut

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ExceptionOut(Response):
    id: int
    sku: str
    location: str
    units: int
    short_allocations: list[dict[str, Any]]


class ExceptionList(Response):
    items: list[ExceptionOut]
    next_cursor: str | None = None


class TransferLineIn(Request):
    sku: Code
    qty: Qty


class TransferIn(Request):
    from_: Code = Field(alias="from")
    to: Code
    lines: Annotated[list[TransferLineIn], Field(min_length=1, max_length=500)]

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ReceiptLineIn(Request):
    sku: Code
    qty: NonNegative


class ReceiveIn(Request):
    lines: Annotated[list[ReceiptLineIn], Field(min_length=1, max_length=500)] | None = None


class TransferOut(Response):
    id: str
    from_: str = Field(alias="from")
    to: str
    status: str
    lines: list[dict[str, Any]]

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class CountIn(Request):
    location: Code
    skus: Annotated[list[Code], Field(min_length=1, max_length=5000)] | None = None


class CountLineIn(Request):
    sku: Code
    counted: NonNegative


class CountLinesIn(Request):
    lines: Annotated[list[CountLineIn], Field(min_length=1, max_length=5000)]


class CountOut(Response):
    id: str
    location: str
    status: str
    lines: list[dict[str, Any]]


class CustomerOut(Response):
    id: str
    email: str | None
    phone: str | None
    name: str | None
