"""The README's shell blocks run as written (datasette's docs-as-tests habit), so the walk-through a new user
copies cannot drift from the server again.

Each ```bash block is run by bash, in order, in one temporary directory, against a fresh ``seamline serve``
on a free port and a fresh SQLite file. Nothing in a block is rewritten: the blocks read ``$SEAMLINE`` (the
server's address) and ``$TOKEN`` (an admin token) from the environment, ``.venv/bin/seamline`` is this
interpreter's ``seamline``, and ``curl`` is wrapped with ``--fail-with-body`` so every call must answer 2xx.
A block whose first line is ``# readme-test: skip (why)`` is not run; the README states how many there are.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import missing

README = Path(__file__).resolve().parents[2] / "README.md"
SKIP = "# readme-test: skip"
TOKEN = "readme-test-admin-token-0123456789abcdef"
# Run before every block: stop at the first failing command, and fail any curl that does not answer 2xx.
PRELUDE = 'set -euo pipefail\ncurl() { command curl --fail-with-body --show-error "$@"; }\n'


@dataclass(frozen=True)
class Block:
    line: int  # where the block opens in the README, for messages
    code: str

    @property
    def skipped(self) -> bool:
        return self.code.startswith(SKIP)


def shell_blocks(text: str) -> list[Block]:
    return [
        Block(text.count("\n", 0, m.start()) + 1, m.group(1))
        for m in re.finditer(r"^```bash\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)
    ]


def test_the_readme_has_no_shell_block_the_test_would_not_read() -> None:
    text = README.read_text()
    fences = re.findall(r"^```(\w*)$", text, re.MULTILINE)
    assert not [f for f in fences if f in {"sh", "shell", "console", "zsh"}], "write shell blocks as ```bash"


def test_the_readme_declares_how_many_of_its_blocks_are_not_run() -> None:
    text = README.read_text()
    declared = re.search(r"except the (\d+) marked `readme-test: skip`", text)
    assert declared, "the README says how many of its bash blocks this test skips"
    blocks = shell_blocks(text)
    assert sum(b.skipped for b in blocks) == int(declared.group(1))
    assert [b for b in blocks if not b.skipped], "some blocks run"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Shell:
    cwd: Path
    env: dict[str, str]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Shell]:
    """``seamline serve`` on a fresh SQLite file, and the environment a reader's second shell would have."""
    for tool in ("bash", "curl"):
        if shutil.which(tool) is None:
            missing(tool)
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    seamline = Path(sys.executable).with_name("seamline")
    (venv_bin / "seamline").symlink_to(seamline)
    port = free_port()
    env = {
        **os.environ,
        "SEAMLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'seamline.db'}",
        "SEAMLINE_ENV": "development",
        "SEAMLINE_ADMIN_TOKEN": TOKEN,
        "SEAMLINE": f"http://127.0.0.1:{port}",
        "TOKEN": TOKEN,
    }
    env.pop("SEAMLINE_WEBHOOK_SUBSCRIBERS", None)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(seamline), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60  # a guard against a hung start, not a speed check
        while True:
            assert server.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"{env['SEAMLINE']}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "seamline serve did not come up: " + log.read_text()[-3000:]
            time.sleep(0.1)
        yield Shell(tmp_path, env)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_every_readme_shell_block_runs_against_a_fresh_server(served: Shell) -> None:
    text = README.read_text()
    ran, output = 0, ""
    for block in shell_blocks(text):
        if block.skipped:
            continue
        done = subprocess.run(
            ["bash", "-c", PRELUDE + block.code],
            cwd=served.cwd,
            env=served.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, (
            f"README.md block at line {block.line} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
        ran, output = ran + 1, output + done.stdout
    assert ran >= 2, "the API walk-through and the catalog import both ran"
    # The walk-through's last call says in a comment what it answers; the server must agree.
    [claimed] = re.findall(r'# \{"items": \[\{"sku": \.\.\., "available": (\d+)', text)
    assert f'"available":{claimed},' in output
