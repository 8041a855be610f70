"""``seamline worker`` answers a process manager: alive while its background threads are, ready while the
database answers, and scrapeable."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from seamline.integration import Integration, IntegrationSettings, install
from seamline.integration.health import HealthServer
from seamline.service import Seamline

SETTINGS = IntegrationSettings(poll_seconds=0.2)


@pytest.fixture
def running(app: Seamline) -> Iterator[tuple[Integration, HealthServer]]:
    integration = install(app, SETTINGS)
    integration.start()
    health = HealthServer(lambda: app.read(lambda conn: conn.exec_driver_sql("SELECT 1").scalar()), port=0)
    health.start()
    yield integration, health
    health.stop()
    integration.uninstall()


def url(health: HealthServer, path: str) -> str:
    host, port = health.address
    return f"http://{host}:{port}{path}"


def test_a_worker_whose_dispatcher_died_answers_503_naming_it(running: tuple[Integration, HealthServer]) -> None:
    integration, health = running
    alive = httpx.get(url(health, "/healthz"))
    assert alive.status_code == 200
    assert "seamline-dispatcher" in alive.json()["threads"]
    assert httpx.get(url(health, "/readyz")).json() == {"status": "ready"}
    assert "seamline_" in httpx.get(url(health, "/metrics")).text

    integration.dispatcher.stop()
    dead = httpx.get(url(health, "/healthz"))
    assert dead.status_code == 503
    assert dead.json() == {"status": "unhealthy", "dead_threads": ["seamline-dispatcher"]}


def test_a_worker_that_cannot_reach_its_database_is_not_ready() -> None:
    def unreachable() -> None:
        raise ConnectionError("no database")

    health = HealthServer(unreachable, port=0)
    health.start()
    try:
        answer = httpx.get(url(health, "/readyz"))
        assert (answer.status_code, answer.json()) == (503, {"status": "unavailable", "reason": "ConnectionError"})
        assert httpx.get(url(health, "/nothing")).status_code == 404
    finally:
        health.stop()


def test_the_worker_command_prints_and_serves_its_health_endpoint(tmp_path: Path) -> None:
    env = {**os.environ, "SEAMLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}", "PYTHONUNBUFFERED": "1"}
    cli = Path(sys.executable).with_name("seamline")
    process = subprocess.Popen(
        [str(cli), "worker", "--health-port", "0"], env=env, stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        assert process.stdout is not None
        line = ""
        for line in process.stdout:
            if line.startswith("health: "):
                break
        assert line.startswith("health: http://127.0.0.1:"), line
        health_url = line.split()[1].rstrip(",")
        answer = httpx.get(health_url)
        assert answer.status_code == 200
        assert "seamline-dispatcher" in answer.json()["threads"]
    finally:
        process.terminate()
        process.wait(timeout=30)
