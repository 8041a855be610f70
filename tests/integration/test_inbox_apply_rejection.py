"""The inbox on SQLite and PostgreSQL when a handler finds, while applying, that a message can never apply:
what ``apply`` already wrote is rolled back and the message is rejected with the handler's reason, not
retried (the 3PL's files rely on it: a file is applied whole or not at all)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from seamline.integration import FunctionHandler, InboundMessage, Integration, InvalidMessage, StoredMessage
from seamline.ledger import MovementRequest
from seamline.service import Seamline
from seamline.service.unit_of_work import UnitOfWork
from tests.conftest import seed_world

SKU = "OVS-001-NVY-M"


def test_a_message_apply_rejects_halfway_is_rejected_and_leaves_nothing_written(
    app: Seamline, client: TestClient
) -> None:
    seed_world(client)
    integration: Integration = client.app.state.integration  # type: ignore[attr-defined]

    def parse(message: StoredMessage) -> list[int]:
        return [int(q) for q in message.body.decode().split(",")]

    def apply(uow: UnitOfWork, quantities: list[int]) -> None:
        for n, qty in enumerate(quantities, start=1):
            if qty <= 0:
                raise InvalidMessage(f"line {n}: {qty} is not a quantity")
            app.record_movement(uow, MovementRequest(kind="receipt", sku=SKU, qty=qty, to_location="WH"))

    integration.handlers.register("halfway", "receipts", FunctionHandler(parse, apply))
    try:
        for external_id, body in (("bad", b"4,0"), ("good", b"4,1")):
            integration.inbox.receive(InboundMessage("halfway", external_id, "receipts", body))
        integration.inbox.drain()
        rows = integration.inbox.list(source="halfway")
        assert sorted((r["external_id"], r["status"], r["reason"], r["attempts"]) for r in rows) == [
            ("bad", "rejected", "line 2: 0 is not a quantity", 0),
            ("good", "processed", None, 0),
        ]
        (stock,) = client.get("/v1/stock", params={"sku": SKU, "location": "WH"}).json()["items"]
        assert stock["on_hand"] == 5, "the 4 units of the rejected message's first line were rolled back"
    finally:
        integration.handlers.unregister("halfway", "receipts")
