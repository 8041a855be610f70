"""Dashboard sessions end server-side (issue 20): a logout kills the session for everyone holding its cookie,
revoking the token that logged in kills its sessions; and the session cookie is ``Secure`` behind a trusted
TLS proxy (``SEAMLINE_TRUSTED_PROXIES``) or when ``SEAMLINE_COOKIE_SECURE`` says so, never because an
untrusted client claims ``X-Forwarded-Proto: https``."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from seamline.api import create_app
from seamline.service import Seamline
from seamline.web.session import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from tests.conftest import ADMIN_TOKEN
from tests.integration.helpers import issue_token


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def log_in(client: TestClient, token: str = ADMIN_TOKEN, **headers: str) -> tuple[str, str]:
    """Log in through the form as a browser would; the session cookie's value and its Set-Cookie line."""
    client.headers.pop("Authorization", None)
    csrf = csrf_of(client.get("/login", headers=headers).text)
    # The login form's cookie, sent as the browser would: the test client speaks plain HTTP to the app, as a
    # TLS proxy does, and would keep back a cookie marked Secure.
    headers = {**headers, "Cookie": f"{LOGIN_CSRF_COOKIE}={csrf}"}
    answer = client.post(
        "/login", data={"token": token, "csrf_token": csrf, "next": "/stock"}, headers=headers, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    set_cookie = next(v for v in answer.headers.get_list("set-cookie") if v.startswith(SESSION_COOKIE + "="))
    return answer.cookies[SESSION_COOKIE], set_cookie


def holding(client: TestClient, cookie: str) -> TestClient:
    """Another browser that holds a copy of the cookie (a stolen one, or a second tab of a shared machine)."""
    other = TestClient(client.app)
    other.cookies.set(SESSION_COOKIE, cookie)
    return other


def test_a_logout_ends_the_session_for_everyone_holding_its_cookie(client: TestClient) -> None:
    cookie, _ = log_in(client)
    copy = holding(client, cookie)
    assert copy.get("/stock", follow_redirects=False).status_code == 200
    page = client.get("/stock")
    out = client.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    refused = copy.get("/stock", follow_redirects=False)
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/login")


def test_a_new_login_is_not_ended_by_the_logout_of_another_session(client: TestClient) -> None:
    first, _ = log_in(client)
    second_browser = TestClient(client.app)
    second, _ = log_in(second_browser)
    assert first != second
    page = client.get("/stock")
    client.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert holding(client, second).get("/stock", follow_redirects=False).status_code == 200


def test_revoking_the_token_that_logged_in_ends_its_sessions_at_once(client: TestClient) -> None:
    reader = issue_token(client, "read", name="ops laptop")
    token_id = next(t["id"] for t in client.get("/v1/tokens").json()["items"] if t["name"] == "ops laptop")
    browser = TestClient(client.app)
    cookie, _ = log_in(browser, reader)
    assert holding(client, cookie).get("/stock", follow_redirects=False).status_code == 200
    assert client.delete(f"/v1/tokens/{token_id}").status_code == 200
    assert holding(client, cookie).get("/stock", follow_redirects=False).status_code == 303


# ---------------------------------------------------------------------------------------------- Secure cookies
@pytest.fixture
def behind_proxy(app: Seamline) -> Seamline:
    app.settings = replace(app.settings, trusted_proxies=("10.0.0.0/8",))
    return app


def browser_at(app: Seamline, address: str) -> TestClient:
    return TestClient(create_app(app), client=(address, 50000))


def test_the_cookie_is_secure_behind_a_trusted_tls_proxy(behind_proxy: Seamline) -> None:
    with browser_at(behind_proxy, "10.1.2.3") as proxied:
        _, set_cookie = log_in(proxied, **{"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert "Secure" in set_cookie


def test_an_untrusted_client_claiming_https_does_not_get_a_secure_cookie_flag_it_did_not_earn(
    behind_proxy: Seamline,
) -> None:
    with browser_at(behind_proxy, "192.0.2.7") as direct:
        _, set_cookie = log_in(direct, **{"X-Forwarded-Proto": "https"})
    assert "Secure" not in set_cookie
    with browser_at(behind_proxy, "10.1.2.3") as proxied:
        _, plain = log_in(proxied, **{"X-Forwarded-Proto": "http"})
    assert "Secure" not in plain


def test_cookie_secure_setting_overrides_what_the_request_says(app: Seamline) -> None:
    app.settings = replace(app.settings, cookie_secure=True)
    with browser_at(app, "192.0.2.7") as plain_http:
        _, set_cookie = log_in(plain_http)
    assert "Secure" in set_cookie
