"""Dashboard sessions: a signed cookie naming the token (never holding it), CSRF tokens bound to it."""

from __future__ import annotations

import time

import pytest

from seamline.web.routes import safe_next
from seamline.web.session import SessionSigner, login_csrf_ok, session_secret


def test_a_session_cookie_round_trips_and_names_the_token_id_only() -> None:
    signer = SessionSigner(session_secret("a configured secret"))
    cookie, session = signer.issue("tok_123")
    assert signer.read(cookie) == session
    assert "tok_123" not in cookie  # encoded, and the token itself is never in it


@pytest.mark.parametrize(
    "mangle", [lambda c: c[:-2] + "xx", lambda c: "x" + c, lambda c: c.replace(".", ""), str.upper]
)
def test_a_tampered_cookie_is_no_session(mangle: object) -> None:
    signer = SessionSigner(session_secret("k"))
    cookie, _ = signer.issue("tok_1")
    assert signer.read(mangle(cookie)) is None  # type: ignore[operator]


def test_a_cookie_signed_with_another_key_or_expired_is_no_session() -> None:
    cookie, _ = SessionSigner(session_secret("one")).issue("tok_1")
    assert SessionSigner(session_secret("two")).read(cookie) is None
    short = SessionSigner(session_secret("one"), lifetime_seconds=-1)
    expired, _ = short.issue("tok_1")
    assert short.read(expired) is None
    assert SessionSigner(session_secret("one")).read(None) is None


def test_every_worker_derives_the_same_key_from_the_same_secret_and_no_secret_means_a_random_one() -> None:
    assert session_secret(None, "admin-token") == session_secret("", "admin-token")
    assert session_secret(None, None) != session_secret(None, None)


def test_a_csrf_token_belongs_to_its_session() -> None:
    signer = SessionSigner(session_secret("k"))
    _, mine = signer.issue("tok_1")
    _, theirs = signer.issue("tok_1")
    assert signer.csrf_ok(mine, signer.csrf_token(mine))
    assert not signer.csrf_ok(mine, signer.csrf_token(theirs))
    assert not signer.csrf_ok(mine, "")
    assert not signer.csrf_ok(mine, None)


def test_the_login_form_uses_a_double_submitted_cookie() -> None:
    assert login_csrf_ok("abc", "abc")
    assert not login_csrf_ok("abc", "abd")
    assert not login_csrf_ok(None, "abc")
    assert not login_csrf_ok("", "")


@pytest.mark.parametrize(
    ("wanted", "goes_to"),
    [
        ("/stock?style=OVS-001", "/stock?style=OVS-001"),
        ("//evil.example/x", "/integration"),
        ("https://evil.example/", "/integration"),
        ("/\\evil.example", "/integration"),
        (None, "/integration"),
    ],
)
def test_after_login_only_a_path_on_this_site_is_followed(wanted: str | None, goes_to: str) -> None:
    assert safe_next(wanted) == goes_to


def test_sessions_expire_by_the_wall_clock() -> None:
    signer = SessionSigner(session_secret("k"), lifetime_seconds=1)
    cookie, session = signer.issue("t")
    assert session.expires_at <= time.time() + 1
    assert signer.read(cookie) is not None
