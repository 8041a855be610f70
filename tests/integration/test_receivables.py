"""Accounts receivable per customer and per wholesale account (issue 17), through the accounting connections'
wiring and the Xero and QuickBooks sandboxes: each party's documents are booked to one contact / customer,
created once per connection (found again, not duplicated, when the answer to its creation was lost); a
wholesale invoice is due on its account's terms; a buyer we never identified stays on the channel's cash
customer; a contact the books refuse refuses its document with their message, and once fixed the document
is exported again. QuickBooks posts documents in batches and reads each item's own answer."""

from __future__ import annotations

import functools
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from seamline.channels.quickbooks import connector as qbo_connector
from seamline.channels.quickbooks import wiring as qbo_wiring
from seamline.channels.xero import connector as xero_connector
from seamline.channels.xero import wiring as xero_wiring
from seamline.domain.clock import FixedClock
from seamline.integration import Integration
from seamline.sandbox.quickbooks import QuickBooksSandbox
from seamline.sandbox.xero import XeroSandbox
from seamline.service import Seamline
from seamline.store.tables import accounting_contacts
from tests.conftest import receive
from tests.integration.finance_world import configure, ok
from tests.integration.order_world import SKU, fulfil, place

JANE = {"email": "jane.doe@example.com", "name": "Jane Doe"}


@pytest.fixture(autouse=True)
def unpaced(monkeypatch: pytest.MonkeyPatch) -> None:
    """The connections' subscribers without the platforms' pace (on the wall clock): these tests run the
    dispatcher on the fixed clock."""
    xero = functools.partial(xero_connector.accounting_subscriber, rate_per_second=None)
    monkeypatch.setattr(xero_wiring, "accounting_subscriber", xero)
    qbo = functools.partial(qbo_connector.accounting_subscriber, rate_per_second=None)
    monkeypatch.setattr(qbo_wiring, "accounting_subscriber", qbo)


def deliver(client: TestClient, clock: FixedClock, rounds: int = 8) -> None:
    integration: Integration = client.app.state.integration  # type: ignore[attr-defined]
    for _ in range(rounds):
        integration.dispatcher.drain()
        clock.advance(3600)


def connect_xero(client: TestClient, **extra: Any) -> XeroSandbox:
    url = f"sandbox:xero-{uuid.uuid4().hex[:8]}"
    settings = {"base_url": url, "access_token": "xero-token", "tenant_id": "tenant-1", **extra}
    ok(client.put("/v1/finance/accounting/books", json={"kind": "xero", "settings": settings}), 201)
    return xero_wiring.sandbox(url, settings)


def connect_qbo(client: TestClient, url: str | None = None, **extra: Any) -> QuickBooksSandbox:
    url = url or f"sandbox:qbo-{uuid.uuid4().hex[:8]}"
    settings = {"base_url": url, "access_token": "qbo-token", "realm_id": "4620816365", **extra}
    response = client.put("/v1/finance/accounting/books", json={"kind": "quickbooks", "settings": settings})
    assert response.status_code in (200, 201), response.text
    return qbo_wiring.sandbox(url, settings)


def wholesale_account(client: TestClient, terms: int | None = 45) -> None:
    body = {"name": "Atelier Nord", "channel": "wholesale", "currency": "EUR", "payment_terms_days": terms}
    saved = ok(client.put("/v1/b2b/accounts/ATELIER", json=body), 201)
    assert saved["payment_terms_days"] == terms


def trade_order(client: TestClient, po: str, qty: int = 2) -> dict[str, Any]:
    body = {"po_number": po, "lines": [{"sku": SKU, "qty": qty}]}
    order = ok(client.post("/v1/b2b/accounts/ATELIER/orders", json=body), 201)
    fulfil(client, order["id"])
    return order


def web_order(client: TestClient, external_id: str, customer: dict[str, str] | None, price: str = "89.00") -> None:
    extra: dict[str, Any] = {"customer": customer} if customer else {}
    order = place(
        client,
        external_id=external_id,
        lines=[{"sku": SKU, "qty": 1, "unit_price": price}],
        tenders=[{"type": "card", "amount": price}],
        **extra,
    )
    fulfil(client, order["id"])


def exports(client: TestClient, **params: Any) -> dict[str, Any]:
    return ok(client.get("/v1/finance/accounting/books/exports", params=params))


def contacts_on_record(app: Seamline) -> dict[str, str]:
    with app.engine.connect() as conn:
        rows = conn.execute(select(accounting_contacts.c.party, accounting_contacts.c.external_id)).all()
    return {r.party: r.external_id for r in rows}


def test_xero_books_each_customer_and_wholesale_account_to_one_contact_created_once(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    configure(client)
    receive(client, SKU, 20)
    wholesale_account(client, terms=45)
    xero = connect_xero(client)
    xero.fail_next(1, after_apply=True)  # the first contact is made, but its answer is lost
    trade_order(client, "PO-1")
    trade_order(client, "PO-2")
    web_order(client, "W-1", JANE)
    web_order(client, "W-2", {"email": "JANE.DOE@Example.com", "name": "Jane Doe"})  # the same customer
    web_order(client, "W-3", None)  # a buyer we never identified
    deliver(client, clock)

    assert exports(client)["counts"] == {"exported": 8}  # 5 invoices, the 3 web orders' payments (trade: on terms)
    made = [c for c in xero.calls if c.path.endswith("/Contacts") and c.method == "PUT"]
    assert len(made) == 2, "one contact per party, the lost answer found again by ContactNumber"
    by_number = {c["ContactNumber"]: c for c in xero.contact_records.values()}
    assert set(by_number) == {"account:ATELIER", next(k for k in by_number if k.startswith("customer:"))}
    atelier = by_number["account:ATELIER"]
    assert (atelier["Name"], atelier["AccountNumber"]) == ("Atelier Nord (ATELIER)", "ATELIER")
    jane = next(c for n, c in by_number.items() if n.startswith("customer:"))
    assert jane["EmailAddress"] == "jane.doe@example.com"
    assert jane["Name"].startswith("Jane Doe (")
    assert contacts_on_record(app) == {n: c["ContactID"] for n, c in by_number.items()}
    listed = ok(client.get("/v1/finance/accounting/books/contacts"))
    assert listed["target"] == "xero:books"
    assert [(i["party"], i["external_id"], i["name"]) for i in listed["items"]] == sorted(
        (n, c["ContactID"], c["Name"]) for n, c in by_number.items()
    )
    assert client.get("/v1/finance/accounting/nobody/contacts").status_code == 404

    invoices = {d.data["Reference"]: d.data for d in xero.invoices.values()}
    assert invoices["ATELIER/PO-1"]["Contact"]["ContactID"] == atelier["ContactID"]
    assert invoices["ATELIER/PO-2"]["Contact"]["ContactID"] == atelier["ContactID"]
    assert invoices["ATELIER/PO-1"]["DueDate"] == "2027-01-11"  # 2026-11-27 + the account's 45 days
    assert invoices["W-1"]["Contact"]["ContactID"] == invoices["W-2"]["Contact"]["ContactID"] == jane["ContactID"]
    assert invoices["W-3"]["Contact"]["Name"] == "web customers"
    assert ok(client.get("/v1/finance/reconciliation"))["clean"]


def test_a_contact_xero_refuses_refuses_its_invoice_with_xeros_message_and_is_made_once_fixed(
    client: TestClient, clock: FixedClock
) -> None:
    configure(client)
    receive(client, SKU, 5)
    wholesale_account(client, terms=None)
    xero = connect_xero(client)
    by_hand = xero.add_contact("Atelier Nord (ATELIER)")  # someone typed our name into Xero by hand
    trade_order(client, "PO-1")
    deliver(client, clock)
    [refused] = exports(client, status="refused")["items"]
    assert refused["kind"] == "invoice"
    assert refused["messages"] == [
        "contact Atelier Nord (ATELIER): The contact name Atelier Nord (ATELIER) is already assigned to another "
        "contact. The contact name must be unique across all active contacts."
    ]
    assert xero.invoices == {}
    report = ok(client.get("/v1/finance/reconciliation"))
    assert [(d["check"], d["problem"]) for d in report["money_differences"]] == [("accounting", "refused")]

    xero.contacts[by_hand] = "Atelier Nord (old)"  # fixed in Xero: the hand-made contact renamed
    queued = ok(client.post("/v1/finance/accounting/books/backfill", json={"include_refused": True}))
    assert refused["number"] in queued["documents"]
    deliver(client, clock)
    [invoice] = xero.invoices.values()
    assert invoice.data["Contact"]["Name"] == "Atelier Nord (ATELIER)"
    assert invoice.data["DueDate"] == "2026-12-27"  # no terms on the account: the connection's 30 days
    assert ok(client.get("/v1/finance/reconciliation"))["clean"]


def test_quickbooks_batch_exports_the_good_items_and_refuses_the_bad_one_with_its_fault_until_mapped(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    configure(client)
    receive(client, SKU, 20)
    wholesale_account(client)
    url = f"sandbox:qbo-{uuid.uuid4().hex[:8]}"
    qbo = connect_qbo(client, url)
    qbo.config.accounts = frozenset({"1010", "1100", "4000", "4020", "86"})  # 4010 (discounts) has another id
    trade_order(client, "PO-1")
    web_order(client, "W-1", JANE)
    web_order(client, "W-2", JANE, price="79.00")  # sold 10.00 under list: a discount line
    web_order(client, "W-3", None)
    deliver(client, clock)

    batches = [c for c in qbo.calls if c.path.endswith("/batch")]
    assert batches
    assert all(c.status == 200 for c in batches)
    assert max(len(c.body["BatchItemRequest"]) for c in batches) >= 2, "documents went together"
    listed = exports(client)
    [refused] = exports(client, status="refused")["items"]
    assert refused["messages"] == [
        "2500 Invalid Reference Id: Invalid Reference Id : Accounts element id 4010 not found"
    ]
    # The trade invoice (on terms: no payment), two receipts and the payments they carry; W-2's payment
    # waits for its receipt.
    assert listed["counts"] == {"exported": 5, "refused": 1, "pending": 1}, listed
    customers = {c["DisplayName"] for c in qbo.of("Customer")}
    assert "Atelier Nord (ATELIER)" in customers
    assert any(n.startswith("Jane Doe (") for n in customers)
    [invoice] = qbo.of("Invoice")
    [atelier_id] = [i for p, i in contacts_on_record(app).items() if p == "account:ATELIER"]
    assert invoice["CustomerRef"] == {"value": atelier_id}
    assert invoice["DueDate"] == "2027-01-11"
    anonymous = next(r for r in qbo.of("SalesReceipt") if r["PaymentRefNum"] == "W-3")
    assert anonymous["CustomerRef"] == {"value": "1"}  # the cash customer

    connect_qbo(client, url, accounts={"4010": "86"})  # mapped once, on the connection
    queued = ok(client.post("/v1/finance/accounting/books/backfill", json={"include_refused": True}))
    assert refused["number"] in queued["documents"]  # (with W-2's payment if its waiting outlived its retries)
    deliver(client, clock)
    assert exports(client)["counts"] == {"exported": 7}
    receipts = {r["PaymentRefNum"]: r for r in qbo.of("SalesReceipt")}
    assert receipts["W-2"]["Line"][-1]["DiscountLineDetail"]["DiscountAccountRef"] == {"value": "86"}
    assert len(qbo.of("Customer")) == 3, "the default customer and one per party: none made twice"
    assert ok(client.get("/v1/finance/reconciliation"))["clean"]


def test_quickbooks_backfill_exports_what_came_before_the_connection_customers_first_and_once(
    client: TestClient, clock: FixedClock
) -> None:
    configure(client)
    receive(client, SKU, 20)
    wholesale_account(client)
    for po in ("PO-1", "PO-2", "PO-3"):
        trade_order(client, po, qty=1)
    web_order(client, "W-1", JANE)
    qbo = connect_qbo(client)
    deliver(client, clock)
    assert qbo.of("Invoice") == []  # posted before the books existed: nothing announced to them
    assert exports(client)["counts"] == {"pending": 5}  # 3 trade invoices, a web invoice and its payment
    first = ok(client.post("/v1/finance/accounting/books/backfill", json={"limit": 4}))
    assert (first["queued"], first["more"]) == (4, True)
    rest = ok(client.post("/v1/finance/accounting/books/backfill", json={}))
    assert (rest["queued"], rest["more"]) == (1, False)
    assert ok(client.post("/v1/finance/accounting/books/backfill", json={}))["queued"] == 0
    deliver(client, clock)
    assert exports(client)["counts"] == {"exported": 5}
    assert len(qbo.of("Invoice")) == 3
    assert len(qbo.of("SalesReceipt")) == 1
    assert qbo.of("Payment") == []
    posted = [c for c in qbo.calls if c.status == 200 and c.method == "POST"]
    first_customer = next(i for i, c in enumerate(posted) if c.path.endswith("/customer"))
    first_document = next(i for i, c in enumerate(posted) if c.path.endswith(("/batch", "/payment")))
    assert first_customer < first_document, "a party's customer exists before its first document"
    assert len([c for c in posted if c.path.endswith("/customer")]) == 2  # Atelier and Jane, once each
    assert ok(client.post("/v1/finance/accounting/books/backfill", json={}))["queued"] == 0
    assert ok(client.get("/v1/finance/reconciliation"))["clean"]
