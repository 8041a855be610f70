"""A real SFTP server for the tests: asyncssh on 127.0.0.1 (a port the system picks), serving a directory as
its root, in a thread of its own with its own event loop. It has a freshly generated host key, and one user
who may log in with a password or with a key; it records every file opened for writing and every rename, so a
test can tell how a file came to be where it is, and it can drop every connection, as a server does."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import asyncssh

USERNAME = "acme"
PASSWORD = "correct horse battery staple"


class _Login(asyncssh.SSHServer):
    def __init__(self, server: SftpTestServer) -> None:
        self.server = server

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.server.connections.append(conn)

    def begin_auth(self, username: str) -> bool:
        return True  # every user must authenticate

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == USERNAME and password == PASSWORD

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        expected = self.server.client_key.export_public_key("openssh").split()[:2]
        return username == USERNAME and key.export_public_key("openssh").split()[:2] == expected


class _RecordingSftp(asyncssh.SFTPServer):
    def __init__(self, chan: asyncssh.SSHServerChannel, server: SftpTestServer) -> None:
        super().__init__(chan, chroot=str(server.root).encode())
        self.server = server
        server.sftp_sessions += 1

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> Any:
        if pflags & asyncssh.FXF_WRITE:
            self.server.operations.append(("write", path.decode()))
        return super().open(path, pflags, attrs)

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> Any:
        self.server.operations.append(("posix-rename", f"{oldpath.decode()} -> {newpath.decode()}"))
        return super().posix_rename(oldpath, newpath)


class SftpTestServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.connections: list[asyncssh.SSHServerConnection] = []
        self.operations: list[tuple[str, str]] = []
        #: SFTP sessions served (a client that logged in and asked for the sftp subsystem).
        self.sftp_sessions = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sftp-test-server", daemon=True)
        self._acceptor: asyncssh.SSHAcceptor | None = None

    # -- what a 3PL channel's settings need to log in -------------------------------------------------
    @property
    def public_host_key(self) -> str:
        """As ``ssh-keyscan`` shows it: ``ssh-ed25519 AAAA...``."""
        return " ".join(self.host_key.export_public_key("openssh").decode().split()[:2])

    @property
    def client_private_key(self) -> str:
        return self.client_key.export_private_key("openssh").decode()

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """3PL channel settings that reach this server with the password."""
        return {
            "transport": "sftp",
            "drop_folder": None,
            "sftp_host": "127.0.0.1",
            "sftp_port": self.port,
            "sftp_username": USERNAME,
            "sftp_password": PASSWORD,
            "sftp_known_host_key": self.public_host_key,
            "sftp_root": "/",
            "sftp_timeout_seconds": 10,
            **overrides,
        }

    # -- life ----------------------------------------------------------------------------------------------
    def start(self) -> SftpTestServer:
        self._thread.start()
        self._acceptor = self._run(self._listen(0))
        self.port = int(self._acceptor.sockets[0].getsockname()[1])
        return self

    async def _listen(self, port: int) -> asyncssh.SSHAcceptor:
        return await asyncssh.listen(
            "127.0.0.1",
            port,
            server_factory=lambda: _Login(self),
            server_host_keys=[self.host_key],
            sftp_factory=lambda chan: _RecordingSftp(chan, self),
            allow_scp=False,
        )

    def drop_connections(self) -> None:
        """Close every client connection from the server's side (an idle timeout, a restart)."""

        async def close_all() -> None:
            for conn in self.connections:
                conn.close()
                await conn.wait_closed()

        self._run(close_all())

    def closed_by_client(self, index: int, timeout: float = 5.0) -> bool:
        """Whether connection ``index`` ends within ``timeout`` seconds without the server closing it."""

        async def ended() -> bool:
            try:
                await asyncio.wait_for(self.connections[index].wait_closed(), timeout)
            except TimeoutError:
                return False
            return True

        return bool(self._run(ended()))

    def go_away(self) -> None:
        """Stop listening and drop every connection: the server is down."""
        self._run(self._close())

    def come_back(self) -> None:
        """Listen again, on the same port with the same host key."""
        self._acceptor = self._run(self._listen(self.port))

    async def _close(self) -> None:
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
            self._acceptor = None
        for conn in self.connections:
            conn.close()
            await conn.wait_closed()

    def stop(self) -> None:
        self._run(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)
