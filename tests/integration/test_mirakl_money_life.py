"""A Mirakl order with the operator's money on it (19 % VAT in the prices, shipping on a line, a promotion),
its whole life against the Mirakl sandbox on SQLite and PostgreSQL: pulled and accepted, one line cancelled
here after acceptance (OR30, with the operator's amount and tax for it), the rest shipped in two parcels each
confirmed with its tracking (ST01), one line returned and refunded (OR28, with its tax). At the end the
marketplace shows what the ledger shows, line by line (shipped, cancelled, refunded), and the invoices
Seamline posted add up to what the operator charged for what was kept, to the cent."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from seamline.channels import sandboxes
from seamline.domain.clock import FixedClock
from seamline.sandbox.mirakl import MiraklSandbox
from seamline.sandbox.mirakl import SandboxConfig as MiraklSandboxConfig
from seamline.service import Seamline
from seamline.service.finance import FinanceDesk
from tests.conftest import receive
from tests.integration.helpers import stock_of
from tests.integration.test_mirakl_order_life import XL, L, Life, M

FINANCE = {
    "tax_codes": [
        {"code": "NONE", "rate": "0", "xero_tax_type": "NONE", "qbo_tax_code": "NON"},
        {"code": "VAT19", "rate": "0.19", "xero_tax_type": "OUTPUT2", "qbo_tax_code": "5"},
    ],
    "default_tax_code": "NONE",
}


@pytest.fixture
def mirakl(clock: FixedClock) -> Iterator[tuple[str, MiraklSandbox]]:
    name = f"money-{uuid.uuid4().hex[:8]}"
    sandbox = MiraklSandbox(MiraklSandboxConfig(), clock=clock)  # type: ignore[arg-type]
    for sku in (M, L, XL):
        sandbox.add_offer(sku, price=Decimal("89.00"), quantity=0)
    sandboxes.register("mirakl", name, sandbox)
    yield name, sandbox
    sandboxes.forget("mirakl", name)


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_a_line_cancelled_after_acceptance_and_a_refund_reach_mirakl_and_the_invoices_equal_its_total(
    app: Seamline, client: TestClient, clock: FixedClock, mirakl: tuple[str, MiraklSandbox]
) -> None:
    name, sandbox = mirakl
    life = Life(app, client, clock, name, carrier_codes={"DHL": "dhl-de"})
    ok(client.put("/v1/finance/config", json=FINANCE), 201)
    receive(client, M, 3)
    receive(client, L, 1)
    receive(client, XL, 1)
    sandbox.add_order(
        "ZL-7007-A",
        [(M, 2, Decimal("89.00")), (L, 1, Decimal("79.00")), (XL, 1, Decimal("89.00"))],
        tax_mode="TAX_INCLUDED",
        tax_rate=Decimal("0.19"),
        shipping={1: Decimal("4.95")},
        promotions={2: Decimal("10.00")},
    )
    charged = money(sandbox.order("ZL-7007-A").as_json()["total_price"])
    assert charged == Decimal("340.95")  # 178.00 + 4.95 shipping + 69.00 (79.00 less 10.00) + 89.00

    life.run_jobs()
    ours = life.order("ZL-7007-A")
    assert [(x["sku"], x["qty"], x["unit_price"]) for x in ours["lines"]] == [
        (M, 2, "89.00"),
        (L, 1, "69.00"),
        (XL, 1, "89.00"),
    ], "each line at what the buyer paid for it"
    assert ours["commerce"]["channel_total"] == "340.95"

    # Bad input: more units than are unpicked is refused with the reason, and nothing changes.
    refused = client.post(f"/v1/orders/{ours['id']}/cancel-lines", json={"lines": [{"line_no": 3, "qty": 2}]})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "lines.3.qty"
    assert life.order("ZL-7007-A")["lines"][2]["cancelled"] == 0

    # XL cannot be served after all: a person cancels its line; the unit goes back to available, and Mirakl
    # cancels it too (OR30) with the operator's amount and tax for it and its CANCELATION reason code.
    cancelled = ok(
        client.post(
            f"/v1/orders/{ours['id']}/cancel-lines",
            json={"lines": [{"line_no": 3, "qty": 1}], "reason": "out_of_stock"},
        )
    )
    assert [(x["sku"], x["cancelled"], x["allocated"]) for x in cancelled["lines"]][2] == (XL, 1, 0)
    assert stock_of(client, XL, "WH")["available"] == 1
    life.dispatch()
    xl = sandbox.order("ZL-7007-A").as_json()["order_lines"][2]
    assert xl["order_line_state"] == "CANCELED"
    [cancelation] = xl["cancelations"]
    assert (cancelation["quantity"], money(cancelation["amount"]), cancelation["reason_code"]) == (
        1,
        Decimal("89.00"),
        "35",
    )
    assert [(t["code"], money(t["amount"])) for t in cancelation["taxes"]] == [("VAT19", Decimal("14.21"))]

    # The rest ships in two parcels, each confirmed with its tracking.
    life.step(ours["id"], "pick", {"lines": [{"sku": M, "qty": 1}]})
    life.step(ours["id"], "pack")
    life.step(ours["id"], "ship", {"tracking": "00340434161234567890", "carrier": "DHL"})
    life.dispatch()
    life.step(ours["id"], "pick")
    life.step(ours["id"], "pack")
    life.step(ours["id"], "ship", {"tracking": "JD014600006281234567", "carrier": "Hermes"})
    life.dispatch()
    parcels = sandbox.shipments("ZL-7007-A")
    assert [(s["tracking"]["tracking_number"], len(s["shipment_lines"])) for s in parcels] == [
        ("00340434161234567890", 1),
        ("JD014600006281234567", 2),
    ]
    assert sandbox.order("ZL-7007-A").state == "SHIPPED", "every unit shipped or cancelled"

    # L comes back: the return booked here is refunded there, its amount and tax the operator's own.
    ok(
        client.post(
            "/v1/returns",
            json={"order_id": ours["id"], "location": "WH", "lines": [{"sku": L, "qty": 1, "condition": "sellable"}]},
        ),
        201,
    )
    life.dispatch()  # the outbox's ReturnBooked: refunded at once, not at the next order round
    marketplace = sandbox.order("ZL-7007-A").as_json()
    [refund] = marketplace["order_lines"][1]["refunds"]
    assert (refund["quantity"], money(refund["amount"]), refund["reason_code"]) == (1, Decimal("69.00"), "17")
    assert [(t["code"], money(t["amount"])) for t in refund["taxes"]] == [("VAT19", Decimal("11.02"))]

    # The marketplace shows what the ledger shows.
    ledger = {x["sku"]: x for x in life.order("ZL-7007-A")["lines"]}
    for line in sandbox.order("ZL-7007-A").lines:
        mine = ledger[line.offer_sku]
        assert (line.shipped, line.cancelled, line.refunded) == (
            mine["shipped"],
            mine["cancelled"],
            mine["returned"],
        ), line.offer_sku

    # The invoices add up to what the operator charged for what was kept, to the cent.
    docs = ok(client.get("/v1/finance/documents", params={"order_id": ours["id"]}))["items"]
    invoices = [d for d in docs if d["kind"] == "invoice"]
    assert len(invoices) == 2
    kept = charged - sum(
        (
            money(c["amount"]) + money(c["shipping_amount"])
            for ln in marketplace["order_lines"]
            for c in ln["cancelations"]
        ),
        Decimal(0),
    )
    assert sum((money(d["total"]) for d in invoices), Decimal(0)) == kept == Decimal("251.95")
    [credit] = [d for d in docs if d["kind"] == "credit_note"]
    assert money(credit["total"]) == money(refund["amount"]), "the credit note is what Mirakl refunded"
    assert FinanceDesk(app).holds() == [], "nothing held: every amount reproduced"
    report = FinanceDesk(app).reconciliation()
    assert (report["clean"], report["money_differences"], report["differences"]) == (True, [], [])
    assert report["money_checked"]["channel_orders"] >= 1, report["money_checked"]

    # Everything again: nothing is sent twice.
    counts = {op: [c.operation for c in sandbox.calls].count(op) for op in ("OR21", "OR30", "ST01", "OR28", "OR29")}
    life.run_jobs()
    life.dispatch()
    assert {op: [c.operation for c in sandbox.calls].count(op) for op in counts} == counts
    assert counts == {"OR21": 1, "OR30": 1, "ST01": 2, "OR28": 1, "OR29": 0}
