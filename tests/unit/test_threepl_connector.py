"""The 3PL connector's seams with the integration backbone: a pick-ticket subscriber, files as inbox
messages, and the inbox handler's parse."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from seamline.channels.threepl.client import ThreePLClient, ThreePLSettings
from seamline.channels.threepl.connector import (
    InboxFiles,
    control_number_for,
    parse_message,
    pick_ticket_subscriber,
)
from seamline.channels.threepl.documents import Address, ItemRef, PickLine, PickTicket, StockReceipt
from seamline.channels.threepl.dropfolder import LocalDropFolder
from seamline.channels.threepl.inbound import identify
from seamline.channels.threepl.mapper import read_940
from seamline.channels.threepl.x12 import Envelope
from seamline.domain.clock import FixedClock
from seamline.integration import (
    Delivered,
    Delivery,
    DeliveryFailed,
    DeliveryRejected,
    InboundMessage,
    InvalidMessage,
    Receipt,
    StoredMessage,
)
from tests.paths import FIXTURES

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
RECEIPT_944 = FIXTURES / "edi" / "x12_944_stupidedi_fixture.edi"


def to_pick_ticket(payload: Mapping[str, Any]) -> PickTicket:
    lines = tuple(PickLine(i, ItemRef(line["sku"]), int(line["qty"])) for i, line in enumerate(payload["lines"], 1))
    return PickTicket(payload["order_id"], Address(payload["ship_to"]), lines)


def delivery(payload: Mapping[str, Any], seq: int = 41, attempt: int = 1) -> Delivery:
    return Delivery(7, "acme-3pl", f"evt-{seq}", "OrderReleased", seq, payload, None, NOW, attempt)


@pytest.fixture
def folder(tmp_path: Path) -> LocalDropFolder:
    return LocalDropFolder(tmp_path, settle_seconds=0, clock=FixedClock(NOW))


def subscriber(folder: LocalDropFolder) -> Any:
    settings = ThreePLSettings("x12", Envelope(sender_id="SEAMLINE", receiver_id="ACME3PL"))
    client = ThreePLClient(folder, settings, FixedClock(NOW))
    return pick_ticket_subscriber("acme-3pl", client, event_types=["OrderReleased"], to_pick_ticket=to_pick_ticket)


ORDER = {"order_id": "SO-1001", "ship_to": "Ada Lovelace", "lines": [{"sku": "OVS-001-NVY-M", "qty": 2}]}


def test_a_released_order_event_becomes_one_940_numbered_by_its_outbox_sequence(folder: LocalDropFolder) -> None:
    sub = subscriber(folder)
    assert sub.takes("OrderReleased", None)
    assert sub.coalesce is False
    assert isinstance(sub.deliver(delivery(ORDER, seq=41)), Delivered)
    assert sorted(p.name for p in (folder.root / "outbound").iterdir()) == ["940-000000041.edi"]
    read = read_940((folder.root / "outbound" / "940-000000041.edi").read_bytes())
    assert read.document.documents == (to_pick_ticket(ORDER),)  # type: ignore[union-attr]


def test_a_redelivered_event_rewrites_the_same_file_instead_of_adding_a_second_order(folder: LocalDropFolder) -> None:
    sub = subscriber(folder)
    sub.deliver(delivery(ORDER, seq=41, attempt=1))
    sub.deliver(delivery(ORDER, seq=41, attempt=2))
    assert [p.name for p in (folder.root / "outbound").iterdir()] == ["940-000000041.edi"]


def test_an_event_that_is_no_pick_ticket_is_dead_lettered_at_once(folder: LocalDropFolder) -> None:
    with pytest.raises(DeliveryRejected, match="the event is not a pick ticket: 'lines'"):
        subscriber(folder).deliver(delivery({"order_id": "SO-1", "ship_to": "X"}))


def test_an_unwritable_drop_folder_is_a_temporary_failure_to_retry(folder: LocalDropFolder) -> None:
    (folder.root / "outbound").rmdir()
    with pytest.raises(DeliveryFailed, match="drop folder unavailable"):
        subscriber(folder).deliver(delivery(ORDER))


@pytest.mark.parametrize(
    ("seq", "number"), [(1, 1), (999_999_999, 999_999_999), (1_000_000_000, 1), (1_000_000_041, 42)]
)
def test_control_numbers_stay_within_nine_digits_as_the_outbox_sequence_grows(seq: int, number: int) -> None:
    assert control_number_for(seq) == number


class FakeInbox:
    def __init__(self) -> None:
        self.messages: dict[tuple[str, str], InboundMessage] = {}

    def receive(self, message: InboundMessage) -> Receipt:
        key = (message.source, message.external_id)
        duplicate = key in self.messages
        self.messages.setdefault(key, message)
        return Receipt(len(self.messages), duplicate, "received")


def test_a_taken_file_is_stored_in_the_inbox_under_its_checksum_and_kind() -> None:
    body = RECEIPT_944.read_bytes()
    file = identify("944_0001.edi", body).document  # type: ignore[union-attr]
    inbox = FakeInbox()
    files = InboxFiles(inbox, "acme-3pl")
    assert files.receive(file, ()) is True
    assert files.receive(file, ()) is False
    ((key, message),) = inbox.messages.items()
    assert key == ("acme-3pl", file.external_id)
    assert (message.message_type, message.headers["file-name"]) == ("x12-944", "944_0001.edi")


def stored(body: bytes, kind: str) -> StoredMessage:
    return StoredMessage(1, "acme-3pl", "sha256:x", kind, body, {"file-name": "944.edi"}, None, None, 0, None)


def test_the_inbox_parse_returns_the_files_documents() -> None:
    (receipt,) = parse_message(stored(RECEIPT_944.read_bytes(), "x12-944"))
    assert isinstance(receipt, StockReceipt)
    assert receipt.receipt_id == "WR12345"


def test_the_inbox_parse_rejects_a_bad_file_with_its_line_level_reasons() -> None:
    body = RECEIPT_944.read_bytes().replace(b"SE*8*", b"SE*7*")
    with pytest.raises(InvalidMessage, match=r"^line 10, segment 10, SE01: SE01 says 7 segments"):
        parse_message(stored(body, "x12-944"))
