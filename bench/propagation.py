"""Till sale -> channel availability push, end to end (issue 4): `python bench/propagation.py --help`.

A steady open-loop stream of till-like sales (an ``employee_purchase`` out of a store: the same ledger
write and the same availability change as a POS sale) runs at ``--rate`` per second for ``--seconds``
from ``--tills`` threads, through the group commit as ``POST /v1/sales`` goes under ``seamline serve``
(``--no-group-commit``: a transaction per sale), while a subscriber of the web channel (which sources every
store) receives the ``AvailabilityChanged`` pushes. For each sale: the time from its commit returning to the
first delivery of a number that includes it (a coalesced push carries every earlier sale of that SKU).
Measured for the in-process transport and for NATS JetStream (relay -> stream -> durable pull consumer), on
SQLite (default) or PostgreSQL.

The anchor is the pattern this replaces: a sync job every 5-60 minutes (ERPNext's Shopify sync: 60).
Prints one JSON document on stdout.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any

import typer

try:
    from seamline.api import create_app
except ImportError:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from seamline.api import create_app

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from seamline.integration import AVAILABILITY_CHANGED, Delivery, IntegrationSettings, Subscriber, install, tracing
from seamline.ledger import MovementRequest
from seamline.service import Settings, bootstrap
from seamline.service.group_commit import GroupCommit, GroupCommitSettings
from seamline.store import outbox_repo

TOKEN = "bench-admin-token-0123456789abcdef0123456789"
RECEIPT = 100_000
STORES = [f"STORE-{i}" for i in range(1, 5)]
SIZES = ["XS", "S", "M", "L", "XL", "XXL"]
COLOURS = ["NVY", "OLV", "BLK"]

app = typer.Typer(add_completion=False)


def style() -> dict[str, Any]:
    variants = []
    for i, (c, s) in enumerate((c, s) for c in COLOURS for s in SIZES):
        body = f"400000{i:06d}"
        check = (10 - sum(int(d) * (3 if k % 2 else 1) for k, d in enumerate(body)) % 10) % 10
        variants.append({"sku": f"TEE-{c}-{s}", "colour": c, "size": s, "gtin": body + str(check)})
    return {
        "name": "Tee",
        "season": "SS27",
        "size_scale": SIZES,
        "colours": [{"code": c, "name": c} for c in COLOURS],
        "variants": variants,
        "prices": [{"list": "retail", "currency": "EUR", "amount": "25.00"}],
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run_transport(
    database_url: str,
    transport: str,
    rate: float,
    seconds: float,
    nats_url: str | None,
    group_commit: bool = True,
    tills: int = 32,
) -> dict[str, Any]:
    service = bootstrap(Settings(database_url=database_url, admin_token=TOKEN), migrate=True, pool_size=20)
    run = uuid.uuid4().hex[:8]
    settings = IntegrationSettings(
        transport=transport,
        nats_url=nats_url,
        nats_stream=f"SEAMLINE_BENCH_{run}",
        nats_subject_prefix=f"seamline_bench_{run}.events",
        poll_seconds=1.0,
    )
    deliveries: dict[str, list[tuple[float, int]]] = defaultdict(list)  # sku -> [(delivered_at, atp)]
    lock = threading.Lock()

    def channel(delivery: Delivery) -> None:
        now = time.time()
        with lock:
            deliveries[str(delivery.payload["sku"])].append((now, int(delivery.payload["atp"])))

    integration = install(
        service,
        settings,
        subscribers=[
            Subscriber(
                "web", frozenset({AVAILABILITY_CHANGED}), channel, channels=frozenset({"web"}), max_concurrency=4
            )
        ],
    )
    with TestClient(create_app(service), headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        for code in ["WH", *STORES]:
            http.put(f"/v1/locations/{code}", json={"name": code, "kind": "warehouse" if code == "WH" else "store"})
        assert http.put("/v1/styles/TEE", json=style()).status_code in (200, 201)
        assert http.put("/v1/channels/web", json={"kind": "shopify", "sources": ["WH", *STORES]}).status_code in (
            200,
            201,
        )
        skus = [v["sku"] for v in style()["variants"]]
        for store in STORES:
            for sku in skus:
                assert (
                    http.post(
                        "/v1/movements", json={"kind": "receipt", "sku": sku, "qty": RECEIPT, "to": store}
                    ).status_code
                    == 201
                )
    integration.dispatcher.drain()
    integration.start()
    # Sales share commits through the group commit, as `POST /v1/sales` does under `seamline serve` (default
    # on; SEAMLINE_GROUP_COMMIT). --no-group-commit: one transaction per sale.
    batcher = (
        GroupCommit(service.engine, service.bus, GroupCommitSettings.from_settings(service.settings))
        if group_commit
        else None
    )
    if batcher is not None:
        batcher.start()
        service.group_commit = batcher
    if integration.nats is not None:
        assert integration.nats.ready.wait(10), "NATS transport did not start"
    time.sleep(0.3)

    total = int(rate * seconds)
    commits: dict[str, tuple[float, str]] = {}  # trace -> (commit time, sku)
    initial = RECEIPT * len(STORES)
    errors: list[str] = []
    started = time.time() + 0.2

    def writer(k: int, threads: int) -> None:
        for i in range(k, total, threads):
            due = started + i / rate
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            sku, store = skus[i % len(skus)], STORES[(i // len(skus)) % len(STORES)]
            trace = tracing.new_trace_id()
            move = MovementRequest(kind="employee_purchase", sku=sku, qty=1, from_location=store)
            try:
                with tracing.traced(trace):
                    service.write(lambda uow, m=move, t=trace: service.record_movement(uow, m, trace_id=t), batch=True)
            except Exception as exc:  # noqa: BLE001 - reported, not fatal
                errors.append(repr(exc))
                continue
            commits[trace] = (time.time(), sku)

    threads = [threading.Thread(target=writer, args=(k, tills)) for k in range(tills)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - started
    if batcher is not None:
        batcher.stop()
        service.group_commit = None
    # Wait for the pushes to catch up.
    deadline = time.time() + 30
    while time.time() < deadline:
        with service.engine.connect() as conn:
            if outbox_repo.undelivered(conn) == 0:
                break
        time.sleep(0.05)
    integration.stop()

    with service.engine.connect() as conn:
        statuses = outbox_repo.count_by_status(conn)
    # Sales only take stock away, one unit each, so the k-th sale of a SKU (in commit order) has reached the
    # channel when a push of that SKU with ATP <= initial - k is delivered: a coalesced push carries every
    # earlier sale. Nothing here depends on which sale's trace an event carries.
    latencies = []
    missing = 0
    by_sku: dict[str, list[float]] = defaultdict(list)
    for committed, sku in commits.values():
        by_sku[sku].append(committed)
    for sku, committed_at in by_sku.items():
        committed_at.sort()
        pushes = sorted(deliveries.get(sku, []))
        for k, committed in enumerate(committed_at, start=1):
            first = next((t for t, atp in pushes if atp <= initial - k), None)
            if first is None:
                missing += 1
                continue
            latencies.append(max(0.0, first - committed) * 1000)
    service.engine.dispose()
    if transport == "nats" and nats_url:
        asyncio.run(_drop_stream(nats_url, settings.nats_stream))
    return {
        "sales": len(commits),
        "sales_per_second": round(len(commits) / elapsed, 1),
        "write_errors": len(errors),
        "pushes_delivered": sum(len(v) for v in deliveries.values()),
        "pushes_superseded": statuses.get("superseded", 0),
        "sales_without_a_push": missing,
        "latency_ms": {
            "p50": round(percentile(latencies, 0.50), 2),
            "p99": round(percentile(latencies, 0.99), 2),
            "max": round(max(latencies), 2) if latencies else None,
        },
    }


async def _drop_stream(url: str, stream: str) -> None:
    import nats

    nc = await nats.connect(url)
    try:
        await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


def fresh_database(base: str | None, workdir: Path, name: str) -> tuple[str, Any]:
    if base is None or base.startswith("sqlite"):
        return f"sqlite:///{workdir / (name + '.db')}", lambda: None
    base = base.replace("postgresql://", "postgresql+psycopg://", 1)
    db = f"seamline_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()

    return make_url(base).set(database=db).render_as_string(hide_password=False), drop


@app.command()
def main(
    rate: Annotated[float, typer.Option(help="Till sales per second (open loop).")] = 250,
    seconds: Annotated[float, typer.Option(help="How long the stream runs.")] = 5,
    database_url: Annotated[
        str | None, typer.Option(help="postgresql://... (a scratch database is made); default SQLite.")
    ] = None,
    nats_url: Annotated[str | None, typer.Option(help="NATS server for the NATS run; skipped without it.")] = None,
    group_commit: Annotated[
        bool, typer.Option(help="Sales through the group commit, as POST /v1/sales under `seamline serve`.")
    ] = True,
    tills: Annotated[int, typer.Option(help="Tills selling at once (threads sharing the stream).")] = 32,
) -> None:
    """Measure commit -> delivered latency of the availability push for each transport; print JSON."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for transport in ("inprocess", "nats"):
            if transport == "nats" and not nats_url:
                results[transport] = {"skipped": "no --nats-url"}
                continue
            url, drop = fresh_database(database_url, Path(tmp), transport)
            try:
                results[transport] = run_transport(url, transport, rate, seconds, nats_url, group_commit, tills)
            finally:
                drop()
    print(
        json.dumps(
            {
                "benchmark": "propagation",
                "database": "postgresql" if database_url and database_url.startswith("postgresql") else "sqlite",
                "target_sales_per_second": rate,
                "tills": tills,
                "sales_write_path": "group commit (as POST /v1/sales)" if group_commit else "a transaction per sale",
                "seconds": seconds,
                "subscriber": "web channel, coalesced per SKU, 4 concurrent deliveries",
                "results": results,
                "anchor": {"polling_sync_interval_ms": {"min": 5 * 60_000, "erpnext_shopify_default": 60 * 60_000}},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    app()
