"""Compare a 3PL's inventory advice with the ledger's figures for the same location.

The 3PL's count is evidence, not truth: a difference becomes a variance for someone to investigate (and,
once agreed, a count posted through the ledger), never an overwrite of the ledger's number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from seamline.channels.threepl.documents import InventorySnapshot, StockLevel


@dataclass(frozen=True, slots=True)
class Variance:
    sku: str
    #: The 3PL's measure compared: ``on_hand`` or ``available``.
    measure: str
    threepl: int
    ledger: int

    @property
    def difference(self) -> int:
        """Positive: the 3PL holds more than the ledger thinks; negative: fewer."""
        return self.threepl - self.ledger


@dataclass(frozen=True, slots=True)
class Unmatched:
    level: StockLevel
    reason: str


@dataclass(frozen=True, slots=True)
class VarianceReport:
    agreeing: tuple[str, ...]
    variances: tuple[Variance, ...]
    #: Lines of the advice that could not be compared (unknown item, not in eaches, reported twice).
    unmatched: tuple[Unmatched, ...]
    #: SKUs the ledger holds at this location that the advice does not mention (a complete advice only).
    not_reported: tuple[Variance, ...]

    @property
    def clean(self) -> bool:
        return not (self.variances or self.unmatched or self.not_reported)


def variance_report(
    snapshots: Iterable[InventorySnapshot],
    ledger_on_hand: Mapping[str, int],
    *,
    ledger_available: Mapping[str, int] | None = None,
    sku_by_gtin: Mapping[str, str] | None = None,
    complete: bool = True,
) -> VarianceReport:
    """Compare each reported level with the ledger figure of the same measure.

    ``ledger_on_hand`` (and ``ledger_available`` when the 3PL reports available units) hold the ledger's
    numbers for every SKU stocked at the 3PL location, zeros included. A line is matched by its SKU when
    the ledger knows it, else by its GTIN through ``sku_by_gtin``. ``complete`` says the advice covers
    the whole location, so a SKU with stock that it leaves out is reported too.
    """
    sku_by_gtin = sku_by_gtin or {}
    seen: set[str] = set()
    agreeing: list[str] = []
    variances: list[Variance] = []
    unmatched: list[Unmatched] = []
    for snapshot in snapshots:
        for level in snapshot.levels:
            sku = _resolve(level, ledger_on_hand, sku_by_gtin)
            if sku is None:
                unmatched.append(Unmatched(level, f"{level.item} is not a SKU stocked at this location"))
                continue
            if level.uom != "EA":
                unmatched.append(Unmatched(level, f"{sku} is reported in {level.uom}, not in eaches"))
                continue
            if sku in seen:
                unmatched.append(Unmatched(level, f"{sku} is reported more than once"))
                continue
            seen.add(sku)
            figures = ledger_available if level.measure == "available" and ledger_available is not None else None
            ledger = (figures or ledger_on_hand).get(sku, 0)
            if level.quantity == ledger:
                agreeing.append(sku)
            else:
                variances.append(Variance(sku, level.measure, level.quantity, ledger))
    not_reported = []
    if complete:
        not_reported = [
            Variance(sku, "on_hand", 0, qty) for sku, qty in sorted(ledger_on_hand.items()) if sku not in seen and qty
        ]
    return VarianceReport(tuple(agreeing), tuple(variances), tuple(unmatched), tuple(not_reported))


def _resolve(level: StockLevel, ledger: Mapping[str, int], sku_by_gtin: Mapping[str, str]) -> str | None:
    if level.item.sku is not None and level.item.sku in ledger:
        return level.item.sku
    if level.item.gtin is not None:
        sku = sku_by_gtin.get(level.item.gtin)
        if sku is not None and sku in ledger:
            return sku
    return None
