"""`seamline shopify link --channel CODE`: match the shop's existing products to our SKUs (by SKU, else by
GTIN as barcode) and fill the channel's mapping tables, with progress and a summary."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from seamline.cli.context import clock_of

shopify_app = typer.Typer(help="The Shopify channel: link existing products to our SKUs.", no_args_is_help=True)
console = Console()


@shopify_app.command("link")
def link_cmd(
    ctx: typer.Context,
    channel: Annotated[str, typer.Option("--channel", help="The Shopify channel's code.")],
    relink: Annotated[bool, typer.Option(help="Look up SKUs that are linked already too.")] = False,
) -> None:
    """Link the shop's products to our SKUs. Safe to run again: linked SKUs are skipped unless --relink."""
    from seamline.channels.shopify.link import link_channel
    from seamline.channels.shopify.wiring import build_client, find_sandbox
    from seamline.channels.wiring import SANDBOX_SCHEME, ConnectorWiring, WiringContext
    from seamline.integration import install
    from seamline.service import bootstrap

    integration = install(bootstrap(clock=clock_of(ctx)))  # a held message's retry is stamped on this clock
    config = next((c for c in ConnectorWiring(integration).configs() if c.code == channel), None)
    if config is None or config.kind != "shopify":
        console.print(f"[red]no Shopify channel {channel}[/]")
        raise typer.Exit(2)
    sandboxed = str(config.settings.get("admin_api_url") or "").startswith(SANDBOX_SCHEME)
    if sandboxed and find_sandbox(str(config.settings.get("shop_domain") or "")) is None:
        # The sandbox shop lives in the memory of the server that wired the channel: this process has only an
        # empty one of its own, so linking here would link nothing the channel pushes to.
        console.print(
            f"[red]channel {channel} talks to the in-process sandbox shop of the server (seamline serve)[/]; "
            f"link it there: POST /v1/channels/{channel}/shopify/link"
        )
        raise typer.Exit(2)
    client = build_client(WiringContext(integration.app, integration), config)
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("linking", total=None)

        def progress(sku: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=f"linking {sku}")

        report = link_channel(integration, channel, client, relink=relink, progress=progress)
    table = Table("", "SKUs", title=f"Shopify channel {channel}")
    table.add_row("linked by SKU", str(len(report.by_sku)))
    table.add_row("linked by GTIN", str(len(report.by_gtin)))
    table.add_row("already linked", str(len(report.already)))
    table.add_row("not in the shop", str(len(report.unmatched)))
    table.add_row("ambiguous (not linked)", str(len(report.ambiguous)))
    console.print(table)
    for sku, variants in sorted(report.ambiguous.items())[:20]:
        console.print(f"[yellow]{sku}[/] matches variants {', '.join(variants)}")
    console.print(f"products linked: {report.products}; locations linked: {report.locations}")
    console.print(f"held orders retried: {report.retried}; GraphQL calls: {report.calls}")
