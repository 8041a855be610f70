"""Available-to-promise per channel (DESIGN 4.4), computed from balances, never stored as truth."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ChannelPolicy:
    code: str
    kind: str
    sources: tuple[str, ...]
    safety_stock: int = 0
    pause_below: int = 0
    safety_overrides: Mapping[str, int] = field(default_factory=dict)
    ring_fences: Mapping[str, int] = field(default_factory=dict)

    def safety_for(self, sku: str) -> int:
        return self.safety_overrides.get(sku, self.safety_stock)


@dataclass(frozen=True, slots=True)
class ChannelAvailability:
    sku: str
    atp: int
    paused: bool

    @property
    def published(self) -> int:
        """What the channel is told: zero while paused, so a listing never sells into the buffer."""
        return 0 if self.paused else self.atp


def fenced_at(
    policy: ChannelPolicy,
    sku: str,
    available_by_location: Mapping[str, int],
    all_fences: Sequence[ChannelPolicy],
) -> dict[str, int]:
    """Units at each of ``policy``'s sources that other channels' ring-fences keep (DESIGN 4.4).

    A ring-fence lives on its own channel's sources: it keeps what is available there, in that channel's
    source order, and only the part of it within ``policy``'s reach is counted (a fence on warehouse stock
    never touches a channel that sources only a store). Fences are laid down channel by channel, in code
    order, over what earlier fences left. Stock the fenced channel holds outside ``policy``'s sources is not
    counted as keeping the fence: conservative, and it needs no row beyond the channel's own sources (which
    are exactly the rows a hold or an order locks).
    """
    mine = set(policy.sources)
    left = {loc: max(0, available_by_location.get(loc, 0)) for loc in policy.sources}
    kept: dict[str, int] = {}
    for other in sorted(all_fences, key=lambda p: p.code):
        fence = other.ring_fences.get(sku, 0)
        if other.code == policy.code or fence <= 0:
            continue
        for loc in other.sources:
            if fence <= 0:
                break
            if loc in mine and left[loc] > 0:
                part = min(fence, left[loc])
                left[loc] -= part
                kept[loc] = kept.get(loc, 0) + part
                fence -= part
    return kept


def usable_by_location(
    policy: ChannelPolicy,
    sku: str,
    available_by_location: Mapping[str, int],
    all_fences: Sequence[ChannelPolicy],
) -> dict[str, int]:
    """What the channel may take at each of its sources: available less what other channels' fences keep
    there. An order the channel has taken may use all of it; a hold also leaves the safety stock."""
    kept = fenced_at(policy, sku, available_by_location, all_fences)
    return {loc: max(0, available_by_location.get(loc, 0)) - kept.get(loc, 0) for loc in policy.sources}


def usable_rows(
    policy: ChannelPolicy,
    skus: Iterable[str],
    available: Mapping[tuple[str, str], int],
    all_fences: Sequence[ChannelPolicy],
) -> dict[tuple[str, str], int]:
    """``usable_by_location`` for several SKUs, keyed like the balance rows: (sku, location) -> units."""
    out: dict[tuple[str, str], int] = {}
    for sku in skus:
        here = {loc: available.get((sku, loc), 0) for loc in policy.sources}
        for loc, units in usable_by_location(policy, sku, here, all_fences).items():
            out[(sku, loc)] = units
    return out


def channel_atp(
    policy: ChannelPolicy,
    sku: str,
    available_by_location: Mapping[str, int],
    all_fences: Sequence[ChannelPolicy],
) -> ChannelAvailability:
    """ATP = max(0, sum over sources of (available - other channels' ring-fences kept there) - safety).

    A channel's own ring-fence is not deducted: those units are held *for* it. This is also the bound of a
    hold of the channel (``ledger.batch.decide``), so what is published is what a checkout can hold.
    """
    pooled = sum(usable_by_location(policy, sku, available_by_location, all_fences).values())
    atp = max(0, pooled - policy.safety_for(sku))
    return ChannelAvailability(sku=sku, atp=atp, paused=policy.pause_below > 0 and atp < policy.pause_below)


def prepack_atp(component_atp: Mapping[str, int], components: Sequence[tuple[str, int]]) -> int:
    """How many whole packs the component units make."""
    return min((component_atp.get(sku, 0) // units for sku, units in components), default=0)


def sku_availability(
    policy: ChannelPolicy,
    sku: str,
    available: Mapping[str, Mapping[str, int]],
    all_fences: Sequence[ChannelPolicy],
    components: Sequence[tuple[str, int]] | None = None,
) -> ChannelAvailability:
    """The one ATP of a SKU on a channel (DESIGN 4.4): what the availability publisher emits, what
    ``GET /v1/availability/{channel}`` answers and what Shopify's drift check compares against.

    ``available`` is SKU -> location -> units available, for the SKU itself or, when ``components`` names a
    prepack's (component SKU, units), for its components: a pack holds no stock of its own, so its ATP is the
    whole packs its components' channel ATP make (each component with the channel's ring-fences and safety
    stock), and it pauses below the channel's ``pause_below`` like any SKU.
    """
    if components is None:
        return channel_atp(policy, sku, available.get(sku, {}), all_fences)
    component_atp = {c: channel_atp(policy, c, available.get(c, {}), all_fences).atp for c, _ in components}
    atp = prepack_atp(component_atp, components)
    return ChannelAvailability(sku=sku, atp=atp, paused=policy.pause_below > 0 and atp < policy.pause_below)


def atp_many(
    policy: ChannelPolicy,
    skus: Iterable[str],
    available: Mapping[str, Mapping[str, int]],
    all_fences: Sequence[ChannelPolicy],
) -> dict[str, ChannelAvailability]:
    """``channel_atp`` of ``policy`` for many SKUs at once (``available``: sku -> location -> units), for a
    recompute of a whole catalog: the other channels' ring-fences are sorted out once, not once per SKU, and a
    SKU that no other channel fences skips the fence walk. A fenced SKU goes through ``channel_atp`` itself, so
    there is one rule; a unit test checks the two agree."""
    fencing = [p for p in all_fences if p.code != policy.code and p.ring_fences]
    sources = frozenset(policy.sources)
    out: dict[str, ChannelAvailability] = {}
    empty: Mapping[str, int] = {}
    for sku in skus:
        here = available.get(sku, empty)
        if any(p.ring_fences.get(sku, 0) > 0 for p in fencing):
            out[sku] = channel_atp(policy, sku, here, all_fences)
            continue
        # A SKU is stocked at a few of a channel's many sources: walk its balances, not the sources.
        pooled = sum(units for loc, units in here.items() if units > 0 and loc in sources)
        atp = max(0, pooled - policy.safety_for(sku))
        out[sku] = ChannelAvailability(sku=sku, atp=atp, paused=policy.pause_below > 0 and atp < policy.pause_below)
    return out
