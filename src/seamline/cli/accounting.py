"""``seamline accounting backfill <code>``: export to an accounting connection what was posted before it
existed (or died on the way; the refused ones too with ``--include-refused``), in batches, with progress.

Each batch is one transaction that queues the documents for that connection only (``FinanceDocumentPosted``
with a delivery for its subscriber alone); ``seamline worker`` (or ``serve``) delivers them, and
``GET /v1/finance/accounting/{code}/exports`` shows each one's state. Running it twice queues nothing twice:
a queued or exported document is skipped."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from seamline.domain.errors import SeamlineError
from seamline.integration.finance import queue_backfill
from seamline.service import bootstrap
from seamline.service.accounting import AccountingDesk
from seamline.service.finance import FinanceDesk
from seamline.service.unit_of_work import UnitOfWork

app = typer.Typer(help="Accounting connections: backfill what was posted before one existed.", no_args_is_help=True)
console = Console()


@app.command()
def backfill(
    code: Annotated[str, typer.Argument(help="The accounting connection (PUT /v1/finance/accounting/{code}).")],
    include_refused: Annotated[
        bool, typer.Option("--include-refused", help="Also export again what the books refused (after a fix).")
    ] = False,
    batch: Annotated[int, typer.Option(min=1, max=5000, help="Documents queued per transaction.")] = 500,
) -> None:
    service = bootstrap()
    try:
        target = AccountingDesk(service).connection(code)["target"]
    except SeamlineError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    desk = FinanceDesk(service)
    _, _, before = desk.exports(target, limit=1)
    todo = before.get("pending", 0) + before.get("dead", 0) + (before.get("refused", 0) if include_refused else 0)
    queued = 0
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(f"queueing for {target}", total=todo or None)
        while True:

            def work(uow: UnitOfWork, refused: bool = include_refused) -> int:
                conn = uow.conn
                docs = desk.backfill_candidates(conn, target, include_refused=refused, limit=batch)
                return queue_backfill(conn, target, docs, service.clock.now())

            done = service.write(work)
            if not done:
                break
            queued += done
            progress.update(task, advance=done)
    _, _, after = desk.exports(target, limit=1)
    table = Table(title=f"export states on {target}")
    table.add_column("state")
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    for state in ("pending", "exported", "refused", "dead"):
        table.add_row(state, str(before.get(state, 0)), str(after.get(state, 0)))
    console.print(table)
    console.print(
        f"queued {queued} documents for {target}; the worker exports them "
        f"(watch GET /v1/finance/accounting/{code}/exports)"
    )
