"""Crash safety: a real ``seamline serve`` (uvicorn) process is SIGKILLed in the middle of a load of HTTP
writes, then restarted. Every acknowledged write is in the ledger, and every outbox event reaches an
idempotent webhook subscriber exactly once (at least once on the wire, once in effect). SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from seamline.integration import AVAILABILITY_CHANGED, LISTING_PAUSED, LISTING_RESUMED
from seamline.store import outbox_repo
from seamline.store.db import make_null_pool_engine
from seamline.store.tables import movements
from tests.conftest import ADMIN_TOKEN, OVERSHIRT

SKU = "OVS-001-OLV-M"
STOCK = 100_000
AUDITED = [AVAILABILITY_CHANGED, LISTING_PAUSED, LISTING_RESUMED]


class WebhookSink:
    """A channel that applies each event once, by its Idempotency-Key, however often it is delivered."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.effects: dict[str, int] = {}
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = self.headers["Idempotency-Key"]
                assert key == body["id"]
                with sink.lock:
                    sink.received.append(key)
                    if key not in sink.effects:
                        sink.effects[key] = body["payload"].get("atp", 0)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    def __init__(self, database_url: str, sink_url: str, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "SEAMLINE_DATABASE_URL": database_url,
            "SEAMLINE_ADMIN_TOKEN": ADMIN_TOKEN,
            "SEAMLINE_ENV": "development",
            "SEAMLINE_TRANSPORT": "inprocess",
            "SEAMLINE_WEBHOOK_SUBSCRIBERS": json.dumps(
                [
                    {
                        "name": "audit",
                        "url": sink_url,
                        "events": AUDITED,
                        "coalesce": False,
                        "max_concurrency": 4,
                    }
                ]
            ),
            "SEAMLINE_DELIVERY_LEASE_SECONDS": "1",
            "SEAMLINE_DISPATCH_POLL_SECONDS": "0.2",
            "SEAMLINE_DELIVERY_BACKOFF_SECONDS": "0.1",
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        seamline = str(Path(sys.executable).with_name("seamline"))
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [seamline, "serve", "--port", str(self.port)], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while True:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "seamline serve did not come up"
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    found = WebhookSink()
    yield found
    found.close()


def client(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10)


def seed(http: httpx.Client) -> None:
    for code, kind in (("WH", "warehouse"), ("STORE-1", "store")):
        assert http.put(f"/v1/locations/{code}", json={"name": code, "kind": kind}).status_code in (200, 201)
    assert http.put("/v1/styles/OVS-001", json=OVERSHIRT).status_code in (200, 201)
    response = http.put("/v1/channels/web", json={"kind": "shopify", "sources": ["WH", "STORE-1"], "pause_below": 2})
    assert response.status_code in (200, 201), response.text
    receipt = {"kind": "receipt", "sku": SKU, "qty": STOCK, "to": "WH"}
    assert http.post("/v1/movements", json=receipt).status_code == 201


def test_a_killed_server_loses_no_acknowledged_write_and_delivers_every_event_once(
    database_url: str, sink: WebhookSink, tmp_path: Path
) -> None:
    server = Server(database_url, sink.url, tmp_path / "serve.log")
    server.start()
    try:
        with client(server) as http:
            seed(http)
        acknowledged: dict[str, int] = {}  # Idempotency-Key -> movement id
        unanswered: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def load() -> None:
            with client(server) as http:
                while not stop.is_set():
                    key = uuid.uuid4().hex
                    try:
                        response = http.post(
                            "/v1/movements",
                            json={"kind": "damage", "sku": SKU, "qty": 1, "from": "WH"},
                            headers={"Idempotency-Key": key},
                        )
                    except httpx.HTTPError:
                        with lock:
                            unanswered.append(key)
                        return
                    assert response.status_code == 201, response.text
                    with lock:
                        acknowledged[key] = response.json()["id"]

        threads = [threading.Thread(target=load) for _ in range(6)]
        for thread in threads:
            thread.start()
        # Kill once the load is really running (a count of answered writes, not a time: on a loaded machine 1.5 s
        # gave fewer than 20), while six clients still have requests in flight.
        started = time.monotonic()
        while True:
            with lock:
                running = len(acknowledged)
            if running > 20 or time.monotonic() - started > 60:
                break
            time.sleep(0.05)
        server.kill()
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
        assert len(acknowledged) > 20, "the load ran before the kill"

        server.start()
        with client(server) as http:
            # A client that got no answer retries with the same key: applied once, whichever side won.
            for key in unanswered:
                response = http.post(
                    "/v1/movements",
                    json={"kind": "damage", "sku": SKU, "qty": 1, "from": "WH"},
                    headers={"Idempotency-Key": key},
                )
                assert response.status_code == 201, response.text
            stock = http.get("/v1/stock", params={"sku": SKU, "location": "WH"}).json()["items"][0]
            assert stock["on_hand"] == STOCK - len(acknowledged) - len(unanswered)

            engine = make_null_pool_engine(database_url)
            try:
                with engine.connect() as conn:
                    ids = set(conn.execute(select(movements.c.id)).scalars())
                assert set(acknowledged.values()) <= ids, "every acknowledged write is in the ledger"
                deadline = time.monotonic() + 30
                while True:
                    with engine.connect() as conn:
                        # In this order: an empty journal means every publishing transaction has committed
                        # (a publisher's taken rows stay visible until its events commit with their
                        # deliveries), so the events and counts read after it are complete. Read the other way
                        # round, a publish committing between the reads left its event out of `events`, and the
                        # newest number looked one sale behind the ledger (a rare failure under CI load).
                        journal, _ = outbox_repo.journal_depth(conn)
                        events = outbox_repo.all_event_ids(conn, AUDITED)
                        counts = outbox_repo.count_by_status(conn)
                    # The journal rows the killed server committed are published by the restarted one.
                    if set(counts) == {"delivered"} and journal == 0:
                        break
                    assert time.monotonic() < deadline, counts
                    time.sleep(0.1)
            finally:
                engine.dispose()
            assert counts["delivered"] >= len(events)  # other subscribers' deliveries, if any, count too
            with sink.lock:
                assert sorted(sink.effects) == sorted(events), "every event took effect, exactly once"
                assert set(sink.received) == set(events)
                # Nothing lost on the way out either: the newest number the channel got is the ledger's.
                assert sink.effects[events[-1]] == stock["available"]
                redelivered = len(sink.received) - len(set(sink.received))
            assert redelivered <= 50, "only deliveries in flight at the kill go out twice"
            status = http.get("/v1/integration/status").json()
            [audit] = status["subscribers"]
            assert audit["pending"] == 0
            assert audit["dead_letters"] == 0
    finally:
        server.stop()
