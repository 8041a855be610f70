"""`seamline dlq list|show|replay`: the dead-letter queue from the command line."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from seamline.service import bootstrap

dlq_app = typer.Typer(
    help="Dead letters: deliveries that used up their attempts, kept until replayed.", no_args_is_help=True
)
console = Console()


def _integration() -> Any:
    from seamline.integration import install

    return install(bootstrap())


@dlq_app.command("list")
def list_cmd(
    subscriber: Annotated[str | None, typer.Option(help="Only this subscriber.")] = None,
    event_type: Annotated[str | None, typer.Option("--type", help="Only this event type.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List dead letters, oldest first."""
    from seamline.integration import deadletters

    items = deadletters.list_dead(_integration(), subscriber=subscriber, event_type=event_type, limit=limit)
    if as_json:
        console.print_json(json.dumps({"items": items}))
        return
    table = Table(
        "id", "subscriber", "event", "attempts", "dead since", "last error", title=f"{len(items)} dead letters"
    )
    for item in items:
        table.add_row(
            str(item["id"]),
            item["subscriber"],
            f"{item['event_type']} {item['event_id']}",
            str(item["attempts"]),
            item["dead_at"] or "",
            (item["last_error"] or "")[:80],
        )
    console.print(table)


@dlq_app.command("show")
def show_cmd(delivery_id: Annotated[int, typer.Argument(help="The delivery id.")]) -> None:
    """Show one delivery: its event, every failed attempt and why."""
    from seamline.domain.errors import NotFound
    from seamline.integration import deadletters

    try:
        view = deadletters.show(_integration(), delivery_id)
    except NotFound as exc:
        console.print(f"[red]{exc.detail}[/]")
        raise typer.Exit(1) from None
    console.print_json(json.dumps(view))


@dlq_app.command("replay")
def replay_cmd(
    ids: Annotated[list[int] | None, typer.Argument(help="Delivery ids to replay.")] = None,
    subscriber: Annotated[str | None, typer.Option(help="Every dead letter of this subscriber.")] = None,
    event_type: Annotated[str | None, typer.Option("--type", help="Every dead letter of this event type.")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Every dead letter.")] = False,
) -> None:
    """Put dead letters back in the queue, due now. A running dispatcher delivers them."""
    from seamline.domain.errors import InvalidInput
    from seamline.integration import deadletters

    try:
        replayed = deadletters.replay_matching(
            _integration(), subscriber=subscriber, event_type=event_type, ids=ids or None, everything=everything
        )
    except InvalidInput as exc:
        console.print(f"[red]{exc.detail}[/]: give ids, --subscriber, --type or --all")
        raise typer.Exit(2) from None
    console.print(f"replayed {len(replayed)} dead letters" + (f": {', '.join(map(str, replayed))}" if replayed else ""))


def register_integration_commands(app: typer.Typer) -> None:
    app.add_typer(dlq_app, name="dlq")
