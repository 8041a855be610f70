"""Lightspeed Retail (X-Series) webhooks and sales on payloads written for this suite in the documented shapes:
a form-encoded body with a ``payload`` JSON field signed ``X-Signature: signature=<hex>, algorithm=HMAC-SHA256``,
and the API 1.0 sale (``register_sale_products`` with per-unit ``price``/``tax``, ``register_sale_payments``).
The sandbox's documented rate limit (300 x registers + 50 per 5 minutes) is checked here too."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from seamline.channels.lightspeed import inbound, mapper
from seamline.channels.lightspeed.client import (
    LightspeedClient,
    LightspeedConfig,
    LightspeedRateLimited,
    LightspeedRejected,
    retry_after,
)
from seamline.channels.lightspeed.connector import LightspeedConnector
from seamline.integration import RateLimited
from seamline.integration.events import Delivery
from seamline.sandbox.lightspeed import LightspeedSandbox, LightspeedSandboxConfig, rate_limit, sign

SECRET = "client-secret-1"
LOOKUPS = mapper.LightspeedLookups(
    sku_for_product={"P-M": "OVS-001-NVY-M", "P-L": "OVS-001-NVY-L"},
    location_for={"OUT-1": "STORE-1"},
    outlet_for_register={"REG-1": "OUT-1"},
)


def sale(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "sale-1",
        "register_id": "REG-1",
        "sale_date": "2026-11-27 10:15:00",
        "status": "CLOSED",
        "register_sale_products": [
            {"product_id": "P-M", "quantity": 2, "price": 74.16667, "tax": 14.83333, "price_total": 148.33334,
             "tax_total": 29.66666},
        ],
        "register_sale_payments": [{"name": "Credit Card", "amount": 100}, {"name": "Cash", "amount": 78.0}],
    }  # fmt: skip
    return {**base, **overrides}


def form(payload: dict[str, Any], kind: str = "sale.update") -> bytes:
    return urlencode({"type": kind, "domain_prefix": "seamline", "payload": json.dumps(payload)}).encode()


def test_a_signed_form_webhook_is_verified_and_a_closed_sale_becomes_a_till_sale() -> None:
    body = form(sale())
    webhook = inbound.verify(body, {"X-Signature": sign(SECRET, body)}, [SECRET])
    assert webhook.type == "sale.update"
    mapped = mapper.map_sale(webhook.payload, LOOKUPS, "EUR")
    assert mapped is not None
    assert (mapped.sale_id, mapped.location, mapped.lines) == (
        "sale-1",
        "STORE-1",
        (mapper.SaleLine("OVS-001-NVY-M", 2, Decimal("89.00")),),
    )
    assert mapped.tenders == (("card", Decimal("100.00")), ("cash", Decimal("78.00")))
    assert mapped.occurred_at == datetime(2026, 11, 27, 10, 15, tzinfo=UTC)
    message = inbound.inbound_message(webhook, body, {}, channel="soho")
    again = inbound.inbound_message(
        inbound.verify(body, {"x-signature": sign(SECRET, body)}, [SECRET]), body, {}, channel="soho"
    )
    assert message.external_id == again.external_id, "a retried delivery is the same message"
    changed = form(sale(status="CLOSED", invoice_number="2"))
    other = inbound.inbound_message(
        inbound.verify(changed, {"x-signature": sign(SECRET, changed)}, [SECRET]), changed, {}, channel="soho"
    )
    assert (other.external_id != message.external_id, other.aggregate_key) == (True, "sale:sale-1")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "signature=deadbeef, algorithm=HMAC-SHA256",
        "signature={good}, algorithm=HMAC-SHA1",
        "{good}",
    ],
)
def test_a_webhook_without_a_good_signature_is_refused_401(header: str | None) -> None:
    body = form(sale())
    good = inbound.compute_signature(SECRET, body)
    headers = {} if header is None else {"X-Signature": header.format(good=good)}
    with pytest.raises(inbound.WebhookRejected) as caught:
        inbound.verify(body, headers, [SECRET])
    assert caught.value.status == 401


def test_the_old_secret_still_verifies_during_a_rotation_and_a_body_without_payload_is_400() -> None:
    body = form(sale())
    assert inbound.verify(body, {"X-Signature": sign("old", body)}, ["new", "old"]).type == "sale.update"
    bare = b"type=sale.update"
    with pytest.raises(inbound.WebhookRejected) as caught:
        inbound.verify(bare, {"X-Signature": sign(SECRET, bare)}, [SECRET])
    assert caught.value.status == 400


def test_an_open_sale_sold_nothing_and_a_return_is_marked_as_one() -> None:
    assert mapper.map_sale(sale(status="SAVED"), LOOKUPS, "EUR") is None
    returned = sale(
        register_sale_products=[{"product_id": "P-M", "quantity": -1, "price": 74.16667, "tax": 14.83333}],
        register_sale_payments=[{"name": "Cash", "amount": -89.0}],
        return_for="sale-1",
    )
    mapped = mapper.map_sale(returned, LOOKUPS, "EUR")
    assert mapped is not None
    assert (mapped.is_return, mapped.return_for, mapped.tenders) == (True, "sale-1", (("cash", Decimal("89.00")),))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"register_id": "REG-9"}, "not linked to a store"),
        ({"register_sale_products": [{"product_id": "P-X", "quantity": 1, "price": 1, "tax": 0}]}, "not a published"),
        ({"register_sale_payments": [{"name": "Cash", "amount": 1}]}, "lines total 178.00, payments 1.00"),
        ({"register_sale_products": [{"product_id": "P-M", "quantity": 1.5, "price": 1, "tax": 0}]}, "whole number"),
    ],
)  # fmt: skip
def test_a_sale_that_cannot_be_booked_says_why(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(mapper.LightspeedMappingError, match=message):
        mapper.map_sale(sale(**overrides), LOOKUPS, "EUR")


def test_the_sandbox_enforces_300_per_register_plus_50_per_five_minutes_with_retry_after() -> None:
    now = [1000.0]
    sandbox = LightspeedSandbox(LightspeedSandboxConfig(registers={}), clock=lambda: now[0])
    assert sandbox.limit == rate_limit(0) == 50
    client = LightspeedClient(LightspeedConfig("http://ls.test", sandbox.config.token), transport=sandbox.transport())
    for _ in range(50):
        client.outlets()
    assert client.remaining == 0
    now[0] += 100
    with pytest.raises(LightspeedRateLimited) as limited:
        client.outlets()
    assert limited.value.retry_after == 200.0
    now[0] += 200
    assert client.outlets() == [{"id": "OUT-1", "name": "Soho"}]
    assert client.remaining == 49
    assert rate_limit(2) == 650


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert retry_after("30", now) == 30.0
    assert retry_after("Fri, 27 Nov 2026 10:01:00 GMT", now) == 60.0
    assert retry_after(None, now) is None


def test_a_count_replaces_the_outlets_inventory_and_a_bad_update_is_refused() -> None:
    sandbox = LightspeedSandbox()
    product = sandbox.add_product("OVS-001-NVY-M", "Navy overshirt M", Decimal("89.00"))
    sandbox.inventory[(product, "OUT-1")] = 3
    client = LightspeedClient(LightspeedConfig("http://ls.test", sandbox.config.token), transport=sandbox.transport())
    client.set_inventory(product, "OUT-1", 12)
    assert sandbox.inventory[(product, "OUT-1")] == 12
    with pytest.raises(LightspeedRejected):
        client.set_inventory(product, "OUT-9", 1)
    raw = httpx.Client(transport=sandbox.transport(), base_url="http://ls.test")
    refused = raw.put(
        f"/api/2.1/products/{product}",
        json={"details": {"inventory": [{"outlet_id": "OUT-1", "current_amount": 1.5}]}},
        headers={"Authorization": f"Bearer {sandbox.config.token}"},
    )
    assert refused.status_code == 422
    assert sandbox.inventory[(product, "OUT-1")] == 12, "a refused update changes nothing"


def delivery(n: int, sku: str, available: int) -> Delivery:
    payload = {"sku": sku, "available": available}
    at = datetime(2026, 11, 27, tzinfo=UTC)
    return Delivery(n, "lightspeed:soho:stock", f"evt-{n}", "AvailabilityChanged", n, payload, None, at, 1)


def test_counts_sent_before_the_window_ran_out_are_delivered_and_the_rest_wait_for_retry_after() -> None:
    now = [0.0]
    sandbox = LightspeedSandbox(LightspeedSandboxConfig(registers={}), clock=lambda: now[0])  # 50 calls a window
    products = {sandbox.add_product(sku, sku, Decimal("10")): sku for sku in ("A", "B", "C")}
    client = LightspeedClient(LightspeedConfig("http://ls.test", sandbox.config.token), transport=sandbox.transport())
    for _ in range(49):
        client.outlets()
    connector = LightspeedConnector(
        None,  # type: ignore[arg-type]  # the stock push reads no database
        client,
        lambda: mapper.LightspeedLookups(sku_for_product=products),
        channel="soho",
    )
    outcomes = connector.deliver_counts(
        [delivery(1, "A", 5), delivery(2, "B", 7), delivery(3, "A", 6), delivery(4, "C", -2)], outlet="OUT-1"
    )
    assert [type(o).__name__ for o in outcomes] == ["Delivered", "RateLimited", "Delivered", "RateLimited"]
    limited = outcomes[1]
    assert isinstance(limited, RateLimited)
    assert limited.retry_after == 300.0
    assert {products[p]: n for (p, _), n in sandbox.inventory.items()} == {"A": 6}, "the last number for A"


def test_a_customer_payload_gives_its_match_keys_and_the_walk_in_customer_has_none() -> None:
    ada = mapper.map_customer({"id": "c1", "first_name": "Ada", "last_name": "Lovelace", "mobile": "+44 20 7946 0958"})
    assert (ada.email, ada.phone, ada.name, ada.matchable) == (None, "+44 20 7946 0958", "Ada Lovelace", True)
    walk_in = mapper.map_customer({"id": "c0", "name": "Walk-in customer", "email": "", "phone": None})
    assert (walk_in.name, walk_in.matchable) == ("Walk-in customer", False)
    mapped = mapper.map_sale(sale(customer={"id": "c0", "name": "Walk-in customer"}), LOOKUPS, "EUR")
    assert mapped is not None
    assert mapped.customer is None, "a sale to the walk-in customer names nobody"
    with pytest.raises(mapper.LightspeedMappingError):
        mapper.map_customer({"first_name": "no id"})
