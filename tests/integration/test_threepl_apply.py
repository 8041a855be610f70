"""The 3PL's files applied through the inbox, on SQLite and PostgreSQL: every public EDI sample in
tests/fixtures/edi dropped in the wired channel's folder and applied (or refused with its reasons) with its
exact ledger effect; a file delivered twice applied once; a bad file writing nothing; the variance report an
inventory advice becomes; pick tickets written for orders allocated at the 3PL."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from seamline.catalog.gs1 import make_sscc
from seamline.channels.threepl.documents import Accepted
from seamline.channels.threepl.mapper import read_856, read_940
from seamline.domain.clock import FixedClock
from tests.integration.threepl_world import ThreePLWorld, fixture, x12_944, x12_945, x12_947

COUNTS = ("counts",)


@pytest.fixture
def world(client: TestClient, clock: FixedClock, tmp_path: Path) -> ThreePLWorld:
    return ThreePLWorld(client, clock, tmp_path / "acme")


def folder(world: ThreePLWorld, sub: str) -> list[str]:
    return sorted(p.name for p in (world.root / sub).iterdir())


# -- 945 shipment confirmation -------------------------------------------------------------------------


def test_945_sample_is_refused_for_its_segment_count_and_nothing_is_picked(world: ThreePLWorld) -> None:
    world.receive("123456789", 3005)
    order = world.order("IF102", [("123456789", 3000)])
    world.drop("945.edi", fixture("x12_945_interchange_sample.edi"))
    world.take()
    (message,) = world.messages()
    assert (message["status"], message["message_type"]) == ("rejected", "x12-945")
    assert message["reason"] == (
        "945.edi: line 18, segment 18, SE01: SE01 says 12 segments in the transaction set, there are 16"
    )
    assert folder(world, "error") == ["945.edi", "945.edi.errors.txt"]
    assert world.stock("123456789") == {"on_hand": 3005, "committed": 3000, "reserved": 0, "available": 5}
    assert world.order_view(order["id"])["status"] == "allocated"


def test_945_sample_tolerated_by_the_partner_profile_picks_and_ships_order_if102(world: ThreePLWorld) -> None:
    world.configure(tolerate=COUNTS)
    world.receive("123456789", 3005)
    order = world.order("IF102", [("123456789", 3000)])
    world.drop("945.edi", fixture("x12_945_interchange_sample.edi"))
    world.take()
    (message,) = world.messages()
    assert (message["status"], message["reason"]) == ("processed", None)
    assert folder(world, "archive") == ["945.edi"]
    assert world.stock("123456789") == {"on_hand": 5, "committed": 0, "reserved": 0, "available": 5}
    assert world.movements()[-1] == ("pick", "123456789", "ACME", "customer", 3000)
    shipped = world.order_view(order["id"])
    assert shipped["status"] == "shipped"
    assert shipped["tracking"] == "BOL12345"  # no N9*CN tracking number: the bill of lading names it


def test_945_for_part_of_an_order_picks_that_part_and_leaves_the_rest_allocated(world: ThreePLWorld) -> None:
    world.receive("OVS-001-NVY-M", 5)
    world.receive("OVS-001-NVY-L", 5)
    order = world.order("web-1", [("OVS-001-NVY-M", 3), ("OVS-001-NVY-L", 2)])
    world.drop("945-part.edi", x12_945(order["id"], [("OVS-001-NVY-M", 2)]))
    world.take()
    assert [m["status"] for m in world.messages()] == ["processed"]
    assert world.stock("OVS-001-NVY-M") == {"on_hand": 3, "committed": 1, "reserved": 0, "available": 2}
    assert world.stock("OVS-001-NVY-L") == {"on_hand": 5, "committed": 2, "reserved": 0, "available": 3}
    view = world.order_view(order["id"])
    assert (view["status"], view["tracking"]) == ("partially_shipped", "1Z999AA10123456784")


def test_945_naming_an_unknown_sku_on_its_second_line_is_rejected_whole_and_picks_nothing(
    world: ThreePLWorld,
) -> None:
    world.receive("OVS-001-NVY-M", 5)
    order = world.order("web-1", [("OVS-001-NVY-M", 3)])
    before = world.movements()
    world.drop("945-bad.edi", x12_945(order["id"], [("OVS-001-NVY-M", 3), ("NOT-OURS", 1)]))
    world.take()
    (message,) = world.messages()
    assert message["status"] == "rejected"
    assert message["reason"] == f"945-bad.edi: shipment of order {order['id']} line 2: NOT-OURS is not a SKU of ours"
    assert world.movements() == before
    assert world.stock("OVS-001-NVY-M") == {"on_hand": 5, "committed": 3, "reserved": 0, "available": 2}
    assert world.order_view(order["id"])["status"] == "allocated"


def test_945_shipping_more_than_is_allocated_is_rejected_and_picks_nothing(world: ThreePLWorld) -> None:
    world.receive("OVS-001-NVY-M", 5)
    order = world.order("web-1", [("OVS-001-NVY-M", 2)])
    world.drop("945-over.edi", x12_945(order["id"], [("OVS-001-NVY-M", 3)]))
    world.take()
    (message,) = world.messages()
    assert (message["status"], message["reason"]) == (
        "rejected",
        f"945-over.edi: shipment of order {order['id']}: 3 of OVS-001-NVY-M shipped, "
        "but only 2 are allocated or picked and not yet shipped",
    )
    assert world.stock("OVS-001-NVY-M")["on_hand"] == 5


def test_the_same_945_dropped_twice_under_two_names_picks_once(world: ThreePLWorld) -> None:
    world.receive("OVS-001-NVY-M", 5)
    order = world.order("web-1", [("OVS-001-NVY-M", 2)])
    body = x12_945(order["id"], [("OVS-001-NVY-M", 2)])
    world.drop("945-a.edi", body)
    world.take()
    world.drop("945-a.edi", body)  # resent under the same name
    world.drop("945-b.edi", body)  # and under another
    world.take()
    assert [m["status"] for m in world.messages()] == ["processed"]
    assert folder(world, "archive") == ["945-a.edi", "945-a.edi.duplicate", "945-b.edi.duplicate"]
    assert [m for m in world.movements() if m[0] == "pick"] == [("pick", "OVS-001-NVY-M", "ACME", "customer", 2)]
    assert world.stock("OVS-001-NVY-M") == {"on_hand": 3, "committed": 0, "reserved": 0, "available": 3}


def test_csv_shipment_confirmation_picks_and_ships_like_a_945(world: ThreePLWorld) -> None:
    world.receive("OVS-001-NVY-M", 5)
    order = world.order("web-1", [("OVS-001-NVY-M", 2)])
    body = (
        "order_id,shipment_id,shipped_on,carrier,tracking,line_no,sku,gtin,qty_shipped\n"
        f"{order['id']},SHP-1,2026-11-27,UPSN,1Z999,1,OVS-001-NVY-M,,2\n"
    ).encode()
    world.drop("confirmations.csv", body)
    world.take()
    assert [(m["message_type"], m["status"]) for m in world.messages()] == [("csv-shipment-confirmation", "processed")]
    assert world.stock("OVS-001-NVY-M") == {"on_hand": 3, "committed": 0, "reserved": 0, "available": 3}
    assert world.order_view(order["id"])["tracking"] == "1Z999"


# -- 944 receipt ---------------------------------------------------------------------------------------


def test_944_sample_receives_100_units_of_item123_against_the_open_supply_it_names(
    world: ThreePLWorld, client: TestClient
) -> None:
    supply = {"kind": "po", "location": "ACME", "expected_on": "2026-12-01", "lines": [{"sku": "ITEM123", "qty": 100}]}
    assert client.put("/v1/inbound-supply/DO12345", json=supply).status_code == 201
    world.drop("944.edi", fixture("x12_944_stupidedi_fixture.edi"))
    world.take()
    (message,) = world.messages()
    assert (message["status"], message["reason"]) == ("processed", None)
    assert world.movements() == [("receipt", "ITEM123", "supplier", "ACME", 100)]
    assert world.stock("ITEM123") == {"on_hand": 100, "committed": 0, "reserved": 0, "available": 100}
    lines = client.get("/v1/inbound-supply", params={"sku": "ITEM123"}).json()["items"]
    assert [(line["reference"], line["received"], line["status"]) for line in lines] == [("DO12345", 100, "received")]


def test_944_naming_no_sku_of_ours_is_rejected_with_its_line_and_receives_nothing(world: ThreePLWorld) -> None:
    body = fixture("x12_944_stupidedi_fixture.edi").replace(b"ITEM123", b"ITEM999")
    world.drop("944-unknown.edi", body)
    world.take()
    (message,) = world.messages()
    assert (message["status"], message["reason"]) == (
        "rejected",
        "944-unknown.edi: receipt WR12345 line 1: UK ITEM999 is not a SKU of ours",
    )
    assert world.movements() == []


def test_csv_receipt_with_damaged_units_receives_them_and_moves_those_to_damaged(world: ThreePLWorld) -> None:
    body = b"receipt_id,reference,sku,qty_received,qty_damaged\nR-1,,OVS-001-NVY-M,6,1\nR-1,,OVS-001-NVY-L,4,0\n"
    world.drop("receipts.csv", body)
    world.take()
    assert [m["status"] for m in world.messages()] == ["processed"]
    assert world.movements() == [
        ("receipt", "OVS-001-NVY-L", "supplier", "ACME", 4),
        ("receipt", "OVS-001-NVY-M", "supplier", "ACME", 6),
        ("damage", "OVS-001-NVY-M", "ACME", "damaged", 1),
    ]
    assert world.stock("OVS-001-NVY-M")["available"] == 5


# -- 947 adjustments -------------------------------------------------------------------------------------


def test_947_adjusts_each_line_with_the_3pls_reason(world: ThreePLWorld) -> None:
    world.receive("OVS-001-NVY-M", 5)
    world.drop("947.edi", x12_947("ADJ-881", [("AU", "OVS-001-NVY-M", -2), ("56", "OVS-001-NVY-L", 3)]))
    world.take()
    assert [m["status"] for m in world.messages()] == ["processed"]
    assert world.movements()[1:] == [
        ("adjustment", "OVS-001-NVY-M", "ACME", "adjustment", 2),
        ("adjustment", "OVS-001-NVY-L", "adjustment", "ACME", 3),
    ]
    assert world.stock("OVS-001-NVY-M")["on_hand"] == 3
    assert world.stock("OVS-001-NVY-L")["on_hand"] == 3
    assert world.reasons("adjustment") == [
        ("3PL AU: Damaged in facility", "3pl:acme:ADJ-881"),
        ("3PL 56: Book adjustment increase", "3pl:acme:ADJ-881"),
    ]


def test_947_loss_of_units_that_are_not_there_fails_and_writes_nothing(world: ThreePLWorld) -> None:
    world.receive("OVS-001-NVY-M", 1)
    world.drop("947.edi", x12_947("ADJ-9", [("56", "OVS-001-NVY-L", 3), ("07", "OVS-001-NVY-M", -2)]))
    world.take()
    (message,) = world.messages()
    # not the file's fault: the ledger refused, so it is retried with backoff (and kept as failed in the end)
    assert (message["status"], message["attempts"]) == ("received", 1)
    assert message["reason"] == "not enough available stock for OVS-001-NVY-M"
    assert world.movements() == [("receipt", "OVS-001-NVY-M", "supplier", "ACME", 1)]


# -- 846 inventory advice ------------------------------------------------------------------------------


def test_846_sample_becomes_a_variance_report_and_leaves_the_ledger_alone(
    world: ThreePLWorld, client: TestClient
) -> None:
    world.receive("HPW2M99UAR", 3)
    world.receive("OVS-001-NVY-M", 5)
    world.drop("846.edi", fixture("x12_846_newegg_x12engine_test.edi"))
    world.take()
    (message,) = world.messages()
    assert (message["status"], message["reason"]) == ("processed", None)
    assert world.stock("HPW2M99UAR")["on_hand"] == 3
    assert world.movements() == [
        ("receipt", "HPW2M99UAR", "supplier", "ACME", 3),
        ("receipt", "OVS-001-NVY-M", "supplier", "ACME", 5),
    ]
    (report,) = client.get("/v1/threepl/acme/variances").json()["items"]
    assert (report["reference"], report["as_of"], report["file_name"]) == (
        "20170523044616, 20170523044717",
        "2017-05-23",
        "846.edi",
    )
    assert (report["clean"], report["agreeing"], report["inbox_message_id"]) == (False, 0, message["id"])
    assert report["variances"] == [
        {"sku": "HPW2M99UAR", "measure": "available", "threepl": 0, "ledger": 3, "difference": -3}
    ]
    assert report["not_reported"] == [{"sku": "OVS-001-NVY-M", "measure": "on_hand", "ledger": 5}]
    assert report["unmatched"] == [
        {
            "item": "2SN-0001-000W7",
            "measure": "available",
            "threepl": 0,
            "reason": "2SN-0001-000W7 is not a SKU stocked at this location",
        }
    ]


def test_csv_inventory_snapshot_that_agrees_makes_a_clean_report(world: ThreePLWorld, client: TestClient) -> None:
    world.receive("OVS-001-NVY-M", 5)
    world.drop("snapshot.csv", b"sku,on_hand\nOVS-001-NVY-M,5\n")
    world.take()
    (report,) = client.get("/v1/threepl/acme/variances").json()["items"]
    assert (report["clean"], report["agreeing"], report["variances"], report["not_reported"]) == (True, 1, [], [])


def test_variances_of_an_unknown_channel_are_404(client: TestClient) -> None:
    response = client.get("/v1/threepl/nowhere/variances")
    assert response.status_code == 404
    assert response.json()["type"].endswith("unknown-channel")


# -- 856 ship notice, 940 and 850 ----------------------------------------------------------------------


def test_856_sample_is_refused_for_its_group_count_by_default(world: ThreePLWorld) -> None:
    world.drop("856.edi", fixture("x12_856_edifabric_walmart_sample.edi"))
    world.take()
    (message,) = world.messages()
    assert (message["status"], message["reason"]) == (
        "rejected",
        "856.edi: line 47, segment 47, GE01: GE01 says 2 transaction sets in the group, there are 1",
    )


def test_856_sample_tolerated_becomes_inbound_supply_at_the_3pl_by_upc(world: ThreePLWorld, client: TestClient) -> None:
    world.configure(tolerate=COUNTS)
    world.drop("856.edi", fixture("x12_856_edifabric_walmart_sample.edi"))
    world.take()
    (message,) = world.messages()
    assert (message["status"], message["reason"]) == ("processed", None)
    lines = client.get("/v1/inbound-supply").json()["items"]
    assert sorted((line["reference"], line["sku"], line["qty"], line["location"]) for line in lines) == [
        ("01140824", "UPC-7321", 18, "ACME"),
        ("01140824", "UPC-9183", 8, "ACME"),
    ]
    assert world.movements() == []  # announced, not yet received


def test_documents_a_3pl_does_not_send_are_stored_and_refused_with_the_reason(world: ThreePLWorld) -> None:
    names = ["x12_850_apimeister_testdata.edi", "x12_940_1edisource_sample.edi"]  # taken in name order
    for name in names:
        world.drop(name, fixture(name))
    world.take()
    assert [(m["message_type"], m["status"], m["reason"]) for m in world.messages()] == [
        (
            "unreadable",
            "rejected",
            f"{name}: a 3PL sends 846, 856, 944, 945, 947; transaction set {code} is not taken here",
        )
        for name, code in zip(names, ["850", "940"], strict=True)
    ]
    assert folder(world, "error") == sorted([*names, *(f"{name}.errors.txt" for name in names)])
    assert world.movements() == []


# -- 940 pick tickets out --------------------------------------------------------------------------------


def test_an_order_allocated_at_the_3pl_goes_out_once_as_a_940_pick_ticket(
    world: ThreePLWorld, client: TestClient
) -> None:
    world.receive("OVS-001-NVY-M", 5)
    order = world.order("web-1", [("OVS-001-NVY-M", 2)])
    world.take()
    world.take()
    assert folder(world, "outbound") == ["940-000000001.edi"]
    read = read_940((world.root / "outbound" / "940-000000001.edi").read_bytes())
    assert isinstance(read, Accepted), read
    (ticket,) = read.document.documents
    assert (ticket.order_id, ticket.purchase_order) == (order["id"], "web-1")
    assert [(line.item.sku, line.item.gtin, line.qty) for line in ticket.lines] == [
        ("OVS-001-NVY-M", "05012345678900", 2)
    ]
    (sent,) = client.get("/v1/threepl/acme/pick-tickets").json()["items"]
    assert (sent["order_id"], sent["control_number"], sent["status"], sent["file_name"]) == (
        order["id"],
        1,
        "sent",
        "940-000000001.edi",
    )


def test_a_prepack_goes_out_as_packs_and_its_945_picks_every_component_unit(world: ThreePLWorld) -> None:
    for sku, qty in (("OVS-001-NVY-S", 2), ("OVS-001-NVY-M", 4), ("OVS-001-NVY-L", 4), ("OVS-001-NVY-XL", 2)):
        world.receive(sku, qty)
    order = world.order("web-packs", [("OVS-001-NVY-PACK", 1), ("OVS-001-NVY-M", 1)])
    world.take()
    read = read_940((world.root / "outbound" / "940-000000001.edi").read_bytes())
    assert isinstance(read, Accepted), read
    (ticket,) = read.document.documents
    assert [(line.item.sku, line.qty) for line in ticket.lines] == [("OVS-001-NVY-PACK", 1), ("OVS-001-NVY-M", 1)]
    world.drop("945-packs.edi", x12_945(order["id"], [("OVS-001-NVY-PACK", 1), ("OVS-001-NVY-M", 1)]))
    world.take()
    assert [m["status"] for m in world.messages()] == ["processed"]
    assert sorted((sku, qty) for kind, sku, _, _, qty in world.movements() if kind == "pick") == [
        ("OVS-001-NVY-L", 2),
        ("OVS-001-NVY-M", 3),
        ("OVS-001-NVY-S", 1),
        ("OVS-001-NVY-XL", 1),
    ]
    assert world.stock("OVS-001-NVY-M") == {"on_hand": 1, "committed": 0, "reserved": 0, "available": 1}
    assert world.order_view(order["id"])["status"] == "shipped"


# -- transfers to the 3PL: 856 out, 944 back -------------------------------------------------------------


def test_a_transfer_to_the_3pl_is_announced_by_an_856_with_an_sscc_and_its_944_receives_it(
    world: ThreePLWorld, client: TestClient
) -> None:
    world.receive("OVS-001-NVY-M", 6, to="WH")
    world.receive("OVS-001-NVY-L", 2, to="WH")
    lines = [{"sku": "OVS-001-NVY-M", "qty": 6}, {"sku": "OVS-001-NVY-L", "qty": 2}]
    transfer = client.post("/v1/transfers", json={"from": "WH", "to": "ACME", "lines": lines}).json()
    assert client.post(f"/v1/transfers/{transfer['id']}/ship").status_code == 200
    assert world.stock("OVS-001-NVY-M", "in_transit")["on_hand"] == 6
    world.take()
    world.take()
    assert folder(world, "outbound") == ["856-000000001.edi"]
    read = read_856((world.root / "outbound" / "856-000000001.edi").read_bytes())
    assert isinstance(read, Accepted), read
    assert read.warnings == ()
    (notice,) = read.document.documents
    assert notice.shipment_id == transfer["id"]
    assert notice.ssccs() == [make_sscc("0614141", 1)]
    (pack,) = notice.orders[0].packs
    assert sorted((item.item.sku, item.qty) for item in pack.items) == [("OVS-001-NVY-L", 2), ("OVS-001-NVY-M", 6)]

    # the 3PL counts 5 of the 6 shirts in: one is written off in transit, none is received twice
    world.drop("944-transfer.edi", x12_944("WR-77", transfer["id"], [("OVS-001-NVY-M", 5), ("OVS-001-NVY-L", 2)]))
    world.take()
    assert [(m["message_type"], m["status"], m["reason"]) for m in world.messages()] == [("x12-944", "processed", None)]
    assert client.get(f"/v1/transfers/{transfer['id']}").json()["status"] == "received"
    assert world.stock("OVS-001-NVY-M") == {"on_hand": 5, "committed": 0, "reserved": 0, "available": 5}
    assert world.stock("OVS-001-NVY-M", "in_transit")["on_hand"] == 0
    assert world.reasons("adjustment") == [(f"short receipt of transfer {transfer['id']}", transfer["id"])]


def test_a_944_naming_a_transfer_that_is_not_on_its_way_to_the_3pl_is_rejected(
    world: ThreePLWorld, client: TestClient
) -> None:
    world.receive("OVS-001-NVY-M", 6, to="WH")
    body = {"from": "WH", "to": "STORE-1", "lines": [{"sku": "OVS-001-NVY-M", "qty": 2}]}
    transfer = client.post("/v1/transfers", json=body).json()
    world.drop("944-wrong.edi", x12_944("WR-78", transfer["id"], [("OVS-001-NVY-M", 2)]))
    world.take()
    (message,) = world.messages()
    assert (message["status"], message["reason"]) == (
        "rejected",
        f"944-wrong.edi: receipt WR-78: transfer {transfer['id']} is open to STORE-1, not in transit to ACME",
    )
    assert world.stock("OVS-001-NVY-M") == {"on_hand": 0, "committed": 0, "reserved": 0, "available": 0}


def test_a_wholesale_order_goes_to_the_3pl_only_once_its_ship_window_opens(
    world: ThreePLWorld, client: TestClient, clock: FixedClock
) -> None:
    assert client.put("/v1/channels/b2b", json={"kind": "wholesale", "sources": ["ACME"]}).status_code == 201
    account = {"name": "Atelier", "channel": "b2b", "price_tier": "wholesale", "currency": "EUR"}
    assert client.put("/v1/b2b/accounts/ATELIER", json=account).status_code == 201
    world.receive("OVS-001-NVY-M", 5)
    body = {"po_number": "PO-9", "lines": [{"sku": "OVS-001-NVY-M", "qty": 2}]}
    body["ship_window"] = {"start": "2026-11-30", "cancel": "2026-12-20"}  # the world's clock: 2026-11-27
    placed = client.post("/v1/b2b/accounts/ATELIER/orders", json=body)
    assert placed.status_code == 201, placed.text
    assert world.stock("OVS-001-NVY-M")["committed"] == 2
    world.take()
    assert folder(world, "outbound") == []
    clock.advance(3 * 24 * 3600)
    world.take()
    assert folder(world, "outbound") == ["940-000000001.edi"]


def test_csv_adjustments_move_stock_like_a_947_and_a_zero_change_refuses_the_file(world: ThreePLWorld) -> None:
    world.receive("OVS-001-NVY-M", 5)
    good = b"adjustment_id,sku,qty_change,reason_code,reason\nA-1,OVS-001-NVY-M,-1,AU,\nA-1,OVS-001-NVY-L,+2,AA,found\n"
    world.drop("adjust-1.csv", good)
    world.drop("adjust-2.csv", b"adjustment_id,sku,qty_change,reason_code\nA-2,OVS-001-NVY-M,0,AU\n")
    world.take()
    assert [(m["message_type"], m["status"], m["reason"]) for m in world.messages()] == [
        ("csv-adjustment", "processed", None),
        ("csv-adjustment", "rejected", "adjust-2.csv: line 2, qty_change: an adjustment of 0 units changes nothing"),
    ]
    assert world.reasons("adjustment") == [
        ("3PL AU: Damaged in facility", "3pl:acme:A-1"),
        ("3PL AA: found", "3pl:acme:A-1"),
    ]
    assert world.stock("OVS-001-NVY-M")["on_hand"] == 4
    assert world.stock("OVS-001-NVY-L")["on_hand"] == 2
