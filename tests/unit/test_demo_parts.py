"""Pieces of `seamline demo` and the dashboard that need no database: the simulated clock's conversion to
wall time, the seeded plan of the peak hour, and the sparkline geometry."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from seamline.cli.demo_world import SimulatedClock
from seamline.cli.peak_hour import CHECKOUT, FULFIL, REPLAY_DLQ, plan_peak_hour
from seamline.cli.samples import sample_catalog
from seamline.web.charts import sparkline
from seamline.web.kpis import percentile

START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def test_the_simulated_clock_converts_business_intervals_to_wall_time_across_speeds_and_jumps() -> None:
    clock = SimulatedClock(START, 1.0)
    time.sleep(0.05)
    opened = clock.run_from(START + timedelta(hours=1), 100.0)  # jump to the doors opening, then 100x
    assert opened == START + timedelta(hours=1)
    time.sleep(0.05)
    later = clock.now()
    assert 4.0 <= (later - opened).total_seconds() <= 20.0
    assert abs(clock.wall_seconds(opened, later) - (later - opened).total_seconds() / 100) < 1e-6
    assert clock.wall_seconds(START + timedelta(minutes=5), opened) < 0.5  # the jump took no wall time
    ended = clock.run_from(clock.now(), 1.0)
    assert clock.speed == 1.0
    assert abs(clock.wall_seconds(ended, ended + timedelta(seconds=3)) - 3.0) < 1e-6


def test_the_same_seed_plans_the_same_hour_with_a_burst_on_the_hot_skus() -> None:
    catalog = sample_catalog(seed=3)
    stores, marketplaces = ["STORE-A", "STORE-B"], ["amazon", "zalando"]
    one = plan_peak_hour(catalog, minutes=60, seed=11, stores=stores, marketplaces=marketplaces)
    two = plan_peak_hour(catalog, minutes=60, seed=11, stores=stores, marketplaces=marketplaces)
    assert one.events == two.events
    assert one.events != plan_peak_hour(catalog, minutes=60, seed=12, stores=stores, marketplaces=marketplaces).events
    opening = [e for e in one.events if e.kind == CHECKOUT and e.at < 120]
    assert len(opening) >= 150
    assert sum(all(sku in catalog.hot_skus for sku, _ in e.lines) for e in opening) >= 150
    assert any(e.kind == FULFIL for e in one.events)
    assert [e.at for e in one.events if e.kind == REPLAY_DLQ][0] > one.outage[1]
    assert one.outage_at(one.outage[0])
    assert not one.outage_at(one.outage[1])
    short = plan_peak_hour(catalog, minutes=5, seed=11, stores=stores, marketplaces=marketplaces)
    assert max(e.at for e in short.events) < 300


def test_a_sparkline_breaks_at_gaps_and_scales_to_its_highest_value() -> None:
    t = [START + timedelta(minutes=m) for m in range(5)]
    spark = sparkline([(t[0], 1.0), (t[1], 2.0), (t[2], None), (t[3], 4.0), (t[4], None)], start=t[0], end=t[4])
    assert len(spark.lines) == 1  # the first two points
    assert len(spark.dots) == 1  # the lone point after the gap
    assert spark.top == 4.0
    assert spark.last == 4.0
    assert sparkline([], start=t[0], end=t[4]).empty


def test_a_sparkline_of_zeros_says_its_highest_value_is_zero_however_tall_its_scale() -> None:
    t = [START + timedelta(minutes=m) for m in range(3)]
    spark = sparkline([(at, 0.0) for at in t], start=t[0], end=t[2])
    assert spark.peak == 0.0
    assert spark.all_zero
    assert spark.top == 1.0  # the scale keeps a floor, so the zero line sits on the axis, not mid-chart
    ys = {float(point.split(",")[1]) for point in spark.lines[0].split()}
    assert ys == {float(spark.baseline)}
    rising = sparkline([(t[0], 0.0), (t[1], 0.5), (t[2], 3.0)], start=t[0], end=t[2])
    assert (rising.peak, rising.top, rising.all_zero) == (3.0, 3.0, False)


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([], 0.5) is None
