"""API tokens, stored as SHA-256 digests: a leaked table does not leak a usable token.

Tokens are 256-bit random strings, so a fast hash is enough; a password hash would only slow every call.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from seamline.store.tables import api_tokens, web_sessions
from seamline.store.upsert import insert_on_conflict

#: What a token listing shows: never the hash.
_PUBLIC = (
    api_tokens.c.id,
    api_tokens.c.name,
    api_tokens.c.scopes,
    api_tokens.c.created_at,
    api_tokens.c.expires_at,
    api_tokens.c.revoked_at,
    api_tokens.c.rotated_to,
)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_token(conn: Connection, token: str) -> dict[str, Any] | None:
    """The unrevoked token with this secret (its expiry is the caller's to compare with its clock)."""
    row = (
        conn.execute(
            select(api_tokens).where(api_tokens.c.token_hash == token_digest(token), api_tokens.c.revoked_at.is_(None))
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def insert_token(
    conn: Connection,
    token_id: str,
    name: str,
    token: str,
    scopes: list[str],
    now: datetime,
    expires_at: datetime | None = None,
) -> None:
    conn.execute(
        api_tokens.insert().values(
            id=token_id, name=name, token_hash=token_digest(token), scopes=scopes, created_at=now, expires_at=expires_at
        )
    )


def ensure_token(conn: Connection, token_id: str, name: str, token: str, scopes: list[str], now: datetime) -> None:
    """Idempotent upsert by id, used for the bootstrap admin token (a changed env var replaces the old hash)."""
    values = {"name": name, "token_hash": token_digest(token), "scopes": scopes, "revoked_at": None, "expires_at": None}
    insert_on_conflict(conn, api_tokens, ["id"], {"id": token_id, "created_at": now, **values}, values)


def list_tokens(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(*_PUBLIC).order_by(api_tokens.c.created_at, api_tokens.c.id)).mappings()
    return [dict(r) for r in rows]


def get_token(conn: Connection, token_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    query = select(*_PUBLIC).where(api_tokens.c.id == token_id)
    row = conn.execute(query.with_for_update() if lock else query).mappings().first()
    return dict(row) if row else None


def revoke(conn: Connection, token_id: str, now: datetime) -> None:
    """Revoke the token and end the dashboard sessions it opened."""
    conn.execute(
        update(api_tokens).where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    conn.execute(
        update(web_sessions)
        .where(web_sessions.c.token_id == token_id, web_sessions.c.ended_at.is_(None))
        .values(ended_at=now)
    )


def mark_rotated(conn: Connection, token_id: str, successor: str, expires_at: datetime) -> None:
    conn.execute(
        update(api_tokens).where(api_tokens.c.id == token_id).values(rotated_to=successor, expires_at=expires_at)
    )


# ---------------------------------------------------------------------- dashboard sessions
def open_session(conn: Connection, session_id: str, token_id: str, now: datetime, expires_at: datetime) -> None:
    """Record a dashboard login; sessions past their expiry are cleared on the way (logins are rare)."""
    conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))
    conn.execute(web_sessions.insert().values(id=session_id, token_id=token_id, created_at=now, expires_at=expires_at))


def end_session(conn: Connection, session_id: str, now: datetime) -> None:
    conn.execute(
        update(web_sessions)
        .where(web_sessions.c.id == session_id, web_sessions.c.ended_at.is_(None))
        .values(ended_at=now)
    )


def session_token(conn: Connection, session_id: str) -> dict[str, Any] | None:
    """The token behind a session that has not ended, while the token is not revoked: its id, name, scopes,
    expiry, and the session's own expiry (both compared by the caller with its clock)."""
    row = (
        conn.execute(
            select(
                api_tokens.c.id,
                api_tokens.c.name,
                api_tokens.c.scopes,
                api_tokens.c.expires_at,
                web_sessions.c.expires_at.label("session_expires_at"),
            )
            .join(api_tokens, api_tokens.c.id == web_sessions.c.token_id)
            .where(
                web_sessions.c.id == session_id,
                web_sessions.c.ended_at.is_(None),
                api_tokens.c.revoked_at.is_(None),
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None
