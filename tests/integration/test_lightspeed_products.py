"""Products and prices out to a Lightspeed Retail (X-Series) channel, on SQLite and PostgreSQL: saving a style
makes it one variant family at Lightspeed (a product per SKU with its Colour/Size attributes, barcode and price)
whose ids are kept per SKU, a re-save updates those products and never adds a second family, and a till sale
of a pushed product is recorded as that SKU. A create whose answer was lost is found again by SKU."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from seamline.channels.lightspeed import wiring as lightspeed_wiring
from seamline.channels.wiring import ConnectorWiring
from seamline.domain.clock import FixedClock
from seamline.integration import Integration
from seamline.sandbox.http import Answer, SandboxError
from seamline.sandbox.lightspeed import LightspeedSandbox
from seamline.service import Seamline
from seamline.store import tills_repo
from tests.conftest import OVERSHIRT
from tests.integration.finance_world import configure, ok
from tests.integration.order_world import SKU

CHANNEL = "soho-ls-products"


def integration(client: TestClient) -> Integration:
    found: Integration = client.app.state.integration  # type: ignore[attr-defined]
    return found


def save_style(client: TestClient, price: str) -> None:
    prices = [{**p, "amount": price} if p["list"] == "retail" else p for p in OVERSHIRT["prices"]]
    assert client.put("/v1/styles/OVS-001", json={**OVERSHIRT, "prices": prices}).status_code == 200
    integration(client).dispatcher.drain()


@pytest.fixture
def lightspeed(client: TestClient) -> LightspeedSandbox:
    configure(client)
    url = f"sandbox:lightspeed-{uuid.uuid4().hex[:8]}"
    settings: dict[str, Any] = {
        "provider": "lightspeed",
        "base_url": url,
        "token": "lightspeed-sandbox-token",
        "client_secret": "secret",
        "outlets": {"OUT-1": "STORE-1"},
        "registers": {"REG-1": "OUT-1"},
    }
    sandbox = lightspeed_wiring.sandbox(url, settings)
    ok(client.put(f"/v1/channels/{CHANNEL}", json={"kind": "pos", "sources": ["STORE-1"], "settings": settings}), 201)
    integration(client).dispatcher.drain()
    return sandbox


def family(sandbox: LightspeedSandbox) -> list[dict[str, Any]]:
    return sorted((p for p in sandbox.products.values() if p["name"] == "Navy overshirt"), key=lambda p: p["sku"])


def test_a_saved_style_is_one_family_with_prices_and_a_resave_updates_it(
    app: Seamline, client: TestClient, lightspeed: LightspeedSandbox
) -> None:
    save_style(client, "92.00")
    products = family(lightspeed)
    assert len(products) == 8, "one product per SKU"
    assert len({p["variant_parent_id"] or p["id"] for p in products}) == 1, "one variant family"
    navy_m = next(p for p in products if p["sku"] == SKU)
    assert navy_m["variant_options"] == [{"name": "Colour", "value": "Navy"}, {"name": "Size", "value": "M"}]
    assert navy_m["product_codes"] == [{"type": "EAN", "code": "5012345678900"}]
    assert Decimal(str(navy_m["price_including_tax"])) == Decimal("92.00")
    ids = {p["sku"]: p["id"] for p in products}
    refs = app.read(lambda conn: tills_repo.catalog_refs(conn, CHANNEL))["OVS-001"]["refs"]["products"]
    assert refs == ids, "Lightspeed's id is kept per SKU, paired on SKU (not on the answer's order)"

    save_style(client, "95.00")
    again = family(lightspeed)
    assert {p["sku"]: p["id"] for p in again} == ids, "the same products, none added"
    assert {Decimal(str(p["price_including_tax"])) for p in again} == {Decimal("95.00")}
    assert len(lightspeed.successes("/api/2.0/products")) == 1, "created once"
    assert lightspeed.inventory[(ids[SKU], "OUT-1")] == 10, "a new product shows the ledger's number at once"

    # A sale of a pushed product is that SKU at the outlet's store.
    sale = lightspeed.ring_up("REG-1", [(SKU, 1)], [("Cash", Decimal("95"))])
    for note in lightspeed.notifications:
        headers = {**note.headers, "Authorization": ""}
        assert client.post(f"/webhooks/lightspeed/{CHANNEL}", content=note.body, headers=headers).status_code == 200
    integration(client).inbox.drain()
    sales = ok(client.get("/v1/orders", params={"channel": "pos:STORE-1"}))["items"]
    assert [(s["external_id"], s["lines"][0]["sku"]) for s in sales] == [(sale["id"], SKU)]


def test_a_create_whose_answer_was_lost_is_found_by_sku_not_created_twice(
    app: Seamline,
    clock: FixedClock,
    client: TestClient,
    lightspeed: LightspeedSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    create = lightspeed._create_products

    def made_but_lost(body: Any) -> Answer:
        create(body)  # the family is made, and the answer never arrives
        monkeypatch.setattr(lightspeed, "_create_products", create)
        raise SandboxError(Answer(503, {"error": "Service Unavailable"}, "failed_after_apply"))

    monkeypatch.setattr(lightspeed, "_create_products", made_but_lost)
    save_style(client, "92.00")
    assert family(lightspeed), "made at Lightspeed, though the connector never heard"
    clock.advance(600)  # past the delivery's retry backoff
    integration(client).dispatcher.drain()
    products = family(lightspeed)
    assert len(products) == 8
    assert len({p["variant_parent_id"] or p["id"] for p in products}) == 1, "one family, not two"
    refs = app.read(lambda conn: tills_repo.catalog_refs(conn, CHANNEL))["OVS-001"]["refs"]["products"]
    assert refs == {p["sku"]: p["id"] for p in products}


def test_styles_saved_before_the_channel_was_wired_are_pushed_by_its_catch_up_job(
    client: TestClient, lightspeed: LightspeedSandbox
) -> None:
    assert family(lightspeed) == [], "nothing saved since wiring"
    wiring: ConnectorWiring = client.app.state.wiring  # type: ignore[attr-defined]
    [job] = [j for j in wiring.jobs() if j.name == f"lightspeed:{CHANNEL}:products"]
    job.run()
    assert {Decimal(str(p["price_including_tax"])) for p in family(lightspeed)} == {Decimal("89.00")}
    job.run()
    assert len(lightspeed.successes("/api/2.0/products")) == 1, "a style it has in its version is not sent again"
