"""The gift cards on the exceptions page (issue 17) in headless Chromium: at phone and desktop width the page
fits without sideways scrolling, and a card shows its last four characters, never its whole code."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import LiveSeamline, log_in, screenshot


def test_gift_cards_show_masked_and_fit_a_phone(browser: Any, live: LiveSeamline) -> None:
    code = "WEDDING-GIFT-CARD-2026-AB12"
    made = live.api.post("/v1/gift-cards", json={"amount": "150.00", "currency": "EUR", "code": code})
    assert made.status_code in (200, 201), made.text  # the live world is shared by the module's tests
    for width, height in ((390, 844), (1280, 800)):
        context = browser.new_context(base_url=live.url, viewport={"width": width, "height": height})
        context.set_default_timeout(15_000)
        page = context.new_page()
        try:
            log_in(page)
            page.goto("/exceptions")
            section = page.locator('[data-testid="gift-cards"]')
            assert section.locator('[data-card="AB12"]').count() == 1
            assert code not in section.inner_text()
            assert "WEDDING" not in page.content()
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"/exceptions at {width} px scrolls sideways by {overflow} px"
            screenshot(page, f"12-gift-cards-{width}")
        finally:
            context.close()
