"""The inbox (DESIGN 8): stored raw before it is acknowledged, deduplicated, validated into commands,
retried, rejected or failed visibly, in order per aggregate, stale updates skipped. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from seamline.domain.clock import FixedClock
from seamline.integration import (
    AVAILABILITY_CHANGED,
    FunctionHandler,
    HandlerRegistry,
    HoldMessage,
    InboundMessage,
    Integration,
    IntegrationSettings,
    InvalidMessage,
    StoredMessage,
    install,
)
from seamline.ledger import MovementRequest
from seamline.service import Seamline
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import outbox_repo
from tests.conftest import seed_world

SKU = "OVS-001-OLV-S"


@pytest.fixture
def integration(app: Seamline) -> Iterator[Integration]:
    handlers = HandlerRegistry()
    found = install(app, IntegrationSettings(inbox_max_attempts=3, backoff_base_seconds=1.0), handlers=handlers)
    yield found
    found.uninstall()


@pytest.fixture
def world(integration: Integration, client: TestClient) -> TestClient:
    seed_world(client)
    return client


class StockCounts:
    """A 3PL-like source: ``{"sku", "qty"}`` receipts into WH; a handler that can be told to fail."""

    def __init__(self, app: Seamline) -> None:
        self.app = app
        self.failures_left = 0
        self.applied: list[dict[str, Any]] = []

    def parse(self, message: StoredMessage) -> MovementRequest:
        body = message.json()
        if not isinstance(body, dict) or not isinstance(body.get("qty"), int) or body["qty"] <= 0:
            raise InvalidMessage("qty must be a positive whole number")
        return MovementRequest(kind="receipt", sku=str(body.get("sku")), qty=body["qty"], to_location="WH")

    def apply(self, uow: UnitOfWork, command: MovementRequest) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("the ledger was briefly unavailable")
        self.applied.append(self.app.record_movement(uow, command))


def message(external_id: str, body: Any, **extra: Any) -> InboundMessage:
    return InboundMessage(
        source="3pl",
        external_id=external_id,
        message_type="receipt",
        body=json.dumps(body).encode(),
        headers={"X-Signature": "abc"},
        **extra,
    )


def on_hand(client: TestClient) -> int:
    items = client.get("/v1/stock", params={"sku": SKU, "location": "WH"}).json()["items"]
    return int(items[0]["on_hand"]) if items else 0


def test_a_message_is_stored_raw_then_processed_once_and_its_duplicates_counted(
    app: Seamline, integration: Integration, world: TestClient
) -> None:
    handler = StockCounts(app)
    integration.handlers.register("3pl", "receipt", handler)
    first = integration.inbox.receive(message("rcpt-1", {"sku": SKU, "qty": 5}))
    again = integration.inbox.receive(message("rcpt-1", {"sku": SKU, "qty": 5}))
    assert not first.duplicate
    assert again.duplicate
    assert again.id == first.id
    stored = world.get("/v1/integration/inbox").json()["items"]
    assert [(m["external_id"], m["status"], m["duplicates"]) for m in stored] == [("rcpt-1", "received", 1)]
    assert integration.inbox.drain() == 1
    integration.inbox.receive(message("rcpt-1", {"sku": SKU, "qty": 5}))
    assert integration.inbox.drain() == 0
    assert on_hand(world) == 5
    assert len(handler.applied) == 1
    # The receipt's trace rides into its movement's availability event.
    events = list(world.get("/v1/integration/status").json()["inbox"]["3pl"].items())
    assert ("processed", 1) in events
    assert ("duplicates", 2) in events
    assert REGISTRY.get_sample_value("seamline_inbox_messages_total", {"source": "3pl", "result": "duplicate"})


def test_an_invalid_message_is_rejected_with_its_reason_and_an_unknown_type_too(
    app: Seamline, integration: Integration, world: TestClient
) -> None:
    integration.handlers.register("3pl", "receipt", StockCounts(app))
    integration.inbox.receive(message("bad-qty", {"sku": SKU, "qty": "2"}))
    integration.inbox.receive(InboundMessage(source="3pl", external_id="x", message_type="telepathy", body=b"{}"))
    integration.inbox.receive(InboundMessage("3pl", "nj", "receipt", b"{oops"))
    integration.inbox.drain()
    rejected = {
        m["external_id"]: m["reason"] for m in world.get("/v1/integration/inbox?status=rejected").json()["items"]
    }
    assert rejected["bad-qty"] == "qty must be a positive whole number"
    assert "x" not in rejected, "a type nobody handles yet is held, not rejected: configuration may add one"
    [held] = world.get("/v1/integration/inbox?status=held").json()["items"]
    assert held["external_id"] == "x"
    assert held["reason"].startswith("no handler for 3pl/telepathy yet")
    assert rejected["nj"].startswith("the body is not JSON")
    assert on_hand(world) == 0


def test_a_message_nobody_handles_yet_is_held_then_applied_once_a_handler_is_configured(
    app: Seamline, clock: FixedClock, integration: Integration, world: TestClient
) -> None:
    integration.inbox.receive(message("early", {"sku": SKU, "qty": 4}))
    integration.inbox.drain()
    [held] = integration.inbox.list(status="held")
    assert (held["waiting_for"], held["attempts"]) == ("handler", 0)
    clock.advance(24 * 3600)
    integration.inbox.drain()  # rechecked a day later: still no handler, still held, never failed or rejected
    assert [m["status"] for m in integration.inbox.list()] == ["held"]
    assert on_hand(world) == 0
    integration.handlers.register("3pl", "receipt", StockCounts(app))
    assert integration.inbox.release("3pl", message_types=["receipt"]) == 1
    integration.inbox.drain()
    assert [m["status"] for m in integration.inbox.list()] == ["processed"]
    assert on_hand(world) == 4


class WaitsForItsOrder:
    """A refund-like message that holds until its order (the aggregate ``order:<id>``) has been applied."""

    def __init__(self, app: Seamline) -> None:
        self.app = app
        self.orders: set[str] = set()
        self.refunds: list[str] = []

    def parse(self, message: StoredMessage) -> dict[str, Any]:
        body: dict[str, Any] = message.json()
        return body

    def apply(self, _uow: UnitOfWork, command: dict[str, Any]) -> None:
        if command["kind"] == "order":
            self.orders.add(command["order"])
        elif command["order"] not in self.orders:
            raise HoldMessage(f"order {command['order']} not seen yet", waiting_for=f"order:{command['order']}")
        else:
            self.refunds.append(command["order"])


def test_a_message_held_for_its_aggregate_goes_back_in_line_when_the_aggregate_is_applied(
    app: Seamline, integration: Integration
) -> None:
    handler = WaitsForItsOrder(app)
    integration.handlers.register("shop", "event", handler)

    def send(external_id: str, kind: str, order: str) -> None:
        body = json.dumps({"kind": kind, "order": order}).encode()
        integration.inbox.receive(InboundMessage("shop", external_id, "event", body, aggregate_key=f"order:{order}"))

    send("r1", "refund", "7")
    send("r2", "refund", "8")
    integration.inbox.drain()
    assert sorted(m["waiting_for"] for m in integration.inbox.list(status="held")) == ["order:7", "order:8"]
    send("o7", "order", "7")
    integration.inbox.drain()
    assert handler.refunds == ["7"], "order 7's refund applied with it; order 8's still waits"
    [still] = integration.inbox.list(status="held")
    assert still["external_id"] == "r2"
    assert integration.inbox.list(status="failed") == []


def test_a_failing_handler_is_retried_with_backoff_then_failed_and_visible_then_retried_by_hand(
    app: Seamline, clock: FixedClock, integration: Integration, world: TestClient
) -> None:
    handler = StockCounts(app)
    handler.failures_left = 3
    integration.handlers.register("3pl", "receipt", handler)
    integration.inbox.receive(message("rcpt-9", {"sku": SKU, "qty": 2}))
    assert integration.inbox.process_due() == 1  # attempt 1 fails
    assert integration.inbox.process_due() == 0, "waits for its backoff"
    clock.advance(60)
    integration.inbox.process_due()  # attempt 2 fails
    clock.advance(60)
    integration.inbox.process_due()  # attempt 3 fails: given up
    [failed] = world.get("/v1/integration/inbox?status=failed").json()["items"]
    assert failed["attempts"] == 3
    assert "briefly unavailable" in failed["reason"]
    assert on_hand(world) == 0
    assert world.post(f"/v1/integration/inbox/{failed['id']}/retry").status_code == 200
    assert integration.inbox.drain() == 1
    assert on_hand(world) == 2
    assert world.post(f"/v1/integration/inbox/{failed['id']}/retry").status_code == 404


def test_messages_of_one_aggregate_apply_in_order_and_a_stale_update_is_skipped(
    app: Seamline, clock: FixedClock, integration: Integration, world: TestClient
) -> None:
    seen: list[tuple[str, int]] = []

    def parse(m: StoredMessage) -> tuple[str, int]:
        return m.external_id, int(m.aggregate_version or 0)

    def apply(uow: UnitOfWork, command: tuple[str, int]) -> None:
        if command[0] == "v2" and not any(c[0] == "v2-failed-once" for c in seen):
            seen.append(("v2-failed-once", 0))
            raise RuntimeError("transient")
        seen.append(command)

    integration.handlers.register("shop", "orders/updated", FunctionHandler(parse, apply))

    def send(external_id: str, version: int, key: str = "order-1") -> None:
        integration.inbox.receive(
            InboundMessage("shop", external_id, "orders/updated", b"{}", aggregate_key=key, aggregate_version=version)
        )

    send("v2", 2)
    send("v3", 3)
    send("other", 1, key="order-2")
    send("v1", 1)  # arrives late: older than v3
    integration.inbox.process_due()  # v2 fails; v3 and v1 wait behind it; order-2 goes on
    assert [c for c in seen if c[0] != "v2-failed-once"] == [("other", 1)]
    clock.advance(60)
    integration.inbox.drain()
    assert [c for c in seen if c[0] != "v2-failed-once"] == [("other", 1), ("v2", 2), ("v3", 3)]
    stale = world.get("/v1/integration/inbox?status=stale").json()["items"]
    assert [(m["external_id"], m["reason"]) for m in stale] == [("v1", "stale: version 1 is older than applied 3")]


def test_an_inbox_driven_movement_emits_availability_with_the_messages_trace(
    app: Seamline, integration: Integration, world: TestClient
) -> None:
    integration.handlers.register("3pl", "receipt", StockCounts(app))
    trace = "0af7651916cd43dd8448eb211c80319c"
    integration.inbox.receive(message("rcpt-t", {"sku": SKU, "qty": 4}, trace_id=trace))
    integration.inbox.drain()
    integration.availability.flush()  # the publisher carries the writer's trace onto the number it computes
    with app.engine.connect() as conn:
        traced = outbox_repo.events_of_trace(conn, trace)
    assert [(e["type"], e["payload"]["sku"], e["payload"]["atp"]) for e in traced] == [(AVAILABILITY_CHANGED, SKU, 4)]
