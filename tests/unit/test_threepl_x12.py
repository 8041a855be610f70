"""The X12 tokenizer's tolerance: delimiters read from the ISA, line breaks of any kind, and what it
reports instead of guessing."""

from __future__ import annotations

import pytest

from seamline.channels.threepl.documents import Accepted, Rejected
from seamline.channels.threepl.x12 import Delimiters, Tolerance, parse_interchange, parse_interchanges, tokenize

ISA = "ISA*00*          *00*          *ZZ*ACME3PL        *ZZ*SEAMLINE       *261126*2300*U*00401*000000007*0*T*>"


def interchange(terminator: str = "~\n", isa: str = ISA) -> str:
    segments = [isa, "GS*RE*ACME3PL*SEAMLINE*20261126*2300*7*X*004010", "ST*944*0001", "W14*1", "SE*3*0001"]
    return terminator.join([*segments, "GE*1*7", "IEA*1*000000007"]) + terminator


@pytest.mark.parametrize(
    ("terminator", "expected"),
    [("~\n", "~"), ("~", "~"), ("~\r\n", "~"), ("\n", "\n"), ("\r\n", "\n"), ("'", "'")],
)
def test_segment_terminator_is_the_character_after_isa16_whatever_line_breaks_follow(
    terminator: str, expected: str
) -> None:
    read = parse_interchange(interchange(terminator))
    assert isinstance(read, Accepted), read
    assert read.document.delimiters == Delimiters("*", ">", expected)
    assert [s.tag for s in read.document.transaction_sets()[0].body] == ["W14"]
    assert read.document.control_number == "000000007"


def test_other_element_and_component_separators_are_taken_from_the_isa() -> None:
    text = interchange().replace("*", "|").replace("|>~", "|^~")
    read = parse_interchange(text)
    assert isinstance(read, Accepted), read
    assert read.document.delimiters == Delimiters("|", "^", "~")
    assert read.document.groups[0].control_number == "7"


def test_segments_report_their_line_and_their_position_in_the_file() -> None:
    text = "\n\n" + interchange("~\n\n")
    tokens = tokenize(text)
    assert isinstance(tokens, Accepted), tokens
    _, segments = tokens.document
    assert [(s.tag, s.line, s.number) for s in segments[:3]] == [("ISA", 3, 1), ("GS", 5, 2), ("ST", 7, 3)]


def test_a_last_segment_without_its_terminator_is_read_with_a_warning() -> None:
    text = interchange("~").removesuffix("~")
    read = parse_interchange(text)
    assert isinstance(read, Accepted), read
    assert [str(w) for w in read.warnings] == ["line 1, segment 7: the last segment has no segment terminator"]


def test_text_that_is_not_a_segment_is_refused_with_its_line() -> None:
    text = interchange().replace("W14*1~", "W14*1~\nhello world~")
    read = parse_interchange(text)
    assert isinstance(read, Rejected)
    assert [str(e) for e in read.errors] == [
        "line 5, segment 5: 'hello world' does not start with a segment identifier"
    ]


def test_latin1_bytes_are_read_with_a_warning_rather_than_refused() -> None:
    text = interchange().replace("W14*1", "N9*ZZ*CAF\xc9").encode("latin-1")
    read = parse_interchange(text)
    assert isinstance(read, Accepted), read
    assert read.document.transaction_sets()[0].body[0].value(2) == "CAF\xc9"
    assert [str(w) for w in read.warnings] == ["line 4: not UTF-8 (byte 178); read as Latin-1"]


def test_delimiters_that_are_letters_or_clash_are_refused() -> None:
    read = parse_interchange(interchange().replace("*>~", "*~~"))
    assert isinstance(read, Rejected)
    assert [str(e) for e in read.errors] == [
        "line 1, segment 1, ISA16: ISA delimiters unusable: X12 delimiters are three distinct single characters"
    ]


def second(text: str, number: int) -> str:
    return (
        text.replace("000000007", f"{number:09d}").replace("*7*X*", f"*{number}*X*").replace("GE*1*7", f"GE*1*{number}")
    )


def test_a_file_of_several_interchanges_is_read_whole_by_parse_interchanges_only() -> None:
    text = interchange() + second(interchange(), 8) + second(interchange("~"), 9)
    read = parse_interchanges(text)
    assert isinstance(read, Accepted), read
    assert [i.control_number for i in read.document] == ["000000007", "000000008", "000000009"]
    assert [i.groups[0].control_number for i in read.document] == ["7", "8", "9"]
    one = parse_interchange(text)
    assert isinstance(one, Rejected)
    assert [str(e) for e in one.errors] == ["line 8, segment 8, ISA: segment after IEA: a file carries one interchange"]


def test_an_interchange_sent_twice_in_one_file_is_refused_unless_the_partner_is_known_for_it() -> None:
    read = parse_interchanges(interchange() + interchange())
    assert isinstance(read, Rejected)
    assert [str(e) for e in read.errors] == [
        "line 8, segment 8, ISA13: interchange control number 000000007 is used again (first at line 1)"
    ]
    assert isinstance(parse_interchanges(interchange() + interchange(), [Tolerance.CONTROL_NUMBERS]), Accepted)


def test_a_truncated_interchange_among_several_names_the_one_without_its_iea() -> None:
    text = interchange().removesuffix("IEA*1*000000007~\n") + second(interchange(), 8)
    read = parse_interchanges(text)
    assert isinstance(read, Rejected)
    assert [str(e) for e in read.errors] == [
        "line 6, segment 6, GE: the interchange ends without an IEA trailer: the file is truncated"
    ]


def test_segments_between_interchanges_are_refused_with_their_line() -> None:
    text = interchange() + "GE*1*7~\n" + second(interchange(), 8)
    read = parse_interchanges(text)
    assert isinstance(read, Rejected)
    assert [str(e) for e in read.errors] == [
        "line 8, segment 8, GE: segment after IEA: the next interchange must start with ISA"
    ]


def test_tolerances_turn_only_the_named_checks_into_warnings() -> None:
    text = interchange().replace("SE*3*0001", "SE*4*0002")
    strict = parse_interchange(text)
    assert isinstance(strict, Rejected)
    assert [e.element for e in strict.errors] == ["SE01", "SE02"]
    counts_only = parse_interchange(text, [Tolerance.COUNTS])
    assert isinstance(counts_only, Rejected)
    assert [e.element for e in counts_only.errors] == ["SE02"]
    both = parse_interchange(text, list(Tolerance))
    assert isinstance(both, Accepted)
    assert [w.element for w in both.warnings] == ["SE01", "SE02"]
