"""The channel bounds of DESIGN 4.4 where they live (``ledger.atp``, ``ledger.batch.decide``,
``orders.allocation.plan_channel_allocation``): a hold is bounded by the channel's ATP, an order the channel
took may use its safety stock, nobody takes what another channel's ring-fence keeps, and a property test
holds that over random operation sequences."""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import given, settings
from hypothesis import strategies as st

from seamline.ledger.atp import ChannelPolicy, channel_atp, fenced_at
from seamline.ledger.batch import ChannelRule, Demand, Granted, Short, decide
from seamline.orders.allocation import DemandLine, plan_channel_allocation

SKU = "OVS-001-NVY-M"
LOCATIONS = ("WH", "STORE-1", "STORE-2", "STORE-3")


def hold_demand(policy: ChannelPolicy, fences: tuple[ChannelPolicy, ...], qty: int, split: bool = False) -> Demand:
    return Demand(((SKU, None, qty),), policy.sources, split, ChannelRule(policy, fences))


def test_a_fence_keeps_units_only_where_its_channel_sources() -> None:
    wholesale = ChannelPolicy("b2b", "wholesale", ("WH",), ring_fences={SKU: 10})
    till = ChannelPolicy("till", "pos", ("STORE-1",))
    web = ChannelPolicy("web", "shopify", ("WH", "STORE-1"))
    available = {"WH": 20, "STORE-1": 3}
    assert fenced_at(till, SKU, available, [wholesale]) == {}
    assert channel_atp(till, SKU, available, [wholesale]).atp == 3
    assert fenced_at(web, SKU, available, [wholesale]) == {"WH": 10}
    assert channel_atp(web, SKU, available, [wholesale]).atp == 13


def test_fences_are_laid_in_their_channels_source_order_over_what_earlier_fences_left() -> None:
    amazon = ChannelPolicy("amazon", "amazon", ("STORE-1", "WH"), ring_fences={SKU: 6})
    wholesale = ChannelPolicy("b2b", "wholesale", ("WH",), ring_fences={SKU: 5})
    web = ChannelPolicy("web", "shopify", ("WH", "STORE-1"))
    kept = fenced_at(web, SKU, {"WH": 8, "STORE-1": 4}, [wholesale, amazon])
    assert kept == {"STORE-1": 4, "WH": 7}, "amazon: 4 at STORE-1 then 2 at WH; b2b: 5 at WH"


def test_a_hold_is_refused_by_the_safety_stock_and_says_so() -> None:
    web = ChannelPolicy("web", "shopify", ("WH",), safety_stock=1)
    available = {(SKU, "WH"): 3}
    assert isinstance(decide(available, hold_demand(web, (), 2)), Granted)
    refused = decide(available, hold_demand(web, (), 1))
    assert isinstance(refused, Short)
    assert [(s.available, s.bound) for s in refused.lines] == [(0, "safety_stock")]
    assert available == {(SKU, "WH"): 1}, "the refused hold left the running balance alone"


def test_a_hold_takes_from_the_unfenced_source_not_the_first_one() -> None:
    wholesale = ChannelPolicy("b2b", "wholesale", ("WH",), ring_fences={SKU: 10})
    web = ChannelPolicy("web", "shopify", ("WH", "STORE-1"))
    available = {(SKU, "WH"): 10, (SKU, "STORE-1"): 5}
    granted = decide(available, hold_demand(web, (wholesale,), 5))
    assert granted == Granted(((SKU, "STORE-1", 5),))
    refused = decide(available, hold_demand(web, (wholesale,), 1))
    assert isinstance(refused, Short)
    assert refused.lines[0].bound == "ring_fence"


def test_an_order_may_use_the_safety_stock_but_not_a_ring_fence() -> None:
    wholesale = ChannelPolicy("b2b", "wholesale", ("WH",), ring_fences={SKU: 5})
    web = ChannelPolicy("web", "shopify", ("WH",), safety_stock=2)
    line = DemandLine(1, SKU, 3, ((SKU, 1),))
    plan = plan_channel_allocation([line], web, [wholesale], web.sources, {(SKU, "WH"): 8}, allow_split=False)
    assert plan.complete, "8 - 5 fenced = 3, safety stock included"
    more = DemandLine(1, SKU, 4, ((SKU, 1),))
    short = plan_channel_allocation([more], web, [wholesale], web.sources, {(SKU, "WH"): 8}, allow_split=False)
    assert [(s.available, s.bound) for s in short.shortages()] == [(3, "ring_fence")]


# ------------------------------------------------------------------------------------------------ property


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[ChannelPolicy], dict[str, int]]:
    """Two fenced channels on disjoint locations (fences that do not compete with each other), two channels
    with any sources, safety stock and fences of their own, and stock anywhere."""
    owner = {loc: draw(st.sampled_from(["f1", "f2", None])) for loc in LOCATIONS}
    policies = []
    for code in ("f1", "f2"):
        mine = [loc for loc in LOCATIONS if owner[loc] == code]
        if mine:
            sources = tuple(draw(st.permutations(mine)))
            policies.append(ChannelPolicy(code, "wholesale", sources, ring_fences={SKU: draw(st.integers(0, 12))}))
    for code in ("web", "amazon"):
        sources = tuple(draw(st.lists(st.sampled_from(LOCATIONS), min_size=1, max_size=4, unique=True)))
        policies.append(ChannelPolicy(code, "shopify", sources, safety_stock=draw(st.integers(0, 3))))
    stock = {loc: draw(st.integers(0, 15)) for loc in LOCATIONS}
    return policies, stock


operations = st.lists(
    st.tuples(
        st.sampled_from(["hold", "order", "receive"]),
        st.integers(0, 3),  # which channel (modulo how many there are)
        st.integers(1, 9),
        st.booleans(),  # split allowed
        st.sampled_from([None, *LOCATIONS]),  # a hold's explicit location (or where a receipt lands)
    ),
    max_size=25,
)


def in_sources(available: Mapping[tuple[str, str], int], sources: tuple[str, ...]) -> int:
    return sum(available.get((SKU, loc), 0) for loc in sources)


@settings(max_examples=300, deadline=None)
@given(worlds(), operations)
def test_no_channel_ever_takes_units_another_channels_ring_fence_keeps(
    world: tuple[list[ChannelPolicy], dict[str, int]],
    ops: list[tuple[str, int, int, bool, str | None]],
) -> None:
    policies, stock = world
    fences = tuple(p for p in policies if p.ring_fences)
    available: dict[tuple[str, str], int] = {(SKU, loc): qty for loc, qty in stock.items()}
    for kind, which, qty, split, location in ops:
        if kind == "receive":
            key = (SKU, location or "WH")
            available[key] = available.get(key, 0) + qty
            continue
        taker = policies[which % len(policies)]
        before = dict(available)
        atp = channel_atp(taker, SKU, {loc: before.get((SKU, loc), 0) for loc in taker.sources}, policies).atp
        if kind == "hold":
            where = location if location in taker.sources else None
            demand = Demand(((SKU, where, qty),), taker.sources, split, ChannelRule(taker, fences))
            decision = decide(available, demand)
            taken = sum(q for _, _, q in decision.lines) if isinstance(decision, Granted) else 0
            assert taken <= atp, "a hold is bounded by what the channel is shown"
        else:
            line = DemandLine(1, SKU, qty, ((SKU, 1),))
            plan = plan_channel_allocation([line], taker, fences, taker.sources, available, allow_split=split)
            for sku, loc, units in plan.takes():
                assert loc in taker.sources, "an order draws only on its channel's sources"
                available[(sku, loc)] -= units
        for key, units in available.items():
            assert units >= 0, ("never below zero", key)
            if key[1] not in taker.sources:
                assert units == before.get(key, 0), "nothing taken outside the channel's sources"
        for fenced in fences:
            if fenced.code == taker.code:
                continue
            keep = min(fenced.ring_fences[SKU], in_sources(before, fenced.sources))
            assert in_sources(available, fenced.sources) >= keep, (taker.code, fenced.code)
