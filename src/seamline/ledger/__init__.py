"""The one inventory ledger: locations, immutable double-entry movements, balances, holds and ATP."""

from seamline.ledger.atp import ChannelPolicy, channel_atp
from seamline.ledger.model import (
    SELLABLE_KINDS,
    SINK_KINDS,
    VIRTUAL_LOCATIONS,
    Balance,
    HoldLineRequest,
    LocationKind,
    MovementKind,
    MovementRequest,
)
from seamline.ledger.movements import plan_alike, plan_movement
from seamline.ledger.reconcile import Difference, compare_balances

__all__ = [
    "SELLABLE_KINDS",
    "SINK_KINDS",
    "VIRTUAL_LOCATIONS",
    "Balance",
    "ChannelPolicy",
    "Difference",
    "HoldLineRequest",
    "LocationKind",
    "MovementKind",
    "MovementRequest",
    "channel_atp",
    "compare_balances",
    "plan_alike",
    "plan_movement",
]
