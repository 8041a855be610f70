"""The watched drop folder a 3PL and Seamline exchange files through: a local directory or an SFTP server.

Layout under the root: ``inbound/`` (the 3PL drops files here), ``outbound/`` (we drop files for the 3PL),
``archive/`` (inbound files taken in), ``error/`` (inbound files refused, each beside a
``<name>.errors.txt`` saying why, line by line).

Nothing half-written is ever visible: an outbound file is written elsewhere and renamed into place in one
step, and an inbound file is only listed once it has stopped changing for ``settle_seconds`` and does not
carry a temporary name (dotfiles, ``.tmp``, ``.part``, ``.filepart``). A file taken into archive/ that the
inbox later rejects moves on to error/ beside its reasons (``reject_archived``), so error/ holds every file
refused, whether when read or when applied.

Over SFTP the server's host key is pinned (``SftpServer.host_key``): any other key is refused, never trusted
on first use, because this connection carries the brand's orders.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import logging
import os
import re
import stat
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any, Protocol, Self

import paramiko

from seamline.domain.clock import Clock, SystemClock

log = logging.getLogger("seamline.threepl.sftp")

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

    def reject_archived(self, name: str, checksum: str, reasons: Sequence[str]) -> str | None:
        """Move the copy of ``name`` archived with these bytes (SHA-256 ``checksum``) on to error/ beside its
        reasons; returns its name there, or None when archive/ holds no such copy (moved before)."""
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


def _archived_copies(names: Sequence[str], name: str) -> list[str]:
    """The names ``archive`` may have given ``name``: itself, or itself with a counter (``name.1``)."""
    counted = re.compile(re.escape(name) + r"\.[0-9]+")
    return sorted(n for n in names if n == name or counted.fullmatch(n))


def _checksum(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


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

    def reject_archived(self, name: str, checksum: str, reasons: Sequence[str]) -> str | None:
        check_name(name)
        for copy in _archived_copies(os.listdir(self.root / ARCHIVE), name):
            if _checksum((self.root / ARCHIVE / copy).read_bytes()) != checksum:
                continue
            target = self._free_name(ERROR, name)
            self._write_atomically(self.root / ERROR / f"{target}.errors.txt", _reasons_text(reasons))
            try:
                os.replace(self.root / ARCHIVE / copy, self.root / ERROR / target)
            except FileNotFoundError:
                return None  # another worker moved it meanwhile
            return target
        return None

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
    @property
    def filename(self) -> str: ...

    @property
    def st_mode(self) -> int | None: ...

    @property
    def st_mtime(self) -> float | None: ...


class RemoteFile(Protocol):
    def __enter__(self) -> Self: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None, /
    ) -> object: ...

    def read(self, size: int | None = ..., /) -> bytes: ...

    def write(self, data: bytes, /) -> object: ...


class SftpClient(Protocol):
    """The part of ``paramiko.SFTPClient`` the drop folder uses (so tests can stand in for a server)."""

    def listdir_attr(self, path: str = ...) -> Sequence[SftpAttributes]: ...

    def open(self, filename: str, mode: str = ..., bufsize: int = ...) -> RemoteFile: ...

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
        return self._read(self._path(INBOUND, name))

    def _read(self, path: str) -> bytes:
        with self.sftp.open(path, "rb") as handle:
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

    def reject_archived(self, name: str, checksum: str, reasons: Sequence[str]) -> str | None:
        check_name(name)
        names = [a.filename for a in self.sftp.listdir_attr(str(self.root / ARCHIVE))]
        for copy in _archived_copies(names, name):
            if _checksum(self._read(str(self.root / ARCHIVE / copy))) != checksum:
                continue
            target = self._free_name(ERROR, name)
            self._write_atomically(ERROR, f"{target}.errors.txt", _reasons_text(reasons))
            try:
                self.sftp.posix_rename(str(self.root / ARCHIVE / copy), str(self.root / ERROR / target))
            except FileNotFoundError:
                return None  # another worker moved it meanwhile
            return target
        return None

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


def parse_host_key(text: str) -> paramiko.PKey:
    """A server's public key as ``ssh-keyscan`` or known_hosts show it: ``<type> <base64>`` (a leading host
    name and a trailing comment are allowed), e.g. ``ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA...``."""
    types = {identifier for key_class in paramiko.key_classes for identifier in key_class.identifiers()}
    parts = text.split()
    for position, part in enumerate(parts[:-1]):
        if part in types:
            try:
                return paramiko.PKey.from_type_string(part, base64.b64decode(parts[position + 1], validate=True))
            except (binascii.Error, ValueError, paramiko.SSHException) as exc:
                raise ValueError(f"the host key is not a valid {part} public key: {exc}") from None
    raise ValueError(f"the host key is '<type> <base64>' with a type of {', '.join(sorted(types))}")


def load_private_key(text: str) -> paramiko.PKey:
    """An unencrypted private key in OpenSSH or PEM form (Ed25519, ECDSA or RSA)."""
    key_classes: tuple[type[paramiko.PKey], ...] = (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey)
    for key_class in key_classes:
        try:
            return key_class.from_private_key(io.StringIO(text))
        except (ValueError, paramiko.SSHException):
            continue
    raise ValueError("the private key is not an unencrypted Ed25519, ECDSA or RSA key in OpenSSH or PEM form")


@dataclass(frozen=True)
class SftpServer:
    """Where the 3PL's SFTP server is and how we log in: a password, a private key (text), or both (the key
    is tried first). Checked when made, so bad settings are refused when the channel is wired."""

    host: str
    username: str
    #: The server's public key, pinned: a server showing any other key is refused.
    host_key: str
    port: int = 22
    password: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)
    #: For connecting, logging in and every request after: a server that stops answering fails the scan.
    timeout_seconds: float = 30.0

    def __post_init__(self) -> None:
        if not self.host or not self.username:
            raise ValueError("an SFTP server needs a host and a username")
        if not 0 < self.port < 65536:
            raise ValueError(f"the SFTP port {self.port} is not a TCP port")
        if not self.password and not self.private_key:
            raise ValueError("an SFTP login needs a password or a private key")
        if self.timeout_seconds <= 0:
            raise ValueError("the SFTP timeout is a positive number of seconds")
        parse_host_key(self.host_key)
        if self.private_key:
            load_private_key(self.private_key)

    @property
    def address(self) -> str:
        """The name the host key is known under, as OpenSSH writes it (``[host]:port`` off port 22)."""
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"


class SftpSession:
    """One SSH connection and the SFTP session over it."""

    def __init__(self, ssh: paramiko.SSHClient, sftp: paramiko.SFTPClient) -> None:
        self.ssh, self.sftp = ssh, sftp

    def answers(self) -> bool:
        """The connection is up and the server answers a request (servers drop idle sessions)."""
        transport = self.ssh.get_transport()
        if transport is None or not transport.is_active():
            return False
        try:
            self.sftp.normalize(".")
        except (OSError, EOFError, paramiko.SSHException):
            return False
        return True

    def close(self) -> None:
        with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
            self.sftp.close()
        self.ssh.close()


def connect_sftp(server: SftpServer) -> SftpSession:
    """Open an SFTP session; a host key other than the pinned one is refused (``BadHostKeyException``), and
    neither an SSH agent nor keys in ``~/.ssh`` are offered: only what the channel's settings give."""
    ssh = paramiko.SSHClient()
    ssh.set_missing_host_key_policy(paramiko.RejectPolicy())
    key = parse_host_key(server.host_key)
    ssh.get_host_keys().add(server.address, key.get_name(), key)
    timeout = server.timeout_seconds
    try:
        ssh.connect(
            server.host,
            port=server.port,
            username=server.username,
            password=server.password or None,
            pkey=load_private_key(server.private_key) if server.private_key else None,
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
            channel_timeout=timeout,
            allow_agent=False,
            look_for_keys=False,
        )
        sftp = ssh.open_sftp()
    except BaseException:
        ssh.close()
        raise
    channel = sftp.get_channel()
    if channel is not None:
        channel.settimeout(timeout)
    return SftpSession(ssh, sftp)


class SftpConnection:
    """The SFTP client of a wired 3PL channel: the session is opened when first needed and opened again once
    it has dropped. ``session()`` brackets one unit of work (a scan, a release): before it, a session that no
    longer answers is replaced; after a failure in it, the session is closed, so the next unit (the job's next
    run) starts on a new one. Units of work are serialised: one session, one request at a time."""

    def __init__(self, server: SftpServer, *, connect: Callable[[SftpServer], SftpSession] = connect_sftp) -> None:
        self.server = server
        self._connect = connect
        self._current: SftpSession | None = None
        self._lock = threading.RLock()
        #: Sessions opened so far (each reconnect counts).
        self.connections = 0

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        with self._lock:
            if self._current is not None and not self._current.answers():
                log.info("SFTP session to %s dropped; connecting again", self.server.address)
                self.close()
            try:
                yield
            except BaseException:
                self.close()
                raise

    def close(self) -> None:
        with self._lock:
            current, self._current = self._current, None
            if current is not None:
                current.close()

    def _sftp(self) -> paramiko.SFTPClient:
        with self._lock:
            if self._current is None:
                self._current = self._connect(self.server)
                self.connections += 1
                log.info("SFTP session to %s as %s opened", self.server.address, self.server.username)
            return self._current.sftp

    def listdir_attr(self, path: str = ".") -> list[paramiko.SFTPAttributes]:
        return self._sftp().listdir_attr(path)

    def open(self, filename: str, mode: str = "r", bufsize: int = -1) -> paramiko.SFTPFile:
        return self._sftp().open(filename, mode, bufsize)

    def posix_rename(self, oldpath: str, newpath: str) -> None:
        self._sftp().posix_rename(oldpath, newpath)

    def remove(self, path: str) -> None:
        self._sftp().remove(path)

    def stat(self, path: str) -> paramiko.SFTPAttributes:
        return self._sftp().stat(path)
