"""Money that ties out to the cent (issue 17), through Shopify's webhooks, the order queue and finance: the
order the finance lead tried (an 18.00 discount, 10.00 shipping, Shopify's total 170.00) is invoiced
170.00 and paid, Shopify's 80.00 refund is an 80.00 credit note and refund, reconcile is clean, and a
corrupted document (or a channel total we cannot reproduce) makes reconcile fail naming it."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from seamline.cli.main import app as cli
from seamline.domain.clock import FixedClock
from seamline.service import Seamline
from seamline.store.tables import finance_documents, journal_entries, journal_lines
from tests.conftest import ADMIN_TOKEN, receive
from tests.integration.shopify_world import CHANNEL, SKU, ShopWorld
from tests.integration.test_dashboard_pages import log_in
from tests.shopify_payloads import shopify_order, shopify_refund, tax_line

OTHER = "OVS-001-OLV-L"
CONFIG = {
    "tax_codes": [
        {"code": "NONE", "rate": "0", "xero_tax_type": "NONE", "qbo_tax_code": "NON"},
        {"code": "VAT20", "rate": "0.20", "xero_tax_type": "OUTPUT2", "qbo_tax_code": "5"},
    ],
    "default_tax_code": "NONE",
}
ORDER_ID = "820982911946154508"  # the fixture's order id


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def reconcile(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SEAMLINE_DATABASE_URL", database_url)
    monkeypatch.delenv("SEAMLINE_ADMIN_TOKEN", raising=False)
    return CliRunner()


def reported_order(**changes: Any) -> dict[str, Any]:
    body = shopify_order(
        [(SKU, "90.00", 1, "1001", []), (OTHER, "44.00", 2, "1002", [])],
        discounts={"1001": "9.00", "1002": "9.00"},
        shipping="10.00",
        total="170.00",
        currency="EUR",
    )
    body.update(test=False, **changes)
    return body


def deliver(world: ShopWorld, topic: str, payload: dict[str, Any]) -> None:
    assert world.post(world.sender.build(topic, payload)) == 200
    world.process()


def place_and_ship(client: TestClient, world: ShopWorld, payload: dict[str, Any]) -> dict[str, Any]:
    ok(client.put("/v1/finance/config", json=CONFIG), 201)
    receive(client, SKU, 3)
    receive(client, OTHER, 3)
    deliver(world, "orders/create", payload)
    [order] = ok(client.get("/v1/orders", params={"channel": CHANNEL}))["items"]
    for step in ("pick", "pack", "ship"):
        ok(client.post(f"/v1/orders/{order['id']}/{step}", json={}))
    return ok(client.get(f"/v1/orders/{order['id']}"))


def documents(client: TestClient, order_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(client.get("/v1/finance/documents", params={"order_id": order_id}))["items"]
    return items


def test_the_reported_shopify_order_is_invoiced_paid_and_credited_at_shopifys_numbers(
    client: TestClient, app: Seamline, clock: FixedClock, reconcile: CliRunner
) -> None:
    world = ShopWorld(client, app, clock)
    order = place_and_ship(client, world, reported_order())
    assert order["total"] == "170.00"
    commerce = order["commerce"]
    assert commerce["channel_total"] == "170.00"
    assert [(li["sku"], li["order_line_no"], li["discounts"][0]["source"]) for li in commerce["lines"]] == [
        (SKU, 1, "SPRING18"),
        (OTHER, 2, "SPRING18"),
    ]
    assert commerce["shipping"][0]["price"] == "10.00"
    assert commerce["ship_to"]["city"] == "Shippington"
    assert order["tenders"] == [{"type": "shopify_payments", "amount": "170.00"}]

    docs = documents(client, order["id"])
    assert [(d["kind"], d["total"]) for d in docs] == [("invoice", "170.00"), ("payment", "170.00")]
    invoice = docs[0]
    assert invoice["extra"]["channel_total"] == "170.00"
    assert [li["sku"] for li in invoice["lines"]] == [SKU, OTHER, "shipping"]

    refund = shopify_refund(
        [("1001", 1, "81.00", "0.00")],
        refunded="80.00",
        adjustments=(("refund_discrepancy", "1.00", "0.00"),),
        currency="EUR",
    )
    refund["refund_line_items"][0]["line_item"]["sku"] = SKU
    deliver(world, "refunds/create", refund)
    docs = documents(client, order["id"])
    assert [(d["kind"], d["total"]) for d in docs][2:] == [("credit_note", "80.00"), ("refund", "80.00")]
    assert docs[2]["extra"]["channel_total"] == "80.00"
    assert docs[3]["tenders"] == [{"tender": "shopify_payments", "amount": "80.00"}]

    report = ok(client.get("/v1/finance/reconciliation"))
    assert report["clean"], report
    assert report["money_checked"]["channel_orders"] == 1
    page = log_in(client, next_url=f"/orders/{order['id']}").get(f"/orders/{order['id']}").text
    money = page.split('data-testid="order-money"', 1)[1].split("</section>", 1)[0]
    assert "SPRING18" in money
    assert 'data-testid="channel-total">170.00 EUR' in money
    assert 'data-testid="computed-total">170.00 EUR' in money
    assert "Shippington" in money
    client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
    assert report["money_checked"]["channel_refunds"] == 1
    assert reconcile.invoke(cli, ["reconcile"]).exit_code == 0

    # Corrupt the invoice's total (its column, not its body): reconcile names it and exits 1.
    with app.engine.begin() as conn:
        conn.execute(update(finance_documents).where(finance_documents.c.id == invoice["id"]).values(total="178.00"))
    report = ok(client.get("/v1/finance/reconciliation"))
    assert not report["clean"]
    found = {(d["check"], d["problem"], d["theirs"], d["ours"]) for d in report["money_differences"]}
    assert ("channel", "invoice amount", "170.00", "178.00") in found
    assert any(invoice["number"] in d["documents"] for d in report["money_differences"] if d["check"] == "document")
    result = reconcile.invoke(cli, ["reconcile"])
    assert result.exit_code == 1, result.output
    assert invoice["number"] in result.output


def test_a_shopify_order_with_a_tax_rate_we_do_not_know_is_held_and_posted_once_configured(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    payload = shopify_order(
        [(SKU, "90.00", 1, "1001", [tax_line("IVA", 0.21, "18.90", "EUR")])],
        discounts={},
        shipping="0.00",
        total="108.90",
        currency="EUR",
    )
    payload["test"] = False
    order = place_and_ship(client, world, payload)
    assert documents(client, order["id"]) == []  # nothing posted: never a wrong amount
    report = ok(client.get("/v1/finance/reconciliation"))
    assert not report["clean"]
    [held] = [d for d in report["money_differences"] if d["check"] == "held"]
    assert held["problem"] == "unknown-tax"
    assert "0.21" in held["detail"]
    page = log_in(client, next_url="/exceptions").get("/exceptions").text
    card = page.split('data-testid="finance-holds"', 1)[1].split("</section>", 1)[0]
    assert "unknown-tax" in card
    assert "no tax code in the finance configuration has that rate" in card
    client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"

    config = json.loads(json.dumps(CONFIG))
    config["tax_codes"].append({"code": "IVA21", "rate": "0.21"})
    ok(client.put("/v1/finance/config", json=config))
    ok(client.post("/v1/finance/post-pending", json={}))
    docs = documents(client, order["id"])
    assert [(d["kind"], d["total"]) for d in docs] == [("invoice", "108.90"), ("payment", "108.90")]
    assert docs[0]["lines"][0]["tax_code"] == "IVA21"
    assert Decimal(docs[0]["lines"][0]["tax"]) == Decimal("18.90")
    report = ok(client.get("/v1/finance/reconciliation"))
    assert report["clean"], report


def test_an_order_sent_to_the_api_with_its_channels_numbers_is_invoiced_in_parts_to_its_total(
    client: TestClient, app: Seamline
) -> None:
    from tests.integration.order_world import seed_channels

    seed_channels(client)
    ok(client.put("/v1/finance/config", json=CONFIG), 201)
    receive(client, SKU, 5)
    body = {
        "channel": "web",
        "external_id": "API-1",
        "currency": "EUR",
        "lines": [{"sku": SKU, "qty": 3, "unit_price": "50.00"}],
        "commerce": {
            "channel_total": "172.00",
            "lines": [
                {
                    "discounts": [{"amount": "10.00", "source": "VIP"}],
                    "tax_lines": [{"title": "VAT", "rate": "0.20", "amount": "28.00"}],
                }
            ],
            "shipping": [{"title": "DHL", "price": "3.33", "tax_lines": [{"rate": "0.20", "amount": "0.67"}]}],
            "ship_to": {"name": "Ada", "city": "Leeds", "country": "GB"},
            "payments": [{"tender": "card", "amount": "100.00", "gateway": "stripe"}],
        },
    }
    mismatched = json.loads(json.dumps(body))
    mismatched["commerce"]["lines"].append({})
    bad = client.post("/v1/orders", json=mismatched)
    assert bad.status_code == 422, bad.text
    assert ok(client.get("/v1/orders", params={"channel": "web"}))["items"] == []

    order = ok(client.post("/v1/orders", json=body), 201)
    assert order["total"] == "172.00"
    assert order["tenders"] == [{"type": "card", "amount": "100.00"}]  # part paid, the rest outstanding
    ok(client.post(f"/v1/orders/{order['id']}/pick", json={"lines": [{"sku": SKU, "qty": 1}]}))
    ok(client.post(f"/v1/orders/{order['id']}/pack", json={}))
    ok(client.post(f"/v1/orders/{order['id']}/ship", json={}))
    ok(client.post(f"/v1/orders/{order['id']}/pick", json={}))
    ok(client.post(f"/v1/orders/{order['id']}/pack", json={}))
    ok(client.post(f"/v1/orders/{order['id']}/ship", json={}))
    docs = documents(client, order["id"])
    invoices = [Decimal(d["total"]) for d in docs if d["kind"] == "invoice"]
    # 1 of 3 units first (with the shipping): 50 - 3.33 + 9.33 tax + 4.00 shipping; then the other 2.
    assert invoices == [Decimal("60.00"), Decimal("112.00")]
    assert sum(invoices) == Decimal("172.00")
    assert [d["total"] for d in docs if d["kind"] == "payment"] == ["60.00", "40.00"]
    report = ok(client.get("/v1/finance/reconciliation"))
    assert report["clean"], report

    # The second shipment's posting lost (as if it had failed in its transaction): reconcile says the
    # invoices fall short of the channel's total, and the sweep posts it again.
    second = [d["id"] for d in docs if d["kind"] in ("invoice", "payment")][2:]
    with app.engine.begin() as conn:
        entries = select(journal_entries.c.id).where(journal_entries.c.document_id.in_(second))
        conn.execute(delete(journal_lines).where(journal_lines.c.entry_id.in_(entries)))
        conn.execute(delete(journal_entries).where(journal_entries.c.document_id.in_(second)))
        conn.execute(delete(finance_documents).where(finance_documents.c.id.in_(second)))
    report = ok(client.get("/v1/finance/reconciliation"))
    assert ("channel", "invoice amount", "172.00", "60.00") in {
        (d["check"], d["problem"], d["theirs"], d["ours"]) for d in report["money_differences"]
    }
    ok(client.post("/v1/finance/post-pending", json={}))
    invoices = [d["total"] for d in documents(client, order["id"]) if d["kind"] == "invoice"]
    assert invoices == ["60.00", "112.00"]
    assert ok(client.get("/v1/finance/reconciliation"))["clean"]


def test_a_shipping_only_refund_is_a_credit_note_of_what_shopify_refunded(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    order = place_and_ship(client, world, reported_order())
    refund = shopify_refund([], refunded="10.00", shipping=("10.00", "0.00"), currency="EUR")
    deliver(world, "refunds/create", refund)
    deliver(world, "refunds/create", refund)  # a repeated delivery refunds once
    docs = documents(client, order["id"])
    assert [(d["kind"], d["total"]) for d in docs][2:] == [("credit_note", "10.00"), ("refund", "10.00")]
    assert [li["sku"] for li in docs[2]["lines"]] == ["shipping"]
    assert ok(client.get(f"/v1/orders/{order['id']}"))["status"] == "shipped"  # no goods came back
    report = ok(client.get("/v1/finance/reconciliation"))
    assert report["clean"], report


def test_a_sandbox_shop_order_fulfilled_and_refunded_ties_out_without_refund_transactions(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    """The Shopify sandbox's refund sends no transactions: what the refund lines come to goes back to the
    order's own tender, and the credit note, the refund and Shopify's line amounts agree."""
    from tests.integration.test_shopify_webhooks import fulfilled_outside

    world = ShopWorld(client, app, clock)
    world.publish()
    ok(client.put("/v1/finance/config", json=CONFIG), 201)
    receive(client, SKU, 3)
    placed = world.sandbox.place_order([(SKU, 2)])
    world.send_shop_events()
    world.process()
    fulfilled_outside(world, placed.id)
    world.send_shop_events()
    world.process()
    world.sandbox.refund(placed.id, [(SKU, 1, "return")], location_id=world.online)
    world.send_shop_events()
    world.process()
    [order] = ok(client.get("/v1/orders", params={"channel": CHANNEL}))["items"]
    docs = documents(client, order["id"])
    kinds = [(d["kind"], d["total"]) for d in docs]
    assert kinds == [("invoice", "178.00"), ("payment", "178.00"), ("credit_note", "89.00"), ("refund", "89.00")]
    assert docs[3]["tenders"][0]["tender"] == docs[1]["tenders"][0]["tender"]  # back to what paid
    report = ok(client.get("/v1/finance/reconciliation"))
    assert report["clean"], report
