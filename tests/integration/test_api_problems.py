"""Problem details as RFC 9457 defines them, and the OpenAPI document listing every answer the API gives."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import ONE_DATABASE
from tests.integration.helpers import assert_problem, client_with
from tests.integration.order_world import SKU, place, seed_channels


def test_an_illegal_transition_keeps_the_http_status_and_names_the_current_one_apart(client: TestClient) -> None:
    """RFC 9457: ``status`` is the HTTP status code, a number; the order's own status is ``current``."""
    seed_channels(client)
    assert client.post("/v1/movements", json={"kind": "receipt", "sku": SKU, "qty": 5, "to": "WH"}).status_code == 201
    order = place(client, external_id="W-RFC-1")
    body = assert_problem(client.post(f"/v1/orders/{order['id']}/pack"), 409, "illegal-transition")
    assert body["status"] == 409
    assert body["current"] == "allocated"
    transfer = client.post("/v1/transfers", json={"from": "WH", "to": "STORE-2", "lines": [{"sku": SKU, "qty": 1}]})
    assert transfer.status_code == 201, transfer.text
    body = assert_problem(client.post(f"/v1/transfers/{transfer.json()['id']}/receive"), 409, "illegal-transition")
    assert (body["status"], body["current"]) == (409, "open")


@ONE_DATABASE
def test_metrics_documents_the_401_and_403_it_answers(client: TestClient) -> None:
    responses = client.get("/openapi.json").json()["paths"]["/metrics"]["get"]["responses"]
    assert {"200", "401", "403"} <= set(responses)
    assert "application/problem+json" in responses["401"]["content"]
    assert_problem(client_with(client, None).get("/metrics"), 401, "missing-token")


@ONE_DATABASE
def test_every_json_write_documents_the_415_it_answers_to_a_body_that_is_not_json(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    undocumented = [
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if method in ("post", "put") and not path.startswith("/webhooks/") and "415" not in operation["responses"]
    ]
    assert undocumented == []
