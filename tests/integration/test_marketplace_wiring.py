"""Marketplace channels wired from their configuration alone, on SQLite and PostgreSQL: ``PUT /v1/channels``
with ``kind`` amazon or mirakl and ``sandbox:`` settings registers the connector's subscriber, handlers and
periodic jobs, and stock changes and orders flow through the in-process sandboxes; changed settings rewire,
removed ones unwire."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from seamline.channels import sandboxes
from seamline.channels.wiring import ConnectorWiring
from seamline.domain.clock import FixedClock
from seamline.integration import Integration
from seamline.sandbox.amazon import AmazonSandbox
from seamline.sandbox.amazon import SandboxConfig as AmazonSandboxConfig
from seamline.sandbox.amazon.sandbox import RATE_LIMITS
from seamline.sandbox.mirakl import MiraklSandbox
from seamline.sandbox.mirakl import SandboxConfig as MiraklSandboxConfig
from tests.conftest import receive, seed_world

SKU = "OVS-001-NVY-M"
MARKETPLACE = "A1PA6795UKMFR9"


def wiring_of(client: TestClient) -> ConnectorWiring:
    found: ConnectorWiring = client.app.state.wiring  # type: ignore[attr-defined]
    return found


def integration_of(client: TestClient) -> Integration:
    found: Integration = client.app.state.integration  # type: ignore[attr-defined]
    return found


@pytest.fixture
def amazon(clock: FixedClock) -> Iterator[tuple[str, AmazonSandbox]]:
    name = f"wiring-{uuid.uuid4().hex[:8]}"
    # the sandbox keeps the world's (fixed) time, so its order timestamps agree with the connector's pull
    # window; its buckets, which that time never refills, are made wide enough for a test
    roomy = dict.fromkeys(RATE_LIMITS, (1000.0, 1000.0))
    sandbox = AmazonSandbox(AmazonSandboxConfig(rate_limits=roomy), clock=clock)  # type: ignore[arg-type]
    sandbox.add_listing(SKU, "SHIRT", quantity=0)
    sandboxes.register("amazon", name, sandbox)
    yield name, sandbox
    sandboxes.forget("amazon", name)


@pytest.fixture
def mirakl(clock: FixedClock) -> Iterator[tuple[str, MiraklSandbox]]:
    name = f"wiring-{uuid.uuid4().hex[:8]}"
    sandbox = MiraklSandbox(MiraklSandboxConfig())
    sandbox.add_offer(SKU, price=Decimal("89.00"), description="Navy overshirt M", leadtime_to_ship=2)
    sandboxes.register("mirakl", name, sandbox)
    yield name, sandbox
    sandboxes.forget("mirakl", name)


def put_channel(client: TestClient, code: str, kind: str, settings: dict[str, Any]) -> None:
    body = {"kind": kind, "sources": ["WH"], "on_shortage": "backorder", "settings": settings}
    response = client.put(f"/v1/channels/{code}", json=body)
    assert response.status_code in (200, 201), response.text


def test_an_amazon_channel_put_with_sandbox_settings_is_wired_and_a_sale_reaches_the_sandbox(
    client: TestClient, amazon: tuple[str, AmazonSandbox]
) -> None:
    name, sandbox = amazon
    seed_world(client)
    put_channel(client, "amazon", "amazon", {"endpoint": f"sandbox:amazon/{name}", "product_type": "SHIRT"})
    assert client.put(f"/v1/channels/amazon/listings/{SKU}", json={"marketplace": MARKETPLACE}).status_code == 200
    wiring, integration = wiring_of(client), integration_of(client)
    subscriber = integration.registry.get("amazon:amazon")
    assert subscriber is not None, wiring.errors
    # Listings Items v2021-08-01: patchListingsItem 5/s, burst 5
    assert (subscriber.rate_per_second, subscriber.burst, subscriber.channels) == (5.0, 5.0, frozenset({"amazon"}))
    assert integration.registry.get("amazon-shipments:amazon") is not None, "OrderShipped → confirmShipment"
    assert sorted(j.name for j in wiring.wired()["amazon"].jobs) == [
        "amazon:amazon:pull_orders",
        "amazon:amazon:settle_feeds",
    ]

    receive(client, SKU, 8)
    integration.dispatcher.drain()
    assert sandbox.quantity(SKU) == 8
    sale = {"channel": "web", "external_id": "web-1", "lines": [{"sku": SKU, "qty": 3}], "currency": "EUR"}
    assert client.post("/v1/orders", json=sale).status_code == 201
    integration.dispatcher.drain()
    assert sandbox.quantity(SKU) == 5

    sandbox.place_order([(SKU, 2, Decimal("89.00"))])
    assert "amazon:amazon:pull_orders" in wiring.run_due(force=True)
    integration.inbox.drain()
    orders = client.get("/v1/orders", params={"channel": "amazon"}).json()["items"]
    assert [(o["kind"], [(line["sku"], line["qty"]) for line in o["lines"]]) for o in orders] == [
        ("marketplace", [(SKU, 2)])
    ]
    integration.dispatcher.drain()
    assert sandbox.quantity(SKU) == 3


def test_an_amazon_429_is_waited_out_and_the_number_still_arrives(
    client: TestClient, amazon: tuple[str, AmazonSandbox]
) -> None:
    name, sandbox = amazon
    seed_world(client)
    put_channel(client, "amazon", "amazon", {"endpoint": f"sandbox:amazon/{name}", "product_type": "SHIRT"})
    assert client.put(f"/v1/channels/amazon/listings/{SKU}", json={"marketplace": MARKETPLACE}).status_code == 200
    wiring_of(client).refresh()
    sandbox.throttle_next(1, retry_after=0.0)
    receive(client, SKU, 4)
    integration_of(client).dispatcher.drain()
    assert sandbox.quantity(SKU) == 4
    assert [c.status for c in sandbox.operations("patchListingsItem")] == [429, 200]


def test_changed_settings_rewire_a_channel_and_removed_ones_unwire_it(
    client: TestClient, amazon: tuple[str, AmazonSandbox]
) -> None:
    name, _ = amazon
    seed_world(client)
    put_channel(client, "amazon", "amazon", {"endpoint": f"sandbox:amazon/{name}", "product_type": "SHIRT"})
    wiring, integration = wiring_of(client), integration_of(client)
    first = integration.registry.get("amazon:amazon")
    assert first is not None
    put_channel(
        client,
        "amazon",
        "amazon",
        {"endpoint": f"sandbox:amazon/{name}", "product_type": "SHIRT", "pull_orders_every_seconds": 120},
    )
    second = integration.registry.get("amazon:amazon")  # the PUT rewired the channel at once
    assert second is not None
    assert second is not first
    assert {j.name: j.every_seconds for j in wiring.wired()["amazon"].jobs}["amazon:amazon:pull_orders"] == 120
    put_channel(client, "amazon", "amazon", {})
    assert integration.registry.get("amazon:amazon") is None
    assert integration.handlers.get("amazon:amazon", "order") is None


def test_an_amazon_sandbox_url_naming_another_platform_is_not_wired_and_says_why(client: TestClient) -> None:
    seed_world(client)
    put_channel(client, "amazon", "amazon", {"endpoint": "sandbox:mirakl/x", "product_type": "SHIRT"})
    wiring = wiring_of(client)
    wiring.refresh()
    assert integration_of(client).registry.get("amazon:amazon") is None
    assert (
        wiring.errors["amazon"] == "sandbox:mirakl/x is not a amazon sandbox (sandbox:amazon or sandbox:amazon/<name>)"
    )


def test_a_marketplace_channel_without_its_endpoint_is_not_wired_says_so_and_never_shows_its_token(
    client: TestClient,
) -> None:
    seed_world(client)
    put_channel(client, "amazon-us", "amazon", {"access_token": "Atza|not-for-display"})
    assert integration_of(client).registry.get("amazon:amazon-us") is None
    shown = client.get("/v1/channels/amazon-us").json()
    assert (shown["wiring"]["state"], shown["wiring"]["missing"]) == ("incomplete", ["endpoint"])
    assert shown["settings"]["access_token"] == "***", "the SP-API token is write-only"


def test_a_mirakl_channel_put_with_sandbox_settings_imports_its_stock_by_of01_from_the_sync_job(
    client: TestClient, mirakl: tuple[str, MiraklSandbox]
) -> None:
    name, sandbox = mirakl
    seed_world(client)
    put_channel(client, "mirakl", "mirakl", {"base_url": f"sandbox:mirakl/{name}"})
    assert client.put(f"/v1/channels/mirakl/listings/{SKU}", json={}).status_code == 200
    wiring, integration = wiring_of(client), integration_of(client)
    wiring.refresh()
    assert integration.registry.get("mirakl:mirakl") is not None, wiring.errors
    receive(client, SKU, 6)
    integration.dispatcher.drain()
    before = sandbox.offer(SKU)
    assert before is not None
    assert before.quantity == 0, "a number waits on its listing for the next import"
    assert "mirakl:mirakl:offer_sync" in wiring.run_due(force=True)  # uploads the OF01 file
    wiring.run_due(force=True)  # polls it (OF02) until Mirakl has applied it
    offer = sandbox.offer(SKU)
    assert offer is not None
    assert (offer.quantity, offer.price, offer.leadtime_to_ship) == (6, Decimal("89.00"), 2)
    assert [c.operation for c in sandbox.calls if c.operation in ("OF01", "OF24")] == ["OF01"]


def test_an_amazon_channel_with_an_lwa_refresh_token_fetches_its_access_token_and_renews_it_once_expired(
    client: TestClient, amazon: tuple[str, AmazonSandbox]
) -> None:
    name, sandbox = amazon
    seed_world(client)
    settings = {
        "endpoint": f"sandbox:amazon/{name}",
        "product_type": "SHIRT",
        "refresh_token": sandbox.config.refresh_token,
    }
    put_channel(client, "amazon", "amazon", settings)
    assert client.put(f"/v1/channels/amazon/listings/{SKU}", json={"marketplace": MARKETPLACE}).status_code == 200
    assert client.get("/v1/channels/amazon").json()["settings"]["refresh_token"] == "***"
    integration = integration_of(client)
    receive(client, SKU, 4)
    integration.dispatcher.drain()
    assert sandbox.quantity(SKU) == 4
    assert len(sandbox.issued_tokens) == 1

    sandbox.expire_tokens()  # an hour later, as far as Amazon is concerned
    receive(client, SKU, 1)
    integration.dispatcher.drain()
    assert sandbox.quantity(SKU) == 5
    assert len(sandbox.issued_tokens) == 2
    assert [c.status for c in sandbox.operations("patchListingsItem")] == [200, 403, 200]
    assert [c.status for c in sandbox.operations("lwaToken")] == [200, 200]


def test_an_amazon_channel_whose_refresh_token_amazon_refuses_dead_letters_the_push_with_the_reason(
    client: TestClient, amazon: tuple[str, AmazonSandbox]
) -> None:
    name, sandbox = amazon
    seed_world(client)
    settings = {"endpoint": f"sandbox:amazon/{name}", "product_type": "SHIRT", "refresh_token": "Atzr|revoked"}
    put_channel(client, "amazon", "amazon", settings)
    assert client.put(f"/v1/channels/amazon/listings/{SKU}", json={"marketplace": MARKETPLACE}).status_code == 200
    receive(client, SKU, 4)
    integration_of(client).dispatcher.drain()
    assert sandbox.operations("patchListingsItem") == []
    dead = client.get("/v1/integration/dead-letters", params={"subscriber": "amazon:amazon"}).json()["items"]
    assert [d["last_error"] for d in dead] == ["LWA token: HTTP 400: The request has an invalid grant parameter"]


def availability_events(client: TestClient, channel: str) -> int:
    from sqlalchemy import func, select

    from seamline.integration.events import AVAILABILITY_CHANGED
    from seamline.store.tables import outbox_events

    engine = client.app.state.seamline.engine  # type: ignore[attr-defined]
    query = select(func.count()).where(outbox_events.c.type == AVAILABILITY_CHANGED, outbox_events.c.channel == channel)
    with engine.connect() as conn:
        return int(conn.execute(query.select_from(outbox_events)).scalar_one())


def test_stock_from_before_an_amazon_channel_was_wired_reaches_it_when_a_later_put_wires_it(
    client: TestClient, amazon: tuple[str, AmazonSandbox]
) -> None:
    name, sandbox = amazon
    seed_world(client)
    put_channel(client, "amazon", "amazon", {})  # no endpoint yet: nothing is wired
    assert client.put(f"/v1/channels/amazon/listings/{SKU}", json={"marketplace": MARKETPLACE}).status_code == 200
    receive(client, SKU, 7)
    integration_of(client).dispatcher.drain()
    assert sandbox.quantity(SKU) == 0
    put_channel(client, "amazon", "amazon", {"endpoint": f"sandbox:amazon/{name}", "product_type": "SHIRT"})
    integration_of(client).dispatcher.drain()
    assert sandbox.quantity(SKU) == 7, "the newly wired channel gets its current number"
    sent = availability_events(client, "amazon")
    settings = {"endpoint": f"sandbox:amazon/{name}", "product_type": "SHIRT", "pull_orders_every_seconds": 90}
    put_channel(client, "amazon", "amazon", settings)
    integration_of(client).dispatcher.drain()
    assert availability_events(client, "amazon") == sent, "a rewire finds the number shown: nothing is sent"
