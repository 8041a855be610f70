"""GS1 numbers for logistic units: SSCC-18 and the GS1-128 carton label of a single-SKU carton.

An SSCC is extension digit + GS1 company prefix (7-10 digits) + serial reference (filling 16 digits with
the prefix) + check digit. It shares the GS1 mod-10 check digit with GTINs (weights 3, 1, 3, ... from the
right), so a number that is a valid GTIN payload is checked the same way.

The label data follows the GS1 Logistic Label guideline for a carton of one trade item: (00) SSCC,
(02) GTIN of the contents, (37) count of trade items, optionally (400) customer purchase order and
(420) ship-to postal code. Fixed-length AIs come first; each variable-length AI (37, 400, 420) is
terminated by FNC1 except the last one, which the symbol's end terminates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from seamline.catalog.gtin import normalise_gtin

#: FNC1 as it appears in a GS1 element string once scanned (ASCII 29, "group separator").
FNC1 = "\x1d"

SSCC_LENGTH = 18
#: GS1 AI encodable character set 82: the characters (400) and (420) may carry.
_CSET82 = re.compile(r"^[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]*$")
_MAX_COUNT = 99_999_999  # (37) is n..8
_VARIABLE_LENGTH_AIS = frozenset({"37", "400", "420"})


def gs1_check_digit(payload: str) -> str:
    """The GS1 mod-10 check digit of ``payload`` (all digits, without its check digit)."""
    if not (payload.isascii() and payload.isdigit()):
        raise ValueError("a GS1 number has digits only")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(payload)))
    return str((10 - total % 10) % 10)


def serial_reference_digits(company_prefix: str) -> int:
    """How many serial reference digits an SSCC leaves after this company prefix (16 digits in all)."""
    _check_company_prefix(company_prefix)
    return 16 - len(company_prefix)


def make_sscc(company_prefix: str, serial_reference: int, extension_digit: int = 0) -> str:
    """Build an SSCC-18 from a GS1 company prefix, a serial reference and an extension digit.

    The serial reference is left-padded with zeros to fill its place; one that does not fit is an error
    rather than a silently truncated (and therefore duplicated) number.
    """
    width = serial_reference_digits(company_prefix)
    if not 0 <= extension_digit <= 9:
        raise ValueError(f"the extension digit is 0-9, not {extension_digit}")
    if not 0 <= serial_reference < 10**width:
        raise ValueError(
            f"with a {len(company_prefix)}-digit company prefix the serial reference has {width} digits: "
            f"0 to {10**width - 1}, not {serial_reference}"
        )
    payload = f"{extension_digit}{company_prefix}{serial_reference:0{width}d}"
    return payload + gs1_check_digit(payload)


def sscc_problem(value: str) -> str | None:
    """Why ``value`` is not a valid SSCC-18, or None when it is one."""
    if not (value.isascii() and value.isdigit()):
        return "an SSCC has digits only"
    if len(value) != SSCC_LENGTH:
        return f"an SSCC has {SSCC_LENGTH} digits, not {len(value)}"
    if not value.strip("0"):
        return "an all-zero SSCC is a placeholder, not a carton's number"
    expected = gs1_check_digit(value[:-1])
    if value[-1] != expected:
        return f"check digit of SSCC {value} is wrong (expected {expected})"
    return None


def normalise_sscc(raw: str) -> str:
    """Accept an SSCC as printed or scanned, "(00)" or AI "00" included, and return its 18 digits.

    Raises ``ValueError`` with the reason from :func:`sscc_problem`.
    """
    digits = raw.strip().replace(" ", "")
    if digits.startswith("(00)"):
        digits = digits[4:]
    elif len(digits) == SSCC_LENGTH + 2 and digits.startswith("00"):
        digits = digits[2:]
    problem = sscc_problem(digits)
    if problem is not None:
        raise ValueError(problem)
    return digits


def _check_company_prefix(company_prefix: str) -> None:
    if not (company_prefix.isascii() and company_prefix.isdigit()):
        raise ValueError("a GS1 company prefix has digits only")
    if not 7 <= len(company_prefix) <= 10:
        raise ValueError(f"a GS1 company prefix has 7 to 10 digits, not {len(company_prefix)}")


@dataclass(frozen=True, slots=True)
class CartonLabel:
    """The data of a single-SKU carton's GS1-128 label; build it with :func:`carton_label`."""

    sscc: str
    gtin: str
    count: int
    purchase_order: str | None = None
    ship_to_postcode: str | None = None

    def elements(self) -> list[tuple[str, str]]:
        """(AI, value) pairs in label order: fixed-length first, then the variable-length ones."""
        pairs = [("00", self.sscc), ("02", self.gtin), ("37", str(self.count))]
        if self.purchase_order is not None:
            pairs.append(("400", self.purchase_order))
        if self.ship_to_postcode is not None:
            pairs.append(("420", self.ship_to_postcode))
        return pairs

    @property
    def human_readable(self) -> str:
        """The text printed under the bars: ``(00)…(02)…(37)…``."""
        return "".join(f"({ai}){value}" for ai, value in self.elements())

    @property
    def element_string(self) -> str:
        """What the symbol encodes after its start FNC1: variable-length fields end with FNC1 unless last."""
        pairs = self.elements()
        parts: list[str] = []
        for index, (ai, value) in enumerate(pairs):
            parts.append(ai + value)
            if ai in _VARIABLE_LENGTH_AIS and index < len(pairs) - 1:
                parts.append(FNC1)
        return "".join(parts)


def carton_label(
    sscc: str,
    gtin: str,
    count: int,
    *,
    purchase_order: str | None = None,
    ship_to_postcode: str | None = None,
) -> CartonLabel:
    """Validate and assemble a carton label; each refusal names the AI and the rule it breaks."""
    try:
        sscc = normalise_sscc(sscc)
    except ValueError as exc:
        raise ValueError(f"(00): {exc}") from None
    try:
        gtin = normalise_gtin(gtin)
    except ValueError as exc:
        raise ValueError(f"(02): {exc}") from None
    if isinstance(count, bool) or not 1 <= count <= _MAX_COUNT:
        raise ValueError(f"(37): the count of trade items is 1 to {_MAX_COUNT}, not {count}")
    purchase_order = _cset82("400", purchase_order, 30)
    ship_to_postcode = _cset82("420", ship_to_postcode, 20)
    return CartonLabel(sscc, gtin, count, purchase_order, ship_to_postcode)


def _cset82(ai: str, value: str | None, max_length: int) -> str | None:
    if value is None:
        return None
    if not value:
        raise ValueError(f"({ai}): leave it out rather than send it empty")
    if len(value) > max_length:
        raise ValueError(f"({ai}): at most {max_length} characters, not {len(value)}")
    if not _CSET82.match(value):
        bad = next(c for c in value if not _CSET82.match(c))
        raise ValueError(f"({ai}): {bad!r} is not in GS1 character set 82")
    return value
