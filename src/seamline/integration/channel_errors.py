"""What a platform's answer means for a delivery, in three kinds, raised by every connector's client (Shopify,
Square, Amazon, Mirakl, Xero, QuickBooks, the 3PL drop folder, the generic webhook subscriber):

- ``ChannelThrottled``: the platform's rate limit; come back after ``retry_after`` (no attempt used up).
- ``ChannelUnavailable``: no answer, a timeout or a 5xx; retry later with backoff (after ``retry_after`` when
  the platform said), with the same idempotency key.
- ``ChannelRejected``: the platform refused the request itself, with its own ``messages``; the same request
  cannot succeed, so it is dead-lettered at once with them as the reason.

A client's platform-specific class (``ShopifyThrottled``, ``XeroRejected``, ...) subclasses one of these and
adds only what that platform says beyond it. ``subscribers.delivery_outcome`` is the one translation to the
dispatcher's outcomes.
"""

from __future__ import annotations

from collections.abc import Sequence


class ChannelError(Exception):
    """A platform's answer that is not success."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        #: The HTTP status, when there was an answer.
        self.status = status


class ChannelThrottled(ChannelError):
    """The platform's rate limit (HTTP 429 or its own bucket): wait ``retry_after`` seconds (None: it did not
    say, our backoff decides)."""

    def __init__(self, reason: str, *, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(reason, status=status)
        self.retry_after = retry_after


class ChannelUnavailable(ChannelError):
    """No answer, a timeout or a server error: retry later, not before ``retry_after`` when the platform said."""

    def __init__(self, reason: str, *, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(reason, status=status)
        self.retry_after = retry_after


class ChannelRejected(ChannelError):
    """The platform refused the request itself (credentials, an invalid document or input): retrying the same
    request cannot succeed. ``messages`` are the platform's own words (the reason, when it gave none)."""

    def __init__(self, reason: str, *, messages: Sequence[str] = (), status: int | None = None) -> None:
        super().__init__(reason, status=status)
        self.messages = list(messages) or [reason]
