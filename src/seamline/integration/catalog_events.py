"""Style changes as integration events: ``StyleChanged`` is coalesced per style (a subscriber that is behind
publishes a style's latest version once). Written by ``integration.announcements``."""

from __future__ import annotations


def style_coalesce_key(style: str) -> str:
    return f"style:{style}"
