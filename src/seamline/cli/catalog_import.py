"""`seamline import catalog FILE.csv`: styles are written in chunks (one transaction and a few set-based
statements per chunk, ``Seamline.put_styles``); a style with a bad row is never written, in whole or in part,
and the styles around it are. The ``cost`` column's standard costs are written in the same transaction as
their style (``Costing.save_standard_costs``, set-based), only where they changed."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import IntegrityError

from seamline.catalog import Style, StyleDraft
from seamline.catalog.csv_import import ParsedCatalog, RowError, missing_columns, parse_catalog_rows
from seamline.domain.errors import InvalidInput
from seamline.service import Seamline
from seamline.service.catalog import StylePut
from seamline.service.costing import Costing
from seamline.service.unit_of_work import UnitOfWork


@dataclass
class ImportResult:
    rows: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: list[RowError] = field(default_factory=list)
    rejected_styles: list[str] = field(default_factory=list)
    costs_set: int = 0  # variants whose standard cost the file set or changed


#: Variants per transaction: large enough that statements and commits are few, small enough that SQLite's
#: write lock is never held for long (tills and holds wait behind it) and a chunk's rows stay small in memory.
CHUNK_VARIANTS = 2000


def _read(path: Path, result: ImportResult) -> ParsedCatalog | None:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = missing_columns(reader.fieldnames or [])
        if missing:
            result.errors.append(RowError(1, ",".join(missing), "required column(s) missing from the header"))
            return None
        # line_num is the physical line just read (the header is line 1), right even with quoted newlines.
        parsed = parse_catalog_rows((reader.line_num, row) for row in reader)
    result.rows = parsed.rows
    result.errors.extend(parsed.errors)
    result.rejected_styles.extend(parsed.rejected_styles)
    return parsed


def _chunks(count: int, styles: list[Style], variants: int) -> Iterator[range]:
    """Ranges of indexes into ``styles`` of at most ``variants`` SKUs each (a bigger style goes alone)."""
    start, size = 0, 0
    for index in range(count):
        skus = len(styles[index].variants) + len(styles[index].prepacks)
        if index > start and size + skus > variants:
            yield range(start, index)
            start, size = index, 0
        size += skus
    if count > start:
        yield range(start, count)


def import_catalog(
    app: Seamline, path: Path, *, progress: Progress | None = None, chunk_variants: int = CHUNK_VARIANTS
) -> ImportResult:
    """Import a catalog CSV in chunks of styles, each one transaction of set-based statements."""
    result = ImportResult()
    parsed = _read(path, result)
    if parsed is None:
        return result
    task = progress.add_task("importing styles", total=len(parsed.styles)) if progress else None
    costing = Costing(app)
    for indexes in _chunks(len(parsed.styles), parsed.styles, chunk_variants):
        styles = [parsed.styles[i] for i in indexes]
        costs = [parsed.costs[i] for i in indexes]

        def work(uow: UnitOfWork, styles: list[Style] = styles, costs: list[dict[str, Decimal]] = costs) -> _Put:
            outcomes = app.put_styles(uow, styles)
            wanted: dict[str, Decimal] = {}
            for outcome, style_costs in zip(outcomes, costs, strict=True):
                if not isinstance(outcome, InvalidInput):
                    wanted.update(style_costs)
            return outcomes, len(costing.save_standard_costs(uow, wanted))

        try:
            outcomes, changed = app.write(work)
        except IntegrityError:
            # A concurrent writer took a GTIN or SKU this chunk checked as free: redo the chunk style by style,
            # so only the styles that now clash are refused.
            each = [_put_one(app, parsed.drafts[i], parsed.costs[i]) for i in indexes]
            outcomes, changed = [outcome for outcome, _ in each], sum(n for _, n in each)
        result.costs_set += changed
        for style, outcome in zip(styles, outcomes, strict=True):
            if isinstance(outcome, InvalidInput):  # clashes with the rest of the catalog (a GTIN or SKU taken)
                result.rejected_styles.append(style.code)
                result.errors.extend(parsed.locate(style.code, e.field, e.message) for e in outcome.errors)
            else:
                result.outcomes[outcome.outcome] += 1
        if progress is not None and task is not None:
            progress.advance(task, len(styles))
    return result


_Put = tuple[list[StylePut | InvalidInput], int]


def _put_one(app: Seamline, draft: StyleDraft, costs: dict[str, Decimal]) -> tuple[StylePut | InvalidInput, int]:
    """One style and its standard costs in one transaction: (its outcome, how many standard costs changed)."""

    def work(uow: UnitOfWork) -> tuple[StylePut, int]:
        put = app.put_style(uow, draft)
        return put, len(Costing(app).save_standard_costs(uow, costs))

    try:
        return app.write(work)
    except InvalidInput as exc:
        return exc, 0


def import_catalog_by_style(app: Seamline, path: Path) -> ImportResult:
    """The same import, one ``put_style`` transaction per style: the reference the chunked import must equal
    (tests) and the naive anchor of ``bench/bulk.py``."""
    result = ImportResult()
    parsed = _read(path, result)
    if parsed is None:
        return result
    for draft, costs in zip(parsed.drafts, parsed.costs, strict=True):
        outcome, changed = _put_one(app, draft, costs)
        result.costs_set += changed
        if isinstance(outcome, InvalidInput):
            result.rejected_styles.append(draft.code)
            result.errors.extend(parsed.locate(draft.code, e.field, e.message) for e in outcome.errors)
        else:
            result.outcomes[outcome.outcome] += 1
    return result


def progress_bar() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
