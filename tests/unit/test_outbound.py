"""Where connector settings may point (issue #20): https to public hosts, sandbox: outside production, drop
folders under the drop root; the operator's allow list opens named hosts and networks."""

from __future__ import annotations

from pathlib import Path

import pytest

from seamline.service.outbound import OutboundPolicy
from seamline.service.settings import Settings

PUBLIC = "23.227.38.65"
ADDRESSES = {
    "shop.myshopify.com": [PUBLIC],
    "localhost": ["127.0.0.1", "::1"],
    "inward.example.com": ["10.1.2.3"],
    "split.example.com": [PUBLIC, "127.0.0.1"],  # one public, one loopback: the loopback one refuses it
    "metadata.example.com": ["169.254.169.254"],
    "v6.example.com": ["::1"],
    "mapped.example.com": ["::ffff:127.0.0.1"],
    "sftp.partner.example.com": ["192.168.4.20"],
}


def resolver(host: str) -> list[str]:
    if host in ADDRESSES:
        return ADDRESSES[host]
    if host.replace(".", "").isdigit() or ":" in host:
        return [host]
    raise OSError("Name or service not known")


def policy(tmp_path: Path, **settings: object) -> OutboundPolicy:
    base = Settings(database_url=f"sqlite:///{tmp_path}/seamline.db", **settings)  # type: ignore[arg-type]
    return OutboundPolicy.from_settings(base, resolver=resolver)


@pytest.mark.parametrize(
    "url",
    [
        "http://shop.myshopify.com/admin/api/2026-07",
        "file:///etc/passwd",
        "ftp://shop.myshopify.com/",
        "https://127.0.0.1:8443/admin",
        "https://localhost/admin",
        "https://[::1]/admin",
        "https://169.254.169.254/latest/meta-data",
        "https://inward.example.com/api",
        "https://split.example.com/api",
        "https://metadata.example.com/",
        "https://v6.example.com/",
        "https://mapped.example.com/",
        "https://nowhere.invalid/",
        "https://user:pw@shop.myshopify.com/",
        "https:///no-host",
    ],
)
def test_a_settings_url_that_is_not_https_to_a_public_host_is_refused(tmp_path: Path, url: str) -> None:
    found = policy(tmp_path).check_url("settings.admin_api_url", url)
    assert found is not None
    assert found.field == "settings.admin_api_url"


def test_https_to_a_public_host_and_a_sandbox_outside_production_are_accepted(tmp_path: Path) -> None:
    allowed = policy(tmp_path)
    assert allowed.check_url("f", "https://shop.myshopify.com/admin/api/2026-07") is None
    assert allowed.check_url("f", "sandbox:") is None
    production = policy(tmp_path, env="production", admin_token="x" * 40)
    refused = production.check_url("f", "sandbox:")
    assert refused is not None
    assert "production" in refused.message


def test_the_operator_allow_list_opens_named_hosts_and_networks_only(tmp_path: Path) -> None:
    opened = policy(tmp_path, outbound_allow=("127.0.0.1/32", "sftp.partner.example.com"))
    assert opened.check_url("f", "https://127.0.0.1:9000/") is None
    assert opened.check_host("f", "sftp.partner.example.com") is None
    assert opened.check_url("f", "https://169.254.169.254/") is not None
    assert opened.check_url("f", "http://127.0.0.1:9000/") is not None, "the scheme rule still holds"


def test_an_unresolvable_host_is_refused_when_written_but_not_when_wired(tmp_path: Path) -> None:
    checks = policy(tmp_path)
    assert checks.check_url("f", "https://nowhere.invalid/") is not None
    assert checks.check_url("f", "https://nowhere.invalid/", must_resolve=False) is None
    assert checks.check_url("f", "https://inward.example.com/", must_resolve=False) is not None


def test_a_drop_folder_must_lie_under_the_drop_root(tmp_path: Path) -> None:
    checks = policy(tmp_path, drop_root=str(tmp_path / "drops"))
    assert checks.check_folder("settings.drop_folder", str(tmp_path / "drops" / "acme")) is None
    assert checks.check_folder("settings.drop_folder", "acme") is None
    assert checks.folder("acme") == (tmp_path / "drops" / "acme").resolve()
    for outside in ("/etc", str(tmp_path), "../elsewhere", str(tmp_path / "drops" / ".." / "x")):
        assert checks.check_folder("settings.drop_folder", outside) is not None, outside


def test_the_default_drop_root_is_drops_beside_the_sqlite_database(tmp_path: Path) -> None:
    assert policy(tmp_path).drop_root == tmp_path.resolve() / "drops"


def test_every_url_host_and_folder_setting_of_a_connector_is_checked(tmp_path: Path) -> None:
    checks = policy(tmp_path)
    settings = {
        "endpoint": "https://shop.myshopify.com",
        "token_endpoint": "http://127.0.0.1/auth/o2/token",
        "seller_id": "127.0.0.1",  # not a URL setting: left alone
    }
    assert [e.field for e in checks.check_settings("amazon", settings)] == ["settings.token_endpoint"]
    threepl = {"transport": "sftp", "sftp_host": "sftp.partner.example.com", "drop_folder": "/srv/elsewhere"}
    assert [e.field for e in checks.check_settings("threepl", threepl)] == [
        "settings.sftp_host",
        "settings.drop_folder",
    ]
    for kind, key in (("mirakl", "base_url"), ("pos", "base_url"), ("xero", "base_url"), ("quickbooks", "base_url")):
        assert [e.field for e in checks.check_settings(kind, {key: "file:///etc/passwd"})] == [f"settings.{key}"]
