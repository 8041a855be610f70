"""Contract tests of the 3PL's X12 mapping on the public sample files in tests/fixtures/edi, round trips
of what we write (940, 856), and malformed files refused with line-level reasons."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import TypeVar

import pytest

from seamline.catalog.gs1 import make_sscc
from seamline.channels.threepl.documents import (
    Accepted,
    Address,
    AdvanceShipNotice,
    AsnItem,
    AsnOrder,
    AsnPack,
    InventorySnapshot,
    ItemRef,
    PickLine,
    PickTicket,
    Rejected,
    ShipmentConfirmation,
    StockReceipt,
)
from seamline.channels.threepl.mapper import (
    PartnerProfile,
    read_846,
    read_856,
    read_940,
    read_944,
    read_945,
    read_x12,
    write_856,
    write_940,
)
from seamline.channels.threepl.variance import Variance, variance_report
from seamline.channels.threepl.x12 import Delimiters, Envelope, Tolerance, parse_interchange
from tests.paths import FIXTURES

T = TypeVar("T")
EDI = FIXTURES / "edi"
AT = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)
ENVELOPE = Envelope(sender_id="SEAMLINE", receiver_id="ACME3PL")
COUNTS = PartnerProfile(tolerate=frozenset({Tolerance.COUNTS}))
CONTROL_NUMBERS = PartnerProfile(tolerate=frozenset({Tolerance.CONTROL_NUMBERS}))
LENIENT = PartnerProfile(tolerate=frozenset(Tolerance))


def fixture(name: str) -> bytes:
    return (EDI / name).read_bytes()


def accepted(outcome: Accepted[T] | Rejected) -> Accepted[T]:
    assert isinstance(outcome, Accepted), [str(e) for e in outcome.errors]
    return outcome


def rejected(outcome: object) -> Rejected:
    assert isinstance(outcome, Rejected), outcome
    assert not hasattr(outcome, "document"), "a rejection carries no partial document"
    return outcome


def messages(issues: object) -> list[str]:
    return [str(issue) for issue in issues]  # type: ignore[attr-defined]


def test_every_edi_fixture_has_a_contract_test_here() -> None:
    assert sorted(p.name for p in EDI.iterdir()) == [
        "x12_846_newegg_x12engine_test.edi",
        "x12_850_apimeister_testdata.edi",
        "x12_856_edifabric_walmart_sample.edi",
        "x12_940_1edisource_sample.edi",
        "x12_944_stupidedi_fixture.edi",
        "x12_945_interchange_sample.edi",
    ]


# -- 846 inventory advice (Newegg) --------------------------------------------------------------------

NEWEGG_846 = "x12_846_newegg_x12engine_test.edi"


def test_newegg_846_envelope_carries_two_transaction_sets_under_their_control_numbers() -> None:
    read = accepted(read_846(fixture(NEWEGG_846)))
    interchange = read.document.interchange
    assert (interchange.sender_qualifier, interchange.sender_id) == ("12", "2039673435")
    assert (interchange.receiver_qualifier, interchange.receiver_id) == ("ZZ", "5626958823VF")
    assert interchange.control_number == "846038470"
    assert interchange.usage == "P"
    assert [(g.functional_id, g.control_number, g.version) for g in interchange.groups] == [("IB", "38470", "004010")]
    assert [ts.control_number for ts in interchange.transaction_sets()] == ["84679050", "84679051"]
    assert read.warnings == ()


def test_newegg_846_reports_zero_available_per_sku_and_upc_at_warehouse_100() -> None:
    snapshots = accepted(read_846(fixture(NEWEGG_846))).document.documents
    assert [s.reference for s in snapshots] == ["20170523044616", "20170523044717"]
    assert {s.as_of for s in snapshots} == {date(2017, 5, 23)}
    hp, apple = (s.levels[0] for s in snapshots)
    assert hp.item == ItemRef("HPW2M99UAR", "00190780050378", (("MF", "HP"),))
    assert apple.item == ItemRef("2SN-0001-000W7", "00617561019268", (("MF", "APPLE"),))
    assert (hp.quantity, hp.measure, hp.uom, hp.by_location) == (0, "available", "EA", (("100", 0),))
    assert (apple.quantity, apple.measure, apple.by_location) == (0, "available", (("100", 0),))
    # the Java-string extraction left a trailing blank inside PID05; it is padding, not data
    assert hp.description.endswith("5400RPM SATA HDD")


def test_newegg_846_becomes_a_variance_report_and_leaves_the_ledger_figures_alone() -> None:
    snapshots = accepted(read_846(fixture(NEWEGG_846))).document.documents
    ledger = {"HPW2M99UAR": 3, "2SN-0001-000W7": 0, "OVS-001-NVY-M": 5}
    before = dict(ledger)
    report = variance_report(snapshots, ledger, ledger_available={"HPW2M99UAR": 2, "2SN-0001-000W7": 0})
    assert report.variances == (Variance("HPW2M99UAR", "available", 0, 2),)
    assert report.variances[0].difference == -2
    assert report.agreeing == ("2SN-0001-000W7",)
    assert report.not_reported == (Variance("OVS-001-NVY-M", "on_hand", 0, 5),)
    assert not report.clean
    assert ledger == before


def test_newegg_846_item_known_only_by_its_upc_is_matched_through_the_catalog_gtin() -> None:
    snapshots = accepted(read_846(fixture(NEWEGG_846))).document.documents
    report = variance_report(
        snapshots, {"OUR-HP-SKU": 0, "2SN-0001-000W7": 0}, sku_by_gtin={"00190780050378": "OUR-HP-SKU"}
    )
    assert report.clean
    assert report.agreeing == ("OUR-HP-SKU", "2SN-0001-000W7")


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda b: b.replace(b"~\n", b"~\r\n"), id="crlf-after-terminators"),
        pytest.param(lambda b: b.replace(b"~\n", b"~"), id="one-line"),
        pytest.param(lambda b: b"\xef\xbb\xbf\n  " + b.replace(b"~\n", b"~\n\n   "), id="bom-blank-lines-indent"),
        pytest.param(lambda b: b.replace(b"~\n", b"\n"), id="newline-as-terminator"),
    ],
)
def test_newegg_846_reads_the_same_however_its_segments_are_broken_across_lines(variant: object) -> None:
    original = accepted(read_846(fixture(NEWEGG_846))).document.documents
    changed = variant(fixture(NEWEGG_846))  # type: ignore[operator]
    assert accepted(read_846(changed)).document.documents == original


def test_newegg_846_on_a_single_line_reports_errors_by_segment_number() -> None:
    one_line = (
        fixture(NEWEGG_846).replace(b"~\n", b"~").replace(b"QTY*33*0*EA~SE*8*84679051", b"QTY*33*x*EA~SE*8*84679051")
    )
    outcome = rejected(read_846(one_line))
    assert messages(outcome.errors) == ["line 1, segment 17, QTY02: quantity 33 'x' is not a number"]


# -- 850 purchase order (apimeister): not a 3PL document ---------------------------------------------

APIMEISTER_850 = "x12_850_apimeister_testdata.edi"


def test_apimeister_850_envelope_and_purchase_order_lines_parse() -> None:
    interchange = accepted(parse_interchange(fixture(APIMEISTER_850))).document
    assert (interchange.sender_id, interchange.receiver_id) == ("SENDERISA", "0073268795005")
    assert (interchange.control_number, interchange.usage) == ("000000001", "T")
    assert [(g.functional_id, g.sender, g.receiver, g.control_number) for g in interchange.groups] == [
        ("PO", "SENDERGS", "007326879", "1")
    ]
    (po,) = interchange.transaction_sets()
    assert (po.code, po.control_number, po.trailer.value(1)) == ("850", "000000001", "35")
    assert len(po.body) + 2 == 35
    lines = [s for s in po.body if s.tag == "PO1"]
    assert [int(s.value(2)) for s in lines] == [16, 13, 32, 51, 9, 85, 1]
    assert [s.value(9) for s in lines][:2] == ["002840022222", "002840033333"]
    assert next(s for s in po.body if s.tag == "BEG").value(3) == "A99999-01"


def test_apimeister_850_is_refused_by_the_3pl_mapping_naming_its_transaction_set() -> None:
    outcome = rejected(read_x12(fixture(APIMEISTER_850)))
    assert messages(outcome.errors) == [
        "line 3, segment 3, ST01: transaction set 850 is not one of 846, 856, 940, 944, 945, 947"
    ]


# -- 856 ship notice (EdiFabric, Walmart) -------------------------------------------------------------

WALMART_856 = "x12_856_edifabric_walmart_sample.edi"


def test_walmart_856_group_trailer_miscounts_its_sets_so_a_strict_partner_profile_refuses_it() -> None:
    outcome = rejected(read_856(fixture(WALMART_856)))
    assert messages(outcome.errors) == [
        "line 47, segment 47, GE01: GE01 says 2 transaction sets in the group, there are 1"
    ]


def test_walmart_856_reads_the_shipment_order_pack_item_hierarchy() -> None:
    read = accepted(read_856(fixture(WALMART_856), COUNTS))
    interchange = read.document.interchange
    assert (interchange.control_number, interchange.version, interchange.groups[0].control_number) == (
        "000000263",
        "00204",
        "000000001",
    )
    (asn,) = read.document.documents
    assert asn.shipment_id == "01140824"
    assert asn.issued_on == date(2005, 10, 15)
    assert (asn.carrier, asn.bill_of_lading) == ("JBHT", "01140824")
    assert asn.ship_to == Address("WAL-MART DC 6094J-JIT", code="0078742035260", code_qualifier="UL")
    assert asn.ship_from == Address("SUPPLIER NAME")
    upc_a, upc_b = ItemRef(gtin="00008815509183"), ItemRef(gtin="00008815547321")
    assert asn.orders == (
        AsnOrder(
            purchase_order="9988776655",
            packs=(AsnPack("000010012345614785", (AsnItem(upc_a, 4), AsnItem(upc_b, 9))),),
            order_date=date(2005, 10, 15),
            references=(("IA", "211555050"), ("DP", "00005"), ("MR", "0073"), ("IV", "01140824")),
        ),
        AsnOrder(
            purchase_order="2288115555",
            packs=(AsnPack("000010012378945698", (AsnItem(upc_a, 4), AsnItem(upc_b, 9))),),
            order_date=date(2005, 10, 15),
            references=(("IA", "211555050"), ("DP", "00005"), ("MR", "0073"), ("IV", "01140824")),
        ),
    )


def test_walmart_856_bad_sscc_check_digits_are_warnings_with_the_expected_digit_not_errors() -> None:
    read = accepted(read_856(fixture(WALMART_856), COUNTS))
    (asn,) = read.document.documents
    assert messages(read.warnings) == [
        "line 47, segment 47, GE01: GE01 says 2 transaction sets in the group, there are 1",
        "line 12, segment 12, DTM02: '200' is not a date (CCYYMMDD); ignored",
        "line 23, segment 23, MAN02: check digit of SSCC 000010012345614785 is wrong (expected 8); "
        "kept as sent, since the carton's label carries it",
        "line 38, segment 38, MAN02: check digit of SSCC 000010012378945698 is wrong (expected 9); "
        "kept as sent, since the carton's label carries it",
    ]
    assert asn.shipped_on is None
    assert [pack.sscc_problem for order in asn.orders for pack in order.packs] == [
        "check digit of SSCC 000010012345614785 is wrong (expected 8)",
        "check digit of SSCC 000010012378945698 is wrong (expected 9)",
    ]


# -- 940 shipping order (1 EDI Source) ----------------------------------------------------------------

EDISOURCE_940 = "x12_940_1edisource_sample.edi"


def test_1edisource_940_trailers_carry_other_control_numbers_so_a_strict_profile_refuses_it() -> None:
    outcome = rejected(read_940(fixture(EDISOURCE_940)))
    assert messages(outcome.errors) == [
        "line 32, segment 32, GE02: control number '575103' is not GS06 '3317' of line 2",
        "line 33, segment 33, IEA02: control number '3317' is not ISA13 '000003438' of line 1",
    ]


def test_1edisource_940_reads_as_a_pick_ticket_with_its_ship_to_and_three_case_lines() -> None:
    read = accepted(read_940(fixture(EDISOURCE_940), CONTROL_NUMBERS))
    interchange = read.document.interchange
    assert interchange.delimiters == Delimiters("*", "\\", "~")
    assert (interchange.control_number, interchange.groups[0].version) == ("000003438", "004010UCS")
    (ticket,) = read.document.documents
    assert ticket.order_id == "538686"
    assert ticket.purchase_order is None
    assert ticket.ship_to == Address(
        "GRITS BREAD COMPANY", ("2100 SOUTHEAST AVE",), "SAN DIEGO", "CA", "91760", code="00046349", code_qualifier="ZZ"
    )
    assert (ticket.ship_by, ticket.carrier, ticket.instructions) == (date(2000, 2, 4), "MTEN", "SHIP ON CHEP PALLETS")
    assert [(line.line_no, line.item.sku, line.qty, line.uom) for line in ticket.lines] == [
        (1, "000100", 12, "CA"),
        (2, "000200", 32, "CA"),
        (3, "000300", 12, "CA"),
    ]
    # W0103 is a U.P.C. case code (2-5-5, no check digit): kept as an id, never mistaken for a GTIN
    assert ticket.lines[0].item == ItemRef("000100", None, (("UA", "000100011110"), ("UC", "DEC0199")))
    assert ticket.lines[2].description == "11.500 STRUDEL RASPBRY"


# -- 944 stock transfer receipt (stupidedi) -----------------------------------------------------------

STUPIDEDI_944 = "x12_944_stupidedi_fixture.edi"


def test_stupidedi_944_reads_as_a_receipt_of_100_units_and_warns_that_its_uk_id_is_no_gtin() -> None:
    read = accepted(read_944(fixture(STUPIDEDI_944)))
    assert read.document.interchange.control_number == "000000001"
    assert [ts.control_number for ts in read.document.interchange.transaction_sets()] == ["0001"]
    (receipt,) = read.document.documents
    assert receipt == StockReceipt(
        receipt_id="WR12345",
        lines=(receipt.lines[0],),
        reference="DO12345",
        received_on=date(2026, 7, 14),
        warehouse=Address("ACME WAREHOUSE", code="1234567890001", code_qualifier="9"),
    )
    line = receipt.lines[0]
    assert (line.qty_received, line.uom, line.lot, line.qty_damaged) == (100, "EA", "LOT456", 0)
    assert line.item == ItemRef(None, None, (("UK", "ITEM123"),))
    assert messages(read.warnings) == [
        "line 7, segment 7, W0705: 'ITEM123' under GTIN qualifier UK is not a GTIN (a GTIN has digits only)"
    ]


# -- 945 shipping advice -------------------------------------------------------------------------------

SAMPLE_945 = "x12_945_interchange_sample.edi"


def test_945_sample_miscounts_its_segments_so_a_strict_profile_refuses_it_at_the_se() -> None:
    outcome = rejected(read_945(fixture(SAMPLE_945)))
    assert messages(outcome.errors) == [
        "line 18, segment 18, SE01: SE01 says 12 segments in the transaction set, there are 16"
    ]


def test_945_sample_confirms_3000_units_of_order_if102_shipped() -> None:
    read = accepted(read_945(fixture(SAMPLE_945), COUNTS))
    interchange = read.document.interchange
    assert (interchange.sender_id, interchange.receiver_id, interchange.control_number) == (
        "YOUR-ID-HERE",
        "WAQE",
        "043000123",
    )
    assert [ts.control_number for ts in interchange.transaction_sets()] == ["000006123"]
    (confirmation,) = read.document.documents
    assert confirmation == ShipmentConfirmation(
        order_id="IF102",
        lines=confirmation.lines,
        shipment_id="BOL12345",
        purchase_order="PO9865",
        shipped_on=date(2019, 6, 4),
        carrier="NPLT",
        ship_to=Address("CUSTOMER XYZ", ("123 CUSTOMER WAY",), "ANYTOWN", "KS", "66216-4563"),
    )
    (line,) = confirmation.lines
    assert (line.line_no, line.item, line.qty_ordered, line.qty_shipped, line.uom) == (
        10,
        ItemRef("123456789"),
        3000,
        3000,
        "EA",
    )
    assert (line.status, line.lot, line.cartons) == ("CC", "LOT12314", ())
    assert messages(read.warnings) == [
        "line 1, segment 1, ISA: the ISA is 76 characters, not 106: its fields are not padded to their fixed widths",
        "line 18, segment 18, SE01: SE01 says 12 segments in the transaction set, there are 16",
    ]


def test_945_with_carton_marks_lists_each_lines_sscc_and_warns_on_a_bad_one() -> None:
    good = make_sscc("0614141", 1001, extension_digit=0)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    text = fixture(SAMPLE_945).replace(b"LX*10~\n", f"LX*10~\nMAN*GM*00{good}~\nMAN*GM*{bad}~\n".encode())
    text = text.replace(b"SE*12*", b"SE*18*")
    read = accepted(read_945(text))
    (confirmation,) = read.document.documents
    assert confirmation.lines[0].cartons == (good, bad)
    assert [w for w in messages(read.warnings) if "SSCC" in w] == [
        f"line 15, segment 15, MAN02: check digit of SSCC {bad} is wrong (expected {good[-1]}); "
        "kept as sent, since the carton's label carries it"
    ]


def test_945_shipped_total_that_disagrees_with_its_lines_refuses_the_file() -> None:
    text = fixture(SAMPLE_945).replace(b"W03*3000*", b"W03*2999*")
    outcome = rejected(read_945(text, COUNTS))
    assert messages(outcome.errors) == [
        "line 17, segment 17, W0301: says 2999 units shipped in total, the lines add up to 3000"
    ]


# -- round trips of what we write ----------------------------------------------------------------------


def pick_ticket(order_id: str = "SO-1001") -> PickTicket:
    return PickTicket(
        order_id=order_id,
        ship_to=Address(
            "Ada Lovelace",
            ("12 Loom Street", "Flat 3"),
            "London",
            "LND",
            "N1 9GU",
            "GB",
            code="C-77",
            code_qualifier="92",
        ),
        lines=(
            PickLine(1, ItemRef("OVS-001-NVY-M", "00036000291452"), 2, description="Navy overshirt M"),
            PickLine(2, ItemRef("OVS-001-NVY-L", "10614141000415"), 1),
            PickLine(3, ItemRef(gtin="04006381333931"), 5),
        ),
        purchase_order="PO-55",
        ship_by=date(2026, 11, 28),
        carrier="UPSN",
        instructions="Gift wrap line 1",
    )


def test_940_written_from_pick_tickets_reads_back_equal_with_correct_counts_and_control_numbers() -> None:
    tickets = [pick_ticket("SO-1001"), replace(pick_ticket("SO-1002"), ship_by=None, carrier=None, instructions="")]
    text = write_940(tickets, ENVELOPE, interchange_control_number=17, group_control_number=4, at=AT)
    read = accepted(read_940(text))
    assert read.warnings == ()
    assert list(read.document.documents) == tickets
    interchange = read.document.interchange
    assert (interchange.control_number, interchange.trailer.value(2)) == ("000000017", "000000017")
    assert (interchange.date, interchange.time, interchange.usage) == ("261127", "0830", "P")
    assert [(g.functional_id, g.control_number, g.trailer.value(1)) for g in interchange.groups] == [("OW", "4", "2")]
    for ts in interchange.transaction_sets():
        assert int(ts.trailer.value(1)) == len(ts.body) + 2
        assert ts.trailer.value(2) == ts.control_number
    assert [ts.control_number for ts in interchange.transaction_sets()] == ["0001", "0002"]
    assert len(interchange.header.elements) == 16
    assert text.index("~") == 105, "the ISA keeps its fixed width of 106 characters"


def test_940_round_trips_with_other_delimiters_and_no_line_breaks() -> None:
    envelope = replace(ENVELOPE, delimiters=Delimiters("|", "^", "\n"), line_breaks=False)
    text = write_940([pick_ticket()], envelope, interchange_control_number=1, group_control_number=1, at=AT)
    assert text.startswith("ISA|00|")
    assert accepted(read_940(text)).document.documents == (pick_ticket(),)


def test_940_writer_refuses_a_value_holding_a_delimiter_instead_of_corrupting_the_file() -> None:
    ticket = replace(pick_ticket(), ship_to=replace(pick_ticket().ship_to, name="Smith*Jones"))
    with pytest.raises(ValueError, match=r"N102: 'Smith\*Jones' contains '\*', a delimiter of this interchange"):
        write_940([ticket], ENVELOPE, interchange_control_number=1, group_control_number=1, at=AT)


def ship_notice() -> AdvanceShipNotice:
    carton_1, carton_2 = (make_sscc("0614141", n, extension_digit=1) for n in (501, 502))
    return AdvanceShipNotice(
        shipment_id="ASN-2026-0042",
        orders=(
            AsnOrder(
                purchase_order="PO-9001",
                packs=(
                    AsnPack(carton_1, (AsnItem(ItemRef("OVS-001-NVY-M", "00036000291452"), 12),)),
                    AsnPack(
                        carton_2, (AsnItem(ItemRef("OVS-001-NVY-L"), 6), AsnItem(ItemRef(gtin="10614141000415"), 2))
                    ),
                ),
                order_date=date(2026, 11, 20),
                references=(("IA", "V-100"),),
            ),
            AsnOrder(purchase_order="PO-9002", loose_items=(AsnItem(ItemRef("TEE-002-WHT-S"), 3),)),
        ),
        issued_on=date(2026, 11, 27),
        shipped_on=date(2026, 11, 27),
        carrier="FDEG",
        bill_of_lading="BOL-77",
        ship_to=Address("ACME 3PL Reno", ("1 Warehouse Way",), "Reno", "NV", "89502", "US", "0614141000012", "UL"),
        ship_from=Address("Seamline Brand DC"),
    )


def test_856_written_with_sscc_cartons_reads_back_equal_without_warnings() -> None:
    text = write_856([ship_notice()], ENVELOPE, interchange_control_number=9, group_control_number=9, at=AT)
    read = accepted(read_856(text))
    assert read.warnings == ()
    assert read.document.documents == (ship_notice(),)
    (ts,) = read.document.interchange.transaction_sets()
    assert int(ts.trailer.value(1)) == len(ts.body) + 2
    assert [s.value(2) for s in ts.body if s.tag == "MAN"] == ["00" + sscc for sscc in ship_notice().ssccs()]
    hierarchy = [(s.value(1), s.value(2), s.value(3)) for s in ts.body if s.tag == "HL"]
    assert hierarchy == [
        ("1", "", "S"),
        ("2", "1", "O"),
        ("3", "2", "P"),
        ("4", "3", "I"),
        ("5", "2", "P"),
        ("6", "5", "I"),
        ("7", "5", "I"),
        ("8", "1", "O"),
        ("9", "8", "I"),
    ]
    assert next(s for s in ts.body if s.tag == "CTT").value(1) == "9"
    # a GTIN that is a UPC-A goes out as UP with its 12 digits (what retail partners match on), others as UK
    assert [s.elements for s in ts.body if s.tag == "LIN"][:3] == [
        ("", "VN", "OVS-001-NVY-M", "UP", "036000291452"),
        ("", "VN", "OVS-001-NVY-L"),
        ("", "UK", "10614141000415"),
    ]


def test_856_writer_refuses_a_carton_whose_sscc_check_digit_is_wrong() -> None:
    notice = ship_notice()
    bad_pack = replace(notice.orders[0].packs[0], sscc="000010012345614785")
    notice = replace(notice, orders=(replace(notice.orders[0], packs=(bad_pack,)),))
    with pytest.raises(ValueError, match=r"check digit of SSCC 000010012345614785 is wrong \(expected 8\)"):
        write_856([notice], ENVELOPE, interchange_control_number=1, group_control_number=1, at=AT)


# -- malformed files -----------------------------------------------------------------------------------


def test_transaction_set_with_a_wrong_segment_count_is_refused_at_its_se() -> None:
    text = fixture(STUPIDEDI_944).replace(b"SE*8*0001", b"SE*9*0001")
    outcome = rejected(read_944(text))
    assert messages(outcome.errors) == [
        "line 10, segment 10, SE01: SE01 says 9 segments in the transaction set, there are 8"
    ]


def test_segment_count_that_is_not_a_number_is_refused_even_when_counts_are_tolerated() -> None:
    text = fixture(STUPIDEDI_944).replace(b"SE*8*0001", b"SE**0001")
    outcome = rejected(read_944(text, LENIENT))
    assert messages(outcome.errors) == [
        "line 10, segment 10, SE01: SE01 should count the segments in the transaction set, not ''"
    ]


def test_file_cut_off_after_the_last_line_item_is_refused_as_truncated() -> None:
    text = fixture(STUPIDEDI_944).split(b"SE*8*0001")[0]
    outcome = rejected(read_944(text, LENIENT))
    assert messages(outcome.errors) == [
        "line 3, segment 3, ST: transaction set 0001 has no SE trailer: truncated",
        "line 9, segment 9, W14: the interchange ends without an IEA trailer: the file is truncated",
    ]


def test_file_cut_off_inside_the_isa_is_refused() -> None:
    outcome = rejected(read_944(fixture(STUPIDEDI_944)[:60]))
    assert messages(outcome.errors) == ["line 1, segment 1, ISA: the ISA segment has fewer than 16 elements: truncated"]


def test_group_without_its_ge_is_refused_at_the_gs() -> None:
    text = fixture(STUPIDEDI_944).replace(b"GE*1*1~\n", b"")
    outcome = rejected(read_944(text))
    assert messages(outcome.errors) == ["line 2, segment 2, GS: functional group 1 has no GE trailer"]


def test_segment_between_transaction_sets_is_refused() -> None:
    text = fixture(STUPIDEDI_944).replace(b"GE*1*1~", b"W14*100~\nGE*1*1~")
    outcome = rejected(read_944(text))
    assert messages(outcome.errors) == ["line 11, segment 11, W14: W14 is outside any transaction set"]


def test_file_that_is_not_x12_is_refused_on_its_first_line() -> None:
    outcome = rejected(read_945(b"\n\norder_id,sku\n"))
    assert messages(outcome.errors) == ["line 3, segment 1, ISA: an X12 file starts with an ISA segment"]


def test_receipt_total_that_disagrees_with_its_lines_refuses_the_file() -> None:
    outcome = rejected(read_944(fixture(STUPIDEDI_944).replace(b"W14*100", b"W14*90")))
    assert messages(outcome.errors) == [
        "line 9, segment 9, W1401: says 90 units received in total, the lines add up to 100"
    ]


def test_one_bad_transaction_set_refuses_the_whole_file_so_nothing_is_half_applied() -> None:
    good_set = fixture(STUPIDEDI_944).split(b"ST*944*0001~\n")[1].split(b"GE*")[0]
    second = good_set.replace(b"0001", b"0002").replace(b"W07*100*", b"W07*1O0*")
    text = fixture(STUPIDEDI_944).replace(b"GE*1*1", b"ST*944*0002~\n" + second + b"GE*2*1")
    outcome = rejected(read_944(text))
    assert messages(outcome.errors) == ["line 15, segment 15, W0701: the quantity received '1O0' is not a number"]


def test_item_level_without_its_quantity_refuses_the_ship_notice() -> None:
    text = fixture(WALMART_856).replace(b"SN1**9*EA~\nHL*6", b"HL*6").replace(b"SE*44*", b"SE*43*")
    outcome = rejected(read_856(text, COUNTS))
    assert messages(outcome.errors) == ["line 27, segment 27, HL: an item level needs a LIN and an SN1 segment"]


def test_every_fixture_read_as_a_document_is_of_the_kind_its_transaction_set_names() -> None:
    kinds = {
        NEWEGG_846: InventorySnapshot,
        WALMART_856: AdvanceShipNotice,
        EDISOURCE_940: PickTicket,
        STUPIDEDI_944: StockReceipt,
        SAMPLE_945: ShipmentConfirmation,
    }
    for name, kind in kinds.items():
        read = accepted(read_x12(fixture(name), LENIENT))
        assert read.document.documents
        assert all(isinstance(d, kind) for d in read.document.documents), name
