"""SSCC-18 numbers and the GS1-128 label data of a single-SKU carton."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import gs1_128
from stdnum.ean import calc_check_digit

from seamline.catalog.gs1 import (
    FNC1,
    carton_label,
    gs1_check_digit,
    make_sscc,
    normalise_sscc,
    serial_reference_digits,
    sscc_problem,
)

# The SSCC of the GS1 General Specifications' examples: extension 1, company prefix 0614141, serial 123456789.
GS1_EXAMPLE_SSCC = "106141411234567897"
CONTENTS_GTIN = "10614141000415"  # a GTIN-14 of the same company prefix (indicator 1)


def test_the_gs1_example_sscc_is_built_from_its_extension_prefix_and_serial() -> None:
    assert make_sscc("0614141", 123456789, extension_digit=1) == GS1_EXAMPLE_SSCC


@pytest.mark.parametrize(
    ("payload", "check"),
    [
        ("10614141123456789", "7"),  # the GS1 example SSCC
        ("03600029145", "2"),  # UPC-A 036000291452
        ("400638133393", "1"),  # EAN-13 4006381333931
        ("1003600029145", "9"),  # GTIN-14 10036000291459
        ("9638507", "4"),  # EAN-8 96385074
    ],
)
def test_gtins_and_ssccs_share_one_check_digit(payload: str, check: str) -> None:
    assert gs1_check_digit(payload) == check


@given(st.text(alphabet="0123456789", min_size=7, max_size=17))
def test_check_digit_agrees_with_python_stdnum_for_any_payload(payload: str) -> None:
    assert gs1_check_digit(payload) == calc_check_digit(payload)


@pytest.mark.parametrize(("prefix", "width"), [("0614141", 9), ("06141411", 8), ("061414112", 7), ("0614141123", 6)])
def test_the_serial_reference_fills_the_sixteen_digits_the_company_prefix_leaves(prefix: str, width: int) -> None:
    assert serial_reference_digits(prefix) == width
    sscc = make_sscc(prefix, 42, extension_digit=3)
    assert len(sscc) == 18
    assert sscc.startswith("3" + prefix)
    assert sscc[1 + len(prefix) : 17] == "42".zfill(width)
    assert sscc_problem(sscc) is None


def test_a_serial_reference_too_long_for_the_prefix_is_refused_not_truncated() -> None:
    with pytest.raises(ValueError, match=r"10-digit company prefix the serial reference has 6 digits: 0 to 999999"):
        make_sscc("0614141123", 1_000_000)


@pytest.mark.parametrize(
    ("prefix", "reason"),
    [("061414", "7 to 10 digits, not 6"), ("06141411234", "7 to 10 digits, not 11"), ("06141A1", "digits only")],
)
def test_a_company_prefix_outside_seven_to_ten_digits_is_refused(prefix: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        make_sscc(prefix, 1)


@pytest.mark.parametrize("extension", [-1, 10])
def test_the_extension_digit_is_a_single_digit(extension: int) -> None:
    with pytest.raises(ValueError, match="extension digit is 0-9"):
        make_sscc("0614141", 1, extension_digit=extension)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (GS1_EXAMPLE_SSCC, None),
        ("106141411234567890", "check digit of SSCC 106141411234567890 is wrong (expected 7)"),
        # the two cartons of the EdiFabric 856 fixture
        ("000010012345614785", "check digit of SSCC 000010012345614785 is wrong (expected 8)"),
        ("000010012378945698", "check digit of SSCC 000010012378945698 is wrong (expected 9)"),
        ("10614141123456789", "an SSCC has 18 digits, not 17"),
        ("1061414112345678970", "an SSCC has 18 digits, not 19"),
        ("10614141123456789X", "an SSCC has digits only"),
        ("１０６１４１４１１２３４５６７８９７", "an SSCC has digits only"),
        ("000000000000000000", "an all-zero SSCC is a placeholder, not a carton's number"),
    ],
)
def test_sscc_validation_names_the_precise_reason(value: str, reason: str | None) -> None:
    assert sscc_problem(value) == reason


@pytest.mark.parametrize("raw", ["(00)106141411234567897", "00106141411234567897", " 1 0614141 123456789 7 "])
def test_an_sscc_as_printed_or_scanned_with_its_ai_normalises_to_eighteen_digits(raw: str) -> None:
    assert normalise_sscc(raw) == GS1_EXAMPLE_SSCC


def test_normalising_a_bad_sscc_raises_its_reason() -> None:
    with pytest.raises(ValueError, match=r"expected 7"):
        normalise_sscc("(00)106141411234567890")


@given(
    st.sampled_from(["0614141", "06141411", "061414112", "0614141123"]).flatmap(
        lambda prefix: st.tuples(
            st.just(prefix), st.integers(0, 10 ** (16 - len(prefix)) - 1), st.integers(0, 9), st.data()
        )
    )
)
def test_every_generated_sscc_validates_and_any_one_digit_change_is_caught(
    case: tuple[str, int, int, st.DataObject],
) -> None:
    prefix, serial, extension, data = case
    sscc = make_sscc(prefix, serial, extension_digit=extension)
    assert sscc_problem(sscc) is None
    position = data.draw(st.integers(0, 17), label="position")
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != sscc[position]]), label="digit")
    changed = sscc[:position] + digit + sscc[position + 1 :]
    problem = sscc_problem(changed)
    assert problem is not None
    assert "check digit" in problem or "all-zero" in problem


def test_full_carton_label_reads_in_ai_order_with_fnc1_after_each_variable_field_but_the_last() -> None:
    label = carton_label(GS1_EXAMPLE_SSCC, CONTENTS_GTIN, 24, purchase_order="PO-7781", ship_to_postcode="10001")
    assert label.human_readable == "(00)106141411234567897(02)10614141000415(37)24(400)PO-7781(420)10001"
    assert label.element_string == (
        "00106141411234567897" + "0210614141000415" + "3724" + FNC1 + "400PO-7781" + FNC1 + "42010001"
    )


def test_label_without_po_or_postcode_ends_on_the_count_with_no_trailing_fnc1() -> None:
    label = carton_label(GS1_EXAMPLE_SSCC, CONTENTS_GTIN, 6)
    assert label.human_readable == "(00)106141411234567897(02)10614141000415(37)6"
    assert label.element_string == "00106141411234567897021061414100041537" + "6"
    assert FNC1 not in label.element_string


def test_label_with_only_the_postcode_separates_the_count_from_it() -> None:
    label = carton_label(GS1_EXAMPLE_SSCC, CONTENTS_GTIN, 12, ship_to_postcode="SW1A1AA")
    assert label.element_string.endswith("3712" + FNC1 + "420SW1A1AA")


def test_element_string_decodes_back_to_the_same_fields_with_python_stdnum() -> None:
    label = carton_label(GS1_EXAMPLE_SSCC, CONTENTS_GTIN, 24, purchase_order="PO-7781", ship_to_postcode="10001")
    assert gs1_128.info(label.element_string, separator=FNC1) == {
        "00": GS1_EXAMPLE_SSCC,
        "02": CONTENTS_GTIN,
        "37": 24,
        "400": "PO-7781",
        "420": "10001",
    }
    assert label.element_string == gs1_128.encode(
        {"00": GS1_EXAMPLE_SSCC, "02": CONTENTS_GTIN, "37": 24, "400": "PO-7781", "420": "10001"}, separator=FNC1
    )


def test_a_upc_content_gtin_is_written_as_its_gtin_14() -> None:
    label = carton_label(GS1_EXAMPLE_SSCC, "036000291452", 10)
    assert label.gtin == "00036000291452"
    assert "(02)00036000291452" in label.human_readable


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"sscc": "106141411234567890"}, r"^\(00\): check digit of SSCC 106141411234567890 is wrong \(expected 7\)$"),
        ({"gtin": "10614141000416"}, r"^\(02\): check digit of 10614141000416 is wrong \(expected 5\)$"),
        ({"count": 0}, r"^\(37\): the count of trade items is 1 to 99999999, not 0$"),
        ({"count": 100_000_000}, r"^\(37\): .* not 100000000$"),
        ({"purchase_order": "P" * 31}, r"^\(400\): at most 30 characters, not 31$"),
        ({"purchase_order": "PO 12"}, r"^\(400\): ' ' is not in GS1 character set 82$"),
        ({"purchase_order": ""}, r"^\(400\): leave it out"),
        ({"ship_to_postcode": "1" * 21}, r"^\(420\): at most 20 characters, not 21$"),
        ({"ship_to_postcode": "75001~"}, r"^\(420\): '~' is not in GS1 character set 82$"),
    ],
)
def test_label_refusals_name_the_ai_and_the_rule(kwargs: dict[str, object], reason: str) -> None:
    arguments: dict[str, object] = {"sscc": GS1_EXAMPLE_SSCC, "gtin": CONTENTS_GTIN, "count": 1, **kwargs}
    with pytest.raises(ValueError, match=reason):
        carton_label(**arguments)  # type: ignore[arg-type]
