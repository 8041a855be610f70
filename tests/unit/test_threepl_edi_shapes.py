"""X12 files as partners really send them, on test files written for this suite and modelled on public
samples (the EdiFabric/Walmart 856 and the 945 interchange sample in tests/fixtures/edi, and the 5010
segment layouts of W12/W07 published by open-source X12 schemas): several interchanges in one file, 856s
without an order level (S/T/P/I, S/T/I/P, the shipment alone), carton SSCCs in 945 ``N9*LV`` segments and
the extra product id pairs of W12 (W1221/22) and W07 (W0710/11)."""

from __future__ import annotations

import pytest

from seamline.channels.threepl.documents import Accepted, AsnItem, ItemRef, Rejected
from seamline.channels.threepl.mapper import read_856, read_944, read_945

SSCC_1, SSCC_2, SSCC_3 = "006141410000000012", "006141410000000029", "006141410000000036"


def wrap(code: str, body: list[str], control: int = 501, functional_id: str = "SH") -> str:
    segments = [
        "ISA*00*          *00*          *ZZ*ACME3PL        *ZZ*SEAMLINE       *261127*0900*U*00401*"
        f"{control:09d}*0*P*>",
        f"GS*{functional_id}*ACME3PL*SEAMLINE*20261127*0900*{control}*X*004010",
        f"ST*{code}*0001",
        *body,
        f"SE*{len(body) + 2}*0001",
        f"GE*1*{control}",
        f"IEA*1*{control:09d}",
    ]
    return "~\n".join(segments) + "~\n"


def asn(*levels: str, header: tuple[str, ...] = ()) -> str:
    return wrap("856", ["BSN*00*SHP-77*20261127*0900*0002", *header, *levels])


def test_an_856_with_tare_pack_item_and_no_order_level_is_one_order_named_by_the_shipment_prf() -> None:
    text = asn(
        "HL*1**S",
        "TD5*B*2*UPSN",
        "PRF*TR-1001***20261120",
        "HL*2*1*T",
        f"MAN*GM*00{SSCC_1}",
        "HL*3*2*P",
        f"MAN*GM*{SSCC_2}",
        "HL*4*3*I",
        "LIN**VN*OVS-001-NVY-M",
        "SN1**6*EA",
        "HL*5*2*P",
        f"MAN*GM*{SSCC_3}",
        "HL*6*5*I",
        "LIN**VN*OVS-001-NVY-L",
        "SN1**4*EA",
    )
    read = read_856(text)
    assert isinstance(read, Accepted), read
    (notice,) = read.document.documents
    (order,) = notice.orders
    assert order.purchase_order == "TR-1001"
    assert [(p.sscc, [(i.item.sku, i.qty) for i in p.items]) for p in order.packs] == [
        (SSCC_2, [("OVS-001-NVY-M", 6)]),
        (SSCC_3, [("OVS-001-NVY-L", 4)]),
    ]
    assert notice.carrier == "UPSN"


def test_an_856_whose_packs_sit_below_their_item_puts_each_packs_units_in_its_carton() -> None:
    text = asn(
        "HL*1**S",
        "REF*PO*TR-2002",
        "HL*2*1*T",
        "HL*3*2*I",
        "LIN**VN*OVS-001-NVY-M*UP*012345678905",
        "SN1**10*EA",
        "HL*4*3*P",
        f"MAN*GM*{SSCC_1}",
        "SN1**6*EA",
        "HL*5*3*P",
        f"MAN*GM*{SSCC_2}",
        "SN1**4*EA",
    )
    read = read_856(text)
    assert isinstance(read, Accepted), read
    (order,) = read.document.documents[0].orders
    assert order.purchase_order == "TR-2002"
    item = ItemRef("OVS-001-NVY-M", "00012345678905")
    assert [(p.sscc, p.items) for p in order.packs] == [
        (SSCC_1, (AsnItem(item, 6),)),
        (SSCC_2, (AsnItem(item, 4),)),
    ]
    assert order.loose_items == ()


def test_packs_below_an_item_that_do_not_add_up_to_it_refuse_the_notice_naming_the_item_level() -> None:
    text = asn(
        "HL*1**S",
        "HL*2*1*I",
        "LIN**VN*OVS-001-NVY-M",
        "SN1**10*EA",
        "HL*3*2*P",
        f"MAN*GM*{SSCC_1}",
        "SN1**6*EA",
        "HL*4*2*P",
        f"MAN*GM*{SSCC_2}",
        "SN1**3*EA",
    )
    read = read_856(text)
    assert isinstance(read, Rejected)
    assert [str(e) for e in read.errors] == ["line 6, segment 6, HL: the item's SN1 says 10 units, its packs hold 9"]


def test_a_shipment_only_856_is_taken_with_a_warning_that_it_announces_no_contents() -> None:
    read = read_856(asn("HL*1**S", "TD5*B*2*DHLC", "REF*BM*BOL-9"))
    assert isinstance(read, Accepted), read
    (notice,) = read.document.documents
    assert notice.bill_of_lading == "BOL-9"
    assert [(o.purchase_order, o.packs, o.loose_items) for o in notice.orders] == [("SHP-77", (), ())]
    assert [w.reason for w in read.warnings] == [
        "no order level, PRF or REF*PO: the shipment id SHP-77 stands for the order",
        "the notice has a shipment level only: no cartons or items to expect",
    ]


def test_an_856_with_order_levels_still_refuses_a_pack_outside_any_order() -> None:
    text = asn(
        "HL*1**S",
        "HL*2*1*O",
        "PRF*PO-1",
        "HL*3*1*P",
        f"MAN*GM*{SSCC_1}",
        "HL*4*3*I",
        "LIN**VN*OVS-001-NVY-M",
        "SN1**1*EA",
    )
    read = read_856(text)
    assert isinstance(read, Rejected)
    assert "a pack level is not under an order level" in [e.reason for e in read.errors]


def x945(*detail: str) -> str:
    return wrap(
        "945",
        ["W06*F*SO-1*20261127*SHIP-1**PO-1", "N1*ST*CUSTOMER XYZ", "W27*M*UPSN", *detail],
        functional_id="SW",
    )


def test_945_cartons_come_from_n9_lv_license_plates_of_each_line_and_of_the_whole_shipment() -> None:
    text = x945(
        f"N9*LV*{SSCC_3}",
        "LX*1",
        "W12*CC*3*3*0*EA**VN*OVS-001-NVY-M",
        f"N9*LV*00{SSCC_1}",
        "LX*2",
        "W12*CC*2*2*0*EA**VN*OVS-001-NVY-L",
        f"N9*LV*{SSCC_2}",
        "N9*LV*LPN6569",
        "W03*5",
    )
    read = read_945(text)
    assert isinstance(read, Accepted), read
    (confirmation,) = read.document.documents
    assert confirmation.cartons == (SSCC_3,)
    # The public sample's "LPN6569" is a license plate that is not an SSCC: kept as the 3PL's carton id.
    assert [(line.item.sku, line.cartons, line.license_plates) for line in confirmation.lines] == [
        ("OVS-001-NVY-M", (SSCC_1,), ()),
        ("OVS-001-NVY-L", (SSCC_2,), ("LPN6569",)),
    ]
    assert read.warnings == ()


def test_w12_reads_its_third_product_id_pair_and_second_case_code() -> None:
    w12 = "W12*CC*1*1*0*EA*10012345000017*UP*012345678905" + "*" * 8 + "20012345000014*BP*BUYER-77***EN*4006381333931"
    read = read_945(x945("LX*1", w12, "W03*1"))
    assert isinstance(read, Accepted), read
    (line,) = read.document.documents[0].lines
    assert line.item == ItemRef(
        "BUYER-77", "00012345678905", (("UA", "10012345000017"), ("UA", "20012345000014"), ("EN", "4006381333931"))
    )


def test_w07_reads_its_third_product_id_pair() -> None:
    # W0706/07 empty, W0708 the lot, W0709 empty, W0710/11 the third pair.
    w07 = "W07*5*EA**UP*012345678905***LOT-4**VN*OVS-001-NVY-M"
    text = wrap("944", ["W17*F*20261127*RCV-1*TR-1", "LX*1", w07, "W14*5"], functional_id="RE")
    read = read_944(text)
    assert isinstance(read, Accepted), read
    (line,) = read.document.documents[0].lines
    assert (line.item.sku, line.item.gtin, line.lot, line.qty_received) == (
        "OVS-001-NVY-M",
        "00012345678905",
        "LOT-4",
        5,
    )


@pytest.mark.parametrize("separator", ["", "\n", "\r\n"])
def test_a_file_of_several_interchanges_gives_the_documents_of_all_of_them(separator: str) -> None:
    text = x945("LX*1", "W12*CC*1*1*0*EA**VN*OVS-001-NVY-M", "W03*1")
    other = text.replace("000000501", "000000502").replace("*501*X*", "*502*X*").replace("GE*1*501", "GE*1*502")
    other = other.replace("SO-1", "SO-2")
    read = read_945(text + separator + other)
    assert isinstance(read, Accepted), read
    assert [d.order_id for d in read.document.documents] == ["SO-1", "SO-2"]
    assert [i.control_number for i in read.document.interchanges] == ["000000501", "000000502"]
