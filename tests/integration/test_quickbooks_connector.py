"""The QuickBooks Online connector through the integration dispatcher, against the QuickBooks sandbox: a
web order paid at once is a SalesReceipt, a wholesale order on terms an Invoice, a return a CreditMemo and
its refund a JournalEntry naming the customer, a store day a balanced JournalEntry; each posted once."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from seamline.channels.quickbooks import (
    QuickBooksClient,
    QuickBooksConfig,
    QuickBooksExporter,
    QuickBooksSettings,
    accounting_subscriber,
)
from seamline.channels.quickbooks.client import QuickBooksRejected, QuickBooksUnavailable
from seamline.domain.clock import FixedClock
from seamline.finance import Document
from seamline.integration import Integration, install
from seamline.sandbox.quickbooks import QuickBooksSandbox
from seamline.service import Seamline
from seamline.service.finance import FinanceDesk
from tests.conftest import receive
from tests.integration.finance_world import DAY, configure, ok, sell
from tests.integration.order_world import SKU, fulfil, place

NAME = "quickbooks:books"


@dataclass
class Books:
    sandbox: QuickBooksSandbox
    integration: Integration
    exporter: QuickBooksExporter
    clock: FixedClock

    def deliver(self, rounds: int = 8) -> None:
        for _ in range(rounds):
            self.integration.dispatcher.run_once(NAME)
            self.clock.advance(3600)


@pytest.fixture
def books(app: Seamline, client: TestClient, clock: FixedClock) -> Books:
    sandbox = QuickBooksSandbox()
    desk = FinanceDesk(app)
    qbo = QuickBooksClient(
        QuickBooksConfig("http://qbo.test", sandbox.config.realm_id, sandbox.config.access_token),
        transport=sandbox.transport(),
    )
    exporter = QuickBooksExporter(qbo, desk, desk.current_config, QuickBooksSettings(environment="test"))
    # One call per document here (the batch is tested in test_quickbooks_batch.py).
    subscriber = accounting_subscriber(exporter, rate_per_second=None, max_attempts=6, batch=False)
    integration = install(app, subscribers=[subscriber])
    return Books(sandbox, integration, exporter, clock)


def test_each_kind_of_document_becomes_its_quickbooks_entity_once_despite_failures(
    books: Books, client: TestClient
) -> None:
    books.sandbox.fail_then_succeed(2)
    configure(client)
    receive(client, SKU, 5)
    web = place(client, tenders=[{"type": "card", "amount": "89.00"}])
    fulfil(client, web["id"])
    trade = place(client, "wholesale", "PO-7", lines=[{"sku": SKU, "qty": 2}])
    fulfil(client, trade["id"])
    back = {"order_id": web["id"], "location": "WH", "lines": [{"sku": SKU, "qty": 1, "condition": "sellable"}]}
    ok(client.post("/v1/returns", json=back), 201)
    sell(client, "R-1", "89.00", 1, [("card", "89.00")])
    ok(client.post(f"/v1/finance/settlements/STORE-1/{DAY}/close"))
    books.deliver()
    sandbox = books.sandbox
    [receipt] = sandbox.of("SalesReceipt")
    assert (receipt["TotalAmt"], receipt["DepositToAccountRef"]) == (Decimal("89.00"), {"value": "1010"})
    [invoice] = sandbox.of("Invoice")
    assert (invoice["TotalAmt"], invoice["DueDate"]) == (Decimal("76.00"), "2026-12-27")  # wholesale: 38.00 each
    assert sandbox.of("Payment") == [], "the web order's payment is part of its sales receipt"
    [memo] = sandbox.of("CreditMemo")
    assert memo["TotalAmt"] == Decimal("89.00")
    settlement, refund = sorted(sandbox.of("JournalEntry"), key=lambda j: j["DocNumber"])  # JNL-, RF-
    assert refund["DocNumber"].startswith("RF-")
    assert refund["Line"][0]["JournalEntryLineDetail"]["Entity"]["EntityRef"] == {"value": "1"}
    assert settlement["TotalAmt"] > 0
    assert [c.outcome for c in sandbox.calls[:2]] == ["failed", "failed"]
    assert len([c for c in sandbox.calls if c.outcome == "ok"]) == 5
    numbers = [e["DocNumber"] for kind in ("SalesReceipt", "Invoice", "CreditMemo") for e in sandbox.of(kind)]
    assert all(len(n) <= 21 for n in numbers)


def test_a_post_whose_request_id_was_forgotten_is_found_by_its_doc_number_not_posted_twice(
    books: Books, client: TestClient
) -> None:
    configure(client)
    receive(client, SKU, 5)
    trade = place(client, "wholesale", "PO-8", lines=[{"sku": SKU, "qty": 1}])
    fulfil(client, trade["id"])
    [doc] = ok(client.get("/v1/finance/documents", params={"kind": "invoice"}))["items"]
    document = Document.from_json(doc)
    books.sandbox.fail_next(1, after_apply=True)
    with pytest.raises(QuickBooksUnavailable, match="503"):
        books.exporter.export(document)
    books.sandbox._stored.clear()  # QuickBooks no longer remembers the requestid
    assert books.exporter.export(document) == "found"
    assert len(books.sandbox.of("Invoice")) == 1
    assert books.exporter.export(document) == "exported_before"


def test_the_sandbox_refuses_an_unbalanced_journal_and_a_receivable_line_without_a_customer() -> None:
    sandbox = QuickBooksSandbox()
    qbo = QuickBooksClient(
        QuickBooksConfig("http://qbo.test", sandbox.config.realm_id, sandbox.config.access_token),
        transport=sandbox.transport(),
    )
    line = {"Amount": 10, "DetailType": "JournalEntryLineDetail"}
    unbalanced = {
        "Line": [
            {**line, "JournalEntryLineDetail": {"PostingType": "Debit", "AccountRef": {"value": "1000"}}},
            {**line, "Amount": 9, "JournalEntryLineDetail": {"PostingType": "Credit", "AccountRef": {"value": "4000"}}},
        ]
    }
    with pytest.raises(QuickBooksRejected, match="must be balanced"):
        qbo.create("JournalEntry", unbalanced, request_id="r-1")
    no_customer = {
        "Line": [
            {**line, "JournalEntryLineDetail": {"PostingType": "Debit", "AccountRef": {"value": "1100"}}},
            {**line, "JournalEntryLineDetail": {"PostingType": "Credit", "AccountRef": {"value": "4000"}}},
        ]
    }
    with pytest.raises(QuickBooksRejected, match="choose a customer"):
        qbo.create("JournalEntry", no_customer, request_id="r-2")
    with pytest.raises(QuickBooksRejected, match="UnitPrice"):
        qbo.create(
            "Invoice",
            {
                "CustomerRef": {"value": "1"},
                "Line": [
                    {
                        "Amount": 10,
                        "DetailType": "SalesItemLineDetail",
                        "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 2, "UnitPrice": 4},
                    }
                ],
            },
            request_id="r-3",
        )
