"""`seamline demo`: a drop on the embedded default, from an empty database to a reconciled ledger.

A simulated peak-trading hour runs at ``speed`` times real time: web buyers and marketplace shoppers hold
stock through their channels, store tills sell from their own store, checkouts complete (the hold becomes an
allocation), are abandoned (the hold expires) or are cancelled (released), the warehouse receives a mid-drop
delivery and a store writes off a damaged unit. Every request hits the same ledger rows in real time.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import Connection

from seamline.cli.samples import SampleCatalog, sample_catalog
from seamline.domain.errors import SeamlineError, Shortage
from seamline.ledger import HoldLineRequest, MovementRequest
from seamline.service import Seamline, Settings, bootstrap

STORES = [("STORE-SOHO", "Soho"), ("STORE-SHOR", "Shoreditch"), ("STORE-MANC", "Manchester")]


class SimulatedClock:
    """Business time running ``speed`` times faster than the wall, so hold TTLs expire in simulated minutes."""

    def __init__(self, start: datetime, speed: float) -> None:
        self._start = start
        self._speed = speed
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._t0) * self._speed)

    def minutes(self) -> float:
        return (time.monotonic() - self._t0) * self._speed / 60


@dataclass
class DemoSummary:
    database: str
    minutes: float
    requests: int = 0
    held: int = 0
    short: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    units_by_channel: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    oversold_units: int = 0
    reconcile_clean: bool = False
    wall_seconds: float = 0.0
    interrupted: bool = False

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def setup_world(app: Seamline, rng: random.Random, progress: Progress) -> SampleCatalog:
    """Catalog, locations, channels and opening stock."""
    catalog = sample_catalog(seed=rng.randint(0, 10_000))
    task = progress.add_task("loading the catalog", total=len(catalog.drafts))
    for draft in catalog.drafts:
        app.write(partial(app.put_style, draft=draft))
        progress.advance(task)
    app.write(lambda conn: app.put_location(conn, "WH", "Central warehouse", "warehouse"))
    app.write(lambda conn: app.put_location(conn, "3PL-EU", "3PL Rotterdam", "threepl"))
    for code, name in STORES:
        app.write(partial(app.put_location, code=code, name=name, kind="store"))
    channels: dict[str, dict[str, Any]] = {
        "web": {"kind": "shopify", "sources": ["WH", "3PL-EU"], "safety_stock": 1},
        "amazon": {"kind": "amazon", "sources": ["3PL-EU"], "pause_below": 3},
        "wholesale": {"kind": "wholesale", "sources": ["WH"], "allow_split": False},
        **{f"pos-{code.lower()}": {"kind": "pos", "sources": [code]} for code, _ in STORES},
    }
    for code, body in channels.items():
        app.write(partial(app.put_channel, code=code, body=body))
    skus = catalog.unit_skus
    task = progress.add_task("receiving opening stock", total=len(skus))
    for sku in skus:
        hot = sku in catalog.hot_skus

        def receive(conn: Connection, s: str = sku, is_hot: bool = hot) -> None:
            for location, qty in (
                ("WH", 12 if is_hot else rng.randint(4, 30)),
                ("3PL-EU", 8 if is_hot else rng.randint(0, 20)),
                *((code, 2 if is_hot else rng.randint(0, 4)) for code, _ in STORES),
            ):
                if qty:
                    app.record_movement(conn, MovementRequest("receipt", s, qty, to_location=location))

        app.write(receive)
        progress.advance(task)
    return catalog


def run_demo(*, database: Path, minutes: float, speed: float, seed: int, buyers: int, console: Console) -> DemoSummary:
    if database.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    clock = SimulatedClock(datetime(2026, 11, 27, 8, 0, tzinfo=UTC), speed)
    app = bootstrap(
        Settings(database_url=f"sqlite:///{database}", admin_token=None),
        clock=clock,
        migrate=True,
        pool_size=buyers + 4,
    )
    rng = random.Random(seed)
    summary = DemoSummary(database=str(database), minutes=minutes)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f}"),
        TimeRemainingColumn(),
        console=console,
    )
    with progress:
        catalog = setup_world(app, rng, progress)
    hot, all_skus = catalog.hot_skus, catalog.unit_skus
    stop = threading.Event()
    lock = threading.Lock()

    def actor(name: str, channel: str | None, location: str | None, actor_seed: int) -> None:
        local = random.Random(actor_seed)
        while not stop.is_set() and clock.minutes() < minutes:
            sku = local.choice(hot) if local.random() < 0.6 else local.choice(all_skus)
            qty = 1 if local.random() < 0.85 else 2
            started = time.perf_counter()
            outcome = "short"
            try:
                stored = app.place_hold_txn(
                    channel=channel, lines=[HoldLineRequest(sku, qty, location)], ttl_seconds=600
                )
                hold = stored.body
                roll = local.random()
                if location is not None or roll < 0.6:  # tills always complete; 60% of web checkouts do
                    app.write(partial(app.commit_hold, hold_id=hold["id"], document=f"{name}-{hold['id'][-8:]}"))
                    outcome = "completed"
                elif roll < 0.85:
                    outcome = "abandoned"  # left to expire: the TTL gives the units back
                else:
                    app.write(partial(app.release_hold, hold_id=hold["id"]))
                    outcome = "cancelled"
            except Shortage:
                outcome = "short"
            except SeamlineError:
                outcome = "error"
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                summary.requests += 1
                summary.latencies_ms.append(elapsed)
                summary.outcomes[outcome] += 1
                if outcome == "short":
                    summary.short += 1
                else:
                    summary.held += 1
                if outcome == "completed":
                    summary.units_by_channel[channel or f"pos-{(location or '').lower()}"] += qty
            time.sleep(local.uniform(0.002, 0.02))

    def operations() -> None:
        delivered = damaged = False
        while not stop.is_set() and clock.minutes() < minutes:
            if not delivered and clock.minutes() >= minutes / 2:
                for sku in hot:
                    app.write(
                        partial(app.record_movement, request=MovementRequest("receipt", sku, 10, to_location="WH"))
                    )
                delivered = True
            if not damaged and clock.minutes() >= minutes / 3:
                with contextlib.suppress(Shortage):  # nothing left to damage is fine
                    app.write(
                        lambda conn: app.record_movement(
                            conn, MovementRequest("damage", all_skus[-1], 1, from_location="WH", reason="torn seam")
                        )
                    )
                damaged = True
            app.sweep_expired()
            time.sleep(0.2)

    threads = [threading.Thread(target=operations, name="ops")]
    for i in range(buyers):
        threads.append(threading.Thread(target=actor, args=(f"web-{i}", "web", None, seed * 100 + i)))
    threads.append(threading.Thread(target=actor, args=("amazon", "amazon", None, seed * 100 + 50)))
    for j, (code, _) in enumerate(STORES):
        threads.append(threading.Thread(target=actor, args=(f"till-{code}", None, code, seed * 100 + 60 + j)))
    started = time.monotonic()
    sim = Progress(TextColumn("[bold]peak hour"), BarColumn(), TextColumn("{task.fields[clock]}"), console=console)
    task = sim.add_task("drop", total=minutes, clock="")
    try:
        with Live(console=console, refresh_per_second=4) as live:
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads):
                sim.update(
                    task,
                    completed=min(minutes, clock.minutes()),
                    clock=f"{clock.now():%H:%M} sim · {summary.requests} requests · {summary.short} short",
                )
                live.update(Group(sim, _hot_table(app, hot)))
                time.sleep(0.25)
    except KeyboardInterrupt:
        summary.interrupted = True
        stop.set()
        for t in threads:
            t.join(timeout=10)
    summary.wall_seconds = time.monotonic() - started
    app.sweep_expired()
    report = app.reconcile()
    summary.reconcile_clean = report.clean
    summary.oversold_units = sum(-b.available for b in report.negative_available)
    app.engine.dispose()
    return summary


def _hot_table(app: Seamline, hot: list[str]) -> Table:
    table = Table("hot SKU", "web", "amazon", "pos-store-soho", "wholesale", title="Available to promise, live")
    for sku in hot:
        row = [sku]
        for channel in ("web", "amazon", "pos-store-soho", "wholesale"):
            items, _ = app.availability(channel, sku=sku)
            row.append("[red]paused[/]" if items[0]["paused"] else str(items[0]["available"]))
        table.add_row(*row)
    return table


def render_summary(summary: DemoSummary, console: Console) -> None:
    table = Table(show_header=False, box=None)
    table.add_row(
        "requests",
        f"{summary.requests} in {summary.wall_seconds:.1f} s "
        f"({summary.requests / max(summary.wall_seconds, 1e-9):.0f}/s)",
    )
    table.add_row("checkouts", ", ".join(f"{k} {v}" for k, v in sorted(summary.outcomes.items())))
    table.add_row("units sold per channel", ", ".join(f"{k} {v}" for k, v in sorted(summary.units_by_channel.items())))
    table.add_row("hold latency", f"p50 {summary.percentile(0.5):.1f} ms, p99 {summary.percentile(0.99):.1f} ms")
    colour = "green" if summary.oversold_units == 0 else "red"
    table.add_row("oversold units", f"[{colour}]{summary.oversold_units}[/]")
    table.add_row("reconcile", "[green]clean[/]" if summary.reconcile_clean else "[red]differences[/]")
    where = (
        f"inspect: SEAMLINE_DATABASE_URL=sqlite:///{summary.database} seamline reconcile\n"
        f"serve:   SEAMLINE_DATABASE_URL=sqlite:///{summary.database} seamline serve  "
        "(then GET /v1/stock, /v1/availability/web, /metrics)"
    )
    title = "Drop summary" + (" (interrupted)" if summary.interrupted else "")
    console.print(Panel(Group(table, "", where), title=title))
