"""A return booked here of an order that carries its channel's money is credited at what the buyer paid for
each unit (issue 17): the unit price less the line's share of an 18.00 order discount, its tax as the order
charged it (added on top, or within the price), not the unit price. Units returned one at a time add up to
what the lines were paid, to the cent, and the refunds pay back exactly the credit notes. On SQLite and
PostgreSQL, through the API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from seamline.service import Seamline
from tests.conftest import receive
from tests.integration.order_world import seed_channels

M, L, OLIVE = "OVS-001-NVY-M", "OVS-001-NVY-L", "OVS-001-OLV-M"
CONFIG = {
    "tax_codes": [
        {"code": "NONE", "rate": "0", "xero_tax_type": "NONE", "qbo_tax_code": "NON"},
        {"code": "VAT20", "rate": "0.20", "xero_tax_type": "OUTPUT2", "qbo_tax_code": "5"},
    ],
    "default_tax_code": "NONE",
}
#: The 18.00 order discount allocated over the three lines (as a shop allocates it: by their amounts), and
#: each line's VAT as the shop computed it: added on top (``False``) or within the price (``True``).
DISCOUNTS = ("9.00", "5.25", "3.75")
TAXES = {False: ("22.19", "12.95", "9.25"), True: ("18.50", "10.79", "7.71")}
#: What the buyer paid per line (after the discount, tax included), and the order's total with 5.00 shipping.
PAID = {False: ("133.16", "77.68", "55.49"), True: ("110.97", "64.73", "46.24")}
TOTAL = {False: "271.33", True: "226.94"}


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def order_body(included: bool) -> dict[str, Any]:
    return {
        "channel": "web",
        "external_id": f"API-DISC-{int(included)}",
        "currency": "EUR",
        "lines": [
            {"sku": M, "qty": 3, "unit_price": "39.99"},
            {"sku": L, "qty": 2, "unit_price": "34.99"},
            {"sku": OLIVE, "qty": 1, "unit_price": "49.99"},
        ],
        "commerce": {
            "channel_total": TOTAL[included],
            "taxes_included": included,
            "lines": [
                {
                    "discounts": [{"amount": discount, "source": "SPRING18"}],
                    "tax_lines": [{"title": "VAT", "rate": "0.20", "amount": tax}],
                }
                for discount, tax in zip(DISCOUNTS, TAXES[included], strict=True)
            ],
            "shipping": [
                {
                    "title": "DHL",
                    "price": "5.00" if included else "4.17",
                    "tax_lines": [{"rate": "0.20", "amount": "0.83"}],
                }
            ],
            "payments": [{"tender": "card", "amount": TOTAL[included], "gateway": "stripe"}],
        },
    }


@pytest.mark.parametrize("included", [False, True], ids=["tax-added", "tax-included"])
def test_units_returned_one_by_one_are_credited_at_what_was_paid_and_add_up_to_it(
    client: TestClient, app: Seamline, included: bool
) -> None:
    seed_channels(client)
    ok(client.put("/v1/finance/config", json=CONFIG), 201)
    for sku, qty in ((M, 3), (L, 2), (OLIVE, 1)):
        receive(client, sku, qty)
    order = ok(client.post("/v1/orders", json=order_body(included)), 201)
    assert order["total"] == TOTAL[included]
    for step in ("pick", "pack", "ship"):
        ok(client.post(f"/v1/orders/{order['id']}/{step}", json={}))

    returns = []
    for sku, units in ((M, 3), (L, 2), (OLIVE, 1)):
        for _ in range(units):
            line = {"sku": sku, "qty": 1, "condition": "sellable"}
            returns.append(
                ok(client.post("/v1/returns", json={"order_id": order["id"], "location": "WH", "lines": [line]}), 201)
            )
    per_unit = [Decimal(r["lines"][0]["amount"]) for r in returns]
    # Each unit at its slice of what its line was paid, the odd cents on the first units (as invoiced).
    if not included:
        assert per_unit == [Decimal(x) for x in ("44.39", "44.39", "44.38", "38.85", "38.83", "55.49")]
    for first, count, paid in zip((0, 3, 5), (3, 2, 1), PAID[included], strict=True):
        assert sum(per_unit[first : first + count], Decimal(0)) == Decimal(paid)
    assert [Decimal(r["refund"]["total"]) for r in returns] == per_unit, "each refund pays back its units"

    docs = ok(client.get("/v1/finance/documents", params={"order_id": order["id"]}))["items"]
    credits = [Decimal(d["total"]) for d in docs if d["kind"] == "credit_note"]
    refunds = [Decimal(d["total"]) for d in docs if d["kind"] == "refund"]
    assert credits == per_unit
    assert sum(credits, Decimal(0)) == sum((Decimal(p) for p in PAID[included]), Decimal(0))
    assert sum(refunds, Decimal(0)) == sum(credits, Decimal(0))
    tax_back = sum((Decimal(d["tax_total"]) for d in docs if d["kind"] == "credit_note"), Decimal(0))
    assert tax_back == sum((Decimal(t) for t in TAXES[included]), Decimal(0)), "the tax charged, all of it back"
    report = ok(client.get("/v1/finance/reconciliation"))
    assert (report["clean"], report["money_differences"]) == (True, []), report

    # Nothing more to return: refused, and nothing written.
    refused = client.post(
        "/v1/returns",
        json={"order_id": order["id"], "location": "WH", "lines": [{"sku": M, "qty": 1, "condition": "sellable"}]},
    )
    assert refused.status_code == 422, refused.text
    assert len(ok(client.get("/v1/finance/documents", params={"order_id": order["id"]}))["items"]) == len(docs)


def test_an_exchange_credits_what_was_paid_for_the_unit_brought_back(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    ok(client.put("/v1/finance/config", json=CONFIG), 201)
    for sku, qty in ((M, 3), (L, 2), (OLIVE, 1)):
        receive(client, sku, qty)
    receive(client, "OVS-001-NVY-XL", 1)
    order = ok(client.post("/v1/orders", json=order_body(False)), 201)
    for step in ("pick", "pack", "ship"):
        ok(client.post(f"/v1/orders/{order['id']}/{step}", json={}))
    body = {
        "order_id": order["id"],
        "location": "WH",
        "return_lines": [{"sku": M, "qty": 1, "condition": "sellable"}],
        "lines": [{"sku": "OVS-001-NVY-XL", "qty": 1, "unit_price": "30.00"}],
    }
    exchange = ok(client.post("/v1/exchanges", json=body), 201)
    # The M unit was paid 44.39 (39.99 less its share of the discount, VAT added): 30.00 of it pays the new
    # goods, the other 14.39 goes back to the card.
    assert exchange["return"]["lines"][0]["amount"] == "44.39"
    assert exchange["order"]["tenders"] == [{"type": "exchange_credit", "amount": "30.00"}]
    assert exchange["return"]["refund"]["tenders"] == [{"tender": "card", "amount": "14.39"}]
    docs = ok(client.get("/v1/finance/documents", params={"order_id": order["id"]}))["items"]
    [note] = [d for d in docs if d["kind"] == "credit_note"]
    assert note["total"] == "44.39"
    assert sorted((t["tender"], t["amount"]) for t in note["tenders"]) == [
        ("card", "14.39"),
        ("exchange_credit", "30.00"),
    ]
