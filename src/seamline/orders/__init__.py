"""The one order queue (DESIGN 5): order state machine, allocation planning, returns, wholesale terms and
oversell rules, as plain Python over the ledger's vocabulary."""

from seamline.orders.allocation import AllocationPlan, DemandLine, plan_allocation, plan_pick
from seamline.orders.model import Condition, LineState, OrderKind, OrderStatus
from seamline.orders.state import Step, derive_status, require_step

__all__ = [
    "AllocationPlan",
    "Condition",
    "DemandLine",
    "LineState",
    "OrderKind",
    "OrderStatus",
    "Step",
    "derive_status",
    "plan_allocation",
    "plan_pick",
    "require_step",
]
