"""A store's day, settled (issue 6): cash and card sales, a refund, an exchange, a paid-out, a card fee and a
short drawer post the exact journal, one balanced entry per tender; a closed day is immutable; every sale and
return has exactly one document; an offline till's batch replayed twice posts once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from seamline.domain.clock import FixedClock
from seamline.service import Seamline, finance
from seamline.store.tables import finance_documents
from tests.conftest import receive
from tests.integration.finance_world import CONFIG, DAY, LARGE, configure, ok, sell, stripe
from tests.integration.order_world import SKU, assert_problem, fulfil, place, sale_body


def trade_the_day(client: TestClient) -> dict[str, Any]:
    """Cash and card sales (one discounted, one split), a card refund, an exchange for another size, a
    paid-out, the card processor's settlement with its fees, and a drawer five euros short."""
    s1 = sell(client, "R-1", "89.00", 2, [("cash", "178.00")])
    s2 = sell(client, "R-2", "89.00", 1, [("card", "89.00")])
    sell(client, "R-3", "80.00", 1, [("cash", "30.00"), ("card", "50.00")])
    ok(
        client.post(
            "/v1/returns",
            json={
                "order_id": s2["id"],
                "location": "STORE-1",
                "lines": [{"sku": SKU, "qty": 1, "condition": "sellable"}],
            },
        ),
        201,
    )
    ok(
        client.post(
            "/v1/exchanges",
            json={
                "order_id": s1["id"],
                "location": "STORE-1",
                "return_lines": [{"sku": SKU, "qty": 1, "condition": "sellable"}],
                "lines": [{"sku": LARGE, "qty": 1}],
            },
        ),
        201,
    )
    base = f"/v1/finance/settlements/STORE-1/{DAY}"
    paid_out = {"kind": "paid_out", "amount": "12.50", "currency": "EUR", "reason": "milk for the staff room"}
    ok(client.post(f"{base}/cash-movements", json=paid_out))
    report = {
        "object": "list",
        "data": [
            stripe(1, "charge", 8900, 160),
            stripe(2, "charge", 5000, 95),
            stripe(3, "refund", -8900, 0),
            stripe(4, "payout", -4745, 0),
        ],
    }
    ok(client.post(f"{base}/processor-settlement", json={"tender": "card", "transactions": report}))
    return ok(client.post(f"{base}/count", json={"counted": "290.50", "currency": "EUR"}))


def entry_lines(view: dict[str, Any], tender: str) -> list[tuple[str, str, str, str]]:
    [entry] = [e for e in view["journal"] if e["tender"] == tender]
    return [(line["account"], line["debit"], line["credit"], line["memo"]) for line in entry["lines"]]


def test_a_realistic_store_day_posts_the_exact_journal(client: TestClient) -> None:
    configure(client)
    counted = trade_the_day(client)
    cash = next(t for t in counted["tenders"] if t["tender"] == "cash")
    assert (cash["expected"], cash["counted"], cash["over_short"]) == ("295.50", "290.50", "-5.00")
    card = next(t for t in counted["tenders"] if t["tender"] == "card")
    assert card["processor"] == {
        "name": "stripe",
        "imported": True,
        "gross": "50.00",
        "fee": "2.55",
        "net": "47.45",
        "transactions": 3,
        "variance": "0.00",
    }
    assert [(v["tender"], v["kind"], v["difference"]) for v in counted["variances"]] == [
        ("cash", "over_short", "-5.00")
    ]
    assert [s["id"] for s in counted["set_aside"]] == ["txn_day_4"]

    closed = ok(client.post(f"/v1/finance/settlements/STORE-1/{DAY}/close"))
    assert closed["status"] == "closed"
    assert sorted(e["tender"] for e in closed["journal"]) == ["card", "cash", "exchange_credit"]
    assert entry_lines(closed, "cash") == [
        ("4000", "0.00", "176.14", "sales"),
        ("4010", "2.81", "0.00", "discounts"),
        ("2200", "0.00", "34.67", "tax VAT20 on sales"),
        ("6120", "12.50", "0.00", "milk for the staff room"),
        ("6110", "5.00", "0.00", "cash over/short"),
        ("1000", "190.50", "0.00", "cash takings"),
    ]
    assert entry_lines(closed, "card") == [
        ("4000", "0.00", "120.53", "sales"),
        ("4010", "4.69", "0.00", "discounts"),
        ("2200", "0.00", "23.16", "tax VAT20 on sales"),
        ("4020", "74.17", "0.00", "refunds"),
        ("2200", "14.83", "0.00", "tax VAT20 on refunds"),
        ("6100", "2.55", "0.00", "stripe fees"),
        ("1010", "47.45", "0.00", "stripe net settlement"),
    ]
    assert entry_lines(closed, "exchange_credit") == [
        ("4000", "0.00", "74.17", "sales"),
        ("2200", "0.00", "14.83", "tax VAT20 on sales"),
        ("4020", "74.17", "0.00", "refunds"),
        ("2200", "14.83", "0.00", "tax VAT20 on refunds"),
    ]
    for entry in closed["journal"]:
        debits = sum(Decimal(line["debit"]) for line in entry["lines"])
        assert debits == sum(Decimal(line["credit"]) for line in entry["lines"]) == Decimal(entry["total"])
        assert (entry["date"], entry["store"], entry["currency"]) == (DAY, "STORE-1", "EUR")

    journal = ok(client.get("/v1/finance/journal", params={"store": "STORE-1"}))["items"]
    assert {e["id"] for e in journal} == {e["id"] for e in closed["journal"]}, "till sales wait for the settlement"
    kinds = [d["kind"] for d in closed["documents"]]
    assert sorted(kinds) == [
        "credit_note",
        "credit_note",
        "sales_receipt",
        "sales_receipt",
        "sales_receipt",
        "sales_receipt",
    ]
    report = ok(client.get("/v1/finance/reconciliation"))
    assert report["clean"], report
    assert report["checked"] == {"sales": 4, "returns": 2, "shipped_orders": 0}
    assert report["till_documents_awaiting_settlement"] == 0


def test_a_closed_day_is_immutable_and_closes_once(client: TestClient) -> None:
    configure(client)
    trade_the_day(client)
    base = f"/v1/finance/settlements/STORE-1/{DAY}"
    first = ok(client.post(f"{base}/close"))
    assert_problem(client.post(f"{base}/close"), 409, "settlement-closed")
    assert_problem(
        client.post(f"{base}/count", json={"counted": "300.00", "currency": "EUR"}), 409, "settlement-closed"
    )
    paid_in = {"kind": "paid_in", "amount": "1.00", "currency": "EUR", "reason": "late"}
    assert_problem(client.post(f"{base}/cash-movements", json=paid_in), 409, "settlement-closed")
    sell(client, "R-LATE", "89.00", 1, [("cash", "89.00")])  # rung up after the close
    again = ok(client.get(base))
    assert (again["tenders"], again["journal"], again["documents"]) == (
        first["tenders"],
        first["journal"],
        first["documents"],
    )


def test_a_sale_rung_up_after_the_close_joins_the_next_day_as_late(client: TestClient, clock: FixedClock) -> None:
    configure(client)
    sell(client, "R-1", "89.00", 1, [("card", "89.00")])
    ok(client.post(f"/v1/finance/settlements/STORE-1/{DAY}/close"))
    offline = sale_body(external_id="R-OFFLINE", occurred_at="2026-11-27T15:00:00Z", force=True)
    ok(client.post("/v1/sales", json=offline), 201)
    clock.advance(24 * 3600)
    view = ok(client.get("/v1/finance/settlements/STORE-1/2026-11-28"))
    assert [(d["issued_on"], d["late"]) for d in view["documents"]] == [(DAY, True)]
    card = next(t for t in view["tenders"] if t["tender"] == "card")
    assert card["sales"] == "89.00"


def test_closing_with_cash_takings_and_no_count_is_refused(client: TestClient) -> None:
    configure(client)
    sell(client, "R-1", "89.00", 1, [("cash", "89.00")])
    assert_problem(client.post(f"/v1/finance/settlements/STORE-1/{DAY}/close"), 409, "cash-not-counted")
    assert ok(client.get(f"/v1/finance/settlements/STORE-1/{DAY}"))["status"] == "open"


def test_an_offline_tills_batch_replayed_twice_posts_once(client: TestClient) -> None:
    """The till uploads what it sold offline as one batch, with the sales' real times, and (its answer lost)
    uploads the same batch again: one sale each in the ledger, one receipt each, one day's journal."""
    configure(client)  # ten of SKU at STORE-1
    sales = [
        {
            "external_id": f"OFF-{i}",
            "occurred_at": f"2026-11-27T0{i}:15:00Z",
            "lines": [{"sku": SKU, "qty": 1, "unit_price": "89.00"}],
            "tenders": [{"type": "card", "amount": "89.00"}],
            "currency": "EUR",
        }
        for i in range(1, 4)
    ]
    batch = {"till": "TILL-1", "batch_id": "2026-11-27-1", "sales": sales}
    first = ok(client.post("/v1/stores/STORE-1/offline-batches", json=batch), 201)
    again = ok(client.post("/v1/stores/STORE-1/offline-batches", json=batch), 200)
    assert again["sales"] == first["sales"]
    assert first["availability"] == [{"sku": SKU, "on_hand": 7, "available": 7}]
    assert ok(client.get("/v1/stock", params={"sku": SKU, "location": "STORE-1"}))["items"][0]["on_hand"] == 7
    receipts = ok(client.get("/v1/finance/documents", params={"kind": "sales_receipt"}))["items"]
    assert sorted(d["order_ref"] for d in receipts) == ["OFF-1", "OFF-2", "OFF-3"]
    view = ok(client.get(f"/v1/finance/settlements/STORE-1/{DAY}"))
    card = next(t for t in view["tenders"] if t["tender"] == "card")
    assert (card["sales"], card["sale_count"]) == ("267.00", 3)
    closed = ok(client.post(f"/v1/finance/settlements/STORE-1/{DAY}/close"))
    assert entry_lines(closed, "card") == [
        ("4000", "0.00", "222.51", "sales"),  # each receipt rounds its own tax
        ("2200", "0.00", "44.49", "tax VAT20 on sales"),
        ("1010", "267.00", "0.00", "card takings"),
    ]
    assert ok(client.get("/v1/finance/reconciliation"))["clean"]


def test_a_shipped_web_order_is_invoiced_and_paid_and_its_return_credited_and_refunded(client: TestClient) -> None:
    configure(client)
    receive(client, SKU, 3)
    order = place(client, tenders=[{"type": "shopify_payments", "amount": "89.00"}])
    assert ok(client.get("/v1/finance/documents", params={"order_id": order["id"]}))["items"] == []
    fulfil(client, order["id"])
    docs = ok(client.get("/v1/finance/documents", params={"order_id": order["id"]}))["items"]
    assert [(d["kind"], d["total"]) for d in docs] == [("invoice", "89.00"), ("payment", "89.00")]
    invoice, payment = docs
    assert payment["applies_to"] == invoice["id"]
    [entry] = ok(client.get("/v1/finance/journal", params={"document": invoice["id"]}))["items"]
    assert [(li["account"], li["debit"], li["credit"]) for li in entry["lines"]] == [
        ("1100", "89.00", "0.00"),
        ("4000", "0.00", "74.17"),
        ("2200", "0.00", "14.83"),
    ]
    back = {"order_id": order["id"], "location": "STORE-1", "lines": [{"sku": SKU, "qty": 1, "condition": "damaged"}]}
    ok(client.post("/v1/returns", json=back), 201)
    docs = ok(client.get("/v1/finance/documents", params={"order_id": order["id"]}))["items"]
    assert [d["kind"] for d in docs] == ["invoice", "payment", "credit_note", "refund"]
    credit = docs[2]
    assert (credit["posting"], credit["applies_to"], credit["store"]) == ("journal", invoice["id"], None)
    report = ok(client.get("/v1/finance/reconciliation"))
    assert report["clean"], report
    assert report["checked"]["shipped_orders"] == 1


def test_posting_is_idempotent_and_the_sweep_posts_only_what_is_missing(client: TestClient, app: Seamline) -> None:
    configure(client)
    sell(client, "R-1", "89.00", 1, [("card", "89.00")])
    assert ok(client.post("/v1/finance/post-pending", json={"limit": 100}))["posted"] == 0
    with app.engine.begin() as conn:
        conn.execute(finance_documents.delete())
    assert not ok(client.get("/v1/finance/reconciliation"))["clean"]
    assert ok(client.post("/v1/finance/post-pending", json={"limit": 100}))["posted"] == 1
    assert ok(client.get("/v1/finance/reconciliation"))["clean"]


BAD_INPUT: list[tuple[str, dict[str, Any], str]] = [
    ("count", {"counted": "10.00", "currency": "EUR", "tender": "card"}, "tender"),
    ("cash-movements", {"kind": "paid_out", "amount": "0", "currency": "EUR", "reason": "x"}, "amount"),
    ("processor-settlement", {"tender": "cash", "transactions": stripe(1, "charge", 100, 3)}, "tender"),
    ("processor-settlement", {"transactions": {**stripe(1, "charge", 100, 3), "net": 90}}, "transactions[0].net"),
]


def test_bad_settlement_input_names_the_field_and_writes_nothing(client: TestClient) -> None:
    configure(client)
    for path, body, field in BAD_INPUT:
        response = client.post(f"/v1/finance/settlements/STORE-1/{DAY}/{path}", json=body)
        assert_problem(response, 422, "validation-error", field)
    assert ok(client.get(f"/v1/finance/settlements/STORE-1/{DAY}"))["id"] is None


def test_settlements_are_per_store_and_a_stores_token_keeps_to_its_own(client: TestClient) -> None:
    configure(client)
    assert_problem(client.get(f"/v1/finance/settlements/WH/{DAY}"), 422, "validation-error", "store")
    assert_problem(client.get(f"/v1/finance/settlements/NOWHERE/{DAY}"), 404, "unknown-location")
    token = ok(client.post("/v1/tokens", json={"name": "soho", "scopes": ["location:STORE-1"]}), 201)["token"]
    till = TestClient(client.app, headers={"Authorization": f"Bearer {token}"})
    assert till.get(f"/v1/finance/settlements/STORE-1/{DAY}").status_code == 200
    assert_problem(till.get(f"/v1/finance/settlements/STORE-2/{DAY}"), 403, "insufficient-scope")
    assert_problem(till.get("/v1/finance/journal"), 403, "insufficient-scope")
    assert_problem(till.put("/v1/finance/config", json=CONFIG), 403, "insufficient-scope")


def test_a_posting_that_fails_never_fails_the_sale_and_is_posted_by_the_sweep(
    client: TestClient, app: Seamline, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(client)

    def broken(*args: Any, **kwargs: Any) -> list[Any]:
        raise RuntimeError("a bug in a posting rule")

    before = finance.POSTING_FAILURES._value.get()
    monkeypatch.setattr(finance.DocumentPosting, "post_sale", broken)
    sale = sell(client, "R-1", "89.00", 1, [("card", "89.00")])
    assert finance.POSTING_FAILURES._value.get() == before + 1
    assert ok(client.get("/v1/finance/documents", params={"order_id": sale["id"]}))["items"] == []
    report = ok(client.get("/v1/finance/reconciliation"))
    assert [(d["source"], d["problem"]) for d in report["differences"]] == [(f"order:{sale['id']}", "missing")]
    monkeypatch.undo()
    assert ok(client.post("/v1/finance/post-pending", json={"limit": 10}))["posted"] == 1
    assert ok(client.get("/v1/finance/reconciliation"))["clean"]
