"""Every write of the published API refuses a body it cannot take, and writes nothing (issue 20, "Input").

The operations are read from ``/openapi.json``, so a new route is walked as soon as it exists. Each one gets
malformed JSON (400), a body of the wrong media type (415), and bodies that are JSON but not what the route
takes: ``null``, a non-object, an object with a field nobody declared (422). A route that declares no body
takes none (or ``{}``); a route whose body is optional (a pick with no lines picks everything) reads an
empty body as "everything", never ``null``. After each operation every table's row count and every
balance are what they were.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from seamline.service import Seamline
from seamline.store.tables import metadata
from tests.integration.helpers import assert_problem, client_with, quad, snapshot
from tests.integration.order_world import SKU, place, seed_channels

JSON = {"Content-Type": "application/json"}
MALFORMED = (b'{"oops": ', b'{"name": "x",,}', b"[1, 2")
NOT_JSON_MEDIA = (
    (b"kind=receipt&qty=1", "application/x-www-form-urlencoded"),  # what `curl -d` sends
    (b'{"kind": "receipt"}', "text/plain"),
    (b"<order/>", "application/xml"),
)
WRONG_JSON = (b"null", b"[]", b'"pick"', b"7", b'{"not_a_field_of_anything": 1}')


def fingerprint(client: TestClient, app: Seamline) -> tuple[Any, ...]:
    """Cheap and complete enough: the row count of every table, and every balance."""
    with app.engine.connect() as conn:
        counts = tuple(
            (table.name, conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in metadata.sorted_tables
        )
    return counts, snapshot(client, app)


def seeded_ids(client: TestClient) -> dict[str, str]:
    """A live target for every path parameter: an allocated order, a hold, a draft transfer, an open count and
    a live token, so a write that wrongly went ahead would change something."""
    seed_channels(client)
    for location in ("WH", "STORE-1"):
        assert (
            client.post("/v1/movements", json={"kind": "receipt", "sku": SKU, "qty": 20, "to": location}).status_code
            == 201
        )
    order = place(client, external_id="W-BAD-1")
    hold = client.post("/v1/holds", json={"channel": "web", "lines": [{"sku": SKU, "qty": 1}], "ttl_seconds": 600})
    assert hold.status_code == 201, hold.text
    transfer = client.post("/v1/transfers", json={"from": "WH", "to": "STORE-2", "lines": [{"sku": SKU, "qty": 1}]})
    assert transfer.status_code == 201, transfer.text
    count = client.post("/v1/counts", json={"location": "STORE-1", "skus": [SKU]})
    assert count.status_code == 201, count.text
    token = client.post("/v1/tokens", json={"name": "till-soho", "scopes": ["location:STORE-1"]})
    assert token.status_code == 201, token.text
    return {
        "order_id": order["id"],
        "hold_id": hold.json()["id"],
        "transfer_id": transfer.json()["id"],
        "count_id": count.json()["id"],
        "token_id": token.json()["id"],
        "sku": SKU,
        "location": "STORE-1",
        "store": "STORE-1",
        "day": "2026-11-27",
        "reference": "PO-1",
        "delivery_id": "1",
        "message_id": "1",
        "channel": "web",
    }


def path_for(path: str, ids: dict[str, str]) -> str:
    code = "OVS-001" if path.startswith("/v1/styles/") else "web" if path.startswith("/v1/channels/") else "WH"
    for name, value in {**ids, "code": code}.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, path
    return path


def writes(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    spec = client.get("/openapi.json").json()
    return [
        (method.upper(), path, operation)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if method in ("post", "put", "patch", "delete") and not path.startswith("/webhooks/")
    ]


def test_every_write_refuses_a_body_it_cannot_take_and_writes_nothing(client: TestClient, app: Seamline) -> None:
    ids = seeded_ids(client)
    operations = writes(client)
    assert len(operations) >= 40, [f"{m} {p}" for m, p, _ in operations]
    before = fingerprint(client, app)
    for method, template, _operation in operations:
        path = path_for(template, ids)
        for raw in MALFORMED:
            response = client.request(method, path, content=raw, headers=JSON)
            assert_problem(response, 400, "malformed-json")
        for raw, media_type in NOT_JSON_MEDIA:
            response = client.request(method, path, content=raw, headers={"Content-Type": media_type})
            body = assert_problem(response, 415, "unsupported-media-type")
            assert "Content-Type: application/json" in body["detail"], body
        for raw in WRONG_JSON:
            response = client.request(method, path, content=raw, headers=JSON)
            body = assert_problem(response, 422, "validation-error")
            assert body["errors"], (method, template, raw, body)
        assert fingerprint(client, app) == before, f"{method} {template} wrote"
    assert app.reconcile().clean


def test_a_pick_with_a_null_body_is_422_and_an_empty_one_picks_everything(client: TestClient, app: Seamline) -> None:
    ids = seeded_ids(client)
    pick = f"/v1/orders/{ids['order_id']}/pick"
    before = fingerprint(client, app)
    for raw, field in ((b"null", "body"), (b" null\n", "body"), (b"[]", "body"), (b'{"all": true}', "all")):
        assert_problem(client.post(pick, content=raw, headers=JSON), 422, "validation-error", field)
    assert fingerprint(client, app) == before
    on_hand_before = quad(client, SKU, "WH")[0]
    picked = client.post(pick)  # no body at all: every allocated unit
    assert picked.status_code == 200, picked.text
    assert quad(client, SKU, "WH")[0] == on_hand_before - 1
    assert app.reconcile().clean


def test_a_route_without_a_body_takes_none_or_an_empty_object(client: TestClient, app: Seamline) -> None:
    ids = seeded_ids(client)
    assert client.post(f"/v1/orders/{ids['order_id']}/pick", json={}).status_code == 200
    before = fingerprint(client, app)
    pack = f"/v1/orders/{ids['order_id']}/pack"
    assert_problem(client.post(pack, content=b'{"oops": ', headers=JSON), 400, "malformed-json")
    assert_problem(client.post(pack, json={"tracking": "1Z"}), 422, "validation-error", "body")
    assert fingerprint(client, app) == before
    packed = client.post(pack, json={})
    assert packed.status_code == 200, packed.text
    assert packed.json()["status"] == "packed"


def test_a_json_body_without_content_type_is_read_as_json(client: TestClient, app: Seamline) -> None:
    """``curl --data-binary @receipt.json`` without ``-H 'Content-Type: application/json'``."""
    seed_channels(client)
    raw = b'{"kind": "receipt", "sku": "OVS-001-NVY-M", "qty": 3, "to": "WH"}'
    response = client.post("/v1/movements", content=raw)
    assert "content-type" not in response.request.headers
    assert response.status_code == 201, response.text
    assert quad(client, SKU, "WH")[0] == 3
    hold = client.post("/v1/holds", content=b'{"channel": "web", "lines": [{"sku": "OVS-001-NVY-M", "qty": 1}]}')
    assert hold.status_code == 201, hold.text


def test_curl_form_data_is_415_naming_the_header_to_send_even_without_a_token(
    client: TestClient, app: Seamline
) -> None:
    seed_channels(client)
    before = fingerprint(client, app)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for caller in (client, client_with(client, None)):
        response = caller.post("/v1/movements", content=b'{"kind": "receipt", "sku": "X", "qty": 1}', headers=form)
        body = assert_problem(response, 415, "unsupported-media-type")
        assert "Content-Type: application/json" in body["detail"]
    vendor = client.post(
        "/v1/movements",
        content=b'{"kind": "receipt", "sku": "OVS-001-NVY-M", "qty": 1, "to": "WH"}',
        headers={"Content-Type": "application/vnd.seamline+json; charset=utf-8"},
    )
    assert vendor.status_code == 201, "application/*+json is JSON"
    assert fingerprint(client, app) != before


def test_the_published_contract_never_offers_null_as_a_body(client: TestClient) -> None:
    """An optional body may be left out; the OpenAPI document must not say ``null`` is one."""
    spec = client.get("/openapi.json").json()
    optional = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                assert {"type": "null"} not in media["schema"].get("anyOf", []), (method, path, media)
            if "requestBody" in operation and not operation["requestBody"].get("required"):
                optional.append(f"{method.upper()} {path}")
    assert "POST /v1/orders/{order_id}/pick" in optional
