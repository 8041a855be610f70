"""The dashboard in a real browser (headless Debian Chromium through Playwright) against a live server:
logging in, the health page following a till sale, a style's grid and a cell's history, replaying a dead
letter from the page, CSRF refusals, and a screenshot of every page (saved under artifacts/screenshots)."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import ADMIN_TOKEN
from tests.e2e.conftest import FEED, FLAKY, LiveSeamline, log_in, screenshot


def stat(page: Any, subscriber: str, name: str) -> str:
    text: str = page.inner_text(f'[data-subscriber="{subscriber}"] [data-stat="{name}"]')
    return text.strip()


def test_a_page_needs_a_session_and_logging_in_with_a_token_opens_one(page: Any, live: LiveSeamline) -> None:
    page.goto("/stock")
    assert "/login?next=/stock" in page.url
    page.fill("#token", "sl_not-a-token")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == "Unknown or revoked token."
    page.fill("#token", ADMIN_TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url("**/stock")
    assert page.locator("h1").inner_text() == "Stock"
    cookie = next(c for c in page.context.cookies() if c["name"] == "seamline_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert ADMIN_TOKEN not in cookie["value"]
    page.click("text=Log out")
    page.wait_for_url("**/login")
    page.goto("/integration")
    assert "/login" in page.url


def test_the_health_page_updates_by_itself_after_a_till_sale(page: Any, live: LiveSeamline) -> None:
    log_in(page)
    live.wait_until(lambda: stat(page, FEED, "last-success") != "never", what="a first delivery on the page")
    before = int(stat(page, FEED, "delivered").replace(",", ""))
    sale = live.api.post(
        "/v1/sales",
        json={
            "location": "STORE-1",
            "external_id": "TILL-7-0042",
            "lines": [{"sku": "OVS-001-NVY-L", "qty": 1}],
            "tenders": [{"type": "card", "amount": "89.00"}],
            "currency": "EUR",
        },
    )
    assert sale.status_code == 201, sale.text
    live.wait_until(
        lambda: int(stat(page, FEED, "delivered").replace(",", "")) > before,
        what="the live refresh to show the sale's delivery",
    )
    assert page.url.endswith("/integration")  # no reload: the fragment was swapped in place
    assert re.match(r"^\d+(\.\d+)? (ms|s) ago$", stat(page, FEED, "last-success"))
    assert stat(page, FEED, "lag-p50") != "—"


def test_a_style_grid_shows_every_location_and_channel_and_a_cell_opens_its_history(
    page: Any, live: LiveSeamline
) -> None:
    log_in(page, then="/stock")
    page.fill("input[name=q]", "overshirt")
    page.click("text=Find")
    page.click("a:text('OVS-001')")
    page.wait_for_selector('[data-testid="grid-WH"]')
    stock = {
        (r["sku"], r["location"]): r for r in live.api.get("/v1/stock", params={"style": "OVS-001"}).json()["items"]
    }
    wh_cell = page.locator('[data-testid="grid-WH"] td[data-sku="OVS-001-NVY-M"]')
    row = stock[("OVS-001-NVY-M", "WH")]
    assert wh_cell.locator(".big").inner_text() == str(row["available"])
    assert wh_cell.locator(".small-nums").inner_text() == f"{row['on_hand']} · {row['committed']} · {row['reserved']}"
    web = live.api.get("/v1/availability/web", params={"sku": "OVS-001-NVY-M"}).json()["items"][0]
    web_cell = page.locator('[data-testid="channel-web"] td[data-sku="OVS-001-NVY-M"]')
    assert web_cell.locator(".big").inner_text() == str(web["available"])
    live.wait_until(
        lambda: (
            f"{FEED} last published {web['available']}."
            in (web_cell.locator(".small-nums").get_attribute("title") or "")
        ),
        what="the published number in the cell",
    )
    wh_cell.locator("a").click()
    page.wait_for_url("**/stock/history?sku=OVS-001-NVY-M&location=WH")
    movements = page.locator('[data-testid="movements"] tbody tr')
    kinds = [movements.nth(i).locator("td").nth(2).inner_text() for i in range(movements.count())]
    assert "receipt" in kinds


def test_a_dead_letter_is_replayed_from_the_page(page: Any, live: LiveSeamline) -> None:
    dead = live.force_dead_letter()
    log_in(page)
    row = page.locator(f'tr[data-dead-letter="{dead}"]')
    assert "503" in row.inner_text()
    row.locator("button", has_text="Replay").click()
    page.wait_for_selector("[role=status]")
    assert page.locator("[role=status]").inner_text() == f"Dead letter {dead} ({FLAKY}) is back in the queue."
    live.wait_until(lambda: live.delivery(dead)["status"] == "delivered", what="the replayed delivery")
    assert dead not in {d["id"] for d in live.dead_letters()}


def test_a_form_posted_without_its_csrf_token_is_refused(page: Any, live: LiveSeamline) -> None:
    dead = live.force_dead_letter("OVS-001-OLV-M")
    log_in(page)
    refused = page.request.post(f"/integration/dead-letters/{dead}/replay", form={"other": "x"})
    assert refused.status == 403
    assert "CSRF" in refused.text()
    forged = page.request.post(f"/integration/dead-letters/{dead}/replay", form={"csrf_token": "forged"})
    assert forged.status == 403
    assert live.delivery(dead)["status"] == "dead"
    reconcile = page.request.post("/exceptions/reconcile", form={})
    assert reconcile.status == 403
    login = page.request.post("/login", form={"token": ADMIN_TOKEN, "csrf_token": "guess"}, max_redirects=0)
    assert login.status == 403
    live.api.post(f"/v1/integration/dead-letters/{dead}/replay")  # leave the queue as it was


def test_every_page_renders_its_key_numbers_and_is_saved_as_a_screenshot(page: Any, live: LiveSeamline) -> None:
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto("/login")
    screenshot(page, "00-login")
    dead = live.force_dead_letter("OVS-001-OLV-XL")  # one in the queue, with its replay button
    log_in(page)
    status = {s["name"]: s for s in live.api.get("/v1/integration/status").json()["subscribers"]}
    live.wait_until(lambda: int(stat(page, FEED, "delivered").replace(",", "")) >= 1, what="deliveries on the page")
    assert stat(page, FLAKY, "dead") == str(status[FLAKY]["dead_letters"]) == "1"
    assert page.locator(f'tr[data-dead-letter="{dead}"] button').inner_text() == "Replay"
    screenshot(page, "01-integration-health")

    page.goto("/stock?style=OVS-001")
    total = live.api.get("/v1/stock", params={"sku": "OVS-001-NVY-S", "location": "WH"}).json()["items"][0]
    cell = page.locator('[data-testid="grid-WH"] td[data-sku="OVS-001-NVY-S"] .big')
    assert cell.inner_text() == str(total["available"])
    screenshot(page, "02-stock-grid")

    page.goto("/stock/history?sku=OVS-001-NVY-M&location=WH")
    assert page.locator('[data-testid="movements"] tbody tr').count() >= 1
    screenshot(page, "03-stock-history")

    page.goto("/orders")
    assert page.locator('[data-testid="orders"]').inner_text().count("SHOP-1001") == 1
    screenshot(page, "04-order-queue")
    page.click("a.external >> nth=-1")
    page.wait_for_selector('[data-testid="trace-id"]')
    assert re.fullmatch(r"[0-9a-f]{32}", page.inner_text('[data-testid="trace-id"]'))
    screenshot(page, "05-order-detail")

    page.goto("/exceptions")
    assert page.inner_text('[data-testid="reconcile"] .pill') == "clean"
    assert int(page.inner_text('[data-stat="checked-rows"]').replace(",", "")) > 0
    screenshot(page, "06-exceptions")

    page.goto("/kpis")
    assert page.locator("[data-kpi=oversell] .figure").inner_text()
    assert page.locator("[data-kpi=latency] [data-stat=lag-p50]").inner_text() != ""
    assert page.locator("[data-kpi=dlq] [data-stat=dlq-depth]").inner_text() == "1"  # the one forced above
    screenshot(page, "07-kpis")


PAGES = ("/integration", "/stock?style=OVS-001", "/orders", "/exceptions", "/kpis")


def test_at_phone_and_desktop_width_every_page_fits_and_an_outage_shows_as_failing_with_its_count(
    browser: Any, live: LiveSeamline
) -> None:
    """After a scripted outage (the flaky connector failing until its delivery is dead-lettered), each page
    fits the screen without sideways scrolling, every nav link is on screen and clickable, and the
    integration card says the connector is failing and how many letters are dead."""
    dead = live.force_dead_letter("OVS-001-OLV-L")
    expected = len(live.dead_letters())
    try:
        for width, height in ((390, 844), (1280, 800)):
            context = browser.new_context(base_url=live.url, viewport={"width": width, "height": height})
            context.set_default_timeout(15_000)
            page = context.new_page()
            try:
                log_in(page)
                card = page.locator(f'[data-subscriber="{FLAKY}"]')
                assert card.locator('[data-stat="state"]').inner_text() == (
                    f"failing: {expected} dead letter{'' if expected == 1 else 's'}"
                )
                assert "state-failing" in (card.get_attribute("class") or "")
                for path in PAGES:
                    page.goto(path)
                    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                    assert overflow <= 0, f"{path} at {width} px scrolls sideways by {overflow} px"
                    for link in page.locator("header.top nav a").all():
                        box = link.bounding_box()
                        assert box is not None
                        assert box["x"] >= 0, (path, link.inner_text())
                        assert box["x"] + box["width"] <= width, (path, link.inner_text())
                screenshot(page, f"10-orders-{width}")
                page.locator("header.top nav a", has_text="Integration health").click()
                page.wait_for_url("**/integration")
                screenshot(page, f"11-integration-outage-{width}")
            finally:
                context.close()
    finally:
        live.api.post(f"/v1/integration/dead-letters/{dead}/replay")
        live.wait_until(lambda: live.delivery(dead)["status"] == "delivered", what="the replayed delivery")
