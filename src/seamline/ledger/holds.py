"""Validating a hold request's lines into demand per (sku, location), prepacks exploded into units."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from seamline.domain.errors import FieldError, InvalidInput
from seamline.domain.quantity import require_positive_qty
from seamline.ledger.model import SELLABLE_KINDS, HoldLineRequest, LocationKind


def resolve_demand(
    channel: str | None,
    lines: Sequence[HoldLineRequest],
    sku_kinds: Mapping[str, str],
    packs: Mapping[str, Sequence[tuple[str, int]]],
    location_kinds: Mapping[str, LocationKind],
    sources: Sequence[str] | None = None,
) -> dict[tuple[str, str | None], int]:
    """Sum units per (sku, location); location None means "from the channel's sources".

    ``sku_kinds`` maps known SKUs to ``variant``/``prepack``; ``packs`` maps prepack SKUs to their
    components; ``sources`` are the channel's sources, the only locations a channel's hold may name
    (DESIGN 4.4: a channel draws only on its sources, whoever calls). Every bad line is reported, not just
    the first. Demand of lines sharing a component is summed,
    so a pack and a loose unit of the same size cannot both be promised the last unit.
    """
    errors: list[FieldError] = []
    if not lines:
        errors.append(FieldError("lines", "needs at least one line"))
    demand: dict[tuple[str, str | None], int] = defaultdict(int)
    for i, line in enumerate(lines):
        try:
            qty = require_positive_qty(line.qty, f"lines[{i}].qty")
        except InvalidInput as exc:
            errors.extend(exc.errors)
            continue
        if line.sku not in sku_kinds:
            errors.append(FieldError(f"lines[{i}].sku", f"unknown SKU {line.sku!r}"))
            continue
        if line.location is not None:
            if line.location not in location_kinds:
                errors.append(FieldError(f"lines[{i}].location", f"unknown location {line.location!r}"))
                continue
            if location_kinds[line.location] not in SELLABLE_KINDS:
                errors.append(FieldError(f"lines[{i}].location", f"{line.location} is not sellable"))
                continue
            if sources is not None and line.location not in sources:
                errors.append(
                    FieldError(f"lines[{i}].location", f"{line.location} is not a source of channel {channel}")
                )
                continue
        elif channel is None:
            errors.append(FieldError(f"lines[{i}].location", "give a location, or a channel to draw from"))
            continue
        for sku, units in packs.get(line.sku, [(line.sku, 1)]):
            demand[(sku, line.location)] += qty * units
    if errors:
        raise InvalidInput("hold request is not valid", errors)
    return dict(demand)
