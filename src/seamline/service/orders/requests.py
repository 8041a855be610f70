"""What a caller asks of the order queue: orders, till sales, returns and exchanges, as plain values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from seamline.domain.commerce import OrderCommerce, RefundCommerce
from seamline.orders.returns import ReturnRequestLine
from seamline.service.customers import ContactRequest


@dataclass(frozen=True, slots=True)
class LineRequest:
    sku: str
    qty: int
    unit_price: str | None = None


@dataclass(frozen=True, slots=True)
class TenderRequest:
    type: str
    amount: str


@dataclass(frozen=True, slots=True)
class GiftCardSaleRequest:
    """A gift card sold at the till: its face value, and its code when the till hands over a printed card
    (left out, Seamline makes one up and answers it)."""

    amount: str
    code: str | None = None


@dataclass(frozen=True, slots=True)
class OrderRequest:
    channel: str
    external_id: str
    lines: Sequence[LineRequest]
    currency: str
    kind: str | None = None
    customer: ContactRequest | None = None
    hold_id: str | None = None
    tenders: Sequence[TenderRequest] = ()
    price_tier: str | None = None
    ship_start: date | None = None
    cancel_date: date | None = None
    prebook: bool = False
    #: The channel's commercial truth (prices, discounts, tax, shipping, payments and its total): stored with
    #: the order; finance invoices from it. The tenders then pay the channel's total (or part of it).
    commerce: OrderCommerce | None = None


@dataclass(frozen=True, slots=True)
class SaleRequest:
    location: str
    external_id: str
    lines: Sequence[LineRequest]
    tenders: Sequence[TenderRequest]
    currency: str
    customer: ContactRequest | None = None
    occurred_at: datetime | None = None
    channel: str | None = None
    force: bool = False
    #: The till's own numbers (a Square order's base prices, discounts, taxes and total), kept with the sale.
    commerce: OrderCommerce | None = None
    #: Gift cards sold in the sale: paid by its tenders with the goods, issued in its transaction.
    gift_cards: Sequence[GiftCardSaleRequest] = ()


@dataclass(frozen=True, slots=True)
class ReturnRequest:
    order_id: str
    location: str
    lines: Sequence[ReturnRequestLine]
    refund_tender: str | None = None
    #: What the channel refunded (lines, shipping, adjustments, transactions): the refund is its
    #: transactions, and finance credits from it.
    commerce: RefundCommerce | None = None


@dataclass(frozen=True, slots=True)
class ExchangeRequest:
    order_id: str
    location: str
    return_lines: Sequence[ReturnRequestLine]
    lines: Sequence[LineRequest]
    tenders: Sequence[TenderRequest] = ()
    refund_tender: str | None = None
    fulfil: str | None = None  # "here" (handed over now at ``location``) | "ship" (an order on the channel)
