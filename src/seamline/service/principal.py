"""Who is calling, and what their token's scopes let them do."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from seamline.domain.errors import FieldError, Forbidden, InvalidInput

SCOPE_RE = re.compile(
    r"^(admin|read|giftcards:read|giftcards:write|channel:[A-Za-z0-9._\-/]{1,64}|location:[A-Za-z0-9._\-/]{1,64}|account:[A-Za-z0-9._\-/]{1,64})$"
)


#: The kind of channel a store's tills sell under (Square and other POS providers are channels of this kind).
TILL_KIND = "pos"


def default_till_channel(location: str) -> str:
    """Where a sale without a channel is filed: one channel per till location, so receipt numbers of two
    stores never collide as external ids."""
    return f"pos:{location}"


def is_till_channel(channel: str, kind: str | None, sources: Sequence[str], locations: Iterable[str]) -> bool:
    """A channel the tills of every one of ``locations`` sell under: the store's own ``pos:<store>``, or a
    channel of kind ``pos`` whose sources include the store. Never a web shop or marketplace, even one that
    ships from the store: a till's receipt filed there would take the external id of a real order."""
    return all(channel == default_till_channel(loc) or (kind == TILL_KIND and loc in sources) for loc in locations)


def require_till_channel(channel: str, kind: str | None, sources: Sequence[str], locations: Iterable[str]) -> None:
    """A store token's hold (or sale) under ``channel``: refused unless it is a till channel of its stores."""
    if not is_till_channel(channel, kind, sources, locations):
        raise Forbidden(
            f"a store's token acts only for its till channels, and {channel} is not one",
            code="insufficient-scope",
        )


def validate_scopes(scopes: list[str]) -> list[str]:
    bad = [s for s in scopes if not isinstance(s, str) or not SCOPE_RE.match(s)]
    if bad or not scopes:
        raise InvalidInput(
            "bad scopes",
            [
                FieldError(
                    "scopes",
                    "each scope is admin, read, giftcards:read, giftcards:write, channel:<code>, location:<code> "
                    "or account:<code>; at least one",
                )
            ],
        )
    return sorted(set(scopes))


@dataclass(frozen=True)
class Principal:
    id: str
    name: str
    scopes: frozenset[str]
    expires_at: datetime | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.scopes

    def can_read(self) -> bool:
        return self.is_admin or "read" in self.scopes

    def has_channel(self, code: str) -> bool:
        return self.is_admin or f"channel:{code}" in self.scopes

    def has_location(self, code: str) -> bool:
        return self.is_admin or f"location:{code}" in self.scopes

    def has_account(self, code: str, channel: str | None = None) -> bool:
        """A wholesale account's own token (``account:<code>``; a rep's token lists several), a token of the
        account's wholesale channel (a B2B platform acting for all its accounts), or admin."""
        return self.is_admin or f"account:{code}" in self.scopes or (channel is not None and self.has_channel(channel))

    def may_sell(self, location: str, channel: str | None, *, till_channel: bool) -> bool:
        """A sale at ``location``: admin anywhere; the store's token, or the token of the till channel it is
        filed under, only under one of the store's till channels (``till_channel``, see ``is_till_channel``)."""
        if self.is_admin:
            return True
        if channel is None:
            return self.has_location(location)
        return till_channel and (self.has_location(location) or self.has_channel(channel))

    def may_issue_gift_cards(self) -> bool:
        """Issue gift cards (``giftcards:write``): a brand's customer service tool or gifting site."""
        return self.is_admin or "giftcards:write" in self.scopes

    def may_read_gift_cards(self) -> bool:
        """Look a card up by its code (``giftcards:read``, or write, or the read scope)."""
        return self.can_read() or "giftcards:read" in self.scopes or self.may_issue_gift_cards()

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("this call needs the admin scope", code="insufficient-scope")

    def require_read(self) -> None:
        if not self.can_read():
            raise Forbidden("this call needs the read scope", code="insufficient-scope")

    def require_channel(self, code: str) -> None:
        if not self.has_channel(code):
            raise Forbidden(f"this token may not act for channel {code}", code="insufficient-scope")

    def require_account(self, code: str, channel: str | None = None) -> None:
        if not self.has_account(code, channel):
            raise Forbidden(f"this token may not act for account {code}", code="insufficient-scope")

    def require_location(self, code: str) -> None:
        if not self.has_location(code):
            raise Forbidden(f"this token may not act at location {code}", code="insufficient-scope")

    def require_location_for_all(self, locations: list[str | None], *, or_read: bool = False) -> None:
        """A store's token acts only where every line names one of its locations."""
        if self.is_admin:
            return
        if locations and all(loc is not None and self.has_location(loc) for loc in locations):
            return
        if or_read and self.can_read():
            return
        raise Forbidden("this token may not act at these locations (or for this channel)", code="insufficient-scope")
