"""API tokens over their life (DESIGN 10, 13b): issued with an optional expiry, listed without their secret,
revoked, rotated.

A revoked token is refused by this process's next request (its token cache is emptied) and by every other
process within ``TOKEN_CACHE_SECONDS`` (their caches forget answers that old). An expired token is refused
as soon as the injected clock passes its ``expires_at``, cached or not.

The bootstrap admin token (``SEAMLINE_ADMIN_TOKEN``) is written again by every start, so revoking it through
the API would be undone by the next restart and could only mislead: it is refused (``bootstrap-token``);
replace it by changing the setting and restarting. Revoking the last other live admin token is refused
(``last-admin-token``) unless forced, so nobody locks the brand out by accident.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from seamline.domain.clock import ensure_utc, iso_utc
from seamline.domain.errors import Conflict, FieldError, InvalidInput, NotFound
from seamline.service.app import Seamline
from seamline.service.principal import validate_scopes
from seamline.store import auth_repo

BOOTSTRAP_TOKEN_ID = "bootstrap-admin"
#: The longest a token may live, and the longest grace a rotated secret keeps.
MAX_LIFETIME_SECONDS = 5 * 366 * 24 * 3600
MAX_GRACE_SECONDS = 30 * 24 * 3600


def token_view(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A token as listed: never its secret or hash."""
    expires_at, revoked_at = row.get("expires_at"), row.get("revoked_at")
    if revoked_at is not None:
        status = "revoked"
    elif expires_at is not None and expires_at <= now:
        status = "expired"
    else:
        status = "active"
    return {
        "id": row["id"],
        "name": row["name"],
        "scopes": sorted(row["scopes"]),
        "created_at": iso_utc(row["created_at"]),
        "expires_at": iso_utc(expires_at) if expires_at else None,
        "revoked_at": iso_utc(revoked_at) if revoked_at else None,
        "rotated_to": row.get("rotated_to"),
        "status": status,
        "bootstrap": row["id"] == BOOTSTRAP_TOKEN_ID,
    }


class TokenDesk:
    def __init__(self, app: Seamline) -> None:
        self.app = app

    def _expiry(self, expires_in_seconds: int | None, expires_at: datetime | None) -> datetime | None:
        now = self.app.clock.now()
        if expires_in_seconds is not None and expires_at is not None:
            raise InvalidInput(
                "give expires_in_seconds or expires_at, not both",
                [FieldError("expires_at", "not with expires_in_seconds")],
            )
        if expires_in_seconds is not None:
            if not 1 <= expires_in_seconds <= MAX_LIFETIME_SECONDS:
                raise InvalidInput(
                    "bad lifetime",
                    [FieldError("expires_in_seconds", f"must be 1..{MAX_LIFETIME_SECONDS} seconds")],
                )
            return now + timedelta(seconds=expires_in_seconds)
        if expires_at is not None:
            try:
                at = ensure_utc(expires_at)
            except ValueError:
                raise InvalidInput(
                    "a time needs its zone", [FieldError("expires_at", "must carry a UTC offset")]
                ) from None
            if at <= now or at > now + timedelta(seconds=MAX_LIFETIME_SECONDS):
                raise InvalidInput("bad expiry", [FieldError("expires_at", "must be in the future, within 5 years")])
            return at
        return None

    def issue(
        self,
        conn: Connection,
        name: str,
        scopes: list[str],
        *,
        expires_in_seconds: int | None = None,
        expires_at: datetime | None = None,
    ) -> dict[str, Any]:
        """A new token: the answer is the only place its secret ever appears."""
        if not name or not name.strip():
            raise InvalidInput("a token needs a name", [FieldError("name", "is required")])
        scopes = validate_scopes(scopes)
        expiry = self._expiry(expires_in_seconds, expires_at)
        now = self.app.clock.now()
        secret = "sl_" + secrets.token_urlsafe(32)
        token_id = uuid.uuid4().hex
        auth_repo.insert_token(conn, token_id, name.strip(), secret, scopes, now, expiry)
        row = {"id": token_id, "name": name.strip(), "scopes": scopes, "created_at": now, "expires_at": expiry}
        return {**token_view(row, now), "token": secret}

    def list(self) -> list[dict[str, Any]]:
        now = self.app.clock.now()
        return [token_view(row, now) for row in self.app.read(auth_repo.list_tokens)]

    def _live(self, conn: Connection, token_id: str) -> dict[str, Any]:
        row = auth_repo.get_token(conn, token_id, lock=True)
        if row is None:
            raise NotFound(f"no token {token_id}", code="unknown-token")
        if row["id"] == BOOTSTRAP_TOKEN_ID:
            raise Conflict(
                "the bootstrap admin token comes from SEAMLINE_ADMIN_TOKEN and is written again by every start: "
                "change that setting and restart to replace it",
                code="bootstrap-token",
            )
        return row

    def revoke(self, conn: Connection, token_id: str, *, force: bool = False) -> dict[str, Any]:
        """Revoke a token (revoking a revoked one answers the same). Its dashboard sessions end with it."""
        row = self._live(conn, token_id)
        now = self.app.clock.now()
        if row["revoked_at"] is None:
            if not force and "admin" in row["scopes"] and not self._other_admin(conn, token_id, now):
                raise Conflict(
                    "this is the last live admin token: revoking it leaves nobody able to issue tokens "
                    "(force=true to do it anyway)",
                    code="last-admin-token",
                )
            auth_repo.revoke(conn, token_id, now)
            self.app.forget_tokens()
            row = {**row, "revoked_at": now}
        return token_view(row, now)

    def rotate(self, conn: Connection, token_id: str, *, grace_seconds: int = 0) -> dict[str, Any]:
        """A new secret with the same name, scopes and expiry; the old one is revoked now, or keeps working for
        ``grace_seconds`` (so a fleet of tills can switch over) and then expires."""
        if not 0 <= grace_seconds <= MAX_GRACE_SECONDS:
            raise InvalidInput("bad grace", [FieldError("grace_seconds", f"must be 0..{MAX_GRACE_SECONDS} seconds")])
        row = self._live(conn, token_id)
        now = self.app.clock.now()
        if row["revoked_at"] is not None or (row["expires_at"] is not None and row["expires_at"] <= now):
            raise Conflict(f"token {token_id} is no longer live: issue a new one", code="token-not-live")
        if row["rotated_to"] is not None:
            raise Conflict(f"token {token_id} was already rotated to {row['rotated_to']}", code="token-not-live")
        secret = "sl_" + secrets.token_urlsafe(32)
        successor = uuid.uuid4().hex
        auth_repo.insert_token(conn, successor, row["name"], secret, list(row["scopes"]), now, row["expires_at"])
        old_until = now + timedelta(seconds=grace_seconds)
        if row["expires_at"] is not None:
            old_until = min(old_until, row["expires_at"])
        auth_repo.mark_rotated(conn, token_id, successor, old_until)
        if grace_seconds == 0:
            auth_repo.revoke(conn, token_id, now)
        self.app.forget_tokens()
        new_row = {**row, "id": successor, "created_at": now, "rotated_to": None, "revoked_at": None}
        old_row = {
            **row,
            "rotated_to": successor,
            "expires_at": old_until,
            "revoked_at": now if grace_seconds == 0 else None,
        }
        return {**token_view(new_row, now), "token": secret, "previous": token_view(old_row, now)}

    @staticmethod
    def _other_admin(conn: Connection, token_id: str, now: datetime) -> bool:
        return any(
            row["id"] != token_id
            and row["revoked_at"] is None
            and (row["expires_at"] is None or row["expires_at"] > now)
            and "admin" in row["scopes"]
            for row in auth_repo.list_tokens(conn)
        )
