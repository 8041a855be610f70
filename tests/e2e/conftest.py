"""A live Seamline for the browser tests: the API and dashboard served by uvicorn in a thread against a tmp
SQLite database, with the dispatcher running and two test connectors on the web channel (one can be made
to fail, to put deliveries in the dead-letter queue), and headless Debian Chromium driven by Playwright.

Chromium comes from the distribution (``apt-get install chromium``), never from ``playwright install``.
Without it the browser tests skip, unless SEAMLINE_REQUIRE_SERVICES=1, under which they fail.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from seamline.api import create_app
from seamline.cli.demo import ThreadedServer
from seamline.integration import (
    AVAILABILITY_CHANGED,
    Delivered,
    Delivery,
    DeliveryFailed,
    IntegrationSettings,
    Subscriber,
    install,
)
from seamline.service import Seamline, Settings, bootstrap
from tests.conftest import ADMIN_TOKEN, OVERSHIRT, REQUIRE_SERVICES

CHROMIUM = Path(os.environ.get("SEAMLINE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
FEED = "feed:web"
FLAKY = "flaky:web"


def missing(what: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (SEAMLINE_REQUIRE_SERVICES=1) but unavailable")
    pytest.skip(f"{what} not available")


@dataclass
class TestFeed:
    """A connector that records what it was told, and fails with a 503 while ``failing``."""

    failing: bool = False
    seen: list[Delivery] = field(default_factory=list)

    def deliver(self, delivery: Delivery) -> Delivered:
        if self.failing:
            raise DeliveryFailed("HTTP 503 from the test feed (switched off by the test)")
        self.seen.append(delivery)
        return Delivered()


@dataclass
class LiveSeamline:
    service: Seamline
    url: str
    api: httpx.Client
    flaky: TestFeed

    def wait_until(self, check: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def dead_letters(self, subscriber: str = FLAKY) -> list[dict[str, Any]]:
        response = self.api.get("/v1/integration/dead-letters", params={"subscriber": subscriber})
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def force_dead_letter(self, sku: str = "OVS-001-OLV-S") -> int:
        """Switch the flaky connector off, change the web channel's availability, wait for the dead letter."""
        before = {d["id"] for d in self.dead_letters()}
        self.flaky.failing = True
        try:
            receive(self.api, sku, 1)
            found = self.wait_until(
                lambda: [d for d in self.dead_letters() if d["id"] not in before], what="a dead letter"
            )
        finally:
            self.flaky.failing = False
        return int(found[-1]["id"])

    def delivery(self, delivery_id: int) -> dict[str, Any]:
        response = self.api.get(f"/v1/integration/dead-letters/{delivery_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def receive(api: httpx.Client, sku: str, qty: int, to: str = "WH") -> None:
    response = api.post("/v1/movements", json={"kind": "receipt", "sku": sku, "qty": qty, "to": to})
    assert response.status_code == 201, response.text


def seed(api: httpx.Client) -> None:
    for code, name, kind in (("WH", "Central warehouse", "warehouse"), ("STORE-1", "Soho", "store")):
        assert api.put(f"/v1/locations/{code}", json={"name": name, "kind": kind}).status_code in (200, 201)
    assert api.put("/v1/styles/OVS-001", json=OVERSHIRT).status_code in (200, 201)
    channel = api.put("/v1/channels/web", json={"kind": "shopify", "sources": ["WH", "STORE-1"], "safety_stock": 1})
    assert channel.status_code in (200, 201), channel.text
    for variant in OVERSHIRT["variants"]:
        receive(api, variant["sku"], 10)
        receive(api, variant["sku"], 3, to="STORE-1")
    order = api.post(
        "/v1/orders",
        json={
            "channel": "web",
            "external_id": "SHOP-1001",
            "lines": [{"sku": "OVS-001-NVY-M", "qty": 2}],
            "currency": "EUR",
        },
    )
    assert order.status_code == 201, order.text


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[LiveSeamline]:
    path = tmp_path_factory.mktemp("dashboard") / "seamline.db"
    shutil.copy(sqlite_template, path)
    service = bootstrap(Settings(database_url=f"sqlite:///{path}", admin_token=ADMIN_TOKEN), migrate=False)
    flaky = TestFeed()
    feed = TestFeed()
    install(
        service,
        IntegrationSettings(poll_seconds=0.1, backoff_base_seconds=0.05, backoff_cap_seconds=0.2, max_attempts=3),
        subscribers=[
            Subscriber(FEED, frozenset({AVAILABILITY_CHANGED}), feed.deliver, channels=frozenset({"web"})),
            Subscriber(
                FLAKY, frozenset({AVAILABILITY_CHANGED}), flaky.deliver, channels=frozenset({"web"}), max_attempts=1
            ),
        ],
    )
    server = ThreadedServer(create_app(service, background=True), "127.0.0.1", 0)
    server.start()
    api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30)
    try:
        seed(api)
        yield LiveSeamline(service, server.url, api, flaky)
    finally:
        api.close()
        server.stop()
        service.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        missing(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package (pip install -e '.[dev]')")
        raise
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, live: LiveSeamline) -> Iterator[Any]:
    """A fresh browser context (no cookies), 1400 px wide."""
    context = browser.new_context(base_url=live.url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


def log_in(page: Any, token: str = ADMIN_TOKEN, then: str = "/integration") -> None:
    page.goto(then)
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{then}")


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    return target
