"""`seamline tokens create|list|revoke|rotate`: API tokens from the command line (the API's /v1/tokens).

A secret is printed once, when it is made; the database keeps only its hash.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from seamline.cli.context import clock_of
from seamline.domain.errors import SeamlineError
from seamline.service import bootstrap

tokens_app = typer.Typer(help="API tokens: issue, list, revoke, rotate.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


def _desk(ctx: typer.Context) -> Any:
    """On the caller's clock when it hands one in (expiry and revocation are stamped with it)."""
    from seamline.service.tokens import TokenDesk

    return TokenDesk(bootstrap(clock=clock_of(ctx)))


def _fail(exc: SeamlineError) -> typer.Exit:
    err_console.print(f"[red]{exc.code}[/]: {exc.detail}")
    return typer.Exit(1)


@tokens_app.command("create")
def create_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Who or what the token is for (a till, an integration).")],
    scope: Annotated[
        list[str], typer.Option("--scope", help="admin, read, channel:<code>, location:<code>, account:<code>.")
    ],
    expires_in: Annotated[int | None, typer.Option(help="Seconds until the token is refused.")] = None,
) -> None:
    """Issue a token; its secret is printed once."""
    desk = _desk(ctx)
    try:
        issued = desk.app.write(lambda uow: desk.issue(uow.conn, name, scope, expires_in_seconds=expires_in))
    except SeamlineError as exc:
        raise _fail(exc) from None
    console.print(f"token {issued['id']} ({', '.join(issued['scopes'])}); the secret, shown once:")
    console.print(issued["token"], markup=False, highlight=False, soft_wrap=True)


@tokens_app.command("list")
def list_cmd(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Every token and its status, never a secret."""
    items = _desk(ctx).list()
    if as_json:
        console.print_json(json.dumps({"items": items}))
        return
    table = Table("id", "name", "scopes", "status", "created", "expires", title=f"{len(items)} tokens")
    for item in items:
        table.add_row(
            item["id"],
            item["name"],
            " ".join(item["scopes"]),
            item["status"] + (" (bootstrap)" if item["bootstrap"] else ""),
            item["created_at"],
            item["expires_at"] or "",
        )
    console.print(table)


@tokens_app.command("revoke")
def revoke_cmd(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(help="The token's id (seamline tokens list).")],
    force: Annotated[bool, typer.Option(help="Revoke even the last live admin token.")] = False,
) -> None:
    """Revoke a token: refused at once here, within 5 seconds by running servers."""
    desk = _desk(ctx)
    try:
        view = desk.app.write(lambda uow: desk.revoke(uow.conn, token_id, force=force))
    except SeamlineError as exc:
        raise _fail(exc) from None
    console.print(f"token {view['id']} revoked at {view['revoked_at']}")


@tokens_app.command("rotate")
def rotate_cmd(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(help="The token's id (seamline tokens list).")],
    grace: Annotated[int, typer.Option(help="Seconds the old secret keeps working (0: revoked now).")] = 0,
) -> None:
    """A new secret for the token (printed once); the old one is revoked, or expires after the grace."""
    desk = _desk(ctx)
    try:
        rotated = desk.app.write(lambda uow: desk.rotate(uow.conn, token_id, grace_seconds=grace))
    except SeamlineError as exc:
        raise _fail(exc) from None
    previous = rotated["previous"]
    until = "revoked" if previous["revoked_at"] else f"works until {previous['expires_at']}"
    console.print(f"token {rotated['id']} replaces {previous['id']} (old secret {until}); the new secret, shown once:")
    console.print(rotated["token"], markup=False, highlight=False, soft_wrap=True)
