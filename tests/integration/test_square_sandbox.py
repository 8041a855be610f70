"""The Square connector against the Square sandbox: the catalog and price push (versions, idempotency), and a
till sale whose signed webhooks, delivered twice and out of order, become one sale in the ledger and one
sales receipt in finance; the till's counts are compared with the ledger."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from seamline.channels.square import CatalogIds, SquareClient, SquareConfig, SquareLookups, inbound
from seamline.channels.square.client import SquareRejected
from seamline.channels.square.connector import CountDrift, SquareConnector
from seamline.integration import installed
from seamline.sandbox.square import SquareSandbox
from seamline.service import Seamline
from seamline.service.finance import FinanceDesk
from seamline.store import tills_repo
from tests.conftest import OVERSHIRT
from tests.integration.finance_world import configure, ok
from tests.integration.order_world import SKU

SQUARE_STORE = "EF6D9SACKWBKZ"


def connector(
    app: Seamline, sandbox: SquareSandbox, lookups: SquareLookups, drift: list[CountDrift]
) -> SquareConnector:
    client = SquareClient(
        SquareConfig("http://square.test", sandbox.config.access_token), transport=sandbox.transport()
    )
    return SquareConnector(app, client, lambda: lookups, channel="soho", on_drift=drift.append)


def test_a_style_is_pushed_once_then_repriced_by_version(app: Seamline, client: TestClient) -> None:
    configure(client)
    style = app.get_style("OVS-001")
    sandbox = SquareSandbox()
    square = connector(app, sandbox, SquareLookups(), [])
    ids = square.publish_style(style, currency="EUR", idempotency_key="OVS-001-v1")
    again = square.publish_style(style, currency="EUR", idempotency_key="OVS-001-v1")
    assert again == ids, "a repeated push replays Square's first answer"
    assert sandbox.calls[-1].outcome == "replayed"
    assert len(ids.variations) == len(style.variants)
    variation = sandbox.catalog[ids.variations[SKU][0]]
    assert variation["item_variation_data"]["price_money"] == {"amount": 8900, "currency": "EUR"}
    prices = [{"list": "retail", "currency": "EUR", "amount": "79.00"}]
    response = client.put("/v1/styles/OVS-001", json={**OVERSHIRT, "prices": prices})
    assert response.status_code == 200, response.text
    repriced = square.publish_style(app.get_style("OVS-001"), currency="EUR", idempotency_key="OVS-001-v2", known=ids)
    assert repriced.item is not None
    assert ids.item is not None
    assert repriced.item[0] == ids.item[0]
    assert sandbox.catalog[ids.variations[SKU][0]]["item_variation_data"]["price_money"]["amount"] == 7900
    with pytest.raises(SquareRejected) as stale:
        square.publish_style(style, currency="EUR", idempotency_key="OVS-001-v3", known=ids)
    assert "VERSION_MISMATCH" in stale.value.codes


def test_a_till_sale_at_square_becomes_one_sale_and_one_sales_receipt(app: Seamline, client: TestClient) -> None:
    configure(client)  # ten of SKU at STORE-1
    sandbox = SquareSandbox()
    drift: list[CountDrift] = []
    lookups = SquareLookups(location_for={SQUARE_STORE: "STORE-1"})
    square = connector(app, sandbox, lookups, drift)
    ids: CatalogIds = square.publish_style(app.get_style("OVS-001"), currency="EUR", idempotency_key="v1")
    lookups = SquareLookups({vid: sku for sku, (vid, _) in ids.variations.items()}, {SQUARE_STORE: "STORE-1"})
    square.lookups = lambda: lookups
    integration = installed(app)
    assert integration is not None
    square.register(integration.handlers)
    sandbox.set_count(ids.variations[SKU][0], SQUARE_STORE, 15)
    order = sandbox.ring_up(SQUARE_STORE, [(SKU, 2)], [("CARD", 10000), ("CASH", 7800)])
    notes = list(reversed(sandbox.notifications))  # out of order...
    for note in notes + notes:  # ...and every one delivered twice
        event = inbound.verify(note.body, note.headers, [sandbox.config.signature_key], sandbox.config.notification_url)
        integration.inbox.receive(inbound.inbound_message(event, note.body, note.headers, channel="soho"))
    integration.inbox.drain()
    sales = ok(client.get("/v1/orders", params={"channel": "pos:STORE-1"}))["items"]
    assert [(s["external_id"], s["total"]) for s in sales] == [(order["id"], "178.00")]
    assert sales[0]["tenders"] == [{"type": "card", "amount": "100.00"}, {"type": "cash", "amount": "78.00"}]
    receipts = ok(client.get("/v1/finance/documents", params={"kind": "sales_receipt"}))["items"]
    assert [(r["order_ref"], Decimal(r["total"])) for r in receipts] == [(order["id"], Decimal("178.00"))]
    # The count arrived first (the deliveries were reversed): the till said 13, the ledger had 10 then.
    assert drift == [CountDrift(SKU, "STORE-1", 13, 10)]
    statuses = sorted(m["status"] for m in integration.inbox.list(source="square:soho"))
    assert statuses == ["processed", "processed"]


def test_a_till_order_with_a_gift_card_wrap_charge_and_rounding_is_taken_whole(
    app: Seamline, client: TestClient
) -> None:
    configure(client)  # ten of SKU at STORE-1
    sandbox = SquareSandbox()
    square = connector(app, sandbox, SquareLookups(), [])
    ids = square.publish_style(app.get_style("OVS-001"), currency="EUR", idempotency_key="v1")
    lookups = SquareLookups({vid: sku for sku, (vid, _) in ids.variations.items()}, {SQUARE_STORE: "STORE-1"})
    square.lookups = lambda: lookups
    integration = installed(app)
    assert integration is not None
    square.register(integration.handlers)
    # 89.00 of goods + a 50.00 gift card + 3.00 gift wrap - 0.02 rounding = 141.98, paid in cash and card.
    order = sandbox.ring_up(
        SQUARE_STORE,
        [(SKU, 1)],
        [("CASH", 4000), ("CARD", 10198)],
        gift_cards=[5000],
        service_charges=[("Gift wrap", 300)],
        rounding=-2,
        inclusive_tax="20",
    )
    gift_only = sandbox.ring_up(SQUARE_STORE, [], [("CARD", 2500)], gift_cards=[2500])
    for note in sandbox.notifications + sandbox.notifications:  # every one delivered twice
        event = inbound.verify(note.body, note.headers, [sandbox.config.signature_key], sandbox.config.notification_url)
        integration.inbox.receive(inbound.inbound_message(event, note.body, note.headers, channel="soho"))
    integration.inbox.drain()
    statuses = {m["status"] for m in integration.inbox.list(source="square:soho")}
    assert statuses == {"processed"}, "no part of either order refused it whole"
    sales = {s["external_id"]: s for s in ok(client.get("/v1/orders", params={"channel": "pos:STORE-1"}))["items"]}
    sale, card_sale = sales[order["id"]], sales[gift_only["id"]]
    assert sale["total"] == "89.00", "the goods' total"
    # A gift card sold alone is a sale of the card (issue 17): on a receipt of its own, paid by the card tender.
    assert (card_sale["total"], card_sale["lines"]) == ("25.00", [])
    [card_receipt] = [
        d
        for d in ok(client.get("/v1/finance/documents", params={"order_id": card_sale["id"]}))["items"]
        if d["kind"] == "sales_receipt"
    ]
    assert [(li["sku"], li["gross"]) for li in card_receipt["lines"]] == [("gift_card", "25.00")]
    # The sale is paid by all the till took; Square's numbers carry every part of the order as a line.
    assert sale["tenders"] == [{"type": "cash", "amount": "40.00"}, {"type": "card", "amount": "101.98"}]
    commerce = ok(client.get(f"/v1/orders/{sale['id']}"))["commerce"]
    assert (commerce["channel_total"], commerce["computed_total"]) == ("141.98", "141.98")
    assert [(li["kind"], li["unit_price"], li["order_line_no"]) for li in commerce["lines"]] == [
        ("goods", "89.00", 1),
        ("gift_card", "50.00", None),
        ("service_charge", "3.00", None),
        ("rounding", "-0.02", None),
    ]
    # A gift card sold is a liability, not revenue (issue 17): the receipt carries it as a gift_card line (booked to
    # the gift card clearing) and the card is issued, keyed by Square's line uid.
    assert [h for h in FinanceDesk(app).holds() if h["order_id"] == sale["id"]] == []
    docs = ok(client.get("/v1/finance/documents", params={"order_id": sale["id"]}))["items"]
    [receipt] = [d for d in docs if d["kind"] != "journal"]
    # The card's issue is a journal document of its own (exported like the other journals).
    [issued] = [d for d in docs if d["kind"] == "journal" and "gift card" in str(d.get("memo"))]
    assert (issued["total"], issued["memo"].endswith(" issue")) == ("50.00", True)
    assert receipt["total"] == "141.98"
    assert [(li["sku"], li["gross"], li["tax"]) for li in receipt["lines"] if li["sku"] == "gift_card"] == [
        ("gift_card", "50.00", "0.00")
    ]
    cards = ok(client.get("/v1/gift-cards"))["items"]
    assert sorted(c["balance"] for c in cards) == ["25.00", "50.00"]
    extras = app.read(lambda conn: tills_repo.sale_extras(conn, location="STORE-1"))
    by_order = sorted((e["external_id"] == order["id"], e["kind"], Decimal(e["amount"])) for e in extras)
    assert by_order == [
        (False, "gift_card", Decimal("25.00")),
        (True, "gift_card", Decimal("50.00")),
        (True, "rounding", Decimal("-0.02")),
        (True, "service_charge", Decimal("3.00")),
    ]
    assert {e["order_id"] for e in extras if e["external_id"] == order["id"]} == {sale["id"]}
    assert {e["order_id"] for e in extras if e["external_id"] == gift_only["id"]} == {card_sale["id"]}
    taken = Decimal(sale["total"]) + sum((Decimal(e["amount"]) for e in extras if e["order_id"] == sale["id"]), 0)
    assert taken == Decimal("141.98"), "every cent the till took is accounted for"
    shown = ok(client.get("/v1/stores/STORE-1/sale-extras"))["items"]
    assert sorted((e["kind"], e["amount"], e["order_id"]) for e in shown) == [
        ("gift_card", "25.00", card_sale["id"]),
        ("gift_card", "50.00", sale["id"]),
        ("rounding", "-0.02", sale["id"]),
        ("service_charge", "3.00", sale["id"]),
    ]


def test_more_than_100_counts_go_to_square_in_batches_it_accepts(app: Seamline) -> None:
    sandbox = SquareSandbox()
    client = SquareClient(
        SquareConfig("http://square.test", sandbox.config.access_token), transport=sandbox.transport()
    )
    for n in range(250):
        sandbox.catalog[f"VAR-{n}"] = {"id": f"VAR-{n}", "type": "ITEM_VARIATION", "version": 1}
    counts = [(f"VAR-{n}", SQUARE_STORE, n) for n in range(250)]
    with pytest.raises(SquareRejected) as refused:
        client._call(
            "POST",
            "/v2/inventory/changes/batch-create",
            {
                "idempotency_key": "all-at-once",
                "changes": [
                    {
                        "type": "PHYSICAL_COUNT",
                        "physical_count": {"catalog_object_id": v, "location_id": loc, "quantity": str(q)},
                    }
                    for v, loc, q in counts[:101]
                ],
            },
        )
    assert refused.value.codes == {"ARRAY_LENGTH_TOO_LONG"}
    assert sandbox.counts == {}, "a refused batch changes nothing"
    answers = client.set_counts(counts, idempotency_key="drift:1-250", occurred_at="2026-11-27T10:00:00Z")
    assert [len(a["counts"]) for a in answers] == [100, 100, 50]
    assert sandbox.counts == {(v, loc): q for v, loc, q in counts}
    again = client.set_counts(counts, idempotency_key="drift:1-250", occurred_at="2026-11-27T10:00:00Z")
    assert again == answers
    assert [c.outcome for c in sandbox.calls[-3:]] == ["replayed"] * 3


def test_a_square_sale_with_a_custom_amount_service_charge_and_rounding_has_a_receipt_equal_to_its_total(
    app: Seamline, client: TestClient
) -> None:
    """Square's ``total_money`` (goods 89.00 + hemming 12.00 + gift wrap 3.00 - 0.02 cash rounding = 103.98, VAT
    20 % within every taxable part as Square computed it) is the sales receipt's total, to the cent."""
    configure(client)
    sandbox = SquareSandbox()
    square = connector(app, sandbox, SquareLookups(), [])
    ids = square.publish_style(app.get_style("OVS-001"), currency="EUR", idempotency_key="v1")
    lookups = SquareLookups({vid: sku for sku, (vid, _) in ids.variations.items()}, {SQUARE_STORE: "STORE-1"})
    square.lookups = lambda: lookups
    integration = installed(app)
    assert integration is not None
    square.register(integration.handlers)
    order = sandbox.ring_up(
        SQUARE_STORE,
        [(SKU, 1)],
        [("CASH", 10398)],
        custom_amounts=[("Hemming", 1200)],
        service_charges=[("Gift wrap", 300)],
        rounding=-2,
        inclusive_tax="20",
    )
    assert order["total_money"] == {"amount": 10398, "currency": "EUR"}
    for note in sandbox.notifications:
        event = inbound.verify(note.body, note.headers, [sandbox.config.signature_key], sandbox.config.notification_url)
        integration.inbox.receive(inbound.inbound_message(event, note.body, note.headers, channel="soho"))
    integration.inbox.drain()
    assert {m["status"] for m in integration.inbox.list(source="square:soho")} == {"processed"}
    [sale] = ok(client.get("/v1/orders", params={"channel": "pos:STORE-1"}))["items"]
    [receipt] = ok(client.get("/v1/finance/documents", params={"order_id": sale["id"]}))["items"]
    assert (receipt["kind"], receipt["total"]) == ("sales_receipt", "103.98")
    lines = [(li["sku"], li["gross"], li["tax"]) for li in receipt["lines"]]
    assert lines == [
        (SKU, "89.00", "14.83"),
        ("custom", "12.00", "2.00"),
        ("service_charge", "3.00", "0.50"),
        ("rounding", "-0.02", "0.00"),
    ], "Square's taxes, not ours recomputed; the rounding untaxed"
    stock = ok(client.get("/v1/stock", params={"sku": SKU, "location": "STORE-1"}))["items"][0]
    assert stock["on_hand"] == 9, "only the goods took stock"

    # Without Square's tax lines the goods are taxed by our chart: the receipt is the goods alone, paid by the
    # tenders' share for them, and the custom amount stays beside it (our chart cannot tax what it does not know).
    untaxed = sandbox.ring_up(SQUARE_STORE, [(SKU, 1)], [("CARD", 10100)], custom_amounts=[("Hemming", 1200)])
    for note in sandbox.notifications[-2:]:
        event = inbound.verify(note.body, note.headers, [sandbox.config.signature_key], sandbox.config.notification_url)
        integration.inbox.receive(inbound.inbound_message(event, note.body, note.headers, channel="soho"))
    integration.inbox.drain()
    [second] = [
        o
        for o in ok(client.get("/v1/orders", params={"channel": "pos:STORE-1"}))["items"]
        if o["external_id"] == untaxed["id"]
    ]
    assert second["tenders"] == [{"type": "card", "amount": "89.00"}]
    [receipt] = ok(client.get("/v1/finance/documents", params={"order_id": second["id"]}))["items"]
    assert receipt["total"] == "89.00"
