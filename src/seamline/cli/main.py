"""`seamline`: serve, worker, migrate, import, reconcile, dlq, bench and demo."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from seamline.cli.accounting import app as accounting_app
from seamline.cli.bench import register_bench_commands
from seamline.cli.dlq import register_integration_commands
from seamline.cli.finance import finance_app
from seamline.cli.giftcards import giftcards_app
from seamline.cli.shopify import shopify_app
from seamline.cli.tokens import tokens_app
from seamline.cli.worker import worker
from seamline.service import Settings, bootstrap
from seamline.store.db import make_null_pool_engine
from seamline.store.migrate import current_revision, upgrade

app = typer.Typer(help="Seamline: one product master, one inventory ledger, one order queue.", no_args_is_help=True)
import_app = typer.Typer(help="Load data from files.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks that print JSON, always with their naive anchors.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(bench_app, name="bench")
app.add_typer(shopify_app, name="shopify")  # issue 5: seamline shopify link
app.add_typer(tokens_app, name="tokens")  # issue 20: create, list, revoke, rotate
app.add_typer(finance_app, name="finance")  # issue 17: valuation at cost
app.add_typer(accounting_app, name="accounting")  # issue 17: backfill an accounting connection
app.add_typer(giftcards_app, name="gift-cards")  # issue 17: the expiry (breakage) sweep
register_bench_commands(bench_app)
register_integration_commands(app)
app.command("worker")(worker)
console = Console()
err_console = Console(stderr=True)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)


@app.command()
def migrate() -> None:
    """Bring the database (SEAMLINE_DATABASE_URL) to the current schema."""
    settings = Settings.from_env()
    engine = make_null_pool_engine(settings.database_url)
    before = current_revision(engine)
    upgrade(engine)
    console.print(f"schema at [bold]{current_revision(engine)}[/] (was {before or 'empty'})")


def listen_url(host: str, port: int) -> str:
    """The URL a browser on this machine opens for ``--host``/``--port`` (all interfaces: the loopback one)."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="API worker processes (each runs its own group commit).")] = 1,
) -> None:
    """Run the API (and, on the embedded default, the background workers) in one process."""
    import uvicorn

    from seamline.api import create_app

    service = bootstrap(generate_admin_token=True)
    if service.generated_admin_token:
        console.print(f"development admin token: [bold]{service.generated_admin_token}[/] (shown once)")
    api_url = listen_url(host, port)
    console.print(f"Seamline listening on [bold]{api_url}[/] (API under {api_url}/v1, OpenAPI {api_url}/docs)")
    console.print(f"dashboard: [bold]{api_url}/[/] (log in with an admin or read token)")
    if workers > 1:
        if service.generated_admin_token:
            os.environ["SEAMLINE_ADMIN_TOKEN"] = service.generated_admin_token  # the same token in every worker
        service.engine.dispose()
        uvicorn.run(
            "seamline.api.asgi:create",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            proxy_headers=False,  # the app applies SEAMLINE_TRUSTED_PROXIES itself
        )
        return
    uvicorn.run(create_app(service, background=True), host=host, port=port, log_level="warning", proxy_headers=False)


@import_app.command("catalog")
def import_catalog_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV, one row per variant.")],
) -> None:
    """Import a catalog CSV. Re-importing is idempotent; a style with any bad row is not written at all."""
    from seamline.cli.catalog_import import import_catalog, progress_bar

    service = bootstrap()
    with progress_bar() as progress:
        result = import_catalog(service, file, progress=progress)
    console.print(
        f"{result.rows} rows: {result.outcomes['created']} styles created, {result.outcomes['updated']} updated, "
        f"{result.outcomes['unchanged']} unchanged, {len(result.rejected_styles)} rejected; "
        f"{result.costs_set} standard costs set"
    )
    if result.errors:
        table = Table("row", "column", "style", "reason", title="Rows not imported")
        for error in result.errors:
            table.add_row(str(error.row), error.column, error.style or "", error.reason)
        err_console.print(table)
        raise typer.Exit(1)


def _print_inventory_leg(leg: dict[str, Any]) -> None:
    """Reconcile's inventory leg: valuation = movements at cost = the inventory account."""
    cur = leg["currency"]
    for row in leg["cost_row_differences"]:
        console.print(
            f"[red]inventory {row['sku']} @ {row['location']}: cost row holds {row['stored']} {cur}, "
            f"its movements at cost {row['movements']}[/]"
        )
    for post in leg["posting_differences"]:
        console.print(
            f"[red]inventory {post['source']}: movements moved {post['movements']} {cur} at cost, "
            f"the journal booked {post['journal']} to {leg['account']}[/]"
        )
    if not leg["totals_agree"]:
        console.print(
            f"[red]inventory: valuation {leg['valuation']} + awaiting shipment {leg['awaiting_shipment']} {cur} "
            f"!= account {leg['account']} balance {leg['account_balance']}[/]"
        )
    if leg["uncosted_units"]:
        console.print(
            f"[yellow]inventory: {leg['uncosted_units']} units on hand received without any cost (valued at 0 until "
            "a standard cost or a receipt at cost revalues them)[/]"
        )


@import_app.command("stock")
def import_stock_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV: sku, qty and unit_cost (optional).")],
    location: Annotated[str, typer.Option(help="The location receiving the stock.")],
    document: Annotated[str, typer.Option(help="The receipt's document (importing it again writes nothing).")],
) -> None:
    """Receive stock from a CSV (an opening balance, a delivery): one receipt movement per row, at the row's
    ``unit_cost`` (in the base currency) or else the variant's standard cost. A bad row: nothing is written."""
    import csv
    from decimal import Decimal

    from seamline.domain.errors import InvalidInput
    from seamline.finance.cost import parse_unit_cost

    lines: list[tuple[str, int, Decimal | None]] = []
    problems: list[str] = []
    with file.open(newline="", encoding="utf-8-sig") as handle:
        for n, row in enumerate(csv.DictReader(handle), start=2):
            raw_qty, raw_cost = (row.get("qty") or "").strip(), (row.get("unit_cost") or "").strip()
            try:  # the API's rule for a unit cost (finance.cost): 0 or more, at most 4 decimals
                cost = parse_unit_cost(raw_cost) if raw_cost else None
            except InvalidInput as exc:
                problems.extend(f"row {n}: unit_cost {raw_cost!r} {e.message}" for e in exc.errors)
                continue
            if not raw_qty.isdigit():
                problems.append(f"row {n}: qty {raw_qty!r} is not a whole number")
                continue
            lines.append(((row.get("sku") or "").strip(), int(raw_qty), cost))
    if problems:
        for problem in problems:
            err_console.print(f"[red]{problem}[/]")
        raise typer.Exit(1)
    service = bootstrap()
    try:
        result = service.write(lambda uow: service.receive_stock(uow, location, lines, document=document))
    except InvalidInput as exc:
        for error in exc.errors:
            err_console.print(f"[red]{error.field}: {error.message}[/]")
        raise typer.Exit(1) from None
    verb = "already received" if result["replayed"] else "received"
    console.print(f"{document}: {result['movements']} lines, {result['units']} units {verb} at {location}")


@app.command()
def reconcile(as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False) -> None:
    """Rebuild balances from movements, holds and allocations, and check finance (every closed sale and
    return has exactly one posted document, totals agree to the cent, every journal entry balances); exit 1
    if anything disagrees."""
    from seamline.service.finance import FinanceDesk

    service = bootstrap()
    report = service.reconcile()
    books = FinanceDesk(service).reconciliation()
    if as_json:
        console.print_json(
            json.dumps(
                {
                    "clean": report.clean,
                    "checked_rows": report.checked_rows,
                    "differences": [
                        {
                            "sku": d.sku,
                            "location": d.location,
                            "field": d.field,
                            "stored": d.stored,
                            "expected": d.expected,
                        }
                        for d in report.differences
                    ],
                    "negative_available": [
                        {"sku": b.sku, "location": b.location, "available": b.available}
                        for b in report.negative_available
                    ],
                    "unconserved_skus": report.unconserved_skus,
                    "oversold": [
                        {"sku": b.sku, "location": b.location, "available": b.available} for b in report.oversold
                    ],
                    "finance": books,
                    "order_differences": [
                        {
                            "order_id": d.order_id,
                            "sku": d.sku,
                            "line_units": d.line_units,
                            "open_allocations": d.open_allocations,
                        }
                        for d in report.order_differences
                    ],
                }
            )
        )
    else:
        for d in report.differences:
            console.print(f"[red]{d.sku} @ {d.location}: {d.field} is {d.stored}, movements say {d.expected}[/]")
        for b in report.negative_available:
            console.print(f"[red]{b.sku} @ {b.location}: available is {b.available}[/]")
        for sku in report.unconserved_skus:
            console.print(f"[red]{sku}: on-hand over all locations does not sum to zero[/]")
        for od in report.order_differences:
            console.print(
                f"[red]order {od.order_id}: lines allocate {od.line_units} of {od.sku}, "
                f"open allocations hold {od.open_allocations}[/]"
            )
        for b in report.oversold:
            console.print(f"[yellow]{b.sku} @ {b.location}: oversold, available {b.available} (see exceptions)[/]")
        for diff in books["differences"]:
            console.print(
                f"[red]finance {diff['source']}: {diff['problem']} {diff['kind']} "
                f"(expected {diff['expected_total']}, posted {diff['posted_total']}"
                f" in {diff['documents']} documents)[/]"
            )
        for money in books.get("money_differences", []):
            named = f" {', '.join(money['documents'])}" if money["documents"] else ""
            console.print(
                f"[red]finance {money['check']} {money['source']}{named}: {money['problem']} "
                f"(theirs {money['theirs']}, ours {money['ours']} {money['currency']}) {money['detail']}[/]"
            )
        for card in books.get("gift_card_differences", []):
            console.print(f"[red]finance gift cards{' ' + card['card'] if card['card'] else ''}: {card['detail']}[/]")
        for entry in books["unbalanced_entries"]:
            console.print(f"[red]journal entry {entry} does not balance[/]")
        _print_inventory_leg(books["inventory"])
        verdict = "[green]clean[/]" if report.clean and books["clean"] else "[red]differences found[/]"
        checked = ", ".join(f"{n} {what}" for what, n in books["checked"].items())
        console.print(f"reconcile: {report.checked_rows} balance rows and {checked} checked, {verdict}")
    if not (report.clean and books["clean"]):
        raise typer.Exit(1)


@app.command()
def allocate(
    limit: Annotated[int, typer.Option(help="Orders to look at in this run.")] = 500,
) -> None:
    """Allocate backorders from stock that has arrived: wholesale pre-books by ship date, then the rest."""
    from seamline.service.orders import OrderDesk

    service = bootstrap()
    desk = OrderDesk(service)
    result = service.write(lambda uow: desk.run_allocation(uow, limit=limit))
    for item in result["orders"]:
        console.print(f"{item['order_id']}: {item['units']} units allocated, now {item['status']}")
    for order_id in result["skipped_past_cancel_date"]:
        console.print(f"[yellow]{order_id}: past its cancel date, not allocated[/]")
    console.print(f"allocation run: {result['allocated_units']} units to {len(result['orders'])} orders")


@app.command()
def demo(
    minutes: Annotated[float, typer.Option(help="Simulated minutes of peak trading.")] = 60,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 120,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed plays the same drop.")] = 7,
    workers: Annotated[int, typer.Option(help="Concurrent API clients driving the demand.")] = 6,
    database: Annotated[Path, typer.Option(help="SQLite file to create (replaced if it exists).")] = Path(
        "seamline-demo.db"
    ),
    serve: Annotated[
        bool, typer.Option(help="Serve the API and the dashboard while it runs (--no-serve for CI).")
    ] = True,
    host: Annotated[str, typer.Option(help="Interface the dashboard binds.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Port of the dashboard (taken: the demo stops and says so; 0: any free one).")
    ] = 8000,
    keep_serving: Annotated[bool, typer.Option(help="Keep the dashboard up after the summary, until Ctrl-C.")] = True,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the summary as JSON here.")] = None,
) -> None:
    """Play a peak-trading hour on the embedded SQLite default, with the dashboard live, and compare it with
    batch-synced stock copies. Short run for CI: --minutes 5 --speed 60 --no-serve."""
    from seamline.cli.demo import PortTaken, demo_command

    try:
        ok = demo_command(
            console,
            database=database,
            minutes=minutes,
            speed=speed,
            seed=seed,
            workers=workers,
            serve=serve,
            host=host,
            port=port,
            keep_serving=keep_serving,
            json_path=json_path,
        )
    except PortTaken as exc:
        raise typer.Exit(2) from exc
    if not ok:
        raise typer.Exit(1)
