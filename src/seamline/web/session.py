"""Dashboard sessions: a signed cookie opened by logging in with an API token, and CSRF tokens bound to it.

The cookie holds the token's id (never the token), a random nonce and an expiry, signed with HMAC-SHA256.
Every request checks the signature, the expiry, and that the session is still open server-side (the
``web_sessions`` row keyed by the nonce's SHA-256) with its token live: a logout ends the session for
everyone holding the cookie, and so does revoking the token, at once in this process and within
``PRINCIPAL_CACHE_SECONDS`` in others. A form's CSRF token is an HMAC of the session's nonce:
a page from another site cannot read it, and it dies with the session. Before login there is no session,
so the login form uses a double-submit cookie instead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

SESSION_COOKIE = "seamline_session"
LOGIN_CSRF_COOKIE = "seamline_login_csrf"
SESSION_SECONDS = 12 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def session_secret(*candidates: str | None) -> bytes:
    """The signing key: derived from the first configured secret (``SEAMLINE_SESSION_SECRET``, else the admin
    token, so every worker of one deployment agrees), or random for this process (sessions end on restart)."""
    for candidate in candidates:
        if candidate:
            return hmac.new(candidate.encode(), b"seamline dashboard sessions v1", hashlib.sha256).digest()
    return secrets.token_bytes(32)


class LoginRequired(Exception):
    """No live session: the page answers with a redirect to the login form, coming back afterwards."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


@dataclass(frozen=True)
class WebSession:
    token_id: str
    nonce: str
    expires_at: float

    @property
    def key(self) -> str:
        """The server-side id: the nonce's digest, so a leaked sessions table opens no session."""
        return hashlib.sha256(self.nonce.encode()).hexdigest()


class SessionSigner:
    def __init__(self, secret: bytes, *, lifetime_seconds: int = SESSION_SECONDS) -> None:
        self._secret = secret
        self.lifetime_seconds = lifetime_seconds

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode("ascii"), hashlib.sha256).digest())

    def issue(self, token_id: str) -> tuple[str, WebSession]:
        session = WebSession(token_id, secrets.token_urlsafe(18), float(int(time.time()) + self.lifetime_seconds))
        body = json.dumps({"t": session.token_id, "n": session.nonce, "e": int(session.expires_at)})
        payload = _b64(body.encode())
        return f"{payload}.{self._sign(payload)}", session

    def read(self, cookie: str | None) -> WebSession | None:
        """The session a cookie carries, or None when it is missing, forged, malformed or expired."""
        if not cookie or cookie.count(".") != 1 or len(cookie) > 1024:
            return None
        payload, signature = cookie.split(".")
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
            session = WebSession(str(data["t"]), str(data["n"]), float(data["e"]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        return session if session.expires_at > time.time() else None

    def csrf_token(self, session: WebSession) -> str:
        return self._sign("csrf:" + session.nonce)

    def csrf_ok(self, session: WebSession, submitted: str | None) -> bool:
        return bool(submitted) and hmac.compare_digest(str(submitted), self.csrf_token(session))


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def login_csrf_ok(cookie: str | None, submitted: str | None) -> bool:
    return bool(cookie) and bool(submitted) and hmac.compare_digest(str(cookie), str(submitted))
