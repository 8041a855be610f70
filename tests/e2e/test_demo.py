"""`seamline demo` in its short mode, as CI runs it: five simulated minutes, no server. The summary must
show what the demo is for: nothing oversold by the online channels, a clean reconcile, every channel's
number equal to the ledger's at the end, and the same demand oversold by batch-synced stock copies."""

from __future__ import annotations

import json
import socket
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from seamline.cli.main import app


def test_the_short_demo_oversells_nothing_online_while_batch_sync_replays_of_its_demand_do(tmp_path: Path) -> None:
    summary_file = tmp_path / "summary.json"
    result = CliRunner().invoke(
        app,
        [
            "demo",
            "--minutes",
            "5",
            "--speed",
            "60",
            "--no-serve",
            "--database",
            str(tmp_path / "demo.db"),
            "--json",
            str(summary_file),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Peak hour summary" in result.output
    summary = json.loads(summary_file.read_text())
    assert summary["errors"] == 0, summary["error_samples"]
    assert summary["oversold_units_online"] == 0
    assert summary["reconcile_clean"] is True
    assert summary["orders_online"] > 0
    assert summary["units_by_channel"]["web"] > 0
    connectors = {c["name"]: c for c in summary["connectors"]}
    assert set(connectors) == {"shopify:web", "amazon:listings", "mirakl:zalando", "pos:tills"}
    for connector in connectors.values():
        assert connector["out_of_sync"] == 0, connector
        assert connector["dead_now"] == 0, connector
        assert connector["delivered"] > 0, connector
    assert connectors["mirakl:zalando"]["ever_dead"] > 0  # its outage filled the DLQ; the replay drained it
    by_interval = {row["interval_minutes"]: row for row in summary["batch_sync"]}
    assert set(by_interval) == {5, 15, 60}
    assert by_interval[15]["oversold_units"] > 0
    assert by_interval[60]["oversold_units"] > 0
    assert Decimal(by_interval[60]["oversold_value"]) > 0  # the oversold units in money, at retail prices
    assert summary["demand_records"] > 100
    assert summary["edited_by_hand"] == summary["outcomes"].get("shopify: numbers edited in the admin", 0)
    assert result.output.index("oversold") < result.output.index("For engineers")


def test_the_demo_stops_and_says_so_when_its_port_is_taken_instead_of_moving_to_another(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            app, ["demo", "--port", str(port), "--database", str(tmp_path / "demo.db"), "--no-keep-serving"]
        )
    assert result.exit_code == 2, result.output
    assert f"port {port} on 127.0.0.1 is taken" in result.output
    assert "--port" in result.output
    assert not (tmp_path / "demo.db").exists()  # it stopped before building anything
