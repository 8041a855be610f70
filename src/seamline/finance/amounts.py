"""Money arithmetic the journal relies on: rounding to a currency's minor unit, taking tax out of a
tax-inclusive price, and splitting an amount over weights so the parts add up exactly (no lost cent)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache

from seamline.domain.money import minor_exponent

ZERO = Decimal(0)


@cache  # a receipt rounds 100k values: the exponent lookup and scaleb were a tenth of its valuation
def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_exponent(currency))


def to_minor(amount: Decimal, currency: str) -> Decimal:
    """Round half-even (banker's rounding, what accounting packages use for tax) to the minor unit."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_EVEN)


def split_inclusive(gross: Decimal, rate: Decimal, currency: str) -> tuple[Decimal, Decimal]:
    """(net, tax) of a tax-inclusive amount: tax = gross - gross / (1 + rate), rounded once, so that
    net + tax is exactly ``gross``."""
    if rate == 0:
        return to_minor(gross, currency), ZERO
    tax = to_minor(gross - gross / (1 + rate), currency)
    return to_minor(gross, currency) - tax, tax


def allocate(total: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Split ``total`` in proportion to ``weights`` by the largest-remainder method in minor units: the parts
    add up to ``total`` exactly. Zero weights get nothing; all-zero weights put everything on the first."""
    if not weights:
        return []
    q = quantum(currency)
    units = int((to_minor(total, currency) / q).to_integral_value())
    sign = -1 if units < 0 else 1
    units = abs(units)
    weight_sum = sum((w for w in weights), ZERO)
    if weight_sum <= 0:
        return [total if i == 0 else ZERO for i in range(len(weights))]
    exact = [Decimal(units) * w / weight_sum for w in weights]
    floors = [int(e) for e in exact]
    left = units - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(sign * f) * q for f in floors]
