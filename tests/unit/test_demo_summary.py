"""What `seamline demo` tells the merchant at the end: their words first (oversold units and money,
customers disappointed, sales turned away under each batch-sync interval), the engineering after; hand
edits counted the same way as in the live table; and a reconcile command the shell can run."""

from __future__ import annotations

import os
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from seamline.cli.demo import ConnectorSummary, DemoSummary, render_summary, seamline_command


def _summary() -> DemoSummary:
    summary = DemoSummary(database="/tmp/demo.db", minutes=60, speed=120, seed=7, currency="EUR")
    summary.units_by_channel = {"web": 483, "zalando": 55}
    summary.connectors = [
        ConnectorSummary("shopify:web", delivered=1187, p50_ms=197, p99_ms=2035, in_sync=396),
        ConnectorSummary("mirakl:zalando", delivered=939, ever_dead=109, p50_ms=404, p99_ms=10718, in_sync=396),
    ]
    summary.edited_by_hand = 3
    summary.drift_found = 4
    summary.demand_records = 1154
    summary.reconcile_clean = True
    summary.reconcile_rows = 2667
    summary.command = ".venv/bin/seamline"
    summary.batch_sync = [
        {
            "interval_minutes": 15,
            "oversold_units": 50,
            "oversold_value": "4450.00",
            "orders_oversold": 47,
            "orders_accepted": 546,
            "refused_in_stock": 38,
            "refused_in_stock_value": "3382.00",
        }
    ]
    return summary


def _printed(summary: DemoSummary) -> str:
    console = Console(width=250, record=True, color_system=None)
    render_summary(summary, console)
    return console.export_text()


def test_the_summary_says_what_customers_got_before_the_engineering() -> None:
    text = _printed(_summary())
    assert "every online order was for stock you had" in text
    assert "zalando's API went down: 109 stock updates could not be delivered and were kept; all resent" in text
    assert "4,450.00 EUR" in text  # money oversold by a 15-minute batch sync
    assert "47 orders cancelled" in text
    assert "38 (3,382.00 EUR)" in text  # sales turned away while the stock was there
    assert text.index("oversold") < text.index("For engineers") < text.index("p50")
    assert text.index("For engineers") < text.index("balance rows rebuilt")
    assert text.index("For engineers") < text.index("skipped by sequence")


def test_the_summary_counts_hand_edits_as_the_live_table_does_and_names_a_command_the_shell_has() -> None:
    text = _printed(_summary())
    assert "3 Shopify numbers edited by hand in the admin" in text
    assert "held another number than ours 4 times" in text
    assert "SEAMLINE_DATABASE_URL=sqlite:////tmp/demo.db .venv/bin/seamline reconcile" in text


def test_the_command_is_the_running_script_unless_seamline_on_path_is_that_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "seamline"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(script), "demo"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert seamline_command() == os.path.join(".venv", "bin", "seamline")
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    assert seamline_command() == "seamline"


def test_an_oversell_online_is_said_in_units_money_and_orders_on_seamlines_own_row() -> None:
    summary = _summary()
    summary.oversold_units_online = summary.oversold_units = 2
    summary.orders_short_online = 2
    summary.oversold_value_online = Decimal("178.00")
    text = _printed(summary)
    assert "2 units sold online that were not there" in text
    live = next(line for line in text.splitlines() if "Seamline, live" in line)
    assert "178.00 EUR" in live
    assert "2 orders cancelled" in live
