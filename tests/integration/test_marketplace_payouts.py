"""A marketplace's payout closes the loop of its orders' money (issue 17), against the Amazon sandbox on SQLite
and PostgreSQL: an order pulled, shipped (invoiced and paid with the ``amazon`` tender into its clearing
account), one unit returned and refunded there; Amazon's settlement report for the period (the sandbox makes
it as Amazon does, flat file V2) is imported once: the deposit reaches the bank, the fees their account, the
clearing account is back to zero, and reconcile is clean. A later payout whose order line was altered is
listed by reconcile, naming the order, and never absorbed. A Mirakl order's billing cycle (the sandbox's TL02
transaction lines) pays out the same way."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from seamline.channels import sandboxes
from seamline.channels.quickbooks import QuickBooksClient, QuickBooksConfig, QuickBooksExporter, QuickBooksSettings
from seamline.cli.main import app as cli
from seamline.domain.clock import FixedClock
from seamline.finance import Document
from seamline.integration import Integration, install
from seamline.sandbox.mirakl import MiraklSandbox
from seamline.sandbox.mirakl import SandboxConfig as MiraklSandboxConfig
from seamline.sandbox.quickbooks import QuickBooksSandbox
from seamline.service import Seamline
from seamline.service.finance import FinanceDesk
from tests.conftest import receive
from tests.integration.finance_world import configure
from tests.integration.helpers import assert_problem
from tests.integration.marketplace_world import SETTINGS, AmazonWorld
from tests.integration.test_mirakl_order_life import L as ML
from tests.integration.test_mirakl_order_life import Life
from tests.integration.test_mirakl_order_life import M as MM
from tests.unit.test_finance_payouts import amazon_report

M, L = "OVS-001-NVY-M", "OVS-001-NVY-L"
CONFIG = {
    "tax_codes": [
        {"code": "NONE", "rate": "0", "xero_tax_type": "NONE", "qbo_tax_code": "NON"},
        {"code": "VAT19", "rate": "0.19", "xero_tax_type": "OUTPUT2", "qbo_tax_code": "5"},
    ],
    "default_tax_code": "NONE",
    "tender_accounts": {"amazon": "1095"},
}
BANK, FEES, CLEARING, RECEIVABLE = "1020", "6150", "1095", "1100"


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


def balance(client: TestClient, account: str) -> Decimal:
    """The account's balance in the journal, debits positive."""
    entries = ok(client.get("/v1/finance/journal", params={"account": account, "limit": 500}))["items"]
    return sum(
        (
            Decimal(li["debit"]) - Decimal(li["credit"])
            for e in entries
            for li in e["lines"]
            if li["account"] == account
        ),
        Decimal(0),
    )


def ship_one_order(world: AmazonWorld, integration: Integration, client: TestClient, lines: Any) -> Any:
    order = world.sandbox.place_order(lines, tax_rate=Decimal("0.19"), shipping=Decimal("4.99"))
    assert world.connector.pull_orders(integration).stored >= 1
    integration.inbox.drain()
    ours = ok(client.get("/v1/orders", params={"channel": "amazon"}))["items"][-1]
    for name, body in (
        ("pick", None),
        ("pack", None),
        ("ship", {"tracking": "00340434161234567890", "carrier": "DHL"}),
    ):
        ok(client.post(f"/v1/orders/{ours['id']}/{name}", json=body))
    world.dispatch()
    assert order.status == "Shipped"
    return order, ours


def test_an_amazon_payout_settles_its_orders_once_and_a_corrupted_line_is_listed_by_reconcile(
    app: Seamline, client: TestClient, clock: FixedClock, integration: Integration
) -> None:
    world = AmazonWorld(app, client, clock, integration)
    ok(client.put("/v1/finance/config", json=CONFIG), 201)
    receive(client, M, 4)
    receive(client, L, 2)
    world.dispatch()
    order, ours = ship_one_order(world, integration, client, [(M, 2, Decimal("89.00")), (L, 1, Decimal("79.00"))])
    grand = sum((i.proceeds for i in order.items), Decimal(0))
    assert grand == Decimal("311.77")  # 257.00 of goods, 4.99 shipping, tax 33.82 + 15.01 + 0.95
    back = {"order_id": ours["id"], "location": "WH", "lines": [{"sku": M, "qty": 1, "condition": "sellable"}]}
    ok(client.post("/v1/returns", json=back), 201)
    world.dispatch()
    assert world.connector.settle_order_feeds()["told"] == 1
    refunded = sum((order.refunded(i.order_item_id) for i in order.items), Decimal(0))
    assert refunded == Decimal("105.91")  # 89.00 and its 16.91 of tax
    # Before the payout: the invoice is paid with the amazon tender, the money sits in Amazon's clearing.
    assert balance(client, RECEIVABLE) == 0
    assert balance(client, CLEARING) == grand - refunded

    report = world.sandbox.settlement_report()
    answer = ok(client.post("/v1/finance/payouts/amazon", json={"report": report}))
    [payout] = answer["imported"]
    assert answer["discrepancies"] == []
    fees = -Decimal(payout["fees"])
    assert Decimal(payout["sales"]) == grand
    assert Decimal(payout["refunds"]) == -refunded
    assert Decimal(payout["total"]) == grand - refunded - fees
    # The payout's journal: the bank holds the deposit, the fees are an expense, the clearing is back to zero.
    assert balance(client, BANK) == Decimal(payout["total"])
    assert balance(client, FEES) == fees > 0
    assert balance(client, CLEARING) == 0
    assert balance(client, RECEIVABLE) == 0
    doc = ok(client.get(f"/v1/finance/documents/{payout['document_id']}"))
    assert (doc["kind"], doc["total"], doc["extra"]["payout"]) == ("journal", doc["journal"]["total"], payout["id"])
    report_clean = ok(client.get("/v1/finance/reconciliation"))
    assert report_clean["clean"], report_clean

    # The same report again books nothing.
    again = ok(client.post("/v1/finance/payouts/amazon", json={"report": report}))
    assert (again["imported"], again["repeated"]) == ([], [payout["id"]])
    assert len(ok(client.get("/v1/finance/payouts"))["items"]) == 1
    assert balance(client, BANK) == Decimal(payout["total"])

    # A second order's payout arrives with its principal 10.00 higher than the buyer paid (the deposit too).
    second, _ = ship_one_order(world, integration, client, [(L, 1, Decimal("79.00"))])
    text = world.sandbox.settlement_report()
    rows = text.splitlines()
    header = rows[0].split("\t")
    total_at, amount_at, desc_at = (header.index(c) for c in ("total-amount", "amount", "amount-description"))
    summary = rows[1].split("\t")
    summary[total_at] = str(Decimal(summary[total_at]) + 10)
    rows[1] = "\t".join(summary)
    for n, row in enumerate(rows[2:], start=2):
        cells = row.split("\t")
        if cells[desc_at] == "Principal":
            cells[amount_at] = str(Decimal(cells[amount_at]) + 10)
            rows[n] = "\t".join(cells)
            break
    altered = ok(client.post("/v1/finance/payouts/amazon", json={"report": "\n".join(rows) + "\n"}))
    [found] = altered["discrepancies"]
    paid = sum((i.proceeds for i in second.items), Decimal(0))
    assert (found["order_ref"], found["problem"]) == (second.amazon_order_id, "sale_amount")
    assert (Decimal(found["theirs"]), Decimal(found["ours"])) == (paid + 10, paid)
    books = ok(client.get("/v1/finance/reconciliation"))
    assert not books["clean"]
    [listed] = [d for d in books["money_differences"] if d["check"] == "payout"]
    assert listed["source"] == f"amazon:{second.amazon_order_id}"
    assert listed["problem"] == "sale_amount"
    # Nothing absorbed: the 10.00 more stays visible in the clearing account as well.
    assert balance(client, CLEARING) == -10


@pytest.fixture
def mirakl(clock: FixedClock) -> Iterator[tuple[str, MiraklSandbox]]:
    name = f"payouts-{uuid.uuid4().hex[:8]}"
    sandbox = MiraklSandbox(MiraklSandboxConfig(), clock=clock)  # type: ignore[arg-type]
    for sku in (MM, ML):
        sandbox.add_offer(sku, price=Decimal("89.00"), quantity=0)
    sandboxes.register("mirakl", name, sandbox)
    yield name, sandbox
    sandboxes.forget("mirakl", name)


def test_a_mirakl_billing_cycle_pays_out_what_was_shipped_less_the_refund_and_the_commission(
    app: Seamline, client: TestClient, clock: FixedClock, mirakl: tuple[str, MiraklSandbox]
) -> None:
    name, sandbox = mirakl
    life = Life(app, client, clock, name, carrier_codes={"DHL": "dhl-de"})
    ok(client.put("/v1/finance/config", json={**CONFIG, "tender_accounts": {"mirakl": "1096"}}), 201)
    receive(client, MM, 2)
    receive(client, ML, 1)
    sandbox.add_order(
        "ZL-8008-A",
        [(MM, 2, Decimal("89.00")), (ML, 1, Decimal("79.00"))],
        tax_mode="TAX_INCLUDED",
        tax_rate=Decimal("0.19"),
        shipping={1: Decimal("4.95")},
    )
    life.run_jobs()
    ours = life.order("ZL-8008-A")
    for step, body in (
        ("pick", None),
        ("pack", None),
        ("ship", {"tracking": "00340434161234567890", "carrier": "DHL"}),
    ):
        life.step(ours["id"], step, body)
    life.dispatch()
    back = {"order_id": ours["id"], "location": "WH", "lines": [{"sku": ML, "qty": 1, "condition": "sellable"}]}
    ok(client.post("/v1/returns", json=back), 201)
    life.dispatch()
    # The operator did not report the buyer's payment (no customer_debited_date): the invoice is open.
    assert balance(client, RECEIVABLE) == Decimal("261.95")  # 178.00 + 4.95 + 79.00; L's credit note refunded

    cycle = sandbox.transaction_logs()
    answer = ok(client.post("/v1/finance/payouts/zalando", json={"report": cycle}))
    [payout] = answer["imported"]
    assert answer["discrepancies"] == []
    assert (Decimal(payout["sales"]), Decimal(payout["refunds"])) == (Decimal("261.95"), Decimal("-79.00"))
    assert Decimal(payout["total"]) == Decimal("182.95") + Decimal(payout["fees"])  # fees are negative
    # The payout paid the invoice (a payment document against it), and cleared what it paid.
    docs = ok(client.get("/v1/finance/documents", params={"order_id": ours["id"]}))["items"]
    [paid] = [d for d in docs if d["kind"] == "payment"]
    invoice = next(d for d in docs if d["kind"] == "invoice")
    assert (paid["applies_to"], paid["total"], paid["tenders"]) == (
        invoice["id"],
        "261.95",
        [{"tender": "mirakl", "amount": "261.95"}],
    )
    assert balance(client, RECEIVABLE) == 0
    assert balance(client, "1096") == 0
    assert balance(client, "1090") == 0  # the refund the order queue booked as the channel's, given back by it
    assert balance(client, BANK) == Decimal(payout["total"])
    assert ok(client.get("/v1/finance/reconciliation"))["clean"]
    # QuickBooks is told as of any payment: the invoice, the payment against it, the payout's journal.
    books = QuickBooksSandbox()
    qbo = QuickBooksClient(
        QuickBooksConfig("http://qbo.test", books.config.realm_id, books.config.access_token),
        transport=books.transport(),
    )
    desk = FinanceDesk(app)
    exporter = QuickBooksExporter(qbo, desk, desk.current_config, QuickBooksSettings(environment="test"))
    journal = ok(client.get(f"/v1/finance/documents/{payout['document_id']}"))
    for doc in (invoice, paid, journal):
        assert exporter.export(Document.from_json(doc)) == "created"
    [booked] = books.of("Invoice")
    assert booked["Balance"] == 0
    [entry] = books.of("JournalEntry")
    assert entry["DocNumber"] == journal["number"]
    # Nothing new shipped or refunded: the next cycle pays nothing.
    assert sandbox.transaction_logs()["data"] == []


def test_the_cli_books_a_report_once_and_reconcile_exits_1_on_orders_we_never_invoiced(
    client: TestClient, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEAMLINE_DATABASE_URL", database_url)
    monkeypatch.delenv("SEAMLINE_ADMIN_TOKEN", raising=False)
    configure(client)  # an "amazon" channel, no orders on it
    report = tmp_path / "settlement.tsv"
    report.write_text(amazon_report())
    runner = CliRunner()
    first = runner.invoke(cli, ["finance", "import-payout", "amazon", str(report)])
    assert first.exit_code == 1, first.output
    assert "payout 11818265391: 70.95 EUR booked as JNL-" in first.output
    assert "order 302-1111111-1111111: unknown_order" in first.output
    again = runner.invoke(cli, ["finance", "import-payout", "amazon", str(report), "--json"])
    answer = json.loads(again.output)
    assert (answer["imported"], answer["repeated"]) == ([], ["11818265391"])
    assert sorted(d["order_ref"] for d in answer["discrepancies"]) == ["302-1111111-1111111", "302-2222222-2222222"]
    checked = runner.invoke(cli, ["reconcile"])
    assert checked.exit_code == 1, checked.output
    assert "finance payout amazon:302-2222222-2222222: unknown_order" in checked.output
    assert len(ok(client.get("/v1/finance/documents", params={"kind": "journal"}))["items"]) == 1  # booked once


def test_a_report_that_does_not_add_up_or_a_channel_without_payouts_is_refused_and_writes_nothing(
    client: TestClient,
) -> None:
    configure(client)
    broken = client.post("/v1/finance/payouts/amazon", json={"report": amazon_report(total="80.95")})
    assert_problem(broken, 422, "validation-error", "report.line2.total-amount")
    assert_problem(client.post("/v1/finance/payouts/web", json={"report": amazon_report()}), 422, "validation-error")
    assert_problem(client.post("/v1/finance/payouts/nowhere", json={"report": "x"}), 404, "unknown-channel")
    assert ok(client.get("/v1/finance/payouts")) == {"items": [], "discrepancies": []}
    assert ok(client.get("/v1/finance/documents", params={"kind": "journal"}))["items"] == []
    # The same payout id again with another total is a conflict, not a second booking.
    ok(client.post("/v1/finance/payouts/amazon", json={"report": amazon_report()}))
    changed = amazon_report(total="71.95", principal="90.00")
    assert_problem(client.post("/v1/finance/payouts/amazon", json={"report": changed}), 409, "payout-changed")
    assert len(ok(client.get("/v1/finance/payouts"))["items"]) == 1
