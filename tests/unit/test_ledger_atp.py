"""Available-to-promise per channel (DESIGN 4.4) and whole prepacks from component units."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from seamline.ledger import ChannelPolicy, channel_atp
from seamline.ledger.atp import ChannelAvailability, atp_many, prepack_atp, sku_availability

SKU = "OVS-001-NVY-M"


def web(**fields: object) -> ChannelPolicy:
    return ChannelPolicy(code="web", kind="shopify", sources=("WH", "STORE-1"), **fields)  # type: ignore[arg-type]


def test_available_is_pooled_over_the_channels_sources_only() -> None:
    result = channel_atp(web(), SKU, {"WH": 4, "STORE-1": 3, "STORE-2": 50}, [])
    assert result == ChannelAvailability(SKU, 7, False)
    assert result.published == 7


def test_a_source_with_no_balance_counts_as_zero() -> None:
    assert channel_atp(web(), SKU, {"WH": 4}, []).atp == 4


def test_negative_available_at_one_source_does_not_eat_another_sources_stock() -> None:
    # An oversold store (available -2) must not hide the warehouse's 5 from the web shop.
    assert channel_atp(web(), SKU, {"WH": 5, "STORE-1": -2}, []).atp == 5


def test_channel_safety_stock_is_deducted() -> None:
    assert channel_atp(web(safety_stock=2), SKU, {"WH": 4, "STORE-1": 3}, []).atp == 5


def test_per_sku_safety_override_replaces_the_channel_default_for_that_sku_only() -> None:
    policy = web(safety_stock=2, safety_overrides={SKU: 5})
    assert channel_atp(policy, SKU, {"WH": 10}, []).atp == 5
    assert channel_atp(policy, "OVS-001-NVY-L", {"WH": 10}, []).atp == 8


def test_per_sku_override_of_zero_removes_the_safety_stock() -> None:
    policy = web(safety_stock=2, safety_overrides={SKU: 0})
    assert channel_atp(policy, SKU, {"WH": 10}, []).atp == 10


def test_atp_never_goes_below_zero() -> None:
    assert channel_atp(web(safety_stock=5), SKU, {"WH": 3}, []).atp == 0


def test_other_channels_ring_fences_are_deducted_but_the_channels_own_is_not() -> None:
    wholesale = ChannelPolicy("b2b", "wholesale", ("WH",), ring_fences={SKU: 4})
    amazon = ChannelPolicy("amazon", "marketplace", ("WH",), ring_fences={SKU: 1, "OTHER": 9})
    own = web(ring_fences={SKU: 3})
    policies = [own, wholesale, amazon]
    assert channel_atp(own, SKU, {"WH": 10}, policies).atp == 5, "10 - 4 (b2b) - 1 (amazon); own 3 not deducted"
    assert channel_atp(wholesale, SKU, {"WH": 10}, policies).atp == 6, "10 - 3 (web) - 1 (amazon)"


def test_ring_fences_on_other_skus_do_not_touch_this_sku() -> None:
    wholesale = ChannelPolicy("b2b", "wholesale", ("WH",), ring_fences={"OTHER": 4})
    assert channel_atp(web(), SKU, {"WH": 10}, [wholesale]).atp == 10


def test_safety_and_ring_fences_add_up() -> None:
    wholesale = ChannelPolicy("b2b", "wholesale", ("WH",), ring_fences={SKU: 4})
    assert channel_atp(web(safety_stock=2), SKU, {"WH": 10}, [wholesale]).atp == 4


def test_below_pause_threshold_the_channel_is_paused_and_told_zero() -> None:
    result = channel_atp(web(pause_below=3), SKU, {"WH": 2}, [])
    assert (result.atp, result.paused, result.published) == (2, True, 0)


def test_at_the_pause_threshold_the_listing_stays_live() -> None:
    result = channel_atp(web(pause_below=3), SKU, {"WH": 3}, [])
    assert (result.atp, result.paused, result.published) == (3, False, 3)


def test_without_a_pause_threshold_zero_atp_is_not_a_pause() -> None:
    result = channel_atp(web(), SKU, {}, [])
    assert (result.atp, result.paused, result.published) == (0, False, 0)


@given(
    st.dictionaries(st.sampled_from(["WH", "STORE-1", "STORE-2"]), st.integers(-20, 200)),
    st.integers(0, 50),
    st.integers(0, 50),
    st.integers(0, 50),
)
def test_atp_matches_the_design_formula_for_any_balances(
    available: dict[str, int], safety: int, other_fence: int, own_fence: int
) -> None:
    own = web(safety_stock=safety, ring_fences={SKU: own_fence})
    other = ChannelPolicy("b2b", "wholesale", ("WH",), ring_fences={SKU: other_fence})
    result = channel_atp(own, SKU, available, [own, other])
    pooled = max(0, available.get("WH", 0)) + max(0, available.get("STORE-1", 0))
    kept = min(other_fence, max(0, available.get("WH", 0)))  # a fence on WH keeps only units that are at WH
    assert result.atp == max(0, pooled - safety - kept)
    assert 0 <= result.published <= pooled


# ------------------------------------------------------------------------------------------------ prepacks


def test_prepack_atp_is_the_number_of_whole_packs_the_scarcest_component_allows() -> None:
    components = [("S", 1), ("M", 2), ("L", 2), ("XL", 1)]
    assert prepack_atp({"S": 10, "M": 7, "L": 9, "XL": 10}, components) == 3


def test_prepack_with_a_missing_component_has_no_atp() -> None:
    assert prepack_atp({"S": 10, "M": 10}, [("S", 1), ("M", 2), ("L", 2)]) == 0


def test_prepack_without_components_has_no_atp() -> None:
    assert prepack_atp({"S": 10}, []) == 0


# ------------------------------------------------------------------------------------------------ the one ATP
PACK = [("S", 1), ("M", 2), ("L", 2), ("XL", 1)]


def test_a_prepacks_availability_is_whole_packs_of_its_components_channel_atp() -> None:
    # M: 9 at WH, 2 fenced for b2b, 1 safety stock -> 6 -> 3 packs; L: 5 -> 2 packs; S, XL plenty.
    policy = web(safety_stock=1)
    b2b = ChannelPolicy("b2b", "wholesale", ("WH",), ring_fences={"M": 2})
    available = {"S": {"WH": 9}, "M": {"WH": 9}, "L": {"WH": 4, "STORE-1": 2}, "XL": {"STORE-1": 9}}
    result = sku_availability(policy, "PACK", available, [policy, b2b], PACK)
    assert result == ChannelAvailability("PACK", 2, False)
    assert result.atp == prepack_atp(
        {c: channel_atp(policy, c, available[c], [policy, b2b]).atp for c, _ in PACK}, PACK
    )


def test_a_prepack_below_the_pause_threshold_is_paused_and_shown_zero() -> None:
    available = {"S": {"WH": 9}, "M": {"WH": 9}, "L": {"WH": 9}, "XL": {"WH": 9}}
    result = sku_availability(web(pause_below=5), "PACK", available, [], PACK)
    assert (result.atp, result.paused, result.published) == (4, True, 0)


def test_a_unit_skus_availability_is_its_channel_atp() -> None:
    b2b = ChannelPolicy("b2b", "wholesale", ("WH",), ring_fences={SKU: 3})
    available = {SKU: {"WH": 10, "STORE-1": 1}}
    assert sku_availability(web(), SKU, available, [b2b]) == channel_atp(web(), SKU, available[SKU], [b2b])
    assert sku_availability(web(), SKU, available, [b2b]).atp == 8
    assert sku_availability(web(), "UNSTOCKED", available, [b2b]).atp == 0


LOCATIONS = ("WH", "STORE-1", "STORE-2")
SKUS = ("A", "B", "C")


@st.composite
def channel_worlds(draw: st.DrawFn) -> tuple[list[ChannelPolicy], dict[str, dict[str, int]]]:
    policies = []
    for n in range(draw(st.integers(1, 4))):
        sources = tuple(draw(st.lists(st.sampled_from(LOCATIONS), min_size=1, max_size=3, unique=True)))
        fences = draw(st.dictionaries(st.sampled_from(SKUS), st.integers(0, 6), max_size=2))
        overrides = draw(st.dictionaries(st.sampled_from(SKUS), st.integers(0, 4), max_size=2))
        policies.append(
            ChannelPolicy(
                code=f"ch{n}",
                kind="web",
                sources=sources,
                safety_stock=draw(st.integers(0, 3)),
                pause_below=draw(st.integers(0, 4)),
                safety_overrides=overrides,
                ring_fences=fences,
            )
        )
    available = draw(
        st.dictionaries(st.sampled_from(SKUS), st.dictionaries(st.sampled_from(LOCATIONS), st.integers(-3, 12)))
    )
    return policies, available


@given(world=channel_worlds())
def test_atp_for_many_skus_equals_atp_for_each(world: tuple[list[ChannelPolicy], dict[str, dict[str, int]]]) -> None:
    policies, available = world
    for policy in policies:
        many = atp_many(policy, [*SKUS, "UNSTOCKED"], available, policies)
        for sku in [*SKUS, "UNSTOCKED"]:
            assert many[sku] == channel_atp(policy, sku, available.get(sku, {}), policies)
