"""X12 997 functional acknowledgements, both ways.

Out: for every functional group a 3PL sends, one 997 saying whether each of its transaction sets was
accepted (``AK5*A``), accepted with errors noted (``E``: our warnings) or rejected (``R``), and why: ``AK3``
names the segment (its tag and its position in the set, ST being 1) and ``AK4`` the element, with the X12
error codes; ``AK9`` sums the group. A file is one unit of work here, so when any part of it is refused,
nothing of it is applied: a set that was fine in a refused file is acknowledged ``R`` too (with no error
of its own), never ``A`` for something we did not take.

In: a 997 the 3PL sends for what we sent (940 pick tickets, 856 ship notices) is read into
:class:`GroupAck` records, which the wiring matches to the pick ticket or ship notice of that group
control number.

A file whose envelopes cannot be read at all (no ISA, a missing GS) has no group to acknowledge; it is
refused with its reasons like any unreadable file and no 997 is sent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from seamline.channels.threepl.documents import Accepted, Issue, Outcome, Rejected
from seamline.channels.threepl.mapper import INBOUND_TRANSACTION_SETS
from seamline.channels.threepl.x12 import (
    Envelope,
    FunctionalGroup,
    Interchange,
    OutgoingSet,
    OutSegment,
    Tolerance,
    TransactionSet,
    parse_interchanges,
    write_interchange,
)

ACCEPTED, ACCEPTED_WITH_ERRORS, PARTIALLY_ACCEPTED, REJECTED = "A", "E", "P", "R"
STATUSES = frozenset({ACCEPTED, ACCEPTED_WITH_ERRORS, PARTIALLY_ACCEPTED, REJECTED})
#: AK5 (element 718) codes we send.
SET_NOT_SUPPORTED, COUNT_MISMATCH, CONTROL_MISMATCH, SEGMENTS_IN_ERROR = "1", "4", "3", "5"
#: AK304 (element 720): the segment has data element errors.
SEGMENT_HAS_ELEMENT_ERRORS = "8"
#: AK403 (element 723): mandatory element missing, invalid code value.
ELEMENT_MISSING, ELEMENT_INVALID = "1", "7"
#: AK9 (element 716): the group's set count or control number is wrong.
GROUP_COUNT_MISMATCH, GROUP_CONTROL_MISMATCH = "5", "4"


@dataclass(frozen=True, slots=True)
class SegmentNote:
    """An AK3 (and its AK4, when an element is named) with the reason in words."""

    tag: str
    position: int
    code: str
    element: int | None = None
    element_code: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SetAck:
    code: str
    control_number: str
    status: str
    errors: tuple[str, ...] = ()
    notes: tuple[SegmentNote, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupAck:
    functional_id: str
    control_number: str
    status: str
    sets: tuple[SetAck, ...]
    received: int
    accepted: int
    errors: tuple[str, ...] = ()


def _element_position(issue: Issue, tag: str) -> int | None:
    element = issue.element or ""
    if element.startswith(tag) and element[len(tag) :].isdigit():
        return int(element[len(tag) :])
    return None


def _set_ack(
    ts: TransactionSet, errors: Sequence[Issue], warnings: Sequence[Issue], refused: bool, supported: frozenset[str]
) -> SetAck:
    first, last = ts.header.number, ts.trailer.number
    mine = [e for e in errors if e.segment is not None and first <= e.segment <= last]
    codes: list[str] = [] if ts.code in supported else [SET_NOT_SUPPORTED]
    notes: list[SegmentNote] = []
    for issue in mine:
        assert issue.segment is not None
        if issue.segment == first and "is not one of" in issue.reason:
            if SET_NOT_SUPPORTED not in codes:
                codes.append(SET_NOT_SUPPORTED)
            continue
        if issue.segment == last:
            codes.append(COUNT_MISMATCH if issue.element == "SE01" else CONTROL_MISMATCH)
            continue
        segment = next((s for s in ts.body if s.number == issue.segment), ts.header)
        position = _element_position(issue, segment.tag)
        notes.append(
            SegmentNote(
                tag=segment.tag,
                position=issue.segment - first + 1,
                code=SEGMENT_HAS_ELEMENT_ERRORS,
                element=position,
                element_code=None
                if position is None
                else ELEMENT_MISSING
                if "required" in issue.reason
                else ELEMENT_INVALID,
                reason=issue.reason,
            )
        )
    if notes:
        codes.append(SEGMENTS_IN_ERROR)
    if mine or refused or codes:
        status = REJECTED
    else:
        noted = any(w.segment is not None and first <= w.segment <= last for w in warnings)
        status = ACCEPTED_WITH_ERRORS if noted else ACCEPTED
    return SetAck(ts.code, ts.control_number, status, tuple(dict.fromkeys(codes))[:5], tuple(notes))


def _group_ack(
    group: FunctionalGroup, errors: Sequence[Issue], warnings: Sequence[Issue], refused: bool, supported: frozenset[str]
) -> GroupAck:
    sets = tuple(_set_ack(ts, errors, warnings, refused, supported) for ts in group.transaction_sets)
    trailer = group.trailer.number
    codes = tuple(
        dict.fromkeys(
            GROUP_COUNT_MISMATCH if e.element == "GE01" else GROUP_CONTROL_MISMATCH
            for e in errors
            if e.segment == trailer
        )
    )
    accepted = sum(1 for s in sets if s.status in (ACCEPTED, ACCEPTED_WITH_ERRORS))
    if accepted == len(sets) and not codes:
        status = ACCEPTED_WITH_ERRORS if any(s.status == ACCEPTED_WITH_ERRORS for s in sets) else ACCEPTED
    elif accepted == 0:
        status = REJECTED
    else:
        status = PARTIALLY_ACCEPTED
    return GroupAck(group.functional_id, group.control_number, status, sets, len(sets), accepted, codes)


def acknowledge(
    interchanges: Sequence[Interchange],
    errors: Sequence[Issue],
    warnings: Sequence[Issue],
    supported: frozenset[str] = INBOUND_TRANSACTION_SETS,
) -> tuple[GroupAck, ...]:
    """One acknowledgement per functional group received, from the reasons the file was read with (every
    issue carries the position of its segment in the file, which places it in its set or group trailer); a
    set of a kind not taken from a 3PL (``supported``) is rejected as not supported (AK5 1)."""
    refused = bool(errors)
    return tuple(_group_ack(g, errors, warnings, refused, supported) for i in interchanges for g in i.groups)


def acknowledge_file(
    data: bytes | str, read: Outcome[object], supported: frozenset[str] = INBOUND_TRANSACTION_SETS
) -> tuple[GroupAck, ...]:
    """The acknowledgements of a file as it was read (``read``: its outcome); none when its envelopes cannot
    be made out at all."""
    structure = parse_interchanges(data, frozenset(Tolerance))
    if isinstance(structure, Rejected):
        return ()
    errors = read.errors if isinstance(read, Rejected) else ()
    return acknowledge(structure.document, errors, read.warnings, supported)


def ack_to_997(ack: GroupAck) -> OutgoingSet:
    body: list[OutSegment] = [("AK1", ack.functional_id, ack.control_number)]
    for s in ack.sets:
        body.append(("AK2", s.code, s.control_number))
        for note in s.notes:
            body.append(("AK3", note.tag, str(note.position), "", note.code))
            if note.element is not None and note.element_code is not None:
                body.append(("AK4", str(note.element), "", note.element_code))
        body.append(("AK5", s.status, *s.errors))
    body.append(("AK9", ack.status, str(ack.received), str(ack.received), str(ack.accepted), *ack.errors[:5]))
    return OutgoingSet("997", body)


def write_997(envelope: Envelope, acks: Sequence[GroupAck], *, interchange_control_number: int, at: datetime) -> str:
    """One interchange whose FA group holds a 997 per group acknowledged (group number = interchange's)."""
    return write_interchange(
        envelope,
        [ack_to_997(a) for a in acks],
        interchange_control_number=interchange_control_number,
        group_control_number=interchange_control_number,
        at=at,
    )


def read_997(data: bytes | str, tolerate: Sequence[Tolerance] = ()) -> Outcome[tuple[GroupAck, ...]]:
    """A 3PL's 997s: what it says of each of our groups and sets; the whole file or its errors."""
    parsed = parse_interchanges(data, tolerate)
    if isinstance(parsed, Rejected):
        return parsed
    errors: list[Issue] = []
    acks: list[GroupAck] = []
    for ts in (ts for i in parsed.document for ts in i.transaction_sets()):
        if ts.code != "997":
            errors.append(ts.header.issue(f"transaction set {ts.code} is not a 997", 1))
            continue
        ak1 = next((s for s in ts.body if s.tag == "AK1"), None)
        ak9 = next((s for s in ts.body if s.tag == "AK9"), None)
        if ak1 is None or not ak1.value(1) or not ak1.value(2):
            errors.append(ts.header.issue("a 997 starts with AK1 naming the functional group and its control number"))
            continue
        if ak9 is None or ak9.value(1) not in STATUSES:
            where = ak9 if ak9 is not None else ts.trailer
            errors.append(where.issue("a 997 ends with AK9 whose AK901 is A, E, P or R", 1))
            continue
        sets: list[SetAck] = []
        current: tuple[str, str] | None = None
        notes: list[SegmentNote] = []
        for seg in ts.body:
            if seg.tag == "AK2":
                current, notes = (seg.value(1), seg.value(2)), []
            elif seg.tag == "AK3" and current is not None:
                position = int(seg.value(2)) if seg.value(2).isdigit() else 0
                notes.append(SegmentNote(seg.value(1), position, seg.value(4)))
            elif seg.tag == "AK4" and notes:
                last = notes.pop()
                digits = re.match(r"\d+", seg.value(1))  # AK401 may carry a component position: "3>1"
                number = int(digits.group()) if digits else None
                notes.append(SegmentNote(last.tag, last.position, last.code, number, seg.value(3), seg.value(4)))
            elif seg.tag == "AK5" and current is not None:
                if seg.value(1) not in STATUSES:
                    errors.append(seg.issue(f"AK501 {seg.value(1)!r} is not A, E, P or R", 1))
                codes = tuple(seg.value(p) for p in range(2, 7) if seg.value(p))
                sets.append(SetAck(current[0], current[1], seg.value(1), codes, tuple(notes)))
                current = None
        numbers = [ak9.value(p) for p in (2, 3, 4)]
        received, accepted = (
            (int(numbers[0]) if numbers[0].isdigit() else len(sets)),
            (int(numbers[2]) if numbers[2].isdigit() else 0),
        )
        codes = tuple(ak9.value(p) for p in range(5, 10) if ak9.value(p))
        acks.append(GroupAck(ak1.value(1), ak1.value(2), ak9.value(1), tuple(sets), received, accepted, codes))
    if errors:
        return Rejected(tuple(errors), parsed.warnings)
    return Accepted(tuple(acks), parsed.warnings)


def describe(ack: GroupAck) -> list[str]:
    """A group acknowledgement in words, a line per set that was not simply accepted."""
    lines = []
    for s in ack.sets:
        if s.status == ACCEPTED:
            continue
        reasons = [f"AK5 {code}" for code in s.errors] + [
            f"segment {n.tag} at {n.position}" + (f", element {n.element} (code {n.element_code})" if n.element else "")
            for n in s.notes
        ]
        lines.append(f"set {s.code} {s.control_number}: {s.status}" + (f" ({'; '.join(reasons)})" if reasons else ""))
    return lines
