"""Gift cards as one liability across channels (issue 17), on both databases: issued through the API, by a
Shopify order's gift card line or at a till; redeemed as a till tender or a Shopify payment; expired into
breakage; and reconcile's liability check, clean and then failing after corruption, naming the card."""

from __future__ import annotations

import copy
import threading
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from seamline.channels.square import SquareClient, SquareConfig, SquareLookups, inbound
from seamline.channels.square.connector import SquareConnector
from seamline.cli.context import CliContext
from seamline.cli.main import app as cli
from seamline.domain.clock import FixedClock
from seamline.domain.errors import Conflict
from seamline.finance import FinanceConfig, Role
from seamline.integration import installed
from seamline.sandbox.square import SquareSandbox
from seamline.service import Seamline
from seamline.service.giftcards import GiftCardDesk
from seamline.store.tables import gift_card_movements, gift_cards, journal_entries, journal_lines
from tests.conftest import receive
from tests.integration.finance_world import DAY, configure
from tests.integration.order_world import SKU, assert_problem, sale_body, seed_channels
from tests.integration.shopify_world import CHANNEL, ShopWorld
from tests.integration.test_dashboard_pages import log_in
from tests.shopify_payloads import shopify_order

SQUARE_STORE = "EF6D9SACKWBKZ"  # the Square sandbox's store

LIABILITY = FinanceConfig().account(Role.GIFT_CARDS)
BREAKAGE = FinanceConfig().account(Role.GIFT_CARD_BREAKAGE)
CLEARING = FinanceConfig().tender_account("gift_card")


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def issue(client: TestClient, amount: str, currency: str = "EUR", **extra: Any) -> dict[str, Any]:
    return ok(client.post("/v1/gift-cards", json={"amount": amount, "currency": currency, **extra}), 201)


def card_rows(app: Seamline) -> tuple[int, int, int]:
    def count(conn: Any) -> tuple[int, int, int]:
        cards, moves, entries = (
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (gift_cards, gift_card_movements, journal_entries)
        )
        return cards, moves, entries

    return app.read(count)


def account_balance(app: Seamline, account: str) -> Decimal:
    """Credit balance of an account over the journal (credits positive)."""

    def read(conn: Any) -> Decimal:
        rows = conn.execute(
            select(journal_lines.c.debit, journal_lines.c.credit).where(journal_lines.c.account == account)
        )
        return sum((Decimal(str(c)) - Decimal(str(d)) for d, c in rows), Decimal(0)).quantize(Decimal("0.01"))

    return app.read(read)


def reconciliation(client: TestClient) -> dict[str, Any]:
    return ok(client.get("/v1/finance/reconciliation"))


# ---------------------------------------------------------------------------------------------- the API
def test_a_card_issued_through_the_api_shows_its_balance_and_posts_the_liability(
    client: TestClient, app: Seamline
) -> None:
    card = issue(client, "50.00")
    assert (card["balance"], card["initial_amount"], card["status"], card["expires_on"]) == (
        "50.00",
        "50.00",
        "active",
        None,
    )
    assert len(card["code"]) == 16
    found = ok(client.get(f"/v1/gift-cards/{card['code']}"))
    assert found["balance"] == "50.00"
    assert [(m["kind"], m["amount"], m["balance_after"]) for m in found["movements"]] == [("issue", "50.00", "50.00")]
    assert account_balance(app, LIABILITY) == Decimal("50.00")
    assert account_balance(app, FinanceConfig().account(Role.REVENUE)) == 0
    report = reconciliation(client)
    assert report["clean"], report
    assert report["money_checked"]["gift_cards"] == 1


def test_issuing_is_idempotent_with_the_key_and_a_chosen_code_is_unique(client: TestClient, app: Seamline) -> None:
    headers = {"Idempotency-Key": "gift-1"}
    body = {"amount": "25.00", "currency": "EUR", "code": "BIRTHDAY-2026"}
    first = client.post("/v1/gift-cards", json=body, headers=headers)
    again = client.post("/v1/gift-cards", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert card_rows(app)[:2] == (1, 1)
    taken = client.post("/v1/gift-cards", json=body)  # the same code without the key: a second card refused
    assert_problem(taken, 409, "gift-card-code-taken")
    assert card_rows(app)[:2] == (1, 1)


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"amount": "-5.00", "currency": "EUR"}, 422, "validation-error", "amount"),
        ({"amount": "0", "currency": "EUR"}, 422, "validation-error", "amount"),
        ({"amount": "5.00", "currency": "ZZZ"}, 422, "validation-error", "currency"),
        ({"amount": "5.00", "currency": "eur"}, 422, "validation-error", "currency"),
        ({"amount": "5.00", "currency": "EUR", "channel": "nowhere"}, 422, "validation-error", "channel"),
        ({"amount": "5.00", "currency": "EUR", "code": "a b"}, 422, "validation-error", "code"),
    ],
)
def test_bad_input_is_a_problem_and_writes_nothing(
    client: TestClient, app: Seamline, body: dict[str, Any], status: int, code: str, field: str
) -> None:
    before = card_rows(app)
    assert_problem(client.post("/v1/gift-cards", json=body), status, code, field)
    assert card_rows(app) == before


def test_an_unknown_code_is_404_and_the_scopes_hold(client: TestClient) -> None:
    assert_problem(client.get("/v1/gift-cards/NOPE0000"), 404, "unknown-gift-card")

    def token(*scopes: str) -> dict[str, str]:
        made = ok(client.post("/v1/tokens", json={"name": "cs", "scopes": list(scopes)}), 201)
        return {"Authorization": f"Bearer {made['token']}"}

    writer, reader, other = token("giftcards:write"), token("giftcards:read"), token("location:STORE-1")
    card = ok(client.post("/v1/gift-cards", json={"amount": "10.00", "currency": "EUR"}, headers=writer), 201)
    assert ok(client.get(f"/v1/gift-cards/{card['code']}", headers=reader))["balance"] == "10.00"
    refused = client.post("/v1/gift-cards", json={"amount": "10.00", "currency": "EUR"}, headers=reader)
    assert_problem(refused, 403, "insufficient-scope")
    assert_problem(client.get(f"/v1/gift-cards/{card['code']}", headers=other), 403, "insufficient-scope")


# ---------------------------------------------------------------------------------------------- at the till
def test_a_till_sale_paid_partly_by_card_lowers_its_balance_and_the_tenders_add_up(
    client: TestClient, app: Seamline
) -> None:
    seed_channels(client)
    receive(client, SKU, 2, to="STORE-1")
    card = issue(client, "50.00")
    body = sale_body(
        lines=[{"sku": SKU, "qty": 1, "unit_price": "89.00"}],
        tenders=[{"type": "gift_card", "amount": "30.00", "code": card["code"]}, {"type": "cash", "amount": "59.00"}],
    )
    sale = ok(client.post("/v1/sales", json=body), 201)
    found = ok(client.get(f"/v1/gift-cards/{card['code']}"))
    assert found["balance"] == "20.00"
    assert [(m["kind"], m["amount"], m["order_id"]) for m in found["movements"]][1:] == [
        ("redeem", "30.00", sale["id"])
    ]
    docs = ok(client.get("/v1/finance/documents", params={"order_id": sale["id"]}))["items"]
    [receipt] = [d for d in docs if d["kind"] != "journal"]
    # The redemption is a journal document of its own, exported to the books like the other journals.
    [redeemed] = [d for d in docs if d["kind"] == "journal" and "gift card" in str(d.get("memo"))]
    assert (redeemed["total"], redeemed["memo"]) == ("30.00", f"gift card …{card['code'][-4:]} redeem")
    assert receipt["total"] == "89.00"
    assert sum(Decimal(t["amount"]) for t in receipt["tenders"]) == Decimal(receipt["total"])
    assert {t["tender"]: t["amount"] for t in receipt["tenders"]} == {"gift_card": "30.00", "cash": "59.00"}
    # the same sale again (a till retrying) takes nothing more
    assert client.post("/v1/sales", json=body).status_code == 200
    assert ok(client.get(f"/v1/gift-cards/{card['code']}"))["balance"] == "20.00"
    assert account_balance(app, LIABILITY) == Decimal("20.00")
    assert reconciliation(client)["gift_card_differences"] == []


def test_a_till_sale_asking_more_than_the_card_holds_is_refused_and_writes_nothing(
    client: TestClient, app: Seamline
) -> None:
    seed_channels(client)
    receive(client, SKU, 2, to="STORE-1")
    card = issue(client, "20.00")
    body = sale_body(
        lines=[{"sku": SKU, "qty": 1, "unit_price": "89.00"}],
        tenders=[{"type": "gift_card", "amount": "30.00", "code": card["code"]}, {"type": "cash", "amount": "59.00"}],
    )
    before = card_rows(app)
    problem = assert_problem(client.post("/v1/sales", json=body), 409, "gift-card-insufficient")
    assert "holds 20.00" in problem["detail"]
    assert card["code"] not in problem["detail"]  # a refusal on a receipt printer never shows the whole code
    assert card_rows(app) == before
    assert ok(client.get("/v1/orders", params={"channel": "pos:STORE-1"}))["items"] == []
    assert ok(client.get(f"/v1/gift-cards/{card['code']}"))["balance"] == "20.00"
    no_code = sale_body(
        lines=[{"sku": SKU, "qty": 1, "unit_price": "89.00"}], tenders=[{"type": "gift_card", "amount": "89.00"}]
    )
    assert_problem(client.post("/v1/sales", json=no_code), 422, "validation-error", "tenders[0].code")
    assert card_rows(app) == before


@pytest.mark.parametrize(("tills", "each", "wins"), [(2, "40.00", 1), (8, "10.00", 5)])
def test_tills_racing_for_one_card_win_only_what_it_holds(
    app: Seamline, client: TestClient, tills: int, each: str, wins: int
) -> None:
    """Real threads, each its own transaction, released together: a 50.00 card pays exactly as many
    redemptions as fit (one of two 40.00s; five of eight 10.00s), never going below zero."""
    card = issue(client, "50.00")
    desk = GiftCardDesk(app)
    barrier = threading.Barrier(tills, timeout=30)
    outcomes: list[str] = []
    lock = threading.Lock()

    def till(i: int) -> None:
        barrier.wait()
        try:
            app.write(lambda uow: desk.redeem(uow, card["code"], Decimal(each), source=f"race:{i}"))
            result = "won"
        except Conflict as exc:
            result = exc.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=till, args=(i,)) for i in range(tills)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == sorted(["won"] * wins + ["gift-card-insufficient"] * (tills - wins))
    found = ok(client.get(f"/v1/gift-cards/{card['code']}"))
    assert Decimal(found["balance"]) == Decimal("50.00") - wins * Decimal(each)
    assert [m["kind"] for m in found["movements"]] == ["issue"] + ["redeem"] * wins
    assert reconciliation(client)["gift_card_differences"] == []


# ---------------------------------------------------------------------------------------------- expiry
def test_a_card_past_its_date_expires_into_breakage_once(
    client: TestClient, app: Seamline, clock: FixedClock, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEAMLINE_DATABASE_URL", database_url)
    monkeypatch.delenv("SEAMLINE_ADMIN_TOKEN", raising=False)
    ok(client.put("/v1/finance/config", json={"gift_card_expiry_months": 1}), 201)
    card = issue(client, "40.00")
    assert card["expires_on"] is not None
    app.write(lambda uow: GiftCardDesk(app).redeem(uow, card["code"], Decimal("15.00"), source="test:spend"))
    runner = CliRunner()
    result = runner.invoke(cli, ["gift-cards", "expire", "--json"], obj=CliContext(clock))
    assert result.exit_code == 0, result.output
    assert '"expired": []' in result.output  # not yet past its date
    clock.advance(20 * 86400)
    fresh = issue(client, "10.00")  # a month from now: not due at the next sweep
    clock.advance(20 * 86400)
    result = runner.invoke(cli, ["gift-cards", "expire"], obj=CliContext(clock))
    assert result.exit_code == 0, result.output
    assert "breakage 25.00 EUR" in result.output
    assert "expired: 1" in result.output
    found = ok(client.get(f"/v1/gift-cards/{card['code']}"))
    assert (found["status"], found["balance"]) == ("expired", "0.00")
    assert [(m["kind"], m["amount"]) for m in found["movements"]][-1] == ("expire", "25.00")
    assert account_balance(app, BREAKAGE) == Decimal("25.00")
    assert account_balance(app, LIABILITY) == Decimal("10.00")
    assert ok(client.get(f"/v1/gift-cards/{fresh['code']}"))["status"] == "active"
    again = runner.invoke(cli, ["gift-cards", "expire"], obj=CliContext(clock))
    assert "expired: 0" in again.output
    assert account_balance(app, BREAKAGE) == Decimal("25.00")
    with pytest.raises(Conflict):
        app.write(lambda uow: GiftCardDesk(app).redeem(uow, card["code"], Decimal("1.00"), source="test:late"))
    assert reconciliation(client)["clean"]


# ---------------------------------------------------------------------------------------------- reconcile
def test_reconcile_is_clean_and_then_fails_naming_the_card_after_corruption(
    client: TestClient, app: Seamline, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = issue(client, "30.00"), issue(client, "12.00")
    app.write(lambda uow: GiftCardDesk(app).redeem(uow, first["code"], Decimal("10.00"), source="test:spend"))
    assert reconciliation(client)["clean"]
    monkeypatch.setenv("SEAMLINE_DATABASE_URL", database_url)
    monkeypatch.delenv("SEAMLINE_ADMIN_TOKEN", raising=False)
    assert CliRunner().invoke(cli, ["reconcile"]).exit_code == 0

    # a balance edited by hand
    app.write(
        lambda uow: uow.conn.execute(update(gift_cards).where(gift_cards.c.code == second["code"]).values(balance=99))
    )
    report = reconciliation(client)
    assert not report["clean"]
    assert [(d["problem"], d["card"]) for d in report["gift_card_differences"]] == [("card-balance", second["code"])]
    result = CliRunner().invoke(cli, ["reconcile"])
    assert result.exit_code == 1
    assert second["code"] in result.output
    app.write(
        lambda uow: uow.conn.execute(update(gift_cards).where(gift_cards.c.code == second["code"]).values(balance=12))
    )
    assert reconciliation(client)["clean"]

    # a posting edited: the redemption's liability line says 1.00, not 10.00
    def corrupt(uow: Any) -> None:
        conn = uow.conn
        [entry_id] = conn.execute(
            select(journal_entries.c.id)
            .join(gift_card_movements, journal_entries.c.source_key == "giftcard:" + gift_card_movements.c.id)
            .where(gift_card_movements.c.source == "test:spend")
        ).scalars()
        for account, column in ((LIABILITY, "debit"), (CLEARING, "credit")):
            conn.execute(
                update(journal_lines)
                .where(journal_lines.c.entry_id == entry_id, journal_lines.c.account == account)
                .values({column: 1})
            )

    app.write(corrupt)
    report = reconciliation(client)
    assert not report["clean"]
    assert ("card-posting", first["code"]) in [(d["problem"], d["card"]) for d in report["gift_card_differences"]]
    assert "liability" in [d["problem"] for d in report["gift_card_differences"]]


# ---------------------------------------------------------------------------------------------- Shopify
def gift_line(payload: dict[str, Any], line_id: int, price: str) -> dict[str, Any]:
    """A gift card line as Shopify sends it (``gift_card: true``, no shipping), cut from the fixture's line."""
    gift: dict[str, Any] = copy.deepcopy(payload["line_items"][0])
    gift.update(
        id=line_id,
        gift_card=True,
        requires_shipping=False,
        sku=None,
        name=f"Gift card {price}",
        title="Gift card",
        price=price,
        price_set={"shop_money": {"amount": price, "currency_code": "EUR"}},
        tax_lines=[],
        discount_allocations=[],
    )
    return gift


def deliver(world: ShopWorld, payload: dict[str, Any]) -> None:
    assert world.post(world.sender.build("orders/create", payload)) == 200
    world.process()


def test_a_shopify_gift_card_line_issues_a_card_takes_no_stock_and_the_invoice_ties_out(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    receive(client, SKU, 3)
    payload = shopify_order([(SKU, "90.00", 1, "1001", [])], discounts={}, shipping="10.00", total="150.00")
    payload.update(test=False, currency="EUR")
    payload["line_items"].append(gift_line(payload, 5550001, "50.00"))
    deliver(world, payload)
    [order] = ok(client.get("/v1/orders", params={"channel": CHANNEL}))["items"]
    assert [(li["sku"], li["qty"]) for li in order["lines"]] == [(SKU, 1)]  # the card took no stock
    code = f"{CHANNEL.upper()}-5550001"
    card = ok(client.get(f"/v1/gift-cards/{code}"))
    assert (card["balance"], card["channel"], card["status"]) == ("50.00", CHANNEL, "active")
    assert card["movements"][0]["order_id"] == order["id"]
    deliver(world, payload)  # delivered twice: one card
    assert len(ok(client.get("/v1/gift-cards"))["items"]) == 1
    for step in ("pick", "pack", "ship"):
        ok(client.post(f"/v1/orders/{order['id']}/{step}", json={}))
    found = ok(client.get("/v1/finance/documents", params={"order_id": order["id"]}))["items"]
    issued = [d for d in found if d["kind"] == "journal" and "gift card" in str(d.get("memo"))]
    assert [(d["total"], d["memo"]) for d in issued] == [("50.00", f"gift card …{code[-4:]} issue")]
    docs = [d for d in found if d["kind"] != "journal"]
    assert [(d["kind"], d["total"]) for d in docs] == [("invoice", "150.00"), ("payment", "150.00")]
    assert [li["sku"] for li in docs[0]["lines"]] == [SKU, "gift_card", "shipping"]
    assert account_balance(app, LIABILITY) == Decimal("50.00")
    assert account_balance(app, CLEARING) == Decimal("0.00")
    assert account_balance(app, FinanceConfig().account(Role.REVENUE)) == Decimal("100.00")
    report = reconciliation(client)
    assert report["clean"], report


def test_a_shopify_order_of_only_a_gift_card_issues_it(client: TestClient, app: Seamline, clock: FixedClock) -> None:
    world = ShopWorld(client, app, clock)
    payload = shopify_order([], discounts={}, shipping="0.00", total="25.00")
    payload.update(test=False, currency="EUR", shipping_lines=[])
    payload["line_items"] = [
        gift_line(shopify_order([(SKU, "1.00", 1, "1", [])], discounts={}, shipping="0", total="1"), 77, "25.00")
    ]
    deliver(world, payload)
    assert world.inbox(status="rejected") == []
    assert ok(client.get(f"/v1/gift-cards/{CHANNEL.upper()}-77"))["balance"] == "25.00"
    assert ok(client.get("/v1/orders", params={"channel": CHANNEL}))["items"] == []


def paid_with_card(card_id: str, card_amount: str, other: str, external: int) -> dict[str, Any]:
    total = str(Decimal(card_amount) + Decimal(other))
    payload = shopify_order([(SKU, total, 1, "1001", [])], discounts={}, shipping="0.00", total=total)
    payload.update(test=False, currency="EUR", id=external, name=f"#{external}")
    payload["transactions"] = [
        {
            "id": external * 10 + 1,
            "kind": "sale",
            "status": "success",
            "gateway": "gift_card",
            "amount": card_amount,
            "currency": "EUR",
            "receipt": {"gift_card_id": int(card_id), "gift_card_last_characters": card_id[-4:]},
        },
        {
            "id": external * 10 + 2,
            "kind": "sale",
            "status": "success",
            "gateway": "shopify_payments",
            "amount": other,
            "currency": "EUR",
        },
    ]
    return payload


def test_a_shopify_payment_by_gift_card_redeems_it_and_one_the_card_cannot_pay_is_held(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    receive(client, SKU, 5)
    issue(client, "40.00", code="644042064163")  # the card Shopify names by its gift_card_id
    deliver(world, paid_with_card("644042064163", "30.00", "60.00", 9001))
    assert ok(client.get("/v1/gift-cards/644042064163"))["balance"] == "10.00"
    assert reconciliation(client)["clean"]

    deliver(world, paid_with_card("644042064163", "25.00", "5.00", 9002))  # only 10.00 left on it
    assert ok(client.get("/v1/gift-cards/644042064163"))["balance"] == "10.00"
    assert len(ok(client.get("/v1/orders", params={"channel": CHANNEL}))["items"]) == 2  # the order stands
    report = reconciliation(client)
    assert not report["clean"]
    [held] = [d for d in report["money_differences"] if d["check"] == "held"]
    assert held["problem"] == "gift-card-insufficient"
    assert "already taken" in held["detail"]

    deliver(world, paid_with_card("999", "5.00", "5.00", 9003))  # a card Seamline does not know
    reasons = sorted(d["problem"] for d in reconciliation(client)["money_differences"] if d["check"] == "held")
    assert reasons == ["gift-card-insufficient", "unknown-gift-card"]


# ---------------------------------------------------------------------------------------------- Square
def test_a_gift_card_sold_at_a_square_till_is_issued_once_and_takes_no_stock(app: Seamline, client: TestClient) -> None:
    """A Square line with no catalog object and ``item_type: GIFT_CARD`` (Square's Orders API, OrderLineItem
    item_type) issues a card keyed by the line's uid; the webhooks delivered twice issue it once."""
    configure(client)  # ten of SKU at STORE-1
    sandbox = SquareSandbox()
    square = SquareConnector(
        app,
        SquareClient(SquareConfig("http://square.test", sandbox.config.access_token), transport=sandbox.transport()),
        SquareLookups,
        channel="soho",
    )
    ids = square.publish_style(app.get_style("OVS-001"), currency="EUR", idempotency_key="v1")
    lookups = SquareLookups({vid: sku for sku, (vid, _) in ids.variations.items()}, {SQUARE_STORE: "STORE-1"})
    square.lookups = lambda: lookups
    integration = installed(app)
    assert integration is not None
    square.register(integration.handlers)
    sandbox.ring_up(SQUARE_STORE, [(SKU, 1)], [("CARD", 13900)], gift_cards=[5000])
    for note in sandbox.notifications + sandbox.notifications:
        event = inbound.verify(note.body, note.headers, [sandbox.config.signature_key], sandbox.config.notification_url)
        integration.inbox.receive(inbound.inbound_message(event, note.body, note.headers, channel="soho"))
    integration.inbox.drain()
    [sale] = ok(client.get("/v1/orders", params={"channel": "pos:STORE-1"}))["items"]
    assert [(li["sku"], li["qty"]) for li in sale["lines"]] == [(SKU, 1)]
    [card] = ok(client.get("/v1/gift-cards"))["items"]
    found = ok(client.get(f"/v1/gift-cards/{card_code(app)}"))
    assert (found["balance"], found["channel"], found["movements"][0]["order_id"]) == ("50.00", "soho", sale["id"])
    assert found["code"].startswith("SOHO-")
    assert account_balance(app, LIABILITY) == Decimal("50.00")
    assert reconciliation(client)["gift_card_differences"] == []


def test_a_square_sale_paid_by_a_square_gift_card_is_held_for_a_person_not_booked_against_nothing(
    app: Seamline, client: TestClient
) -> None:
    """A ``SQUARE_GIFT_CARD`` tender is Square's own card (Square took the balance off it) and names only its
    last 4 digits and payment: the sale stands, its card money is held (``gift-card-unidentified``) once,
    however often the webhooks come, and reconcile is not clean until a person resolves it."""
    configure(client)
    sandbox = SquareSandbox()
    square = SquareConnector(
        app,
        SquareClient(SquareConfig("http://square.test", sandbox.config.access_token), transport=sandbox.transport()),
        SquareLookups,
        channel="soho",
    )
    ids = square.publish_style(app.get_style("OVS-001"), currency="EUR", idempotency_key="v1")
    lookups = SquareLookups({vid: sku for sku, (vid, _) in ids.variations.items()}, {SQUARE_STORE: "STORE-1"})
    square.lookups = lambda: lookups
    integration = installed(app)
    assert integration is not None
    square.register(integration.handlers)
    issue(client, "50.00", code="SOLD-ON-SQUARE")  # a card of ours: Square's tender cannot say it was this one
    sandbox.ring_up(SQUARE_STORE, [(SKU, 1)], [("SQUARE_GIFT_CARD", 3000), ("CARD", 5900)])
    for note in sandbox.notifications + sandbox.notifications:
        event = inbound.verify(note.body, note.headers, [sandbox.config.signature_key], sandbox.config.notification_url)
        integration.inbox.receive(inbound.inbound_message(event, note.body, note.headers, channel="soho"))
    integration.inbox.drain()
    [sale] = ok(client.get("/v1/orders", params={"channel": "pos:STORE-1"}))["items"]
    assert {t["type"]: t["amount"] for t in sale["tenders"]} == {"gift_card": "30.00", "card": "59.00"}
    assert ok(client.get("/v1/gift-cards/SOLD-ON-SQUARE"))["balance"] == "50.00"
    report = reconciliation(client)
    assert not report["clean"]
    [held] = [d for d in report["money_differences"] if d["check"] == "held"]
    assert held["problem"] == "gift-card-unidentified"
    assert "Square took 30.00 EUR by its own gift card (Square gift card …" in held["detail"]
    assert ", payment " in held["detail"]
    # and the gift card clearing keeps the 30.00 no card gave: named by the sale
    [left] = report["gift_card_differences"]
    assert (left["problem"], left["order"], left["cards"]) == ("clearing-sale", sale["id"], "30.00")

    # A person finds the card (Square's gift card activities name it by the payment) and takes the money off
    # it here: a card holding too little refuses and the hold stays; the right one resolves it, once.
    small = issue(client, "10.00")
    refused = client.post(f"/v1/gift-cards/{small['code']}/redemptions", json={"hold": held["source"]})
    assert_problem(refused, 409, "gift-card-insufficient")
    assert_problem(
        client.post("/v1/gift-cards/SOLD-ON-SQUARE/redemptions", json={"hold": "giftcard:nope"}), 404, "unknown-hold"
    )
    taken = ok(client.post("/v1/gift-cards/SOLD-ON-SQUARE/redemptions", json={"hold": held["source"]}), 201)
    assert (taken["kind"], taken["amount"], taken["order_id"]) == ("redeem", "30.00", sale["id"])
    assert ok(client.get("/v1/gift-cards/SOLD-ON-SQUARE"))["balance"] == "20.00"
    again = client.post("/v1/gift-cards/SOLD-ON-SQUARE/redemptions", json={"hold": held["source"]})
    assert_problem(again, 409, "hold-not-held")
    report = reconciliation(client)
    assert report["clean"], report


def card_code(app: Seamline) -> str:
    return str(app.read(lambda conn: conn.execute(select(gift_cards.c.code)).scalar_one()))


# ---------------------------------------------------------------------------------------------- the dashboard
def test_the_exceptions_page_shows_cards_masked_and_whether_the_liability_agrees(
    client: TestClient, app: Seamline
) -> None:
    card = issue(client, "30.00", code="PAPER-CARD-7731")
    log_in(client)
    page = client.get("/exceptions").text
    assert "liability agrees" in page
    assert 'data-stat="gift-card-liability-EUR">30.00 EUR' in page
    assert "7731" in page
    assert card["code"] not in page
    assert "PAPER-CARD" not in page
    app.write(
        lambda uow: uow.conn.execute(update(gift_cards).where(gift_cards.c.code == card["code"]).values(balance=3))
    )
    page = client.get("/exceptions").text
    assert "liability differs" in page
    assert "balance 3.00, its movements add up to 30.00" in page


def test_a_return_of_a_sale_paid_by_card_puts_the_money_back_on_the_card(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    receive(client, SKU, 2, to="STORE-1")
    card = issue(client, "50.00")
    body = sale_body(
        lines=[{"sku": SKU, "qty": 1, "unit_price": "89.00"}],
        tenders=[{"type": "gift_card", "amount": "30.00", "code": card["code"]}, {"type": "cash", "amount": "59.00"}],
    )
    sale = ok(client.post("/v1/sales", json=body), 201)
    assert ok(client.get(f"/v1/gift-cards/{card['code']}"))["balance"] == "20.00"
    back = {"order_id": sale["id"], "location": "STORE-1", "lines": [{"sku": SKU, "qty": 1, "condition": "sellable"}]}
    ret = ok(client.post("/v1/returns", json=back), 201)
    refunded = {t["tender"]: t["amount"] for t in ret["refund"]["tenders"]}
    assert refunded["gift_card"] == "30.00"
    assert [(m["kind"], m["amount"]) for m in ret["gift_cards"]] == [("refund_to_card", "30.00")]
    found = ok(client.get(f"/v1/gift-cards/{card['code']}"))
    assert found["balance"] == "50.00"
    assert [m["kind"] for m in found["movements"]] == ["issue", "redeem", "refund_to_card"]
    assert account_balance(app, LIABILITY) == Decimal("50.00")
    assert reconciliation(client)["gift_card_differences"] == []


def test_an_offline_tills_gift_card_tenders_come_off_the_cards_and_one_that_cannot_pay_is_held(
    client: TestClient, app: Seamline
) -> None:
    """The till took the card while offline: the batch stands whole; a card holding too little is a hold for
    a person (never a refused batch), and the replayed batch takes nothing twice."""
    seed_channels(client)
    receive(client, SKU, 3, to="STORE-1")
    card = issue(client, "100.00")

    def sale(external_id: str, at: str, card_amount: str) -> dict[str, Any]:
        rest = str(Decimal("89.00") - Decimal(card_amount))
        return {
            "external_id": external_id,
            "occurred_at": at,
            "lines": [{"sku": SKU, "qty": 1, "unit_price": "89.00"}],
            "tenders": [
                {"type": "gift_card", "amount": card_amount, "code": card["code"]},
                {"type": "cash", "amount": rest},
            ],
            "currency": "EUR",
        }

    body = {
        "till": "TILL-1",
        "batch_id": "B-GC",
        "sales": [sale("OFF-1", "2026-11-27T09:00:00Z", "60.00"), sale("OFF-2", "2026-11-27T10:00:00Z", "50.00")],
    }
    answer = ok(client.post("/v1/stores/STORE-1/offline-batches", json=body), 201)
    assert [s["status"] for s in answer["sales"]] == ["recorded", "recorded"]
    assert ok(client.get(f"/v1/gift-cards/{card['code']}"))["balance"] == "40.00"  # OFF-1 only: 50 > 40
    [held] = [d for d in reconciliation(client)["money_differences"] if d["check"] == "held"]
    assert held["problem"] == "gift-card-insufficient"
    assert client.post("/v1/stores/STORE-1/offline-batches", json=body).status_code == 200
    assert ok(client.get(f"/v1/gift-cards/{card['code']}"))["balance"] == "40.00"


# ---------------------------------------------------------------------------------------------- sold at the till
def test_a_till_sale_that_sells_a_gift_card_issues_it_and_books_the_liability_not_revenue(
    client: TestClient, app: Seamline
) -> None:
    """POST /v1/sales with goods and a gift card, paid whole by card: the card is issued in the sale's
    transaction, the receipt carries it at its price, and the day's close credits the gift card clearing (the
    card's issue moved it to the liability), never revenue. The same sale again issues nothing more."""
    configure(client)
    body = sale_body(
        lines=[{"sku": SKU, "qty": 1, "unit_price": "89.00"}],
        gift_cards=[{"amount": "50.00"}, {"amount": "25.00", "code": "PRINTED-0042"}],
        tenders=[{"type": "card", "amount": "164.00"}],
    )
    sale = ok(client.post("/v1/sales", json=body), 201)
    assert sale["total"] == "164.00"
    made, printed = sale["gift_cards"]
    assert (made["initial_amount"], len(made["code"]), printed["code"]) == ("50.00", 16, "PRINTED-0042")
    for card, amount in ((made, "50.00"), (printed, "25.00")):
        found = ok(client.get(f"/v1/gift-cards/{card['code']}"))
        assert (found["balance"], found["channel"], found["movements"][0]["order_id"]) == (
            amount,
            "pos:STORE-1",
            sale["id"],
        )
    again = client.post("/v1/sales", json=body)
    assert again.status_code == 200, again.text
    assert [c["code"] for c in again.json()["gift_cards"]] == [made["code"], "PRINTED-0042"]
    assert card_rows(app)[0] == 2
    [receipt] = [
        d
        for d in ok(client.get("/v1/finance/documents", params={"order_id": sale["id"]}))["items"]
        if d["kind"] == "sales_receipt"
    ]
    assert receipt["total"] == "164.00"
    assert [(li["sku"], li["gross"], li["tax"]) for li in receipt["lines"]][1:] == [
        ("gift_card", "50.00", "0.00"),
        ("gift_card", "25.00", "0.00"),
    ]
    assert account_balance(app, LIABILITY) == Decimal("75.00")
    ok(client.post(f"/v1/finance/settlements/STORE-1/{DAY}/close"))
    revenue = account_balance(app, FinanceConfig().account(Role.REVENUE))
    assert revenue < Decimal("89.00")  # the goods' net of tax: the cards are not in it
    assert account_balance(app, CLEARING) == Decimal("0.00")
    assert account_balance(app, LIABILITY) == Decimal("75.00")
    report = reconciliation(client)
    assert report["clean"], report


def test_a_sale_of_only_a_gift_card_is_a_sale_and_bad_cards_write_nothing(client: TestClient, app: Seamline) -> None:
    configure(client)
    before = card_rows(app)
    bad = sale_body(lines=[], gift_cards=[{"amount": "0"}], tenders=[{"type": "cash", "amount": "1.00"}])
    assert_problem(client.post("/v1/sales", json=bad), 422, "validation-error", "gift_cards[0].amount")
    unpaid = sale_body(lines=[], gift_cards=[{"amount": "30.00"}], tenders=[{"type": "cash", "amount": "20.00"}])
    assert_problem(client.post("/v1/sales", json=unpaid), 422, "tenders-mismatch", "tenders")
    nothing = sale_body(lines=[], tenders=[{"type": "cash", "amount": "20.00"}])
    assert_problem(client.post("/v1/sales", json=nothing), 422, "validation-error", "lines")
    taken = issue(client, "10.00", code="TAKEN-CODE")
    clash = sale_body(
        lines=[], gift_cards=[{"amount": "30.00", "code": taken["code"]}], tenders=[{"type": "cash", "amount": "30.00"}]
    )
    assert_problem(client.post("/v1/sales", json=clash), 409, "gift-card-code-taken")
    assert card_rows(app)[0] == before[0] + 1  # only the card issued through the API
    assert ok(client.get("/v1/orders", params={"channel": "pos:STORE-1"}))["items"] == []
    only = sale_body(lines=[], gift_cards=[{"amount": "30.00"}], tenders=[{"type": "cash", "amount": "30.00"}])
    sale = ok(client.post("/v1/sales", json=only), 201)
    assert (sale["total"], sale["lines"]) == ("30.00", [])
    assert ok(client.get(f"/v1/gift-cards/{sale['gift_cards'][0]['code']}"))["balance"] == "30.00"
    assert reconciliation(client)["clean"]


def test_a_gift_card_sold_at_a_shopify_pos_till_is_issued_with_the_sale_and_is_not_revenue(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    """A Shopify POS sale (``source_name: pos``) with a ``gift_card: true`` line, and one of a gift card only:
    each card is issued in the sale's transaction (coded by its line, as a web order's), on the receipt at
    its price, and the liability holds both; the webhook delivered twice issues nothing more."""
    world = ShopWorld(client, app, clock)
    world.publish()
    receive(client, SKU, 3, to="STORE-1")
    world.integration.dispatcher.drain()
    world.sandbox.drain_events()
    mixed = world.sandbox.place_order(
        [(SKU, 1)], location_id=world.store_location, source_name="pos", gift_cards=[Decimal("40.00")]
    )
    only = world.sandbox.place_order(
        [], location_id=world.store_location, source_name="pos", gift_cards=[Decimal("25.00")]
    )
    sent = world.send_shop_events()
    for delivery in sent:
        assert world.post(delivery) == 200  # delivered twice
    world.process()
    assert world.inbox(status="rejected") == []
    sales = {o["external_id"]: o for o in ok(client.get("/v1/orders", params={"channel": CHANNEL}))["items"]}
    assert {o["kind"] for o in sales.values()} == {"pos"}
    sale, card_sale = sales[str(mixed.id)], sales[str(only.id)]
    price = Decimal(sale["lines"][0]["unit_price"])
    assert Decimal(sale["total"]) == price + Decimal("40.00")
    assert (card_sale["total"], card_sale["lines"]) == ("25.00", [])
    for order, placed, amount in ((sale, mixed, "40.00"), (card_sale, only, "25.00")):
        [line] = [li for li in placed.line_items if li.gift_card]
        card = ok(client.get(f"/v1/gift-cards/{CHANNEL.upper()}-{line.id}"))
        assert (card["balance"], card["channel"], card["movements"][0]["order_id"]) == (amount, CHANNEL, order["id"])
        [receipt] = [
            d
            for d in ok(client.get("/v1/finance/documents", params={"order_id": order["id"]}))["items"]
            if d["kind"] == "sales_receipt"
        ]
        assert receipt["total"] == order["total"]
        assert [li["gross"] for li in receipt["lines"] if li["sku"] == "gift_card"] == [amount]
    assert len(ok(client.get("/v1/gift-cards"))["items"]) == 2
    assert account_balance(app, LIABILITY) == Decimal("65.00")
    assert reconciliation(client)["gift_card_differences"] == []


def test_a_shopify_pos_sale_paid_by_gift_card_takes_it_off_the_card(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    receive(client, SKU, 3, to="STORE-1")
    issue(client, "40.00", code="644042064163")
    payload = paid_with_card("644042064163", "30.00", "60.00", 9101)
    payload.update(source_name="pos", location_id=world.store_location)
    deliver(world, payload)
    [sale] = ok(client.get("/v1/orders", params={"channel": CHANNEL}))["items"]
    assert sale["kind"] == "pos"
    card = ok(client.get("/v1/gift-cards/644042064163"))
    assert card["balance"] == "10.00"
    assert card["movements"][-1]["order_id"] == sale["id"]
    deliver(world, payload)
    assert ok(client.get("/v1/gift-cards/644042064163"))["balance"] == "10.00"
    assert reconciliation(client)["gift_card_differences"] == []


def test_reconcile_fails_naming_the_clearing_when_a_settlement_leaves_card_money_in_it(
    client: TestClient, app: Seamline, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A day with a card spent in part and a card sold at the till, closed: the gift card clearing nets to
    zero and reconcile is clean. Its settlement's gift card takings moved to another account (the entry still
    balances) leaves card money in the clearing: reconcile names the clearing and exits 1."""
    configure(client)
    card = issue(client, "50.00")
    ok(
        client.post(
            "/v1/sales",
            json=sale_body(
                tenders=[
                    {"type": "gift_card", "amount": "30.00", "code": card["code"]},
                    {"type": "cash", "amount": "59.00"},
                ]
            ),
        ),
        201,
    )
    sold = sale_body(external_id="R-2", lines=[], gift_cards=[{"amount": "25.00"}])
    ok(client.post("/v1/sales", json={**sold, "tenders": [{"type": "cash", "amount": "25.00"}]}), 201)
    base = f"/v1/finance/settlements/STORE-1/{DAY}"
    ok(client.post(f"{base}/count", json={"counted": "84.00", "currency": "EUR"}))
    ok(client.post(f"{base}/close"))
    assert account_balance(app, CLEARING) == Decimal("0.00")
    report = reconciliation(client)
    assert report["clean"], report
    monkeypatch.setenv("SEAMLINE_DATABASE_URL", database_url)
    monkeypatch.delenv("SEAMLINE_ADMIN_TOKEN", raising=False)
    assert CliRunner().invoke(cli, ["reconcile"]).exit_code == 0

    def corrupt(uow: Any) -> None:
        conn = uow.conn
        [(entry_id, line_no)] = conn.execute(
            select(journal_lines.c.entry_id, journal_lines.c.line_no)
            .join(journal_entries, journal_entries.c.id == journal_lines.c.entry_id)
            .where(
                journal_entries.c.source_key.startswith("settlement:"),
                journal_lines.c.account == CLEARING,
                journal_lines.c.debit > 0,
            )
        ).all()
        conn.execute(
            update(journal_lines)
            .where(journal_lines.c.entry_id == entry_id, journal_lines.c.line_no == line_no)
            .values(account="1000")
        )

    app.write(corrupt)
    report = reconciliation(client)
    assert not report["clean"]
    [left] = report["gift_card_differences"]
    assert (left["problem"], left["journal"], left["cards"]) == ("clearing-journal", "-30.00", "0.00")
    result = CliRunner().invoke(cli, ["reconcile"])
    assert result.exit_code == 1
    assert "gift card clearing" in result.output
