"""Season-scale bulk work (issue #18): `python bench/bulk.py --help`. Prints one JSON document on stdout.

Per database (SQLite; PostgreSQL from SEAMLINE_BENCH_POSTGRES_URL or SEAMLINE_TEST_POSTGRES_URL):
- ``import``: ``seamline import catalog`` of 10k/30k/100k variants (``import_catalog``), in a forked child so
  its peak RSS is its own; a re-import of the same file (must be all unchanged); reconcile after it.
- ``receipt``: one receipt of as many lines as the largest catalog (``Seamline.receive_stock``), with three
  channels over 20 locations, ``web`` wired to a Shopify sandbox shop and ``retail`` to a Square sandbox till
  through the real connectors (``Platforms``); then ``publish_seconds``, from its commit until both
  sandboxes show every SKU's new number (polled from the sandboxes' own state), with ``outbox_seconds`` (the
  publisher's journal-to-outbox flush) and ``sandbox_seconds`` (the emulators' own work, in this process)
  inside it; the whole-channel export (``availability_pages``, checked equal to the numbers expected), and
  reconcile over the balances;
- ``reconcile_balances``: every SKU then stocked at all 20 locations (2.1M balance rows at 100k SKUs, seeded
  by set as the ledger writes receipts), reconcile in a process of its own (its peak RSS) while this process
  places and releases holds: their p99 during it beside their p99 just before it.
Each beside its anchors, measured in the same run: ``naive_row_by_row`` (the same work through the public
row-by-row path, ``import_catalog_by_style`` / ``record_movement`` per line, at most 2,000 rows, scaled
linearly) and ``floor_bulk_insert_seconds`` (a bare executemany on SQLite / COPY on PostgreSQL of the same
rows into a table of their own). ``import_100k`` and ``receipt_100k`` carry the seconds at 100k rows (scaled
linearly from the largest size run, and flagged ``extrapolated``, when 100k was not run); ``ok`` says every
target was met and every reconcile was clean.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import platform
import resource
import shlex
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from stdnum import ean

try:
    from seamline.cli.catalog_import import import_catalog, import_catalog_by_style
except ImportError:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from seamline.cli.catalog_import import import_catalog, import_catalog_by_style

from seamline.channels.shopify.client import ShopifyClient, ShopifyConfig
from seamline.channels.shopify.connector import availability_subscriber
from seamline.channels.square.client import SquareClient, SquareConfig
from seamline.channels.square.connector import SquareConnector
from seamline.channels.square.mapper import SquareLookups
from seamline.integration import Integration
from seamline.integration import install as install_integration
from seamline.ledger import HoldLineRequest, MovementRequest
from seamline.sandbox.shopify import SandboxConfig, ShopifySandbox
from seamline.sandbox.shopify.state import InventoryItem
from seamline.sandbox.square import SquareSandbox
from seamline.service import Seamline, Settings, bootstrap
from seamline.store.types import driver_time

COLUMNS = (
    "style_code",
    "style_name",
    "season",
    "category",
    "size_scale",
    "colour_code",
    "colour_name",
    "size",
    "fit",
    "sku",
    "gtin",
    "retail_price",
    "wholesale_price",
    "currency",
    "tax_class",
    "status",
)
SIZES = ("XS", "S", "M", "L", "XL")
COLOURS = (("NVY", "Navy"), ("BLK", "Black"), ("OLV", "Olive"), ("ECR", "Ecru"))
VARIANTS_PER_STYLE = len(SIZES) * len(COLOURS)  # 20: a realistic apparel style


def gtin13(serial: int) -> str:
    body = f"061414{serial:06d}"  # GS1's documentation prefix: never a real brand's
    return body + ean.calc_check_digit(body)


def catalog_rows(variants: int, *, season: str = "SS27", price: str = "49.00") -> Iterator[dict[str, str]]:
    """``variants`` rows of a catalog CSV, 20 per style (the last style may be shorter)."""
    for n in range(variants):
        style, index = divmod(n, VARIANTS_PER_STYLE)
        colour, size = COLOURS[index // len(SIZES)], SIZES[index % len(SIZES)]
        code = f"ST{style:06d}"
        yield {
            "style_code": code,
            "style_name": f"Style {style}",
            "season": season,
            "category": "tees",
            "size_scale": "|".join(SIZES),
            "colour_code": colour[0],
            "colour_name": colour[1],
            "size": size,
            "fit": "",
            "sku": f"{code}-{colour[0]}-{size}",
            "gtin": gtin13(n),
            "retail_price": price,
            "wholesale_price": "20.00",
            "currency": "EUR",
            "tax_class": "standard",
            "status": "active",
        }


def write_catalog_csv(path: Path, variants: int, **kwargs: str) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(catalog_rows(variants, **kwargs))
    return path


# ------------------------------------------------------------------------------------------ the benchmark
LOCATIONS = [f"LOC-{i:02d}" for i in range(1, 21)]  # 20 stock locations: every channel's sources among them
CHANNELS = {"web": LOCATIONS, "retail": LOCATIONS[:10], "marketplace": LOCATIONS[:5]}
CASES = ("import", "receipt", "reconcile")
SAFETY_STOCK = 1  # every channel's
PUBLISH_TIMEOUT_S = 300.0  # the receipt case gives up waiting for the sandboxes after this long
ANCHOR_MAX = 2000  # the row-by-row anchors run at most this many rows, then are scaled linearly
TARGETS = {
    "import_100k_s": 60.0,
    "receipt_100k_s": 10.0,
    "publish_s": 5.0,
    "export_s": 3.0,
    "rss_mb": 300.0,
    "reconcile_rss_mb": 500.0,
}
#: Holds during reconcile keep "their usual p99": at most this factor of the p99 measured just before it,
#: plus a few milliseconds for a 2-core machine's scheduling noise.
HOLD_P99_FACTOR, HOLD_P99_SLACK_MS = 2.0, 10.0
RECONCILE_QTY = 3  # units per (SKU, location) of the seeded ledger


def _fresh_database(kind: str, workdir: Path, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / (name + '.db')}"
    base = make_url(_postgres_base() or "")
    admin = create_engine(base.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    database = f"seamline_bulk_{name}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    _CREATED.append(database)
    return base.set(drivername="postgresql+psycopg", database=database).render_as_string(hide_password=False)


_CREATED: list[str] = []


def _drop_databases() -> None:
    if not _CREATED:
        return
    admin = create_engine(
        make_url(_postgres_base() or "").set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        for database in _CREATED:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    admin.dispose()
    _CREATED.clear()


def _postgres_base() -> str | None:
    return os.environ.get("SEAMLINE_BENCH_POSTGRES_URL") or os.environ.get("SEAMLINE_TEST_POSTGRES_URL")


def _app(url: str) -> tuple[Seamline, Integration]:
    app = bootstrap(Settings(database_url=url, admin_token="bench-admin-token-0123456789abcdef0123"), migrate=True)
    return app, install_integration(app)


def _in_child(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``work`` in a forked child and answer its result with the child's own peak RSS (MB)."""
    reader, writer = multiprocessing.get_context("fork").Pipe(duplex=False)

    def run() -> None:
        try:
            result = work()
        except Exception as exc:  # noqa: BLE001 - reported in the JSON, not raised in a child
            result = {"error": repr(exc)}
        result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        writer.send(result)

    child = multiprocessing.get_context("fork").Process(target=run)
    child.start()
    result: dict[str, Any] = reader.recv()
    child.join()
    return result


def _timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = work()
    return time.perf_counter() - started, value


def _floor_import(kind: str, url: str, rows: list[dict[str, str]]) -> float:
    """A bare bulk insert of the same variant rows into a table of their own: the floor."""
    values = [tuple(r[c] for c in COLUMNS) for r in rows]
    columns = ", ".join(f"{c} text" for c in COLUMNS)
    if kind == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        conn.execute(f"CREATE TABLE floor_rows ({columns})")
        started = time.perf_counter()
        conn.executemany(f"INSERT INTO floor_rows VALUES ({', '.join('?' * len(COLUMNS))})", values)
        conn.commit()
        conn.close()
        return time.perf_counter() - started
    import psycopg

    with psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)) as pg:
        pg.execute(f"CREATE TABLE floor_rows ({columns})")
        started = time.perf_counter()
        with pg.cursor().copy(f"COPY floor_rows ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for value in values:
                copy.write_row(value)
        pg.commit()
        return time.perf_counter() - started


def _import_case(kind: str, workdir: Path, variants: int) -> dict[str, Any]:
    path = write_catalog_csv(workdir / f"catalog_{variants}.csv", variants)
    url = _fresh_database(kind, workdir, f"import{variants}")

    def ours() -> dict[str, Any]:
        app, _ = _app(url)
        seconds, result = _timed(lambda: import_catalog(app, path))
        again, repeat = _timed(lambda: import_catalog(app, path))
        clean = app.reconcile().clean
        app.engine.dispose()
        return {
            "seconds": round(seconds, 3),
            "rows_per_s": round(variants / seconds),
            "created": result.outcomes["created"],
            "errors": len(result.errors),
            "reimport_seconds": round(again, 3),
            "reimport_unchanged": dict(repeat.outcomes) == {"unchanged": result.outcomes["created"]},
            "reconcile_clean": clean,
        }

    out = _in_child(ours)
    anchor_rows = min(variants, ANCHOR_MAX)
    anchor_path = write_catalog_csv(workdir / f"anchor_{anchor_rows}.csv", anchor_rows)
    anchor_url = _fresh_database(kind, workdir, f"anchor{variants}")
    anchor_app, _ = _app(anchor_url)
    naive, _ = _timed(lambda: import_catalog_by_style(anchor_app, anchor_path))
    anchor_app.engine.dispose()
    out["naive_row_by_row"] = {
        "rows": anchor_rows,
        "seconds": round(naive, 3),
        "scaled_seconds": round(naive * variants / anchor_rows, 3),
    }
    out["floor_bulk_insert_seconds"] = round(
        _floor_import(kind, _fresh_database(kind, workdir, f"floor{variants}"), list(catalog_rows(variants))), 3
    )
    return out


def _receipt_case(kind: str, workdir: Path, variants: int, *, with_reconcile: bool = True) -> dict[str, Any]:
    """One receipt of ``variants`` lines after the catalog is in, with channels over 20 locations, each wired
    to a platform's sandbox; then the time from its commit until every sandbox shows the new numbers of all
    SKUs, the whole-channel export, reconcile."""
    path = write_catalog_csv(workdir / f"catalog_{variants}.csv", variants)
    url = _fresh_database(kind, workdir, f"receipt{variants}")
    app, integration = _app(url)
    for code in LOCATIONS:
        app.write(lambda uow, c=code: app.put_location(uow, c, c, "warehouse"))
    for channel, sources in CHANNELS.items():
        body = {"kind": "web", "sources": sources, "safety_stock": SAFETY_STOCK, "pause_below": 0}
        app.write(lambda uow, c=channel, b=body: app.put_channel(uow, c, b))
    assert not import_catalog(app, path).errors
    integration.availability.flush()
    lines = [(r["sku"], 1 + n % 7) for n, r in enumerate(catalog_rows(variants))]
    app.engine.dispose()

    def ours() -> dict[str, Any]:
        app, integration = _app(url)
        platforms = Platforms(app, integration, [sku for sku, _ in lines])
        seconds, _ = _timed(
            lambda: app.write(lambda uow: app.receive_stock(uow, LOCATIONS[0], lines, document="RCPT-1"))
        )
        committed = time.perf_counter()
        outbox, published = _timed(integration.availability.flush)
        integration.dispatcher.start()
        expected = {sku: max(0, qty - SAFETY_STOCK) for sku, qty in lines}
        waited = platforms.wait_until_shown(expected, timeout=PUBLISH_TIMEOUT_S)
        delivered = time.perf_counter() - committed
        integration.dispatcher.stop()
        export, pages = _timed(lambda: [item for page in app.availability_pages("web") for item in page])
        exported = {item["sku"]: item["available"] for item in pages}
        reconcile, report = _timed(app.reconcile)
        app.engine.dispose()
        return {
            "seconds": round(seconds, 3),
            # From the receipt's commit until every wired sandbox shows every SKU's new number (read from the
            # sandboxes' own state), through the publisher, the outbox and the dispatcher.
            "publish_seconds": round(delivered, 3) if not waited["missing"] else None,
            "publish_measures": "receipt commit until every sandbox (" + ", ".join(platforms.names) + ") shows it",
            "publish_per_platform_seconds": waited["seconds"],
            "publish_missing": waited["missing"],
            "outbox_seconds": round(outbox, 3),
            "outbox_measures": "journal to outbox events (the publisher's flush), part of publish_seconds",
            "outbox_events": platforms.events(),
            "journal_rows_published": published,
            "platform_calls": platforms.calls(),
            # Inside publish_seconds: the in-process sandboxes' own work answering those calls.
            "sandbox_seconds": platforms.sandbox_seconds(),
            "export_seconds": round(export, 3),
            "exported_skus": len(exported),
            "export_equals_expected": exported == expected,
            "reconcile_seconds": round(reconcile, 3),
            "reconcile_rows": report.checked_rows,
            "reconcile_clean": report.clean,
        }

    out = _in_child(ours)
    anchor_rows = min(variants, ANCHOR_MAX)

    def naive() -> None:
        app.write(
            lambda uow: [
                app.record_movement(
                    uow, MovementRequest("receipt", sku, qty, to_location=LOCATIONS[1], document="RCPT-N")
                )
                for sku, qty in lines[:anchor_rows]
            ]
        )

    app, _ = _app(url)
    naive_seconds, _ = _timed(naive)
    app.engine.dispose()
    out["naive_row_by_row"] = {
        "rows": anchor_rows,
        "seconds": round(naive_seconds, 3),
        "scaled_seconds": round(naive_seconds * variants / anchor_rows, 3),
    }
    movement_rows = [{"sku": s, "qty": str(q), "to": LOCATIONS[0]} for s, q in lines]
    out["floor_bulk_insert_seconds"] = round(
        _floor_movements(kind, _fresh_database(kind, workdir, f"mfloor{variants}"), movement_rows), 3
    )
    if with_reconcile:
        out["reconcile_balances"] = _reconcile_case(url, [sku for sku, _ in lines])
    return out


class TimedTransport(httpx.BaseTransport):
    """A sandbox's transport that adds up the time the sandbox spends answering: the emulators run in this
    process, on the same cores and interpreter lock as Seamline, where a real platform works on its own."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.seconds = 0.0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        try:
            return self.inner.handle_request(request)
        finally:
            self.seconds += time.perf_counter() - started


class Platforms:
    """The receipt's channels wired to the platforms' sandboxes through the real connectors, as the demo wires
    them: ``web`` to a Shopify shop (a Plus plan's cost bucket: 1,000 points a second; on a standard plan's
    100 the 400 calls of 100k numbers take at least 20 s whatever we do), ``retail`` to a Square till
    location (its counts). The shops list every SKU already (their inventory items and variations seeded in
    the sandboxes, as ``seamline shopify link`` and the till catalog push would leave them): the case times
    the numbers, not the catalog."""

    def __init__(self, app: Seamline, integration: Integration, skus: list[str]) -> None:
        self.app = app
        config = SandboxConfig(currency="EUR", bucket_maximum=20_000.0, restore_rate=1_000.0)
        self.shopify = ShopifySandbox(config)
        self.shopify_location = self.shopify.add_location("Online store")
        shop, now = self.shopify.shop, self.shopify.clock.now()
        self.items: dict[str, int] = {}
        for sku in skus:
            item = shop.new_id()
            shop.items[item] = InventoryItem(item, 0, sku, True, now)
            shop.stock(item, self.shopify_location, now)
            self.items[sku] = item
        self.transports = {"shopify:web": TimedTransport(self.shopify.transport())}
        client = ShopifyClient(
            ShopifyConfig("http://sandbox.test/admin/api/2026-07", config.access_token),
            transport=self.transports["shopify:web"],
        )
        integration.add_subscriber(
            availability_subscriber(
                "web",
                client,
                location_id=str(self.shopify_location),
                item_for_sku=lambda sku: None if sku not in self.items else str(self.items[sku]),
                items_for_skus=lambda wanted: {s: str(self.items[s]) for s in wanted if s in self.items},
                on_drift=lambda drift: None,
                batch=True,
            )
        )
        self.square = SquareSandbox()
        self.square_location = next(iter(self.square.config.locations))
        self.variations = {sku: f"VAR{n:07d}" for n, sku in enumerate(skus)}
        for sku, variation in self.variations.items():
            self.square.catalog[variation] = {"id": variation, "type": "ITEM_VARIATION", "sku": sku}
        lookups = SquareLookups(
            sku_for_variation={v: s for s, v in self.variations.items()},
            location_for={self.square_location: LOCATIONS[0]},
        )
        self.transports["square:retail"] = TimedTransport(self.square.transport())
        square = SquareConnector(
            app,
            SquareClient(
                SquareConfig("http://bench.square.sandbox", self.square.config.access_token),
                transport=self.transports["square:retail"],
            ),
            lambda: lookups,
            channel="retail",
        )
        integration.add_subscriber(square.stock_subscriber(self.square_location))
        self.names = ["shopify:web", "square:retail"]

    def _shown(self, name: str, sku: str) -> int | None:
        if name == "shopify:web":
            level = self.shopify.shop.level(self.items[sku], self.shopify_location)
            return None if level is None else level.quantities.get("available")
        return self.square.counts.get((self.variations[sku], self.square_location))

    def wait_until_shown(self, expected: dict[str, int], *, timeout: float) -> dict[str, Any]:
        """Poll the sandboxes' own state until each shows every expected number; answers the seconds each
        took (from the call) and how many numbers were still missing at the timeout."""
        started = time.perf_counter()
        remaining = {name: dict(expected) for name in self.names}
        seconds: dict[str, float] = {}
        while time.perf_counter() - started < timeout:
            for name, left in remaining.items():
                if name in seconds:
                    continue
                for sku in [s for s, n in left.items() if self._shown(name, s) == n]:
                    del left[sku]
                if not left:
                    seconds[name] = round(time.perf_counter() - started, 3)
            if len(seconds) == len(self.names):
                break
            time.sleep(0.1)
        return {"seconds": seconds, "missing": {n: len(left) for n, left in remaining.items() if left}}

    def sandbox_seconds(self) -> dict[str, float]:
        return {name: round(t.seconds, 3) for name, t in self.transports.items()}

    def calls(self) -> dict[str, int]:
        return {"shopify:web": len(self.shopify.calls), "square:retail": len(self.square.calls)}

    def events(self) -> dict[str, int]:
        with self.app.engine.connect() as conn:
            rows = conn.execute(text("SELECT type, count(*) FROM outbox_events GROUP BY type")).all()
        return {str(t): int(n) for t, n in rows}


def _seed_every_location(url: str) -> int:
    """Receipts of ``RECONCILE_QTY`` of every SKU at every location the receipt did not fill, written as the
    ledger writes them (movements from the supplier, balances raised, the supplier's rows lowered), in a few
    set-based statements: a ledger of 2M+ balance rows that reconciles clean. Answers the balance rows."""
    app, _ = _app(url)
    dialect = app.engine.dialect.name
    at = driver_time(app.clock.now(), dialect)
    others = LOCATIONS[1:]
    marks = ", ".join(f"'{code}'" for code in others)  # the bench's own constant codes
    with app.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO movements (sku, qty, from_location, to_location, kind, document, occurred_at, "
                f"recorded_at) SELECT s.sku, {RECONCILE_QTY}, 'supplier', l.code, 'receipt', 'RECON-SEED', :at, :at "
                f"FROM skus s CROSS JOIN locations l WHERE s.kind = 'variant' AND l.code IN ({marks}) "
                "ORDER BY s.sku, l.code"
            ),
            {"at": at},
        )
        conn.execute(
            text(
                "INSERT INTO balances (sku, location, on_hand, committed, reserved) "
                f"SELECT s.sku, l.code, {RECONCILE_QTY}, 0, 0 FROM skus s CROSS JOIN locations l "
                f"WHERE s.kind = 'variant' AND l.code IN ({marks}) "
                "ON CONFLICT (sku, location) DO UPDATE SET on_hand = balances.on_hand + excluded.on_hand"
            )
        )
        conn.execute(
            text(
                f"UPDATE balances SET on_hand = on_hand - {RECONCILE_QTY * len(others)} WHERE location = 'supplier' "
                "AND sku IN (SELECT sku FROM skus WHERE kind = 'variant')"
            )
        )
        rows = int(conn.execute(text("SELECT count(*) FROM balances")).scalar_one())
    app.engine.dispose()
    return rows


def _holds(app: Seamline, skus: list[str], until: Callable[[int], bool]) -> list[float]:
    """Holds of one unit on the web channel, each released at once, timed one by one until ``until(n)``."""
    latencies: list[float] = []
    n = 0
    while not until(n):
        sku = skus[(n * 7919) % len(skus)]
        started = time.perf_counter()
        hold = app.write(
            lambda uow, s=sku: app.place_hold(uow, channel="web", lines=[HoldLineRequest(s, 1)], ttl_seconds=60)
        )
        latencies.append(time.perf_counter() - started)
        app.write(lambda uow, h=hold["id"]: app.release_hold(uow, h))
        n += 1
    return latencies


def _p99_ms(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2)


def _reconcile_case(url: str, skus: list[str]) -> dict[str, Any]:
    """Reconcile over every location's balance rows (2M+ at 100k SKUs x 20 locations) in a process of its own
    (its peak RSS is its own), while this process places holds: their p99 during it beside the p99 of the same
    holds just before it, in the same run."""
    rows = _seed_every_location(url)
    app, _ = _app(url)
    stamp = time.perf_counter()
    before = _holds(app, skus, lambda n: n >= 50 and time.perf_counter() - stamp > 5.0)
    app.engine.dispose()
    reader, writer = multiprocessing.get_context("fork").Pipe(duplex=False)

    def run() -> None:
        child, _ = _app(url)
        writer.send("ready")  # started and migrated: the holds are timed from here, during reconcile only
        try:
            seconds, report = _timed(child.reconcile)
            result: dict[str, Any] = {
                "seconds": round(seconds, 3),
                "checked_rows": report.checked_rows,
                "clean": report.clean,
            }
        except Exception as exc:  # noqa: BLE001 - reported in the JSON, not raised in a child
            result = {"error": repr(exc), "clean": False}
        result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        writer.send(result)

    process = multiprocessing.get_context("fork").Process(target=run)
    app, _ = _app(url)
    process.start()
    assert reader.recv() == "ready"
    during = _holds(app, skus, lambda n: not process.is_alive() and n >= 1)
    result: dict[str, Any] = reader.recv()
    process.join()
    app.engine.dispose()
    result.update(
        {
            "balance_rows": rows,
            "holds_before": len(before),
            "hold_p99_ms_before": _p99_ms(before),
            "holds_during": len(during),
            "hold_p99_ms_during": _p99_ms(during),
        }
    )
    limit = result["hold_p99_ms_before"] * HOLD_P99_FACTOR + HOLD_P99_SLACK_MS
    result["holds_at_usual_p99"] = result["hold_p99_ms_during"] <= limit
    return result


def _floor_movements(kind: str, url: str, rows: list[dict[str, str]]) -> float:
    values = [(r["sku"], r["qty"], r["to"]) for r in rows]
    if kind == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        conn.execute("CREATE TABLE floor_moves (sku text, qty bigint, loc text)")
        started = time.perf_counter()
        conn.executemany("INSERT INTO floor_moves VALUES (?, ?, ?)", values)
        conn.commit()
        conn.close()
        return time.perf_counter() - started
    import psycopg

    with psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)) as pg:
        pg.execute("CREATE TABLE floor_moves (sku text, qty bigint, loc text)")
        started = time.perf_counter()
        with pg.cursor().copy("COPY floor_moves FROM STDIN") as copy:
            for value in values:
                copy.write_row(value)
        pg.commit()
        return time.perf_counter() - started


def _at_target(cases: dict[str, dict[str, Any]], key: str, size: int = 100_000) -> dict[str, Any]:
    """The figure at ``size`` rows: measured when run at that size, else scaled linearly from the largest."""
    largest = max(cases, key=int)
    seconds = cases[largest].get(key)
    if seconds is None:
        return {"seconds": None, "measured_at": int(largest)}
    measured = int(largest) == size
    return {
        "seconds": round(seconds * size / int(largest), 3),
        "measured_at": int(largest),
        "extrapolated": not measured,
    }


def run_bulk_bench(sizes: list[int], databases: list[str], cases: tuple[str, ...] = CASES) -> dict[str, Any]:
    result: dict[str, Any] = {"sizes": sizes, "cases": list(cases), "targets": TARGETS, "databases": {}, "skipped": {}}
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="seamline-bulk-") as tmp:
        workdir = Path(tmp)
        for kind in databases:
            if kind == "postgresql" and not _postgres_base():
                result["skipped"][kind] = "no PostgreSQL (SEAMLINE_BENCH_POSTGRES_URL / SEAMLINE_TEST_POSTGRES_URL)"
                continue
            try:
                imports = {str(n): _import_case(kind, workdir, n) for n in sizes} if "import" in cases else {}
                receipt = _receipt_case(kind, workdir, max(sizes), with_reconcile="reconcile" in cases)
            finally:
                _drop_databases()
            receipts = {str(max(sizes)): receipt}
            figures = {
                "import": imports,
                "receipt": receipts,
                "import_100k": _at_target(imports, "seconds") if imports else {"seconds": None, "skipped": True},
                "receipt_100k": _at_target(receipts, "seconds"),
                "publish_100k": _at_target(receipts, "publish_seconds"),
                "export_100k": _at_target(receipts, "export_seconds"),
            }
            result["databases"][kind] = figures
            checks = [
                ("receipt_100k", figures["receipt_100k"]["seconds"], TARGETS["receipt_100k_s"]),
                ("publish_100k", figures["publish_100k"]["seconds"], TARGETS["publish_s"]),
                ("export_100k", figures["export_100k"]["seconds"], TARGETS["export_s"]),
            ]
            if imports:
                checks += [
                    ("import_100k", figures["import_100k"]["seconds"], TARGETS["import_100k_s"]),
                    ("import peak RSS", max(c["peak_rss_mb"] for c in imports.values()), TARGETS["rss_mb"]),
                ]
            for name, value, target in checks:
                if value is None or value > target:
                    problems.append(f"{kind}: {name} {value} > {target}")
            for case in [*imports.values(), receipt]:
                if "error" in case:
                    problems.append(f"{kind}: {case['error']}")
                elif not case["reconcile_clean"]:
                    problems.append(f"{kind}: reconcile not clean")
            big = receipt.get("reconcile_balances", {})
            figures["reconcile_balances"] = big
            if "reconcile" not in cases:
                continue
            if "error" in big or not big.get("clean"):
                problems.append(f"{kind}: reconcile over {big.get('balance_rows')} balance rows not clean: {big}")
            elif big["peak_rss_mb"] > TARGETS["reconcile_rss_mb"]:
                problems.append(f"{kind}: reconcile peak RSS {big['peak_rss_mb']} > {TARGETS['reconcile_rss_mb']}")
            if big and not big.get("holds_at_usual_p99"):
                problems.append(
                    f"{kind}: hold p99 {big.get('hold_p99_ms_during')} ms during reconcile, "
                    f"{big.get('hold_p99_ms_before')} ms before"
                )
    result["problems"] = problems
    result["ok"] = not problems
    return result


cli = typer.Typer(add_completion=False)


@cli.command()
def main(
    quick: Annotated[bool, typer.Option(help="A smoke test: tiny sizes, figures extrapolated to 100k.")] = False,
    sizes: Annotated[str, typer.Option(help="Catalog sizes (variants), comma-separated.")] = "10000,30000,100000",
    databases: Annotated[str, typer.Option(help="sqlite,postgresql")] = "sqlite,postgresql",
    cases: Annotated[
        str, typer.Option(help="import,receipt,reconcile (the receipt case always runs: the others need it)")
    ] = ",".join(CASES),
) -> None:
    """Catalog import, a many-line receipt, availability publishing, the export and reconcile, at season scale."""
    chosen = [300, 600] if quick else [int(s) for s in sizes.split(",")]
    result = run_bulk_bench(sorted(chosen), databases.split(","), tuple(c for c in CASES if c in cases.split(",")))
    result["command"] = "python bench/bulk.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    result["machine"] = {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    sys.stdout.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    cli()
