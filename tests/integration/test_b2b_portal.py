"""The wholesale B2B portal on SQLite and PostgreSQL: account-scoped tokens, live availability at the
account's price tier with future availability from inbound supply, order entry with ship windows and
pre-books into the one queue, order status, and the race that proves the same units are never promised to
two accounts."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from seamline.channels.threepl.documents import AdvanceShipNotice, AsnItem, AsnOrder, AsnPack, ItemRef
from seamline.channels.threepl.supply import apply_asn_supply
from seamline.domain.errors import Shortage
from seamline.service import Seamline
from seamline.service.b2b import PortalLine, PortalOrder, WholesalePortal
from tests.conftest import OVERSHIRT, receive, seed_world
from tests.integration.helpers import assert_problem, issue_token

SKU = "OVS-001-NVY-M"
PACK = "OVS-001-NVY-PACK"


def seed_wholesale(client: TestClient, *, on_shortage: str = "backorder") -> None:
    seed_world(client)
    style = {
        **OVERSHIRT,
        "prices": [*OVERSHIRT["prices"], {"list": "wholesale-key", "currency": "EUR", "amount": "34.00"}],
    }
    assert client.put("/v1/styles/OVS-001", json=style).status_code == 200
    response = client.put("/v1/channels/b2b", json={"kind": "wholesale", "sources": ["WH"], "on_shortage": on_shortage})
    assert response.status_code == 201, response.text
    for code, tier, prebook in (
        ("ATELIER", "wholesale-key", True),
        ("BOUTIQUE", "wholesale", True),
        ("KIOSK", "wholesale", False),
    ):
        body = {"name": code.title(), "channel": "b2b", "price_tier": tier, "currency": "EUR", "allow_prebook": prebook}
        response = client.put(f"/v1/b2b/accounts/{code}", json=body)
        assert response.status_code == 201, response.text


def supply(client: TestClient, reference: str, qty: int, expected_on: str = "2027-01-15", sku: str = SKU) -> None:
    body = {"kind": "po", "location": "WH", "expected_on": expected_on, "lines": [{"sku": sku, "qty": qty}]}
    response = client.put(f"/v1/inbound-supply/{reference}", json=body)
    assert response.status_code in (200, 201), response.text


def order(
    client: TestClient, account: str, po: str, qty: int, *, prebook: bool = False, sku: str = SKU, **extra: Any
) -> Any:
    body = {"po_number": po, "lines": [{"sku": sku, "qty": qty}], "prebook": prebook, **extra}
    return client.post(f"/v1/b2b/accounts/{account}/orders", json=body)


def item(client: TestClient, account: str, sku: str = SKU) -> dict[str, Any]:
    response = client.get(f"/v1/b2b/accounts/{account}/availability", params={"sku": sku})
    assert response.status_code == 200, response.text
    [found] = response.json()["items"]
    return found  # type: ignore[no-any-return]


def test_each_account_sees_live_availability_at_its_own_price_tier(client: TestClient) -> None:
    seed_wholesale(client)
    receive(client, SKU, 10)
    atelier, boutique = item(client, "ATELIER"), item(client, "BOUTIQUE")
    assert (atelier["available"], atelier["price"]) == (10, {"amount": "34.00", "currency": "EUR"})
    assert boutique["price"] == {"amount": "38.00", "currency": "EUR"}, "no tier price: the wholesale list"
    assert item(client, "ATELIER", PACK)["price"] == {"amount": "204.00", "currency": "EUR"}, "6 units at 34"
    assert "future_available" not in item(client, "KIOSK"), "no pre-book, no future availability"
    client.post("/v1/movements", json={"kind": "damage", "sku": SKU, "qty": 4, "from": "WH"})
    assert item(client, "ATELIER")["available"] == 6, "live: the ledger's number, not a copy"


def test_account_tokens_act_for_their_own_accounts_only(client: TestClient) -> None:
    seed_wholesale(client)
    rep = issue_token(client, "account:ATELIER", "account:KIOSK", name="rep")
    platform = issue_token(client, "channel:b2b", name="b2b platform")
    stranger = issue_token(client, "read", name="analyst")
    as_rep = {"Authorization": f"Bearer {rep}"}
    assert client.get("/v1/b2b/accounts/ATELIER/availability", headers=as_rep).status_code == 200
    assert client.get("/v1/b2b/accounts/KIOSK", headers=as_rep).status_code == 200
    assert_problem(client.get("/v1/b2b/accounts/BOUTIQUE/availability", headers=as_rep), 403, "insufficient-scope")
    placed = client.post(
        "/v1/b2b/accounts/BOUTIQUE/orders", json={"po_number": "X", "lines": [{"sku": SKU, "qty": 1}]}, headers=as_rep
    )
    assert_problem(placed, 403, "insufficient-scope")
    as_platform = {"Authorization": f"Bearer {platform}"}
    assert client.get("/v1/b2b/accounts/BOUTIQUE/orders", headers=as_platform).status_code == 200
    assert_problem(
        client.get("/v1/b2b/accounts/ATELIER", headers={"Authorization": f"Bearer {stranger}"}),
        403,
        "insufficient-scope",
    )
    new = {"name": "New", "channel": "b2b", "currency": "EUR"}
    assert_problem(client.put("/v1/b2b/accounts/NEW", json=new, headers=as_rep), 403, "insufficient-scope")
    assert_problem(client.get("/v1/b2b/accounts/NOPE"), 404, "unknown-account")


def test_an_order_goes_into_the_one_queue_with_its_ship_window_and_its_status_follows(client: TestClient) -> None:
    seed_wholesale(client)
    receive(client, SKU, 10)
    window = {"start": "2026-11-27", "cancel": "2026-12-20"}
    placed = order(client, "ATELIER", "PO-1001", 3, ship_window=window)
    assert placed.status_code == 201, placed.text
    body = placed.json()
    assert (body["channel"], body["kind"], body["status"], body["account"]) == (
        "b2b",
        "wholesale",
        "allocated",
        "ATELIER",
    )
    assert body["ship_window"] == {"start": "2026-11-27", "cancel": "2026-12-20"}
    assert body["price_tier"] == "wholesale-key"
    assert body["lines"][0]["unit_price"] == "34.00"
    again = order(client, "ATELIER", "PO-1001", 3)
    assert again.status_code == 200
    assert again.json()["id"] == body["id"], "the same PO is one order"
    queue = client.get("/v1/orders", params={"channel": "b2b"}).json()["items"]
    assert [o["id"] for o in queue] == [body["id"]]
    for step in ("pick", "pack", "ship"):
        assert client.post(f"/v1/orders/{body['id']}/{step}", json={}).status_code == 200
    status = client.get(f"/v1/b2b/accounts/ATELIER/orders/{body['id']}").json()
    assert status["status"] == "shipped"
    assert [o["po_number"] for o in client.get("/v1/b2b/accounts/ATELIER/orders").json()["items"]] == ["PO-1001"]
    assert_problem(client.get(f"/v1/b2b/accounts/BOUTIQUE/orders/{body['id']}"), 404, "unknown-order")
    assert item(client, "BOUTIQUE")["available"] == 7


def test_prebooks_are_promised_from_incoming_supply_once_and_served_on_receipt(client: TestClient) -> None:
    seed_wholesale(client)
    supply(client, "PO-SUPPLIER-1", 20)
    assert item(client, "ATELIER")["future_available"] == 20
    assert item(client, "ATELIER")["incoming"] == [{"expected_on": "2027-01-15", "available": 20}]
    assert_problem(order(client, "KIOSK", "K-1", 1, prebook=True), 422, "prebook-not-allowed")
    too_many = order(client, "ATELIER", "A-1", 25, prebook=True)
    problem = assert_problem(too_many, 409, "insufficient-stock")
    assert problem["shortages"] == [{"sku": SKU, "requested": 25, "available": 20, "location": None, "bound": "supply"}]
    assert client.get("/v1/orders", params={"channel": "b2b"}).json()["items"] == [], "nothing written"
    assert order(client, "ATELIER", "A-2", 12, prebook=True, ship_window={"start": "2027-01-20"}).status_code == 201
    assert item(client, "BOUTIQUE")["future_available"] == 8
    shortage = assert_problem(order(client, "BOUTIQUE", "B-1", 10, prebook=True), 409, "insufficient-stock")
    assert shortage["shortages"][0]["available"] == 8
    early = order(
        client, "BOUTIQUE", "B-2", 8, prebook=True, ship_window={"start": "2026-12-01", "cancel": "2026-12-31"}
    )
    assert_problem(early, 409, "insufficient-stock")  # the supply lands after this order's cancel date
    assert order(client, "BOUTIQUE", "B-3", 8, prebook=True).status_code == 201
    received = client.post("/v1/inbound-supply/PO-SUPPLIER-1/receive", json={})
    assert received.status_code == 200, received.text
    assert received.json()["allocation"]["allocated_units"] == 20, "arriving units go to the pre-books first"
    statuses = {o["po_number"]: o["status"] for o in client.get("/v1/b2b/accounts/ATELIER/orders").json()["items"]}
    assert statuses == {"A-2": "allocated"}
    assert item(client, "BOUTIQUE")["available"] == 0
    assert client.get("/v1/inbound-supply", params={"sku": SKU}).json()["items"][0]["status"] == "received"


def test_an_at_once_order_may_backorder_only_what_supply_covers(client: TestClient) -> None:
    seed_wholesale(client)
    receive(client, SKU, 4)
    assert_problem(order(client, "BOUTIQUE", "B-1", 6), 409, "insufficient-stock")
    supply(client, "PO-2", 2)
    placed = order(client, "BOUTIQUE", "B-2", 6)
    assert placed.status_code == 201, placed.text
    assert placed.json()["status"] == "partially_allocated"
    assert placed.json()["lines"][0]["backordered"] == 2


def race(app: Seamline, attempts: list[tuple[str, str, int, bool]]) -> tuple[Counter[str], list[BaseException]]:
    portal = WholesalePortal(app)
    outcomes: Counter[str] = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(len(attempts))

    def attempt(account: str, po: str, qty: int, prebook: bool) -> None:
        start.wait()
        req = PortalOrder(po, [PortalLine(SKU, qty)], prebook=prebook)
        try:
            placed = app.write(lambda uow: portal.place_order(uow, account, req))
        except Shortage:
            with lock:
                outcomes["short"] += 1
            return
        except BaseException as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(exc)
            return
        with lock:
            outcomes["placed" if placed.created else "first order"] += 1

    threads = [threading.Thread(target=attempt, args=a) for a in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes, errors


@pytest.mark.slow
def test_racing_accounts_are_never_promised_the_same_units(app: Seamline, client: TestClient) -> None:
    seed_wholesale(client, on_shortage="reject")
    receive(client, SKU, 10)
    supply(client, "PO-RACE", 20)
    attempts = [
        (account, f"{account}-{kind}-{n}", 3, kind == "pre")
        for n in range(8)
        for account in ("ATELIER", "BOUTIQUE")
        for kind in ("now", "pre")
    ]
    outcomes, errors = race(app, attempts)
    assert errors == []
    assert outcomes["placed"] + outcomes["short"] == len(attempts)
    orders = client.get("/v1/orders", params={"channel": "b2b", "limit": 500}).json()["items"]
    allocated = sum(line["allocated"] for o in orders for line in o["lines"])
    backordered = sum(line["backordered"] for o in orders for line in o["lines"])
    # Pre-books take units on hand first (promised by allocation) and backorder the rest against supply.
    assert allocated <= 10, "never more than the 10 units on hand"
    assert backordered <= 20, "never more promised than the 20 incoming units"
    assert allocated + backordered == 3 * outcomes["placed"]
    prebooks_refused = 8 - sum(1 for o in orders if o["prebook"])
    if prebooks_refused:
        assert allocated + backordered >= 28, "a pre-book is refused only when fewer than 3 units are left"
    assert item(client, "ATELIER")["available"] == 10 - allocated
    assert item(client, "BOUTIQUE")["future_available"] == 20 - backordered
    by_account = Counter(o["external_id"].split("/")[0] for o in orders)
    assert sum(by_account.values()) == outcomes["placed"]
    assert app.reconcile().clean


def test_a_suppliers_856_ship_notice_becomes_supply_that_pre_books_can_be_promised_from(
    app: Seamline, client: TestClient
) -> None:
    seed_wholesale(client)
    notice = AdvanceShipNotice(
        "ASN-555",
        (
            AsnOrder(
                "PO-9",
                packs=(AsnPack("000000000000000017", (AsnItem(ItemRef(gtin="05012345678900"), 6),)),),
                loose_items=(AsnItem(ItemRef(sku="OVS-001-NVY-L"), 2), AsnItem(ItemRef(sku="NOT-OURS"), 1)),
            ),
        ),
        shipped_on=date(2026, 12, 1),
    )
    applied = app.write(lambda uow: apply_asn_supply(WholesalePortal(app), uow.conn, notice, location="WH"))
    assert applied.unresolved == ("NOT-OURS",)
    lines = client.get("/v1/inbound-supply", params={"status": "open"}).json()["items"]
    assert [(x["reference"], x["kind"], x["sku"], x["qty"], x["expected_on"]) for x in lines] == [
        ("ASN-555", "asn", "OVS-001-NVY-L", 2, "2026-12-01"),
        ("ASN-555", "asn", SKU, 6, "2026-12-01"),
    ]
    assert item(client, "ATELIER")["future_available"] == 6
