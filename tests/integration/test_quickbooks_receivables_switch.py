"""Switching a QuickBooks connection's ``receivables`` from ``per_channel`` to ``per_customer`` (issue 17) does
not move what follows an invoice to another customer: QuickBooks links a Payment to an Invoice only under the
invoice's own customer (a mismatch is ``620 TxnID cannot be linked``, which the sandbox answers as the real
company does), so the payment, the credit memo and the refund of an invoice booked on the channel's customer
are booked on it too; a new order's documents go to its own customer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from seamline.channels.quickbooks import QuickBooksClient, QuickBooksConfig, QuickBooksExporter, QuickBooksSettings
from seamline.channels.quickbooks.client import QuickBooksRejected
from seamline.finance import Document
from seamline.sandbox.quickbooks import QuickBooksSandbox
from seamline.service import Seamline
from seamline.service.finance import FinanceDesk
from seamline.service.receivables import ReceivableParties
from tests.conftest import receive
from tests.integration.finance_world import configure, ok
from tests.integration.order_world import SKU, fulfil, place

ADA = {"email": "ada@example.com", "name": "Ada Lovelace"}


def documents(client: TestClient, order_id: str) -> dict[str, Document]:
    items = ok(client.get("/v1/finance/documents", params={"order_id": order_id}))["items"]
    return {d["kind"]: Document.from_json(d) for d in items}


def test_a_payment_credit_memo_and_refund_follow_the_customer_their_invoice_was_booked_on(
    app: Seamline, client: TestClient
) -> None:
    sandbox = QuickBooksSandbox()
    qbo = QuickBooksClient(
        QuickBooksConfig("http://qbo.test", sandbox.config.realm_id, sandbox.config.access_token),
        transport=sandbox.transport(),
    )
    desk = FinanceDesk(app)
    settings = QuickBooksSettings(environment="test", sales_receipts=False)  # invoice + payment, not a receipt
    per_channel = QuickBooksExporter(qbo, desk, desk.current_config, settings)
    per_customer = QuickBooksExporter(qbo, desk, desk.current_config, settings, ReceivableParties(app))
    configure(client)
    receive(client, SKU, 5)
    first = place(client, external_id="W-1", customer=ADA, tenders=[{"type": "card", "amount": "89.00"}])
    fulfil(client, first["id"])
    docs = documents(client, first["id"])
    assert per_channel.export(docs["invoice"]) == "created"
    [invoice] = sandbox.of("Invoice")
    assert invoice["CustomerRef"] == {"value": "1"}  # the channel's customer

    # The connection now keeps receivables per customer: the invoice's payment still goes to customer 1.
    assert per_customer.export(docs["payment"]) == "created"
    [payment] = sandbox.of("Payment")
    assert payment["CustomerRef"] == {"value": "1"}
    assert invoice["Balance"] == 0
    back = {"order_id": first["id"], "location": "WH", "lines": [{"sku": SKU, "qty": 1, "condition": "sellable"}]}
    ok(client.post("/v1/returns", json=back), 201)
    docs = documents(client, first["id"])
    assert per_customer.export(docs["credit_note"]) == "created"
    assert per_customer.export(docs["refund"]) == "created"
    [memo] = sandbox.of("CreditMemo")
    assert memo["CustomerRef"] == {"value": "1"}
    [refund] = sandbox.of("JournalEntry")
    assert refund["Line"][0]["JournalEntryLineDetail"]["Entity"]["EntityRef"] == {"value": "1"}

    # A new order of Ada's is hers from the start, invoice and payment alike.
    second = place(client, external_id="W-2", customer=ADA, tenders=[{"type": "card", "amount": "89.00"}])
    fulfil(client, second["id"])
    docs = documents(client, second["id"])
    assert per_customer.export(docs["invoice"]) == "created"
    assert per_customer.export(docs["payment"]) == "created"
    [ada] = [c for c in sandbox.of("Customer") if c["DisplayName"].startswith("Ada Lovelace")]
    new_invoice = next(i for i in sandbox.of("Invoice") if i["Id"] != invoice["Id"])
    new_payment = next(p for p in sandbox.of("Payment") if p["Id"] != payment["Id"])
    assert new_invoice["CustomerRef"] == new_payment["CustomerRef"] == {"value": ada["Id"]}


def test_the_sandbox_refuses_a_payment_linked_to_another_customers_invoice() -> None:
    sandbox = QuickBooksSandbox()
    qbo = QuickBooksClient(
        QuickBooksConfig("http://qbo.test", sandbox.config.realm_id, sandbox.config.access_token),
        transport=sandbox.transport(),
    )
    other = qbo.create("Customer", {"DisplayName": "Someone else"}, request_id="c-1")["Customer"]["Id"]
    line = {"Amount": 10.0, "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": {"ItemRef": {"value": "1"}}}
    body: dict[str, Any] = {"CustomerRef": {"value": "1"}, "Line": [line]}
    invoice = qbo.create("Invoice", body, request_id="i-1")["Invoice"]
    payment = {
        "TotalAmt": 10.0,
        "CustomerRef": {"value": other},
        "Line": [{"Amount": 10.0, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
    }
    with pytest.raises(QuickBooksRejected) as caught:
        qbo.create("Payment", payment, request_id="p-1")
    assert [code for code, _ in caught.value.errors] == ["620"]
    assert sandbox.of("Payment") == []
    assert sandbox.entities["Invoice"][invoice["Id"]]["Balance"] == Decimal("10.00")
