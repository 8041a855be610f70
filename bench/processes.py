"""Several API processes on one PostgreSQL database (issue 16): `python bench/processes.py --help`.

For each process count (default 1, 2 and 4) it makes a fresh database, migrates it once, starts that many
`seamline serve` processes on loopback, and drives a mixed load through them round robin for ``--seconds``:
holds on the web channel (a few hot SKUs, a long tail, one or two lines in random order), till sales at four
stores and web orders (one to three lines in random order, so two requests often want the same rows in
opposite orders). It reports, per process count, holds/orders/sales per second, their p50/p99 and statuses,
and for the whole run PostgreSQL's own deadlock count (`pg_stat_database.deadlocks`) and the units oversold
(sellable balances below zero available, from reconcile). The anchor is the same run with one process, so
each larger count is reported as a ratio to it. On a 2-core machine expect no gain from more processes:
the figures to watch are that nothing is lost, nothing oversold and nothing deadlocks.

Prints one JSON document on stdout; `ok` is true when every run had 0 deadlocks, 0 oversold units and a
clean reconcile.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

TOKEN = "bench-admin-token-0123456789abcdef0123456789"
SIZES = ["XS", "S", "M", "L", "XL"] + [str(n) for n in range(28, 42)]
COLOURS = ["BLK", "NVY"]
SKUS = [f"MIX-001-{c}-{s}" for c in COLOURS for s in SIZES]
HOT = SKUS[:4]
STORES = ["STORE-1", "STORE-2", "STORE-3", "STORE-4"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gtin(i: int) -> str:
    body = f"400100{i:06d}"
    check = (10 - sum(int(d) * (3 if k % 2 else 1) for k, d in enumerate(body)) % 10) % 10
    return body + str(check)


def percentile(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1) if ordered else None


def fresh_database(base: str) -> str:
    base = base.replace("postgresql://", "postgresql+psycopg://", 1) if base.startswith("postgresql://") else base
    name = f"seamline_bench_processes_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def deadlocks(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        value = conn.execute(text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"))
        count = int(value.scalar_one())
    engine.dispose()
    return count


def seamline_cli() -> str:
    return str(Path(sys.executable).with_name("seamline"))


def start_servers(url: str, count: int, workdir: Path) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    env = {**os.environ, "SEAMLINE_DATABASE_URL": url, "SEAMLINE_ADMIN_TOKEN": TOKEN, "SEAMLINE_ENV": "development"}
    subprocess.run([seamline_cli(), "migrate"], env=env, check=True, capture_output=True)
    servers, bases = [], []
    for i in range(count):
        port = free_port()
        log = (workdir / f"serve-{i}.log").open("wb")
        servers.append(
            subprocess.Popen(
                [seamline_cli(), "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        )
        bases.append(f"http://127.0.0.1:{port}")
    for base in bases:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{base} did not become ready")
            time.sleep(0.2)
    return servers, bases


def seed(base: str, stock: int, hot_stock: int) -> None:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as c:
        c.put("/v1/locations/WH", json={"name": "Warehouse", "kind": "warehouse"}).raise_for_status()
        for store in STORES:
            c.put(f"/v1/locations/{store}", json={"name": store, "kind": "store"}).raise_for_status()
        variants = [
            {"sku": sku, "colour": sku.split("-")[2], "size": sku.split("-")[3], "gtin": gtin(i)}
            for i, sku in enumerate(SKUS)
        ]
        style = {
            "name": "Mixed load tee",
            "season": "SS27",
            "size_scale": SIZES,
            "colours": [{"code": c, "name": c} for c in COLOURS],
            "variants": variants,
            "prices": [{"list": "retail", "currency": "EUR", "amount": "25.00"}],
        }
        c.put("/v1/styles/MIX-001", json=style).raise_for_status()
        web = {"kind": "shopify", "sources": ["WH", *STORES], "allow_split": True}
        c.put("/v1/channels/web", json=web).raise_for_status()
        for sku in SKUS:
            for location in ["WH", *STORES]:
                qty = hot_stock if sku in HOT else stock
                body = {"kind": "receipt", "sku": sku, "qty": qty, "to": location}
                c.post("/v1/movements", json=body).raise_for_status()


def lines(rng: random.Random, most: int) -> list[dict[str, Any]]:
    """One to ``most`` SKUs, hot ones likely, in random order: two requests often want the same rows in
    opposite orders (what makes row locks deadlock when taken in request order)."""
    count = rng.randint(1, most)
    picked = rng.sample(HOT, min(count, 2)) + rng.sample(SKUS, count)
    unique = list(dict.fromkeys(picked))[:count]
    rng.shuffle(unique)
    return [{"sku": sku, "qty": 1, "unit_price": "25.00"} for sku in unique]


async def drive(bases: list[str], seconds: float, clients: int, seed_value: int) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {"hold": [], "order": [], "sale": []}
    statuses: dict[str, Counter[int]] = {kind: Counter() for kind in latencies}
    errors: Counter[str] = Counter()
    stop_at = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    async def client(number: int) -> None:
        rng = random.Random(seed_value * 1000 + number)
        async with httpx.AsyncClient(headers=headers, timeout=60) as http:
            request = 0
            while time.monotonic() < stop_at:
                request += 1
                base = bases[(number + request) % len(bases)]
                roll = rng.random()
                if roll < 0.4:
                    kind, path = "hold", "/v1/holds"
                    body: dict[str, Any] = {
                        "channel": "web",
                        "lines": [{"sku": line["sku"], "qty": 1} for line in lines(rng, 2)],
                        "ttl_seconds": 900,
                    }
                elif roll < 0.7:
                    kind, path = "order", "/v1/orders"
                    body = {
                        "channel": "web",
                        "external_id": f"bench-{uuid.uuid4().hex}",
                        "lines": lines(rng, 3),
                        "currency": "EUR",
                    }
                else:
                    kind, path = "sale", "/v1/sales"
                    sold = lines(rng, 3)
                    body = {
                        "location": rng.choice(STORES),
                        "external_id": f"till-{uuid.uuid4().hex}",
                        "lines": sold,
                        "tenders": [{"type": "card", "amount": f"{25 * len(sold)}.00"}],
                        "currency": "EUR",
                    }
                started = time.perf_counter()
                try:
                    response = await http.post(base + path, json=body)
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1
                    continue
                latencies[kind].append(time.perf_counter() - started)
                statuses[kind][response.status_code] += 1

    began = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.monotonic() - began
    return {
        "seconds": round(elapsed, 2),
        **{
            f"{kind}s": {
                "per_second": round(sum(1 for _ in values) / elapsed, 1),
                "succeeded_per_second": round(sum(n for s, n in statuses[kind].items() if s < 300) / elapsed, 1),
                "p50_ms": percentile(values, 0.5),
                "p99_ms": percentile(values, 0.99),
                "statuses": {str(k): v for k, v in sorted(statuses[kind].items())},
            }
            for kind, values in latencies.items()
        },
        "transport_errors": dict(errors),
    }


def audit(url: str) -> dict[str, Any]:
    """Reconcile in this process (the same code as `seamline reconcile`), and the units oversold."""
    from seamline.service import Settings, bootstrap

    app = bootstrap(Settings(database_url=url, admin_token=TOKEN), migrate=False)
    try:
        report = app.reconcile()
        oversold = sum(-(b.on_hand - b.committed - b.reserved) for b in report.negative_available)
        return {"reconcile_clean": report.clean, "oversold_units": oversold, "differences": len(report.differences)}
    finally:
        app.engine.dispose()


def run(base_url: str, count: int, seconds: float, clients: int, stock: int, hot_stock: int) -> dict[str, Any]:
    url = fresh_database(base_url)
    servers: list[subprocess.Popen[bytes]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="seamline-bench-processes-") as tmp:
            servers, bases = start_servers(url, count, Path(tmp))
            seed(bases[0], stock, hot_stock)
            before = deadlocks(url)
            load = asyncio.run(drive(bases, seconds, clients, count))
            for server in servers:
                server.terminate()
            for server in servers:
                server.wait(timeout=60)
            servers = []
            return {"processes": count, **load, "deadlocks": deadlocks(url) - before, **audit(url)}
    finally:
        for server in servers:
            server.kill()
        drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default=os.environ.get("SEAMLINE_TEST_POSTGRES_URL"))
    parser.add_argument("--processes", default="1,2,4", help="comma-separated process counts; the first is the anchor")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=32, help="concurrent HTTP clients")
    parser.add_argument("--stock", type=int, default=200, help="units of each tail SKU per location")
    parser.add_argument("--hot-stock", type=int, default=40, help="units of each hot SKU per location")
    args = parser.parse_args()
    if not args.postgres_url:
        parser.error("give --postgres-url (or set SEAMLINE_TEST_POSTGRES_URL)")
    if args.seconds <= 0 or args.clients < 1:
        parser.error("--seconds must be positive and --clients at least 1")
    counts = [int(c) for c in args.processes.split(",")]
    runs = [run(args.postgres_url, n, args.seconds, args.clients, args.stock, args.hot_stock) for n in counts]
    anchor = runs[0]

    def ratio(result: dict[str, Any], kind: str) -> float | None:
        base = anchor[kind]["succeeded_per_second"]
        return round(result[kind]["succeeded_per_second"] / base, 2) if base else None

    print(
        json.dumps(
            {
                "bench": "processes",
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "anchor": f"{counts[0]} process(es)",
                "runs": runs,
                "ratios": {
                    str(r["processes"]): {k: ratio(r, k) for k in ("holds", "orders", "sales")} for r in runs[1:]
                },
                "deadlocks": sum(r["deadlocks"] for r in runs),
                "oversold_units": sum(r["oversold_units"] for r in runs),
                "ok": all(r["deadlocks"] == 0 and r["oversold_units"] == 0 and r["reconcile_clean"] for r in runs),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
