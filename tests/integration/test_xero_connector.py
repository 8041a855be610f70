"""The Xero connector through the integration dispatcher, against the Xero sandbox (issue 6): every finance
document reaches Xero exactly once, however often the delivery is retried, and what Xero refuses is a dead
letter that the integration status shows."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from seamline.channels.xero import XeroClient, XeroConfig, XeroExporter, XeroSettings, accounting_subscriber
from seamline.domain.clock import FixedClock
from seamline.integration import Integration, install
from seamline.sandbox.xero import XeroSandbox, XeroSandboxConfig
from seamline.service import Seamline
from seamline.service.finance import FinanceDesk
from seamline.store.tables import deliveries, finance_exports
from tests.conftest import receive
from tests.integration.finance_world import DAY, configure, ok, sell
from tests.integration.order_world import SKU, fulfil, place

NAME = "xero:books"


@dataclass
class Books:
    sandbox: XeroSandbox
    integration: Integration
    clock: FixedClock

    def deliver(self, rounds: int = 8) -> None:
        """Run the dispatcher as time passes: each round is an hour later, past any backoff."""
        for _ in range(rounds):
            self.integration.dispatcher.run_once(NAME)
            self.clock.advance(3600)


def books_for(app: Seamline, clock: FixedClock, sandbox: XeroSandbox) -> Books:
    desk = FinanceDesk(app)
    client = XeroClient(
        XeroConfig("http://xero.test/api.xro/2.0", sandbox.config.access_token, sandbox.config.tenant_id),
        transport=sandbox.transport(),
    )
    exporter = XeroExporter(client, desk, desk.current_config, XeroSettings(environment="test"))
    integration = install(app, subscribers=[accounting_subscriber(exporter, rate_per_second=None, max_attempts=6)])
    return Books(sandbox, integration, clock)


@pytest.fixture
def books(app: Seamline, client: TestClient, clock: FixedClock) -> Books:
    return books_for(app, clock, XeroSandbox())


def documents(client: TestClient, **params: str) -> list[dict[str, object]]:
    return ok(client.get("/v1/finance/documents", params=params))["items"]


def exported(app: Seamline) -> dict[str, str]:
    with app.engine.connect() as conn:
        rows = conn.execute(select(finance_exports.c.document_id, finance_exports.c.entity))
        return {r.document_id: r.entity for r in rows}


def a_day_of_business(client: TestClient) -> dict[str, object]:
    """A web order shipped and paid, then partly returned and refunded; a till day counted and closed."""
    configure(client)
    receive(client, SKU, 5)
    order = place(
        client, lines=[{"sku": SKU, "qty": 2, "unit_price": "89.00"}], tenders=[{"type": "card", "amount": "178.00"}]
    )
    fulfil(client, order["id"])
    back = {"order_id": order["id"], "location": "WH", "lines": [{"sku": SKU, "qty": 1, "condition": "sellable"}]}
    ok(client.post("/v1/returns", json=back), 201)
    sell(client, "R-1", "89.00", 1, [("cash", "89.00")])
    base = f"/v1/finance/settlements/STORE-1/{DAY}"
    ok(client.post(f"{base}/count", json={"counted": "189.00", "currency": "EUR"}))
    ok(client.post(f"{base}/close"))
    return order


def test_a_xero_that_fails_twice_then_succeeds_posts_each_document_exactly_once(
    books: Books, client: TestClient, app: Seamline
) -> None:
    books.sandbox.fail_then_succeed(2)
    a_day_of_business(client)
    books.deliver()
    sandbox = books.sandbox
    assert [c.outcome for c in sandbox.calls[:2]] == ["failed", "failed"]
    [invoice] = documents(client, kind="invoice")
    assert [i.data["InvoiceNumber"] for i in sandbox.invoices.values()] == [invoice["number"]]
    [note] = documents(client, kind="credit_note")
    assert [c.data["CreditNoteNumber"] for c in sandbox.credit_notes.values()] == [note["number"]]
    assert sorted(p["Reference"] for p in sandbox.payments.values()) == sorted(
        str(d["number"]) for d in documents(client, kind="payment") + documents(client, kind="refund")
    )
    [journal] = documents(client, kind="journal")  # the till day: cash only
    assert [j["Narration"].split(":")[0] for j in sandbox.manual_journals.values()] == [journal["number"]]
    [xero_invoice] = sandbox.invoices.values()
    assert (xero_invoice.total, xero_invoice.due) == (Decimal("178.00"), Decimal("0.00"))
    [xero_note] = sandbox.credit_notes.values()
    assert xero_note.due == Decimal("0.00"), "the refund paid the credit note out"
    posted = exported(app)
    assert set(posted.values()) == {"Invoice", "Payment", "CreditNote", "ManualJournal"}
    assert len(posted) == 5
    created = [c for c in sandbox.calls if c.outcome == "ok" and c.method == "PUT"]
    assert len(created) == 5, "five documents, five creates: the retries never posted twice"
    status = ok(client.get("/v1/integration/status"))
    [xero] = [s for s in status["subscribers"] if s["name"] == NAME]
    assert (xero["dead_letters"], xero["pending"]) == (0, 0)


def test_a_lost_answer_is_replayed_by_its_idempotency_key_not_posted_again(books: Books, client: TestClient) -> None:
    books.sandbox.fail_next(1, after_apply=True)  # Xero created the invoice; the answer never arrived
    a_day_of_business(client)
    books.deliver()
    assert len(books.sandbox.invoices) == 1
    assert [c.outcome for c in books.sandbox.calls if c.path.endswith("/Invoices")] == [
        "failed_after_apply",
        "replayed",
    ]


def test_a_rate_limited_call_waits_for_retry_after_and_does_not_use_up_an_attempt(
    books: Books, client: TestClient, app: Seamline
) -> None:
    books.sandbox.rate_limit_next(3, retry_after=30)
    a_day_of_business(client)
    books.deliver()
    assert len(books.sandbox.invoices) == 1
    with app.engine.connect() as conn:
        statuses = {r.status for r in conn.execute(select(deliveries.c.status).where(deliveries.c.subscriber == NAME))}
    assert statuses == {"delivered"}


def test_a_document_xero_refuses_is_a_dead_letter_in_the_integration_status(
    app: Seamline, client: TestClient, clock: FixedClock
) -> None:
    books = books_for(app, clock, XeroSandbox(XeroSandboxConfig(accounts=frozenset({"1010", "1100"}))))
    a_day_of_business(client)
    books.deliver()
    status = ok(client.get("/v1/integration/status"))
    [xero] = [s for s in status["subscribers"] if s["name"] == NAME]
    assert xero["dead_letters"] >= 1
    dead = ok(client.get("/v1/integration/dead-letters", params={"subscriber": NAME}))["items"]
    assert any("Account code '4000' is not a valid code" in str(d["last_error"]) for d in dead)
    assert books.sandbox.invoices == {}


def test_an_exchange_paid_with_the_goods_brought_back_allocates_the_credit_note_to_the_new_invoice(
    books: Books, client: TestClient
) -> None:
    configure(client)
    receive(client, SKU, 5)
    receive(client, "OVS-001-NVY-L", 5)
    order = place(client, tenders=[{"type": "card", "amount": "89.00"}])
    fulfil(client, order["id"])
    exchange = {
        "order_id": order["id"],
        "location": "WH",
        "return_lines": [{"sku": SKU, "qty": 1, "condition": "sellable"}],
        "lines": [{"sku": "OVS-001-NVY-L", "qty": 1}],
        "fulfil": "ship",
    }
    new_order = ok(client.post("/v1/exchanges", json=exchange), 201)["order"]
    fulfil(client, new_order["id"])
    books.deliver()
    sandbox = books.sandbox
    [note] = sandbox.credit_notes.values()
    [allocation] = note.allocations
    assert allocation["Amount"] == Decimal("89.00")
    second = next(i for i in sandbox.invoices.values() if i.id == allocation["Invoice"]["InvoiceID"])
    assert second.due == 0
    assert len(sandbox.payments) == 1, "only the card paid money: the exchange credit is an allocation"
