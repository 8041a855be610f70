"""`seamline gift-cards expire`: close the cards past their last day; what they held is breakage income
(Dr gift card liability / Cr breakage), once per card (issue 17)."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer
from rich.console import Console

from seamline.cli.context import clock_of
from seamline.service import bootstrap

giftcards_app = typer.Typer(help="Gift cards: the expiry sweep.", no_args_is_help=True)
console = Console()


@giftcards_app.command("expire")
def expire_cmd(
    ctx: typer.Context,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The business day to expire as of (YYYY-MM-DD); today by default.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Cards to close in this run.")] = 500,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was expired as JSON.")] = False,
) -> None:
    """Expire every card whose expiry date has passed, posting its remaining balance as breakage."""
    from seamline.service.giftcards import GiftCardDesk

    try:
        day = None if as_of is None else date.fromisoformat(as_of)
    except ValueError:
        console.print("[red]--as-of is a date: YYYY-MM-DD[/]")
        raise typer.Exit(2) from None
    service = bootstrap(clock=clock_of(ctx))
    desk = GiftCardDesk(service)
    expired = service.write(lambda uow: desk.expire_due(uow, day, limit=limit))
    if as_json:
        console.print_json(json.dumps({"expired": expired}))
        return
    for card in expired:
        console.print(f"gift card …{card['code'][-4:]}: expired, breakage {card['breakage']} {card['currency']}")
    console.print(f"gift cards expired: {len(expired)}")
