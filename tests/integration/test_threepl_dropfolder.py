"""The 3PL drop folder on a real directory: atomic outbound writes, inbound files taken once (dedupe by
checksum), bad files moved to error/ with their reasons, and the same over a stand-in SFTP session."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import pytest

from seamline.channels.threepl.client import ThreePLClient, ThreePLSettings
from seamline.channels.threepl.csv_profile import read_pick_tickets
from seamline.channels.threepl.documents import (
    Accepted,
    Address,
    ItemRef,
    PickLine,
    PickTicket,
    ShipmentConfirmation,
    StockReceipt,
)
from seamline.channels.threepl.dropfolder import LocalDropFolder, SftpDropFolder
from seamline.channels.threepl.inbound import RememberedChecksums, identify, sha256, take_inbound
from seamline.channels.threepl.mapper import PartnerProfile, read_940
from seamline.channels.threepl.x12 import Envelope, Tolerance
from seamline.domain.clock import FixedClock
from tests.paths import FIXTURES

EDI = FIXTURES / "edi"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
RECEIPT_944 = (EDI / "x12_944_stupidedi_fixture.edi").read_bytes()
SHIPPED_945 = (EDI / "x12_945_interchange_sample.edi").read_bytes()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def folder(tmp_path: Path, clock: FixedClock) -> LocalDropFolder:
    return LocalDropFolder(tmp_path / "acme", settle_seconds=5, clock=clock)


def drop(folder: LocalDropFolder, name: str, body: bytes, *, age_seconds: float = 60) -> Path:
    """A file the 3PL finished writing ``age_seconds`` ago."""
    path = folder.root / "inbound" / name
    path.write_bytes(body)
    written = NOW.timestamp() - age_seconds
    os.utime(path, (written, written))
    return path


def listing(folder: LocalDropFolder, sub: str) -> list[str]:
    return sorted(os.listdir(folder.root / sub))


def test_outbound_file_is_written_whole_and_no_temporary_file_is_left_behind(folder: LocalDropFolder) -> None:
    folder.put("940-000000001.edi", b"ISA*...~")
    assert listing(folder, "outbound") == ["940-000000001.edi"]
    assert (folder.root / "outbound" / "940-000000001.edi").read_bytes() == b"ISA*...~"
    assert os.listdir(folder.root / ".staging") == []


def test_outbound_write_that_fails_before_its_rename_leaves_nothing_for_the_3pl_to_take(
    folder: LocalDropFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        folder.put("940-000000002.edi", b"ISA*...~" * 1000)
    assert listing(folder, "outbound") == []
    assert os.listdir(folder.root / ".staging") == []


def test_rewriting_an_outbound_file_replaces_it_in_one_step(folder: LocalDropFolder) -> None:
    folder.put("940-000000003.edi", b"first")
    folder.put("940-000000003.edi", b"second")
    assert (folder.root / "outbound" / "940-000000003.edi").read_bytes() == b"second"
    assert listing(folder, "outbound") == ["940-000000003.edi"]


@pytest.mark.parametrize("name", ["../escape.edi", "sub/dir.edi", ".hidden", "half.tmp", ""])
def test_outbound_names_that_leave_the_folder_or_look_temporary_are_refused(folder: LocalDropFolder, name: str) -> None:
    with pytest.raises(ValueError, match="file name"):
        folder.put(name, b"x")


def test_inbound_files_still_being_written_or_named_as_temporary_are_not_taken_yet(
    folder: LocalDropFolder, clock: FixedClock
) -> None:
    drop(folder, "old.edi", RECEIPT_944, age_seconds=60)
    drop(folder, "fresh.edi", RECEIPT_944, age_seconds=1)
    drop(folder, "upload.edi.part", RECEIPT_944)
    drop(folder, ".upload.edi", RECEIPT_944)
    assert folder.pending() == ["old.edi"]
    clock.advance(4)
    assert folder.pending() == ["old.edi", "fresh.edi"]


def test_good_file_is_handed_over_once_and_archived(folder: LocalDropFolder) -> None:
    drop(folder, "944_0001.edi", RECEIPT_944)
    received = RememberedChecksums()
    (taken,) = take_inbound(folder, received)
    assert (taken.status, taken.kind, taken.moved_to) == ("received", "x12-944", "archive/944_0001.edi")
    assert taken.checksum == sha256(RECEIPT_944)
    (documents,) = received.documents.values()
    assert isinstance(documents[0], StockReceipt)
    assert documents[0].receipt_id == "WR12345"
    assert listing(folder, "inbound") == []
    assert (folder.root / "archive" / "944_0001.edi").read_bytes() == RECEIPT_944


def test_the_same_bytes_dropped_again_under_another_name_are_a_duplicate_by_checksum(folder: LocalDropFolder) -> None:
    received = RememberedChecksums()
    drop(folder, "944_0001.edi", RECEIPT_944)
    take_inbound(folder, received)
    drop(folder, "944_0001_resent.edi", RECEIPT_944)
    (taken,) = take_inbound(folder, received)
    assert (taken.status, taken.moved_to) == ("duplicate", "archive/944_0001_resent.edi.duplicate")
    assert len(received.files) == 1
    assert listing(folder, "archive") == ["944_0001.edi", "944_0001_resent.edi.duplicate"]


def test_a_file_another_worker_stored_meanwhile_is_archived_as_a_duplicate_not_handed_over_twice(
    folder: LocalDropFolder,
) -> None:
    class StoredElsewhereMeanwhile(RememberedChecksums):
        def seen(self, checksum: str) -> bool:
            return False  # the pre-check raced with another worker's store

    received = StoredElsewhereMeanwhile()
    drop(folder, "944_0001.edi", RECEIPT_944)
    take_inbound(folder, received)
    drop(folder, "944_0001_again.edi", RECEIPT_944)
    (taken,) = take_inbound(folder, received)
    assert (taken.status, taken.moved_to) == ("duplicate", "archive/944_0001_again.edi.duplicate")
    assert len(received.files) == 1


def test_the_same_name_with_new_content_is_a_new_file_archived_beside_the_first(folder: LocalDropFolder) -> None:
    received = RememberedChecksums()
    drop(folder, "receipt.edi", RECEIPT_944)
    take_inbound(folder, received)
    corrected = RECEIPT_944.replace(b"WR12345", b"WR12346")
    drop(folder, "receipt.edi", corrected)
    (taken,) = take_inbound(folder, received)
    assert (taken.status, taken.moved_to) == ("received", "archive/receipt.edi.1")
    assert len(received.files) == 2


def test_bad_file_goes_to_error_with_its_line_level_reasons_and_nothing_is_handed_over(
    folder: LocalDropFolder,
) -> None:
    received = RememberedChecksums()
    drop(folder, "945_bad.edi", SHIPPED_945.replace(b"W12*CC*3000*3000*", b"W12*CC*3000*3OOO*"))
    (taken,) = take_inbound(folder, received)
    assert (taken.status, taken.kind, taken.moved_to) == ("rejected", "x12-945", "error/945_bad.edi")
    assert received.files == {}
    assert listing(folder, "error") == ["945_bad.edi", "945_bad.edi.errors.txt"]
    reasons = (folder.root / "error" / "945_bad.edi.errors.txt").read_text().splitlines()
    assert reasons == [
        "error: line 18, segment 18, SE01: SE01 says 12 segments in the transaction set, there are 16",
        "error: line 14, segment 14, W1203: the number of units shipped '3OOO' is not a number",
        "warning: line 1, segment 1, ISA: the ISA is 76 characters, not 106: its fields are not padded to their "
        "fixed widths",
    ]


def test_a_partner_profile_that_tolerates_its_miscounts_lets_the_945_sample_through(folder: LocalDropFolder) -> None:
    received = RememberedChecksums()
    drop(folder, "945.edi", SHIPPED_945)
    profile = PartnerProfile(tolerate=frozenset({Tolerance.COUNTS}))
    (taken,) = take_inbound(folder, received, profile)
    assert taken.status == "received"
    assert [str(w) for w in taken.warnings][-1] == (
        "line 18, segment 18, SE01: SE01 says 12 segments in the transaction set, there are 16"
    )
    (documents,) = received.documents.values()
    assert isinstance(documents[0], ShipmentConfirmation)
    assert documents[0].lines[0].qty_shipped == 3000


def test_a_purchase_order_dropped_in_the_3pl_folder_is_refused_as_not_a_3pl_document(folder: LocalDropFolder) -> None:
    drop(folder, "po.edi", (EDI / "x12_850_apimeister_testdata.edi").read_bytes())
    (taken,) = take_inbound(folder, RememberedChecksums())
    assert taken.status == "rejected"
    assert [str(e) for e in taken.errors] == [
        "a 3PL sends 846, 856, 944, 945, 947; transaction set 850 is not taken here"
    ]


def test_kind_is_read_from_the_content_not_the_file_name() -> None:
    identified = identify("inventory.csv", RECEIPT_944)
    assert isinstance(identified, Accepted)
    assert identified.document.kind == "x12-944"
    assert identified.document.external_id == f"sha256:{sha256(RECEIPT_944)}"
    csv = identify("0001.edi", b"order_id,shipment_id,sku,qty_shipped\nSO-1,S-1,OVS-001-NVY-M,2\n")
    assert isinstance(csv, Accepted)
    assert csv.document.kind == "csv-shipment-confirmation"


def test_csv_shipment_confirmation_is_taken_with_its_carton(folder: LocalDropFolder) -> None:
    body = (
        b"order_id,shipment_id,shipped_on,carrier,tracking,line_no,sku,gtin,qty_shipped,sscc\n"
        b"SO-1001,SHP-1,2026-11-27,UPSN,1Z999,1,OVS-001-NVY-M,,2,(00)106141411234567897\n"
    )
    drop(folder, "confirmations.csv", body)
    received = RememberedChecksums()
    (taken,) = take_inbound(folder, received)
    assert (taken.status, taken.kind) == ("received", "csv-shipment-confirmation")
    (documents,) = received.documents.values()
    (confirmation,) = documents
    assert isinstance(confirmation, ShipmentConfirmation)
    assert (confirmation.order_id, confirmation.tracking) == ("SO-1001", "1Z999")
    assert confirmation.lines[0].cartons == ("106141411234567897",)


def test_csv_with_a_bad_row_goes_to_error_naming_the_line_and_column(folder: LocalDropFolder) -> None:
    body = b"receipt_id,sku,qty_received\nR-1,OVS-001-NVY-M,4\nR-1,OVS-001-NVY-L,four\n"
    drop(folder, "receipts.csv", body)
    (taken,) = take_inbound(folder, RememberedChecksums())
    assert taken.status == "rejected"
    assert (folder.root / "error" / "receipts.csv.errors.txt").read_text() == (
        "error: line 3, qty_received: 'four' is not a whole number of units\n"
    )


# -- outbound client ----------------------------------------------------------------------------------


def ticket() -> PickTicket:
    return PickTicket(
        "SO-1001",
        Address("Ada Lovelace", ("12 Loom Street",), "London", "", "N1 9GU", "GB"),
        (PickLine(1, ItemRef("OVS-001-NVY-M", "00036000291452"), 2), PickLine(2, ItemRef("OVS-001-NVY-L"), 1)),
    )


def test_client_drops_a_940_named_by_its_control_number_that_reads_back_as_the_pick_ticket(
    folder: LocalDropFolder, clock: FixedClock
) -> None:
    settings = ThreePLSettings("x12", Envelope(sender_id="SEAMLINE", receiver_id="ACME3PL"))
    name = ThreePLClient(folder, settings, clock).send_pick_tickets([ticket()], control_number=17)
    assert name == "940-000000017.edi"
    read = read_940((folder.root / "outbound" / name).read_bytes())
    assert isinstance(read, Accepted)
    assert read.document.documents == (ticket(),)
    assert read.document.interchange.control_number == "000000017"
    assert (read.document.interchange.date, read.document.interchange.time) == ("261127", "0900")


def test_client_drops_csv_pick_tickets_for_a_csv_partner(folder: LocalDropFolder, clock: FixedClock) -> None:
    name = ThreePLClient(folder, ThreePLSettings("csv"), clock).send_pick_tickets([ticket()], control_number=3)
    assert name == "pick-tickets-000000003.csv"
    read = read_pick_tickets((folder.root / "outbound" / name).read_bytes())
    assert isinstance(read, Accepted)
    assert read.document == (ticket(),)


def test_x12_settings_without_an_envelope_are_refused() -> None:
    with pytest.raises(ValueError, match="needs an envelope"):
        ThreePLSettings("x12")


# -- SFTP: the same behaviour through the SFTP interface -------------------------------------------------


class _Attributes:
    def __init__(self, name: str, path: Path) -> None:
        info = path.stat()
        self.filename = name
        self.st_mode: int | None = info.st_mode
        self.st_mtime: float | None = info.st_mtime


class LocalSftp:
    """Stands in for ``paramiko.SFTPClient`` over a local directory (a real server: test_threepl_sftp)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.renames: list[tuple[str, str]] = []

    def _local(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def listdir_attr(self, path: str = ".") -> Sequence[_Attributes]:
        directory = self._local(path)
        return [_Attributes(name, directory / name) for name in sorted(os.listdir(directory))]

    def open(self, filename: str, mode: str = "r", bufsize: int = -1) -> IO[bytes]:
        return open(self._local(filename), mode)  # noqa: SIM115 - the caller closes it, as with paramiko

    def posix_rename(self, oldpath: str, newpath: str) -> None:
        self.renames.append((oldpath, newpath))
        os.replace(self._local(oldpath), self._local(newpath))

    def remove(self, path: str) -> None:
        os.remove(self._local(path))

    def stat(self, path: str) -> Any:
        return os.stat(self._local(path))


@pytest.fixture
def sftp(tmp_path: Path) -> LocalSftp:
    for sub in ("inbound", "outbound", "archive", "error"):
        (tmp_path / "3pl" / sub).mkdir(parents=True)
    return LocalSftp(tmp_path)


def test_sftp_outbound_file_is_written_under_a_temporary_name_then_renamed_into_place(sftp: LocalSftp) -> None:
    remote = SftpDropFolder(sftp, "/3pl", settle_seconds=0)
    remote.put("940-000000001.edi", b"ISA*...~")
    ((temporary, final),) = sftp.renames
    assert temporary.startswith("/3pl/outbound/.940-000000001.edi.")
    assert temporary.endswith(".part")
    assert final == "/3pl/outbound/940-000000001.edi"
    assert os.listdir(sftp.root / "3pl" / "outbound") == ["940-000000001.edi"]


def test_sftp_inbound_files_are_taken_deduped_and_refused_like_local_ones(sftp: LocalSftp, clock: FixedClock) -> None:
    remote = SftpDropFolder(sftp, "/3pl", settle_seconds=5, clock=clock)
    inbound = sftp.root / "3pl" / "inbound"
    for name, body in (("a.edi", RECEIPT_944), ("b.edi", RECEIPT_944), ("c.edi", b"ISA*garbage"), (".d.edi", b"")):
        (inbound / name).write_bytes(body)
        os.utime(inbound / name, (NOW.timestamp() - 60, NOW.timestamp() - 60))
    received = RememberedChecksums()
    taken = {t.name: (t.status, t.moved_to) for t in take_inbound(remote, received)}
    assert taken == {
        "a.edi": ("received", "archive/a.edi"),
        "b.edi": ("duplicate", "archive/b.edi.duplicate"),
        "c.edi": ("rejected", "error/c.edi"),
    }
    assert os.listdir(inbound) == [".d.edi"]
    assert sorted(os.listdir(sftp.root / "3pl" / "error")) == ["c.edi", "c.edi.errors.txt"]
    assert stat.S_ISREG(os.stat(sftp.root / "3pl" / "archive" / "a.edi").st_mode)
