"""The sandbox behaves like the Shopify Admin GraphQL API where our connector depends on it: errors,
compare-and-set, idempotency keys, input limits, the cost bucket, faults, and serving over ASGI."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from seamline.domain.clock import FixedClock
from seamline.sandbox.shopify import SandboxConfig, ShopifySandbox, create_app, gid
from seamline.sandbox.shopify.sandbox import SandboxResponse

START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
URL = "/admin/api/2026-07/graphql.json"

PUBLISH = """
mutation Publish($input: ProductSetInput!) {
  productSet(synchronous: true, input: $input) {
    product { id variants(first: 10) { nodes { sku inventoryItem { id } } } }
    userErrors { field message code }
  }
}
"""
SET = """
mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { reason changes { name delta quantityAfterChange } }
    userErrors { field message code }
  }
}
"""
SET_WITHOUT_KEY = """
mutation Set($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) { userErrors { field message code } }
}
"""
LEVEL = """
query Level($item: ID!, $location: ID!) {
  inventoryItem(id: $item) {
    sku
    inventoryLevel(locationId: $location) { quantities(names: ["available", "on_hand", "committed"]) { name quantity } }
  }
}
"""


class Shop:
    def __init__(self, sandbox: ShopifySandbox) -> None:
        self.sandbox = sandbox
        self.location = gid("Location", sandbox.add_location("Warehouse"))
        answer = self.call(
            PUBLISH,
            {
                "input": {
                    "title": "Navy overshirt",
                    "productOptions": [{"name": "Size", "values": [{"name": "S"}, {"name": "M"}]}],
                    "variants": [
                        {
                            "optionValues": [{"optionName": "Size", "name": s}],
                            "inventoryItem": {"sku": f"OVS-{s}"},
                            "price": "49.00",
                        }
                        for s in ("S", "M")
                    ],
                }
            },
        ).json()
        nodes = answer["data"]["productSet"]["product"]["variants"]["nodes"]
        self.items = {n["sku"]: n["inventoryItem"]["id"] for n in nodes}

    def call(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None, version: str = "2026-07"
    ) -> SandboxResponse:
        headers = {
            "X-Shopify-Access-Token": token or self.sandbox.config.access_token,
            "Content-Type": "application/json",
        }
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        return self.sandbox.handle("POST", f"/admin/api/{version}/graphql.json", headers, body)

    def quantities(self, sku: str, name: str = "available") -> dict[str, Any]:
        level = self.call(LEVEL, {"item": self.items[sku], "location": self.location}).json()["data"]["inventoryItem"][
            "inventoryLevel"
        ]
        return {q["name"]: q["quantity"] for q in level["quantities"]}

    def set_input(self, *quantities: tuple[str, int, int | None], reason: str = "correction") -> dict[str, Any]:
        return {
            "name": "available",
            "reason": reason,
            "referenceDocumentUri": "seamline://events/1",
            "quantities": [
                {
                    "inventoryItemId": self.items[sku],
                    "locationId": self.location,
                    "quantity": q,
                    "changeFromQuantity": before,
                }
                for sku, q, before in quantities
            ],
        }


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def shop(clock: FixedClock) -> Shop:
    return Shop(ShopifySandbox(clock=clock))


def test_an_unknown_mutation_is_refused_as_an_undefined_field_and_nothing_runs(shop: Shop) -> None:
    answer = shop.call('mutation { inventoryTeleport(id: "gid://shopify/InventoryItem/1") { id } }').json()
    (error,) = answer["errors"]
    assert error["message"] == "Field 'inventoryTeleport' doesn't exist on type 'Mutation'"
    assert error["extensions"] == {"code": "undefinedField", "typeName": "Mutation", "fieldName": "inventoryTeleport"}
    assert "data" not in answer
    assert shop.sandbox.calls[-1].outcome == "errors"


def test_an_unknown_field_inside_a_known_query_is_refused_with_its_type(shop: Shop) -> None:
    answer = shop.call("{ shop { name planName } }").json()
    assert [e["extensions"]["typeName"] for e in answer["errors"]] == ["Shop"]


def test_a_syntax_error_names_its_line_and_column(shop: Shop) -> None:
    answer = shop.call("query {\n  shop { name ").json()
    assert answer["errors"][0]["locations"] == [{"line": 2, "column": 15}]


def test_a_wrong_access_token_is_answered_401_like_shopify(shop: Shop) -> None:
    response = shop.call("{ shop { name } }", token="shpat_wrong")
    assert response.status == 401
    assert response.json() == {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}


def test_anything_but_the_graphql_endpoint_is_404(shop: Shop) -> None:
    answer = shop.sandbox.handle(
        "POST", "/admin/api/2026-07/products.json", {"X-Shopify-Access-Token": shop.sandbox.config.access_token}, b"{}"
    )
    assert (answer.status, answer.json()) == (404, {"errors": "Not Found"})


def test_inventory_set_quantities_without_an_idempotency_key_is_refused_from_2026_04(shop: Shop) -> None:
    answer = shop.call(SET_WITHOUT_KEY, {"input": shop.set_input(("OVS-S", 5, 0))}).json()
    (error,) = answer["errors"]
    assert error["message"] == "The @idempotent directive is required for this mutation but was not provided."
    assert answer["data"] == {"inventorySetQuantities": None}
    assert shop.quantities("OVS-S")["available"] == 0
    older = shop.call(SET_WITHOUT_KEY, {"input": shop.set_input(("OVS-S", 5, 0))}, version="2026-01").json()
    assert older["data"]["inventorySetQuantities"]["userErrors"] == []


def test_each_quantity_must_say_change_from_quantity_even_if_null(shop: Shop) -> None:
    data = shop.set_input(("OVS-S", 5, 0))
    del data["quantities"][0]["changeFromQuantity"]
    answer = shop.call(SET, {"input": data, "key": "k-missing"}).json()
    assert "changeFromQuantity" in answer["errors"][0]["message"]
    skip_check = shop.call(SET, {"input": shop.set_input(("OVS-S", 5, None)), "key": "k-null"}).json()
    assert skip_check["data"]["inventorySetQuantities"]["userErrors"] == []
    assert shop.quantities("OVS-S")["available"] == 5


def test_setting_available_moves_on_hand_by_the_same_delta(shop: Shop) -> None:
    answer = shop.call(SET, {"input": shop.set_input(("OVS-S", 5, 0)), "key": "k1"}).json()
    changes = answer["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"]["changes"]
    assert changes == [
        {"name": "available", "delta": 5, "quantityAfterChange": 5},
        {"name": "on_hand", "delta": 5, "quantityAfterChange": 5},
    ]


def test_a_stale_change_from_quantity_refuses_the_whole_batch(shop: Shop) -> None:
    shop.call(SET, {"input": shop.set_input(("OVS-S", 5, 0)), "key": "k1"})
    answer = shop.call(SET, {"input": shop.set_input(("OVS-M", 2, 0), ("OVS-S", 1, 4)), "key": "k2"}).json()
    payload = answer["data"]["inventorySetQuantities"]
    assert payload["inventoryAdjustmentGroup"] is None
    assert payload["userErrors"] == [
        {
            "field": ["input", "quantities", "1", "changeFromQuantity"],
            "message": "The changeFromQuantity value does not match persisted value.",
            "code": "CHANGE_FROM_QUANTITY_STALE",
        }
    ]
    assert (shop.quantities("OVS-S")["available"], shop.quantities("OVS-M")["available"]) == (5, 0)


def test_the_same_key_replays_the_first_result_and_with_other_input_is_refused(shop: Shop) -> None:
    first = shop.call(SET, {"input": shop.set_input(("OVS-S", 5, 0)), "key": "k1"}).json()
    replay = shop.call(SET, {"input": shop.set_input(("OVS-S", 5, 0)), "key": "k1"}).json()
    other = shop.call(SET, {"input": shop.set_input(("OVS-S", 9, 5)), "key": "k1"}).json()
    assert replay["data"] == first["data"]
    assert [c.outcome for c in shop.sandbox.calls[-3:]] == ["ok", "replayed", "user_errors"]
    assert other["data"]["inventorySetQuantities"]["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    assert shop.quantities("OVS-S")["available"] == 5


def test_more_than_250_quantities_in_one_call_are_refused(shop: Shop) -> None:
    data = shop.set_input(*[("OVS-S", 1, None)] * 251)
    answer = shop.call(SET, {"input": data, "key": "k-big"}).json()
    assert answer["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    assert shop.quantities("OVS-S")["available"] == 0


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"reason": "because"}, "INVALID_REASON"),
        ({"name": "committed"}, "INVALID_NAME"),
        ({"referenceDocumentUri": "gid://shopify/Order/1"}, "INVALID_REFERENCE_DOCUMENT"),
    ],
)
def test_an_invalid_reason_name_or_reference_is_a_user_error(shop: Shop, change: dict[str, Any], code: str) -> None:
    answer = shop.call(SET, {"input": shop.set_input(("OVS-S", 5, 0)) | change, "key": f"k-{code}"}).json()
    assert [e["code"] for e in answer["data"]["inventorySetQuantities"]["userErrors"]] == [code]


def test_every_answer_reports_its_cost_and_the_bucket_restores_with_time(shop: Shop, clock: FixedClock) -> None:
    answer = shop.call(SET, {"input": shop.set_input(("OVS-S", 5, 0)), "key": "k1"}).json()
    cost = answer["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (10, 10)
    status = cost["throttleStatus"]
    assert (status["maximumAvailable"], status["restoreRate"]) == (2000.0, 100.0)
    assert status["currentlyAvailable"] == 1980.0  # 10 for publishing, 10 for this
    clock.advance(0.15)
    again = shop.call("{ shop { name } }").json()["extensions"]["cost"]
    assert again["throttleStatus"]["currentlyAvailable"] == 1994.0  # +15 restored, -1 for the query


def test_a_query_above_the_single_query_limit_is_refused_before_it_runs(shop: Shop) -> None:
    query = "{ products(first: 250) { nodes { variants(first: 250) { nodes { id } } } } }"
    (error,) = shop.call(query).json()["errors"]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"


def test_a_request_above_the_points_left_is_throttled_without_running(clock: FixedClock) -> None:
    shop = Shop(ShopifySandbox(SandboxConfig(bucket_maximum=15, restore_rate=5), clock=clock))
    answer = shop.call(SET, {"input": shop.set_input(("OVS-S", 5, 0)), "key": "k1"}).json()
    assert answer["errors"] == [
        {
            "message": "Throttled",
            "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
        }
    ]
    assert answer["extensions"]["cost"]["actualQueryCost"] is None
    assert shop.quantities("OVS-S")["available"] == 0
    clock.advance(2)
    assert (
        shop.call(SET, {"input": shop.set_input(("OVS-S", 5, 0)), "key": "k1"}).json()["data"][
            "inventorySetQuantities"
        ]["userErrors"]
        == []
    )


def test_forced_throttling_and_faults_answer_the_next_calls_then_stop(shop: Shop) -> None:
    shop.sandbox.throttle_next(1)
    shop.sandbox.fail_next(1, status=500)
    statuses = [shop.call("{ shop { name } }").status for _ in range(3)]
    assert statuses == [500, 200, 200]
    assert [c.outcome for c in shop.sandbox.calls[-3:]] == ["failed", "throttled", "ok"]


def test_the_audit_log_records_each_call_with_operation_variables_and_key(shop: Shop) -> None:
    shop.call(SET, {"input": shop.set_input(("OVS-S", 5, 0)), "key": "audit-1"})
    record = shop.sandbox.calls[-1]
    assert (record.operation, record.root_fields, record.idempotency_key) == (
        "Set",
        ("inventorySetQuantities",),
        "audit-1",
    )
    assert record.variables["input"]["quantities"][0]["quantity"] == 5
    assert (record.api_version, record.status, record.requested_cost) == ("2026-07", 200, 10)


def test_an_order_commits_units_and_its_fulfilment_takes_them_off_hand(shop: Shop) -> None:
    shop.call(SET, {"input": shop.set_input(("OVS-S", 5, 0)), "key": "k1"})
    order = shop.sandbox.place_order([("OVS-S", 2)])
    assert shop.quantities("OVS-S") == {"available": 3, "on_hand": 5, "committed": 2}
    fo = gid("FulfillmentOrder", order.fulfillment_order_ids[0])
    answer = shop.call(
        "mutation F($f: FulfillmentInput!) {"
        " fulfillmentCreate(fulfillment: $f) { fulfillment { status } userErrors { message } } }",
        {
            "f": {
                "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo}],
                "trackingInfo": {"company": "DHL", "number": "1"},
            }
        },
    ).json()
    assert answer["data"]["fulfillmentCreate"] == {"fulfillment": {"status": "SUCCESS"}, "userErrors": []}
    assert shop.quantities("OVS-S") == {"available": 3, "on_hand": 3, "committed": 0}
    topics = [e.topic for e in shop.sandbox.drain_events()]
    assert topics.count("orders/create") == 1
    assert topics[-1] == "fulfillments/create"


def test_the_asgi_app_serves_the_same_shop_in_process_and_over_an_async_transport(shop: Shop) -> None:
    app = create_app(shop.sandbox)
    token = {"X-Shopify-Access-Token": shop.sandbox.config.access_token}
    with TestClient(app) as http:
        answer = http.post(URL, json={"query": "{ shop { myshopifyDomain } }"}, headers=token)
        assert answer.json()["data"] == {"shop": {"myshopifyDomain": "seamline-sandbox.myshopify.com"}}
        assert http.get("/admin/oauth/authorize").status_code == 404

    async def over_asgi() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as http:
            return await http.post(URL, json={"query": "{ locations(first: 5) { nodes { name } } }"}, headers=token)

    response = asyncio.run(over_asgi())
    assert response.json()["data"] == {"locations": {"nodes": [{"name": "Warehouse"}]}}
    assert response.headers["x-shopify-api-version"] == "2026-07"


LEVEL_IDS = """
query Levels($item: ID!) {
  inventoryItem(id: $item) { inventoryLevels(first: 5) { nodes { id location { id } } } }
}
"""
NODE = """
query Node($id: ID!) { node(id: $id) { ... on InventoryLevel { id location { id } } } }
"""


def test_an_inventory_level_has_its_own_id_not_its_locations_and_is_found_by_it(shop: Shop) -> None:
    answer = shop.call(LEVEL_IDS, {"item": shop.items["OVS-S"]}).json()
    [level] = answer["data"]["inventoryItem"]["inventoryLevels"]["nodes"]
    assert level["location"]["id"] == shop.location
    level_number = level["id"].removeprefix("gid://shopify/InventoryLevel/").split("?")[0]
    assert level_number != shop.location.rsplit("/", 1)[1], "a level's id is not its location's"
    assert level["id"].endswith(f"?inventory_item_id={shop.items['OVS-S'].rsplit('/', 1)[1]}")
    found = shop.call(NODE, {"id": level["id"]}).json()["data"]["node"]
    assert found == {"id": level["id"], "location": {"id": shop.location}}
    by_location = (
        f"gid://shopify/InventoryLevel/{shop.location.rsplit('/', 1)[1]}?inventory_item_id="
        + (shop.items["OVS-S"].rsplit("/", 1)[1])
    )
    assert shop.call(NODE, {"id": by_location}).json()["data"]["node"] is None
