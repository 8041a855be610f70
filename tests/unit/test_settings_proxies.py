"""``SEAMLINE_TRUSTED_PROXIES`` and ``SEAMLINE_COOKIE_SECURE`` (issue 20): parsed once, refused when wrong."""

from __future__ import annotations

import pytest

from seamline.domain.errors import InvalidInput
from seamline.service.settings import Settings


def test_trusted_proxies_are_addresses_or_networks_and_default_to_the_local_host() -> None:
    assert Settings.from_env({}).trusted_proxies == ("127.0.0.1",)
    parsed = Settings.from_env({"SEAMLINE_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.4 ,::1"})
    assert parsed.trusted_proxies == ("10.0.0.0/8", "192.168.1.4", "::1")
    assert Settings.from_env({"SEAMLINE_TRUSTED_PROXIES": ""}).trusted_proxies == ()


@pytest.mark.parametrize("value", ["proxy.internal", "10.0.0.0/33", "300.1.1.1"])
def test_a_trusted_proxy_that_is_not_an_address_or_network_is_refused(value: str) -> None:
    with pytest.raises(InvalidInput, match="SEAMLINE_TRUSTED_PROXIES"):
        Settings.from_env({"SEAMLINE_TRUSTED_PROXIES": value})


@pytest.mark.parametrize(
    ("value", "expected"), [("on", True), ("true", True), ("off", False), ("0", False), ("auto", None), ("", None)]
)
def test_cookie_secure_is_on_off_or_decided_per_request(value: str, expected: bool | None) -> None:
    assert Settings.from_env({"SEAMLINE_COOKIE_SECURE": value}).cookie_secure is expected


def test_cookie_secure_refuses_anything_else() -> None:
    with pytest.raises(InvalidInput, match="SEAMLINE_COOKIE_SECURE"):
        Settings.from_env({"SEAMLINE_COOKIE_SECURE": "sometimes"})
