"""Accounting configured once (issue 6): ``PUT /v1/finance/accounting/{code}`` names a Xero organisation or a
QuickBooks company, the connector wiring turns it into the subscriber that posts every finance document there
exactly once, its token is write-only, and production refuses a sandbox."""

from __future__ import annotations

import dataclasses
import uuid
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from seamline.channels.quickbooks import wiring as quickbooks_wiring
from seamline.channels.wiring import ConnectorWiring
from seamline.channels.xero import wiring as xero_wiring
from seamline.integration import Integration
from seamline.service import Seamline
from seamline.store.tables import accounting_connections
from tests.conftest import receive
from tests.integration.finance_world import configure, ok
from tests.integration.order_world import SKU, assert_problem, fulfil, place


def integration(client: TestClient) -> Integration:
    found: Integration = client.app.state.integration  # type: ignore[attr-defined]
    return found


def wiring(client: TestClient) -> ConnectorWiring:
    found: ConnectorWiring = client.app.state.wiring  # type: ignore[attr-defined]
    return found


def ship_a_paid_web_order(client: TestClient) -> None:
    receive(client, SKU, 3)
    order = place(client, tenders=[{"type": "card", "amount": "89.00"}])
    fulfil(client, order["id"])


def test_xero_configured_once_gets_each_document_exactly_once(client: TestClient) -> None:
    configure(client)
    url = f"sandbox:xero-{uuid.uuid4().hex[:8]}"
    settings = {"base_url": url, "access_token": "xero-token", "tenant_id": "tenant-1"}
    created = ok(client.put("/v1/finance/accounting/books", json={"kind": "xero", "settings": settings}), 201)
    assert (created["target"], created["wired"], created["settings"]["access_token"]) == ("xero:books", True, "***")
    ship_a_paid_web_order(client)
    integration(client).dispatcher.drain()
    integration(client).dispatcher.drain()  # a second pass finds nothing left to post
    xero = xero_wiring.sandbox(url)
    assert [(d.total, d.data["Type"]) for d in xero.invoices.values()] == [(Decimal("89.00"), "ACCREC")]
    assert len(xero.payments) == 1
    assert len(xero.successes("/api.xro/2.0/Invoices")) == 1


def test_quickbooks_configured_once_gets_a_shipped_paid_order_as_one_sales_receipt(client: TestClient) -> None:
    configure(client)
    url = f"sandbox:qbo-{uuid.uuid4().hex[:8]}"
    settings = {"base_url": url, "access_token": "qbo-token", "realm_id": "4620816365"}
    ok(client.put("/v1/finance/accounting/company", json={"kind": "quickbooks", "settings": settings}), 201)
    ship_a_paid_web_order(client)
    integration(client).dispatcher.drain()
    qbo = quickbooks_wiring.sandbox(url)
    [receipt] = qbo.of("SalesReceipt")
    assert receipt["TotalAmt"] == Decimal("89.00")
    assert qbo.of("Invoice") == []


def test_a_token_left_out_of_a_later_put_is_kept_and_never_shown(client: TestClient, app: Seamline) -> None:
    configure(client)
    url = f"sandbox:xero-{uuid.uuid4().hex[:8]}"
    first = {"base_url": url, "access_token": "xero-token", "tenant_id": "tenant-1"}
    ok(client.put("/v1/finance/accounting/books", json={"kind": "xero", "settings": first}), 201)
    later = {"base_url": url, "tenant_id": "tenant-1", "tracking_category": "Store"}
    ok(client.put("/v1/finance/accounting/books", json={"kind": "xero", "settings": later}), 200)
    with app.engine.connect() as conn:
        stored = conn.execute(select(accounting_connections.c.settings)).scalar_one()
    assert (stored["access_token"], stored["tracking_category"]) == ("xero-token", "Store")
    listed = ok(client.get("/v1/finance/accounting"))["items"]
    assert [(c["code"], c["settings"]["access_token"], c["wired"]) for c in listed] == [("books", "***", True)]


def test_production_refuses_a_sandbox_for_the_books(client: TestClient, app: Seamline) -> None:
    configure(client)
    app.settings = dataclasses.replace(app.settings, env="production")
    settings = {"base_url": "sandbox:xero", "access_token": "xero-token", "tenant_id": "tenant-1"}
    response = client.put("/v1/finance/accounting/books", json={"kind": "xero", "settings": settings})
    assert_problem(response, 422, "validation-error", "settings.base_url")
    missing = client.put("/v1/finance/accounting/books", json={"kind": "quickbooks", "settings": {"base_url": "x"}})
    assert_problem(missing, 422, "validation-error", "settings.realm_id", "settings.access_token")
    with app.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(accounting_connections)).scalar_one() == 0
    assert [code for code in wiring(client).wired() if code.startswith("accounting:")] == []
