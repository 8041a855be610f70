"""The dashboard's pages over HTTP on both databases: the login flow and its refusals, every page with
data in it, and the pages staying fast on a catalog of thousands of SKUs (the queries are paged)."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import partial

import pytest
from fastapi.testclient import TestClient

from seamline.catalog import StyleDraft
from seamline.domain.clock import FixedClock
from seamline.integration import AVAILABILITY_CHANGED, Delivery, DeliveryFailed, Subscriber, install
from seamline.integration.events import ORDER_SHIPPED
from seamline.ledger import MovementRequest
from seamline.service import Seamline
from seamline.service.orders import OrderDesk
from seamline.service.unit_of_work import UnitOfWork
from tests.conftest import ADMIN_TOKEN, receive, seed_world
from tests.integration.finance_world import DAY, configure, ok, sell

PAGES = ("/integration", "/integration/live", "/stock", "/orders", "/exceptions", "/kpis", "/kpis/live")


def log_in(client: TestClient, token: str = ADMIN_TOKEN, next_url: str = "/integration") -> TestClient:
    """Log in through the form, as a browser would: no Authorization header, the session cookie only."""
    client.headers.pop("Authorization", None)
    form = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None
    answer = client.post(
        "/login", data={"token": token, "csrf_token": csrf.group(1), "next": next_url}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_a_page_without_a_session_redirects_to_the_login_form_and_back(client: TestClient) -> None:
    client.headers.pop("Authorization")
    answer = client.get("/stock?style=OVS-001", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/stock?style=OVS-001"
    form = client.get("/login?next=/stock")
    assert form.headers["content-security-policy"].startswith("default-src 'self'")
    logged_in = client.post(
        "/login",
        data={"token": ADMIN_TOKEN, "csrf_token": csrf_of(form.text), "next": "/stock"},
        follow_redirects=False,
    )
    assert logged_in.headers["location"] == "/stock"
    cookie = logged_in.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert ADMIN_TOKEN not in cookie


def test_the_bearer_header_alone_does_not_open_the_dashboard(client: TestClient) -> None:
    assert client.get("/integration", follow_redirects=False).status_code == 303


def test_login_refuses_a_bad_token_a_token_without_read_and_an_off_site_next(client: TestClient) -> None:
    token = client.post("/v1/tokens", json={"name": "till 7", "scopes": ["location:STORE-1"]}).json()["token"]
    client.headers.pop("Authorization")
    form = client.get("/login")
    csrf = csrf_of(form.text)
    wrong = client.post("/login", data={"token": "sl_wrong", "csrf_token": csrf}, follow_redirects=False)
    assert wrong.status_code == 401
    assert "Unknown or revoked token." in wrong.text
    narrow = client.post("/login", data={"token": token, "csrf_token": csrf}, follow_redirects=False)
    assert narrow.status_code == 403
    assert "no read scope" in narrow.text
    no_csrf = client.post("/login", data={"token": ADMIN_TOKEN}, follow_redirects=False)
    assert no_csrf.status_code == 403
    away = client.post(
        "/login",
        data={"token": ADMIN_TOKEN, "csrf_token": csrf, "next": "//evil.example/steal"},
        follow_redirects=False,
    )
    assert away.headers["location"] == "/integration"


def test_every_page_shows_the_business_on_both_databases(client: TestClient) -> None:
    seed_world(client)
    receive(client, "OVS-001-NVY-M", 6)
    receive(client, "OVS-001-NVY-M", 2, to="STORE-1")
    sale = client.post(
        "/v1/sales",
        json={
            "location": "STORE-1",
            "external_id": "TILL-1-0001",
            "lines": [{"sku": "OVS-001-NVY-M", "qty": 1}],
            "tenders": [{"type": "cash", "amount": "89.00"}],
            "currency": "EUR",
        },
    )
    assert sale.status_code == 201, sale.text
    order = client.post(
        "/v1/orders",
        json={
            "channel": "web",
            "external_id": "SHOP-1",
            "lines": [{"sku": "OVS-001-NVY-M", "qty": 2}],
            "currency": "EUR",
        },
    )
    assert order.status_code == 201, order.text
    order_id = order.json()["id"]
    log_in(client)
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[:500])
    grid = client.get("/stock?style=OVS-001").text
    # WH: 6 on hand, 2 committed to SHOP-1: the cell shows 4 available over "on hand · committed · reserved"
    assert re.search(r'data-sku="OVS-001-NVY-M">\s*<a href="/stock/history\?sku=OVS-001-NVY-M&amp;location=WH"', grid)
    assert "6 · 2 · 0" in grid
    history = client.get("/stock/history?sku=OVS-001-NVY-M&location=STORE-1").text
    assert "receipt" in history
    assert "sale" in history
    queue = client.get("/orders?channel=web").text
    assert "SHOP-1" in queue
    assert "TILL-1-0001" not in queue
    assert "TILL-1-0001" in client.get("/orders?kind=pos").text
    assert "SHOP-1" not in client.get("/orders?age=gt1d").text
    detail = client.get(f"/orders/{order_id}").text
    assert "SHOP-1" in detail
    assert 'data-testid="trace-id">' in detail
    exceptions = client.get("/exceptions").text
    assert '<span class="pill">clean</span>' in exceptions
    assert client.get(f"/orders/ord_{'0' * 32}").status_code == 404
    assert client.get("/stock?style=NOPE").status_code == 200  # the picker stays, with the error
    assert "no style NOPE" in client.get("/stock?style=NOPE").text


def test_forms_refuse_a_missing_or_foreign_csrf_token(client: TestClient) -> None:
    log_in(client)
    assert client.post("/exceptions/reconcile", data={}).status_code == 403
    assert client.post("/exceptions/reconcile", data={"csrf_token": "x" * 43}).status_code == 403
    token = csrf_of(client.get("/exceptions").text)
    ran = client.post("/exceptions/reconcile", data={"csrf_token": token})
    assert ran.status_code == 200
    assert "balance rows checked" in ran.text
    missing = client.post("/integration/dead-letters/999999/replay", data={"csrf_token": token})
    assert missing.status_code == 404
    logout = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert logout.status_code == 303
    assert client.get("/kpis", follow_redirects=False).status_code == 303


def test_a_read_token_sees_the_pages_but_not_the_admin_forms(client: TestClient) -> None:
    token = client.post("/v1/tokens", json={"name": "ops viewer", "scopes": ["read"]}).json()["token"]
    log_in(client, token)
    assert "Run reconcile now" not in client.get("/exceptions").text
    csrf = csrf_of(client.get("/exceptions").text)  # the log-out form's
    assert client.post("/exceptions/reconcile", data={"csrf_token": csrf}).status_code == 403


def _big_catalog(app: Seamline, styles: int, colours: int, sizes: int) -> None:
    scale = [f"S{i:02d}" for i in range(sizes)]
    for n in range(styles):
        code = f"BIG-{n:04d}"
        draft = StyleDraft(
            code=code,
            name=f"Style number {n}",
            season="SS27",
            category="tees",
            size_scale=scale,
            colours=[{"code": f"C{c}", "name": f"Colour {c}"} for c in range(colours)],
            variants=[{"sku": f"{code}-C{c}-{s}", "colour": f"C{c}", "size": s} for c in range(colours) for s in scale],
            prices=[{"list": "retail", "currency": "EUR", "amount": str(Decimal("19.00"))}],
        )
        app.write(partial(app.put_style, draft=draft))

    def stock(uow: UnitOfWork) -> None:
        for n in range(0, styles, 10):  # stock for a tenth of the styles is enough rows to matter
            for c in range(colours):
                for s in scale:
                    app.record_movement(uow, MovementRequest("receipt", f"BIG-{n:04d}-C{c}-{s}", 5, to_location="WH"))

    app.write(stock)


@pytest.mark.slow
def test_pages_answer_on_a_catalog_of_three_thousand_skus_a_page_of_styles_at_a_time(
    client: TestClient, app: Seamline
) -> None:
    """How fast they answer is measured by bench/pages.py, against /healthz in the same run."""
    seed_world(client)
    _big_catalog(app, styles=120, colours=5, sizes=5)
    log_in(client)
    for path in ("/stock", "/stock?q=number+11", "/stock?after=BIG-0050", "/stock?style=BIG-0010", *PAGES):
        assert client.get(path).status_code == 200, path
    listing = client.get("/stock").text
    assert listing.count('href="/stock?style=') == 40  # one page of styles, not the catalog
    assert "next styles" in listing


def test_exceptions_page_lists_a_closed_store_days_short_drawer_as_a_settlement_variance(client: TestClient) -> None:
    configure(client)
    sell(client, "R-1", "89.00", 2, [("cash", "178.00")])
    base = f"/v1/finance/settlements/STORE-1/{DAY}"
    ok(client.post(f"{base}/count", json={"counted": "173.00", "currency": "EUR"}))
    closed = ok(client.post(f"{base}/close"))
    [variance] = [v for v in closed["variances"] if v["tender"] == "cash"]
    page = log_in(client, next_url="/exceptions").get("/exceptions")
    assert page.status_code == 200
    section = page.text.split('data-testid="settlement-variances"', 1)[1].split("</table>", 1)[0]
    assert "STORE-1" in section
    assert str(DAY) in section
    assert variance["difference"] in section
    assert "No variances in closed store days." not in section


def test_exceptions_page_says_so_when_no_store_day_has_a_variance(client: TestClient) -> None:
    seed_world(client)
    page = log_in(client, next_url="/exceptions").get("/exceptions")
    section = page.text.split('data-testid="settlement-variances"', 1)[1].split("</table>", 1)[0]
    assert "No variances in closed store days." in section


# ---------------------------------------------------------------------- integration health tells the truth
def _card(html: str, subscriber: str) -> str:
    return html.split(f'data-subscriber="{subscriber}"', 1)[1].split("</article>", 1)[0]


def _pill(card: str) -> str:
    found = re.search(r'data-stat="state">([^<]*)<', card)
    assert found is not None
    return found.group(1)


def test_a_connector_dead_lettered_hours_ago_on_the_business_clock_still_says_failing_with_the_count(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    integration = install(app)
    broken = {"failing": True}

    def deliver(delivery: Delivery) -> None:
        if broken["failing"]:
            raise DeliveryFailed("HTTP 503 from the marketplace")

    integration.add_subscriber(
        Subscriber(name="market:down", deliver=deliver, event_types=frozenset({AVAILABILITY_CHANGED}), max_attempts=2)
    )
    seed_world(client)
    receive(client, "OVS-001-OLV-M", 4)
    receive(client, "OVS-001-OLV-L", 4)
    for _ in range(4):
        integration.availability.flush()
        integration.dispatcher.run_once("market:down")
        clock.advance(600)
    dead = client.get("/v1/integration/dead-letters", params={"subscriber": "market:down"}).json()["items"]
    assert len(dead) == 2
    clock.advance(5 * 3600)  # the business clock moves on: the outage is hours old, the letters still dead
    log_in(client)
    card = _card(client.get("/integration").text, "market:down")
    assert _pill(card) == "failing: 2 dead letters"
    assert "state-failing" in client.get("/integration/live").text.split('data-subscriber="market:down"')[0][-80:]
    assert "HTTP 503 from the marketplace" in card  # the last incident's reasons, however old

    broken["failing"] = False
    token = csrf_of(client.get("/integration").text)
    replayed = client.post("/integration/dead-letters/replay", data={"subscriber": "market:down", "csrf_token": token})
    assert "2 dead letters of market:down are back in the queue." in replayed.text
    integration.dispatcher.run_once("market:down")
    card = _card(client.get("/integration").text, "market:down")
    assert _pill(card) == "recovered"
    assert re.search(r'data-stat="ever-dead">2<', card)
    assert re.search(r'data-stat="failures-since-success">0<', card)


def test_a_connector_retrying_with_no_success_since_says_how_many_attempts_failed(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    integration = install(app)

    def deliver(delivery: Delivery) -> None:
        raise DeliveryFailed("HTTP 502 from the platform")

    integration.add_subscriber(
        Subscriber(name="shop:flaky", deliver=deliver, event_types=frozenset({AVAILABILITY_CHANGED}), max_attempts=9)
    )
    seed_world(client)
    receive(client, "OVS-001-OLV-M", 4)
    integration.availability.flush()
    integration.dispatcher.run_once("shop:flaky")
    clock.advance(3 * 3600)
    log_in(client)
    card = _card(client.get("/integration").text, "shop:flaky")
    assert _pill(card) == "failing: 1 failed attempt since the last success"


def test_a_shipped_web_order_from_a_checkout_hold_lists_its_availability_pushes_and_its_shipment_notice(
    client: TestClient, app: Seamline
) -> None:
    integration = install(app)
    told: list[Delivery] = []
    integration.add_subscriber(
        Subscriber(
            name="shop:web",
            deliver=told.append,
            event_types=frozenset({AVAILABILITY_CHANGED, ORDER_SHIPPED}),
            channels=frozenset({"web"}),
        )
    )
    seed_world(client)
    receive(client, "OVS-001-NVY-L", 5)
    integration.availability.flush()
    integration.dispatcher.drain()
    line = {"sku": "OVS-001-NVY-L", "qty": 2, "unit_price": "89.00"}
    hold = client.post("/v1/holds", json={"channel": "web", "lines": [{"sku": line["sku"], "qty": 2}]}).json()
    body = {"channel": "web", "external_id": "SHOP-7", "hold_id": hold["id"], "lines": [line], "currency": "EUR"}
    order = client.post("/v1/orders", json=body).json()
    for step, payload in (("pick", None), ("pack", None), ("ship", {"tracking": "1Z999"})):
        done = client.post(f"/v1/orders/{order['id']}/{step}", json=payload)
        assert done.status_code == 200, done.text
    integration.availability.flush()
    integration.dispatcher.drain()
    log_in(client)
    table = client.get(f"/orders/{order['id']}").text.split('data-testid="order-deliveries"', 1)[1]
    table = table.split("</table>", 1)[0]
    assert "No deliveries recorded" not in table
    assert "OrderShipped" in table
    assert "OVS-001-NVY-L → 3" in table  # the hold took two of five off the web channel


def test_a_store_whose_till_sells_shows_its_last_sale_and_is_not_said_to_have_no_till(client: TestClient) -> None:
    seed_world(client)
    receive(client, "OVS-001-NVY-M", 3, to="STORE-1")
    for n in range(2):
        sale = client.post(
            "/v1/sales",
            json={
                "location": "STORE-1",
                "external_id": f"TILL-1-000{n}",
                "lines": [{"sku": "OVS-001-NVY-M", "qty": 1}],
                "tenders": [{"type": "cash", "amount": "89.00"}],
                "currency": "EUR",
            },
        )
        assert sale.status_code == 201, sale.text
    page = log_in(client, next_url="/exceptions").get("/exceptions").text
    row = page.split('data-store="STORE-1"', 1)[1].split("</tr>", 1)[0]
    assert "no till heard from" not in row
    assert "selling, catalog version not acknowledged" in row
    assert re.search(r'data-stat="last-sale">[^<]* ago \(2 sales\)', row)


# ---------------------------------------------------------------------- orders: names, search, actions
def _web_order(client: TestClient, external_id: str, qty: int = 2, **extra: object) -> dict[str, object]:
    body = {
        "channel": "web",
        "external_id": external_id,
        "lines": [{"sku": "OVS-001-NVY-M", "qty": qty, "unit_price": "89.00"}],
        "currency": "EUR",
        "tenders": [{"type": "card", "amount": f"{89 * qty}.00"}],
        **extra,
    }
    answer = client.post("/v1/orders", json=body)
    assert answer.status_code == 201, answer.text
    order: dict[str, object] = answer.json()
    return order


def test_the_order_queue_finds_an_order_by_the_channels_number_and_names_its_customer_and_products(
    client: TestClient,
) -> None:
    seed_world(client)
    receive(client, "OVS-001-NVY-M", 10)
    _web_order(client, "#1042", customer={"email": "ada@example.com", "name": "Ada Lovelace"})
    _web_order(client, "#2077")
    log_in(client)
    found = client.get("/orders", params={"q": "1042"}).text.split('data-testid="orders"', 1)[1]
    assert "#1042" in found
    assert "#2077" not in found
    assert "Ada Lovelace" in found
    assert "Navy overshirt, Navy, M ×2" in found
    assert "No orders match." in client.get("/orders", params={"q": "nope"}).text


def test_an_order_is_picked_packed_and_shipped_from_its_page_and_a_refusal_is_said_in_words(
    client: TestClient, app: Seamline
) -> None:
    seed_world(client)
    receive(client, "OVS-001-NVY-M", 10)
    order = _web_order(client, "#3001", customer={"email": "grace@example.com", "name": "Grace Hopper"})
    log_in(client)
    page = client.get(f"/orders/{order['id']}").text
    assert "Grace Hopper" in page
    assert "Navy overshirt, Navy, M" in page
    csrf = csrf_of(page)
    assert client.post(f"/orders/{order['id']}/actions/pick", data={}).status_code == 403  # no CSRF token
    assert OrderDesk(app).get_order(str(order["id"]))["status"] == "allocated"
    picked = client.post(f"/orders/{order['id']}/actions/pick", data={"csrf_token": csrf})
    assert picked.status_code == 200
    assert "Picked web order #3001" in picked.text
    assert client.post(f"/orders/{order['id']}/actions/pack", data={"csrf_token": csrf}).status_code == 200
    shipped = client.post(f"/orders/{order['id']}/actions/ship", data={"csrf_token": csrf, "tracking": "1Z42"})
    assert "Shipped web order #3001 with tracking 1Z42; the order is shipped." in shipped.text
    after = OrderDesk(app).get_order(str(order["id"]))
    assert (after["status"], after["tracking"]) == ("shipped", "1Z42")
    refused = client.post(f"/orders/{order['id']}/actions/cancel", data={"csrf_token": csrf})
    assert refused.status_code == 409
    assert re.search(r'role="alert">Not done: [^<]+\.<', refused.text)
    assert OrderDesk(app).get_order(str(order["id"]))["status"] == "shipped"
    back = client.post(
        f"/orders/{order['id']}/actions/return",
        data={"csrf_token": csrf, "sku": "OVS-001-NVY-M", "qty": "1", "location": "WH", "condition": "sellable"},
    )
    assert back.status_code == 200, back.text
    assert "Took back 1 × OVS-001-NVY-M at WH (sellable); refunded 89.00 EUR." in back.text


def test_a_read_only_session_cannot_ship_an_order_from_its_page(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    receive(client, "OVS-001-NVY-M", 10)
    order = _web_order(client, "#4001")
    token = client.post("/v1/tokens", json={"name": "viewer", "scopes": ["read"]}).json()["token"]
    log_in(client, token)
    csrf = csrf_of(client.get(f"/orders/{order['id']}").text)
    refused = client.post(f"/orders/{order['id']}/actions/pick", data={"csrf_token": csrf})
    assert refused.status_code == 403
    assert "Not done: this token may not act" in refused.text
    assert OrderDesk(app).get_order(str(order["id"]))["status"] == "allocated"


def test_a_return_to_an_unknown_location_is_refused_in_words_on_the_order_page_and_writes_nothing(
    client: TestClient, app: Seamline
) -> None:
    seed_world(client)
    receive(client, "OVS-001-NVY-M", 10)
    order = _web_order(client, "#5001", qty=1)
    for step in ("pick", "pack", "ship"):
        assert client.post(f"/v1/orders/{order['id']}/{step}").status_code == 200
    log_in(client)
    csrf = csrf_of(client.get(f"/orders/{order['id']}").text)
    wrong = client.post(
        f"/orders/{order['id']}/actions/return",
        data={"csrf_token": csrf, "sku": "OVS-001-NVY-M", "qty": "1", "location": "NOWHERE"},
    )
    assert wrong.status_code == 422
    assert 'role="alert">Not done:' in wrong.text
    assert "#5001" in wrong.text  # still the order's page
    assert OrderDesk(app).get_order(str(order["id"]))["lines"][0]["returned"] == 0
    missing = client.post(f"/orders/ord_{'0' * 32}/actions/pick", data={"csrf_token": csrf})
    assert missing.status_code == 404
