"""Issue #16, end to end: 3 `seamline serve` and 2 `seamline worker --transport nats` processes on one
PostgreSQL database and the NATS server, a mixed load of holds, orders and till sales through every API
process, a worker (the relay's lease holder when it is a worker), an API process and the broker (a NATS server
of the test's own, started again on the same port and store) killed mid-load. Then:
0 units oversold, 0 deadlocks, the hold sweep claimed once per period, every event relayed, a rate-limited
webhook never above its shared limit at the receiver, and a channel configured through one process gets a
delivery for every number written through another right after its PUT answered.

PostgreSQL and NATS are required under SEAMLINE_REQUIRE_SERVICES=1, skipped otherwise when absent."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from tests.conftest import _service_missing
from tests.scratch_databases import drop_in_background, scratch_name

pytestmark = pytest.mark.postgres

TOKEN = "procs-admin-token-0123456789abcdef0123456789"
SKUS = [f"PRC-001-BLK-{size}" for size in ("XS", "S", "M", "L", "XL", "XXL")]
HOT = SKUS[:2]
STORES = ["STORE-1", "STORE-2"]
RATE, BURST = 2.0, 2.0  # the webhook's limit; its bucket holds max(1, rate) tokens
SWEEP_SECONDS = 5.0  # the hold sweeper's period (Settings.sweep_interval_seconds)
LOAD_SECONDS = 16.0
DEADLOCKS = "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"


# ---------------------------------------------------------------------- services and processes
@pytest.fixture
def services() -> Iterator[tuple[str, str]]:
    """A database of this test's own (its deadlock count is this test's alone) and the NATS server."""
    base = os.environ.get("SEAMLINE_TEST_POSTGRES_URL")
    nats_url = os.environ.get("SEAMLINE_TEST_NATS_URL")
    if not base:
        _service_missing("PostgreSQL (SEAMLINE_TEST_POSTGRES_URL)")
    if not nats_url:
        _service_missing("NATS (SEAMLINE_TEST_NATS_URL)")
    assert base is not None
    assert nats_url is not None
    parsed = urlparse(nats_url)
    try:
        socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 4222), timeout=2).close()
    except OSError as exc:
        _service_missing(f"NATS at {nats_url} ({exc})")
    base = base.replace("postgresql://", "postgresql+psycopg://", 1) if base.startswith("postgresql://") else base
    name = scratch_name("procs")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server means the service is missing
        admin.dispose()
        _service_missing(f"PostgreSQL ({exc})")
    yield make_url(base).set(database=name).render_as_string(hide_password=False), nats_url
    admin.dispose()
    drop_in_background(base, [name])


class Broker:
    """A NATS JetStream server of this test's own (the shared one at SEAMLINE_TEST_NATS_URL serves other
    tests), so it can be killed mid-load and started again on the same port and store."""

    def __init__(self, store: Path) -> None:
        binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        if not Path(binary).exists():
            _service_missing("the nats-server binary (to start and kill a broker of this test's own)")
        self.binary = binary
        self.store = store
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "the test's NATS server did not come up"
                time.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli() -> str:
    return str(Path(sys.executable).with_name("seamline"))


@dataclass
class Receiver:
    """The webhook's far end: when each delivery arrived."""

    arrivals: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self) -> ThreadingHTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver.lock:
                    receiver.arrivals.append(time.monotonic())
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def most_in_any(self, seconds: float) -> int:
        with self.lock:
            times = sorted(self.arrivals)
        most, start = 0, 0
        for end, at in enumerate(times):
            while at - times[start] > seconds:
                start += 1
            most = max(most, end - start + 1)
        return most


@dataclass
class Cluster:
    api: list[subprocess.Popen[bytes]]
    bases: list[str]
    workers: list[subprocess.Popen[bytes]]
    logs: Path

    def all(self) -> list[subprocess.Popen[bytes]]:
        return [*self.api, *self.workers]

    def tail(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.logs.glob("*.log")))


def start(env: dict[str, str], logs: Path) -> Cluster:
    subprocess.run([cli(), "migrate"], env=env, check=True, capture_output=True)
    ports = [free_port() for _ in range(3)]
    api = [
        subprocess.Popen(
            [cli(), "serve", "--port", str(port)],
            env=env,
            stdout=(logs / f"serve-{i}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for i, port in enumerate(ports)
    ]
    health = [free_port() for _ in range(2)]
    workers = [
        subprocess.Popen(
            [cli(), "worker", "--transport", "nats", "--health-port", str(port)],
            env=env,
            stdout=(logs / f"worker-{i}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for i, port in enumerate(health)
    ]
    cluster = Cluster(api, [f"http://127.0.0.1:{p}" for p in ports], workers, logs)
    for url in [*cluster.bases, *(f"http://127.0.0.1:{p}" for p in health)]:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"{url} never became ready\n{cluster.tail()}"
            assert all(p.poll() is None for p in cluster.all()), f"a process exited\n{cluster.tail()}"
            time.sleep(0.2)
    return cluster


def seed(base: str) -> None:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as c:
        c.put("/v1/locations/WH", json={"name": "Warehouse", "kind": "warehouse"}).raise_for_status()
        for store in STORES:
            c.put(f"/v1/locations/{store}", json={"name": store, "kind": "store"}).raise_for_status()
        style = {
            "name": "Processes tee",
            "season": "SS27",
            "size_scale": ["XS", "S", "M", "L", "XL", "XXL"],
            "colours": [{"code": "BLK", "name": "Black"}],
            "variants": [
                {"sku": sku, "colour": "BLK", "size": sku.rsplit("-", 1)[1], "gtin": gtin(i)}
                for i, sku in enumerate(SKUS)
            ],
            "prices": [{"list": "retail", "currency": "EUR", "amount": "25.00"}],
        }
        c.put("/v1/styles/PRC-001", json=style).raise_for_status()
        c.put("/v1/channels/web", json={"kind": "shopify", "sources": ["WH", *STORES]}).raise_for_status()
        for sku in SKUS:
            for location in ["WH", *STORES]:
                qty = 15 if sku in HOT else 60
                c.post("/v1/movements", json={"kind": "receipt", "sku": sku, "qty": qty, "to": location})


def gtin(i: int) -> str:
    body = f"400200{i:06d}"
    check = (10 - sum(int(d) * (3 if k % 2 else 1) for k, d in enumerate(body)) % 10) % 10
    return body + str(check)


# ---------------------------------------------------------------------- the load
async def drive(alive: list[str], seconds: float) -> Counter[str]:
    """Holds, web orders and till sales from 8 clients, round robin over the API processes still alive."""
    outcomes: Counter[str] = Counter()
    stop_at = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {TOKEN}"}

    async def client(number: int) -> None:
        rng = random.Random(number)
        async with httpx.AsyncClient(headers=headers, timeout=30) as http:
            turn = 0
            while time.monotonic() < stop_at:
                turn += 1
                base = alive[(number + turn) % len(alive)]
                picked = list(dict.fromkeys(rng.sample(HOT, 1) + rng.sample(SKUS, rng.randint(1, 3))))
                rng.shuffle(picked)  # opposite orders of the same rows: what deadlocks request-ordered locks
                roll = rng.random()
                if roll < 0.4:
                    kind, path = "hold", "/v1/holds"
                    body: dict[str, Any] = {
                        "channel": "web",
                        "lines": [{"sku": s, "qty": 1} for s in picked],
                        "ttl_seconds": 2,  # the sweeper has expired holds to release
                    }
                elif roll < 0.7:
                    kind, path = "order", "/v1/orders"
                    lines = [{"sku": s, "qty": 1, "unit_price": "25.00"} for s in picked]
                    body = {"channel": "web", "external_id": uuid.uuid4().hex, "lines": lines, "currency": "EUR"}
                else:
                    kind, path = "sale", "/v1/sales"
                    lines = [{"sku": s, "qty": 1, "unit_price": "25.00"} for s in picked]
                    body = {
                        "location": rng.choice(STORES),
                        "external_id": uuid.uuid4().hex,
                        "lines": lines,
                        "tenders": [{"type": "card", "amount": f"{25 * len(lines)}.00"}],
                        "currency": "EUR",
                    }
                try:
                    response = await http.post(base + path, json=body)
                except httpx.HTTPError:
                    outcomes["transport error"] += 1
                    await asyncio.sleep(0.05)
                    continue
                outcomes[f"{kind} {response.status_code}"] += 1

    await asyncio.gather(*(client(n) for n in range(8)))
    return outcomes


def watch_periods(engine: Engine, stop: threading.Event, seen: set[tuple[str, Any, str]]) -> None:
    """Every claim of a period and every holder of a lease, as the job_periods rows show them over time."""
    while not stop.wait(0.2):
        try:
            with engine.connect() as conn:
                for name, claimed_at, owner in conn.execute(text("SELECT name, claimed_at, owner FROM job_periods")):
                    if claimed_at is not None:
                        seen.add((name, claimed_at, owner))
        except Exception:  # noqa: BLE001 - the next poll sees it
            continue


def scalar(engine: Engine, sql: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def payload_of(row: Any) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(row.payload)
    return found


def pid_of(owner: str | None) -> int | None:
    """``host:pid:tag`` (a lease holder) or ``host:pid`` (a period's claimer) → the pid."""
    if not owner:
        return None
    parts = owner.split(":")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


# ---------------------------------------------------------------------- the test
def test_three_api_processes_and_two_workers_survive_kills_with_nothing_oversold_lost_or_doubled(
    services: tuple[str, str], tmp_path: Path
) -> None:
    url, _shared_nats = services
    broker = Broker(tmp_path / "nats")
    broker.start()
    nats_url = broker.url
    run = uuid.uuid4().hex[:8]
    receiver = Receiver()
    server = receiver.serve()
    webhook = {
        "name": "receiver",
        "url": f"http://127.0.0.1:{server.server_address[1]}/hook",
        "events": ["AvailabilityChanged"],
        "channels": ["web"],
        "coalesce": False,
        "rate_per_second": RATE,
    }
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "SEAMLINE_DATABASE_URL": url,
        "SEAMLINE_ADMIN_TOKEN": TOKEN,
        "SEAMLINE_ENV": "staging",
        "SEAMLINE_TRANSPORT": "nats",
        "SEAMLINE_NATS_URL": nats_url,
        "SEAMLINE_NATS_STREAM": f"SEAMLINE_PROCS_{run}",
        "SEAMLINE_NATS_SUBJECT_PREFIX": f"seamline_procs_{run}.events",
        "SEAMLINE_RELAY_LEASE_SECONDS": "3",
        "SEAMLINE_DISPATCH_POLL_SECONDS": "0.5",
        "SEAMLINE_WEBHOOK_SUBSCRIBERS": json.dumps([webhook]),
    }
    engine = create_engine(url)
    began = time.monotonic()
    cluster = start(env, tmp_path)
    phases = {"started": round(time.monotonic() - began, 1)}
    stop_watch = threading.Event()
    claims: set[tuple[str, Any, str]] = set()
    watcher = threading.Thread(target=watch_periods, args=(engine, stop_watch, claims), daemon=True)
    try:
        seed(cluster.bases[0])
        deadlocks_before = int(scalar(engine, DEADLOCKS))
        watcher.start()
        alive = list(cluster.bases)
        killed: dict[str, Any] = {}
        pushes: dict[str, Any] = {}

        def disrupt() -> None:
            time.sleep(2.0)
            # A channel configured through process 1, sold through process 2 the moment the PUT answers.
            shop = {
                "shop_domain": f"procs-{run}.myshopify.com",
                "admin_api_url": "sandbox:",
                "access_token": "shpat_procs",
                "webhook_secrets": ["procs"],
            }
            with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as http:
                put = http.put(
                    f"{cluster.bases[0]}/v1/channels/mkl2",
                    json={"kind": "shopify", "sources": ["STORE-1"], "settings": shop},
                )
                pushes["answered_at"] = datetime.now(UTC)  # the same host's clock as the processes'
                sale = http.post(
                    f"{cluster.bases[1]}/v1/sales",
                    json={
                        "location": "STORE-1",
                        "external_id": f"first-push-{run}",
                        "lines": [{"sku": SKUS[5], "qty": 1, "unit_price": "25.00"}],
                        "tenders": [{"type": "card", "amount": "25.00"}],
                        "currency": "EUR",
                    },
                )
            pushes.update(put=put.status_code, wiring=put.json().get("wiring"), sale=sale.status_code)
            time.sleep(1.0)
            # Kill the worker holding the relay's lease (or the first worker if an API process holds it).
            with engine.connect() as conn:
                holder = conn.execute(text("SELECT owner FROM job_periods WHERE name = 'outbox-relay'")).scalar()
            victim = next((w for w in cluster.workers if w.pid == pid_of(holder)), cluster.workers[0])
            victim.send_signal(signal.SIGKILL)
            killed.update(worker=victim.pid, relay_holder=holder, worker_at=time.monotonic())
            time.sleep(3.0)
            alive.remove(cluster.bases[2])
            cluster.api[2].send_signal(signal.SIGKILL)
            killed.update(api=cluster.api[2].pid, api_at=time.monotonic())
            time.sleep(2.0)
            # The broker dies mid-load and comes back on the same port and store 3 s later.
            broker.kill()
            killed.update(broker_at=time.monotonic())
            time.sleep(3.0)
            broker.start()
            killed.update(broker_back_at=time.monotonic())

        chaos = threading.Thread(target=disrupt, daemon=True)
        load_started = time.monotonic()
        chaos.start()
        outcomes = asyncio.run(drive(alive, LOAD_SECONDS))
        phases["loaded"] = round(time.monotonic() - began, 1)
        chaos.join(timeout=30)
        assert killed.get("broker_back_at"), f"the kills did not happen: {killed}\n{cluster.tail()}"

        # Everything written is relayed to the broker by whichever process holds the lease now.
        deadline = time.monotonic() + 30
        while scalar(engine, "SELECT count(*) FROM outbox_events WHERE relayed_at IS NULL"):
            assert time.monotonic() < deadline, f"events left unrelayed\n{cluster.tail()}"
            time.sleep(0.5)
        relay_holder = scalar(engine, "SELECT owner FROM job_periods WHERE name = 'outbox-relay'")
        phases["relayed"] = round(time.monotonic() - began, 1)
        time.sleep(max(0.0, load_started + LOAD_SECONDS + SWEEP_SECONDS - time.monotonic()))
        stop_watch.set()
        watcher.join(timeout=5)

        # 0 deadlocks: PostgreSQL's own count for this database (flushed by the server within a second).
        time.sleep(1.0)
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            deadlocks = int(conn.execute(text(DEADLOCKS)).scalar_one())
        # 0 oversold: no sellable balance below zero available, and reconcile clean.
        reconcile = subprocess.run(
            [cli(), "reconcile", "--json"], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        report = json.loads(reconcile.stdout)
        # A channel's first push: every number of mkl2 written after its PUT has a delivery for its connector.
        with engine.connect() as conn:
            mkl2_events = conn.execute(
                text(
                    "SELECT e.id, e.payload::text AS payload, count(d.id) AS deliveries FROM outbox_events e "
                    "LEFT JOIN deliveries d ON d.event_seq = e.seq AND d.subscriber = 'shopify:mkl2' "
                    "WHERE e.type = 'AvailabilityChanged' AND e.channel = 'mkl2' AND e.created_at >= :answered "
                    "GROUP BY e.id, e.payload::text"
                ),
                {"answered": pushes["answered_at"]},
            ).all()
        sold = [e for e in mkl2_events if payload_of(e)["sku"] == SKUS[5]]
    finally:
        stop_watch.set()
        for process in cluster.all():
            if process.poll() is None:
                process.terminate()
        for process in cluster.all():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        server.shutdown()
        engine.dispose()
        broker.stop()

    summary = {
        "outcomes": dict(outcomes),
        "killed": killed,
        "relay_holder_after": relay_holder,
        "deadlocks": deadlocks - deadlocks_before,
        "oversold": report["oversold"],
        "webhook_deliveries": len(receiver.arrivals),
        "most_in_any_second": receiver.most_in_any(1.0),
        "most_in_any_5_seconds": receiver.most_in_any(5.0),
        "mkl2_events": len(mkl2_events),
        "pushes": pushes,
        "phases": phases,
    }
    print(json.dumps(summary, default=str))  # noqa: T201 - the figures the report quotes (pytest -s)

    assert {k for k in outcomes if k.endswith(" 201")} == {"hold 201", "order 201", "sale 201"}, summary
    assert deadlocks - deadlocks_before == 0, summary
    assert report["clean"], report
    assert report["oversold"] == [], report
    assert report["negative_available"] == [], report

    # The relay moved off the killed worker (when it held the lease) and relayed everything.
    assert pid_of(relay_holder) != killed["worker"], summary

    # The hold sweep: claimed once per period, whoever claimed it, before and after the kills.
    sweeps = sorted(at for name, at, _ in claims if name == "hold-sweeper")
    gaps = [(b - a).total_seconds() for a, b in zip(sweeps, sweeps[1:], strict=False)]
    assert len(sweeps) >= 3, claims
    assert min(gaps) >= SWEEP_SECONDS - 0.5 - 0.05, gaps  # the claim's slack: a tenth of a period, 0.5 s
    owners = {owner for name, _, owner in claims if name == "hold-sweeper"}
    assert all(pid_of(o) in {p.pid for p in cluster.api} for o in owners), owners

    # The webhook's 2/s limit held for all five processes together, at the receiver: in any 5 s, at most the
    # burst and 5 s of tokens, with 1 s more for the time a granted delivery takes to arrive on a busy machine
    # (five processes each with a bucket of their own would have sent up to 5 times that).
    assert len(receiver.arrivals) >= 10, summary
    assert receiver.most_in_any(5.0) <= BURST + RATE * (5.0 + 1.0), summary

    # The new channel: wired in the process that took the PUT, and no number of it written after the PUT
    # answered without its delivery (a number computed in the moment between the channel's commit and its
    # wiring is repaired by the wiring's catch-up, which pushes the channel's current numbers).
    assert pushes["put"] == 201, pushes
    assert pushes["wiring"]["state"] == "wired", pushes
    assert pushes["sale"] == 201, pushes
    assert sold, mkl2_events
    assert [e.id for e in mkl2_events if e.deliveries == 0] == [], "a number of mkl2 without its push"
