"""Files the 3PL sends that the inbox rejects when applying them (an unknown SKU, an over-shipment), on a local
drop folder, SQLite and PostgreSQL: the scan after the rejection moves the file from archive/ to error/ beside
its reasons a line each, once; a file that applied stays in archive/ even under the same name; a rejection
made while no scan ran (a restart in between) is still moved."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from seamline.channels.threepl.rejections import rejection_reasons
from seamline.domain.clock import FixedClock
from tests.integration.threepl_world import ThreePLWorld, fixture, x12_945

SKU = "OVS-001-NVY-M"


@pytest.fixture
def world(client: TestClient, clock: FixedClock, tmp_path: Path) -> ThreePLWorld:
    return ThreePLWorld(client, clock, tmp_path / "acme")


def listing(world: ThreePLWorld, sub: str) -> list[str]:
    return sorted(os.listdir(world.root / sub))


def test_a_945_rejected_when_applied_moves_to_error_with_every_line_level_reason(world: ThreePLWorld) -> None:
    world.receive(SKU, 5)
    order = world.order("web-1", [(SKU, 2)])
    body = x12_945(order["id"], [(SKU, 3), ("NOT-OURS", 1)])
    world.drop("945-bad.edi", body)
    world.take()
    (message,) = world.messages()
    assert message["status"] == "rejected"
    assert listing(world, "archive") == ["945-bad.edi"]  # taken in; the inbox's verdict came after the scan
    world.take()
    assert (listing(world, "archive"), listing(world, "error")) == ([], ["945-bad.edi", "945-bad.edi.errors.txt"])
    assert (world.root / "error" / "945-bad.edi").read_bytes() == body
    assert (world.root / "error" / "945-bad.edi.errors.txt").read_text().splitlines() == [
        f"error: shipment of order {order['id']} line 2: NOT-OURS is not a SKU of ours",
        f"error: shipment of order {order['id']}: 3 of {SKU} shipped, but only 2 are allocated or picked and not "
        "yet shipped",
    ]
    assert world.stock(SKU) == {"on_hand": 5, "committed": 2, "reserved": 0, "available": 3}
    world.take()
    assert listing(world, "error") == ["945-bad.edi", "945-bad.edi.errors.txt"]  # moved once


def test_a_944_of_an_unknown_sku_is_shown_in_error_and_its_corrected_resend_is_applied_and_archived(
    world: ThreePLWorld,
) -> None:
    wrong = fixture("x12_944_stupidedi_fixture.edi").replace(b"ITEM123", b"ITEM999")
    world.drop("944.edi", wrong)
    world.take()
    world.take()
    assert (world.root / "error" / "944.edi.errors.txt").read_text() == (
        "error: receipt WR12345 line 1: UK ITEM999 is not a SKU of ours\n"
    )
    world.drop("944.edi", fixture("x12_944_stupidedi_fixture.edi"))  # corrected, under the same name
    world.take()
    world.take()
    assert [m["status"] for m in world.messages()] == ["rejected", "processed"]
    assert listing(world, "archive") == ["944.edi"]
    assert (world.root / "archive" / "944.edi").read_bytes() == fixture("x12_944_stupidedi_fixture.edi")
    assert listing(world, "error") == ["944.edi", "944.edi.errors.txt"]
    assert world.movements() == [("receipt", "ITEM123", "supplier", "ACME", 100)]

    # a third 944.edi, wrong again: its own copy moves, not the applied one beside it in archive/
    world.drop("944.edi", wrong.replace(b"WR12345", b"WR12346"))
    world.take()
    world.take()
    assert listing(world, "archive") == ["944.edi"]
    assert listing(world, "error") == ["944.edi", "944.edi.1", "944.edi.1.errors.txt", "944.edi.errors.txt"]
    assert (world.root / "error" / "944.edi.1.errors.txt").read_text() == (
        "error: receipt WR12346 line 1: UK ITEM999 is not a SKU of ours\n"
    )


def test_a_rejection_made_before_a_restart_is_moved_by_the_first_scan_after_it(world: ThreePLWorld) -> None:
    world.receive(SKU, 5)
    order = world.order("web-1", [(SKU, 2)])
    world.drop("945-bad.edi", x12_945(order["id"], [(SKU, 3)]))
    world.take()
    assert [m["status"] for m in world.messages()] == ["rejected"]
    world.configure(scan_every_seconds=60)  # rewired: a new scan job that has seen no pass before
    world.clock.advance(6 * 3600)  # and it first runs hours later
    world.take()
    assert listing(world, "error") == ["945-bad.edi", "945-bad.edi.errors.txt"]
    assert listing(world, "archive") == []


def test_rejection_reasons_drop_the_file_name_and_go_a_line_each() -> None:
    assert rejection_reasons("a.edi", "a.edi: receipt R line 1: X is not a SKU of ours; receipt R line 2: bad") == [
        "error: receipt R line 1: X is not a SKU of ours",
        "error: receipt R line 2: bad",
    ]
    assert rejection_reasons("a.edi", "") == ["error: rejected"]
