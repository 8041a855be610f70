"""The watched drop folder a 3PL and Seamline exchange files through: a local directory or an SFTP server.

Layout under the root: ``inbound/`` (the 3PL drops files here), ``outbound/`` (we drop files for the 3PL),
``archive/`` (inbound files taken in), ``error/`` (inbound files refused, each beside a
``<name>.errors.txt`` saying why, line by line).

Nothing half-written is ever visible: an outbound file is written elsewhere and renamed into place in one
step, and an inbound file is only listed once it has stopped changing for ``settle_seconds`` and does not
carry a temporary name (dotfiles, ``.tmp``, ``.part``, ``.filepart``).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import stat
import uuid
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import IO, Any, Protocol

from seamline.domain.clock import Clock, SystemClock

INBOUND, OUTBOUND, ARCHIVE, ERROR = "inbound", "outbound", "archive", "error"
_TEMPORARY_SUFFIXES = (".tmp", ".part", ".filepart", ".partial")


class DropFolder(Protocol):
    def pending(self) -> list[str]:
        """Inbound file names ready to take, oldest first."""
        ...

    def read(self, name: str) -> bytes: ...

    def archive(self, name: str, *, note: str | None = None) -> str:
        """Move an inbound file to archive/; returns the name it got there (never overwrites)."""
        ...

    def reject(self, name: str, reasons: Sequence[str]) -> str:
        """Move an inbound file to error/ and write its reasons beside it; returns its name there."""
        ...

    def put(self, name: str, data: bytes) -> None:
        """Write an outbound file atomically: the 3PL sees all of it or nothing."""
        ...


def check_name(name: str) -> str:
    """A drop-folder file name is a plain name: no directories, no hidden or temporary names."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise ValueError(f"{name!r} is not a plain file name")
    if is_temporary(name):
        raise ValueError(f"{name!r} looks like a temporary file name")
    return name


def is_temporary(name: str) -> bool:
    return name.startswith(".") or name.lower().endswith(_TEMPORARY_SUFFIXES)


def _reasons_text(reasons: Sequence[str]) -> bytes:
    return ("".join(f"{reason}\n" for reason in reasons) or "rejected\n").encode()


class LocalDropFolder:
    def __init__(self, root: Path, *, settle_seconds: float = 2.0, clock: Clock | None = None) -> None:
        self.root = root
        self.settle_seconds = settle_seconds
        self.clock = clock or SystemClock()
        self._staging = root / ".staging"
        for folder in (INBOUND, OUTBOUND, ARCHIVE, ERROR):
            (root / folder).mkdir(parents=True, exist_ok=True)
        self._staging.mkdir(exist_ok=True)

    def path(self, folder: str, name: str) -> Path:
        return self.root / folder / check_name(name)

    def pending(self) -> list[str]:
        now = self.clock.now().timestamp()
        ready: list[tuple[float, str]] = []
        for entry in os.scandir(self.root / INBOUND):
            if is_temporary(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            modified = entry.stat(follow_symlinks=False).st_mtime
            if now - modified >= self.settle_seconds:
                ready.append((modified, entry.name))
        return [name for _, name in sorted(ready)]

    def read(self, name: str) -> bytes:
        return self.path(INBOUND, name).read_bytes()

    def archive(self, name: str, *, note: str | None = None) -> str:
        target = self._free_name(ARCHIVE, name if note is None else f"{name}.{note}")
        os.replace(self.path(INBOUND, name), self.root / ARCHIVE / target)
        return target

    def reject(self, name: str, reasons: Sequence[str]) -> str:
        target = self._free_name(ERROR, name)
        self._write_atomically(self.root / ERROR / f"{target}.errors.txt", _reasons_text(reasons))
        os.replace(self.path(INBOUND, name), self.root / ERROR / target)
        return target

    def put(self, name: str, data: bytes) -> None:
        self._write_atomically(self.path(OUTBOUND, name), data)

    def _free_name(self, folder: str, name: str) -> str:
        candidate, n = name, 1
        while (self.root / folder / candidate).exists():
            candidate, n = f"{name}.{n}", n + 1
        return candidate

    def _write_atomically(self, target: Path, data: bytes) -> None:
        # The staging directory is on the same file system, so the rename is atomic; it is fsynced first
        # so a crash cannot leave a renamed but empty file.
        temporary = self._staging / f"{target.name}.{uuid.uuid4().hex}.tmp"
        try:
            with open(temporary, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


# -- SFTP ---------------------------------------------------------------------------------------------


class SftpAttributes(Protocol):
    filename: str
    st_mode: int | None
    st_mtime: int | float | None


class SftpClient(Protocol):
    """The part of ``paramiko.SFTPClient`` the drop folder uses (so tests can stand in for a server)."""

    def listdir_attr(self, path: str = ...) -> Sequence[SftpAttributes]: ...

    def open(self, filename: str, mode: str = ..., bufsize: int = ...) -> IO[bytes]: ...

    def posix_rename(self, oldpath: str, newpath: str) -> None: ...

    def remove(self, path: str) -> None: ...

    def stat(self, path: str) -> Any: ...


class SftpDropFolder:
    """The same layout on the 3PL's SFTP server (folders created by the 3PL; we may lack rights to).

    Outbound files are written as ``.<name>.part`` in ``outbound/`` and renamed with the OpenSSH
    ``posix-rename`` extension, which replaces atomically (plain SFTP rename refuses to overwrite).
    """

    def __init__(self, sftp: SftpClient, root: str, *, settle_seconds: float = 2.0, clock: Clock | None = None) -> None:
        self.sftp = sftp
        self.root = PurePosixPath(root)
        self.settle_seconds = settle_seconds
        self.clock = clock or SystemClock()

    def _path(self, folder: str, name: str) -> str:
        return str(self.root / folder / check_name(name))

    def pending(self) -> list[str]:
        now = self.clock.now().timestamp()
        ready: list[tuple[float, str]] = []
        for attributes in self.sftp.listdir_attr(str(self.root / INBOUND)):
            if is_temporary(attributes.filename) or not stat.S_ISREG(attributes.st_mode or 0):
                continue
            modified = float(attributes.st_mtime or 0)
            if now - modified >= self.settle_seconds:
                ready.append((modified, attributes.filename))
        return [name for _, name in sorted(ready)]

    def read(self, name: str) -> bytes:
        with self.sftp.open(self._path(INBOUND, name), "rb") as handle:
            return handle.read()

    def archive(self, name: str, *, note: str | None = None) -> str:
        target = self._free_name(ARCHIVE, name if note is None else f"{name}.{note}")
        self.sftp.posix_rename(self._path(INBOUND, name), str(self.root / ARCHIVE / target))
        return target

    def reject(self, name: str, reasons: Sequence[str]) -> str:
        target = self._free_name(ERROR, name)
        self._write_atomically(ERROR, f"{target}.errors.txt", _reasons_text(reasons))
        self.sftp.posix_rename(self._path(INBOUND, name), str(self.root / ERROR / target))
        return target

    def put(self, name: str, data: bytes) -> None:
        self._write_atomically(OUTBOUND, check_name(name), data)

    def _exists(self, path: str) -> bool:
        try:
            self.sftp.stat(path)
        except FileNotFoundError:
            return False
        return True

    def _free_name(self, folder: str, name: str) -> str:
        candidate, n = name, 1
        while self._exists(str(self.root / folder / candidate)):
            candidate, n = f"{name}.{n}", n + 1
        return candidate

    def _write_atomically(self, folder: str, name: str, data: bytes) -> None:
        temporary = str(self.root / folder / f".{name}.{uuid.uuid4().hex[:8]}.part")
        try:
            with self.sftp.open(temporary, "wb") as handle:
                handle.write(data)
            self.sftp.posix_rename(temporary, str(self.root / folder / name))
        except BaseException:
            with contextlib.suppress(OSError):
                self.sftp.remove(temporary)
            raise


def connect_sftp(
    host: str,
    *,
    username: str,
    port: int = 22,
    password: str | None = None,
    key_filename: str | None = None,
    known_hosts: str | None = None,
) -> SftpClient:
    """Open an SFTP session with paramiko (an optional dependency: install it to use an SFTP 3PL).

    The server's host key must be known (``known_hosts`` or the user's); an unknown host is refused, never
    trusted on first use, because this connection carries the brand's orders.
    """
    try:
        paramiko: Any = importlib.import_module("paramiko")
    except ImportError as exc:
        raise RuntimeError("the SFTP drop folder needs paramiko: pip install paramiko") from exc
    client = paramiko.SSHClient()
    if known_hosts is not None:
        client.load_host_keys(known_hosts)
    else:
        client.load_system_host_keys()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(host, port=port, username=username, password=password, key_filename=key_filename)
    sftp: SftpClient = client.open_sftp()
    return sftp
