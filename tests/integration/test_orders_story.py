"""The story our users tell, raced from real threads on both databases.

The last navy overshirt in size M is in one store. A till sale in that store, an order on the web (Shopify)
channel and a wholesale allocation race for it. Exactly one wins; the till and the web channel get 409, the
wholesale channel (which backorders) gets a backorder; and every channel's availability reads 0 after.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient

from seamline.service import Seamline
from tests.conftest import receive
from tests.integration.order_world import (
    atp,
    order_body,
    reconciled,  # noqa: F401 - the fixture, used below
    sale_body,
    seed_channels,
    stock,
)

pytestmark = [pytest.mark.usefixtures("reconciled"), pytest.mark.slow]

#: One race per SKU: size M first, as in the story, then three more last units.
LAST_UNITS = ("OVS-001-NVY-M", "OVS-001-NVY-S", "OVS-001-OLV-M", "OVS-001-OLV-L")
CHANNELS = ("web", "wholesale", "amazon", "soho-till")


def bearer(client: TestClient, *scopes: str) -> dict[str, str]:
    response = client.post("/v1/tokens", json={"name": " ".join(scopes), "scopes": list(scopes)})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call on its own thread, released together by a barrier; return their answers in order."""
    barrier = threading.Barrier(len(calls), timeout=30)
    answers: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            answers[i] = calls[i]()
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,), name=f"racer-{i}") for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return answers


def test_till_web_and_wholesale_race_for_the_last_unit_and_exactly_one_wins(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    till = bearer(client, "location:STORE-1")
    shopify = bearer(client, "channel:web")
    b2b = bearer(client, "channel:wholesale")
    winners: list[str] = []
    for n, sku in enumerate(LAST_UNITS):
        receive(client, sku, 1, to="STORE-1")
        line = [{"sku": sku, "qty": 1, "unit_price": "89.00"}]
        sale, web, wholesale = race(
            [
                partial(client.post, "/v1/sales", json=sale_body(external_id=f"R-{n}", lines=line), headers=till),
                partial(client.post, "/v1/orders", json=order_body("web", f"W-{n}", lines=line), headers=shopify),
                partial(
                    client.post,
                    "/v1/orders",
                    json=order_body("wholesale", f"PO-{n}", lines=[{"sku": sku, "qty": 1}]),
                    headers=b2b,
                ),
            ]
        )
        won = [
            name
            for name, ok in (
                ("till", sale.status_code == 201),
                ("web", web.status_code == 201 and web.json()["status"] == "allocated"),
                ("wholesale", wholesale.status_code == 201 and wholesale.json()["status"] == "allocated"),
            )
            if ok
        ]
        assert len(won) == 1, (sku, sale.text, web.text, wholesale.text)
        winners.extend(won)
        if won != ["till"]:
            assert sale.status_code == 409, sale.text
            assert sale.json()["type"].endswith("/insufficient-stock")
        if won != ["web"]:
            assert web.status_code == 409, web.text
            expected = {"sku": sku, "requested": 1, "available": 0, "location": None, "bound": "sources"}
            assert web.json()["shortages"] == [expected]
        if won != ["wholesale"]:
            assert wholesale.status_code == 201, wholesale.text
            assert wholesale.json()["status"] == "backordered", "the wholesale channel backorders by policy"
        for channel in CHANNELS:
            assert atp(client, channel, sku) == 0, (sku, channel)
        on_hand, committed, reserved, available = stock(client, sku, "STORE-1")
        assert available == 0
        assert (on_hand, committed) == ((0, 0) if won == ["till"] else (1, 1))
        assert reserved == 0
    assert len(winners) == len(LAST_UNITS)
    report = app.reconcile()
    assert report.clean
    assert report.oversold == [], "nobody forced anything: no unit was sold twice"


def test_the_same_order_sent_four_times_at_once_is_created_once(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    receive(client, "OVS-001-NVY-M", 5)
    body = order_body("web", "SHOPIFY-1001", lines=[{"sku": "OVS-001-NVY-M", "qty": 2, "unit_price": "89.00"}])
    answers = race([partial(client.post, "/v1/orders", json=body) for _ in range(4)])
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert stock(client, "OVS-001-NVY-M", "WH") == (5, 2, 0, 3), "allocated once"


def test_pick_and_cancel_racing_on_one_order_leave_one_consistent_outcome(client: TestClient) -> None:
    seed_channels(client)
    sku = "OVS-001-NVY-M"
    for n in range(3):
        receive(client, sku, 2)
        order_id = client.post(
            "/v1/orders", json=order_body("web", f"W-{n}", lines=[{"sku": sku, "qty": 2, "unit_price": "89.00"}])
        ).json()["id"]
        pick, cancel = race(
            [
                partial(client.post, f"/v1/orders/{order_id}/pick"),
                partial(client.post, f"/v1/orders/{order_id}/cancel"),
            ]
        )
        final = client.get(f"/v1/orders/{order_id}").json()
        assert pick.status_code in (200, 409), pick.text
        assert cancel.status_code == 200, cancel.text
        if pick.status_code == 200 and pick.json()["status"] == "picked":
            assert final["awaiting_return"] == [{"sku": sku, "qty": 2}], "cancelled after the pick"
        else:
            assert final["lines"][0]["picked"] == 0, "cancelled before the pick"
        assert final["status"] == "cancelled"
        assert stock(client, sku, "WH")[1] == 0, "nothing stays committed"
