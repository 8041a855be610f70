"""The flash-sale benchmark, run tiny: the JSON has its shape, nothing is oversold, every store reconciles."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from seamline.cli.bench import TARGETS, BenchOptions, run_reserve_bench
from seamline.cli.main import app as cli

PHASE_KEYS = {
    "requests",
    "granted",
    "short",
    "errors",
    "granted_units",
    "duration_s",
    "requests_per_s",
    "granted_per_s",
    "p50_ms",
    "p99_ms",
}
TINY = {"clients": 3, "seconds": 0.5, "hot_skus": 2, "hot_stock": 15, "tail_skus": 8, "progress": False}


def assert_sound(result: dict[str, Any], expected_targets: set[str]) -> None:
    assert result["ok"], result["problems"]
    assert set(result["targets"]) == expected_targets
    for key in ("command", "machine", "options", "workload", "ratios", "skipped"):
        assert key in result
    assert result["machine"]["cpu_count"]
    assert result["machine"]["sqlite"]
    for name, target in result["targets"].items():
        for phase in ("sustained", "sellout"):
            assert set(target[phase]) >= PHASE_KEYS, f"{name} {phase}"
            assert target[phase]["errors"] == 0, target[phase]["first_error"]
            assert target[phase]["requests"] == target[phase]["granted"] + target[phase]["short"]
            assert target[phase]["requests"] > 0
            # Figures sane by construction, whatever the machine's load: no speed is asserted here.
            assert target[phase]["duration_s"] > 0
            assert target[phase]["requests_per_s"] > 0
            assert 0 <= target[phase]["p50_ms"] <= target[phase]["p99_ms"], f"{name} {phase}"
        assert target["oversold_units"] == 0, name
        assert target["client_db_agree"], name
        assert target["consistent"], name
        sellout = target["sellout"]
        assert sellout["complete"]
        assert sellout["sold_units"] == sellout["stock_units"] == TINY["hot_skus"] * TINY["hot_stock"]
        assert sellout["short"] > 0, "demand exceeded the stock, so some requests went short"
        if name.startswith("ours"):
            assert target["reconcile_clean"] is True
    if {"ours_sqlite", "naive_sqlite"} <= expected_targets:
        assert result["ratios"]["sustained"]["ours_sqlite/naive_sqlite"]["requests_per_s"] > 0
    json.dumps(result)  # it is a JSON document


def test_bench_on_sqlite_sells_out_exactly_and_reports_postgres_skipped() -> None:
    result = run_reserve_bench(BenchOptions(**TINY, postgres_url=None))
    assert_sound(result, {"in_memory", "naive_sqlite", "ours_sqlite", "ours_batched_sqlite"})
    assert result["ratios"]["sustained"]["ours_batched_sqlite/naive_sqlite"]["requests_per_s"] > 0
    assert set(result["skipped"]) == {"naive_pg", "ours_pg", "ours_batched_pg"}
    assert "PostgreSQL" in result["skipped"]["ours_pg"]


@pytest.mark.postgres
def test_bench_on_postgres_sells_out_exactly_and_reconciles() -> None:
    url = os.environ.get("SEAMLINE_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("SEAMLINE_REQUIRE_SERVICES") == "1":
            pytest.fail("PostgreSQL is required (SEAMLINE_REQUIRE_SERVICES=1) but SEAMLINE_TEST_POSTGRES_URL is unset")
        pytest.skip("PostgreSQL not available (SEAMLINE_TEST_POSTGRES_URL)")
    result = run_reserve_bench(
        BenchOptions(**TINY, postgres_url=url, targets=("naive_pg", "ours_pg", "ours_batched_pg"))
    )
    assert_sound(result, {"naive_pg", "ours_pg", "ours_batched_pg"})
    assert result["ratios"]["sustained"]["ours_batched_pg/naive_pg"]["requests_per_s"] > 0
    assert result["machine"]["postgres"]["server_version"]
    assert result["ratios"]["sustained"]["ours_pg/naive_pg"]["requests_per_s"] > 0


def test_cli_prints_only_json_on_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SEAMLINE_BENCH_POSTGRES_URL", "SEAMLINE_TEST_POSTGRES_URL"):
        monkeypatch.delenv(name, raising=False)
    args = ["bench", "reserve", "--clients=2", "--seconds=0.2", "--hot-skus=1", "--hot-stock=5", "--tail-skus=3"]
    outcome = CliRunner().invoke(cli, [*args, "--targets=in_memory,naive_sqlite"])
    assert outcome.exit_code == 0, outcome.output
    result = json.loads(outcome.stdout)
    assert result["ok"]
    assert result["command"].startswith("seamline bench reserve --clients=2 --seconds=0.2")
    assert set(result["targets"]) == {"in_memory", "naive_sqlite"}
    assert set(TARGETS) >= set(result["options"]["targets"])


def test_the_propagation_benchmark_delivers_every_sale_through_the_group_commit(tmp_path: Any) -> None:
    """bench/propagation.py, run tiny on SQLite in-process: every sale's number reaches the subscriber."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "propagation.py"
    spec = importlib.util.spec_from_file_location("propagation_bench", path)
    assert spec is not None
    assert spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    url = f"sqlite:///{tmp_path / 'propagation.db'}"
    result = bench.run_transport(url, "inprocess", 40.0, 1.0, None, group_commit=True, tills=8)
    assert result["write_errors"] == 0
    assert result["sales"] == 40
    assert result["sales_without_a_push"] == 0
    assert result["pushes_delivered"] >= 1
    assert result["latency_ms"]["max"] is not None


SLOW_FLUSH_SOURCE = Path(__file__).resolve().parents[2] / "bench" / "slow_flush" / "slow_flush.c"
# In a child process: the benchmark's own flush probe, then one durable SQLite commit (WAL, FULL), in ms.
FLUSH_AND_COMMIT = """
import sqlite3, sys, time
from pathlib import Path
from seamline.cli.bench import _flush_ms
where = Path(sys.argv[1])
db = sqlite3.connect(where / "probe.db", isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE IF NOT EXISTS t (x)")
started = time.perf_counter()
db.execute("BEGIN IMMEDIATE")
db.execute("INSERT INTO t VALUES (1)")
db.execute("COMMIT")
print(_flush_ms(where, samples=3), (time.perf_counter() - started) * 1000)
"""


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")
def test_the_slow_flush_shim_slows_every_durable_commit_and_the_bench_reports_it(tmp_path: Path) -> None:
    """bench/slow_flush emulates slower storage; the benchmark's machine.flush_ms must show what it had."""
    library = tmp_path / "slow_flush.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", str(library), str(SLOW_FLUSH_SOURCE), "-ldl"], check=True)

    def probe(env: dict[str, str]) -> tuple[float, float]:
        out = subprocess.run(
            [sys.executable, "-c", FLUSH_AND_COMMIT, str(tmp_path)],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        return float(out[0]), float(out[1])

    delay_ms = 50
    slow_flush, slow_commit = probe({"LD_PRELOAD": str(library), "SEAMLINE_FLUSH_DELAY_US": str(delay_ms * 1000)})
    # Lower bounds only (no upper bound on the plain disk): the shim sleeps before every flush, so a loaded
    # machine can only add to them.
    assert slow_flush >= delay_ms
    assert slow_commit >= delay_ms  # SQLite's own flush goes through the shim too


def test_the_bulk_benchmark_runs_tiny_on_sqlite_and_reports_every_figure() -> None:
    """bench/bulk.py at a tiny size on SQLite: the JSON has its shape, every job reconciles, the re-import is
    all unchanged, every row of the catalog is received, published and exported (no speed is asserted)."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "bench" / "bulk.py"
    spec = importlib.util.spec_from_file_location("bulk_bench", path)
    assert spec is not None
    assert spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.run_bulk_bench([60], ["sqlite"])
    json.dumps(result)
    assert set(result) >= {"ok", "problems", "databases", "targets"}
    sqlite = result["databases"]["sqlite"]
    imported = sqlite["import"]["60"]
    assert "error" not in imported, imported
    assert imported["created"] == 3
    assert imported["errors"] == 0
    assert imported["reimport_unchanged"] is True
    assert imported["reconcile_clean"] is True
    assert imported["peak_rss_mb"] > 0
    assert imported["naive_row_by_row"]["rows"] == 60
    receipt = sqlite["receipt"]["60"]
    assert "error" not in receipt, receipt
    assert receipt["exported_skus"] == 60
    # Each line changes its location's row; the supplier's is a virtual location's, which no channel sells
    # from, so the availability journal leaves it out.
    assert receipt["journal_rows_published"] == 60
    # Every wired sandbox (Shopify, Square) shows every SKU's new number, and the export agrees.
    assert receipt["publish_missing"] == {}
    assert set(receipt["publish_per_platform_seconds"]) == {"shopify:web", "square:retail"}
    assert receipt["export_equals_expected"] is True
    assert receipt["reconcile_clean"] is True
    for key in ("import_100k", "receipt_100k"):
        assert sqlite[key]["seconds"] > 0
        assert sqlite[key]["extrapolated"] is True
