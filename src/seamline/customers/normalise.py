"""Match keys: a normalised email (domain lowercased, local part case-folded), then an E.164 phone."""

from __future__ import annotations

import re

import phonenumbers

from seamline.domain.errors import FieldError, InvalidInput

# Deliberately plain: one @, no spaces, a dotted domain of letters, digits and hyphens.
_LOCAL = re.compile(r"^[^\s@]{1,64}$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalise_email(raw: str, field: str = "customer.email") -> str:
    value = raw.strip()
    local, at, domain = value.rpartition("@")
    domain = domain.lower().rstrip(".")
    labels = domain.split(".")
    if (
        not at
        or not _LOCAL.match(local)
        or "@" in local
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or len(value) > 254
    ):
        raise InvalidInput(
            "invalid email", [FieldError(field, f"{raw!r} is not an email address")], code="invalid-email"
        )
    return f"{local.casefold()}@{domain}"


def normalise_phone(raw: str, region: str | None = None, field: str = "customer.phone") -> str:
    """E.164 (``+447700900123``). A number without a country code needs ``region`` (ISO 3166 alpha-2)."""
    try:
        number = phonenumbers.parse(raw, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        hint = "" if region or raw.strip().startswith("+") else " (give it in international form, +<country code>)"
        raise InvalidInput(
            "invalid phone number",
            [FieldError(field, f"{raw!r} is not a valid phone number{hint}")],
            code="invalid-phone",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
