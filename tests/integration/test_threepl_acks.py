"""997 functional acknowledgements with a 3PL on a local drop folder, SQLite and PostgreSQL: every X12 file
it sends is answered with a 997 in outbound/ (accepted, or rejected naming the segment and element); its 997
rejecting one of our 940s is recorded against that order; and both a refused file and that rejection are
shown at ``GET /v1/threepl/{code}/exceptions``. The files are written for this suite in the shape of public
X12 samples (see tests/unit/test_threepl_acks.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from seamline.channels.threepl import acks
from seamline.channels.threepl.documents import Accepted
from seamline.domain.clock import FixedClock
from tests.integration.threepl_world import ThreePLWorld, x12, x12_945

SKU = "OVS-001-NVY-M"


@pytest.fixture
def world(client: TestClient, clock: FixedClock, tmp_path: Path) -> ThreePLWorld:
    return ThreePLWorld(client, clock, tmp_path / "acme")


def outbound_997s(world: ThreePLWorld) -> dict[str, tuple[acks.GroupAck, ...]]:
    found = {}
    for path in sorted((world.root / "outbound").glob("997-*.edi")):
        read = acks.read_997(path.read_bytes())
        assert isinstance(read, Accepted), read
        found[path.name] = read.document
    return found


def test_each_file_from_the_3pl_is_answered_by_a_997_and_a_refused_one_is_shown_with_its_reasons(
    world: ThreePLWorld,
) -> None:
    world.receive(SKU, 5)
    order = world.order("web-1", [(SKU, 2)])
    world.drop("945-good.edi", x12_945(order["id"], [(SKU, 2)]))
    bad = x12_945(order["id"], [(SKU, 2)]).replace(b"W12*CC*2*2*0", b"W12*CC*2*two*0")
    bad = bad.replace(b"000000901", b"000000902").replace(b"*901*X*", b"*902*X*").replace(b"GE*1*901", b"GE*1*902")
    world.drop("945-bad.edi", bad)
    world.take()
    world.take()  # again: nothing is acknowledged twice
    sent = outbound_997s(world)
    assert list(sent) == ["997-900000001.edi", "997-900000002.edi"]
    by_group = {a.control_number: a for answer in sent.values() for a in answer}
    assert (by_group["901"].status, by_group["902"].status) == ("A", "R")
    assert [(n.tag, n.element) for n in by_group["902"].sets[0].notes] == [("W12", 3)]
    shown = world.http.get("/v1/threepl/acme/acknowledgements", params={"direction": "sent"}).json()["items"]
    file_of = {a.control_number: name for name, answer in sent.items() for a in answer}
    assert sorted((a["group_control_number"], a["status"], a["file_name"]) for a in shown) == [
        ("901", "A", file_of["901"]),
        ("902", "R", file_of["902"]),
    ]
    exceptions = world.http.get("/v1/threepl/acme/exceptions").json()
    assert [(f["file_name"], f["reasons"]) for f in exceptions["files"]] == [
        ("945-bad.edi", ["line 9, segment 9, W1203: the number of units shipped 'two' is not a number"])
    ]
    assert world.stock(SKU)["on_hand"] == 3, "the good file applied, the refused one did not"


def test_a_997_rejecting_our_pick_ticket_is_recorded_against_its_order_and_shown_as_an_exception(
    world: ThreePLWorld,
) -> None:
    world.receive(SKU, 5)
    order = world.order("web-2", [(SKU, 1)])
    world.take()  # releases the pick ticket
    tickets = world.http.get("/v1/threepl/acme/pick-tickets").json()["items"]
    (ticket,) = [t for t in tickets if t["order_id"] == order["id"]]
    number = str(ticket["control_number"])
    body = ["AK1*OW*" + number, "AK2*940*0001", "AK3*W01*6**8", "AK4*5**7*ZZ", "AK5*R*5", "AK9*R*1*1*0"]
    world.drop("997-from-acme.edi", x12("997", "FA", body, control="000000903"))
    world.take()
    statuses = {m["message_type"]: m["status"] for m in world.messages()}
    assert statuses["x12-997"] == "processed"
    assert not list((world.root / "outbound").glob("997-*.edi")), "an acknowledgement is not acknowledged"
    exceptions = world.http.get("/v1/threepl/acme/exceptions").json()
    assert [(a["group_control_number"], a["status"], a["document"]) for a in exceptions["acknowledgements"]] == [
        (number, "R", f"order {order['id']}")
    ]
    assert exceptions["acknowledgements"][0]["reasons"] == [
        "set 940 0001: R (AK5 5; segment W01 at 6, element 5 (code 7))"
    ]
    accepted = ["AK1*OW*" + number, "AK2*940*0001", "AK5*A", "AK9*A*1*1*1"]
    world.drop("997-resend.edi", x12("997", "FA", accepted, control="000000904"))
    world.take()
    assert world.http.get("/v1/threepl/acme/exceptions").json()["acknowledgements"] == []
    (received,) = world.http.get("/v1/threepl/acme/acknowledgements", params={"direction": "received"}).json()["items"]
    assert (received["status"], received["document"]) == ("A", f"order {order['id']}")


def test_a_3pl_that_does_not_want_997s_gets_none(world: ThreePLWorld) -> None:
    world.configure(send_997=False)
    world.receive(SKU, 5)
    order = world.order("web-3", [(SKU, 1)])
    world.drop("945.edi", x12_945(order["id"], [(SKU, 1)]))
    world.take()
    assert outbound_997s(world) == {}
    assert world.stock(SKU)["on_hand"] == 4
