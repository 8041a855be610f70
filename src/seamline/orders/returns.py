"""Returns (DESIGN 5): against the original order of any channel, at any location; never more than sold;
refunds go back to the tenders the order was paid with."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from seamline.domain.errors import FieldError, InvalidInput
from seamline.orders.model import Condition, LineState

#: The tender recorded for a refund of an order whose payment the channel holds (no tenders on the order).
ORIGINAL_PAYMENT = "original_payment"


@dataclass(frozen=True, slots=True)
class ReturnRequestLine:
    sku: str
    qty: int
    condition: str


@dataclass(frozen=True, slots=True)
class PlannedReturnLine:
    order_line_no: int
    sku: str
    qty: int
    condition: Condition
    amount: Decimal


def plan_return(lines: Sequence[LineState], requested: Sequence[ReturnRequestLine]) -> list[PlannedReturnLine]:
    """Match returned units to the order's lines (in line order, by SKU), or refuse the whole return.

    Units are returnable once they left stock for the order (picked; a POS sale's units at once) and
    have not been returned already. The amount is the price the customer paid.
    """
    errors: list[FieldError] = []
    left = {line.line_no: line.returnable for line in lines}
    out: list[PlannedReturnLine] = []
    kinds: set[str] = set()
    for i, req in enumerate(requested):
        try:
            condition = Condition(req.condition)
        except ValueError:
            errors.append(FieldError(f"lines[{i}].condition", "must be sellable or damaged"))
            kinds.add("condition")
            continue
        mine = [line for line in lines if line.sku == req.sku]
        if not mine:
            errors.append(FieldError(f"lines[{i}].sku", f"the order has no line for {req.sku}"))
            kinds.add("sku")
            continue
        want = req.qty
        for line in mine:
            part = min(want, left[line.line_no])
            if part:
                out.append(PlannedReturnLine(line.line_no, req.sku, part, condition, part * line.unit_price))
                left[line.line_no] -= part
                want -= part
        if want:
            sold = sum(line.picked for line in mine)
            back = sum(line.returned for line in mine)
            errors.append(
                FieldError(f"lines[{i}].qty", f"{req.qty} asked; {sold} of {req.sku} sold, {back} already returned")
            )
            kinds.add("qty")
    if kinds == {"sku"}:
        raise InvalidInput("the order has no such lines", errors, code="sku-not-on-order")
    if kinds == {"qty"}:
        raise InvalidInput("cannot return more than was sold", errors, code="return-exceeds-sold")
    if errors:
        raise InvalidInput("this return is not possible", errors)
    return out


def split_refund(
    amount: Decimal,
    tenders: Sequence[tuple[str, Decimal]],
    refunded: Mapping[str, Decimal],
    preferred: str | None,
) -> list[tuple[str, Decimal]]:
    """Refund ``amount`` to the order's original tenders: the preferred one first, then the others in the
    order they were paid, each up to what it paid less what was refunded to it already.

    An order without tenders (the channel took the payment) is refunded to ``original_payment``."""
    if amount <= 0:
        return []
    if not tenders:
        return [(preferred or ORIGINAL_PAYMENT, amount)]
    paid: dict[str, Decimal] = {}
    for kind, value in tenders:
        paid[kind] = paid.get(kind, Decimal(0)) + value
    if preferred is not None and preferred not in paid:
        raise InvalidInput(
            "refunds go to the original tender",
            [FieldError("refund.tender", f"the order was paid by {', '.join(paid)}, not {preferred}")],
            code="refund-tender-mismatch",
        )
    order = ([preferred] if preferred else []) + [k for k in paid if k != preferred]
    out: list[tuple[str, Decimal]] = []
    left = amount
    for kind in order:
        room = paid[kind] - refunded.get(kind, Decimal(0))
        part = min(left, room)
        if part > 0:
            out.append((kind, part))
            left -= part
    if left > 0:  # cannot happen while returns never exceed what was sold at the price paid
        raise InvalidInput("the refund exceeds what the order paid", [FieldError("refund", "exceeds the tenders")])
    return out
