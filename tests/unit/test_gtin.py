"""GTINs are GS1 check-digit validated and stored as GTIN-14."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.ean import calc_check_digit

from seamline.catalog import normalise_gtin


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("96385074", "00000096385074"),  # GTIN-8 (EAN-8)
        ("036000291452", "00036000291452"),  # GTIN-12 (UPC-A)
        ("4006381333931", "04006381333931"),  # GTIN-13 (EAN-13)
        ("10036000291459", "10036000291459"),  # GTIN-14 (case of the UPC above)
    ],
)
def test_valid_gtin_of_each_length_normalises_to_fourteen_digits(raw: str, expected: str) -> None:
    assert normalise_gtin(raw) == expected


def test_upc_and_its_ean13_form_normalise_to_the_same_key() -> None:
    assert normalise_gtin("036000291452") == normalise_gtin("0036000291452")


def test_spaces_hyphens_and_surrounding_whitespace_are_ignored() -> None:
    assert normalise_gtin("  4006-3813 33931\n") == "04006381333931"


def test_gtin_with_wrong_check_digit_is_rejected_with_expected_digit() -> None:
    with pytest.raises(ValueError, match=r"check digit of 4006381333932 is wrong \(expected 1\)"):
        normalise_gtin("4006381333932")


@pytest.mark.parametrize("raw", ["400638133393A", "ABCDEFGH", "4006381333931!", "", "   "])
def test_gtin_with_letters_symbols_or_nothing_is_rejected_as_digits_only(raw: str) -> None:
    with pytest.raises(ValueError, match="a GTIN has digits only"):
        normalise_gtin(raw)


@pytest.mark.parametrize("raw", ["４００６３８１３３３９３１", "٤٠٠٦٣٨١٣٣٣٩٣١", "400638133393¹"])
def test_non_ascii_digits_are_rejected_as_digits_only(raw: str) -> None:
    # str.isdigit() is true for these; storing them would create a key no scanner ever sends.
    with pytest.raises(ValueError, match="a GTIN has digits only"):
        normalise_gtin(raw)


@pytest.mark.parametrize("length", [1, 6, 7, 9, 10, 11, 15, 18])
def test_gtin_of_a_length_gs1_does_not_define_is_rejected_naming_the_length(length: int) -> None:
    with pytest.raises(ValueError, match=rf"8, 12, 13 or 14 digits, not {length}$"):
        normalise_gtin("1" * length)


bodies = (
    st.sampled_from([7, 11, 12, 13])
    .flatmap(lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n))
    .filter(lambda body: body.strip("0"))  # all zeros is refused as a placeholder (tested on its own)
)


@given(bodies)
def test_any_body_with_its_computed_check_digit_validates_and_round_trips(body: str) -> None:
    gtin = body + calc_check_digit(body)
    normalised = normalise_gtin(gtin)
    assert len(normalised) == 14
    assert normalised.lstrip("0") == gtin.lstrip("0")
    assert normalise_gtin(normalised) == normalised, "the stored form is itself a valid GTIN"


@given(bodies, st.data())
def test_any_single_digit_change_of_a_valid_gtin_is_rejected(body: str, data: st.DataObject) -> None:
    gtin = body + calc_check_digit(body)
    position = data.draw(st.integers(min_value=0, max_value=len(gtin) - 1), label="position")
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != gtin[position]]), label="digit")
    changed = gtin[:position] + digit + gtin[position + 1 :]
    with pytest.raises(ValueError, match="check digit"):
        normalise_gtin(changed)


def test_all_zero_gtin_is_refused_as_a_placeholder() -> None:
    with pytest.raises(ValueError, match="all-zero"):
        normalise_gtin("00000000")
