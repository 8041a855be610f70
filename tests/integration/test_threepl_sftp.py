"""The 3PL's drop folder on a real SFTP server (asyncssh, in-process), wired from the channel's settings alone,
on SQLite and PostgreSQL: a 944 the 3PL drops is taken in once and archived on the server, a 940 goes out
without ever being visible half-written, a file rejected when applied moves on to error/ on the server, the
server's host key is pinned, and the session survives the server dropping it or going away."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from fastapi.testclient import TestClient

from seamline.channels.threepl.documents import Accepted
from seamline.channels.threepl.mapper import read_940
from seamline.domain.clock import FixedClock
from tests.integration.sftp_server import SftpTestServer
from tests.integration.threepl_world import ThreePLWorld, fixture, x12_945

RECEIPT_944 = fixture("x12_944_stupidedi_fixture.edi")  # W07 100 of ITEM123, receipt WR12345, reference DO12345


@pytest.fixture
def app_settings(tmp_path: Path) -> dict[str, Any]:
    """The test SFTP server listens on loopback, which connectors may reach only when the operator says so."""
    return {"drop_root": str(tmp_path), "outbound_allow": ("127.0.0.1",)}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SftpTestServer]:
    root = tmp_path / "sftp"
    for sub in ("inbound", "outbound", "archive", "error"):
        (root / sub).mkdir(parents=True)
    started = SftpTestServer(root).start()
    yield started
    started.stop()


@pytest.fixture
def world(client: TestClient, clock: FixedClock, server: SftpTestServer) -> ThreePLWorld:
    return ThreePLWorld(client, clock, server.root, **server.settings())


def on_server(server: SftpTestServer, sub: str) -> list[str]:
    return sorted(os.listdir(server.root / sub))


def test_a_944_dropped_on_the_sftp_server_is_received_once_and_archived_there(
    world: ThreePLWorld, server: SftpTestServer
) -> None:
    world.drop("944.edi", RECEIPT_944)
    world.take()
    assert [(m["message_type"], m["status"], m["reason"]) for m in world.messages()] == [("x12-944", "processed", None)]
    assert world.movements() == [("receipt", "ITEM123", "supplier", "ACME", 100)]
    assert (on_server(server, "inbound"), on_server(server, "archive")) == ([], ["944.edi"])
    assert (server.root / "archive" / "944.edi").read_bytes() == RECEIPT_944
    assert ("posix-rename", "/inbound/944.edi -> /archive/944.edi") in server.operations

    world.drop("944-resent.edi", RECEIPT_944)  # the same bytes again, under another name
    world.take()
    world.take()
    assert [m["status"] for m in world.messages()] == ["processed"]
    assert world.movements() == [("receipt", "ITEM123", "supplier", "ACME", 100)]
    assert world.stock("ITEM123") == {"on_hand": 100, "committed": 0, "reserved": 0, "available": 100}
    assert on_server(server, "archive") == ["944-resent.edi.duplicate", "944.edi"]
    assert len(server.connections) == 1  # one session served every scan and release


def test_a_940_is_written_to_the_server_under_a_temporary_name_and_renamed_into_place(
    world: ThreePLWorld, server: SftpTestServer
) -> None:
    world.receive("OVS-001-NVY-M", 5)
    order = world.order("web-1", [("OVS-001-NVY-M", 2)])
    world.take()
    assert on_server(server, "outbound") == ["940-000000001.edi"]
    read = read_940((server.root / "outbound" / "940-000000001.edi").read_bytes())
    assert isinstance(read, Accepted), read
    (ticket,) = read.document.documents
    assert (ticket.order_id, [(line.item.sku, line.qty) for line in ticket.lines]) == (
        order["id"],
        [("OVS-001-NVY-M", 2)],
    )
    ((_, written),) = [op for op in server.operations if op[0] == "write"]
    assert written.startswith("/outbound/.940-000000001.edi.")
    assert written.endswith(".part")  # a name the 3PL does not take; the final name is never written to
    assert ("posix-rename", f"{written} -> /outbound/940-000000001.edi") in server.operations


def test_a_945_rejected_when_applied_moves_to_error_on_the_server_beside_its_reasons(
    world: ThreePLWorld, server: SftpTestServer
) -> None:
    world.receive("OVS-001-NVY-M", 5)
    order = world.order("web-1", [("OVS-001-NVY-M", 2)])
    body = x12_945(order["id"], [("OVS-001-NVY-M", 2), ("NOT-OURS", 1)])
    world.drop("945.edi", body)
    world.take()
    assert [m["status"] for m in world.messages()] == ["rejected"]
    world.take()  # the next scan shows the 3PL why
    assert (on_server(server, "archive"), on_server(server, "error")) == ([], ["945.edi", "945.edi.errors.txt"])
    assert (server.root / "error" / "945.edi").read_bytes() == body
    assert (server.root / "error" / "945.edi.errors.txt").read_text() == (
        f"error: shipment of order {order['id']} line 2: NOT-OURS is not a SKU of ours\n"
    )
    assert world.stock("OVS-001-NVY-M") == {"on_hand": 5, "committed": 2, "reserved": 0, "available": 3}


def test_a_private_key_logs_in_where_no_password_is_given(world: ThreePLWorld, server: SftpTestServer) -> None:
    world.configure(**server.settings(sftp_password=None, sftp_private_key=server.client_private_key))
    world.drop("944.edi", RECEIPT_944)
    world.take()
    assert [m["status"] for m in world.messages()] == ["processed"]
    assert on_server(server, "archive") == ["944.edi"]


def test_a_server_showing_another_host_key_is_refused_and_nothing_is_taken(
    world: ThreePLWorld, server: SftpTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    impostor = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    world.configure(**server.settings(sftp_known_host_key=impostor))
    world.drop("944.edi", RECEIPT_944)
    with caplog.at_level(logging.ERROR, logger="seamline.wiring"):
        world.take()
    failures = [r for r in caplog.records if r.getMessage() == "periodic job threepl:acme:scan failed"]
    assert len(failures) == 1
    assert failures[0].exc_info is not None
    assert "does not match" in str(failures[0].exc_info[1])
    assert world.messages() == []
    assert world.movements() == []
    assert on_server(server, "inbound") == ["944.edi"]
    assert server.sftp_sessions == 0  # the key exchange failed: no session was ever served

    world.configure(**server.settings())  # the right key: the same file is taken on the next scan
    world.take()
    assert [m["status"] for m in world.messages()] == ["processed"]


def test_a_session_the_server_dropped_is_replaced_before_the_next_scan(
    world: ThreePLWorld, server: SftpTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    world.take()
    server.drop_connections()  # an idle timeout on the 3PL's side
    world.drop("944.edi", RECEIPT_944)
    with caplog.at_level(logging.ERROR, logger="seamline.wiring"):
        world.take()
    assert [r.getMessage() for r in caplog.records if r.name == "seamline.wiring"] == []
    assert [m["status"] for m in world.messages()] == ["processed"]
    assert on_server(server, "archive") == ["944.edi"]
    assert len(server.connections) == 2


def test_a_scan_while_the_server_is_away_fails_and_the_next_one_takes_the_file(
    world: ThreePLWorld, server: SftpTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    world.take()
    server.go_away()
    world.drop("944.edi", RECEIPT_944)
    with caplog.at_level(logging.ERROR, logger="seamline.wiring"):
        ran = world.wiring.run_due(force=True)
    assert "threepl:acme:scan" in ran
    assert "periodic job threepl:acme:scan failed" in [r.getMessage() for r in caplog.records]
    assert world.messages() == []
    assert on_server(server, "inbound") == ["944.edi"]

    server.come_back()
    world.take()
    assert [m["status"] for m in world.messages()] == ["processed"]
    assert on_server(server, "archive") == ["944.edi"]
    assert world.movements() == [("receipt", "ITEM123", "supplier", "ACME", 100)]


def test_rewiring_the_channel_closes_the_session_it_had_open(world: ThreePLWorld, server: SftpTestServer) -> None:
    world.take()
    assert not server.closed_by_client(0, timeout=0.2)  # kept open between scans
    world.configure(**server.settings(scan_every_seconds=60))
    assert server.closed_by_client(0)
    world.take()
    assert len(server.connections) == 2


def test_sftp_settings_are_checked_when_wired_and_secrets_are_not_shown(
    client: TestClient, clock: FixedClock, world: ThreePLWorld, server: SftpTestServer
) -> None:
    shown = client.get("/v1/channels/acme").json()["settings"]
    assert (shown["sftp_password"], shown["sftp_known_host_key"], shown["sftp_host"]) == ("***", "***", "127.0.0.1")

    for settings, reason in (
        ({"sftp_known_host_key": None}, "an SFTP 3PL needs settings sftp_known_host_key"),
        ({"sftp_known_host_key": "ssh-ed25519 not-base64!"}, "the host key is not a valid ssh-ed25519 public key"),
        ({"sftp_password": None}, "an SFTP login needs a password or a private key"),
        ({"sftp_private_key": "-----BEGIN NOTHING-----"}, "the private key is not an unencrypted"),
        ({"transport": "ftp"}, "transport is local or sftp, not 'ftp'"),
    ):
        body = {
            "kind": "threepl",
            "sources": ["ACME"],
            "settings": {**server.settings(), "sender_id": "SEAMLINE", "receiver_id": "ACME3PL", **settings},
        }
        assert client.put("/v1/channels/acme", json=body).status_code == 200
        world.wiring.refresh()
        assert world.wiring.errors.get("acme", "").startswith(reason), (settings, world.wiring.errors)
