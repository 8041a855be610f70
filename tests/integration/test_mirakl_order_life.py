"""A Mirakl order's whole life against the Mirakl sandbox, on SQLite and PostgreSQL, with the channel wired
from its settings alone: pulled (OR11) by the order job, accepted where the ledger can serve it and refused
where it cannot (OR21), shipped in two parcels each confirmed with its own lines, carrier and tracking
(ST01), one line refunded (OR28); at the end the marketplace shows what the ledger shows, and running
everything again changes nothing."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from seamline.channels import sandboxes
from seamline.channels.wiring import ConnectorWiring
from seamline.domain.clock import FixedClock
from seamline.integration import Integration
from seamline.sandbox.mirakl import MiraklSandbox
from seamline.sandbox.mirakl import SandboxConfig as MiraklSandboxConfig
from seamline.service import Seamline
from seamline.store.tables import channel_confirmations, inbox_messages, order_shipments
from tests.conftest import receive, seed_world
from tests.integration.helpers import stock_of

M, L, XL = "OVS-001-NVY-M", "OVS-001-NVY-L", "OVS-001-NVY-XL"


@pytest.fixture
def mirakl(clock: FixedClock) -> Iterator[tuple[str, MiraklSandbox]]:
    name = f"life-{uuid.uuid4().hex[:8]}"
    sandbox = MiraklSandbox(MiraklSandboxConfig(), clock=clock)  # type: ignore[arg-type]
    for sku in (M, L, XL):
        sandbox.add_offer(sku, price=Decimal("89.00"), quantity=0)
    sandboxes.register("mirakl", name, sandbox)
    yield name, sandbox
    sandboxes.forget("mirakl", name)


class Life:
    def __init__(self, app: Seamline, client: TestClient, clock: FixedClock, name: str, **settings: Any) -> None:
        self.app, self.http, self.clock = app, client, clock
        seed_world(client)
        body = {
            "kind": "mirakl",
            "sources": ["WH"],
            "on_shortage": "reject",
            "settings": {"base_url": f"sandbox:mirakl/{name}", "currency": "EUR", **settings},
        }
        response = client.put("/v1/channels/zalando", json=body)
        assert response.status_code == 201, response.text
        self.wiring: ConnectorWiring = client.app.state.wiring  # type: ignore[attr-defined]
        self.integration: Integration = client.app.state.integration  # type: ignore[attr-defined]
        self.wiring.refresh()
        assert self.integration.registry.get("mirakl-shipments:zalando") is not None, self.wiring.errors

    def run_jobs(self, *, force: bool = True) -> list[str]:
        self.clock.advance(61)  # OR11's bucket refills at one a minute
        return self.wiring.run_due(force=force)

    def dispatch(self) -> None:
        for _ in range(20):
            if not self.integration.dispatcher.drain():
                return
            self.clock.advance(60)
        raise AssertionError("deliveries still pending")

    def order(self, external_id: str) -> dict[str, Any]:
        items = self.http.get("/v1/orders", params={"channel": "zalando"}).json()["items"]
        [found] = [o for o in items if o["external_id"] == external_id]
        return found  # type: ignore[no-any-return]

    def step(self, order_id: str, step: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.post(f"/v1/orders/{order_id}/{step}", json=body)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def shipments(self, order_id: str) -> list[dict[str, Any]]:
        with self.app.engine.connect() as conn:
            rows = conn.execute(
                select(order_shipments)
                .where(order_shipments.c.order_id == order_id)
                .order_by(order_shipments.c.shipment_no)
            )
            return [dict(r) for r in rows.mappings()]


def test_a_mirakl_order_pulled_accepted_shipped_in_two_parcels_and_refunded_shows_what_the_ledger_shows(
    app: Seamline, client: TestClient, clock: FixedClock, mirakl: tuple[str, MiraklSandbox]
) -> None:
    name, sandbox = mirakl
    life = Life(app, client, clock, name, carrier_codes={"DHL": "dhl-de"})
    receive(client, M, 3)
    receive(client, L, 1)  # XL: none, so its line is refused
    sandbox.add_order(
        "ZL-1001-A",
        [(M, 2, Decimal("89.00")), (L, 1, Decimal("79.00")), (XL, 1, Decimal("89.00"))],
        customer={"customer_id": "C-1", "firstname": "Ada", "lastname": "Lovelace"},
    )

    # Pulled and answered by the order job (a periodic job: one process runs it per period).
    assert "mirakl:zalando:orders" in life.run_jobs()
    marketplace = sandbox.order("ZL-1001-A")
    assert [line.state for line in marketplace.lines] == ["SHIPPING", "SHIPPING", "REFUSED"]
    assert marketplace.state == "SHIPPING", "accepted lines are debited; the order waits for its shipment"
    ours = life.order("ZL-1001-A")
    assert ours["kind"] == "marketplace"
    assert [(x["sku"], x["qty"], x["allocated"]) for x in ours["lines"]] == [(M, 2, 2), (L, 1, 1)]
    assert [c.operation for c in sandbox.calls].count("OR21") == 1

    # Two parcels, each confirmed with its own lines, carrier and tracking.
    life.step(ours["id"], "pick", {"lines": [{"sku": M, "qty": 2}]})
    life.step(ours["id"], "pack")
    life.step(ours["id"], "ship", {"tracking": "00340434161234567890", "carrier": "DHL"})
    life.dispatch()
    first = sandbox.shipments("ZL-1001-A")
    assert [[(x["order_line_id"], x["quantity"]) for x in s["shipment_lines"]] for s in first] == [[("ZL-1001-A-1", 2)]]
    assert first[0]["tracking"] == {"carrier_code": "dhl-de", "tracking_number": "00340434161234567890"}
    assert sandbox.order("ZL-1001-A").state == "SHIPPING", "one line still to ship"
    life.step(ours["id"], "pick")
    life.step(ours["id"], "pack")
    life.step(ours["id"], "ship", {"tracking": "JD014600006281234567", "carrier": "Hermes"})
    life.dispatch()
    parcels = sandbox.shipments("ZL-1001-A")
    assert len(parcels) == 2
    assert parcels[1]["tracking"] == {"carrier_name": "Hermes", "tracking_number": "JD014600006281234567"}
    assert sandbox.order("ZL-1001-A").state == "SHIPPED"

    # One line refunded: the return booked here is refunded there, at the amount the return credited.
    response = client.post(
        "/v1/returns",
        json={"order_id": ours["id"], "location": "WH", "lines": [{"sku": L, "qty": 1, "condition": "sellable"}]},
    )
    assert response.status_code == 201, response.text
    credited = sum(Decimal(line["amount"]) for line in response.json()["lines"])
    life.run_jobs()

    # The marketplace shows what the ledger shows.
    ledger = life.order("ZL-1001-A")
    marketplace = sandbox.order("ZL-1001-A")
    by_sku = {line["sku"]: line for line in ledger["lines"]}
    for line in marketplace.lines:
        if line.state == "REFUSED":
            assert line.offer_sku not in by_sku, "a refused line never reached the queue"
            continue
        ours_line = by_sku[line.offer_sku]
        assert (line.shipped, line.refunded) == (ours_line["shipped"], ours_line["returned"]), line.offer_sku
    [refunded] = [line for line in marketplace.lines if line.refunds]
    assert (refunded.offer_sku, refunded.refunds[0].amount) == (L, credited)
    ledger_parcels = life.shipments(ours["id"])
    assert [(p["tracking"], [(x["sku"], x["qty"]) for x in p["lines"]]) for p in ledger_parcels] == [
        (s["tracking"]["tracking_number"], [(x["offer_sku"], x["quantity"]) for x in s["shipment_lines"]])
        for s in parcels
    ]

    # Everything again: nothing is sent twice.
    counts = {op: [c.operation for c in sandbox.calls].count(op) for op in ("OR21", "ST01", "OR28")}
    life.run_jobs()
    life.dispatch()
    assert (
        {op: [c.operation for c in sandbox.calls].count(op) for op in counts}
        == counts
        == {
            "OR21": 1,
            "ST01": 2,
            "OR28": 1,
        }
    )


def test_an_order_naming_an_unknown_offer_is_held_until_the_sku_is_linked_and_then_answered(
    app: Seamline, client: TestClient, clock: FixedClock, mirakl: tuple[str, MiraklSandbox]
) -> None:
    name, sandbox = mirakl
    life = Life(app, client, clock, name)
    receive(client, M, 2)
    sandbox.add_offer("ZAL-NAVY-M", price=Decimal("89.00"))
    sandbox.add_order("ZL-2002-A", [("ZAL-NAVY-M", 1, Decimal("89.00"))])
    life.run_jobs()
    assert sandbox.order("ZL-2002-A").state == "WAITING_ACCEPTANCE", "held: neither accepted nor refused"
    with app.engine.connect() as conn:
        [held] = conn.execute(select(inbox_messages).where(inbox_messages.c.source == "mirakl:zalando")).mappings()
    assert (held["status"], held["attempts"]) == ("held", 0), "held, not failed or rejected: no attempt spent"
    assert "unknown SKU" in str(held["reason"])
    assert [c.operation for c in sandbox.calls].count("OR21") == 0
    # Configuration fixes it: the offer is linked to our SKU; the next round answers the order.
    linked = client.put(f"/v1/channels/zalando/listings/{M}", json={"seller_sku": "ZAL-NAVY-M"})
    assert linked.status_code == 200, linked.text
    life.run_jobs()
    assert [line.state for line in sandbox.order("ZL-2002-A").lines] == ["SHIPPING"]
    assert [(x["sku"], x["qty"]) for x in life.order("ZL-2002-A")["lines"]] == [(M, 1)]


def test_an_unknown_offer_near_the_end_of_the_acceptance_window_is_refused_and_the_rest_accepted(
    app: Seamline, client: TestClient, clock: FixedClock, mirakl: tuple[str, MiraklSandbox]
) -> None:
    name, sandbox = mirakl
    life = Life(app, client, clock, name, acceptance_window_hours=48, acceptance_margin_hours=2)
    receive(client, M, 2)
    sandbox.add_offer("NOT-OURS", price=Decimal("10.00"))
    sandbox.add_order("ZL-3003-A", [(M, 1, Decimal("89.00")), ("NOT-OURS", 1, Decimal("10.00"))])
    life.run_jobs()
    assert sandbox.order("ZL-3003-A").state == "WAITING_ACCEPTANCE", "held while the window leaves time"
    life.run_jobs()
    assert sandbox.order("ZL-3003-A").state == "WAITING_ACCEPTANCE", "still time: held again"
    clock.advance(timedelta(hours=46).total_seconds())
    life.run_jobs()  # the held order is tried again within 2 hours of its deadline: answered
    assert [line.state for line in sandbox.order("ZL-3003-A").lines] == ["SHIPPING", "REFUSED"]
    assert [(x["sku"], x["qty"]) for x in life.order("ZL-3003-A")["lines"]] == [(M, 1)]


def test_an_order_whose_debit_fails_is_cancelled_here_and_its_units_released(
    app: Seamline, client: TestClient, clock: FixedClock, mirakl: tuple[str, MiraklSandbox]
) -> None:
    name, sandbox = mirakl
    sandbox.book.auto_debit = False
    life = Life(app, client, clock, name)
    receive(client, M, 1)
    sandbox.add_order("ZL-4004-A", [(M, 1, Decimal("89.00"))])
    life.run_jobs()
    assert sandbox.order("ZL-4004-A").state == "WAITING_DEBIT_PAYMENT"
    assert life.order("ZL-4004-A")["status"] == "allocated", "units are kept while the customer is debited"
    sandbox.debit("ZL-4004-A", ok=False)
    life.run_jobs()
    assert life.order("ZL-4004-A")["status"] == "cancelled"
    assert stock_of(client, M, "WH")["available"] == 1
    life.run_jobs()
    assert [c.operation for c in sandbox.calls].count("OR29") == 0, "Mirakl ended it: nothing to tell back"


def test_an_order_cancelled_here_before_it_ships_is_cancelled_at_mirakl_once(
    app: Seamline, client: TestClient, clock: FixedClock, mirakl: tuple[str, MiraklSandbox]
) -> None:
    name, sandbox = mirakl
    life = Life(app, client, clock, name)
    receive(client, M, 1)
    sandbox.add_order("ZL-5005-A", [(M, 1, Decimal("89.00"))])
    life.run_jobs()
    life.step(life.order("ZL-5005-A")["id"], "cancel")
    life.run_jobs()
    life.run_jobs()
    assert sandbox.order("ZL-5005-A").state == "CANCELED"
    assert [c.operation for c in sandbox.calls].count("OR29") == 1


def test_a_shipment_and_a_refund_whose_answers_were_lost_are_not_sent_twice(
    app: Seamline, client: TestClient, clock: FixedClock, mirakl: tuple[str, MiraklSandbox]
) -> None:
    name, sandbox = mirakl
    life = Life(app, client, clock, name)
    receive(client, M, 2)
    sandbox.add_order("ZL-6006-A", [(M, 2, Decimal("89.00"))])
    life.run_jobs()
    ours = life.order("ZL-6006-A")
    life.step(ours["id"], "pick", {"lines": [{"sku": M, "qty": 1}]})
    life.step(ours["id"], "pack")
    sandbox.lose_next_answer("ST01")
    life.step(ours["id"], "ship", {"tracking": "T-1", "carrier": "DHL"})
    life.dispatch()  # ST01 applied, answered 504; the retry finds it with ST11
    assert len(sandbox.shipments("ZL-6006-A")) == 1
    assert sandbox.order("ZL-6006-A").lines[0].shipped == 1
    returned = client.post(
        "/v1/returns",
        json={"order_id": ours["id"], "location": "WH", "lines": [{"sku": M, "qty": 1, "condition": "sellable"}]},
    )
    assert returned.status_code == 201, returned.text
    sandbox.lose_next_answer("OR28")
    life.run_jobs()  # OR28 applied, answered 504: the return stays untold
    life.run_jobs()  # told again: Mirakl already shows the unit refunded, nothing is paid twice
    life.run_jobs()
    [line] = sandbox.order("ZL-6006-A").lines
    assert line.refunded == 1
    assert [c.operation for c in sandbox.calls].count("OR28") == 1


def test_the_first_pull_takes_every_order_still_open_however_old_and_nothing_closed(
    app: Seamline, client: TestClient, clock: FixedClock, mirakl: tuple[str, MiraklSandbox]
) -> None:
    name, sandbox = mirakl
    sandbox.book.acceptance_window = timedelta(days=30)
    sandbox.add_order("ZL-7007-A", [(M, 1, Decimal("89.00"))])
    sandbox.add_order("ZL-7008-A", [(M, 1, Decimal("89.00"))])
    sandbox.book.accept("ZL-7008-A", {"order_lines": [{"id": "ZL-7008-A-1", "accepted": False}]}, clock.now())
    clock.advance(timedelta(days=5).total_seconds())
    life = Life(app, client, clock, name, acceptance_window_hours=24 * 30)
    receive(client, M, 1)
    life.run_jobs()
    assert [o["external_id"] for o in client.get("/v1/orders", params={"channel": "zalando"}).json()["items"]] == [
        "ZL-7007-A"
    ]
    assert sandbox.order("ZL-7007-A").state == "SHIPPING"


def test_two_processes_running_the_order_round_at_once_place_and_accept_an_order_once(
    app: Seamline, client: TestClient, clock: FixedClock, mirakl: tuple[str, MiraklSandbox]
) -> None:
    """Two order rounds raced in real threads (as two processes forced at once would): the inbox stores the
    order once, one transaction places it and records the decision, the units are allocated once."""
    name, sandbox = mirakl
    life = Life(app, client, clock, name)
    receive(client, M, 3)
    sandbox.add_order("ZL-8008-A", [(M, 2, Decimal("89.00"))])
    wired = life.wiring.wired()["zalando"]
    [job] = [j for j in wired.jobs if j.name == "mirakl:zalando:orders"]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def round_() -> None:
        try:
            start.wait()
            job.run()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=round_) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # What a round left (a write that lost a lock race is retried by the inbox after its backoff, a throttled
    # call) the inbox and the next round finish.
    clock.advance(120)
    life.integration.inbox.drain()
    life.run_jobs()
    orders = client.get("/v1/orders", params={"channel": "zalando"}).json()["items"]
    assert [(o["external_id"], [(x["sku"], x["qty"], x["allocated"]) for x in o["lines"]]) for o in orders] == [
        ("ZL-8008-A", [(M, 2, 2)])
    ]
    assert stock_of(client, M, "WH")["committed"] == 2, "allocated once"
    assert [line.state for line in sandbox.order("ZL-8008-A").lines] == ["SHIPPING"]
    with app.engine.connect() as conn:
        [decision] = conn.execute(
            select(channel_confirmations).where(channel_confirmations.c.kind == "acceptance")
        ).mappings()
    assert decision["sent_at"] is not None
