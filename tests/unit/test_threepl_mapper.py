"""The 3PL mapping without fixtures from outside: the 947 (no public sample in tests/fixtures), the CSV profile,
the variance report and the X12 envelope writer's guards."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from seamline.channels.threepl.csv_profile import (
    detect_kind,
    read_inventory_snapshot,
    read_pick_tickets,
    read_receipts,
    read_shipment_confirmations,
    write_pick_tickets,
)
from seamline.channels.threepl.documents import (
    Accepted,
    Address,
    AdjustmentLine,
    InventorySnapshot,
    ItemRef,
    PickLine,
    PickTicket,
    ReceivedLine,
    Rejected,
    StockLevel,
)
from seamline.channels.threepl.mapper import read_947
from seamline.channels.threepl.variance import Unmatched, Variance, variance_report
from seamline.channels.threepl.x12 import Envelope, OutgoingSet, write_interchange

AT = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)


def x12_947(*lines: str) -> str:
    body = ["W15*20261126*ADJ-881", "N1*WH*ACME RENO*9*1234567890001", *lines]
    segments = [
        "ISA*00*          *00*          *ZZ*ACME3PL        *ZZ*SEAMLINE       *261126*2300*U*00401*000000412*0*P*>",
        "GS*AW*ACME3PL*SEAMLINE*20261126*2300*412*X*004010",
        "ST*947*0001",
        *body,
        f"SE*{len(body) + 2}*0001",
        "GE*1*412",
        "IEA*1*000000412",
    ]
    return "~\n".join(segments) + "~\n"


def test_947_adjustments_carry_signed_quantities_and_their_reasons() -> None:
    text = x12_947(
        "LX*1",
        "W19*AU*-2*EA**VN*OVS-001-NVY-M*UK*00036000291452***********LOT9",
        "LX*2",
        "W19*56*3*EA**VN*OVS-001-NVY-L",
        "LX*3",
        "W19*ZZ*1*EA**VN*OVS-001-NVY-S",
    )
    read = read_947(text)
    assert isinstance(read, Accepted), read
    (adjustment,) = read.document.documents
    assert (adjustment.adjustment_id, adjustment.adjusted_on) == ("ADJ-881", date(2026, 11, 26))
    assert adjustment.warehouse == Address("ACME RENO", code="1234567890001", code_qualifier="9")
    assert adjustment.lines == (
        AdjustmentLine(ItemRef("OVS-001-NVY-M", "00036000291452"), -2, "AU", "Damaged in facility", line_no=1),
        AdjustmentLine(ItemRef("OVS-001-NVY-L"), 3, "56", "Book adjustment increase", line_no=2),
        AdjustmentLine(ItemRef("OVS-001-NVY-S"), 1, "ZZ", "reason code ZZ", line_no=3),
    )


def test_947_lot_is_read_from_w1909() -> None:
    read = read_947(x12_947("W19*AA*-1*EA**VN*OVS-001-NVY-M***LOT-7"))
    assert isinstance(read, Accepted), read
    assert read.document.documents[0].lines[0].lot == "LOT-7"


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (
            "W19*AU*2.5*EA**VN*X",
            "line 7, segment 7, W1902: the credit/debit quantity '2.5' is not a whole number of units",
        ),
        ("W19*AU*0*EA**VN*X", "line 7, segment 7, W1902: an adjustment of 0 units changes nothing"),
        ("W19**-1*EA**VN*X", "line 7, segment 7, W1901: the adjustment reason code is required"),
        ("W19*AU*-1*EA", "line 7, segment 7, W19: no SKU, GTIN or other product id names the item"),
    ],
)
def test_947_line_that_cannot_be_applied_refuses_the_file_naming_the_element(line: str, error: str) -> None:
    read = read_947(x12_947("LX*1", line))
    assert isinstance(read, Rejected)
    assert [str(e) for e in read.errors] == [error]


def test_947_without_an_adjustment_number_is_refused() -> None:
    read = read_947(x12_947("W19*AU*-1*EA**VN*X").replace("W15*20261126*ADJ-881", "W15*20261126"))
    assert isinstance(read, Rejected)
    assert [str(e) for e in read.errors] == [
        "line 4, segment 4, W1502: the warehouse (W1502) or depositor (W1503) adjustment number is required"
    ]


# -- CSV profile --------------------------------------------------------------------------------------


def tickets() -> tuple[PickTicket, ...]:
    return (
        PickTicket(
            "SO-1001",
            Address("Ada Lovelace", ("12 Loom Street", "Flat 3"), "London", "LND", "N1 9GU", "GB"),
            (
                PickLine(1, ItemRef("OVS-001-NVY-M", "00036000291452"), 2, description='Navy overshirt, "M"'),
                PickLine(2, ItemRef(gtin="04006381333931"), 1, uom="PK"),
            ),
            purchase_order="PO-55",
            ship_by=date(2026, 11, 28),
            carrier="UPSN",
            instructions="Gift wrap",
        ),
        PickTicket("SO-1002", Address("Grace Hopper"), (PickLine(1, ItemRef("TEE-002-WHT-S"), 4),)),
    )


def test_csv_pick_tickets_read_back_equal_including_quotes_and_commas() -> None:
    text = write_pick_tickets(tickets())
    assert text.splitlines()[0].startswith("order_id,purchase_order,ship_by,carrier,")
    assert len(text.splitlines()) == 4
    read = read_pick_tickets(text)
    assert isinstance(read, Accepted), read
    assert read.document == tickets()


def test_csv_pick_ticket_without_sku_or_gtin_is_refused_before_it_is_written() -> None:
    ticket = PickTicket("SO-9", Address("X"), (PickLine(1, ItemRef(other_ids=(("UA", "1"),)), 1),))
    with pytest.raises(ValueError, match="SO-9 line 1 needs a SKU or a GTIN"):
        write_pick_tickets([ticket])


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        (["order_id", "sku", "qty_shipped"], "shipment-confirmation"),
        (["receipt_id", "gtin", "qty_received"], "receipt"),
        (["SKU", " On_Hand "], "inventory-snapshot"),
        (["gtin", "available", "location"], "inventory-snapshot"),
        (["order_id", "sku", "qty"], "pick-ticket"),
        (["order_id", "qty_shipped"], None),
        (["name", "email"], None),
    ],
)
def test_csv_kind_is_recognised_from_its_header_row(header: list[str], kind: str | None) -> None:
    assert detect_kind(header) == kind


def test_csv_shipment_confirmations_group_rows_by_order_and_shipment() -> None:
    text = (
        "order_id,shipment_id,shipped_on,carrier,line_no,sku,gtin,qty_ordered,qty_shipped,sscc\n"
        "SO-1,S-1,2026-11-27,UPSN,1,OVS-001-NVY-M,,2,2,106141411234567897\n"
        "SO-1,S-1,2026-11-27,UPSN,2,,036000291452,1,1,\n"
        "SO-2,S-2,2026-11-27,UPSN,1,TEE-002-WHT-S,,3,2,\n"
    )
    read = read_shipment_confirmations(text)
    assert isinstance(read, Accepted), read
    first, second = read.document
    assert (first.order_id, first.shipment_id, first.shipped_on, first.carrier) == (
        "SO-1",
        "S-1",
        date(2026, 11, 27),
        "UPSN",
    )
    assert [(line.item, line.qty_shipped, line.cartons) for line in first.lines] == [
        (ItemRef("OVS-001-NVY-M"), 2, ("106141411234567897",)),
        (ItemRef(gtin="00036000291452"), 1, ()),
    ]
    assert (second.order_id, second.lines[0].qty_ordered, second.lines[0].qty_shipped) == ("SO-2", 3, 2)


def test_csv_shipment_confirmation_errors_name_every_bad_line_and_column_and_return_nothing() -> None:
    text = (
        "order_id,shipment_id,shipped_on,sku,qty_shipped,sscc\n"
        "SO-1,S-1,2026-11-27,OVS-001-NVY-M,2,\n"
        "SO-1,S-1,27/11/2026,OVS-001-NVY-L,-1,\n"
        ",S-2,2026-11-27,OVS-001-NVY-L,1,\n"
        "SO-3,S-3,2026-11-27,,1,\n"
        "SO-4,S-4,2026-11-27,TEE,1,12345\n"
    )
    read = read_shipment_confirmations(text)
    assert isinstance(read, Rejected)
    assert [str(e) for e in read.errors] == [
        "line 3, shipped_on: differs between rows of the same document: ['2026-11-27', '27/11/2026']",
        "line 3, qty_shipped: '-1' is not a whole number of units",
        "line 4, order_id: is required",
        "line 5, sku: a line needs a SKU or a GTIN",
        "line 6, sscc: an SSCC has 18 digits, not 5",
    ]


def test_csv_sscc_with_a_bad_check_digit_is_kept_with_a_warning_like_x12() -> None:
    read = read_shipment_confirmations("order_id,sku,qty_shipped,sscc\nSO-1,TEE,1,000010012345614785\n")
    assert isinstance(read, Accepted), read
    assert read.document[0].lines[0].cartons == ("000010012345614785",)
    assert [str(w) for w in read.warnings] == [
        "line 2, sscc: check digit of SSCC 000010012345614785 is wrong (expected 8); kept as sent"
    ]


def test_csv_line_numbers_count_physical_lines_even_with_quoted_newlines() -> None:
    text = 'receipt_id,sku,qty_received,lot\nR-1,TEE,1,"multi\nline lot"\nR-1,TEE-2,x,\n'
    read = read_receipts(text)
    assert isinstance(read, Rejected)
    assert [str(e) for e in read.errors] == ["line 4, qty_received: 'x' is not a whole number of units"]


def test_csv_receipts_carry_damaged_units_and_refuse_more_damaged_than_received() -> None:
    good = read_receipts("receipt_id,reference,sku,qty_received,qty_damaged\nR-1,TR-9,TEE,10,2\n")
    assert isinstance(good, Accepted), good
    (receipt,) = good.document
    assert (receipt.receipt_id, receipt.reference) == ("R-1", "TR-9")
    assert receipt.lines == (ReceivedLine(ItemRef("TEE"), 10, qty_damaged=2),)
    bad = read_receipts("receipt_id,sku,qty_received,qty_damaged\nR-1,TEE,2,3\n")
    assert isinstance(bad, Rejected)
    assert [str(e) for e in bad.errors] == ["line 2, qty_damaged: 3 damaged of 2 received"]


def test_csv_inventory_snapshot_adds_up_an_item_over_its_3pl_locations() -> None:
    text = "sku,gtin,on_hand,location,as_of\nTEE,,4,A-01,2026-11-27\nTEE,,6,B-02,2026-11-27\nOVS,,0,A-01,2026-11-27\n"
    read = read_inventory_snapshot(text, reference="stock-20261127.csv")
    assert isinstance(read, Accepted), read
    assert read.document == InventorySnapshot(
        "stock-20261127.csv",
        (
            StockLevel(ItemRef("TEE"), 10, "on_hand", by_location=(("A-01", 4), ("B-02", 6))),
            StockLevel(ItemRef("OVS"), 0, "on_hand", by_location=(("A-01", 0),)),
        ),
        date(2026, 11, 27),
    )


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (b"", "line 1: the file is empty"),
        (b"sku,on_hand\n", "line 1: the file has a header but no rows"),
        (b"sku,on_hand,sku\nA,1,A\n", "line 1: columns named more than once: sku"),
        (b"sku,on_hand\nA,1,extra\n", "line 2: 3 fields, the header has 2"),
        (b"\xff\xfesku", "the file is not UTF-8 (byte 0)"),
        (b"order_id,sku,qty_shipped\nA,B,1\n", "line 1: the header row is not that of a inventory-snapshot file"),
    ],
)
def test_csv_files_that_cannot_be_read_as_a_table_are_refused_on_their_line(text: bytes, error: str) -> None:
    read = read_inventory_snapshot(text, reference="x")
    assert isinstance(read, Rejected)
    assert str(read.errors[0]).startswith(error)


# -- variance report ----------------------------------------------------------------------------------


def snapshot(*levels: StockLevel) -> InventorySnapshot:
    return InventorySnapshot("count-1", levels)


def test_variance_report_lists_differences_agreements_unknown_items_and_unreported_stock() -> None:
    report = variance_report(
        [
            snapshot(
                StockLevel(ItemRef("TEE"), 10),
                StockLevel(ItemRef("OVS"), 4),
                StockLevel(ItemRef("NOT-OURS"), 1),
                StockLevel(ItemRef("CAP"), 2, uom="CA"),
                StockLevel(ItemRef("TEE"), 10),
            )
        ],
        {"TEE": 12, "OVS": 4, "CAP": 24, "HAT": 3, "SOCK": 0},
    )
    assert report.variances == (Variance("TEE", "on_hand", 10, 12),)
    assert report.variances[0].difference == -2
    assert report.agreeing == ("OVS",)
    assert [u.reason for u in report.unmatched] == [
        "NOT-OURS is not a SKU stocked at this location",
        "CAP is reported in CA, not in eaches",
        "TEE is reported more than once",
    ]
    assert report.not_reported == (Variance("CAP", "on_hand", 0, 24), Variance("HAT", "on_hand", 0, 3))


def test_a_partial_advice_does_not_report_what_it_leaves_out() -> None:
    report = variance_report([snapshot(StockLevel(ItemRef("TEE"), 12))], {"TEE": 12, "HAT": 3}, complete=False)
    assert report.clean
    assert report.agreeing == ("TEE",)


def test_an_item_named_only_by_a_gtin_the_catalog_does_not_know_is_unmatched() -> None:
    level = StockLevel(ItemRef(gtin="00036000291452"), 1)
    report = variance_report([snapshot(level)], {"TEE": 1}, sku_by_gtin={})
    assert report.unmatched == (Unmatched(level, "GTIN 00036000291452 is not a SKU stocked at this location"),)


# -- envelope writer guards ---------------------------------------------------------------------------


def envelope() -> Envelope:
    return Envelope(sender_id="SEAMLINE", receiver_id="ACME3PL")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"interchange_control_number": 0}, "interchange control number is 1 to 999999999, not 0"),
        ({"group_control_number": 1_000_000_000}, "group control number is 1 to 999999999"),
        ({"at": datetime(2026, 11, 27, 8, 30)}, "timezone-aware"),  # noqa: DTZ001 - the naive time is the point
    ],
)
def test_writer_refuses_control_numbers_out_of_range_and_naive_times(kwargs: dict[str, object], error: str) -> None:
    arguments: dict[str, object] = {"interchange_control_number": 1, "group_control_number": 1, "at": AT, **kwargs}
    with pytest.raises(ValueError, match=error):
        write_interchange(envelope(), [OutgoingSet("940", [("W05", "N", "1")])], **arguments)  # type: ignore[arg-type]


def test_writer_keeps_one_kind_of_transaction_set_per_group() -> None:
    with pytest.raises(ValueError, match=r"one kind of transaction set, not \['856', '940'\]"):
        write_interchange(
            envelope(),
            [OutgoingSet("940", [("W05", "N", "1")]), OutgoingSet("856", [("BSN", "00", "1")])],
            interchange_control_number=1,
            group_control_number=1,
            at=AT,
        )


def test_writer_drops_trailing_empty_elements_and_counts_st_through_se() -> None:
    text = write_interchange(
        envelope(),
        [OutgoingSet("940", [("W05", "N", "1", "", ""), ("W76", "3")])],
        interchange_control_number=5,
        group_control_number=6,
        at=AT,
    )
    assert text.splitlines()[1:] == [
        "GS*OW*SEAMLINE*ACME3PL*20261127*0830*6*X*004010~",
        "ST*940*0001~",
        "W05*N*1~",
        "W76*3~",
        "SE*4*0001~",
        "GE*1*6~",
        "IEA*1*000000005~",
    ]
    assert text.splitlines()[0] == (
        "ISA*00*          *00*          *ZZ*SEAMLINE       *ZZ*ACME3PL        *261127*0830*U*00401*000000005*0*P*>~"
    )


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"sender_id": "X" * 16}, "sender_id is 1 to 15"),
        ({"receiver_id": ""}, "receiver_id"),
        ({"usage": "Q"}, "usage"),
    ],
)
def test_envelope_settings_outside_x12_limits_are_refused(kwargs: dict[str, str], error: str) -> None:
    arguments = {"sender_id": "SEAMLINE", "receiver_id": "ACME3PL", **kwargs}
    with pytest.raises(ValueError, match=error):
        Envelope(**arguments)  # type: ignore[arg-type]
