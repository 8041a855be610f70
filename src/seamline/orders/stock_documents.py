"""Transfers and counts: the non-sale documents that move stock (DESIGN 5)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from seamline.domain.errors import Conflict


class TransferStatus(StrEnum):
    OPEN = "open"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class CountStatus(StrEnum):
    OPEN = "open"
    POSTED = "posted"
    CANCELLED = "cancelled"


_TRANSFER_STEPS = {
    "ship": (TransferStatus.OPEN,),
    "receive": (TransferStatus.IN_TRANSIT,),
    "cancel": (TransferStatus.OPEN,),
}


def require_transfer_step(step: str, status: TransferStatus) -> None:
    if status not in _TRANSFER_STEPS[step]:
        raise Conflict(
            f"cannot {step} a transfer that is {status.value}",
            code="illegal-transition",
            extra={"current": status.value},
        )


def require_count_open(status: CountStatus, step: str) -> None:
    if status is not CountStatus.OPEN:
        raise Conflict(
            f"cannot {step} a count that is {status.value}", code="illegal-transition", extra={"current": status.value}
        )


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """What a receipt of one SKU does: ``arrived`` units move in_transit -> destination; a ``short`` is
    written off in transit (lost on the way), an ``over`` is a gain at the destination."""

    sku: str
    shipped: int
    received: int

    @property
    def arrived(self) -> int:
        return min(self.shipped, self.received)

    @property
    def short(self) -> int:
        return max(0, self.shipped - self.received)

    @property
    def over(self) -> int:
        return max(0, self.received - self.shipped)


def receipt_lines(shipped: Mapping[str, int], received: Mapping[str, int] | None) -> list[ReceiptLine]:
    """A receipt without lines receives exactly what was shipped."""
    got = dict(shipped) if received is None else received
    return [ReceiptLine(sku, shipped.get(sku, 0), got.get(sku, 0)) for sku in sorted(set(shipped) | set(got))]


def count_variance(on_hand_at_entry: int, counted: int) -> int:
    """Counted less what the ledger said when the count was entered: movements during the count (sales,
    receipts) are already in that number, so only real shrink or gain is left."""
    return counted - on_hand_at_entry
