"""API tokens, stored as SHA-256 digests: a leaked table does not leak a usable token.

Tokens are 256-bit random strings, so a fast hash is enough; a password hash would only slow every call.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

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
