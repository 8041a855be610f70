"""Attaching an order's contact to one customer.

Email is the stronger key, phone the weaker. A phone never joins two different emails: when the phone
belongs to a customer with another email, the order gets (or creates) the customer of *its* email and the
clash is recorded for a person to look at.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    id: str
    email: str | None
    phone: str | None


@dataclass(frozen=True, slots=True)
class ConflictNote:
    kind: str  # phone-of-another-customer | phone-on-several-customers
    other_customer_id: str


@dataclass(slots=True)
class Match:
    """``customer_id`` None means: create one (unless there is no key at all, then no customer)."""

    customer_id: str | None
    create: bool
    set_email: str | None = None
    set_phone: str | None = None
    conflicts: list[ConflictNote] = field(default_factory=list)


def match_customer(
    email: str | None,
    phone: str | None,
    by_email: CustomerRecord | None,
    by_phone: Sequence[CustomerRecord],
) -> Match:
    """Decide from the customer already holding ``email`` and those holding ``phone`` (both normalised)."""
    if email is None and phone is None:
        return Match(None, create=False)
    if by_email is not None:
        match = Match(by_email.id, create=False)
        others = [c for c in by_phone if c.id != by_email.id]
        if phone is not None and others:
            match.conflicts = [ConflictNote("phone-of-another-customer", c.id) for c in others]
        elif phone is not None and by_email.phone is None:
            match.set_phone = phone
        return match
    if email is None:
        if not by_phone:
            return Match(None, create=True, set_phone=phone)
        first, *rest = sorted(by_phone, key=lambda c: c.id)
        return Match(first.id, create=False, conflicts=[ConflictNote("phone-on-several-customers", c.id) for c in rest])
    # A new email. Its phone may only join a customer that has no email yet.
    without_email = [c for c in by_phone if c.email is None]
    with_email = [c for c in by_phone if c.email is not None]
    if without_email:
        first = sorted(without_email, key=lambda c: c.id)[0]
        return Match(
            first.id,
            create=False,
            set_email=email,
            conflicts=[ConflictNote("phone-of-another-customer", c.id) for c in with_email],
        )
    return Match(
        None,
        create=True,
        set_email=email,
        set_phone=phone,
        conflicts=[ConflictNote("phone-of-another-customer", c.id) for c in with_email],
    )
