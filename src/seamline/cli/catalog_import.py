"""`seamline import catalog FILE.csv`: one transaction per style, so a bad row never leaves half a style."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from seamline.catalog.csv_import import RowError, missing_columns, parse_catalog_rows
from seamline.domain.errors import InvalidInput
from seamline.service import Seamline


@dataclass
class ImportResult:
    rows: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: list[RowError] = field(default_factory=list)
    rejected_styles: list[str] = field(default_factory=list)


def import_catalog(app: Seamline, path: Path, *, progress: Progress | None = None) -> ImportResult:
    result = ImportResult()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = missing_columns(reader.fieldnames or [])
        if missing:
            result.errors.append(RowError(1, ",".join(missing), "required column(s) missing from the header"))
            return result
        # line_num is the physical line just read (the header is line 1), right even with quoted newlines.
        rows = [(reader.line_num, row) for row in reader]
    parsed = parse_catalog_rows(rows)
    result.rows = parsed.rows
    result.errors.extend(parsed.errors)
    result.rejected_styles.extend(parsed.rejected_styles)
    task = progress.add_task("importing styles", total=len(parsed.drafts)) if progress else None
    for draft in parsed.drafts:
        try:
            outcome, _ = app.write(lambda conn, d=draft: app.put_style(conn, d))  # type: ignore[misc]
        except InvalidInput as exc:  # clashes with the rest of the catalog (a GTIN or SKU already taken)
            result.rejected_styles.append(draft.code)
            result.errors.extend(parsed.locate(draft.code, e.field, e.message) for e in exc.errors)
        else:
            result.outcomes[outcome] += 1
        if progress is not None and task is not None:
            progress.advance(task)
    return result


def progress_bar() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
