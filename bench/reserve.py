"""The flash-sale reservation benchmark (DESIGN 11), runnable without the CLI: `python bench/reserve.py --help`.

Same engine as `seamline bench reserve` (seamline.cli.bench); prints one JSON document on stdout.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

try:
    from seamline.cli.bench import register_bench_commands
except ImportError:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from seamline.cli.bench import register_bench_commands

app = typer.Typer(add_completion=False)
register_bench_commands(app)

if __name__ == "__main__":
    app()
