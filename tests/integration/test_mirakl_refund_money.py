"""What Mirakl refunds and what Seamline's credit note says are the same money in both of the operator's tax
modes (issue 17): ``TAX_INCLUDED`` prices carry their taxes, ``TAX_EXCLUDED`` ones have them added on top, and
OR28's ``amount``/``shipping_amount`` follow the mode while ``taxes``/``shipping_taxes`` are beside them. A
return booked here is refunded there (OR28) and credited here at the same figures; when the return gives back
the whole order, the shipping goes back with it, there and on the credit note. On SQLite and PostgreSQL."""

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
from tests.integration.test_mirakl_money_life import FINANCE, money, ok
from tests.integration.test_mirakl_order_life import L, Life, M

MODES = ("TAX_INCLUDED", "TAX_EXCLUDED")
#: What the buyer paid in each mode (19 % VAT within the prices, or added to them): the order, and line L.
CHARGED = {"TAX_INCLUDED": Decimal("251.95"), "TAX_EXCLUDED": Decimal("299.82")}
PAID_FOR_L = {"TAX_INCLUDED": Decimal("69.00"), "TAX_EXCLUDED": Decimal("82.11")}


@pytest.fixture
def mirakl(clock: FixedClock) -> Iterator[tuple[str, MiraklSandbox]]:
    name = f"refund-{uuid.uuid4().hex[:8]}"
    sandbox = MiraklSandbox(MiraklSandboxConfig(), clock=clock)  # type: ignore[arg-type]
    for sku in (M, L):
        sandbox.add_offer(sku, price=Decimal("89.00"), quantity=0)
    sandboxes.register("mirakl", name, sandbox)
    yield name, sandbox
    sandboxes.forget("mirakl", name)


def refunded_by_mirakl(order: dict[str, Any]) -> Decimal:
    return given_back_by_mirakl(order, "refunds")


def shipped_order(
    client: TestClient, clock: FixedClock, name: str, sandbox: MiraklSandbox, mode: str, external_id: str
) -> tuple[Life, dict[str, Any]]:
    life = Life(app_of(client), client, clock, name, order_tax_mode=mode)
    ok(client.put("/v1/finance/config", json=FINANCE), 201)
    receive(client, M, 2)
    receive(client, L, 1)
    sandbox.add_order(
        external_id,
        [(M, 2, Decimal("89.00")), (L, 1, Decimal("79.00"))],
        tax_mode=mode,
        tax_rate=Decimal("0.19"),
        shipping={1: Decimal("4.95")},
        promotions={2: Decimal("10.00")},
    )
    life.run_jobs()
    ours = life.order(external_id)
    life.step(ours["id"], "pick")
    life.step(ours["id"], "pack")
    life.step(ours["id"], "ship", {"tracking": "00340434161234567890", "carrier": "DHL"})
    life.dispatch()
    return life, ours


def app_of(client: TestClient) -> Seamline:
    found: Seamline = client.app.state.seamline  # type: ignore[attr-defined]
    return found


def documents(client: TestClient, order_id: str, kind: str) -> list[dict[str, Any]]:
    docs = ok(client.get("/v1/finance/documents", params={"order_id": order_id}))["items"]
    return [d for d in docs if d["kind"] == kind]


@pytest.mark.parametrize("mode", MODES)
def test_a_line_returned_here_is_refunded_at_mirakl_and_credited_here_at_the_same_money(
    app: Seamline, client: TestClient, clock: FixedClock, mirakl: tuple[str, MiraklSandbox], mode: str
) -> None:
    name, sandbox = mirakl
    life, ours = shipped_order(client, clock, name, sandbox, mode, "ZL-8001-A")
    charged = money(sandbox.order("ZL-8001-A").as_json("TAX_INCLUDED")["total_price"])
    paid = {"TAX_INCLUDED": ["89.00", "69.00"], "TAX_EXCLUDED": ["105.91", "82.11"]}[mode]
    assert [x["unit_price"] for x in ours["lines"]] == paid, "each order line at what the buyer paid per unit"
    # 178.00 + 4.95 shipping + 69.00 (79.00 less 10.00), VAT within them or 47.87 of it on top
    assert charged == CHARGED[mode]
    [invoice] = documents(client, ours["id"], "invoice")
    assert money(invoice["total"]) == charged

    ok(
        client.post(
            "/v1/returns",
            json={"order_id": ours["id"], "location": "WH", "lines": [{"sku": L, "qty": 1, "condition": "sellable"}]},
        ),
        201,
    )
    life.dispatch()
    marketplace = sandbox.order("ZL-8001-A").as_json()
    [refund] = marketplace["order_lines"][1]["refunds"]
    assert refund["quantity"] == 1
    assert money(refund["shipping_amount"]) == 0, "a line returned, not the order: its shipping stays charged"
    back = refunded_by_mirakl(marketplace)
    assert back == PAID_FOR_L[mode], "what the buyer paid for the unit, tax included"
    [credit] = documents(client, ours["id"], "credit_note")
    assert money(credit["total"]) == back, "the credit note is what Mirakl refunded"
    assert money(credit["tax_total"]) == sum((money(t["amount"]) for t in refund["taxes"]), Decimal(0))
    assert FinanceDesk(app).holds() == []
    report = FinanceDesk(app).reconciliation()
    assert (report["clean"], report["money_differences"]) == (True, [])


@pytest.mark.parametrize("mode", MODES)
def test_the_whole_order_returned_here_refunds_its_shipping_at_mirakl_and_on_the_credit_notes(
    app: Seamline, client: TestClient, clock: FixedClock, mirakl: tuple[str, MiraklSandbox], mode: str
) -> None:
    name, sandbox = mirakl
    life, ours = shipped_order(client, clock, name, sandbox, mode, "ZL-8002-A")
    charged = money(sandbox.order("ZL-8002-A").as_json("TAX_INCLUDED")["total_price"])

    # One unit first, then the rest: the second return gives back the whole order, shipping included.
    for lines in (
        [{"sku": M, "qty": 1, "condition": "sellable"}],
        [{"sku": M, "qty": 1, "condition": "sellable"}, {"sku": L, "qty": 1, "condition": "damaged"}],
    ):
        ok(client.post("/v1/returns", json={"order_id": ours["id"], "location": "WH", "lines": lines}), 201)
        life.dispatch()
    marketplace = sandbox.order("ZL-8002-A").as_json()
    shipping = [money(r["shipping_amount"]) for ln in marketplace["order_lines"] for r in ln["refunds"]]
    assert sum(shipping, Decimal(0)) > 0, "the shipping went back with the last return"
    assert refunded_by_mirakl(marketplace) == charged, "everything the buyer paid went back"
    credits = documents(client, ours["id"], "credit_note")
    assert len(credits) == 2
    assert sum((money(c["total"]) for c in credits), Decimal(0)) == charged
    assert any(li["sku"] == "shipping" for li in credits[-1]["lines"] + credits[0]["lines"])
    assert FinanceDesk(app).holds() == []
    report = FinanceDesk(app).reconciliation()
    assert (report["clean"], report["money_differences"]) == (True, [])

    # Everything again: nothing is sent twice.
    calls = [c.operation for c in sandbox.calls].count("OR28")
    life.run_jobs()
    life.dispatch()
    assert [c.operation for c in sandbox.calls].count("OR28") == calls


def given_back_by_mirakl(order: dict[str, Any], kind: str) -> Decimal:
    """What OR11 shows given back by ``kind`` (``refunds`` or ``cancelations``), taxes added when excluded."""
    excluded = order["order_tax_mode"] == "TAX_EXCLUDED"
    out = Decimal(0)
    for line in order["order_lines"]:
        for adj in line[kind]:
            out += money(adj["amount"]) + money(adj["shipping_amount"])
            if excluded:
                out += sum((money(t["amount"]) for t in adj["taxes"] + adj["shipping_taxes"]), Decimal(0))
    return out


@pytest.mark.parametrize("mode", MODES)
def test_every_line_cancelled_here_before_shipping_cancels_the_shipping_at_mirakl_too(
    app: Seamline, client: TestClient, clock: FixedClock, mirakl: tuple[str, MiraklSandbox], mode: str
) -> None:
    name, sandbox = mirakl
    life = Life(app, client, clock, name, order_tax_mode=mode)
    ok(client.put("/v1/finance/config", json=FINANCE), 201)
    receive(client, M, 2)
    receive(client, L, 1)
    sandbox.add_order(
        "ZL-8003-A",
        [(M, 2, Decimal("89.00")), (L, 1, Decimal("79.00"))],
        tax_mode=mode,
        tax_rate=Decimal("0.19"),
        shipping={1: Decimal("4.95")},
    )
    life.run_jobs()
    ours = life.order("ZL-8003-A")

    # One M first: the order goes on, its shipping stays charged.
    ok(client.post(f"/v1/orders/{ours['id']}/cancel-lines", json={"lines": [{"line_no": 1, "qty": 1}]}))
    life.dispatch()
    marketplace = sandbox.order("ZL-8003-A").as_json()
    assert [money(c["shipping_amount"]) for c in marketplace["order_lines"][0]["cancelations"]] == [Decimal(0)]
    # Then the other M and L: nothing is left to ship, so the shipping is cancelled with them.
    ok(
        client.post(
            f"/v1/orders/{ours['id']}/cancel-lines",
            json={"lines": [{"line_no": 1, "qty": 1}, {"line_no": 2, "qty": 1}]},
        )
    )
    life.dispatch()
    marketplace = sandbox.order("ZL-8003-A").as_json()
    assert marketplace["order_state"] == "CANCELED"
    first, second = marketplace["order_lines"][0]["cancelations"]
    assert (first["quantity"], second["quantity"]) == (1, 1)
    assert money(second["shipping_amount"]) == Decimal("4.95"), "in the order's tax mode, as charged"
    charged = money(sandbox.order("ZL-8003-A").as_json("TAX_INCLUDED")["total_price"])
    assert given_back_by_mirakl(marketplace, "cancelations") == charged, "the buyer pays nothing"
    assert documents(client, ours["id"], "invoice") == [], "nothing shipped, nothing invoiced"


@pytest.mark.parametrize("mode", MODES)
def test_a_line_cancelled_after_acceptance_leaves_invoices_equal_to_what_mirakl_kept(
    app: Seamline, client: TestClient, clock: FixedClock, mirakl: tuple[str, MiraklSandbox], mode: str
) -> None:
    name, sandbox = mirakl
    life = Life(app, client, clock, name, order_tax_mode=mode)
    ok(client.put("/v1/finance/config", json=FINANCE), 201)
    receive(client, M, 2)
    receive(client, L, 1)
    sandbox.add_order(
        "ZL-8004-A",
        [(M, 2, Decimal("89.00")), (L, 1, Decimal("79.00"))],
        tax_mode=mode,
        tax_rate=Decimal("0.19"),
        shipping={1: Decimal("4.95")},
        promotions={2: Decimal("10.00")},
    )
    life.run_jobs()
    ours = life.order("ZL-8004-A")
    ok(client.post(f"/v1/orders/{ours['id']}/cancel-lines", json={"lines": [{"line_no": 2, "qty": 1}]}))
    life.dispatch()
    life.step(ours["id"], "pick")
    life.step(ours["id"], "pack")
    life.step(ours["id"], "ship", {"tracking": "00340434161234567890", "carrier": "DHL"})
    life.dispatch()
    marketplace = sandbox.order("ZL-8004-A").as_json()
    charged = money(sandbox.order("ZL-8004-A").as_json("TAX_INCLUDED")["total_price"])
    kept = charged - given_back_by_mirakl(marketplace, "cancelations")
    [invoice] = documents(client, ours["id"], "invoice")
    assert money(invoice["total"]) == kept, "invoiced what the buyer is charged for what was kept"
    assert FinanceDesk(app).holds() == []
    report = FinanceDesk(app).reconciliation()
    assert (report["clean"], report["money_differences"]) == (True, [])
