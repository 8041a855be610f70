"""Money is a Decimal amount with an ISO 4217 currency; floats never touch it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from seamline.domain.errors import FieldError, InvalidInput

# Minor units per ISO 4217 for the currencies whose exponent is not 2.
_EXPONENTS = {
    "JPY": 0,
    "KRW": 0,
    "ISK": 0,
    "CLP": 0,
    "VND": 0,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
}


_AMOUNT_RE = re.compile(r"^-?[0-9]{1,18}(\.[0-9]{1,18})?$")
#: Amounts are stored as NUMERIC(14, 4): ten digits before the point.
MAX_AMOUNT = 10**10


def parse_currency(code: str, field: str = "currency") -> str:
    if not (isinstance(code, str) and len(code) == 3 and code.isascii() and code.isalpha() and code.isupper()):
        raise InvalidInput("bad currency", [FieldError(field, "must be an ISO 4217 code such as EUR")])
    return code


def minor_exponent(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def parse(cls, amount: object, currency: str, field: str = "amount") -> Money:
        currency = parse_currency(currency)
        if isinstance(amount, float | bool) or not isinstance(amount, str | int | Decimal):
            raise InvalidInput("bad amount", [FieldError(field, 'must be a decimal string such as "49.00"')])
        if isinstance(amount, str) and not _AMOUNT_RE.match(amount):
            # Decimal() also takes "1_000", "1e2", " 49 ", "NaN" and non-ASCII digits; money on the wire does not.
            raise InvalidInput("bad amount", [FieldError(field, "is not a decimal number")])
        try:
            value = Decimal(amount)
        except InvalidOperation:
            raise InvalidInput("bad amount", [FieldError(field, "is not a decimal number")]) from None
        if not value.is_finite():
            raise InvalidInput("bad amount", [FieldError(field, "must be finite")])
        exponent = minor_exponent(currency)
        try:
            quantized = value.quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_HALF_EVEN)
        except InvalidOperation:  # more digits than the decimal context holds
            raise InvalidInput("bad amount", [FieldError(field, "is too large")]) from None
        if abs(quantized) >= MAX_AMOUNT:
            raise InvalidInput("bad amount", [FieldError(field, f"must be less than {MAX_AMOUNT:,}")])
        if value != quantized:
            raise InvalidInput("bad amount", [FieldError(field, f"{currency} has {exponent} decimal places at most")])
        return cls(quantized, currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
