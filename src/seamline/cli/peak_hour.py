"""The demand of a simulated peak-trading hour, planned up front from a seed: the same seed plays the same
drop. A plan is a list of things to do at given simulated seconds after the doors open: web checkouts
(paid, abandoned or cancelled after a while), marketplace orders, till sales, wholesale orders, returns,
the warehouse's fulfilment rounds, a mid-drop delivery, a damaged unit, a cycle count, a merchant editing a
number in the Shopify admin, and the operator replaying the dead-letter queue after a channel's outage.

Opening: a crowd hits the drop's hot SKUs in the first two minutes, on every channel at once; that is
where a stock number synced every few minutes turns into oversold units.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from seamline.cli.samples import SampleCatalog

CHECKOUT = "checkout"
MARKETPLACE = "marketplace"
TILL = "till"
WHOLESALE = "wholesale"
RETURN = "return"
FULFIL = "fulfil"
RESTOCK = "restock"
DAMAGE = "damage"
COUNT = "count"
MERCHANT_EDIT = "merchant_edit"
REPLAY_DLQ = "replay_dlq"

#: Share of the run (by plan time) during which the flaky channel's API is down.
OUTAGE = (0.20, 0.45)
#: Per simulated minute, at the base rate (before the opening burst and the hour's shape).
RATES = {"web": 10.0, "amazon": 2.0, "zalando": 1.0, "till": 1.5, "wholesale": 0.12, "return": 0.6}
BURST_SECONDS = 120.0
BURST_WEB = 150
BURST_MARKETPLACE = {"amazon": 24, "zalando": 12}
BURST_TILL = 4


@dataclass(frozen=True)
class Planned:
    at: float  # simulated seconds after the doors open
    kind: str
    ref: str
    channel: str | None = None
    location: str | None = None
    lines: tuple[tuple[str, int], ...] = ()
    intent: str = "buy"  # checkout: buy | abandon | cancel
    pay_after: float = 0.0  # checkout: seconds from the hold to paying (or cancelling)
    draw: float = 0.0  # a seeded number for choices made against live state (which order to return, ...)
    condition: str = "sellable"  # return


@dataclass(frozen=True)
class PeakHour:
    minutes: float
    events: list[Planned]
    hot_skus: list[str]
    outage: tuple[float, float]  # simulated seconds

    def outage_at(self, at: float) -> bool:
        return self.outage[0] <= at < self.outage[1]


def _arrivals(rng: random.Random, per_minute: float, start: float, end: float) -> list[float]:
    """A Poisson process that runs 40 % hotter in the first third of the run and 20 % cooler after."""
    out: list[float] = []
    t = start
    third = start + (end - start) / 3
    while True:
        rate = per_minute / 60 * (1.4 if t < third else 0.8)
        t += rng.expovariate(rate)
        if t >= end:
            return out
        out.append(t)


def plan_peak_hour(
    catalog: SampleCatalog, *, minutes: float, seed: int, stores: Sequence[str], marketplaces: Sequence[str]
) -> PeakHour:
    rng = random.Random(seed)
    duration = minutes * 60
    hot = list(catalog.hot_skus)
    skus = catalog.unit_skus
    popularity = [1 / (rank + 5) for rank in range(len(skus))]
    shuffled = skus[:]
    rng.shuffle(shuffled)
    events: list[Planned] = []
    n = 0

    def ref(prefix: str) -> str:
        nonlocal n
        n += 1
        return f"{prefix}-{seed}-{n:06d}"

    def some_skus(count: int, hot_share: float) -> tuple[tuple[str, int], ...]:
        chosen: dict[str, int] = {}
        for _ in range(count):
            sku = rng.choice(hot) if rng.random() < hot_share else rng.choices(shuffled, popularity)[0]
            chosen[sku] = chosen.get(sku, 0) + (1 if rng.random() < 0.85 else 2)
        return tuple(sorted(chosen.items()))

    def checkout(at: float, hot_share: float) -> Planned:
        roll = rng.random()
        intent = "buy" if roll < 0.8 else ("abandon" if roll < 0.92 else "cancel")
        lines = some_skus(1 if rng.random() < 0.75 else (2 if rng.random() < 0.8 else 3), hot_share)
        return Planned(at, CHECKOUT, ref("web"), "web", lines=lines, intent=intent, pay_after=rng.uniform(15, 90))

    burst = min(BURST_SECONDS, duration / 2)
    for _ in range(BURST_WEB):
        events.append(checkout(rng.uniform(0, burst), 1.0))
    for channel, count in BURST_MARKETPLACE.items():
        if channel in marketplaces:
            for _ in range(count):
                events.append(
                    Planned(rng.uniform(0, burst), MARKETPLACE, ref(channel), channel, lines=((rng.choice(hot), 1),))
                )
    for store in stores:
        for _ in range(BURST_TILL):
            events.append(Planned(rng.uniform(0, burst), TILL, ref("till"), location=store, draw=rng.random()))

    for at in _arrivals(rng, RATES["web"], 0, duration):
        events.append(checkout(at, 0.3))
    for channel in marketplaces:
        for at in _arrivals(rng, RATES.get(channel, 1.0), 0, duration):
            events.append(Planned(at, MARKETPLACE, ref(channel), channel, lines=some_skus(1, 0.3)))
    for store in stores:
        for at in _arrivals(rng, RATES["till"], 0, duration):
            events.append(Planned(at, TILL, ref("till"), location=store, draw=rng.random()))
    for at in _arrivals(rng, RATES["wholesale"], 0, duration):
        lines = dict(some_skus(rng.randint(3, 5), 0.0))
        wholesale_lines = {sku: 6 * rng.randint(1, 2) for sku in lines}
        if catalog.prepack_skus and rng.random() < 0.5:
            wholesale_lines[rng.choice(catalog.prepack_skus)] = rng.randint(1, 2)
        events.append(Planned(at, WHOLESALE, ref("b2b"), "wholesale", lines=tuple(sorted(wholesale_lines.items()))))
    for at in _arrivals(rng, RATES["return"], duration * 0.15, duration):
        condition = "sellable" if rng.random() < 0.85 else "damaged"
        location = rng.choice(stores) if rng.random() < 0.6 else "WH"
        events.append(Planned(at, RETURN, ref("rma"), location=location, draw=rng.random(), condition=condition))

    t = 90.0
    while t < duration:
        events.append(Planned(t, FULFIL, ref("wave")))
        t += 90.0
    events.append(Planned(duration * 0.50, RESTOCK, ref("asn"), location="WH", lines=tuple((sku, 10) for sku in hot)))
    events.append(
        Planned(duration * 0.50, RESTOCK, ref("asn"), location="3PL-EU", lines=tuple((sku, 6) for sku in hot))
    )
    events.append(Planned(duration * 0.33, DAMAGE, ref("dmg"), location=stores[0], draw=rng.random()))
    events.append(Planned(duration * 0.60, COUNT, ref("cnt"), location=stores[-1], draw=rng.random()))
    events.append(Planned(duration * 0.47, MERCHANT_EDIT, ref("edit"), "web", lines=((hot[0], 40),)))
    events.append(Planned(duration * 0.72, REPLAY_DLQ, ref("replay")))
    events.sort(key=lambda e: (e.at, e.ref))
    outage = (duration * OUTAGE[0], duration * OUTAGE[1])
    return PeakHour(minutes, events, hot, outage)
