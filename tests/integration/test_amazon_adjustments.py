"""An Amazon order's whole life with its money, against the Amazon sandbox, on SQLite and PostgreSQL (issues 17
and 21): pulled with the Orders API 2026-01-01 and its ``PROCEEDS`` (a promotion, shipping, 19 % tax added as
Amazon adds it), shipped in two parcels (each confirmed), one line returned here → refunded there by a
``POST_PAYMENT_ADJUSTMENT_DATA`` feed at Amazon's own figures; at the end Amazon shows what the ledger shows,
and the invoice equals Amazon's grand total to the cent. An order cancelled here is cancelled there
(``POST_ORDER_ACKNOWLEDGEMENT_DATA``), one Amazon cancelled is not sent back, and a refund Amazon refuses
in the processing report is recorded against the return, not lost."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from seamline.domain.clock import FixedClock
from seamline.integration import Integration, install
from seamline.service import Seamline
from seamline.store import channel_orders_repo
from tests.conftest import receive
from tests.integration.marketplace_world import SETTINGS, AmazonWorld

M, L = "OVS-001-NVY-M", "OVS-001-NVY-L"
CONFIG = {
    "tax_codes": [
        {"code": "NONE", "rate": "0", "xero_tax_type": "NONE", "qbo_tax_code": "NON"},
        {"code": "VAT19", "rate": "0.19", "xero_tax_type": "OUTPUT2", "qbo_tax_code": "5"},
    ],
    "default_tax_code": "NONE",
}


@pytest.fixture
def app_settings(tmp_path: Path) -> dict[str, Any]:
    return {"drop_root": str(tmp_path), "outbound_allow": ("sellingpartnerapi-eu.amazon.sandbox.test",)}


@pytest.fixture
def integration(app: Seamline) -> Iterator[Integration]:
    found = install(app, SETTINGS)
    yield found
    found.uninstall()


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def step(client: TestClient, order_id: str, name: str, body: dict[str, Any] | None = None) -> None:
    ok(client.post(f"/v1/orders/{order_id}/{name}", json=body))


def confirmation(app: Seamline, kind: str, ref: str) -> dict[str, Any] | None:
    return app.read(lambda conn: channel_orders_repo.get(conn, "amazon", kind, ref))


def pull(world: AmazonWorld, integration: Integration, client: TestClient) -> dict[str, Any]:
    assert world.connector.pull_orders(integration).stored >= 1
    integration.inbox.drain()
    items: list[dict[str, Any]] = ok(client.get("/v1/orders", params={"channel": "amazon"}))["items"]
    return items[-1]


def test_an_amazon_order_is_invoiced_at_its_grand_total_shipped_in_two_parts_and_a_returned_line_refunded_there(
    app: Seamline, client: TestClient, clock: FixedClock, integration: Integration
) -> None:
    world = AmazonWorld(app, client, clock, integration)
    world.amazon.config = replace(world.amazon.config, carrier_codes={"DHL": "DHL"})
    ok(client.put("/v1/finance/config", json=CONFIG), 201)
    receive(client, M, 4)
    receive(client, L, 2)
    world.dispatch()
    order = world.sandbox.place_order(
        [(M, 2, Decimal("89.00")), (L, 1, Decimal("79.00"))],
        tax_rate=Decimal("0.19"),
        shipping=Decimal("4.99"),
        promotions={M: Decimal("10.00")},
    )
    grand = sum((i.proceeds for i in order.items), Decimal(0))
    # 178 - 10 + 79 = 247.00 of goods, 4.99 shipping, tax 31.92 + 15.01 + 0.95 = 47.88: Amazon's 299.87.
    assert grand == Decimal("299.87")
    ours = pull(world, integration, client)
    detail = ok(client.get(f"/v1/orders/{ours['id']}"))
    assert detail["commerce"]["channel_total"] == "299.87"
    assert detail["commerce"]["taxes_included"] is False

    step(client, ours["id"], "pick", {"lines": [{"sku": M, "qty": 1}]})
    step(client, ours["id"], "pack")
    step(client, ours["id"], "ship", {"tracking": "00340434161234567890", "carrier": "DHL"})
    world.dispatch()
    step(client, ours["id"], "pick")
    step(client, ours["id"], "pack")
    step(client, ours["id"], "ship", {"tracking": "H1234567890123", "carrier": "Hermes"})
    world.dispatch()
    assert order.status == "Shipped"
    assert [p["packageReferenceId"] for p in order.packages] == ["1", "2"]

    # The invoices of the two parcels add up to Amazon's grand total to the cent; nothing is held.
    docs = ok(client.get("/v1/finance/documents", params={"order_id": ours["id"]}))["items"]
    invoices = [d for d in docs if d["kind"] == "invoice"]
    assert len(invoices) == 2
    assert sum(Decimal(d["total"]) for d in invoices) == grand
    assert [d["extra"]["channel"] for d in invoices][-1] == {"complete": True, "channel_order_total": "299.87"}
    assert sum(Decimal(p["amount"]) for d in invoices for p in d["extra"]["paid"]) == grand  # Amazon took it all

    # One unit of M comes back: Amazon refunds that unit's share of the discounted price and of its tax.
    back = {"order_id": ours["id"], "location": "WH", "lines": [{"sku": M, "qty": 1, "condition": "sellable"}]}
    returned = ok(client.post("/v1/returns", json=back), 201)
    world.dispatch()
    m_item, l_item = (i.order_item_id for i in order.items)
    feeds = [c for c in world.sandbox.calls if c.operation == "createFeed"]
    assert [c.body["feedType"] for c in feeds] == ["POST_PAYMENT_ADJUSTMENT_DATA"]
    record = confirmation(app, "refund", returned["id"])
    assert record is not None
    assert record["sent_at"] is None  # the feed is not processed yet: not told until Amazon says so
    assert world.connector.settle_order_feeds() == {"told": 1, "refused": 0, "open": 0}
    assert order.refunded(m_item, "Principal") == Decimal("84.00")  # (178 - 10) / 2
    assert order.refunded(m_item, "Tax") == Decimal("15.96")  # 31.92 / 2
    assert order.refunded(l_item) == 0
    told = confirmation(app, "refund", returned["id"])
    assert told is not None
    assert told["sent_at"] is not None
    assert told["error"] is None

    # The credit note and the refund equal what Amazon refunded: the invoiced amounts of that unit.
    docs = ok(client.get("/v1/finance/documents", params={"order_id": ours["id"]}))["items"]
    assert [(d["kind"], d["total"]) for d in docs if d["return_id"] == returned["id"]] == [
        ("credit_note", "99.96"),
        ("refund", "99.96"),
    ]
    assert returned["refund"]["total"] == "99.96"

    # Amazon shows what the ledger shows: units shipped, and units refunded per item.
    lines = {x["sku"]: x for x in ok(client.get(f"/v1/orders/{ours['id']}"))["lines"]}
    assert {i.seller_sku: i.quantity_shipped for i in order.items} == {s: x["shipped"] for s, x in lines.items()}
    refunded_units = {
        i.seller_sku: sum(a["quantity"] for a in order.adjustments if a["orderItemId"] == i.order_item_id)
        for i in order.items
    }
    assert refunded_units == {s: x["returned"] for s, x in lines.items()} == {M: 1, L: 0}

    # Someone refunded 50.00 of M in Seller Central, outside Seamline; the second unit's return would give
    # back more than the buyer paid for M: Amazon refuses that message and the refusal is on record.
    world.sandbox.refund_in_seller_central(order.amazon_order_id, m_item, {"Principal": Decimal("50.00")})
    again = ok(client.post("/v1/returns", json=back), 201)
    world.dispatch()
    assert world.connector.settle_order_feeds() == {"told": 0, "refused": 1, "open": 0}
    refused = confirmation(app, "refund", again["id"])
    assert refused is not None
    assert refused["sent_at"] is None
    assert refused["error"].startswith("18107: ")
    shown = ok(client.get("/v1/channels/amazon/confirmations", params={"refused": "true"}))["items"]
    assert [(c["kind"], c["ref"], c["error"][:6]) for c in shown] == [("refund", again["id"], "18107:")]
    assert order.refunded(m_item, "Principal") == Decimal("134.00")  # 84 + 50: the refused one changed nothing
    assert world.connector.settle_order_feeds() == {"told": 0, "refused": 0, "open": 0}  # settled once


def test_an_order_cancelled_here_is_cancelled_at_amazon_and_one_amazon_cancelled_is_not_sent_back(
    app: Seamline, client: TestClient, clock: FixedClock, integration: Integration
) -> None:
    world = AmazonWorld(app, client, clock, integration)
    receive(client, M, 3)
    world.dispatch()
    mine = world.sandbox.place_order([(M, 1, Decimal("89.00"))])
    theirs = world.sandbox.place_order([(M, 1, Decimal("89.00"))])
    assert world.connector.pull_orders(integration).stored == 2
    integration.inbox.drain()
    orders = {o["external_id"]: o for o in ok(client.get("/v1/orders", params={"channel": "amazon"}))["items"]}

    step(client, orders[mine.amazon_order_id]["id"], "cancel")
    world.dispatch()
    assert world.connector.settle_order_feeds() == {"told": 1, "refused": 0, "open": 0}
    assert mine.status == "Canceled"
    assert [(i.cancelled_by, i.cancel_reason) for i in mine.items] == [("MERCHANT", "NoInventory")]
    assert ok(client.get(f"/v1/orders/{orders[mine.amazon_order_id]['id']}"))["status"] == "cancelled"

    world.sandbox.cancel_order(theirs.amazon_order_id)
    clock.advance(60)
    world.connector.pull_orders(integration)
    integration.inbox.drain()
    assert ok(client.get(f"/v1/orders/{orders[theirs.amazon_order_id]['id']}"))["status"] == "cancelled"
    world.dispatch()
    feeds = [c for c in world.sandbox.calls if c.operation == "createFeed"]
    assert len(feeds) == 1, "Amazon's own cancellation is not sent back to it"


def test_an_amazon_order_taxed_at_a_rate_the_chart_does_not_know_is_held_never_posted_wrong(
    app: Seamline, client: TestClient, clock: FixedClock, integration: Integration
) -> None:
    world = AmazonWorld(app, client, clock, integration)
    ok(client.put("/v1/finance/config", json=CONFIG), 201)  # 0 % and 19 % only
    receive(client, M, 2)
    world.dispatch()
    order = world.sandbox.place_order([(M, 1, Decimal("89.00"))], tax_rate=Decimal("0.07"))
    ours = pull(world, integration, client)
    assert ok(client.get(f"/v1/orders/{ours['id']}"))["commerce"]["channel_total"] == "95.23"  # 89 + 6.23
    for name in ("pick", "pack"):
        step(client, ours["id"], name)
    step(client, ours["id"], "ship", {"tracking": "T-1", "carrier": "DHL"})
    world.dispatch()
    assert order.status == "Shipped"
    assert ok(client.get("/v1/finance/documents", params={"order_id": ours["id"]}))["items"] == []
    report = ok(client.get("/v1/finance/reconciliation"))
    [held] = [d for d in report["money_differences"] if d["check"] == "held"]
    assert held["problem"] == "unknown-tax"
    assert "0.07" in held["detail"]

    config = {**CONFIG, "tax_codes": [*CONFIG["tax_codes"], {"code": "VAT7", "rate": "0.07"}]}
    ok(client.put("/v1/finance/config", json=config))
    ok(client.post("/v1/finance/post-pending", json={}))
    docs = ok(client.get("/v1/finance/documents", params={"order_id": ours["id"]}))["items"]
    assert [(d["kind"], d["total"]) for d in docs] == [("invoice", "95.23"), ("payment", "95.23")]


def test_a_line_cancelled_whole_is_cancelled_at_amazon_and_one_cancelled_in_part_is_a_visible_refusal(
    app: Seamline, client: TestClient, clock: FixedClock, integration: Integration
) -> None:
    world = AmazonWorld(app, client, clock, integration)
    receive(client, M, 3)
    receive(client, L, 3)
    world.dispatch()
    order = world.sandbox.place_order([(M, 1, Decimal("89.00")), (L, 2, Decimal("79.00"))])
    ours = pull(world, integration, client)
    m_item, l_item = order.items

    body = {"lines": [{"line_no": 1, "qty": 1}], "reason": "customer"}
    ok(client.post(f"/v1/orders/{ours['id']}/cancel-lines", json=body))
    world.dispatch()
    assert world.connector.settle_order_feeds() == {"told": 1, "refused": 0, "open": 0}
    assert (m_item.quantity_cancelled, m_item.cancelled_by, m_item.cancel_reason) == (1, "MERCHANT", "BuyerCanceled")
    assert l_item.quantity_cancelled == 0
    assert order.status == "Unshipped"  # L still to ship

    ok(client.post(f"/v1/orders/{ours['id']}/cancel-lines", json={"lines": [{"line_no": 2, "qty": 1}]}))
    world.dispatch()
    feeds = [c for c in world.sandbox.calls if c.operation == "createFeed"]
    assert len(feeds) == 1, "a part of an item cannot be cancelled at Amazon: nothing is sent"
    assert l_item.quantity_cancelled == 0
    [shown] = ok(client.get("/v1/channels/amazon/confirmations", params={"refused": "true"}))["items"]
    assert shown["kind"] == "cancel"
    assert "line 2: 1 of 2 units cancelled" in shown["error"]


def test_an_amazon_order_returned_whole_refunds_its_shipping_there_and_on_the_credit_notes(
    app: Seamline, client: TestClient, clock: FixedClock, integration: Integration
) -> None:
    world = AmazonWorld(app, client, clock, integration)
    ok(client.put("/v1/finance/config", json=CONFIG), 201)
    receive(client, M, 2)
    receive(client, L, 1)
    world.dispatch()
    order = world.sandbox.place_order(
        [(M, 2, Decimal("89.00")), (L, 1, Decimal("79.00"))],
        tax_rate=Decimal("0.19"),
        shipping=Decimal("4.99"),
        promotions={M: Decimal("10.00")},
    )
    grand = sum((i.proceeds for i in order.items), Decimal(0))
    assert grand == Decimal("299.87")  # 247.00 of goods, 4.99 shipping (with the first item), 47.88 of tax
    ours = pull(world, integration, client)
    for name in ("pick", "pack", "ship"):
        step(
            client, ours["id"], name, {"tracking": "00340434161234567890", "carrier": "DHL"} if name == "ship" else None
        )
    world.dispatch()
    m_item, l_item = (i.order_item_id for i in order.items)

    # L first: the order is not given back whole, the shipping stays charged.
    first = {"order_id": ours["id"], "location": "WH", "lines": [{"sku": L, "qty": 1, "condition": "sellable"}]}
    ok(client.post("/v1/returns", json=first), 201)
    world.dispatch()
    assert world.connector.settle_order_feeds() == {"told": 1, "refused": 0, "open": 0}
    assert order.refunded(m_item, "Shipping") == 0
    # Then both units of M: nothing is kept, so M's item gives back its shipping and its shipping tax too.
    last = {"order_id": ours["id"], "location": "WH", "lines": [{"sku": M, "qty": 2, "condition": "damaged"}]}
    returned = ok(client.post("/v1/returns", json=last), 201)
    world.dispatch()
    assert world.connector.settle_order_feeds() == {"told": 1, "refused": 0, "open": 0}
    assert (order.refunded(m_item, "Shipping"), order.refunded(m_item, "ShippingTax")) == (
        Decimal("4.99"),
        Decimal("0.95"),
    )
    assert order.refunded(l_item, "Shipping") == 0
    assert order.refunded(m_item) + order.refunded(l_item) == grand, "everything the buyer paid went back"

    docs = ok(client.get("/v1/finance/documents", params={"order_id": ours["id"]}))["items"]
    credits = [d for d in docs if d["kind"] == "credit_note"]
    assert sum((Decimal(d["total"]) for d in credits), Decimal(0)) == grand
    [note] = [d for d in credits if d["return_id"] == returned["id"]]
    assert [(li["sku"], li["gross"], li["tax"]) for li in note["lines"] if li["sku"] == "shipping"] == [
        ("shipping", "5.94", "0.95")
    ]
    assert Decimal(returned["refund"]["total"]) == Decimal(note["total"]), "refunded what the note credits"
    report = ok(client.get("/v1/finance/reconciliation"))
    assert (report["clean"], report["money_differences"]) == (True, []), report
