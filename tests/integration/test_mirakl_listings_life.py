"""Mirakl listings from the product master, on SQLite and PostgreSQL, with the channel wired from its settings:
a style saved with content is listed by the catalog job in one OF01 file that also carries product
information (the operator's category and attribute codes from the channel's mapping, the channel's own
title, images in order, the consumer price and the ledger's number); a row the operator refuses leaves a
listing in error with Mirakl's message among the channel's issues while the others go live; a prepack and a
wholesale-only style are never listed; a style whose category is not mapped waits with its reason."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from seamline.channels import sandboxes
from seamline.domain.clock import FixedClock
from seamline.sandbox.mirakl import MiraklSandbox
from seamline.sandbox.mirakl import SandboxConfig as MiraklSandboxConfig
from seamline.service import Seamline
from tests.conftest import OVERSHIRT, receive
from tests.integration.test_mirakl_order_life import Life

CATALOG = {
    "categories": {"shirts": "H-SHIRTS", "knitwear": "H-KNITWEAR"},  # the operator has no H-KNITWEAR
    "attributes": {
        "category": "category",
        "title": "title",
        "description": "description",
        "brand": "brand",
        "colour": "color",
        "size": "size",
        "gtin": "ean",
        "composition": "composition",
        "care": "care",
        "variant_group": "variant_group",
        "images": ["main_image", "image_2"],
    },
    "brand": "Seamline Test Co",
}
CONTENT = {
    "description": "A navy overshirt in heavy cotton twill.",
    "care": "Wash at 30°C",
    "composition": [{"fibre": "cotton", "percent": "95"}, {"fibre": "elastane", "percent": "5"}],
    "images": [
        {"url": "https://cdn.example.com/ovs-back.jpg", "alt": "Back", "position": 2},
        {"url": "https://cdn.example.com/ovs-front.jpg", "alt": "Front", "position": 1},
    ],
    "overrides": {"zalando": {"title": "Overshirt navy – heavy twill"}},
}


def knit(code: str, category: str, prices: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "name": f"Knit {code}",
        "category": category,
        "size_scale": ["M"],
        "colours": [{"code": "GRY", "name": "Grey"}],
        "variants": [{"sku": f"{code}-GRY-M", "colour": "GRY", "size": "M"}],
        "prices": prices,
        "content": {
            "description": "A knit.",
            "images": [{"url": f"https://cdn.example.com/{code.lower()}.jpg", "position": 1}],
        },
    }


@pytest.fixture
def mirakl(clock: FixedClock) -> Iterator[tuple[str, MiraklSandbox]]:
    name = f"listings-{uuid.uuid4().hex[:8]}"
    sandbox = MiraklSandbox(MiraklSandboxConfig(), clock=clock)  # type: ignore[arg-type]
    sandboxes.register("mirakl", name, sandbox)
    yield name, sandbox
    sandboxes.forget("mirakl", name)


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def test_styles_are_listed_from_the_master_in_the_operators_model_and_a_refused_row_is_a_visible_issue(
    app: Seamline, client: TestClient, clock: FixedClock, mirakl: tuple[str, MiraklSandbox]
) -> None:
    name, sandbox = mirakl
    life = Life(app, client, clock, name, catalog=CATALOG)
    receive(client, "OVS-001-NVY-M", 4)
    shirt = copy.deepcopy(OVERSHIRT)
    shirt["content"] = CONTENT
    ok(client.put("/v1/styles/OVS-001", json=shirt))
    retail = [{"list": "retail", "currency": "EUR", "amount": "59.00"}]
    ok(client.put("/v1/styles/KNT-001", json=knit("KNT-001", "knitwear", retail)), 201)  # mapped to a code Mirakl lacks
    ok(client.put("/v1/styles/KNT-002", json=knit("KNT-002", "loungewear", retail)), 201)  # not mapped at all
    wholesale = [{"list": "wholesale", "currency": "EUR", "amount": "20.00"}]
    ok(client.put("/v1/styles/KNT-003", json=knit("KNT-003", "shirts", wholesale)), 201)  # wholesale-only
    life.dispatch()  # StyleChanged → the catalog subscriber queues each style

    life.run_jobs()  # the catalog job uploads one OF01 with products
    [upload] = sandbox.operations("OF01")
    item = sandbox.imports[max(sandbox.imports)]
    assert item.with_products
    assert sorted(row["sku"] for row in item.rows) == sorted(
        [f"OVS-001-{c}-{s}" for c in ("NVY", "OLV") for s in ("S", "M", "L", "XL")] + ["KNT-001-GRY-M"]
    ), "no prepack, no wholesale-only style, no unmapped category"
    assert upload.status == 201
    life.run_jobs()  # settled: OF02, then OF03 for the row in error

    product = sandbox.product("OVS-001-NVY-M")
    assert product is not None
    assert product["category"] == "H-SHIRTS"
    assert product["title"] == "Overshirt navy – heavy twill", "the channel's own words"
    assert (product["main_image"], product["image_2"]) == (
        "https://cdn.example.com/ovs-front.jpg",
        "https://cdn.example.com/ovs-back.jpg",
    )
    assert (product["composition"], product["ean"]) == ("95% cotton, 5% elastane", "5012345678900")
    offer = sandbox.offer("OVS-001-NVY-M")
    assert offer is not None
    assert (offer.price, offer.quantity) == (Decimal("89.00"), 4), "the consumer price and the ledger's number"

    # The refused row: a listing in error with Mirakl's message, visible among the channel's issues.
    listings = {x["sku"]: x for x in ok(client.get("/v1/channels/zalando/listings", params={"limit": 100}))["items"]}
    assert listings["KNT-001-GRY-M"]["status"] == "error"
    assert "H-KNITWEAR" in listings["KNT-001-GRY-M"]["last_error"]
    assert listings["OVS-001-NVY-M"]["status"] == "active"
    assert listings["OVS-001-NVY-M"]["product_type"] == "H-SHIRTS"
    issues = ok(client.get("/v1/channels/zalando/listing-issues"))["items"]
    by_sku = {i["sku"]: i["message"] for i in issues}
    assert "does not exist in the operator's catalog" in by_sku["KNT-001-GRY-M"]
    assert "no operator category for our category 'loungewear'" in by_sku["KNT-002-GRY-M"]

    # Never listed on a consumer marketplace: the prepack and the wholesale-only style.
    for sku in ("OVS-001-NVY-PACK", "KNT-003-GRY-M"):
        assert sandbox.offer(sku) is None
        assert sku not in listings
        assert sku not in by_sku, "never listed is not a problem to fix"

    # The listing goes on with the stock sync: a new number reaches the offer created from the master.
    receive(client, "OVS-001-NVY-M", 2)
    life.dispatch()
    life.run_jobs()
    life.run_jobs()
    offer = sandbox.offer("OVS-001-NVY-M")
    assert offer is not None
    assert offer.quantity == 6
