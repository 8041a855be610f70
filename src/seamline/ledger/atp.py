"""Available-to-promise per channel (DESIGN 4.4), computed from balances, never stored as truth."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def channel_atp(
    policy: ChannelPolicy,
    sku: str,
    available_by_location: Mapping[str, int],
    all_fences: Sequence[ChannelPolicy],
) -> ChannelAvailability:
    """ATP = max(0, sum of available over sources - safety - ring-fences of other channels).

    A channel's own ring-fence is not deducted: those units are held *for* it.
    """
    pooled = sum(max(0, available_by_location.get(loc, 0)) for loc in policy.sources)
    fenced_elsewhere = sum(p.ring_fences.get(sku, 0) for p in all_fences if p.code != policy.code)
    atp = max(0, pooled - policy.safety_for(sku) - fenced_elsewhere)
    return ChannelAvailability(sku=sku, atp=atp, paused=policy.pause_below > 0 and atp < policy.pause_below)


def prepack_atp(component_atp: Mapping[str, int], components: Sequence[tuple[str, int]]) -> int:
    """How many whole packs the component units make."""
    return min((component_atp.get(sku, 0) // units for sku, units in components), default=0)
