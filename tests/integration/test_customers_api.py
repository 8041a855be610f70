"""One customer across channels: orders and sales attach by normalised email, then E.164 phone; a phone
shared by two different emails is recorded as a conflict, never merged."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from seamline.service import Seamline
from tests.conftest import receive
from tests.integration.order_world import (
    SKU,
    all_stock,
    assert_problem,
    order_body,
    place,
    reconciled,  # noqa: F401 - the fixture, used below
    sale_body,
    seed_channels,
    written,
)

pytestmark = pytest.mark.usefixtures("reconciled")


def test_web_order_and_till_sale_of_one_email_share_one_customer(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 1)
    receive(client, SKU, 1, to="STORE-1")
    web = place(client, customer={"email": "  Ada.Lovelace@Example.COM ", "name": "Ada"})
    sale = client.post("/v1/sales", json=sale_body(customer={"email": "ADA.LOVELACE@example.com"})).json()
    assert web["customer_id"] is not None
    assert sale["customer_id"] == web["customer_id"]
    customer = client.get(f"/v1/customers/{web['customer_id']}").json()
    assert (customer["email"], customer["name"]) == ("ada.lovelace@example.com", "Ada")
    found = client.get("/v1/customers", params={"email": "Ada.Lovelace@EXAMPLE.com"}).json()["items"]
    assert [c["id"] for c in found] == [web["customer_id"]]
    mine = client.get("/v1/orders", params={"customer": web["customer_id"]}).json()["items"]
    assert {o["id"] for o in mine} == {web["id"], sale["id"]}


def test_phone_matches_when_there_is_no_email_and_is_stored_in_e164(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 2)
    first = place(client, customer={"email": "bo@example.com", "phone": "+44 7911 123456"})
    second = place(client, "amazon", "AMZ-1", customer={"phone": "07911 123456", "country": "GB"})
    assert second["customer_id"] == first["customer_id"]
    assert client.get(f"/v1/customers/{first['customer_id']}").json()["phone"] == "+447911123456"


def test_a_phone_shared_by_two_emails_is_a_recorded_conflict_not_a_merge(client: TestClient) -> None:
    seed_channels(client)
    receive(client, SKU, 2)
    first = place(client, "web", "W-1", customer={"email": "cy@example.com", "phone": "+447911123456"})
    second = place(client, "web", "W-2", customer={"email": "dee@example.com", "phone": "+447911123456"})
    assert second["customer_id"] != first["customer_id"], "two different emails are two customers"
    conflicts = client.get("/v1/customer-conflicts").json()["items"]
    assert [(c["kind"], c["customer_id"], c["other_customer_id"], c["document"]) for c in conflicts] == [
        ("phone-of-another-customer", second["customer_id"], first["customer_id"], second["id"])
    ]
    by_phone = client.get("/v1/customers", params={"phone": "+44 7911 123456"}).json()["items"]
    assert {c["id"] for c in by_phone} == {first["customer_id"], second["customer_id"]}
    assert client.get(f"/v1/customers/{first['customer_id']}").json()["email"] == "cy@example.com"


def test_invalid_email_or_phone_is_422_and_writes_nothing(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    receive(client, SKU, 1)
    before = (all_stock(client), written(app))
    email = client.post("/v1/orders", json=order_body(customer={"email": "not-an-email"}))
    assert_problem(email, 422, "invalid-email", "customer.email")
    phone = client.post("/v1/orders", json=order_body(customer={"phone": "12345"}))
    assert_problem(phone, 422, "invalid-phone", "customer.phone")
    both = client.post("/v1/orders", json=order_body(customer={"email": "a@b", "phone": "+1 555"}))
    assert_problem(both, 422, "validation-error", "customer.email", "customer.phone")
    assert (all_stock(client), written(app)) == before
    assert_problem(client.get("/v1/customers/cus_nope"), 404, "unknown-customer")
