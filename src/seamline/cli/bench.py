"""`seamline bench reserve`: the flash-sale benchmark of DESIGN 11, with its naive anchors in the same run.

Closed-loop clients (threads) place holds as fast as they get answers. Every target sees the same request
mix, the same seeds and the same durability, so the figures that matter are the ratios ours/anchor:

- ``in_memory``: a dict behind one lock doing the same checks; the speed of light for this harness.
- ``naive_sqlite``: one ``BEGIN IMMEDIATE; UPDATE stock ... WHERE on_hand - reserved >= n; INSERT hold; COMMIT``
  per request on a bare ``sqlite3`` connection per client (WAL, the same ``synchronous`` as ours).
- ``naive_pg``: the same conditional-UPDATE transaction per request with psycopg, ``synchronous_commit=on``.
- ``ours_sqlite`` / ``ours_pg``: ``Seamline.place_hold_txn``, one transaction per request.
- ``ours_batched_sqlite`` / ``ours_batched_pg``: ``HoldBatcher.place_hold``, group commit (DESIGN 11), the
  path behind ``POST /v1/holds`` by default.

Two phases per target. **sustained**: hot SKUs with stock deep enough never to sell out, for ``seconds``,
so throughput stays meaningful to the end. **sellout**: fresh hot SKUs with ``hot_stock`` units each and a
fixed number of requests (demand several times the stock): every unit must be sold and none twice.

The anchors speak SQL directly on purpose: they are the designs we compare against, not part of Seamline.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import random
import secrets
import shlex
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from seamline.catalog import StyleDraft
from seamline.domain.errors import Shortage
from seamline.integration import Integration
from seamline.integration import install as install_integration
from seamline.ledger import HoldLineRequest, MovementRequest
from seamline.service import Seamline, Settings, bootstrap
from seamline.service.batcher import BatchSettings, HoldBatcher
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import ledger_repo

if TYPE_CHECKING:
    import psycopg

TARGETS = ("in_memory", "naive_sqlite", "ours_sqlite", "ours_batched_sqlite", "naive_pg", "ours_pg", "ours_batched_pg")
PG_TARGETS = ("naive_pg", "ours_pg", "ours_batched_pg")
HOLD_TTL_SECONDS = 900
DEEP_STOCK = 1_000_000_000  # units per SKU in the sustained phase: never sells out, fits a 32-bit column
HOT_SHARE, TAIL_SHARE = 0.8, 0.1  # the rest are two-line baskets (one hot SKU + one tail SKU)
WARMUP_REQUESTS_PER_CLIENT = 5
WAREHOUSE, CHANNEL = "WH", "web"
POSTGRES_ENV = ("SEAMLINE_BENCH_POSTGRES_URL", "SEAMLINE_TEST_POSTGRES_URL")
SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")

Line = tuple[str, int]  # (sku, qty)
Basket = tuple[Line, ...]  # sorted by SKU: every target touches rows in the same order


@dataclass(frozen=True)
class BenchOptions:
    clients: int = 16
    seconds: float = 5.0
    hot_skus: int = 3
    hot_stock: int = 300
    tail_skus: int = 200
    postgres_url: str | None = None
    sqlite_synchronous: str = "FULL"
    seed: int = 1
    sellout_requests: int | None = None  # None: 4 requests per unit of hot stock, so demand far exceeds it
    sellout_timeout_seconds: float = 120.0
    targets: tuple[str, ...] = TARGETS
    workdir: Path | None = None
    progress: bool = True
    argv: tuple[str, ...] | None = None
    # Availability as `seamline serve` runs it: each write appends to the journal in its transaction, and the
    # running publisher turns the journal into events meanwhile. Off measures the ledger's write path alone.
    events: bool = True

    def check(self) -> None:
        if self.clients < 1 or self.seconds <= 0 or self.hot_skus < 1 or self.hot_stock < 1 or self.tail_skus < 1:
            raise ValueError("clients, seconds, hot-skus, hot-stock and tail-skus must all be positive")
        if self.sqlite_synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"sqlite synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}")
        unknown = set(self.targets) - set(TARGETS)
        if unknown or not self.targets:
            raise ValueError(f"targets must be among {', '.join(TARGETS)} (got {sorted(unknown) or 'none'})")

    @property
    def sellout_count(self) -> int:
        if self.sellout_requests is not None:
            return self.sellout_requests
        return max(self.clients, 4 * self.hot_skus * self.hot_stock)

    def command(self) -> str:
        """The command that reproduces this run (the PostgreSQL password, if any, hidden)."""
        args = [
            "seamline",
            "bench",
            "reserve",
            f"--clients={self.clients}",
            f"--seconds={self.seconds:g}",
            f"--hot-skus={self.hot_skus}",
            f"--hot-stock={self.hot_stock}",
            f"--tail-skus={self.tail_skus}",
            f"--sqlite-synchronous={self.sqlite_synchronous}",
            f"--seed={self.seed}",
            f"--sellout-requests={self.sellout_count}",
            f"--targets={','.join(self.targets)}",
        ]
        if self.postgres_url:
            args.append(f"--postgres-url={_hide_password(self.postgres_url)}")
        return shlex.join(args)


# ---------------------------------------------------------------------------- the workload
SIZES = ("XS", "S", "M", "L", "XL")
COLOURS = ("BLK", "WHT", "NVY", "OLV")


def _sku_grid(prefix: str, count: int) -> list[tuple[str, str, str, str]]:
    """``count`` SKUs as (style, colour, size, sku), 20 per style: a long tail is many styles, not one."""
    per_style = len(SIZES) * len(COLOURS)
    out = []
    for i in range(count):
        style = f"{prefix}-{i // per_style + 1:03d}"
        colour, size = COLOURS[(i % per_style) // len(SIZES)], SIZES[i % len(SIZES)]
        out.append((style, colour, size, f"{style}-{colour}-{size}"))
    return out


@dataclass(frozen=True)
class Catalog:
    hot: tuple[str, ...]  # sustained phase: deep stock
    flash: tuple[str, ...]  # sell-out phase: hot_stock units each
    tail: tuple[str, ...]  # deep stock, shared by both phases
    grid: tuple[tuple[str, str, str, str], ...]

    @classmethod
    def build(cls, options: BenchOptions) -> Catalog:
        hot, flash, tail = (
            _sku_grid("DROP", options.hot_skus),
            _sku_grid("FLASH", options.hot_skus),
            _sku_grid("TEE", options.tail_skus),
        )
        return cls(
            hot=tuple(r[3] for r in hot),
            flash=tuple(r[3] for r in flash),
            tail=tuple(r[3] for r in tail),
            grid=tuple(hot + flash + tail),
        )

    def stock(self, hot_stock: int) -> dict[str, int]:
        return {sku: (hot_stock if sku in self.flash else DEEP_STOCK) for *_, sku in self.grid}

    def style_drafts(self) -> list[StyleDraft]:
        by_style: dict[str, list[tuple[str, str, str]]] = {}
        for style, colour, size, sku in self.grid:
            by_style.setdefault(style, []).append((colour, size, sku))
        return [
            StyleDraft(
                code=style,
                name=f"Benchmark {style}",
                season="SS27",
                size_scale=list(SIZES),
                colours=[{"code": c, "name": c} for c in COLOURS],
                variants=[{"sku": sku, "colour": c, "size": s} for c, s, sku in variants],
                prices=[{"list": "retail", "currency": "EUR", "amount": "49.00"}],
            )
            for style, variants in by_style.items()
        ]


class RequestMix:
    """80% one hot SKU (qty 1-2), 10% one tail SKU, 10% a basket of a hot and a tail SKU (qty 1 each)."""

    def __init__(self, hot: Sequence[str], tail: Sequence[str], rng: random.Random) -> None:
        self.hot, self.tail, self.rng = list(hot), list(tail), rng

    def next(self) -> Basket:
        rng = self.rng
        roll = rng.random()
        if roll < HOT_SHARE:
            return ((rng.choice(self.hot), rng.randint(1, 2)),)
        if roll < HOT_SHARE + TAIL_SHARE:
            return ((rng.choice(self.tail), 1),)
        hot, tail = rng.choice(self.hot), rng.choice(self.tail)
        return ((hot, 1), (tail, 1)) if hot < tail else ((tail, 1), (hot, 1))


# ---------------------------------------------------------------------------- targets
class Session(Protocol):
    """One client's handle on a target: ``place`` answers True (held) or False (short, nothing held)."""

    def place(self, basket: Basket) -> bool: ...

    def close(self) -> None: ...


@dataclass
class Verification:
    held: dict[str, int]  # units on live holds per SKU, read back from the store
    stock: dict[str, int]  # units received per SKU, read back from the store
    consistent: bool  # reserved counters equal the holds behind them
    reconcile_clean: bool | None = None  # Seamline's own `reconcile` (ours only)


class Target(ABC):
    name: str

    @abstractmethod
    def setup(self, catalog: Catalog, stock: Mapping[str, int]) -> None: ...

    @abstractmethod
    def session(self) -> Session: ...

    @abstractmethod
    def verify(self) -> Verification: ...

    def describe(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        return None


class _InMemorySession:
    def __init__(self, target: InMemoryTarget) -> None:
        self.target = target

    def place(self, basket: Basket) -> bool:
        target = self.target
        hold_id = uuid.uuid4().hex
        now = datetime.now(UTC)
        with target.lock:
            rows = target.rows
            short = [(sku, qty) for sku, qty in basket if sku not in rows or rows[sku][0] - rows[sku][1] < qty]
            if short:
                return False
            for sku, qty in basket:
                rows[sku][1] += qty
            target.holds[hold_id] = (now, now + timedelta(seconds=HOLD_TTL_SECONDS), basket)
        return True

    def close(self) -> None:
        return None


class InMemoryTarget(Target):
    name = "in_memory"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: dict[str, list[int]] = {}  # sku -> [on_hand, reserved]
        self.holds: dict[str, tuple[datetime, datetime, Basket]] = {}

    def setup(self, catalog: Catalog, stock: Mapping[str, int]) -> None:
        self.rows = {sku: [qty, 0] for sku, qty in stock.items()}

    def session(self) -> Session:
        return _InMemorySession(self)

    def verify(self) -> Verification:
        held: Counter[str] = Counter()
        for _, _, basket in self.holds.values():
            for sku, qty in basket:
                held[sku] += qty
        return Verification(
            held=dict(held),
            stock={sku: row[0] for sku, row in self.rows.items()},
            consistent=all(row[1] == held[sku] for sku, row in self.rows.items()),
        )

    def describe(self) -> dict[str, Any]:
        return {"store": "dict + threading.Lock", "durability": "none"}


NAIVE_RESERVE = "UPDATE stock SET reserved = reserved + {p} WHERE sku = {p} AND on_hand - reserved >= {p}"
NAIVE_AVAILABLE = "SELECT on_hand - reserved FROM stock WHERE sku = {p}"
NAIVE_INSERT_HOLD = "INSERT INTO holds (id, status, created_at, expires_at) VALUES ({p}, 'held', {p}, {p})"
NAIVE_INSERT_LINE = "INSERT INTO hold_lines (hold_id, line_no, sku, qty) VALUES ({p}, {p}, {p}, {p})"
NAIVE_HELD = "SELECT sku, SUM(qty) FROM hold_lines GROUP BY sku"
NAIVE_STOCK = "SELECT sku, on_hand, reserved FROM stock"


def _naive_schema(timestamp: str) -> list[str]:
    return [
        "CREATE TABLE stock (sku VARCHAR(64) PRIMARY KEY, on_hand INTEGER NOT NULL, "
        "reserved INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0))",
        f"CREATE TABLE holds (id VARCHAR(40) PRIMARY KEY, status VARCHAR(16) NOT NULL, "
        f"created_at {timestamp} NOT NULL, expires_at {timestamp} NOT NULL)",
        "CREATE TABLE hold_lines (hold_id VARCHAR(40) NOT NULL REFERENCES holds (id), line_no INTEGER NOT NULL, "
        "sku VARCHAR(64) NOT NULL, qty INTEGER NOT NULL CHECK (qty > 0), PRIMARY KEY (hold_id, line_no))",
    ]


def _hold_rows(basket: Basket) -> tuple[str, datetime, datetime, list[tuple[str, int, str, int]]]:
    hold_id = "hld_" + uuid.uuid4().hex
    now = datetime.now(UTC)
    lines = [(hold_id, i, sku, qty) for i, (sku, qty) in enumerate(basket, start=1)]
    return hold_id, now, now + timedelta(seconds=HOLD_TTL_SECONDS), lines


class _NaiveSqliteSession:
    def __init__(self, path: Path, synchronous: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(f"PRAGMA synchronous={synchronous}")
        self.conn.execute("PRAGMA busy_timeout=30000")
        self.reserve, self.available = NAIVE_RESERVE.format(p="?"), NAIVE_AVAILABLE.format(p="?")
        self.insert_hold, self.insert_line = NAIVE_INSERT_HOLD.format(p="?"), NAIVE_INSERT_LINE.format(p="?")

    def place(self, basket: Basket) -> bool:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            short = [sku for sku, qty in basket if conn.execute(self.reserve, (qty, sku, qty)).rowcount != 1]
            if short:
                for sku in short:  # the 409 names what is available, as ours does
                    conn.execute(self.available, (sku,)).fetchone()
                conn.execute("ROLLBACK")
                return False
            hold_id, now, expires, lines = _hold_rows(basket)
            conn.execute(self.insert_hold, (hold_id, now.isoformat(), expires.isoformat()))
            conn.executemany(self.insert_line, lines)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return True

    def close(self) -> None:
        self.conn.close()


class NaiveSqliteTarget(Target):
    name = "naive_sqlite"

    def __init__(self, path: Path, synchronous: str) -> None:
        self.path, self.synchronous = path, synchronous

    def setup(self, catalog: Catalog, stock: Mapping[str, int]) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            for statement in _naive_schema("TEXT"):
                conn.execute(statement)
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO stock (sku, on_hand) VALUES (?, ?)", list(stock.items()))
            conn.execute("COMMIT")
        finally:
            conn.close()

    def session(self) -> Session:
        return _NaiveSqliteSession(self.path, self.synchronous)

    def verify(self) -> Verification:
        conn = sqlite3.connect(self.path)
        try:
            return _naive_verification(conn.execute(NAIVE_HELD).fetchall(), conn.execute(NAIVE_STOCK).fetchall())
        finally:
            conn.close()

    def describe(self) -> dict[str, Any]:
        return {"store": "sqlite3, one connection per client", "journal_mode": "WAL", "synchronous": self.synchronous}


def _naive_verification(held_rows: Sequence[Any], stock_rows: Sequence[Any]) -> Verification:
    held = {str(sku): int(qty) for sku, qty in held_rows}
    stock = {str(sku): int(on_hand) for sku, on_hand, _ in stock_rows}
    consistent = all(int(reserved) == held.get(str(sku), 0) for sku, _, reserved in stock_rows)
    return Verification(held=held, stock=stock, consistent=consistent)


class _NaivePgSession:
    def __init__(self, conninfo: str) -> None:
        import psycopg

        self.conn: psycopg.Connection[tuple[Any, ...]] = psycopg.connect(conninfo, autocommit=False)
        self.conn.execute("SET synchronous_commit = on")
        self.conn.commit()
        self.reserve, self.available = NAIVE_RESERVE.format(p="%s"), NAIVE_AVAILABLE.format(p="%s")
        self.insert_hold, self.insert_line = NAIVE_INSERT_HOLD.format(p="%s"), NAIVE_INSERT_LINE.format(p="%s")

    def place(self, basket: Basket) -> bool:
        conn = self.conn
        try:
            with conn.cursor() as cur:
                short = []
                for sku, qty in basket:
                    cur.execute(self.reserve, (qty, sku, qty))
                    if cur.rowcount != 1:
                        short.append(sku)
                if short:
                    for sku in short:
                        cur.execute(self.available, (sku,))
                        cur.fetchone()
                    conn.rollback()
                    return False
                hold_id, now, expires, lines = _hold_rows(basket)
                cur.execute(self.insert_hold, (hold_id, now, expires))
                cur.executemany(self.insert_line, lines)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        return True

    def close(self) -> None:
        self.conn.close()


class NaivePgTarget(Target):
    name = "naive_pg"

    def __init__(self, url: str) -> None:
        self.conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    def setup(self, catalog: Catalog, stock: Mapping[str, int]) -> None:
        import psycopg

        with psycopg.connect(self.conninfo) as conn:
            for statement in _naive_schema("TIMESTAMPTZ"):
                conn.execute(statement)
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO stock (sku, on_hand) VALUES (%s, %s)", list(stock.items()))

    def session(self) -> Session:
        return _NaivePgSession(self.conninfo)

    def verify(self) -> Verification:
        import psycopg

        with psycopg.connect(self.conninfo) as conn:
            return _naive_verification(conn.execute(NAIVE_HELD).fetchall(), conn.execute(NAIVE_STOCK).fetchall())

    def describe(self) -> dict[str, Any]:
        return {
            "store": "psycopg, one connection per client",
            "synchronous_commit": "on",
            "isolation": "read committed",
        }


class _OursSession:
    def __init__(self, app: Seamline, batcher: HoldBatcher | None) -> None:
        self.app = app
        self.place_hold = batcher.place_hold if batcher is not None else app.place_hold_txn

    def place(self, basket: Basket) -> bool:
        try:
            self.place_hold(
                channel=CHANNEL, lines=[HoldLineRequest(sku, qty) for sku, qty in basket], ttl_seconds=HOLD_TTL_SECONDS
            )
        except Shortage:
            return False
        return True

    def close(self) -> None:
        return None


class OursTarget(Target):
    """Seamline's own write path, wired exactly as `seamline serve` wires it (bootstrap, pool, settings)."""

    def __init__(
        self, name: str, url: str, *, synchronous: str, pool_size: int, batched: bool = False, events: bool = True
    ) -> None:
        self.name, self.url, self.synchronous, self.pool_size = name, url, synchronous, pool_size
        self.batched, self.events = batched, events
        self.app: Seamline | None = None
        self.batcher: HoldBatcher | None = None
        self.integration: Integration | None = None

    def setup(self, catalog: Catalog, stock: Mapping[str, int]) -> None:
        settings = Settings(
            database_url=self.url, sqlite_synchronous=self.synchronous, admin_token="bench-" + secrets.token_hex(16)
        )
        app = self.app = bootstrap(settings, migrate=True, pool_size=self.pool_size)
        app.write(lambda uow: app.put_location(uow, WAREHOUSE, "Central warehouse", "warehouse"))
        for draft in catalog.style_drafts():
            app.write(partial(app.put_style, draft=draft))
        app.write(lambda uow: app.put_channel(uow, CHANNEL, {"kind": "shopify", "sources": [WAREHOUSE]}))

        def receive(uow: UnitOfWork) -> None:
            for sku, qty in stock.items():
                app.record_movement(uow, MovementRequest(kind="receipt", sku=sku, qty=qty, to_location=WAREHOUSE))

        app.write(receive)
        if self.events:
            # After the opening stock, so its receipts publish nothing; started as `seamline serve` starts it,
            # so the availability publisher turns the journal into events while the clients run.
            self.integration = install_integration(app)
            self.integration.start()
        if self.batched:
            self.batcher = HoldBatcher(
                app,
                BatchSettings(
                    window_seconds=settings.hold_batch_window_seconds,
                    max_batch=settings.hold_batch_max,
                    max_queue=settings.hold_batch_queue,
                ),
            )
            self.batcher.start()

    def _app(self) -> Seamline:
        if self.app is None:
            raise RuntimeError(f"{self.name} is not set up")
        return self.app

    def session(self) -> Session:
        return _OursSession(self._app(), self.batcher)

    def verify(self) -> Verification:
        app = self._app()
        report = app.reconcile()

        def read(conn: Connection) -> tuple[dict[tuple[str, str], int], list[tuple[str, str, str, int]]]:
            return ledger_repo.live_hold_totals(conn), ledger_repo.movement_sides(conn)

        live, sides = app.read(read)
        held: Counter[str] = Counter()
        for (sku, _location), qty in live.items():
            held[sku] += qty
        received: Counter[str] = Counter()
        for sku, source, destination, qty in sides:
            received[sku] += qty * ((destination == WAREHOUSE) - (source == WAREHOUSE))
        return Verification(
            held=dict(held), stock=dict(received), consistent=report.clean, reconcile_clean=report.clean
        )

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "store": "Seamline HoldBatcher.place_hold: group commit, the default behind POST /v1/holds"
            if self.batched
            else "Seamline.place_hold_txn: one transaction per request",
            "channel": f"{CHANNEL} (sources: {WAREHOUSE})",
            "pool_size": self.pool_size,
            "availability_events": self.events,
        }
        if self.url.startswith("sqlite"):
            out.update(journal_mode="WAL", synchronous=self.synchronous)
        else:
            out.update(synchronous_commit="server setting (see machine.postgres)")
        return out

    def close(self) -> None:
        if self.batcher is not None:
            self.batcher.stop()
        if self.integration is not None:
            self.integration.stop()
        if self.app is not None:
            self.app.engine.dispose()


# ---------------------------------------------------------------------------- the closed loop
@dataclass
class ClientStats:
    requests: int = 0
    granted: int = 0
    short: int = 0
    errors: int = 0
    first_error: str | None = None
    latencies_ns: list[int] = field(default_factory=list)
    granted_units: Counter[str] = field(default_factory=Counter)


@dataclass
class PhaseResult:
    stats: list[ClientStats]
    duration_s: float

    def summary(self) -> dict[str, Any]:
        latencies = sorted(itertools.chain.from_iterable(s.latencies_ns for s in self.stats))
        requests = sum(s.requests for s in self.stats)
        granted = sum(s.granted for s in self.stats)
        duration = max(self.duration_s, 1e-9)
        errors = [s.first_error for s in self.stats if s.first_error]
        return {
            "requests": requests,
            "granted": granted,
            "short": sum(s.short for s in self.stats),
            "errors": sum(s.errors for s in self.stats),
            "first_error": errors[0] if errors else None,
            "granted_units": sum(sum(s.granted_units.values()) for s in self.stats),
            "duration_s": round(self.duration_s, 3),
            "requests_per_s": round(requests / duration, 1),
            "granted_per_s": round(granted / duration, 1),
            "p50_ms": _percentile_ms(latencies, 0.50),
            "p90_ms": _percentile_ms(latencies, 0.90),
            "p99_ms": _percentile_ms(latencies, 0.99),
            "max_ms": round(latencies[-1] / 1e6, 3) if latencies else None,
        }


def _percentile_ms(ordered: Sequence[int], q: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6, 3)


def _client_loop(
    session: Session,
    mix: RequestMix,
    stats: ClientStats,
    barrier: threading.Barrier,
    keep_going: Callable[[], bool],
) -> None:
    barrier.wait()
    latencies = stats.latencies_ns
    clock = time.perf_counter_ns
    while keep_going():
        basket = mix.next()
        started = clock()
        try:
            held = session.place(basket)
        except Exception as exc:  # noqa: BLE001 - counted and reported; the run goes on
            stats.errors += 1
            stats.first_error = stats.first_error or f"{type(exc).__name__}: {exc}"[:500]
            continue
        latencies.append(clock() - started)
        stats.requests += 1
        if held:
            stats.granted += 1
            for sku, qty in basket:
                stats.granted_units[sku] += qty
        else:
            stats.short += 1


def run_phase(
    sessions: Sequence[Session],
    mixes: Sequence[RequestMix],
    *,
    seconds: float | None = None,
    requests: int | None = None,
    timeout: float = 120.0,
    on_tick: Callable[[int, float], None] | None = None,
) -> PhaseResult:
    """Run one closed-loop phase: for ``seconds``, or until ``requests`` have been issued (or ``timeout``)."""
    stats = [ClientStats() for _ in sessions]
    window: dict[str, float] = {}
    issued = itertools.count()

    def start() -> None:
        window["start"] = time.perf_counter()
        window["deadline"] = window["start"] + (seconds if seconds is not None else timeout)

    barrier = threading.Barrier(len(sessions), action=start)

    def keep_going() -> bool:
        if time.perf_counter() >= window["deadline"]:
            return False
        return requests is None or next(issued) < requests

    threads = [
        threading.Thread(target=_client_loop, args=(s, m, st, barrier, keep_going), daemon=True, name=f"client-{i}")
        for i, (s, m, st) in enumerate(zip(sessions, mixes, stats, strict=True))
    ]
    for thread in threads:
        thread.start()
    while alive := [t for t in threads if t.is_alive()]:
        alive[0].join(0.1)
        if on_tick is not None and "start" in window:
            on_tick(sum(s.requests for s in stats), time.perf_counter() - window["start"])
    return PhaseResult(stats=stats, duration_s=time.perf_counter() - window["start"])


# ---------------------------------------------------------------------------- PostgreSQL databases
@dataclass
class PostgresServer:
    url: str  # any database on the server; ours are created next to it

    def __post_init__(self) -> None:
        if self.url.startswith("postgresql://"):
            self.url = "postgresql+psycopg://" + self.url.removeprefix("postgresql://")

    def info(self) -> dict[str, Any]:
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                settings = {
                    name: conn.execute(text(f"SHOW {name}")).scalar()
                    for name in ("server_version", "synchronous_commit", "fsync", "wal_sync_method", "max_connections")
                }
        finally:
            engine.dispose()
        return {"url": _hide_password(self.url), **settings}

    @contextmanager
    def database(self, name: str) -> Iterator[str]:
        """A fresh database for one target, dropped afterwards whatever happens."""
        admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                yield make_url(self.url).set(database=name).render_as_string(hide_password=False)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()


def _hide_password(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# ---------------------------------------------------------------------------- the run
def _machine(options: BenchOptions, workdir: Path, pg_info: dict[str, Any] | None) -> dict[str, Any]:
    import psycopg
    import sqlalchemy

    return {
        "cpu_count": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "sqlite": sqlite3.sqlite_version,
        "sqlite_dir": str(workdir),
        "sqlite_filesystem": _filesystem_of(workdir),
        # What a durable commit costs here, the figure the anchors are most sensitive to (and what
        # bench/slow_flush emulates more of): median of 31 small writes each followed by fdatasync.
        "flush_ms": _flush_ms(workdir),
        "ld_preload": os.environ.get("LD_PRELOAD") or None,
        "sqlalchemy": sqlalchemy.__version__,
        "psycopg": psycopg.__version__,
        "seamline": package_version("seamline"),
        "postgres": pg_info,
    }


def _flush_ms(directory: Path, samples: int = 31) -> float:
    probe = directory / "flush-probe"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        took = []
        for _ in range(samples):
            started = time.perf_counter()
            os.write(fd, b"x" * 512)
            os.fdatasync(fd)
            took.append(time.perf_counter() - started)
    finally:
        os.close(fd)
        probe.unlink()
    return round(statistics.median(took) * 1000, 3)


def _filesystem_of(path: Path) -> str | None:
    """The mount type under ``path`` (ext4, tmpfs...): fsync on tmpfs is free, which would flatter SQLite."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    resolved = str(path.resolve())
    found = [
        (len(parts[1]), parts[2])
        for parts in (line.split() for line in mounts)
        if len(parts) >= 3 and (resolved == parts[1] or resolved.startswith(parts[1].rstrip("/") + "/"))
    ]
    return max(found)[1] if found else None


def _run_target(
    target: Target, options: BenchOptions, catalog: Catalog, progress: Progress, console: Console
) -> dict[str, Any]:
    stock = catalog.stock(options.hot_stock)
    target.setup(catalog, stock)
    sessions = [target.session() for _ in range(options.clients)]
    client_units: Counter[str] = Counter()
    phases: dict[str, dict[str, Any]] = {}
    try:

        def mixes(phase: str, hot: Sequence[str]) -> list[RequestMix]:
            return [
                RequestMix(hot, catalog.tail, random.Random(f"{options.seed}/{phase}/{i}"))
                for i in range(options.clients)
            ]

        warmup = run_phase(
            sessions, mixes("warmup", catalog.hot), requests=WARMUP_REQUESTS_PER_CLIENT * options.clients
        )
        for stats in warmup.stats:
            client_units.update(stats.granted_units)

        task = progress.add_task(f"{target.name} sustained", total=options.seconds, info="")
        sustained = run_phase(
            sessions,
            mixes("sustained", catalog.hot),
            seconds=options.seconds,
            on_tick=lambda n, elapsed: progress.update(
                task, completed=min(elapsed, options.seconds), info=f"{n} requests"
            ),
        )
        progress.update(task, completed=options.seconds)
        phases["sustained"] = sustained.summary()

        total = options.sellout_count
        task = progress.add_task(f"{target.name} sellout", total=total, info="")
        sellout = run_phase(
            sessions,
            mixes("sellout", catalog.flash),
            requests=total,
            timeout=options.sellout_timeout_seconds,
            on_tick=lambda n, _elapsed: progress.update(task, completed=n, info=f"{n}/{total} requests"),
        )
        progress.update(task, completed=total)
        phases["sellout"] = sellout.summary()
        for stats in (*sustained.stats, *sellout.stats):
            client_units.update(stats.granted_units)
    finally:
        for session in sessions:
            session.close()

    check = target.verify()
    oversold_db = sum(max(0, check.held.get(sku, 0) - check.stock.get(sku, 0)) for sku in stock)
    oversold_clients = sum(max(0, client_units[sku] - qty) for sku, qty in stock.items())
    flash_stock = sum(stock[sku] for sku in catalog.flash)
    flash_sold = sum(check.held.get(sku, 0) for sku in catalog.flash)
    phases["sellout"].update(
        complete=phases["sellout"]["requests"] + phases["sellout"]["errors"] >= options.sellout_count,
        stock_units=flash_stock,
        sold_units=flash_sold,
        sold_out=flash_sold == flash_stock,
    )
    received_as_seeded = all(check.stock.get(sku, 0) == qty for sku, qty in stock.items())
    agree = received_as_seeded and all(
        check.held.get(sku, 0) == client_units[sku] for sku in set(check.held) | set(client_units)
    )
    result = {
        **phases,
        "oversold_units": max(oversold_db, oversold_clients),
        "client_db_agree": agree,
        "consistent": check.consistent,
        "reconcile_clean": check.reconcile_clean,
        "config": target.describe(),
    }
    line = phases["sustained"]
    console.log(
        f"{target.name}: {line['requests_per_s']} req/s, p99 {line['p99_ms']} ms; "
        f"sellout sold {flash_sold}/{flash_stock}, oversold {result['oversold_units']}"
    )
    return result


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 3)


def _ratios(targets: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    pairs = [
        ("ours_batched_sqlite", "naive_sqlite"),
        ("ours_batched_pg", "naive_pg"),
        ("ours_batched_sqlite", "ours_sqlite"),
        ("ours_batched_pg", "ours_pg"),
        ("ours_sqlite", "naive_sqlite"),
        ("ours_pg", "naive_pg"),
        ("ours_sqlite", "in_memory"),
        ("ours_pg", "in_memory"),
        ("naive_sqlite", "in_memory"),
        ("naive_pg", "in_memory"),
    ]
    out: dict[str, Any] = {}
    for phase in ("sustained", "sellout"):
        out[phase] = {
            f"{ours}/{anchor}": {
                key: _ratio(targets[ours][phase][key], targets[anchor][phase][key])
                for key in ("requests_per_s", "granted_per_s", "p50_ms", "p99_ms")
            }
            for ours, anchor in pairs
            if ours in targets and anchor in targets
        }
    return out


def run_reserve_bench(options: BenchOptions) -> dict[str, Any]:
    """Run every selected target through the same flash sale and answer one JSON-ready document."""
    options.check()
    console = Console(stderr=True, quiet=not options.progress)
    catalog = Catalog.build(options)
    started_at = datetime.now(UTC)
    skipped: dict[str, str] = {}
    wanted = list(options.targets)
    pg_url = options.postgres_url or None
    server = PostgresServer(pg_url) if pg_url else None
    pg_info: dict[str, Any] | None = None
    if any(t in PG_TARGETS for t in wanted):
        if server is None:
            reason = f"no PostgreSQL URL (--postgres-url, or {' / '.join(POSTGRES_ENV)})"
            skipped.update(dict.fromkeys((t for t in wanted if t in PG_TARGETS), reason))
        else:
            pg_info = server.info()
    workdir = Path(tempfile.mkdtemp(prefix="seamline-bench-", dir=options.workdir))
    machine = _machine(options, workdir, pg_info)  # before the run: the load average is what we ran beside
    results: dict[str, dict[str, Any]] = {}
    tag = f"seamline_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=console,
            disable=not options.progress,
        ) as progress:
            for name in wanted:
                if name in skipped:
                    continue
                with _target(name, options, workdir, server, tag) as target:
                    results[name] = _run_target(target, options, catalog, progress, console)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    problems = [
        f"{name}: {what}"
        for name, r in results.items()
        for what, bad in (
            ("oversold units", r["oversold_units"] != 0),
            ("errors", r["sustained"]["errors"] or r["sellout"]["errors"]),
            ("inconsistent store", not r["consistent"]),
            ("reconcile not clean", r["reconcile_clean"] is False),
            ("client answers disagree with the store", not r["client_db_agree"]),
            ("sell-out phase did not finish", not r["sellout"]["complete"]),
        )
        if bad
    ]
    return {
        "benchmark": "reserve",
        "command": options.command(),
        "argv": list(options.argv) if options.argv is not None else None,
        "started_at": started_at.isoformat().replace("+00:00", "Z"),
        "ok": not problems,
        "problems": problems,
        "options": {
            "clients": options.clients,
            "seconds": options.seconds,
            "hot_skus": options.hot_skus,
            "hot_stock": options.hot_stock,
            "tail_skus": options.tail_skus,
            "postgres_url": _hide_password(pg_url) if pg_url else None,
            "sqlite_synchronous": options.sqlite_synchronous,
            "seed": options.seed,
            "sellout_requests": options.sellout_count,
            "sellout_timeout_seconds": options.sellout_timeout_seconds,
            "targets": list(options.targets),
        },
        "workload": {
            "clients": options.clients,
            "closed_loop": True,
            "mix": {
                "hot_single_line_qty_1_2": HOT_SHARE,
                "tail_single_line_qty_1": TAIL_SHARE,
                "basket_hot_plus_tail_qty_1_each": round(1 - HOT_SHARE - TAIL_SHARE, 3),
            },
            "hold_ttl_seconds": HOLD_TTL_SECONDS,
            "sustained": f"{options.hot_skus} hot SKUs and {options.tail_skus} tail SKUs with {DEEP_STOCK} units "
            f"each (never sells out), {options.seconds:g} s after {WARMUP_REQUESTS_PER_CLIENT} warm-up requests "
            "per client",
            "sellout": f"{options.hot_skus} fresh hot SKUs with {options.hot_stock} units each, "
            f"{options.sellout_count} requests (demand far above stock)",
            "oversold_units": "units granted beyond the units received, per SKU, from the store after the run "
            "and from the clients' answers (the larger)",
            "ratios": "a/b of the named targets; above 1 is better for requests_per_s and granted_per_s, worse "
            "for latencies",
        },
        "machine": machine | {"load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "skipped": skipped,
        "targets": results,
        "ratios": _ratios(results),
    }


@contextmanager
def _target(
    name: str, options: BenchOptions, workdir: Path, server: PostgresServer | None, tag: str
) -> Iterator[Target]:
    target: Target
    if name == "in_memory":
        target = InMemoryTarget()
    elif name == "naive_sqlite":
        target = NaiveSqliteTarget(workdir / "naive.db", options.sqlite_synchronous)
    elif name in ("ours_sqlite", "ours_batched_sqlite"):
        target = OursTarget(
            name,
            f"sqlite:///{workdir / (name + '.db')}",
            synchronous=options.sqlite_synchronous,
            pool_size=options.clients,
            batched=name == "ours_batched_sqlite",
            events=options.events,
        )
    else:
        assert server is not None
        with server.database(f"{tag}_{name}") as url:
            target = (
                NaivePgTarget(url)
                if name == "naive_pg"
                else OursTarget(
                    name,
                    url,
                    synchronous=options.sqlite_synchronous,
                    pool_size=options.clients,
                    batched=name == "ours_batched_pg",
                    events=options.events,
                )
            )
            try:
                yield target
            finally:
                target.close()
        return
    try:
        yield target
    finally:
        target.close()


# ---------------------------------------------------------------------------- the command
def reserve(
    clients: Annotated[int, typer.Option(min=1, help="Closed-loop clients (threads).")] = 16,
    seconds: Annotated[float, typer.Option(min=0.01, help="Length of the sustained phase, per target.")] = 5.0,
    hot_skus: Annotated[int, typer.Option(min=1, help="Hot SKUs taking 80% of requests.")] = 3,
    hot_stock: Annotated[int, typer.Option(min=1, help="Units per hot SKU in the sell-out phase.")] = 300,
    tail_skus: Annotated[int, typer.Option(min=1, help="Long-tail SKUs.")] = 200,
    postgres_url: Annotated[
        str | None,
        typer.Option(
            envvar=list(POSTGRES_ENV),
            help="PostgreSQL server to create scratch databases on; the PostgreSQL targets are skipped without it.",
        ),
    ] = None,
    sqlite_synchronous: Annotated[
        str, typer.Option(help="SQLite synchronous mode for ours and the naive anchor alike.")
    ] = "FULL",
    seed: Annotated[int, typer.Option(help="Seed of the request mix.")] = 1,
    sellout_requests: Annotated[
        int | None, typer.Option(min=1, help="Requests in the sell-out phase (default: 4 per unit of hot stock).")
    ] = None,
    targets: Annotated[str, typer.Option(help=f"Comma-separated subset of {','.join(TARGETS)}.")] = ",".join(TARGETS),
    workdir: Annotated[
        Path | None, typer.Option(file_okay=False, exists=True, help="Where the SQLite files go (default: temp).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")] = False,
    events: Annotated[
        bool, typer.Option(help="The availability journal and its running publisher, as `seamline serve` runs them.")
    ] = True,
) -> None:
    """Flash-sale holds against the in-memory, naive SQLite and naive PostgreSQL anchors; JSON on stdout."""
    options = BenchOptions(
        clients=clients,
        seconds=seconds,
        hot_skus=hot_skus,
        hot_stock=hot_stock,
        tail_skus=tail_skus,
        postgres_url=postgres_url or None,
        sqlite_synchronous=sqlite_synchronous.upper(),
        seed=seed,
        sellout_requests=sellout_requests,
        targets=tuple(t.strip() for t in targets.split(",") if t.strip()),
        workdir=workdir,
        progress=not quiet,
        argv=tuple(sys.argv),
        events=events,
    )
    try:
        options.check()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    result = run_reserve_bench(options)
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    if not result["ok"]:
        raise typer.Exit(1)


def register_bench_commands(bench_app: typer.Typer) -> None:
    """Add the benchmark commands to a typer group (`seamline bench`, or `bench/reserve.py` on its own)."""
    bench_app.command("reserve")(reserve)
