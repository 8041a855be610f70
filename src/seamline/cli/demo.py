"""`seamline demo`: a peak-trading hour on the embedded default, from an empty database to a reconciled
ledger, with the dashboard live while it runs.

It creates a SQLite database, loads a catalog (styles x colours x sizes, GTINs, prepacks), a warehouse, three
stores and a 3PL, and the channels: the web shop (the Shopify sandbox, kept in step by the real Shopify
connector), two marketplaces (one of whose APIs goes down for a while), wholesale and a till channel per
store. It starts the API and the dashboard in-process and drives a planned hour of demand through the HTTP
API at ``speed`` times real time (``peak_hour``). At the end it drains the connectors, reconciles, and
replays the same demand against per-channel stock copies synced every 5, 15 and 60 minutes
(``batch_sync``), so the summary shows the oversold units that architecture would have had, side by side.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import logging
import queue
import random
import secrets
import shutil
import socket
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import Connection

from seamline.channels.shopify.client import Drift
from seamline.cli import batch_sync
from seamline.cli.batch_sync import ChannelCopy, DemandRecord
from seamline.cli.demo_world import (
    ChannelScreen,
    ShopifyShop,
    SimulatedClock,
    flaky_subscriber,
    screen_subscriber,
)
from seamline.cli.peak_hour import PeakHour, Planned, plan_peak_hour
from seamline.cli.samples import SampleCatalog, sample_catalog
from seamline.domain.errors import SeamlineError
from seamline.integration import Integration, IntegrationSettings
from seamline.integration import install as install_integration
from seamline.ledger import MovementRequest
from seamline.service import Seamline, Settings, bootstrap
from seamline.service.inventory import Availability
from seamline.service.orders import OrderDesk, OrderView
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import dashboard_repo, outbox_repo
from seamline.web import DriftLog, DriftRecord
from seamline.web.kpis import percentile as nearest_rank

STORES = [("STORE-SOHO", "Soho"), ("STORE-SHOR", "Shoreditch"), ("STORE-MANC", "Manchester")]
MARKETPLACES = ["amazon", "zalando"]
ONLINE_CHANNELS = ("web", *MARKETPLACES, "wholesale")
DOORS_OPEN = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SETUP_AT = DOORS_OPEN - timedelta(hours=1)
SHOPIFY = "shopify:web"
AMAZON = "amazon:listings"
FLAKY = "mirakl:zalando"
TILLS = "pos:tills"
FLAKY_MAX_ATTEMPTS = 4
CURRENCY = "EUR"
INTERVALS = (5, 15, 60)
HOLD_TTL = 600  # a checkout's hold: ten simulated minutes


FIRST_NAMES = ("Ada", "Ben", "Chloe", "Dev", "Elif", "Farah", "Gus", "Hana", "Ivo", "Jade", "Kofi", "Lena", "Milo")
LAST_NAMES = ("Adeyemi", "Berg", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jansen", "Kowalski")


def buyer_name(ref: str) -> str:
    """A web buyer's name, the same for the same order reference (the dashboard shows customers by name)."""
    n = int("".join(c for c in ref if c.isdigit()) or "0")
    return f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {LAST_NAMES[(n // len(FIRST_NAMES)) % len(LAST_NAMES)]}"


def pos_channel(store: str) -> str:
    return f"pos-{store.lower()}"


CHANNELS: dict[str, dict[str, Any]] = {
    "web": {"kind": "shopify", "sources": ["WH", "3PL-EU"], "safety_stock": 1},
    "amazon": {"kind": "amazon", "sources": ["3PL-EU"], "pause_below": 3},
    "zalando": {"kind": "mirakl", "sources": ["WH"], "safety_stock": 2},
    "wholesale": {"kind": "wholesale", "sources": ["WH"]},
    **{pos_channel(code): {"kind": "pos", "sources": [code]} for code, _ in STORES},
}


# ---------------------------------------------------------------------------------------------------- results
@dataclass
class ConnectorSummary:
    name: str
    delivered: int = 0
    dead_now: int = 0
    ever_dead: int = 0
    failed_attempts: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    in_sync: int = 0
    out_of_sync: int = 0


@dataclass
class DemoSummary:
    database: str
    minutes: float
    speed: float
    seed: int
    minutes_played: float = 0.0
    url: str | None = None
    token: str | None = None
    wall_seconds: float = 0.0
    interrupted: bool = False
    requests: int = 0
    api_p50_ms: float = 0.0
    api_p99_ms: float = 0.0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    units_by_channel: dict[str, int] = field(default_factory=dict)
    orders_online: int = 0
    oversold_units: int = 0
    oversold_units_online: int = 0
    reconcile_clean: bool = False
    reconcile_rows: int = 0
    connectors: list[ConnectorSummary] = field(default_factory=list)
    stale_skipped: int = 0
    drift_found: int = 0  # times Shopify held another number than ours (hand edits, its own sales)
    edited_by_hand: int = 0  # Shopify numbers the merchant edited in its admin during the run
    orders_short_online: int = 0  # online orders left short by an oversell (customers to disappoint)
    oversold_value_online: Decimal = Decimal(0)  # those short units at retail prices
    currency: str = ""
    command: str = "seamline"  # how to run seamline from here (the venv's script when not on PATH)
    batch_sync: list[dict[str, Any]] = field(default_factory=list)
    demand_records: int = 0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: list[float], p: float) -> float:
    """Nearest rank, 0 for no values (the summary prints numbers)."""
    return nearest_rank(values, p) or 0.0


# ---------------------------------------------------------------------------------------------------- the world
@dataclass
class World:
    app: Seamline
    clock: SimulatedClock
    catalog: SampleCatalog
    shop: ShopifyShop
    screens: dict[str, ChannelScreen]
    integration: Integration
    opening: dict[tuple[str, str], int]
    retail: dict[str, Decimal]
    packs: dict[str, list[tuple[str, int]]]
    drift: DriftLog


def build_world(
    app: Seamline,
    clock: SimulatedClock,
    rng: random.Random,
    progress: Progress,
    down: Callable[[], bool],
    drift: DriftLog,
) -> World:
    """Catalog, Shopify, connectors, locations, channels and opening stock, through the service."""
    catalog = sample_catalog(seed=rng.randint(0, 10_000))
    task = progress.add_task("loading the catalog", total=len(catalog.drafts))
    for draft in catalog.drafts:
        app.write(partial(app.put_style, draft=draft))
        progress.advance(task)
    styles = [app.get_style(d.code) for d in catalog.drafts]

    def on_drift(found: Drift) -> None:
        drift.record(DriftRecord(clock.now(), "web", SHOPIFY, found.sku, found.expected, found.actual, found.pushed))

    shop = ShopifyShop(clock, on_drift)
    task = progress.add_task("publishing to the Shopify sandbox", total=1)
    shop.publish(styles)
    progress.advance(task)
    screens = {code: ChannelScreen(code) for code in ["amazon", "zalando", *(pos_channel(c) for c, _ in STORES)]}
    settings = IntegrationSettings(
        max_attempts=8, backoff_base_seconds=2.0, backoff_cap_seconds=120.0, poll_seconds=0.2, lease_seconds=120.0
    )
    integration = install_integration(
        app,
        settings,
        subscribers=[
            shop.subscriber("web"),
            shop.fulfilment_subscriber("web"),
            screen_subscriber(AMAZON, {"amazon": screens["amazon"]}),
            flaky_subscriber(FLAKY, screens["zalando"], down, max_attempts=FLAKY_MAX_ATTEMPTS),
            screen_subscriber(TILLS, {pos_channel(c): screens[pos_channel(c)] for c, _ in STORES}),
        ],
    )
    app.write(lambda uow: app.put_location(uow, "WH", "Central warehouse", "warehouse"))
    app.write(lambda uow: app.put_location(uow, "3PL-EU", "3PL Rotterdam", "threepl"))
    for code, name in STORES:
        app.write(partial(app.put_location, code=code, name=name, kind="store"))
    for code, body in CHANNELS.items():
        app.write(partial(app.put_channel, code=code, body=body))
    opening: dict[tuple[str, str], int] = {}
    task = progress.add_task("receiving opening stock", total=len(catalog.unit_skus))
    for draft in catalog.drafts:  # one transaction per style: one availability recompute for its SKUs
        receipts: list[tuple[str, str, int]] = []
        for variant in draft.variants:
            sku = variant["sku"]
            hot = sku in catalog.hot_skus
            receipts += [
                (sku, "WH", 12 if hot else rng.randint(4, 30)),
                (sku, "3PL-EU", 8 if hot else rng.randint(0, 20)),
                *((sku, code, 2 if hot else rng.randint(1, 5)) for code, _ in STORES),
            ]

        def receive(uow: UnitOfWork, rs: list[tuple[str, str, int]] = receipts) -> None:
            for sku, location, qty in rs:
                if qty:
                    app.record_movement(uow, MovementRequest("receipt", sku, qty, to_location=location))

        app.write(receive)
        opening.update({(sku, loc): qty for sku, loc, qty in receipts if qty})
        progress.advance(task, len(draft.variants))
    retail: dict[str, Decimal] = {}
    packs: dict[str, list[tuple[str, int]]] = {}
    for draft in catalog.drafts:
        price = next(Decimal(p["amount"]) for p in draft.prices if p["list"] == "retail")
        retail.update({v["sku"]: price for v in draft.variants})
        for pack in draft.prepacks:
            packs[pack["sku"]] = [(c["sku"], int(c["units"])) for c in pack["components"]]
    return World(app, clock, catalog, shop, screens, integration, opening, retail, packs, drift)


# ---------------------------------------------------------------------------------------------------- the driver
class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.outcomes: Counter[str] = Counter()
        self.units: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.error_count = 0

    def count(self, outcome: str, channel: str | None = None, units: int = 0) -> None:
        with self.lock:
            self.outcomes[outcome] += 1
            if channel and units:
                self.units[channel] += units


class PeakHourDriver:
    """Plays the plan through the HTTP API: a scheduler hands each planned thing to a worker when its
    simulated time comes (or at once when the run is behind), and checkouts schedule their own payment."""

    def __init__(self, world: World, client: httpx.Client, plan: PeakHour, stats: Stats, workers: int) -> None:
        self.world = world
        self.app = world.app
        self.client = client
        self.plan = plan
        self.stats = stats
        self.workers = workers
        self.demand: list[DemandRecord] = []
        self.position = 0.0  # plan time of the latest thing handed out
        self.stop = threading.Event()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._work: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._busy = 0
        self._allocated: list[tuple[float, str]] = []  # (plan time, order id) waiting for the warehouse
        self._shipped: list[OrderView] = []
        self._shelves: dict[str, tuple[float, list[str]]] = {}
        self.done = threading.Event()

    # ------------------------------------------------------------------ time
    def elapsed(self) -> float:
        """Simulated seconds since the doors opened."""
        return (self.world.clock.now() - DOORS_OPEN).total_seconds()

    def outage(self) -> bool:
        """The flaky marketplace is down for part of the plan (never after the run was stopped)."""
        return not self.stop.is_set() and self.plan.outage_at(self.position)

    def schedule(self, at: float, job: Callable[[], None]) -> None:
        with self._lock:
            heapq.heappush(self._heap, (at, next(self._seq), job))

    def behind(self) -> float:
        with self._lock:
            head = self._heap[0][0] if self._heap else None
        return 0.0 if head is None else max(0.0, self.elapsed() - head)

    # ------------------------------------------------------------------ running
    def run(self) -> None:
        for event in self.plan.events:
            self.schedule(event.at, partial(self.perform, event))
        threads = [threading.Thread(target=self._worker, name=f"demo-{i}", daemon=True) for i in range(self.workers)]
        for t in threads:
            t.start()
        try:
            while not self.stop.is_set():
                with self._lock:
                    head = self._heap[0] if self._heap else None
                    idle = head is None and self._busy == 0 and self._work.empty()
                if idle:
                    break
                if head is None or self._work.qsize() >= self.workers * 2:
                    time.sleep(0.005)
                    continue
                wait = head[0] - self.elapsed()
                if wait > 0:
                    self.world.clock.sleep(min(wait, 5.0))
                    continue
                with self._lock:
                    at, _, job = heapq.heappop(self._heap)
                    self._busy += 1
                    self.position = max(self.position, at)
                self._work.put(job)
        finally:
            for _ in threads:
                self._work.put(None)
            for t in threads:
                t.join(timeout=30)
            self.done.set()

    def _worker(self) -> None:
        while True:
            job = self._work.get()
            if job is None:
                return
            try:
                if not self.stop.is_set():
                    job()
            except Exception as exc:  # noqa: BLE001 - one failed request must not end the simulation
                self._error(f"{type(exc).__name__}: {exc}")
            finally:
                with self._lock:
                    self._busy -= 1

    # ------------------------------------------------------------------ HTTP
    def call(self, method: str, path: str, body: Any = None, *, key: str | None = None) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else None
        started = time.perf_counter()
        response = self.client.request(method, path, json=body, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        with self.stats.lock:
            self.stats.latencies.append(elapsed)
        if response.status_code >= 400 and response.status_code != 409:
            self._error(f"{method} {path} -> {response.status_code}: {response.text[:300]}")
        return response

    def _error(self, message: str) -> None:
        with self.stats.lock:
            self.stats.error_count += 1
            if len(self.stats.errors) < 20:
                self.stats.errors.append(message)

    def record(self, at: float, kind: str, lines: list[tuple[str, int]], **where: str | None) -> None:
        with self._lock:
            self.demand.append(DemandRecord(at, kind, tuple(lines), where.get("channel"), where.get("location")))

    # ------------------------------------------------------------------ the things that happen
    def perform(self, event: Planned) -> None:
        handler = {
            "checkout": self.checkout,
            "marketplace": self.marketplace,
            "till": self.till,
            "wholesale": self.wholesale,
            "return": self.take_return,
            "fulfil": self.fulfil,
            "restock": self.restock,
            "damage": self.damage,
            "count": self.count,
            "merchant_edit": self.merchant_edit,
            "replay_dlq": self.replay_dead_letters,
        }[event.kind]
        handler(event)

    def _lines(self, lines: tuple[tuple[str, int], ...]) -> list[dict[str, Any]]:
        return [{"sku": sku, "qty": qty} for sku, qty in lines]

    def checkout(self, event: Planned) -> None:
        """A web buyer: the checkout holds the units, then pays (the hold becomes the order), walks away
        (the hold expires) or cancels (released)."""
        if event.intent == "buy":
            self.record(event.at, batch_sync.ORDER, list(event.lines), channel="web")
        response = self.call(
            "POST",
            "/v1/holds",
            {"channel": "web", "lines": self._lines(event.lines), "ttl_seconds": HOLD_TTL},
            key=f"{event.ref}-hold",
        )
        if response.status_code == 409:
            self.stats.count("web: sold out at checkout")
            return
        if response.status_code != 201:
            return
        hold = response.json()["id"]
        self.stats.count("web: checkouts holding stock")
        if event.intent == "abandon":
            self.stats.count("web: abandoned (hold expires)")
            return
        self.schedule(event.at + event.pay_after, partial(self.pay, event, hold))

    def pay(self, event: Planned, hold: str) -> None:
        if event.intent == "cancel":
            self.call("POST", f"/v1/holds/{hold}/release", key=f"{event.ref}-release")
            self.stats.count("web: cancelled (hold released)")
            return
        body = {
            "channel": "web",
            "external_id": event.ref,
            "lines": self._lines(event.lines),
            "currency": CURRENCY,
            "hold_id": hold,
            "customer": {"email": f"buyer{event.ref[-5:]}@example.com", "name": buyer_name(event.ref)},
        }
        response = self.call("POST", "/v1/orders", body, key=f"{event.ref}-order")
        if response.status_code in (200, 201):
            order = response.json()
            self.stats.count("web: orders", "web", sum(qty for _, qty in event.lines))
            with self._lock:
                self._allocated.append((event.at + event.pay_after, order["id"]))
        else:
            self.stats.count("web: hold lost before payment")

    def marketplace(self, event: Planned) -> None:
        assert event.channel is not None
        self.record(event.at, batch_sync.ORDER, list(event.lines), channel=event.channel)
        body = {
            "channel": event.channel,
            "external_id": event.ref,
            "lines": self._lines(event.lines),
            "currency": CURRENCY,
        }
        response = self.call("POST", "/v1/orders", body, key=event.ref)
        if response.status_code in (200, 201):
            self.stats.count(f"{event.channel}: orders", event.channel, sum(q for _, q in event.lines))
            with self._lock:
                self._allocated.append((event.at, response.json()["id"]))
        elif response.status_code == 409:
            self.stats.count(f"{event.channel}: refused, not available")

    def wholesale(self, event: Planned) -> None:
        units = [(c, q * u) for sku, q in event.lines for c, u in self.world.packs.get(sku, [(sku, 1)])]
        self.record(event.at, batch_sync.ORDER, units, channel="wholesale")
        body = {
            "channel": "wholesale",
            "external_id": event.ref,
            "lines": self._lines(event.lines),
            "currency": CURRENCY,
            "customer": {"email": "buying@boutique-example.com", "name": "Boutique Example"},
        }
        response = self.call("POST", "/v1/orders", body, key=event.ref)
        if response.status_code in (200, 201):
            self.stats.count("wholesale: orders", "wholesale", sum(q for _, q in units))
            with self._lock:
                self._allocated.append((event.at, response.json()["id"]))
        elif response.status_code == 409:
            self.stats.count("wholesale: refused, not available")

    def shelf(self, store: str) -> list[str]:
        """SKUs on a store's shelf (available there), re-read every simulated minute."""
        with self._lock:
            cached = self._shelves.get(store)
        now = self.elapsed()
        if cached is not None and now - cached[0] < 60:
            return cached[1]
        response = self.call("GET", f"/v1/stock?location={store}")
        skus = sorted(i["sku"] for i in response.json()["items"] if i["available"] > 0) if response.is_success else []
        with self._lock:
            self._shelves[store] = (now, skus)
        return skus

    def till(self, event: Planned) -> None:
        assert event.location is not None
        shelf = self.shelf(event.location)
        if not shelf:
            return
        sku = shelf[int(event.draw * len(shelf))]
        if event.at < 120 and self.world.catalog.hot_skus[0] in shelf and event.draw < 0.5:
            sku = self.world.catalog.hot_skus[int(event.draw * 2 * len(self.world.catalog.hot_skus))]
        price = self.world.retail[sku]
        tender = "card" if event.draw < 0.7 else "cash"
        body = {
            "location": event.location,
            "channel": pos_channel(event.location),
            "external_id": event.ref,
            "lines": [{"sku": sku, "qty": 1}],
            "tenders": [{"type": tender, "amount": str(price)}],
            "currency": CURRENCY,
        }
        self.record(event.at, batch_sync.SALE, [(sku, 1)], location=event.location)
        response = self.call("POST", "/v1/sales", body, key=event.ref)
        if response.status_code in (200, 201):
            self.stats.count("tills: sales", pos_channel(event.location), 1)
        elif response.status_code == 409:
            self.stats.count("tills: not on the shelf after all")
            with self._lock:
                self._shelves.pop(event.location, None)

    def fulfil(self, event: Planned) -> None:
        """The warehouse and the 3PL pick, pack and ship what was allocated a minute ago or more. Their
        shipment confirmations post through the service, ten orders to a transaction (one file's worth);
        an order that cannot ship (cancelled meanwhile) is retried alone so it does not hold up the rest."""
        with self._lock:
            ready = [o for o in self._allocated if o[0] <= event.at - 60][:80]
            self._allocated = [o for o in self._allocated if o not in ready]
        desk = OrderDesk(self.app)

        def ship(uow: UnitOfWork, ids: list[str]) -> list[OrderView]:
            out = []
            for oid in ids:
                desk.pick(uow, oid)
                desk.pack(uow, oid)
                out.append(desk.ship(uow, oid, f"TRK{oid[-10:].upper()}"))
            return out

        ids = [order_id for _, order_id in ready]
        for start in range(0, len(ids), 10):
            chunk = ids[start : start + 10]
            try:
                shipped = self.app.write(partial(ship, ids=chunk))
            except SeamlineError:
                shipped = []
                for oid in chunk:
                    try:
                        shipped += self.app.write(partial(ship, ids=[oid]))
                    except SeamlineError as exc:
                        self._error(f"fulfilling {oid}: {exc.detail}")
            with self._lock:
                self._shipped.extend(shipped)
            for _ in shipped:
                self.stats.count("warehouse: orders shipped")

    def take_return(self, event: Planned) -> None:
        with self._lock:
            candidates = [o for o in self._shipped if o["channel"] in ("web", *MARKETPLACES)]
            order = candidates[int(event.draw * len(candidates))] if candidates else None
            if order is not None:
                self._shipped.remove(order)
        if order is None:
            return
        line = order["lines"][0]
        body = {
            "order_id": order["id"],
            "location": event.location,
            "lines": [{"sku": line["sku"], "qty": 1, "condition": event.condition}],
        }
        response = self.call("POST", "/v1/returns", body, key=event.ref)
        if response.status_code == 201:
            self.stats.count(f"returns: {event.condition}")
            if event.condition == "sellable":
                self.record(event.at, batch_sync.RETURN, [(line["sku"], 1)], location=event.location)

    def restock(self, event: Planned) -> None:
        for sku, qty in event.lines:
            body = {"kind": "receipt", "sku": sku, "qty": qty, "to": event.location}
            self.call("POST", "/v1/movements", body, key=f"{event.ref}-{sku}")
        self.record(event.at, batch_sync.RECEIPT, list(event.lines), location=event.location)
        self.stats.count("deliveries received")

    def damage(self, event: Planned) -> None:
        assert event.location is not None
        shelf = self.shelf(event.location)
        if not shelf:
            return
        sku = shelf[int(event.draw * len(shelf))]
        body = {"kind": "damage", "sku": sku, "qty": 1, "from": event.location, "reason": "torn seam"}
        if self.call("POST", "/v1/movements", body, key=event.ref).status_code == 201:
            self.record(event.at, batch_sync.WRITE_OFF, [(sku, 1)], location=event.location)
            self.stats.count("damaged units written off")

    def count(self, event: Planned) -> None:
        """A cycle count of five SKUs at a store; one unit turns out to be missing."""
        assert event.location is not None
        shelf = self.shelf(event.location)[:5]
        if not shelf:
            return
        started = self.call("POST", "/v1/counts", {"location": event.location, "skus": shelf}, key=event.ref)
        if started.status_code != 201:
            return
        count = started.json()
        expected = {line["sku"]: int(line.get("expected") or 0) for line in count["lines"]}
        counted = [
            {"sku": sku, "counted": max(0, qty - (1 if i == 0 else 0))} for i, (sku, qty) in enumerate(expected.items())
        ]
        self.call("POST", f"/v1/counts/{count['id']}/lines", {"lines": counted}, key=f"{event.ref}-lines")
        if self.call("POST", f"/v1/counts/{count['id']}/post", key=f"{event.ref}-post").status_code == 200:
            first = next(iter(expected))
            if expected[first] > 0:
                self.record(event.at, batch_sync.WRITE_OFF, [(first, 1)], location=event.location)
            self.stats.count("cycle counts posted")

    def merchant_edit(self, event: Planned) -> None:
        for sku, qty in event.lines:
            self.world.shop.merchant_edit(sku, qty)
            self.stats.count("shopify: numbers edited in the admin")  # one per number, as the summary says

    def replay_dead_letters(self, event: Planned) -> None:
        response = self.call("POST", "/v1/integration/dead-letters/replay", {"subscriber": FLAKY}, key=event.ref)
        if response.is_success:
            with self.stats.lock:
                self.stats.outcomes["zalando: dead letters replayed by the operator"] += int(
                    response.json()["replayed"]
                )


# ---------------------------------------------------------------------------------------------------- serving
class PortTaken(RuntimeError):
    """The dashboard's port is in use: said at once, never swapped for another port behind the user's back
    (the URL they were told would show someone else's server, or nothing)."""


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (``port`` 0: any free one), or ``PortTaken`` saying what to do."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortTaken(
            f"port {port} on {host} is taken ({exc.strerror}): stop what uses it (another seamline demo or "
            "server?), or pass --port with a free port (--port 0 picks any free one)"
        ) from exc
    return sock


class ThreadedServer:
    """uvicorn in a thread on a socket bound here (the port is known before the thread starts)."""

    def __init__(self, app: Any, host: str, port: int, sock: socket.socket | None = None) -> None:
        import uvicorn

        self.sock = sock if sock is not None else bind(host, port)
        self.host, self.port = self.sock.getsockname()[:2]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", proxy_headers=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the demo server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()


@contextlib.contextmanager
def api_client(
    api: Any, token: str, serve: bool, host: str, port: int, sock: socket.socket | None = None
) -> Iterator[tuple[httpx.Client, str | None]]:
    headers = {"Authorization": f"Bearer {token}"}
    if serve:
        server = ThreadedServer(api, host, port, sock)
        server.start()
        try:
            with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
                yield client, server.url
        finally:
            server.stop()
        return
    from fastapi.testclient import TestClient

    with TestClient(api, base_url="http://demo.local", headers=headers, raise_server_exceptions=False) as client:
        yield client, None


# ---------------------------------------------------------------------------------------------------- the run
def wait_for_deliveries(app: Seamline, timeout: float, stop: threading.Event | None = None) -> bool:
    """Until nothing waits to be published or delivered (dead letters aside) or ``timeout`` wall seconds pass.
    Looking at deliveries alone returned at once after the last holds were swept, before the publisher had
    turned their journal rows into deliveries (two SKUs out of sync at Shopify, once in CI)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.read(outbox_repo.undelivered) == 0:
            return True
        if stop is not None and stop.is_set():
            return False
        time.sleep(0.1)
    return False


def settle(app: Seamline, clock: SimulatedClock) -> None:
    """Close the hour: let the last abandoned checkouts' holds run out (the clock moves past their TTL),
    sweep them, and wait until every connector has the final numbers."""
    clock.run_from(clock.now() + timedelta(seconds=HOLD_TTL + 1), clock.speed)
    while app.sweep_expired():
        pass
    wait_for_deliveries(app, timeout=60)
    clock.run_from(clock.now(), 1.0)  # from now on the dashboard's "minutes ago" are real minutes


def run_demo(
    *,
    database: Path,
    minutes: float,
    speed: float,
    seed: int,
    workers: int,
    console: Console,
    serve: bool = True,
    host: str = "127.0.0.1",
    port: int = 8000,
    on_ready: Callable[[DemoSummary], None] | None = None,
    on_summary: Callable[[DemoSummary], None] | None = None,
) -> DemoSummary:
    """Play the hour. ``on_ready`` is called when the doors open (the server is up); ``on_summary`` with the
    finished summary while the server is still up (the CLI prints it there and keeps the dashboard open)."""
    from seamline.api import create_app

    listening = bind(host, port) if serve else None  # a taken port fails now, before the world is built
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would bury the live view
    # The outage's failed deliveries are the point of the demo: they show in the live view and on the dashboard.
    logging.getLogger("seamline.dispatcher").setLevel(logging.ERROR)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    clock = SimulatedClock(SETUP_AT, 1.0)
    token = "sl_demo_" + secrets.token_urlsafe(24)
    app = bootstrap(
        Settings(database_url=f"sqlite:///{database}", admin_token=token),
        clock=clock,
        migrate=True,
        pool_size=workers + 8,
    )
    rng = random.Random(seed)
    summary = DemoSummary(
        database=str(database), minutes=minutes, speed=speed, seed=seed, token=token, command=seamline_command()
    )
    driver: PeakHourDriver | None = None
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f}"),
        TimeRemainingColumn(),
        console=console,
    )
    with progress:
        world = build_world(app, clock, rng, progress, lambda: driver is not None and driver.outage(), DriftLog())
    plan = plan_peak_hour(
        world.catalog, minutes=minutes, seed=seed, stores=[c for c, _ in STORES], marketplaces=MARKETPLACES
    )
    api = create_app(app, background=True)
    dashboard = api.state.dashboard
    dashboard.drift = world.drift  # what the Shopify connector finds shows on the exceptions page at once
    dashboard.wall_seconds = clock.wall_seconds
    dashboard.banner = (
        f"Demo: business time runs {speed:g}x faster than the wall from {DOORS_OPEN:%H:%M} (the doors open) to "
        "the end of the peak hour, and at real time after it; latencies are shown in wall time."
    )
    stats = Stats()
    try:
        with api_client(api, token, serve, host, port, listening) as (client, url):
            summary.url = url
            clock.run_from(clock.now(), speed)
            console.print("[dim]publishing opening stock to every channel…[/]")
            wait_for_deliveries(app, timeout=60)
            clock.run_from(DOORS_OPEN, speed)
            if on_ready is not None:
                on_ready(summary)
            driver = PeakHourDriver(world, client, plan, stats, workers)
            started = time.monotonic()
            runner = threading.Thread(target=driver.run, name="demo-driver", daemon=True)
            runner.start()
            try:
                with Live(console=console, refresh_per_second=4, transient=False) as live:
                    while not driver.done.is_set():
                        live.update(_live_view(world, driver, plan, stats, url))
                        driver.done.wait(0.5)
                    live.update(_live_view(world, driver, plan, stats, url))
                console.print()
                settle(app, clock)
            except KeyboardInterrupt:
                summary.interrupted = True
                driver.stop.set()
                runner.join(timeout=30)
                console.print("[yellow]stopping: letting the connectors catch up…[/]")
                clock.run_from(clock.now(), 1.0)
                wait_for_deliveries(app, timeout=10)
            summary.wall_seconds = time.monotonic() - started
            _finish(summary, world, driver, stats)
            report = app.reconcile()
            dashboard.remember_reconcile(report)
            summary.reconcile_clean = report.clean
            summary.reconcile_rows = report.checked_rows
            summary.oversold_units += sum(-b.available for b in report.negative_available)
            summary.oversold_units_online += sum(-b.available for b in report.negative_available)
            if on_summary is not None:
                on_summary(summary)
    finally:
        if driver is not None:
            driver.stop.set()
        app.engine.dispose()
    return summary


def _finish(summary: DemoSummary, world: World, driver: PeakHourDriver, stats: Stats) -> None:
    app = world.app
    summary.minutes_played = min(summary.minutes, driver.position / 60)
    summary.requests = len(stats.latencies)
    summary.api_p50_ms = percentile(stats.latencies, 0.5)
    summary.api_p99_ms = percentile(stats.latencies, 0.99)
    summary.errors = stats.error_count
    summary.error_samples = list(stats.errors)
    summary.outcomes = dict(sorted(stats.outcomes.items()))
    summary.units_by_channel = dict(sorted(stats.units.items()))
    summary.orders_online = sum(stats.outcomes[f"{c}: orders"] for c in ONLINE_CHANNELS)
    oversells, _ = OrderDesk(app).exceptions(limit=10_000)
    summary.oversold_units = sum(e["units"] for e in oversells)
    online_short = 0
    short_orders: set[str] = set()
    short_value = Decimal(0)
    for exception in oversells:
        for short in exception["short_allocations"]:
            with contextlib.suppress(SeamlineError):
                if OrderDesk(app).get_order(short["order_id"])["channel"] in ONLINE_CHANNELS:
                    online_short += int(short["units_short"])
                    short_orders.add(short["order_id"])
                    short_value += world.retail.get(exception["sku"], Decimal(0)) * int(short["units_short"])
    summary.oversold_units_online = online_short
    summary.orders_short_online = len(short_orders)
    summary.oversold_value_online = short_value

    def deliveries(conn: Connection) -> list[dict[str, Any]]:
        return dashboard_repo.deliveries_since(conn, DOORS_OPEN)

    rows = app.read(deliveries)
    status = {s["name"]: s for s in world.integration.status()["subscribers"]}
    failures = app.read(lambda conn: dashboard_repo.failure_reasons_since(conn, DOORS_OPEN, per_subscriber=100))
    ever_dead = app.read(_ever_dead)
    lags: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        if row["status"] == "delivered" and row["delivered_at"] is not None:
            lags[row["subscriber"]].append(world.clock.wall_seconds(row["created_at"], row["delivered_at"]) * 1000)
    for name in (SHOPIFY, AMAZON, FLAKY, TILLS):
        sub = status.get(name, {})
        connector = ConnectorSummary(
            name,
            delivered=len(lags[name]),
            dead_now=int(sub.get("dead_letters", 0)),
            ever_dead=ever_dead.get(name, 0),
            failed_attempts=sum(int(r["count"]) for r in failures.get(name, [])),
            p50_ms=percentile(lags[name], 0.5) if lags[name] else None,
            p99_ms=percentile(lags[name], 0.99) if lags[name] else None,
        )
        connector.in_sync, connector.out_of_sync = _in_sync(world, name)
        summary.connectors.append(connector)
    summary.stale_skipped = sum(s.stale_skipped for s in world.screens.values())
    summary.drift_found = len(world.drift.recent())
    channels = {
        code: ChannelCopy(tuple(body["sources"]), body.get("safety_stock", 0), body.get("pause_below", 0))
        for code, body in CHANNELS.items()
    }
    with driver._lock:
        demand = list(driver.demand)
    summary.demand_records = len(demand)
    summary.edited_by_hand = summary.outcomes.get("shopify: numbers edited in the admin", 0)
    summary.currency = CURRENCY
    for result in batch_sync.compare(world.opening, channels, demand, INTERVALS, world.retail):
        summary.batch_sync.append(asdict(result))


def _ever_dead(conn: Connection) -> dict[str, int]:
    from sqlalchemy import func, or_, select

    from seamline.store.tables import deliveries

    rows = conn.execute(
        select(deliveries.c.subscriber, func.count())
        .where(or_(deliveries.c.status == "dead", deliveries.c.replays > 0))
        .group_by(deliveries.c.subscriber)
    )
    return {r[0]: int(r[1]) for r in rows}


def _in_sync(world: World, subscriber: str) -> tuple[int, int]:
    """SKUs whose number on the channel equals the ledger's, after the run (the point of real time)."""
    app = world.app
    channels: dict[str, Callable[[str], int | None]]
    if subscriber == SHOPIFY:
        channels = {"web": world.shop.available}
    elif subscriber == AMAZON:
        channels = {"amazon": world.screens["amazon"].shown}
    elif subscriber == FLAKY:
        channels = {"zalando": world.screens["zalando"].shown}
    else:
        channels = {pos_channel(c): world.screens[pos_channel(c)].shown for c, _ in STORES}
    ok = bad = 0
    for channel, shown in channels.items():
        after: str | None = None
        while True:
            items, after = app.availability(channel, after=after, limit=500)
            for item in items:
                if item["sku"] in world.packs:
                    continue
                if (shown(item["sku"]) or 0) == item["available"]:
                    ok += 1
                else:
                    bad += 1
            if after is None:
                break
    return ok, bad


# ---------------------------------------------------------------------------------------------------- display
def _live_view(world: World, driver: PeakHourDriver, plan: PeakHour, stats: Stats, url: str | None) -> Group:
    total = plan.minutes * 60
    bar = Progress(TextColumn("[bold]peak hour"), BarColumn(), TextColumn("{task.fields[info]}"))
    behind = driver.behind()
    info = f"{world.clock.now():%H:%M} · {min(100, 100 * driver.position / total):.0f}% of the plan"
    if behind > 60:
        info += f" · [yellow]{behind / 60:.0f} sim-min behind[/]"
    if plan.outage_at(driver.position):
        info += " · [red]zalando API down[/]"
    bar.add_task("hour", total=total, completed=int(min(total, driver.position)), info=info)
    with stats.lock:
        outcomes = dict(stats.outcomes)
        requests = len(stats.latencies)
        errors = stats.error_count
    demand = Table("what happened", "count", title="Demand through the API", box=None, title_justify="left")
    for name, count in sorted(outcomes.items()):
        demand.add_row(name, str(count))
    demand.add_row("[dim]API requests[/]", f"[dim]{requests}[/]")
    if errors:
        demand.add_row("[red]unexpected answers[/]", f"[red]{errors}[/]")
    hot = Table(
        "hot SKU",
        "web (Shopify shows)",
        "amazon",
        "zalando",
        "wholesale",
        title="Available to promise, live",
        box=None,
        title_justify="left",
    )
    app = world.app
    columns: dict[str, dict[str, Availability]] = {}
    style = world.catalog.drafts[0].code
    for channel in ("web", "amazon", "zalando", "wholesale"):
        items, _ = app.availability(channel, style=style)
        columns[channel] = {i["sku"]: i for i in items}
    for sku in world.catalog.hot_skus:
        cells = [sku]
        for channel in ("web", "amazon", "zalando", "wholesale"):
            item = columns[channel].get(sku, {"available": 0, "paused": False})
            text = "[magenta]paused[/]" if item["paused"] else str(item["available"])
            if channel == "web":
                text += f" ({world.shop.available(sku)})"
            cells.append(text)
        hot.add_row(*cells)
    connectors = Table(
        "connector",
        "delivered",
        "pending",
        "retrying",
        "dead letters",
        "last failure",
        title="Connectors",
        box=None,
        title_justify="left",
    )
    for sub in world.integration.status()["subscribers"]:
        failure = sub["recent_failures"][0]["error"][:48] if sub["recent_failures"] else ""
        dead = f"[red]{sub['dead_letters']}[/]" if sub["dead_letters"] else "0"
        connectors.add_row(sub["name"], str(sub["delivered"]), str(sub["pending"]), str(sub["retrying"]), dead, failure)
    where = f"dashboard: {url}" if url else "dashboard: not served (--no-serve)"
    return Group(bar, hot, connectors, demand, f"[dim]{where}[/]")


def seamline_command() -> str:
    """How to run seamline from this shell: ``seamline`` when that name on PATH is the running script, else
    the running script's path (``.venv/bin/seamline`` after ``make demo``, which does not activate the venv)."""
    script = Path(sys.argv[0])
    if script.name != "seamline" or not script.exists():
        return ".venv/bin/seamline"
    found = shutil.which("seamline")
    if found is not None and Path(found).resolve() == script.resolve():
        return "seamline"
    with contextlib.suppress(ValueError):
        return str(script.absolute().relative_to(Path.cwd()))
    return str(script.absolute())


def _money(value: Any, currency: str) -> str:
    return f"{Decimal(str(value)):,.2f} {currency}".strip()


def render_summary(summary: DemoSummary, console: Console) -> None:
    """A merchant's words first (what customers got, what was oversold and what it would have cost under
    each batch-sync interval), the engineering after it."""
    currency = summary.currency
    shop = Table(show_header=False, box=None, pad_edge=False)
    sold = sum(summary.units_by_channel.values())
    shop.add_row(
        "trading",
        (f"{summary.minutes_played:.0f} of " if summary.interrupted else "")
        + f"{summary.minutes:g} minutes of peak trading: {sold:,} units sold, "
        + ", ".join(f"{k} {v}" for k, v in summary.units_by_channel.items()),
    )
    if summary.oversold_units_online == 0:
        shop.add_row(
            "oversold",
            "[green]nothing[/]: every online order was for stock you had; no customer was told "
            '"sorry, we have to cancel"',
        )
    else:
        shop.add_row(
            "oversold",
            f"[red]{summary.oversold_units_online} units sold online that were not there[/] "
            f"({summary.oversold_units} in all)",
        )
    outage = next((c for c in summary.connectors if c.ever_dead), None)
    if outage is not None:
        fate = (
            "all resent and applied"
            if outage.dead_now == 0
            else f"[red]{outage.dead_now} still waiting for an operator[/]"
        )
        shop.add_row(
            "outage",
            f"{outage.name.split(':')[-1]}'s API went down: {outage.ever_dead} stock updates could not be "
            f"delivered and were kept; {fate}",
        )
    channels_ok = all(c.out_of_sync == 0 for c in summary.connectors)
    shop.add_row(
        "channels now",
        "[green]every channel shows the stock you have[/]"
        if channels_ok
        else "[red]"
        + ", ".join(f"{c.name} differs on {c.out_of_sync} SKUs" for c in summary.connectors if c.out_of_sync)
        + "[/]",
    )
    shop.add_row(
        "hand edits",
        f"{summary.edited_by_hand} Shopify number{'' if summary.edited_by_hand == 1 else 's'} edited by hand in "
        f"the admin; Shopify held another number than ours {summary.drift_found} "
        f"time{'' if summary.drift_found == 1 else 's'} (hand edits, its own sales) and was set right each time",
    )
    compare = Table(
        "stock sync",
        "units oversold",
        "money oversold",
        "customers disappointed",
        "sales turned away",
        title=(
            f"The same {summary.demand_records} sales, returns and deliveries, if each channel kept its own copy "
            "of the stock, refreshed in batches"
        ),
        title_justify="left",
    )
    live_colour = "green" if summary.oversold_units_online == 0 else "red"
    compare.add_row(
        "Seamline, live",
        f"[{live_colour}]{summary.oversold_units_online}[/]",
        _money(summary.oversold_value_online, currency),
        f"{summary.orders_short_online} orders cancelled",
        "0 (a number is never stale)",
    )
    for row in summary.batch_sync:
        compare.add_row(
            f"every {row['interval_minutes']:g} min",
            f"[red]{row['oversold_units']}[/]" if row["oversold_units"] else "0",
            _money(row.get("oversold_value", 0), currency),
            f"{row['orders_oversold']} orders cancelled",
            f"{row['refused_in_stock']} ({_money(row.get('refused_in_stock_value', 0), currency)})",
        )
    tech = Table(show_header=False, box=None, pad_edge=False, title="For engineers", title_justify="left")
    tech.add_row(
        "run",
        f"{summary.minutes:g} simulated minutes at {summary.speed:g}x in {summary.wall_seconds:.1f} s, "
        f"seed {summary.seed}",
    )
    tech.add_row(
        "API",
        f"{summary.requests} requests, p50 {summary.api_p50_ms:.1f} ms, p99 {summary.api_p99_ms:.1f} ms"
        + (f", [red]{summary.errors} unexpected answers[/]" if summary.errors else ", no unexpected answers"),
    )
    tech.add_row(
        "reconcile",
        ("[green]clean[/]" if summary.reconcile_clean else "[red]differences[/]")
        + f" ({summary.reconcile_rows} balance rows rebuilt from movements)",
    )
    for c in summary.connectors:
        latency = (
            "nothing delivered" if c.p50_ms is None else f"push latency p50 {c.p50_ms:.0f} ms, p99 {c.p99_ms:.0f} ms"
        )
        dlq = f"; {c.ever_dead} dead-lettered, {c.dead_now} left" if c.ever_dead or c.dead_now else ""
        sync = f"; matches the ledger on {c.in_sync}/{c.in_sync + c.out_of_sync} SKUs"
        tech.add_row(c.name, f"{c.delivered} deliveries, {latency}{dlq}{sync}")
    tech.add_row("ordering", f"{summary.stale_skipped} late or replayed numbers skipped by sequence")
    command = summary.command
    where = [
        f"database: {summary.database}",
        f"check it again: SEAMLINE_DATABASE_URL=sqlite:///{summary.database} {command} reconcile",
    ]
    title = "Peak hour summary" + (" (interrupted)" if summary.interrupted else "")
    console.print(Panel(Group(shop, "", compare, "", tech, "", *where), title=title))
    if summary.url:  # outside the panel, never wrapped: the token is for copying
        console.print(f"dashboard: [bold]{summary.url}/[/]  token: [bold]{summary.token}[/]", soft_wrap=True)
    if summary.error_samples:
        console.print("[red]unexpected answers (first ones):[/]")
        for sample in summary.error_samples[:5]:
            console.print(f"  {sample}")


def write_json(summary: DemoSummary, path: Path) -> None:
    path.write_text(json.dumps(summary.as_json(), indent=2, default=str))


def demo_command(
    console: Console,
    *,
    database: Path,
    minutes: float,
    speed: float,
    seed: int,
    workers: int,
    serve: bool,
    host: str,
    port: int,
    keep_serving: bool,
    json_path: Path | None,
) -> bool:
    """The CLI's ``demo``: run, print the summary, keep the dashboard open if asked. True when the run held
    its promises (nothing oversold online, reconcile clean, no unexpected answer)."""

    def ready(summary: DemoSummary) -> None:
        if summary.url:
            console.print(
                f"[bold]Watch it live:[/] dashboard [bold]{summary.url}/[/]  token [bold]{summary.token}[/]",
                soft_wrap=True,
            )

    def finished(summary: DemoSummary) -> None:
        render_summary(summary, console)
        if json_path is not None:
            write_json(summary, json_path)
        if summary.url and keep_serving and not summary.interrupted:
            console.print(f"The dashboard stays up at [bold]{summary.url}/[/] — press Ctrl-C to stop.")
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()

    try:
        summary = run_demo(
            database=database,
            minutes=minutes,
            speed=speed,
            seed=seed,
            workers=max(1, workers),
            console=console,
            serve=serve,
            host=host,
            port=port,
            on_ready=ready,
            on_summary=finished,
        )
    except PortTaken as exc:
        console.print(f"[red]seamline demo: {exc}[/]", soft_wrap=True)
        raise
    return summary.oversold_units_online == 0 and summary.reconcile_clean and summary.errors == 0
