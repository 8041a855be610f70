"""The issue's list of bad input: each is a precise 4xx problem+json, and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from seamline.service import Seamline
from tests.conftest import receive
from tests.integration.order_world import (
    SKU,
    all_stock,
    assert_problem,
    fulfil,
    order_body,
    place,
    reconciled,  # noqa: F401 - the fixture, used below
    seed_channels,
    written,
)

pytestmark = pytest.mark.usefixtures("reconciled")

# (name, path with {allocated}/{shipped} order ids, body, status, code, fields named in errors)
CASES: list[tuple[str, str, Any, int, str, tuple[str, ...]]] = [
    ("unknown channel", "/v1/orders", order_body("nope"), 422, "unknown-channel", ("channel",)),
    (
        "unknown SKU",
        "/v1/orders",
        order_body(lines=[{"sku": "OVS-404", "qty": 1, "unit_price": "1.00"}]),
        422,
        "unknown-sku",
        ("lines[0].sku",),
    ),
    ("unknown order", "/v1/orders/ord_404/pick", None, 404, "unknown-order", ()),
    (
        "returning more than sold",
        "/v1/returns",
        {"order_id": "{shipped}", "location": "STORE-1", "lines": [{"sku": SKU, "qty": 2, "condition": "sellable"}]},
        422,
        "return-exceeds-sold",
        ("lines[0].qty",),
    ),
    ("shipping an unpicked order", "/v1/orders/{allocated}/ship", {"tracking": "1Z"}, 409, "illegal-transition", ()),
    (
        "picking more than allocated",
        "/v1/orders/{allocated}/pick",
        {"lines": [{"sku": SKU, "qty": 2}]},
        422,
        "pick-exceeds-allocation",
        ("lines[0].qty",),
    ),
    (
        "a transfer to the same location",
        "/v1/transfers",
        {"from": "STORE-1", "to": "STORE-1", "lines": [{"sku": SKU, "qty": 1}]},
        422,
        "same-location",
        ("to",),
    ),
    (
        "an invalid email",
        "/v1/orders",
        order_body(external_id="W-9", customer={"email": "ada@@example"}),
        422,
        "invalid-email",
        ("customer.email",),
    ),
    (
        "an invalid phone",
        "/v1/orders",
        order_body(external_id="W-9", customer={"phone": "+44 12"}),
        422,
        "invalid-phone",
        ("customer.phone",),
    ),
    (
        "a quantity given as a string",
        "/v1/orders",
        order_body(external_id="W-9", lines=[{"sku": SKU, "qty": "1", "unit_price": "89.00"}]),
        422,
        "validation-error",
        ("lines[0].qty",),
    ),
    (
        "money given as a float",
        "/v1/orders",
        order_body(external_id="W-9", lines=[{"sku": SKU, "qty": 1, "unit_price": 89.0}]),
        422,
        "validation-error",
        ("lines[0].unit_price",),
    ),
]


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


def test_bad_input_is_a_precise_problem_and_writes_nothing(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    receive(client, SKU, 2, to="STORE-1")
    ids = {"allocated": place(client, external_id="W-1")["id"]}
    ids["shipped"] = fulfil(client, place(client, external_id="W-2")["id"])["id"]
    before = (all_stock(client), written(app))
    for name, path, body, status, code, fields in CASES:
        response = client.post(fill(path, ids), json=fill(body, ids))
        problem = assert_problem(response, status, code, *fields)
        assert problem["detail"], name
        assert (all_stock(client), written(app)) == before, f"{name} wrote something"
