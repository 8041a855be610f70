"""API tokens, stored as SHA-256 digests: a leaked table does not leak a usable token.

Tokens are 256-bit random strings, so a fast hash is enough; a password hash would only slow every call.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from seamline.store.tables import api_tokens
from seamline.store.upsert import insert_on_conflict


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_token(conn: Connection, token: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(api_tokens).where(api_tokens.c.token_hash == token_digest(token), api_tokens.c.revoked_at.is_(None))
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def insert_token(conn: Connection, token_id: str, name: str, token: str, scopes: list[str], now: datetime) -> None:
    conn.execute(
        api_tokens.insert().values(
            id=token_id, name=name, token_hash=token_digest(token), scopes=scopes, created_at=now
        )
    )


def ensure_token(conn: Connection, token_id: str, name: str, token: str, scopes: list[str], now: datetime) -> None:
    """Idempotent upsert by id, used for the bootstrap admin token (a changed env var replaces the old hash)."""
    values = {"name": name, "token_hash": token_digest(token), "scopes": scopes, "revoked_at": None}
    insert_on_conflict(conn, api_tokens, ["id"], {"id": token_id, "created_at": now, **values}, values)
