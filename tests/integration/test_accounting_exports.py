"""Export you can watch (issue 17): every document has an export state per accounting connection, listed
and filterable; documents posted before the connection existed are backfilled (idempotently, from the API
or the CLI); Xero's partial success is read item by item, so a refused invoice is ``refused`` with Xero's
message, and once the cause is fixed it is exported again; reconcile compares our documents with the totals
the books acknowledged and names a document that disagrees."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from seamline.channels.xero import connector as xero_connector
from seamline.channels.xero import wiring as xero_wiring
from seamline.cli.main import app as cli
from seamline.domain.clock import FixedClock
from seamline.integration import Integration
from seamline.sandbox.xero import XeroSandbox
from seamline.service import Seamline
from seamline.store.tables import finance_export_states
from tests.conftest import receive
from tests.integration.finance_world import configure, ok
from tests.integration.order_world import SKU, fulfil, place


@pytest.fixture(autouse=True)
def unpaced(monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection's subscriber without Xero's pace (one call a second, on the wall clock): these tests
    run the dispatcher on the fixed clock, many calls within a real second."""
    monkeypatch.setattr(
        xero_wiring,
        "accounting_subscriber",
        functools.partial(xero_connector.accounting_subscriber, rate_per_second=None),
    )


def integration(client: TestClient) -> Integration:
    found: Integration = client.app.state.integration  # type: ignore[attr-defined]
    return found


def ship_paid_orders(client: TestClient, n: int) -> None:
    receive(client, SKU, n)
    for i in range(n):
        order = place(client, external_id=f"W-{i}", tenders=[{"type": "card", "amount": "89.00"}])
        fulfil(client, order["id"])


def connect(client: TestClient) -> tuple[str, XeroSandbox]:
    url = f"sandbox:xero-{uuid.uuid4().hex[:8]}"
    settings = {"base_url": url, "access_token": "xero-token", "tenant_id": "tenant-1"}
    ok(client.put("/v1/finance/accounting/books", json={"kind": "xero", "settings": settings}), 201)
    return url, xero_wiring.sandbox(url, settings)


def exports(client: TestClient, **params: Any) -> dict[str, Any]:
    return ok(client.get("/v1/finance/accounting/books/exports", params=params))


def deliver(client: TestClient, clock: FixedClock, rounds: int = 6) -> None:
    """Run the dispatcher as time passes (a payment waits, with backoff, for its invoice to be in Xero)."""
    for _ in range(rounds):
        integration(client).dispatcher.drain()
        clock.advance(3600)


def test_documents_posted_before_the_connection_are_backfilled_once_and_watched(
    client: TestClient, clock: FixedClock
) -> None:
    configure(client)
    ship_paid_orders(client, 2)  # 2 invoices and 2 payments, before any books exist
    _, xero = connect(client)
    deliver(client, clock)
    assert xero.invoices == {}  # nothing reached the books: they did not exist when these were posted
    before = exports(client)
    assert before["counts"] == {"pending": 4}
    assert {i["status"] for i in before["items"]} == {"pending"}

    first = ok(client.post("/v1/finance/accounting/books/backfill", json={"limit": 3}))
    assert (first["queued"], first["more"]) == (3, True)
    second = ok(client.post("/v1/finance/accounting/books/backfill", json={}))
    assert (second["queued"], second["more"]) == (1, False)
    again = ok(client.post("/v1/finance/accounting/books/backfill", json={}))
    assert again["queued"] == 0  # queued ones are not queued twice
    deliver(client, clock)
    assert len(xero.invoices) == 2
    assert len(xero.payments) == 2
    after = exports(client)
    assert after["counts"] == {"exported": 4}
    invoices = exports(client, status="exported", kind="invoice")["items"]
    assert len(invoices) == 2
    assert all(i["external_id"] in xero.invoices and i["acknowledged_total"] == "89.00" for i in invoices)
    assert ok(client.post("/v1/finance/accounting/books/backfill", json={}))["queued"] == 0
    report = ok(client.get("/v1/finance/reconciliation"))
    assert report["clean"], report
    assert report["money_checked"]["acknowledged_exports"] == 4


def test_an_invoice_xero_refuses_item_by_item_is_refused_with_its_message_and_re_exported_once_fixed(
    client: TestClient, clock: FixedClock
) -> None:
    configure(client)
    _, xero = connect(client)
    xero.config.accounts = frozenset({"1010", "1100"})  # the organisation's chart lacks our revenue account
    ship_paid_orders(client, 1)
    deliver(client, clock)
    assert xero.invoices == {}
    refused = exports(client, status="refused")["items"]
    assert [(i["kind"], i["status"]) for i in refused] == [("invoice", "refused")]
    assert "Account code '4000' is not a valid code" in refused[0]["messages"][0]
    report = ok(client.get("/v1/finance/reconciliation"))
    assert not report["clean"]
    assert [(d["check"], d["problem"], d["documents"]) for d in report["money_differences"]] == [
        ("accounting", "refused", [refused[0]["number"]])
    ]

    xero.config.accounts = None  # fixed in Xero: the account is on the chart now
    assert ok(client.post("/v1/finance/accounting/books/backfill", json={}))["queued"] <= 1  # the payment
    queued = ok(client.post("/v1/finance/accounting/books/backfill", json={"include_refused": True}))
    assert refused[0]["number"] in queued["documents"]
    deliver(client, clock)
    assert len(xero.invoices) == 1
    assert exports(client)["counts"].get("exported") == 2, exports(client)
    assert ok(client.get("/v1/finance/reconciliation"))["clean"]


def test_a_total_the_books_hold_differently_fails_reconcile_naming_the_document(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    configure(client)
    connect(client)
    ship_paid_orders(client, 1)
    deliver(client, clock)
    [invoice] = exports(client, kind="invoice")["items"]
    assert invoice["status"] == "exported"
    with app.engine.begin() as conn:
        conn.execute(
            update(finance_export_states)
            .where(finance_export_states.c.document_id == invoice["document_id"])
            .values(remote_total="88.00")
        )
    report = ok(client.get("/v1/finance/reconciliation"))
    assert not report["clean"]
    [diff] = report["money_differences"]
    assert (diff["check"], diff["problem"], diff["theirs"], diff["ours"], diff["documents"]) == (
        "accounting",
        "acknowledged amount",
        "88.00",
        "89.00",
        [invoice["number"]],
    )


def test_a_bad_export_query_is_a_problem_and_an_unknown_connection_is_404(client: TestClient) -> None:
    configure(client)
    connect(client)
    bad = client.get("/v1/finance/accounting/books/exports", params={"status": "lost"})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/finance/accounting/nobody/exports").status_code == 404
    assert client.post("/v1/finance/accounting/nobody/backfill", json={}).status_code == 404


@pytest.fixture
def runner(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SEAMLINE_DATABASE_URL", database_url)
    monkeypatch.delenv("SEAMLINE_ADMIN_TOKEN", raising=False)
    return CliRunner()


def test_the_backfill_command_queues_with_progress_and_twice_is_once(
    client: TestClient, runner: CliRunner, clock: FixedClock
) -> None:
    configure(client)
    ship_paid_orders(client, 2)
    _, xero = connect(client)
    result = runner.invoke(cli, ["accounting", "backfill", "books", "--batch", "3"])
    assert result.exit_code == 0, result.output
    assert "queued 4 documents for xero:books" in result.output
    again = runner.invoke(cli, ["accounting", "backfill", "books"])
    assert "queued 0 documents" in again.output
    # The command ran on the real clock: its deliveries are due from then, past the tests' fixed clock.
    clock.advance(max(0.0, (datetime.now(UTC) - clock.now()).total_seconds()) + 60)
    deliver(client, clock)
    assert len(xero.invoices) == 2
    assert runner.invoke(cli, ["accounting", "backfill", "nobody"]).exit_code == 2
