"""What a command runs on besides its options: the clock. The shell gets the system clock; a caller that drives
the CLI in-process (a test with its fixed clock) hands its own in as ``obj``, so a command stamps the same time
as the application it works beside."""

from __future__ import annotations

from dataclasses import dataclass

import typer

from seamline.domain.clock import Clock


@dataclass(frozen=True)
class CliContext:
    clock: Clock


def clock_of(ctx: typer.Context) -> Clock | None:
    """The caller's clock (``CliRunner().invoke(app, args, obj=CliContext(clock))``), else None: the system's."""
    obj = ctx.find_root().obj
    return obj.clock if isinstance(obj, CliContext) else None
