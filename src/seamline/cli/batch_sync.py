"""The architecture Seamline replaces, as a pure simulation: every sales channel keeps its own copy of the
stock numbers, refreshed from the physical truth by a batch sync every N minutes, and sells against that
copy in between. Fed the exact demand of a ``seamline demo`` run, it answers how many units that
architecture would have oversold (accepted, then found nowhere on the shelves) at each sync interval.

The rules are the same as the run's, so only the sync differs: each channel publishes
``max(0, stock at its sources - safety stock)`` (0 below its pause threshold); an order is accepted when the
channel's copy covers every line, then takes physical units from the channel's sources in order, and a
unit it cannot find is oversold. A till sells what is physically on its own shelf (it never oversells). A
returned sellable unit, a delivery or a damaged write-off changes the truth at once, and the channels
learn about it at their next sync, like everything else.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

#: What changes stock in the demand log.
ORDER = "order"  # a channel order (web checkout paid, marketplace, wholesale)
SALE = "sale"  # a till sale at ``location``
RETURN = "return"  # units back into ``location`` (sellable only)
RECEIPT = "receipt"  # a delivery into ``location``
WRITE_OFF = "write_off"  # units leaving ``location`` (damage)


@dataclass(frozen=True)
class ChannelCopy:
    """A channel's sourcing and publishing rules (the same as the run's channel policy)."""

    sources: tuple[str, ...]
    safety_stock: int = 0
    pause_below: int = 0

    def publish(self, truth: Mapping[tuple[str, str], int], sku: str) -> int:
        atp = max(0, sum(truth.get((sku, loc), 0) for loc in self.sources) - self.safety_stock)
        return 0 if self.pause_below and atp < self.pause_below else atp


@dataclass(frozen=True)
class DemandRecord:
    """One stock-changing thing that happened in the run, at ``at`` seconds after the drop opened."""

    at: float
    kind: str
    lines: tuple[tuple[str, int], ...]
    channel: str | None = None
    location: str | None = None


@dataclass
class IntervalResult:
    interval_minutes: float
    syncs: int = 0
    orders_accepted: int = 0
    orders_refused: int = 0
    #: Orders a stale copy refused while a fresh number would have taken them (sales lost to the sync).
    refused_in_stock: int = 0
    orders_oversold: int = 0
    oversold_units: int = 0
    oversold_by_channel: dict[str, int] = field(default_factory=dict)
    till_sales: int = 0
    #: At the prices given: what was sold without the stock to send it, and what stale copies turned away.
    oversold_value: Decimal = Decimal(0)
    refused_in_stock_value: Decimal = Decimal(0)


def replay(
    opening: Mapping[tuple[str, str], int],
    channels: Mapping[str, ChannelCopy],
    demand: Sequence[DemandRecord],
    interval_minutes: float,
    prices: Mapping[str, Decimal] | None = None,
) -> IntervalResult:
    """Play ``demand`` in time order against per-channel copies synced every ``interval_minutes``; with
    ``prices`` (per SKU), the money oversold and the money of sales refused while in stock too."""
    result = IntervalResult(interval_minutes)
    truth: dict[tuple[str, str], int] = defaultdict(int, opening)
    skus = sorted({sku for sku, _ in opening} | {sku for record in demand for sku, _ in record.lines})
    copies: dict[str, dict[str, int]] = {}
    interval = interval_minutes * 60
    next_sync = 0.0
    oversold_by: dict[str, int] = defaultdict(int)

    def sync() -> None:
        for code, channel in channels.items():
            copies[code] = {sku: channel.publish(truth, sku) for sku in skus}
        result.syncs += 1

    for record in sorted(demand, key=lambda r: r.at):
        while record.at >= next_sync:
            sync()
            next_sync += interval
        if record.kind == ORDER:
            _order(record, channels, copies, truth, result, oversold_by, prices or {})
        elif record.kind == SALE:
            assert record.location is not None
            if all(truth[(sku, record.location)] >= qty for sku, qty in _merged(record.lines)):
                for sku, qty in _merged(record.lines):
                    truth[(sku, record.location)] -= qty
                result.till_sales += 1
        elif record.kind in (RETURN, RECEIPT):
            assert record.location is not None
            for sku, qty in record.lines:
                truth[(sku, record.location)] += qty
        elif record.kind == WRITE_OFF:
            assert record.location is not None
            for sku, qty in record.lines:
                truth[(sku, record.location)] = max(0, truth[(sku, record.location)] - qty)
    result.oversold_by_channel = dict(sorted(oversold_by.items()))
    return result


def _merged(lines: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    total: dict[str, int] = defaultdict(int)
    for sku, qty in lines:
        total[sku] += qty
    return sorted(total.items())


def _order(
    record: DemandRecord,
    channels: Mapping[str, ChannelCopy],
    copies: dict[str, dict[str, int]],
    truth: dict[tuple[str, str], int],
    result: IntervalResult,
    oversold_by: dict[str, int],
    prices: Mapping[str, Decimal],
) -> None:
    assert record.channel is not None
    channel = channels[record.channel]
    copy = copies[record.channel]
    lines = _merged(record.lines)
    if not all(copy.get(sku, 0) >= qty for sku, qty in lines):
        result.orders_refused += 1
        if all(channel.publish(truth, sku) >= qty for sku, qty in lines):
            result.refused_in_stock += 1
            result.refused_in_stock_value += sum((prices.get(sku, Decimal(0)) * qty for sku, qty in lines), Decimal(0))
        return
    result.orders_accepted += 1
    short_units = 0
    for sku, qty in lines:
        copy[sku] -= qty
        need = qty
        for location in channel.sources:
            take = min(need, max(0, truth[(sku, location)]))
            truth[(sku, location)] -= take
            need -= take
        short_units += need
        result.oversold_value += prices.get(sku, Decimal(0)) * need
    if short_units:
        result.orders_oversold += 1
        result.oversold_units += short_units
        oversold_by[record.channel] += short_units


def compare(
    opening: Mapping[tuple[str, str], int],
    channels: Mapping[str, ChannelCopy],
    demand: Sequence[DemandRecord],
    intervals: Sequence[float] = (5, 15, 60),
    prices: Mapping[str, Decimal] | None = None,
) -> list[IntervalResult]:
    return [replay(opening, channels, demand, minutes, prices) for minutes in intervals]
