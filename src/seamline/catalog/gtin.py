"""GTINs are stored as GTIN-14 so a 12-digit UPC and its 13-digit EAN form are the same key."""

from __future__ import annotations

from stdnum import ean
from stdnum.exceptions import ValidationError


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
    try:
        ean.validate(digits)
    except ValidationError:
        raise ValueError(f"check digit of {digits} is wrong (expected {ean.calc_check_digit(digits[:-1])})") from None
    return digits.zfill(14)
