"""997 functional acknowledgements on test files written for this suite, in the shape of the public X12
997 samples (AK1 / AK2 / AK3 / AK4 / AK5 / AK9 per functional group): one 997 per group received, rejections
that name the segment and element, and the 3PL's 997s for our 940s read back."""

from __future__ import annotations

from datetime import UTC, datetime

from seamline.channels.threepl import acks
from seamline.channels.threepl.documents import Accepted, Rejected
from seamline.channels.threepl.mapper import read_945
from seamline.channels.threepl.x12 import Envelope, parse_interchange

AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
ENVELOPE = Envelope(sender_id="SEAMLINE", receiver_id="ACME3PL")


def x945(control: int, *lines: str) -> str:
    body = ["W06*F*SO-1*20261127*SHIP-1", "LX*1", *lines, "W03*1"]
    segments = [
        "ISA*00*          *00*          *ZZ*ACME3PL        *ZZ*SEAMLINE       *261127*0900*U*00401*"
        f"{control:09d}*0*P*>",
        f"GS*SW*ACME3PL*SEAMLINE*20261127*0900*{control}*X*004010",
        "ST*945*0001",
        *body,
        f"SE*{len(body) + 2}*0001",
        f"GE*1*{control}",
        f"IEA*1*{control:09d}",
    ]
    return "~\n".join(segments) + "~\n"


def segments_of(text: str) -> list[str]:
    read = parse_interchange(text)
    assert isinstance(read, Accepted), read
    (ts,) = read.document.transaction_sets()
    return ["*".join((s.tag, *s.elements)) for s in ts.body]


def test_a_file_read_whole_is_acknowledged_accepted_per_group() -> None:
    text = x945(41, "W12*CC*1*1*0*EA**VN*OVS-001-NVY-M") + x945(42, "W12*CC*1*1*0*EA**VN*OVS-001-NVY-L")
    read = read_945(text)
    assert isinstance(read, Accepted), read
    answer = acks.acknowledge_file(text, read)
    assert [(a.functional_id, a.control_number, a.status, a.received, a.accepted) for a in answer] == [
        ("SW", "41", "A", 1, 1),
        ("SW", "42", "A", 1, 1),
    ]
    out = acks.write_997(ENVELOPE, answer, interchange_control_number=900000001, at=AT)
    read_back = parse_interchange(out)
    assert isinstance(read_back, Accepted), read_back
    assert read_back.document.groups[0].functional_id == "FA"
    assert [ts.code for ts in read_back.document.transaction_sets()] == ["997", "997"]
    first = ["*".join((s.tag, *s.elements)) for s in read_back.document.transaction_sets()[0].body]
    assert first == ["AK1*SW*41", "AK2*945*0001", "AK5*A", "AK9*A*1*1*1"]


def test_a_line_that_cannot_be_read_is_rejected_naming_its_segment_and_element() -> None:
    text = x945(43, "W12*CC*1*one*0*EA**VN*OVS-001-NVY-M")
    read = read_945(text)
    assert isinstance(read, Rejected)
    (answer,) = acks.acknowledge_file(text, read)
    (ack,) = answer.sets
    assert (ack.status, ack.errors) == ("R", ("5",))
    assert [(n.tag, n.position, n.code, n.element, n.element_code) for n in ack.notes] == [("W12", 4, "8", 3, "7")]
    assert "'one' is not a number" in ack.notes[0].reason
    out = acks.write_997(ENVELOPE, [answer], interchange_control_number=900000002, at=AT)
    assert segments_of(out) == ["AK1*SW*43", "AK2*945*0001", "AK3*W12*4**8", "AK4*3**7", "AK5*R*5", "AK9*R*1*1*0"]


def test_a_wrong_segment_count_is_an_ak5_code_and_a_warning_is_accepted_with_errors() -> None:
    wrong_count = x945(44, "W12*CC*1*1*0*EA**VN*OVS-001-NVY-M").replace("SE*6*0001", "SE*9*0001")
    (answer,) = acks.acknowledge_file(wrong_count, read_945(wrong_count))
    assert [(s.status, s.errors) for s in answer.sets] == [("R", ("4",))]
    noted = x945(45, "W12*CC*1*1*0*EA**VN*OVS-001-NVY-M", "MAN*GM*123")  # not an SSCC: a warning
    read = read_945(noted)
    assert isinstance(read, Accepted)
    (answer,) = acks.acknowledge_file(noted, read)
    assert (answer.status, answer.sets[0].status) == ("E", "E")


def test_a_good_set_in_a_refused_file_is_not_acknowledged_as_accepted() -> None:
    text = x945(46, "W12*CC*1*1*0*EA**VN*OVS-001-NVY-M") + x945(47, "W12*CC*1*x*0*EA**VN*OVS-001-NVY-M")
    read = read_945(text)
    assert isinstance(read, Rejected)
    answer = acks.acknowledge_file(text, read)
    assert [(a.control_number, a.status, a.sets[0].status, a.sets[0].errors) for a in answer] == [
        ("46", "R", "R", ()),
        ("47", "R", "R", ("5",)),
    ]


def test_a_file_without_readable_envelopes_gets_no_997() -> None:
    text = "GS*SW*ACME3PL*SEAMLINE~ST*945*0001~"
    assert acks.acknowledge_file(text, Rejected((acks.Issue("an X12 file starts with an ISA segment"),))) == ()


def partner_997(*body: str) -> str:
    segments = [
        "ISA*00*          *00*          *ZZ*ACME3PL        *ZZ*SEAMLINE       *261127*1000*U*00401*000000777*0*P*>",
        "GS*FA*ACME3PL*SEAMLINE*20261127*1000*777*X*004010",
        "ST*997*0001",
        *body,
        f"SE*{len(body) + 2}*0001",
        "GE*1*777",
        "IEA*1*000000777",
    ]
    return "~\n".join(segments) + "~\n"


def test_the_3pls_997_for_our_940s_is_read_set_by_set_with_its_reasons() -> None:
    text = partner_997(
        "AK1*OW*17",
        "AK2*940*0001",
        "AK5*A",
        "AK2*940*0002",
        "AK3*W01*5**8",
        "AK4*5>1*234*7*XX-404",
        "AK5*R*5",
        "AK9*P*2*2*1",
    )
    read = acks.read_997(text)
    assert isinstance(read, Accepted), read
    (ack,) = read.document
    assert (ack.functional_id, ack.control_number, ack.status, ack.received, ack.accepted) == ("OW", "17", "P", 2, 1)
    assert [(s.control_number, s.status, s.errors) for s in ack.sets] == [("0001", "A", ()), ("0002", "R", ("5",))]
    assert ack.sets[1].notes == (acks.SegmentNote("W01", 5, "8", 5, "7", "XX-404"),)
    assert acks.describe(ack) == ["set 940 0002: R (AK5 5; segment W01 at 5, element 5 (code 7))"]


def test_our_own_997_reads_back_as_what_we_said() -> None:
    text = x945(48, "W12*CC*1*one*0*EA**VN*OVS-001-NVY-M")
    answer = acks.acknowledge_file(text, read_945(text))
    out = acks.write_997(ENVELOPE, answer, interchange_control_number=900000003, at=AT)
    read = acks.read_997(out)
    assert isinstance(read, Accepted), read
    (ack,) = read.document
    assert (ack.control_number, ack.status, ack.sets[0].status, ack.sets[0].notes[0].tag) == ("48", "R", "R", "W12")


def test_a_997_without_ak9_is_refused_with_where_it_was_expected() -> None:
    read = acks.read_997(partner_997("AK1*OW*17", "AK2*940*0001", "AK5*A"))
    assert isinstance(read, Rejected)
    assert [str(e) for e in read.errors] == ["line 7, segment 7, SE01: a 997 ends with AK9 whose AK901 is A, E, P or R"]


def test_a_set_seamline_does_not_take_from_a_3pl_is_rejected_as_not_supported() -> None:
    purchase_order = x945(49, "W12*CC*1*1*0*EA**VN*OVS-001-NVY-M").replace("ST*945*", "ST*850*")
    read = read_945(purchase_order)
    assert isinstance(read, Rejected)
    (answer,) = acks.acknowledge_file(purchase_order, read)
    assert [(s.code, s.status, s.errors) for s in answer.sets] == [("850", "R", ("1",))]
    assert answer.status == "R"
