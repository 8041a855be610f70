"""GTINs are stored as GTIN-14 so a 12-digit UPC and its 13-digit EAN form are the same key."""

from __future__ import annotations

_WEIGHTS = (3, 1) * 7  # GS1 mod-10, from the digit next to the check digit leftwards


def check_digit(body: str) -> str:
    """The GS1 check digit of ``body`` (the GTIN without its last digit)."""
    total = sum(w * (ord(d) - 48) for w, d in zip(_WEIGHTS, reversed(body), strict=False))
    return str((10 - total % 10) % 10)


def normalise_gtin(raw: str) -> str:
    """Validate a GTIN-8/12/13/14 (GS1 check digit) and return its 14-digit form.

    Raises ``ValueError`` with a reason a merchandiser can act on.
    """
    digits = raw.strip().replace(" ", "").replace("-", "")
    # str.isdigit() also accepts fullwidth and other non-ASCII digits, which would store a GTIN no scanner sends.
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError("a GTIN has digits only")
    if len(digits) not in (8, 12, 13, 14):
        raise ValueError(f"a GTIN has 8, 12, 13 or 14 digits, not {len(digits)}")
    if not digits.strip("0"):
        raise ValueError("an all-zero GTIN is a placeholder, not a product's number")
    # Computed here rather than through python-stdnum: an import checks 100k of them (issue 18's profile).
    expected = check_digit(digits[:-1])
    if digits[-1] != expected:
        raise ValueError(f"check digit of {digits} is wrong (expected {expected})")
    return digits.zfill(14)
