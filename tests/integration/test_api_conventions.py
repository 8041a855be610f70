"""API conventions (DESIGN 10 and 13): Idempotency-Key, body limits, malformed JSON, problem+json for every
error, /healthz, /metrics, /openapi.json and trace ids."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from seamline.api.deps import principal_async
from seamline.api.schemas import HoldIn
from seamline.service import Principal, Seamline
from seamline.store.tables import idempotency_records
from tests.conftest import ONE_DATABASE, OVERSHIRT, receive, seed_world
from tests.integration.helpers import (
    assert_nothing_written,
    assert_problem,
    client_with,
    issue_token,
    movement_count,
    quad,
    snapshot,
)

SKU = "OVS-001-NVY-M"
HOLD = {"channel": "web", "lines": [{"sku": SKU, "qty": 2}], "ttl_seconds": 600}
MIB = 1024 * 1024


def idempotency_rows(app: Seamline) -> int:
    with app.engine.connect() as conn:
        count: int = conn.execute(select(func.count()).select_from(idempotency_records)).scalar_one()
    return count


# ---------------------------------------------------------------------------------------------- Idempotency-Key
def test_same_key_and_body_replays_the_first_hold_and_holds_the_stock_once(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    receive(client, SKU, 5)
    first = client.post("/v1/holds", json=HOLD, headers={"Idempotency-Key": "checkout-42"})
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    second = client.post("/v1/holds", json=HOLD, headers={"Idempotency-Key": "checkout-42"})
    assert second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert quad(client, SKU, "WH") == (5, 0, 2, 3), "held once"
    assert app.reconcile().clean


def test_same_key_with_a_different_body_is_409_idempotency_key_reused_and_writes_nothing(
    client: TestClient, app: Seamline
) -> None:
    seed_world(client)
    receive(client, SKU, 5)
    assert client.post("/v1/holds", json=HOLD, headers={"Idempotency-Key": "k1"}).status_code == 201
    before = snapshot(client, app)
    other = {**HOLD, "lines": [{"sku": SKU, "qty": 3}]}
    assert_problem(
        client.post("/v1/holds", json=other, headers={"Idempotency-Key": "k1"}), 409, "idempotency-key-reused"
    )
    receipt = {"kind": "receipt", "sku": SKU, "qty": 1, "to": "WH"}
    response = client.post("/v1/movements", json=receipt, headers={"Idempotency-Key": "k1"})
    assert_problem(response, 409, "idempotency-key-reused")
    assert_nothing_written(client, app, before)
    assert quad(client, SKU, "WH") == (5, 0, 2, 3)


def test_the_same_key_from_different_principals_is_independent(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    receive(client, SKU, 5)
    web = client_with(client, issue_token(client, "channel:web"))
    mine = client.post("/v1/holds", json=HOLD, headers={"Idempotency-Key": "same"})
    theirs = web.post("/v1/holds", json=HOLD, headers={"Idempotency-Key": "same"})
    assert (mine.status_code, theirs.status_code) == (201, 201), theirs.text
    assert "idempotent-replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    assert quad(client, SKU, "WH") == (5, 0, 4, 1)
    assert app.reconcile().clean


def test_a_failed_request_is_not_stored_so_a_retry_after_a_receipt_succeeds(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    receive(client, SKU, 1)
    short = client.post("/v1/holds", json=HOLD, headers={"Idempotency-Key": "retry-me"})
    assert assert_problem(short, 409, "insufficient-stock")["shortages"] == [
        {"sku": SKU, "requested": 2, "available": 1, "location": None, "bound": "sources"}
    ]
    assert idempotency_rows(app) == 0
    receive(client, SKU, 4)
    retried = client.post("/v1/holds", json=HOLD, headers={"Idempotency-Key": "retry-me"})
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    again = client.post("/v1/holds", json=HOLD, headers={"Idempotency-Key": "retry-me"})
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == retried.json()["id"]
    assert quad(client, SKU, "WH") == (5, 0, 2, 3)


def test_a_refused_request_with_a_key_is_not_stored_either(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    bad = {"kind": "receipt", "sku": SKU, "qty": 0, "to": "WH"}
    assert_problem(client.post("/v1/movements", json=bad, headers={"Idempotency-Key": "m1"}), 422, "validation-error")
    unknown = {"kind": "receipt", "sku": "NOPE-1", "qty": 1, "to": "WH"}
    assert_problem(client.post("/v1/movements", json=unknown, headers={"Idempotency-Key": "m1"}), 422, "unknown-sku")
    assert idempotency_rows(app) == 0
    good = {"kind": "receipt", "sku": SKU, "qty": 3, "to": "WH"}
    assert client.post("/v1/movements", json=good, headers={"Idempotency-Key": "m1"}).status_code == 201


def test_a_movement_posted_twice_with_one_key_is_recorded_once(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    body = {"kind": "receipt", "sku": SKU, "qty": 5, "to": "WH"}
    first = client.post("/v1/movements", json=body, headers={"Idempotency-Key": "po-1001-line-1"})
    second = client.post("/v1/movements", json=body, headers={"Idempotency-Key": "po-1001-line-1"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]
    assert movement_count(app) == 1
    assert quad(client, SKU, "WH") == (5, 0, 0, 5)


def test_a_hold_release_replayed_by_key_answers_the_same(client: TestClient) -> None:
    seed_world(client)
    receive(client, SKU, 5)
    hold = client.post("/v1/holds", json=HOLD).json()
    first = client.post(f"/v1/holds/{hold['id']}/release", headers={"Idempotency-Key": "rel-1"})
    second = client.post(f"/v1/holds/{hold['id']}/release", headers={"Idempotency-Key": "rel-1"})
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert second.json()["status"] == "released"
    assert quad(client, SKU, "WH") == (5, 0, 0, 5)


def test_an_idempotency_key_over_200_characters_is_422(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    before = snapshot(client, app)
    body = {"kind": "receipt", "sku": SKU, "qty": 1, "to": "WH"}
    response = client.post("/v1/movements", json=body, headers={"Idempotency-Key": "k" * 201})
    assert_problem(response, 422, "validation-error", "Idempotency-Key")
    assert_nothing_written(client, app, before)


# ---------------------------------------------------------------------------------------------- body limits
def padded_receipt(size: int) -> bytes:
    """A valid receipt JSON of exactly ``size`` bytes (whitespace padding is still valid JSON)."""
    core = b'{"kind": "receipt", "sku": "OVS-001-NVY-M", "qty": 1, "to": "WH"}'
    return core[:-1] + b" " * (size - len(core)) + b"}"


def test_a_body_over_1_mib_is_413_and_writes_nothing(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    before = snapshot(client, app)
    response = client.post(
        "/v1/movements", content=padded_receipt(MIB + 1), headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 413, "body-too-large")
    assert_nothing_written(client, app, before)
    at_limit = client.post("/v1/movements", content=padded_receipt(MIB), headers={"Content-Type": "application/json"})
    assert at_limit.status_code == 201, "exactly the limit is allowed"


def test_a_chunked_body_over_1_mib_without_content_length_is_413_and_writes_nothing(
    client: TestClient, app: Seamline
) -> None:
    seed_world(client)
    before = snapshot(client, app)
    body = padded_receipt(MIB + 64 * 1024)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = client.post("/v1/movements", content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_problem(response, 413, "body-too-large")
    assert_nothing_written(client, app, before)
    small = padded_receipt(1000)
    ok = client.post(
        "/v1/movements", content=iter([small[:500], small[500:]]), headers={"Content-Type": "application/json"}
    )
    assert ok.status_code == 201, "a small chunked body goes through"


def test_a_style_over_1_mib_is_413_and_not_written(client: TestClient) -> None:
    body = {**OVERSHIRT, "attributes": {"story": "x" * MIB}}
    assert_problem(client.put("/v1/styles/OVS-001", json=body), 413, "body-too-large")
    assert client.get("/v1/styles/OVS-001").status_code == 404


# ---------------------------------------------------------------------------------------------- malformed requests
def test_malformed_json_is_400_malformed_json_on_every_write(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    before = snapshot(client, app)
    headers = {"Content-Type": "application/json"}
    for method, path in (
        ("POST", "/v1/movements"),
        ("POST", "/v1/holds"),
        ("PUT", "/v1/styles/TEE-001"),
        ("PUT", "/v1/locations/STORE-3"),
        ("PUT", "/v1/channels/b2b"),
        ("POST", "/v1/tokens"),
    ):
        response = client.request(method, path, content=b'{"name": "x",,}', headers=headers)
        assert_problem(response, 400, "malformed-json")
    assert_nothing_written(client, app, before)
    assert client.get("/v1/locations/STORE-3").status_code == 404


def test_an_unknown_field_is_422_naming_it_on_every_write(client: TestClient, app: Seamline) -> None:
    seed_world(client)
    before = snapshot(client, app)
    cases = (
        ("POST", "/v1/holds", {**HOLD, "priority": "high"}, "priority"),
        ("POST", "/v1/holds", {**HOLD, "lines": [{"sku": SKU, "qty": 1, "warehouse": "WH"}]}, "lines[0].warehouse"),
        ("PUT", "/v1/locations/STORE-3", {"name": "Leeds", "kind": "store", "timezone": "UTC"}, "timezone"),
        ("PUT", "/v1/channels/b2b", {"kind": "wholesale", "source": ["WH"]}, "source"),
        ("POST", "/v1/tokens", {"name": "x", "scopes": ["read"], "expires": "never"}, "expires"),
    )
    for method, path, body, field in cases:
        assert_problem(client.request(method, path, json=body), 422, "validation-error", field)
    assert_nothing_written(client, app, before)
    assert client.get("/v1/channels/b2b").status_code == 404


@ONE_DATABASE
def test_unknown_routes_and_methods_answer_problem_json(client: TestClient) -> None:
    assert_problem(client.get("/v1/nothing-here"), 404, "not-found")
    assert_problem(client.delete("/v1/movements"), 405, "method-not-allowed")


# ------------------------------------------------------------------------------------ health, metrics, openapi
@ONE_DATABASE
def test_healthz_answers_200_without_a_token(client: TestClient) -> None:
    response = client_with(client, None).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def metric(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name + labels)} ([0-9.e+-]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_metrics_needs_a_token_and_counts_holds_in_seamline_holds_total(client: TestClient) -> None:
    assert_problem(client_with(client, None).get("/metrics"), 401, "missing-token")
    seed_world(client)
    receive(client, SKU, 2)
    before = client.get("/metrics")
    assert before.status_code == 200
    assert before.headers["content-type"].startswith("text/plain")
    assert "# TYPE seamline_holds_total counter" in before.text
    held, short = (metric(before.text, "seamline_holds_total", f'{{result="{r}"}}') for r in ("held", "short"))
    assert client.post("/v1/holds", json=HOLD).status_code == 201
    assert client.post("/v1/holds", json=HOLD).status_code == 409
    after = client.get("/metrics").text
    assert metric(after, "seamline_holds_total", '{result="held"}') == held + 1
    assert metric(after, "seamline_holds_total", '{result="short"}') == short + 1


@ONE_DATABASE
def test_openapi_json_publishes_the_contract_calls_of_this_issue(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.")
    contract = {
        ("put", "/v1/locations/{code}"),
        ("put", "/v1/styles/{code}"),
        ("get", "/v1/styles/{code}"),
        ("get", "/v1/skus/{sku}"),
        ("post", "/v1/movements"),
        ("get", "/v1/stock"),
        ("post", "/v1/holds"),
        ("post", "/v1/holds/{hold_id}/release"),
        ("put", "/v1/channels/{code}"),
        ("get", "/v1/availability/{channel}"),
        ("post", "/v1/tokens"),
        ("get", "/healthz"),
        ("get", "/metrics"),
    }
    published = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    assert contract <= published, contract - published
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert "Problem" in spec["components"]["schemas"]
    put_style = spec["paths"]["/v1/styles/{code}"]["put"]["responses"]
    assert {"200", "201", "422"} <= set(put_style)
    assert "application/problem+json" in put_style["422"]["content"]
    stock_params = {p["name"] for p in spec["paths"]["/v1/stock"]["get"]["parameters"]}
    assert {"sku", "location", "style"} <= stock_params


# ---------------------------------------------------------------------------------------------- tracing
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_x_trace_id_echoes_the_traceparent_trace_id_and_the_movement_records_it(
    client: TestClient, app: Seamline
) -> None:
    seed_world(client)
    body = {"kind": "receipt", "sku": SKU, "qty": 2, "to": "WH"}
    response = client.post("/v1/movements", json=body, headers={"traceparent": TRACEPARENT})
    assert response.status_code == 201
    assert response.headers["x-trace-id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert response.json()["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert [m["trace_id"] for m in app.movements_of(SKU)] == ["4bf92f3577b34da6a3ce929d0e0e4736"]
    failed = client.post("/v1/movements", json={**body, "qty": 0}, headers={"traceparent": TRACEPARENT})
    assert failed.headers["x-trace-id"] == "4bf92f3577b34da6a3ce929d0e0e4736", "errors carry the trace id too"


def test_without_a_valid_traceparent_each_request_gets_a_fresh_trace_id(client: TestClient) -> None:
    seed_world(client)
    body = {"kind": "receipt", "sku": SKU, "qty": 1, "to": "WH"}
    seen = set()
    for headers in (
        {},
        {},
        {"traceparent": "not-a-traceparent"},
        {"traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},  # all-zero id is invalid
        {"traceparent": TRACEPARENT.upper()},  # W3C: lowercase hex only
    ):
        response = client.post("/v1/movements", json=body, headers=headers)
        assert response.status_code == 201
        trace_id = response.headers["x-trace-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", trace_id)
        assert response.json()["trace_id"] == trace_id
        seen.add(trace_id)
    assert len(seen) == 5
    assert "4bf92f3577b34da6a3ce929d0e0e4736" not in seen
    assert "0" * 32 not in seen
    assert re.fullmatch(r"[0-9a-f]{32}", client_with(client, None).get("/healthz").headers["x-trace-id"])


async def reference_hold(body: HoldIn, who: Principal = Depends(principal_async)) -> dict[str, str]:
    """``HoldIn`` declared the FastAPI way (body parameter, auth dependency): what /v1/holds must match."""
    return {"channel": str(body.channel), "who": who.id}


def with_reference_hold_route(client: TestClient) -> str:
    app = client.app
    assert isinstance(app, FastAPI)
    path = "/test/reference-holds"
    if not any(getattr(route, "path", None) == path for route in app.routes):
        app.add_api_route(path, reference_hold, methods=["POST"], status_code=201)
    return path


BOM = b"\xef\xbb\xbf"
BAD_BODIES = [
    ("empty", {"content": b""}),
    ("malformed", {"content": b"{", "headers": {"content-type": "application/json"}}),
    ("text/plain", {"content": b'{"lines": []}', "headers": {"content-type": "text/plain"}}),
    ("no content type", {"content": b'{"lines": [{"sku": "X", "qty": 0}]}'}),  # read as JSON
    ("charset", {"content": b'{"lines": []}', "headers": {"content-type": "application/json; charset=utf-8"}}),
    ("a JSON array", {"json": [1]}),
    ("a JSON string", {"json": "hold"}),
    ("field errors", {"json": {"lines": [{"sku": "X", "qty": 0}], "extra": 1}}),
    ("lines not a list", {"json": {"lines": "abc"}}),
    ("a line not an object", {"json": {"lines": [5]}}),
    ("ttl not strict", {"json": {"lines": [{"sku": "X", "qty": 1}], "ttl_seconds": "60"}}),
    ("vendor JSON type", {"content": b"[]", "headers": {"content-type": "application/vnd.api+json"}}),
    ("byte-order mark", {"content": BOM + b'{"lines": []}', "headers": {"content-type": "application/json"}}),
    ("invalid UTF-8", {"content": b'{"lines": "\xff"}', "headers": {"content-type": "application/json"}}),
]


@ONE_DATABASE
@pytest.mark.parametrize("token", ["admin", "none", "wrong"])
@pytest.mark.parametrize(("case", "request_kwargs"), BAD_BODIES, ids=[case for case, _ in BAD_BODIES])
def test_post_holds_reads_its_body_itself_and_answers_bad_bodies_as_fastapi_does(
    client: TestClient, case: str, request_kwargs: dict[str, Any], token: str
) -> None:
    """POST /v1/holds reads and validates its body itself (its hot path) instead of through FastAPI's body
    parameter. Every bad body must get exactly the answer FastAPI gives, whoever sends it: FastAPI reads the
    body before it checks the caller, so malformed JSON is a 400 even without a token."""
    reference = with_reference_hold_route(client)
    headers = dict(request_kwargs.get("headers", {}))
    if token == "none":
        headers["Authorization"] = ""
    elif token == "wrong":
        headers["Authorization"] = "Bearer not-a-token"
    kwargs = {**request_kwargs, "headers": headers}
    holds = client.post("/v1/holds", **kwargs)
    theirs = client.post(reference, **kwargs)
    assert holds.status_code == theirs.status_code, (case, holds.text, theirs.text)
    assert holds.status_code in (400, 401, 415, 422), (case, holds.text)
    assert holds.headers["content-type"] == "application/problem+json"
    mine, expected = holds.json(), theirs.json()
    for key in ("type", "title", "status", "detail", "errors"):
        assert mine.get(key) == expected.get(key), (case, key, mine, expected)


@ONE_DATABASE
def test_a_client_that_goes_away_mid_body_gets_400_not_a_logged_500(app: Seamline) -> None:
    """A buyer giving up during a drop: the body never completes. FastAPI answers its body parameters 400
    ("There was an error parsing the body"); POST /v1/holds must too, not 500 with a logged traceback."""
    import asyncio

    from seamline.api import create_app
    from tests.conftest import ADMIN_TOKEN

    asgi = create_app(app)

    async def post(path: str) -> int | None:
        headers = [
            (b"host", b"test"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {ADMIN_TOKEN}".encode()),
            (b"content-length", b"40"),
        ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("test", 80),
        }
        messages = [{"type": "http.request", "body": b'{"lines": [', "more_body": True}, {"type": "http.disconnect"}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            await asyncio.sleep(3600)
            raise AssertionError("unreachable")

        sent: list[dict[str, Any]] = []

        async def send(message: Any) -> None:
            sent.append(message)

        await asgi(scope, receive, send)
        starts = [m for m in sent if m["type"] == "http.response.start"]
        return int(starts[0]["status"]) if starts else None

    async def both() -> tuple[int | None, int | None]:
        return await post("/v1/holds"), await post("/v1/movements")

    holds, movements = asyncio.run(both())
    assert movements == 400
    assert holds == movements


@ONE_DATABASE
def test_the_hold_body_is_documented_in_openapi(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/v1/holds"]["post"]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/HoldIn"}
    hold_in = spec["components"]["schemas"]["HoldIn"]
    assert set(hold_in["properties"]) == {"channel", "lines", "ttl_seconds"}
    assert hold_in["properties"]["lines"]["items"] == {"$ref": "#/components/schemas/HoldLineIn"}
    assert "HoldLineIn" in spec["components"]["schemas"]
