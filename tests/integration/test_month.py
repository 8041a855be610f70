"""A realistic month ties out (issue 17, "Tests and figures"): Shopify orders with discounts, shipping and
taxes included and excluded, partial refunds with a shipping refund, till days on Square with a return,
wholesale invoices on the account's terms, an exchange, and a Xero partial failure (an account the
organisation archived) fixed by mapping the account on the connection, and re-exported.
At the end reconcile is clean, every document equals its channel's numbers, the trial balance of what Xero
holds equals Seamline's journal, and a corrupted document, posting or movement makes reconcile fail naming
it. The month is built by ``month_world.Month`` so later work can add its own days."""

from __future__ import annotations

import functools
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from seamline.channels.xero import connector as xero_connector
from seamline.channels.xero import wiring as xero_wiring
from seamline.cli.main import app as cli
from seamline.domain.clock import FixedClock
from seamline.service import Seamline
from seamline.store.tables import finance_documents, journal_lines, movements
from tests.integration.month_world import DISCOUNTS, SKU, XERO_DISCOUNTS, Month, ok
from tests.integration.shopify_world import CHANNEL as SHOPIFY


@pytest.fixture(autouse=True)
def unpaced(monkeypatch: pytest.MonkeyPatch) -> None:
    """Xero's pace is one call a second on the wall clock; the month runs on the fixed clock."""
    unpaced = functools.partial(xero_connector.accounting_subscriber, rate_per_second=None)
    monkeypatch.setattr(xero_wiring, "accounting_subscriber", unpaced)


@pytest.fixture
def runner(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SEAMLINE_DATABASE_URL", database_url)
    monkeypatch.delenv("SEAMLINE_ADMIN_TOKEN", raising=False)
    return CliRunner()


def test_a_month_of_business_ties_out_to_the_cent_and_reconcile_names_what_is_corrupted(
    client: TestClient, app: Seamline, clock: FixedClock, runner: CliRunner
) -> None:
    month = Month(client, app, clock)
    month.play()

    # Xero refused the discounted invoice (its discounts account archived) and took everything else.
    [refused] = ok(client.get("/v1/finance/accounting/books/exports", params={"status": "refused"}))["items"]
    assert refused["kind"] == "invoice"
    assert refused["total"] == "170.00"
    assert set(refused["messages"]) == {  # one per discount line
        f"Account code '{DISCOUNTS}' has been archived, or has been deleted. Each line item must reference a valid "
        "account."
    }
    report = ok(client.get("/v1/finance/reconciliation"))
    assert not report["clean"]
    # The invoice refused, and its payment, which waited for it past its retries, dead: nothing else.
    problems = {(d["check"], d["problem"], tuple(d["documents"])) for d in report["money_differences"]}
    assert {(c, p) for c, p, _ in problems} == {("accounting", "refused"), ("accounting", "dead")}
    assert ("accounting", "refused", (refused["number"],)) in problems

    queued = month.fix_the_books()
    assert refused["number"] in queued["documents"]
    counts = ok(client.get("/v1/finance/accounting/books/exports"))["counts"]
    pending = ok(client.get("/v1/finance/accounting/books/exports", params={"status": "pending"}))["items"]
    assert set(counts) == {"exported"}, (counts, pending)

    contacts = {c["ContactNumber"] for c in month.xero.contact_records.values()}
    assert "account:ATELIER" in contacts  # receivables per wholesale account and customer, not per channel
    assert len([c for c in contacts if c.startswith("customer:")]) == 2  # Jane, and the Shopify fixture's buyer

    # Clean, four ways, through the API and the command.
    report = ok(client.get("/v1/finance/reconciliation"))
    assert report["clean"], report
    checked = report["money_checked"]
    assert checked["channel_orders"] == 3
    assert checked["channel_refunds"] == 2
    assert checked["acknowledged_exports"] > 0
    assert report["checked"]["sales"] == 4  # three rung up on Square, one through the API with a gift card
    assert report["gift_card_differences"] == []
    assert report["till_documents_awaiting_settlement"] == 0
    result = runner.invoke(cli, ["reconcile"])
    assert result.exit_code == 0, result.output

    # Every document equals its channel's numbers.
    docs = ok(client.get("/v1/finance/documents", params={"limit": 500}))["items"]
    for (kind, external), total in month.channel_totals.items():
        if kind == "order":
            ours = [d for d in docs if d["order_id"] == month.orders[external] and d["kind"] == "invoice"]
            assert sum(Decimal(d["total"]) for d in ours) == total, external
        elif kind == "sale":
            [receipt] = [d for d in docs if d["order_id"] == month.orders[external] and d["kind"] == "sales_receipt"]
            assert Decimal(receipt["total"]) == total
    refunds = sorted(Decimal(d["total"]) for d in docs if d["kind"] == "credit_note" and d["channel"] == SHOPIFY)
    assert refunds == sorted(t for (k, _), t in month.channel_totals.items() if k == "refund")
    wholesale = [
        d for d in docs if d["order_id"] in (month.orders["PO-1"], month.orders["PO-2"]) and d["kind"] != "journal"
    ]  # an order's journals are its cost of goods
    assert [(d["kind"], d["total"]) for d in wholesale] == [("invoice", "152.00"), ("invoice", "76.00")]
    held = {i.data["Reference"]: i.data for i in month.xero.invoices.values()}
    assert held["ATELIER/PO-1"]["DueDate"] == "2027-01-26"  # raised 2026-11-27, the account's 60 days

    # What Xero holds is Seamline's journal, account by account (our 4010 its 4015); what is owed is the
    # wholesale account's two invoices.
    balances = month.journal_balances()
    assert month.xero_balances() == month.journal_balances({DISCOUNTS: XERO_DISCOUNTS})
    assert balances[DISCOUNTS] == Decimal("18.00")
    assert balances["1100"] == Decimal("228.00")
    assert sum(balances.values()) == 0
    assert len(balances) >= 6
    # The inventory account Xero holds is the stock at cost: valuation = movements at cost = the account.
    inventory = report["inventory"]
    assert inventory["clean"], inventory
    assert Decimal(inventory["valuation"]) + Decimal(inventory["awaiting_shipment"]) == balances["1300"]
    assert balances["1300"] == Decimal(ok(client.get("/v1/finance/valuation"))["total"])
    assert balances["5000"] > 0  # cost of the goods sold, net of the sellable returns
    # The gift card's liability is what the card still holds, in Xero as here (its journals exported).
    assert ok(client.get(f"/v1/gift-cards/{month.gift_card}"))["balance"] == "20.00"
    assert balances["2170"] == Decimal("-20.00")

    # Corrupt one document, one posting and one movement: reconcile names each and the command exits 1.
    invoice = next(d for d in docs if d["order_id"] == month.orders["PO-2"] and d["kind"] == "invoice")
    posted = next(d for d in docs if d["order_id"] == month.orders["PO-1"] and d["kind"] == "invoice")
    [entry] = ok(client.get("/v1/finance/journal", params={"document": posted["id"]}))["items"]
    with app.engine.begin() as conn:
        conn.execute(update(finance_documents).where(finance_documents.c.id == invoice["id"]).values(total="75.00"))
        conn.execute(
            update(journal_lines)
            .where(journal_lines.c.entry_id == entry["id"], journal_lines.c.line_no == 1)
            .values(debit=journal_lines.c.debit + 1)
        )
        moved = conn.execute(select(movements.c.id, movements.c.sku).order_by(movements.c.id.desc()).limit(1)).first()
        assert moved is not None
        conn.execute(update(movements).where(movements.c.id == moved.id).values(qty=movements.c.qty + 1))
        # And the month's first delivery, at cost: its value no longer adds up to its cost row or its journal.
        first = conn.execute(select(movements.c.id).order_by(movements.c.id).limit(1)).scalar_one()
        conn.execute(update(movements).where(movements.c.id == first).values(cost_value=movements.c.cost_value + 1))
    report = ok(client.get("/v1/finance/reconciliation"))
    assert not report["clean"]
    leg = report["inventory"]
    assert [(d["sku"], d["location"]) for d in leg["cost_row_differences"]] == [(SKU, "WH")]
    [delivery] = leg["posting_differences"]
    assert (delivery["source"].startswith("cost:receipt:"), delivery["movements"], delivery["journal"]) == (
        True,
        "621.00",
        "620.00",
    )
    assert any(invoice["number"] in d["documents"] for d in report["money_differences"])
    assert report["unbalanced_entries"] == [entry["id"]]
    result = runner.invoke(cli, ["reconcile"])
    assert result.exit_code == 1, result.output
    assert invoice["number"] in result.output
    assert moved.sku in result.output
