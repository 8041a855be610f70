"""X12 interchanges: a tolerant reader and a strict writer.

Reading takes the delimiters from the ISA segment itself (element separator at position 4, component
separator in ISA16, segment terminator right after ISA16), so it does not depend on the ISA being padded
to its 106 fixed characters, and it ignores line breaks, a byte-order mark and surrounding blanks between
segments. What it does not tolerate silently is a broken envelope: a missing trailer (a truncated file),
a segment outside a transaction set, a count that disagrees with what arrived or a trailer whose control
number is not its header's. Those are errors unless the trading partner's profile lists them as known
quirks (:class:`Tolerance`), in which case they become warnings. Counts exist to detect lost segments, so
tolerating them is a per-partner decision, never a default.

Writing produces one interchange with one functional group, fixed-width ISA fields, SE01 counting ST
through SE, and control numbers the caller allocates (they must be unique per partner, so they come from
storage, not from here).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from seamline.channels.threepl.documents import Accepted, Issue, Outcome, Rejected

_TAG = re.compile(r"^[A-Z][A-Z0-9]{1,2}$")
_ISA_LENGTH = 106  # "ISA" + 16 fixed-width elements with their separators + the terminator


class Tolerance(enum.Enum):
    """Envelope checks a partner profile may downgrade from error to warning."""

    #: SE01, GE01 or IEA01 disagrees with the number of segments, sets or groups actually present.
    COUNTS = "counts"
    #: SE02, GE02 or IEA02 is not the control number of its header (ST02, GS06, ISA13).
    CONTROL_NUMBERS = "control-numbers"


@dataclass(frozen=True, slots=True)
class Delimiters:
    element: str = "*"
    component: str = ">"
    segment: str = "~"

    def __post_init__(self) -> None:
        chars = (self.element, self.component, self.segment)
        if any(len(c) != 1 for c in chars) or len(set(chars)) != 3:
            raise ValueError("X12 delimiters are three distinct single characters")
        if any(c.isalnum() or c == " " for c in chars):
            raise ValueError("an X12 delimiter cannot be a letter, a digit or a space")


@dataclass(frozen=True, slots=True)
class Segment:
    tag: str
    #: Data elements; ``elements[0]`` is ``XX01``. Values are as sent (ISA fields keep their padding).
    elements: tuple[str, ...]
    #: Line of the file where the segment starts, and its position in the file (ISA is 1).
    line: int
    number: int

    def value(self, position: int) -> str:
        """Element ``XXnn`` (1-based) with padding removed; empty when absent."""
        if 1 <= position <= len(self.elements):
            return self.elements[position - 1].strip()
        return ""

    def ref(self, position: int) -> str:
        return f"{self.tag}{position:02d}"

    def issue(self, reason: str, position: int | None = None) -> Issue:
        return Issue(reason, self.line, self.number, self.tag if position is None else self.ref(position))


@dataclass(frozen=True, slots=True)
class TransactionSet:
    code: str
    control_number: str
    header: Segment
    #: The segments between ST and SE.
    body: tuple[Segment, ...]
    trailer: Segment


@dataclass(frozen=True, slots=True)
class FunctionalGroup:
    functional_id: str
    sender: str
    receiver: str
    date: str
    time: str
    control_number: str
    version: str
    header: Segment
    transaction_sets: tuple[TransactionSet, ...]
    trailer: Segment


@dataclass(frozen=True, slots=True)
class Interchange:
    delimiters: Delimiters
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    date: str
    time: str
    version: str
    control_number: str
    acknowledgment_requested: str
    usage: str
    header: Segment
    groups: tuple[FunctionalGroup, ...]
    trailer: Segment

    def transaction_sets(self) -> list[TransactionSet]:
        return [ts for group in self.groups for ts in group.transaction_sets]

    def transaction_codes(self) -> list[str]:
        return [ts.code for ts in self.transaction_sets()]


# -- reading ------------------------------------------------------------------------------------------


def _decode(data: bytes | str) -> tuple[str, list[Issue]]:
    if isinstance(data, str):
        return data.removeprefix("\ufeff"), []
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return data.decode("latin-1"), [Issue(f"not UTF-8 (byte {exc.start}); read as Latin-1", line)]


def tokenize(data: bytes | str) -> Outcome[tuple[Delimiters, tuple[Segment, ...]]]:
    """Split an X12 file into segments, with the delimiters its ISA declares."""
    text, warnings = _decode(data)
    start = len(text) - len(text.lstrip())
    if not text[start:].startswith("ISA"):
        line = text.count("\n", 0, start) + 1
        return Rejected((Issue("an X12 file starts with an ISA segment", line, 1, "ISA"),), tuple(warnings))
    line_of_isa = text.count("\n", 0, start) + 1
    element = text[start + 3] if len(text) > start + 3 else ""
    if not element or element.isalnum() or element.isspace():
        return Rejected(
            (Issue("no element separator after ISA: the interchange is truncated", line_of_isa, 1, "ISA"),),
            tuple(warnings),
        )
    # ISA16 follows the 16th element separator; the segment terminator follows ISA16.
    position = start + 3
    for _ in range(15):
        position = text.find(element, position + 1)
        if position < 0:
            return Rejected(
                (Issue("the ISA segment has fewer than 16 elements: truncated", line_of_isa, 1, "ISA"),),
                tuple(warnings),
            )
    if len(text) < position + 3:
        return Rejected(
            (Issue("the ISA segment ends before ISA16 and its terminator", line_of_isa, 1, "ISA16"),),
            tuple(warnings),
        )
    component, terminator = text[position + 1], text[position + 2]
    if terminator == "\r" and text[position + 3 : position + 4] == "\n":
        terminator = "\n"
    try:
        delimiters = Delimiters(element, component, terminator)
    except ValueError as exc:
        return Rejected((Issue(f"ISA delimiters unusable: {exc}", line_of_isa, 1, "ISA16"),), tuple(warnings))
    isa_length = position + 3 - start
    if isa_length != _ISA_LENGTH:
        warnings.append(
            Issue(
                f"the ISA is {isa_length} characters, not {_ISA_LENGTH}: its fields are not padded to their "
                "fixed widths",
                line_of_isa,
                1,
                "ISA",
            )
        )

    segments: list[Segment] = []
    errors: list[Issue] = []
    line = line_of_isa
    pieces = text[start:].split(terminator)
    for index, piece in enumerate(pieces):
        stripped = piece.strip()
        line_here = line + piece[: len(piece) - len(piece.lstrip())].count("\n")
        line += piece.count("\n") + (1 if terminator == "\n" else 0)
        if not stripped:
            continue
        number = len(segments) + 1
        if index == len(pieces) - 1:
            warnings.append(Issue("the last segment has no segment terminator", line_here, number))
        parts = stripped.split(element)
        tag = parts[0]
        if not _TAG.match(tag):
            errors.append(Issue(f"{stripped[:20]!r} does not start with a segment identifier", line_here, number))
            continue
        segments.append(Segment(tag, tuple(parts[1:]), line_here, number))
    if errors:
        return Rejected(tuple(errors), tuple(warnings))
    return Accepted((delimiters, tuple(segments)), tuple(warnings))


def _same_control_number(a: str, b: str) -> bool:
    if a.isdigit() and b.isdigit():
        return int(a) == int(b)
    return a == b


@dataclass
class _Checks:
    tolerate: frozenset[Tolerance]
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    def fail(self, issue: Issue) -> None:
        self.errors.append(issue)

    def check(self, kind: Tolerance, issue: Issue) -> None:
        (self.warnings if kind in self.tolerate else self.errors).append(issue)


def _count(segment: Segment, position: int, what: str, actual: int, checks: _Checks) -> None:
    raw = segment.value(position)
    if not raw.isdigit():
        checks.fail(segment.issue(f"{segment.ref(position)} should count the {what}, not {raw!r}", position))
    elif int(raw) != actual:
        checks.check(
            Tolerance.COUNTS,
            segment.issue(f"{segment.ref(position)} says {int(raw)} {what}, there are {actual}", position),
        )


def _control(trailer: Segment, position: int, header: Segment, header_position: int, checks: _Checks) -> None:
    sent, expected = trailer.value(position), header.value(header_position)
    if not _same_control_number(sent, expected):
        checks.check(
            Tolerance.CONTROL_NUMBERS,
            trailer.issue(
                f"control number {sent!r} is not {header.ref(header_position)} {expected!r} of line {header.line}",
                position,
            ),
        )


def _structure(delimiters: Delimiters, segments: Sequence[Segment], checks: _Checks) -> Interchange | None:
    """Check one interchange's envelopes (``segments`` start at its ISA); None when ``checks`` got errors."""
    isa = segments[0]
    errors_before = len(checks.errors)
    if len(isa.elements) < 16:
        checks.fail(isa.issue(f"ISA has {len(isa.elements)} elements, not 16"))
        return None

    groups: list[FunctionalGroup] = []
    iea: Segment | None = None
    group_header: Segment | None = None
    group_sets: list[TransactionSet] = []
    set_header: Segment | None = None
    set_body: list[Segment] = []
    set_numbers: set[str] = set()

    def close_set(trailer: Segment) -> None:
        assert set_header is not None
        _count(trailer, 1, "segments in the transaction set", len(set_body) + 2, checks)
        _control(trailer, 2, set_header, 2, checks)
        group_sets.append(
            TransactionSet(set_header.value(1), set_header.value(2), set_header, tuple(set_body), trailer)
        )

    def close_group(trailer: Segment) -> None:
        assert group_header is not None
        _count(trailer, 1, "transaction sets in the group", len(group_sets), checks)
        _control(trailer, 2, group_header, 6, checks)
        h = group_header
        groups.append(
            FunctionalGroup(
                functional_id=h.value(1),
                sender=h.value(2),
                receiver=h.value(3),
                date=h.value(4),
                time=h.value(5),
                control_number=h.value(6),
                version=h.value(8),
                header=h,
                transaction_sets=tuple(group_sets),
                trailer=trailer,
            )
        )

    for segment in segments[1:]:
        if iea is not None:
            checks.fail(segment.issue("segment after IEA: the next interchange must start with ISA"))
            break
        tag = segment.tag
        if set_header is not None and tag not in ("SE", "ST", "GE", "IEA", "GS", "ISA"):
            set_body.append(segment)
            continue
        if tag == "ISA":
            checks.fail(segment.issue("a second ISA before the first interchange's IEA"))
            break
        if tag == "ST":
            if group_header is None:
                checks.fail(segment.issue("ST outside a functional group (no GS before it)"))
                break
            if set_header is not None:
                checks.fail(set_header.issue(f"transaction set {set_header.value(2)} has no SE trailer"))
                break
            if not segment.value(1) or not segment.value(2):
                checks.fail(segment.issue("ST needs a transaction set code (ST01) and control number (ST02)"))
                break
            if segment.value(2) in set_numbers:
                checks.check(
                    Tolerance.CONTROL_NUMBERS,
                    segment.issue(f"control number {segment.value(2)} is used twice in this group", 2),
                )
            set_numbers.add(segment.value(2))
            set_header, set_body = segment, []
        elif tag == "SE":
            if set_header is None:
                checks.fail(segment.issue("SE without a matching ST"))
                break
            close_set(segment)
            set_header = None
        elif tag == "GS":
            if group_header is not None:
                checks.fail(group_header.issue(f"functional group {group_header.value(6)} has no GE trailer"))
                break
            if not segment.value(6):
                checks.fail(segment.issue("GS needs a group control number", 6))
                break
            group_header, group_sets, set_numbers = segment, [], set()
        elif tag == "GE":
            if set_header is not None:
                checks.fail(set_header.issue(f"transaction set {set_header.value(2)} has no SE trailer"))
                break
            if group_header is None:
                checks.fail(segment.issue("GE without a matching GS"))
                break
            close_group(segment)
            group_header = None
        elif tag == "IEA":
            if set_header is not None:
                checks.fail(set_header.issue(f"transaction set {set_header.value(2)} has no SE trailer"))
                break
            if group_header is not None:
                checks.fail(group_header.issue(f"functional group {group_header.value(6)} has no GE trailer"))
                break
            _count(segment, 1, "functional groups in the interchange", len(groups), checks)
            _control(segment, 2, isa, 13, checks)
            iea = segment
        else:
            checks.fail(segment.issue(f"{tag} is outside any transaction set"))
            break

    if len(checks.errors) == errors_before and iea is None:
        last = segments[-1]
        if set_header is not None:
            checks.fail(set_header.issue(f"transaction set {set_header.value(2)} has no SE trailer: truncated"))
        elif group_header is not None:
            checks.fail(group_header.issue(f"functional group {group_header.value(6)} has no GE trailer: truncated"))
        checks.fail(last.issue("the interchange ends without an IEA trailer: the file is truncated"))
    if len(checks.errors) == errors_before and not groups:
        checks.fail(isa.issue("the interchange holds no functional group"))
    if len(checks.errors) > errors_before or iea is None:
        return None
    return Interchange(
        delimiters=delimiters,
        sender_qualifier=isa.value(5),
        sender_id=isa.value(6),
        receiver_qualifier=isa.value(7),
        receiver_id=isa.value(8),
        date=isa.value(9),
        time=isa.value(10),
        version=isa.value(12),
        control_number=isa.value(13),
        acknowledgment_requested=isa.value(14),
        usage=isa.value(15),
        header=isa,
        groups=tuple(groups),
        trailer=iea,
    )


def parse_interchanges(data: bytes | str, tolerate: Iterable[Tolerance] = ()) -> Outcome[tuple[Interchange, ...]]:
    """Read every interchange of a file (partners batch several ISA ... IEA in one file) and check each
    one's envelopes; the whole file or its errors, nothing partial. Interchanges must use the delimiters
    of the first ISA (a file mixing delimiters is refused at the segment that does not read), and two
    interchanges with one control number (ISA13) are a resend inside the file (a control-number error)."""
    tokens = tokenize(data)
    if isinstance(tokens, Rejected):
        return tokens
    delimiters, segments = tokens.document
    checks = _Checks(frozenset(tolerate), warnings=list(tokens.warnings))
    runs: list[list[Segment]] = []
    for segment in segments:
        if segment.tag == "ISA" or not runs:
            runs.append([])
        runs[-1].append(segment)
    interchanges: list[Interchange] = []
    seen: dict[str, Segment] = {}
    for run in runs:
        if len(run[0].elements) >= 16 and run[0].elements[15][:1] != delimiters.component:
            checks.fail(
                run[0].issue(
                    f"this interchange declares component separator {run[0].elements[15][:1]!r}, the file's first "
                    f"ISA {delimiters.component!r}: one file, one set of delimiters",
                    16,
                )
            )
            continue
        interchange = _structure(delimiters, run, checks)
        if interchange is None:
            continue
        earlier = seen.get(interchange.control_number)
        if earlier is not None:
            checks.check(
                Tolerance.CONTROL_NUMBERS,
                run[0].issue(
                    f"interchange control number {interchange.control_number} is used again (first at line "
                    f"{earlier.line})",
                    13,
                ),
            )
        seen.setdefault(interchange.control_number, run[0])
        interchanges.append(interchange)
    if checks.errors:
        return Rejected(tuple(checks.errors), tuple(checks.warnings))
    return Accepted(tuple(interchanges), tuple(checks.warnings))


def parse_interchange(data: bytes | str, tolerate: Iterable[Tolerance] = ()) -> Outcome[Interchange]:
    """Read a file that must hold exactly one interchange (ISA ... IEA); nothing partial is returned."""
    read = parse_interchanges(data, tolerate)
    if isinstance(read, Rejected):
        return read
    first, *more = read.document
    if more:
        return Rejected((more[0].header.issue("segment after IEA: a file carries one interchange"),), read.warnings)
    return Accepted(first, read.warnings)


# -- writing ------------------------------------------------------------------------------------------

#: A segment to write: the tag, then its elements in order (trailing empty ones are dropped).
OutSegment = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OutgoingSet:
    code: str
    body: Sequence[OutSegment]


@dataclass(frozen=True, slots=True)
class Envelope:
    """Who sends to whom, from the 3PL channel's settings."""

    sender_id: str
    receiver_id: str
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"
    #: GS02/GS03; the ISA ids when not set.
    application_sender: str | None = None
    application_receiver: str | None = None
    usage: str = "P"
    interchange_version: str = "00401"
    group_version: str = "004010"
    acknowledgment_requested: bool = False
    delimiters: Delimiters = field(default_factory=Delimiters)
    #: A line break after each terminator: harmless to X12 readers, kind to people reading the file.
    line_breaks: bool = True

    def __post_init__(self) -> None:
        for name, value, width in (("sender_id", self.sender_id, 15), ("receiver_id", self.receiver_id, 15)):
            if not value or len(value) > width:
                raise ValueError(f"{name} is 1 to {width} characters")
        if self.usage not in ("P", "T"):
            raise ValueError("usage is P (production) or T (test)")


#: Functional identifier code (GS01) of each transaction set this package writes.
FUNCTIONAL_IDS = {"940": "OW", "856": "SH", "945": "SW", "944": "RE", "846": "IB", "947": "AW", "997": "FA"}


def _check_value(value: str, where: str, delimiters: Delimiters) -> None:
    for char in (delimiters.element, delimiters.component, delimiters.segment, "\r", "\n"):
        if char in value:
            raise ValueError(f"{where}: {value!r} contains {char!r}, a delimiter of this interchange")


def _render(segment: OutSegment, delimiters: Delimiters, trim: bool = True) -> str:
    elements = list(segment)
    if trim:
        while len(elements) > 1 and elements[-1] == "":
            elements.pop()
    for position, value in enumerate(elements[1:], start=1):
        _check_value(value, f"{elements[0]}{position:02d}", delimiters)
    return delimiters.element.join(elements)


def _control_number(value: int, what: str) -> int:
    if not 1 <= value <= 999_999_999:
        raise ValueError(f"the {what} control number is 1 to 999999999, not {value}")
    return value


def write_interchange(
    envelope: Envelope,
    sets: Sequence[OutgoingSet],
    *,
    interchange_control_number: int,
    group_control_number: int,
    at: datetime,
) -> str:
    """One interchange with one functional group holding ``sets`` (all of one functional id)."""
    if not sets:
        raise ValueError("an interchange needs at least one transaction set")
    if at.tzinfo is None:
        raise ValueError("the interchange time must be timezone-aware")
    codes = {s.code for s in sets}
    if len(codes) != 1:
        raise ValueError(f"one functional group holds one kind of transaction set, not {sorted(codes)}")
    code = codes.pop()
    if code not in FUNCTIONAL_IDS:
        raise ValueError(f"no functional identifier known for transaction set {code}")
    icn = _control_number(interchange_control_number, "interchange")
    gcn = _control_number(group_control_number, "group")
    d = envelope.delimiters
    at = at.astimezone(UTC)
    isa: OutSegment = (
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        envelope.sender_qualifier,
        envelope.sender_id.ljust(15),
        envelope.receiver_qualifier,
        envelope.receiver_id.ljust(15),
        at.strftime("%y%m%d"),
        at.strftime("%H%M"),
        "U",
        envelope.interchange_version,
        f"{icn:09d}",
        "1" if envelope.acknowledgment_requested else "0",
        envelope.usage,
        d.component,
    )
    lines = [_render(isa[:-1], d, trim=False) + d.element + d.component]
    lines.append(
        _render(
            (
                "GS",
                FUNCTIONAL_IDS[code],
                envelope.application_sender or envelope.sender_id,
                envelope.application_receiver or envelope.receiver_id,
                at.strftime("%Y%m%d"),
                at.strftime("%H%M"),
                str(gcn),
                "X",
                envelope.group_version,
            ),
            d,
        )
    )
    for index, outgoing in enumerate(sets, start=1):
        control = f"{index:04d}"
        lines.append(_render(("ST", outgoing.code, control), d))
        for segment in outgoing.body:
            if segment[0] in ("ISA", "GS", "ST", "SE", "GE", "IEA"):
                raise ValueError(f"{segment[0]} is written by the envelope, not by a transaction set body")
            lines.append(_render(segment, d))
        lines.append(_render(("SE", str(len(outgoing.body) + 2), control), d))
    lines.append(_render(("GE", str(len(sets)), str(gcn)), d))
    lines.append(_render(("IEA", "1", f"{icn:09d}"), d))
    joiner = d.segment + ("\n" if envelope.line_breaks else "")
    return joiner.join(lines) + joiner
