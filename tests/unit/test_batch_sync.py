"""The batch-sync simulation the demo compares Seamline with: per-channel stock copies, synced every N
minutes, sold against in between."""

from __future__ import annotations

from decimal import Decimal

from seamline.cli.batch_sync import (
    ORDER,
    RECEIPT,
    SALE,
    ChannelCopy,
    DemandRecord,
    compare,
    replay,
)

OPENING = {("TEE-M", "WH"): 5, ("TEE-M", "SOHO"): 2}
CHANNELS = {"web": ChannelCopy(("WH",)), "amazon": ChannelCopy(("WH",), pause_below=2)}


def order(at: float, channel: str, qty: int = 1) -> DemandRecord:
    return DemandRecord(at, ORDER, (("TEE-M", qty),), channel=channel)


def test_two_channels_selling_one_warehouse_from_stale_copies_oversell_it() -> None:
    demand = [order(10 * i, "web") for i in range(5)] + [order(10 * i + 5, "amazon") for i in range(4)]
    result = replay(OPENING, CHANNELS, demand, 15)
    assert result.orders_accepted == 9  # each channel believed it had 5
    assert result.oversold_units == 4
    assert result.orders_oversold == 4
    assert sum(result.oversold_by_channel.values()) == 4


def test_a_sync_before_every_order_is_real_time_and_oversells_nothing() -> None:
    demand = [order(10 * i, "web") for i in range(5)] + [order(10 * i + 5, "amazon") for i in range(4)]
    result = replay(OPENING, CHANNELS, demand, 5 / 60)  # every 5 seconds: before each order
    assert result.oversold_units == 0
    assert result.orders_accepted == 5  # five units, five orders; the rest refused with nothing on the shelf
    assert result.refused_in_stock == 0


def test_a_delivery_is_sold_only_after_the_next_sync_and_the_refusals_are_counted() -> None:
    demand = [order(1, "web", 5), DemandRecord(2, RECEIPT, (("TEE-M", 3),), location="WH"), order(3, "web", 2)]
    stale = replay(OPENING, CHANNELS, demand, 60)
    assert stale.orders_accepted == 1
    assert stale.refused_in_stock == 1  # the 3 units had arrived; the copy did not know
    fresh = replay(OPENING, CHANNELS, demand, 2.5 / 60)
    assert fresh.orders_accepted == 2


def test_a_till_sells_only_what_is_on_its_shelf() -> None:
    demand = [DemandRecord(i, SALE, (("TEE-M", 1),), location="SOHO") for i in range(4)]
    result = replay(OPENING, CHANNELS, demand, 15)
    assert result.till_sales == 2
    assert result.oversold_units == 0


def test_longer_intervals_oversell_at_least_as_much_on_a_drop() -> None:
    opening = {(f"S{i}", "WH"): 4 for i in range(3)}
    demand = [DemandRecord(t * 20.0, ORDER, ((f"S{t % 3}", 1),), channel=("web", "amazon")[t % 2]) for t in range(180)]
    results = compare(opening, {"web": ChannelCopy(("WH",)), "amazon": ChannelCopy(("WH",))}, demand, (5, 15, 60))
    assert [r.interval_minutes for r in results] == [5, 15, 60]
    assert results[0].oversold_units <= results[1].oversold_units <= results[2].oversold_units
    assert results[2].oversold_units > 0


def test_at_the_given_prices_the_oversold_units_and_the_sales_turned_away_are_counted_in_money() -> None:
    oversold = [order(10 * i, "web") for i in range(5)] + [order(10 * i + 5, "amazon") for i in range(4)]
    result = replay(OPENING, CHANNELS, oversold, 15, {"TEE-M": Decimal("19.50")})
    assert result.oversold_value == 4 * Decimal("19.50")
    turned_away = [order(1, "web", 5), DemandRecord(2, RECEIPT, (("TEE-M", 3),), location="WH"), order(3, "web", 2)]
    stale = replay(OPENING, CHANNELS, turned_away, 60, {"TEE-M": Decimal("19.50")})
    assert stale.refused_in_stock_value == 2 * Decimal("19.50")
    assert replay(OPENING, CHANNELS, oversold, 15).oversold_value == 0  # no prices: units only
