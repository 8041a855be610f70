"""Take files from the 3PL: identify each (name, SHA-256 checksum, kind read from its content), refuse a
bad one whole with its line-level reasons, and hand a good one over exactly once.

The checksum is the dedupe key: the same bytes dropped again, under the same or another name, are a
duplicate and are archived without being handed over a second time. (The same name with new content is a
new file: 3PLs do resend corrected files under the original name.) Until the integration inbox stores
these, :class:`RememberedChecksums` stands in for it; the inbox's ``(source, external_id)`` uniqueness
gives the same guarantee across restarts with ``external_id = "sha256:<checksum>"``.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from seamline.channels.threepl import csv_profile
from seamline.channels.threepl.documents import Accepted, Issue, Outcome, Rejected, ThreePLDocument
from seamline.channels.threepl.dropfolder import DropFolder
from seamline.channels.threepl.mapper import INBOUND_TRANSACTION_SETS, PartnerProfile, read_x12
from seamline.channels.threepl.x12 import tokenize

D = TypeVar("D", bound=ThreePLDocument)

X12_PREFIX = "x12-"
#: A functional acknowledgement (997) of what we sent: read by its own handler, never acknowledged itself.
ACK_SET = "997"
ACK_KIND = X12_PREFIX + ACK_SET
CSV_PREFIX = "csv-"


@dataclass(frozen=True, slots=True)
class InboundFile:
    name: str
    checksum: str
    #: ``x12-945``, ``x12-944``, ``x12-846``, ``x12-947``, ``x12-856``, ``csv-shipment-confirmation``,
    #: ``csv-receipt``, ``csv-adjustment`` or ``csv-inventory-snapshot``.
    kind: str
    body: bytes

    @property
    def external_id(self) -> str:
        """The inbox's dedupe key for this file."""
        return f"sha256:{self.checksum}"


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def detect_kind(body: bytes) -> Outcome[str]:
    """What a file holds, judged by its content, not its name (3PLs name files inconsistently)."""
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        return Rejected((Issue("the file is empty", line=1),))
    if head.startswith(b"ISA"):
        tokens = tokenize(body)
        if isinstance(tokens, Rejected):
            return tokens
        codes = sorted({segment.value(1) for segment in tokens.document[1] if segment.tag == "ST"})
        if not codes:
            return Rejected((Issue("the interchange holds no transaction set (no ST segment)"),))
        if len(codes) > 1:
            return Rejected((Issue(f"one file, one kind of document: this one mixes {', '.join(codes)}"),))
        if codes[0] == ACK_SET:
            return Accepted(X12_PREFIX + ACK_SET)
        if codes[0] not in INBOUND_TRANSACTION_SETS:
            wanted = ", ".join(sorted(INBOUND_TRANSACTION_SETS))
            return Rejected((Issue(f"a 3PL sends {wanted}; transaction set {codes[0]} is not taken here"),))
        return Accepted(X12_PREFIX + codes[0])
    try:
        first_line = head.decode("utf-8").splitlines()[0]
    except UnicodeDecodeError:
        return Rejected((Issue("neither X12 nor UTF-8 text", line=1),))
    header = next(csv.reader(io.StringIO(first_line)), [])
    kind = csv_profile.detect_kind(header)
    if kind is None or kind == csv_profile.PICK_TICKET:
        return Rejected((Issue("neither X12 nor a CSV header this profile knows", line=1),))
    return Accepted(CSV_PREFIX + kind)


def identify(name: str, body: bytes) -> Outcome[InboundFile]:
    kind = detect_kind(body)
    if isinstance(kind, Rejected):
        return kind
    return Accepted(InboundFile(name, sha256(body), kind.document, body))


def read_documents(file: InboundFile, profile: PartnerProfile | None = None) -> Outcome[tuple[ThreePLDocument, ...]]:
    """Parse a file of a known kind into its canonical documents: all of them, or its errors."""
    if file.kind == ACK_KIND:
        return Rejected((Issue("a 997 acknowledges what we sent: it holds no documents to apply"),))
    if file.kind.startswith(X12_PREFIX):
        outcome = read_x12(file.body, profile, expect=frozenset({file.kind.removeprefix(X12_PREFIX)}))
        if isinstance(outcome, Rejected):
            return outcome
        return Accepted(outcome.document.documents, outcome.warnings)
    kind = file.kind.removeprefix(CSV_PREFIX)
    if kind == csv_profile.SHIPMENT_CONFIRMATION:
        return _widen(csv_profile.read_shipment_confirmations(file.body))
    if kind == csv_profile.RECEIPT:
        return _widen(csv_profile.read_receipts(file.body))
    if kind == csv_profile.ADJUSTMENT:
        return _widen(csv_profile.read_adjustments(file.body))
    if kind == csv_profile.INVENTORY_SNAPSHOT:
        snapshot = csv_profile.read_inventory_snapshot(file.body, reference=file.name)
        if isinstance(snapshot, Rejected):
            return snapshot
        return Accepted((snapshot.document,), snapshot.warnings)
    return Rejected((Issue(f"no reader for files of kind {file.kind}"),))


def _widen(outcome: Outcome[tuple[D, ...]]) -> Outcome[tuple[ThreePLDocument, ...]]:
    if isinstance(outcome, Rejected):
        return outcome
    documents: tuple[ThreePLDocument, ...] = tuple(outcome.document)
    return Accepted(documents, outcome.warnings)


class ReceivedFiles(Protocol):
    """Where taken files go: the integration inbox once it is wired in."""

    def seen(self, checksum: str) -> bool: ...

    def receive(self, file: InboundFile, documents: Sequence[ThreePLDocument]) -> bool:
        """Store the file durably; False when a file with the same checksum was already received."""
        ...


class RememberedChecksums:
    """An in-memory :class:`ReceivedFiles`, for tests and until the inbox lands."""

    def __init__(self) -> None:
        self.files: dict[str, InboundFile] = {}
        self.documents: dict[str, tuple[ThreePLDocument, ...]] = {}

    def seen(self, checksum: str) -> bool:
        return checksum in self.files

    def receive(self, file: InboundFile, documents: Sequence[ThreePLDocument]) -> bool:
        if file.checksum in self.files:
            return False
        self.files[file.checksum] = file
        self.documents[file.checksum] = tuple(documents)
        return True


@dataclass(frozen=True, slots=True)
class TakenFile:
    name: str
    status: Literal["received", "duplicate", "rejected"]
    checksum: str
    #: Where the file is now, relative to the drop folder's root.
    moved_to: str
    kind: str | None = None
    errors: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()


def take_inbound(folder: DropFolder, received: ReceivedFiles, profile: PartnerProfile | None = None) -> list[TakenFile]:
    """One pass over inbound/: each settled file ends in archive/ (taken or duplicate) or error/ (refused).

    A file leaves inbound/ only after ``received.receive`` stored it, so a crash in between takes it again
    on the next pass and the checksum makes that second take a duplicate.
    """
    taken: list[TakenFile] = []
    for name in folder.pending():
        body = folder.read(name)
        checksum = sha256(body)
        if received.seen(checksum):
            taken.append(TakenFile(name, "duplicate", checksum, f"archive/{folder.archive(name, note='duplicate')}"))
            continue
        identified = identify(name, body)
        if isinstance(identified, Rejected):
            taken.append(_reject(folder, name, checksum, None, identified))
            continue
        file = identified.document
        documents = read_documents(file, profile)
        if isinstance(documents, Rejected):
            taken.append(_reject(folder, name, checksum, file.kind, documents))
            continue
        fresh = received.receive(file, documents.document)
        status: Literal["received", "duplicate"] = "received" if fresh else "duplicate"
        moved = folder.archive(name, note=None if fresh else "duplicate")
        taken.append(TakenFile(name, status, checksum, f"archive/{moved}", file.kind, (), documents.warnings))
    return taken


def _reject(folder: DropFolder, name: str, checksum: str, kind: str | None, outcome: Rejected) -> TakenFile:
    reasons = [f"error: {issue}" for issue in outcome.errors] + [f"warning: {issue}" for issue in outcome.warnings]
    moved = folder.reject(name, reasons)
    return TakenFile(name, "rejected", checksum, f"error/{moved}", kind, outcome.errors, outcome.warnings)
