"""The order queue's domain events: the business facts finance posts and channels are told about."""

from __future__ import annotations

from dataclasses import dataclass

from seamline.domain.events import DomainEvent


@dataclass(frozen=True)
class SaleRecorded(DomainEvent):
    """A till sale was recorded (the goods left the store with the customer)."""

    order_id: str


@dataclass(frozen=True)
class OrderShipped(DomainEvent):
    """Units of this order shipped."""

    order_id: str


@dataclass(frozen=True)
class OrderCancelled(DomainEvent):
    """The whole order was cancelled here (nothing of it had shipped): the channel it came from is told."""

    order_id: str


@dataclass(frozen=True)
class OrderLinesCancelled(DomainEvent):
    """Units of some lines of this order were cancelled while the rest goes on (``cancellation`` names this
    cancellation; ``lines`` are (line number, units))."""

    order_id: str
    cancellation: str
    lines: tuple[tuple[int, int], ...]
    reason: str | None = None


@dataclass(frozen=True)
class ReturnBooked(DomainEvent):
    """Goods came back against an order (a return, or the return half of an exchange)."""

    return_id: str


__all__ = ["OrderCancelled", "OrderLinesCancelled", "OrderShipped", "ReturnBooked", "SaleRecorded"]
