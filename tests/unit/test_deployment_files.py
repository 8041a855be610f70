"""The deployment files (Dockerfile, deploy/compose.yaml, deploy/nginx.conf) say only what the code does:
every `seamline` command and option they run exists, every setting they pass is one the code reads, the
image runs as a non-root user, and nothing starts before the migration has finished. CI builds the image
where a container runtime answers; everywhere else this is what checks them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from seamline.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
OURS = [name for name, service in SERVICES.items() if service.get("image") == "seamline:latest"]
SOURCE = "\n".join(p.read_text() for p in (ROOT / "src" / "seamline").rglob("*.py"))


def assert_runs(argv: list[str]) -> None:
    """``argv`` names a real command of the CLI and only options that command declares."""
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    assert argv[0] in commands, f"no command {argv[0]!r}"
    command = commands[argv[0]]
    declared = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for token in argv[1:]:
        if token.startswith("--"):
            assert token in declared, f"`seamline {argv[0]}` has no option {token}"


def test_the_compose_file_runs_the_image_for_the_migration_the_api_and_the_workers() -> None:
    assert set(OURS) == {"migrate", "api", "worker"}
    for name in OURS:
        assert_runs(SERVICES[name]["command"])


@pytest.mark.parametrize("name", ["api", "worker"])
def test_nothing_serves_before_the_migration_has_finished(name: str) -> None:
    assert SERVICES[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert "healthcheck" in SERVICES[name]


def test_every_setting_the_compose_file_passes_is_read_by_the_code() -> None:
    names = {key for name in OURS for key in SERVICES[name]["environment"] if key.startswith("SEAMLINE_")}
    assert names, "the services pass no settings"
    unread = sorted(name for name in names if f'"{name}"' not in SOURCE)
    assert unread == []


def test_the_image_runs_the_cli_as_a_non_root_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)
    assert users, "no USER line: the image would run as root"
    assert users[-1] not in ("root", "0")
    assert re.search(r'^ENTRYPOINT \["seamline"\]', dockerfile, re.MULTILINE)
    cmd = re.search(r"^CMD (\[.*\])", dockerfile, re.MULTILINE)
    assert cmd is not None
    assert_runs(yaml.safe_load(cmd.group(1)))


def test_the_load_balancer_sends_to_the_port_the_api_listens_on() -> None:
    command = SERVICES["api"]["command"]
    port = command[command.index("--port") + 1]
    assert f"http://api:{port}" in (ROOT / "deploy" / "nginx.conf").read_text()


def test_the_deployment_guide_names_only_files_that_exist() -> None:
    guide = (ROOT / "docs" / "deployment.md").read_text()
    named = set(re.findall(r"`((?:deploy/|Dockerfile)[\w./-]*)`", guide))
    assert {"Dockerfile", "deploy/compose.yaml", "deploy/nginx.conf"} <= named
    assert [name for name in named if not (ROOT / name).exists()] == []


def test_the_api_believes_forwarded_headers_from_the_load_balancer_only() -> None:
    trusted = SERVICES["api"]["environment"]["SEAMLINE_TRUSTED_PROXIES"]
    assert trusted == SERVICES["lb"]["networks"]["default"]["ipv4_address"]
