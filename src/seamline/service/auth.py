"""Who is calling: bearer tokens to principals, cached per process, and the bootstrap admin token."""

from __future__ import annotations

import time

from seamline.domain.errors import Unauthorized
from seamline.service.principal import Principal
from seamline.service.transactions import Part, Transactions
from seamline.store import auth_repo

TOKEN_CACHE_SECONDS = 5.0


class Authenticator(Part):
    def __init__(self, tx: Transactions) -> None:
        super().__init__(tx)
        self._token_cache: dict[str, tuple[float, Principal | None]] = {}
        #: Moves on every revocation in this process: caches of who is calling (the dashboard's too) that
        #: were filled under an older epoch are not trusted.
        self.auth_epoch = 0

    def authenticate(self, token: str | None) -> Principal:
        """The token's principal. Answers are cached for ``TOKEN_CACHE_SECONDS`` per process, so a drop's
        thousands of requests per second do not each read the token table: a token revoked here is refused
        at once (``forget_tokens``), one revoked by another process within that time. An expiring token is
        refused once the clock passes its ``expires_at``, cached or not."""
        cached = self.authenticate_cached(token)
        if cached is not None:
            return cached
        assert token is not None
        epoch = self.auth_epoch
        row = self.read(lambda conn: auth_repo.find_token(conn, token))
        principal = None
        if row is not None and (row["expires_at"] is None or row["expires_at"] > self.clock.now()):
            principal = Principal(row["id"], row["name"], frozenset(row["scopes"]), row["expires_at"])
        if len(self._token_cache) >= 10_000:
            self._token_cache.clear()
        if epoch == self.auth_epoch:  # a revocation while we read must not be undone by this answer
            self._token_cache[token] = (time.monotonic() + TOKEN_CACHE_SECONDS, principal)
        if principal is None:
            raise Unauthorized("unknown, expired or revoked token", code="invalid-token")
        return principal

    def authenticate_cached(self, token: str | None) -> Principal | None:
        """The principal from the cache without touching the database; None when it must be looked up."""
        if not token:
            raise Unauthorized("missing bearer token", code="missing-token")
        cached = self._token_cache.get(token)
        if cached is None or cached[0] <= time.monotonic():
            return None
        principal = cached[1]
        if principal is None or (principal.expires_at is not None and principal.expires_at <= self.clock.now()):
            raise Unauthorized("unknown, expired or revoked token", code="invalid-token")
        return principal

    def forget_tokens(self) -> None:
        """After a revocation or rotation: this process asks the database again on the next request."""
        self.auth_epoch += 1
        self._token_cache.clear()

    def ensure_admin_token(self, token: str) -> None:
        self.write(
            lambda uow: auth_repo.ensure_token(
                uow.conn, "bootstrap-admin", "bootstrap admin", token, ["admin"], self.clock.now()
            )
        )
