"""Cost of goods (DESIGN 7): a moving weighted average unit cost per SKU per location, the value each movement
carries at cost, and where that value is booked.

Every location that holds the brand's goods (warehouses, stores, 3PLs, and ``in_transit`` between them) keeps
one cost row per SKU: the units, the value at cost (in the base currency's minor unit) and the average unit
cost (``COST_PLACES`` decimals). A movement is valued once, when it is written, and the value is stored on it:

- goods coming in from outside (a receipt) carry their own unit cost; the average becomes
  ``(old_qty * old_avg + qty * cost) / (old_qty + qty)``, rounded half-even to ``COST_PLACES`` decimals, or
  the receipt's cost when the location had nothing (on hand <= 0) before it;
- goods going out leave at the location's average (``qty * avg`` rounded to the minor unit); the movement
  that empties a row takes exactly the value left on it, so no rounding residue stays behind;
- goods coming back carry the cost they left at (a return: the cost its order's units went out at; a
  transfer's receipt: the cost its shipment left the source at), so a transfer conserves value to the cent.

A row's value is always the sum of its movements' values: valuation as of any date is that sum over the
movements that occurred by then. The value crossing the brand's walls is booked to the inventory account
(``booking``): receipts against goods received not invoiced, sales and shipments to cost of goods sold (a
sellable return reverses it at the cost the sale went out at), counts, adjustments, damages and samples to
shrinkage. Pure: the standard library and ``seamline.domain`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from seamline.domain.unit_cost import COST_PLACES, COST_QUANTUM, MAX_UNIT_COST, parse_unit_cost, round_cost
from seamline.finance.amounts import ZERO, to_minor

#: Locations outside the brand's walls, or goods written off: their units carry no value at cost. Every
#: other location (warehouse, store, 3PL, in transit) is valued. The virtual locations are seeded once
#: under their kind as code (``ledger.model.VIRTUAL_LOCATIONS``), so the code says it.
UNVALUED_LOCATIONS = frozenset({"supplier", "customer", "adjustment", "damaged", "samples"})

#: Where a movement's unit cost came from (stored on the movement).
SOURCE_RECEIPT = "receipt"  # the receipt (the API, a stock import) named it
SOURCE_CATALOG = "catalog"  # the variant's standard cost
SOURCE_AVERAGE = "average"  # the location's moving average at the time
SOURCE_DOCUMENT = "document"  # the cost the same document's goods left at (a return, a transfer's receipt)
SOURCE_MISSING = "missing"  # a receipt with no cost anywhere: valued at 0 and flagged, never silently
FLAGGED_SOURCES = frozenset({SOURCE_MISSING})


def valued(location: str) -> bool:
    return location not in UNVALUED_LOCATIONS


@dataclass(frozen=True, slots=True)
class CostRow:
    """One (sku, location) at cost: units, value (minor units of the base currency), average unit cost."""

    qty: int = 0
    value: Decimal = ZERO
    unit_cost: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Valued:
    """What a movement carries at cost: the unit cost applied and the value it moves (>= 0)."""

    unit_cost: Decimal
    value: Decimal
    source: str


def receive(row: CostRow, qty: int, unit_cost: Decimal, currency: str, value: Decimal | None = None) -> CostRow:
    """``qty`` units come in at ``unit_cost``; ``value`` is what they carry when it is already known (the
    value that left the source of a transfer), else ``qty * unit_cost`` in minor units."""
    if qty <= 0:
        raise ValueError("a movement moves at least one unit")
    carried = to_minor(qty * unit_cost, currency) if value is None else value
    if row.qty <= 0:
        # Nothing (or less than nothing: an oversold row) was there: the receipt's cost is the average.
        average = round_cost(unit_cost)
    else:
        average = round_cost((row.qty * row.unit_cost + qty * unit_cost) / (row.qty + qty))
    return CostRow(row.qty + qty, row.value + carried, average)


def issue(row: CostRow, qty: int, currency: str, unit_cost: Decimal | None = None) -> tuple[CostRow, Valued]:
    """``qty`` units leave at the row's average (or at ``unit_cost`` when the document fixes it). The movement
    that empties the row takes the value left on it (and any units beyond, an oversell, at the cost)."""
    if qty <= 0:
        raise ValueError("a movement moves at least one unit")
    cost = row.unit_cost if unit_cost is None else unit_cost
    if 0 < row.qty <= qty:
        value = row.value + to_minor((qty - row.qty) * cost, currency)
    else:
        value = to_minor(qty * cost, currency)
    source = SOURCE_AVERAGE if unit_cost is None else SOURCE_DOCUMENT
    return CostRow(row.qty - qty, row.value - value, row.unit_cost), Valued(cost, value, source)


@dataclass(frozen=True, slots=True)
class Revalued:
    """Units on a row that carried no cost, valued at the cost now known: ``amount`` is what they gain."""

    units: int
    old_unit_cost: Decimal
    new_unit_cost: Decimal
    amount: Decimal


def revalue(row: CostRow, units: int, unit_cost: Decimal, currency: str) -> tuple[CostRow, Revalued]:
    """``units`` of ``row`` received at nothing (no cost known then) are valued at ``unit_cost``: the row keeps
    its units and gains ``units * unit_cost`` (minor units); its average becomes the weighted average of the
    other units at the row's average and these at ``unit_cost``. Only a row whose average is 0 holds units at
    nothing (a receipt at cost into it is revalued first), so the units' old unit cost is the row's average."""
    if units <= 0 or units > row.qty:
        raise ValueError("revalue at least one unit and at most the units on the row")
    if unit_cost <= 0:
        raise ValueError("a revaluation values units at a cost above 0")
    amount = to_minor(units * unit_cost, currency) - to_minor(units * row.unit_cost, currency)
    average = round_cost((row.qty * row.unit_cost + units * (unit_cost - row.unit_cost)) / row.qty)
    return CostRow(row.qty, row.value + amount, average), Revalued(units, row.unit_cost, unit_cost, amount)


def uncosted_units(row: CostRow, counted: int) -> int:
    """Units of ``row`` still at nothing: what the movements say came in at no cost and did not leave
    (``counted``), never more than the row holds nor less than 0, and none once the row has an average."""
    if row.unit_cost > 0 or row.qty <= 0:
        return 0
    return max(0, min(counted, row.qty))


def revaluation_cause(revaluation_id: str) -> str:
    return f"cost:revaluation:{revaluation_id}"


@dataclass(frozen=True, slots=True)
class Booking:
    """Where value crossing the walls is booked: ``account_role`` is debited when goods leave the valued
    locations (credited when they come in), the inventory account the other way."""

    account_role: str
    memo: str


def booking(kind: str, source: str, target: str) -> Booking | None:
    """The account a movement's value is booked against, or None when it stays within the valued locations
    (a transfer) or never entered them (a damaged return). Roles are ``finance.chart.Role`` values."""
    inward, outward = valued(target) and not valued(source), valued(source) and not valued(target)
    if not (inward or outward):
        return None
    if kind == "receipt":
        return Booking("goods_received", "goods received at cost")
    if kind == "revaluation":
        return Booking("cost_revaluation", "units received at no cost revalued")
    if kind in ("sale", "pick", "employee_purchase", "return"):
        return Booking("cogs", "cost of goods sold" if outward else "cost of goods returned")
    return Booking("shrinkage", f"{kind.replace('_', ' ')} at cost")


def cause_of(kind: str, document: str | None, reason: str | None, transaction: str) -> str | None:
    """The journal entry a movement's value is booked in (its ``source_key``), or None for a pick, booked at
    its order's shipment (``shipment_cause``). A return: one entry per return. Anything else: one entry per
    document (or per movement of none) per transaction, ``transaction`` naming it: a document written over
    several transactions (a 3PL's receipts, a transfer's short receipts) books each part once."""
    if kind == "pick":
        return None
    if kind == "return" and reason and reason.startswith("return "):
        return f"cost:return:{reason.removeprefix('return ')}"
    return f"cost:{kind}:{document or 'movement'}:{transaction}"


def shipment_cause(order_id: str, number: int) -> str:
    return f"cost:shipment:{order_id}:{number}"


__all__ = [
    "COST_PLACES",
    "COST_QUANTUM",
    "MAX_UNIT_COST",
    "FLAGGED_SOURCES",
    "UNVALUED_LOCATIONS",
    "Booking",
    "CostRow",
    "Revalued",
    "Valued",
    "booking",
    "cause_of",
    "issue",
    "parse_unit_cost",
    "receive",
    "revaluation_cause",
    "revalue",
    "round_cost",
    "shipment_cause",
    "uncosted_units",
    "valued",
]
