"""The shared vocabulary of the core: money, quantities and the injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.domain import FieldError, FixedClock, InvalidInput, Money, parse_currency, require_positive_qty
from seamline.domain.clock import SystemClock, ensure_utc


def field_errors(exc: pytest.ExceptionInfo[InvalidInput]) -> list[tuple[str, str]]:
    return [(e.field, e.message) for e in exc.value.errors]


# ---------------------------------------------------------------------------------------------- Money.parse


@pytest.mark.parametrize(
    ("raw", "currency", "expected"),
    [
        ("49.00", "EUR", Decimal("49.00")),
        ("49", "EUR", Decimal("49.00")),
        ("49.5", "GBP", Decimal("49.50")),
        ("0", "USD", Decimal("0.00")),
        (49, "EUR", Decimal("49.00")),
        (Decimal("12.3"), "EUR", Decimal("12.30")),
        ("1500", "JPY", Decimal("1500")),
        ("1.250", "KWD", Decimal("1.250")),
    ],
)
def test_decimal_string_int_or_decimal_parses_to_the_currencys_minor_units(
    raw: object, currency: str, expected: Decimal
) -> None:
    money = Money.parse(raw, currency)
    assert money == Money(expected, currency)
    assert money.amount.as_tuple().exponent == expected.as_tuple().exponent, "scale follows the currency exponent"


def test_money_prints_amount_then_currency() -> None:
    assert str(Money.parse("49", "EUR")) == "49.00 EUR"
    assert str(Money.parse("1500", "JPY")) == "1500 JPY"


@pytest.mark.parametrize("raw", [49.0, 0.1, float("nan"), True, False, None, [49], {"amount": "49"}])
def test_float_bool_and_non_numeric_types_are_rejected_as_not_a_decimal_string(raw: object) -> None:
    with pytest.raises(InvalidInput) as exc:
        Money.parse(raw, "EUR")
    assert field_errors(exc) == [("amount", 'must be a decimal string such as "49.00"')]


def test_jpy_has_no_minor_units_so_fractional_yen_is_rejected() -> None:
    with pytest.raises(InvalidInput) as exc:
        Money.parse("1500.50", "JPY")
    assert field_errors(exc) == [("amount", "JPY has 0 decimal places at most")]


def test_three_decimal_places_are_rejected_for_eur_but_accepted_for_bhd() -> None:
    with pytest.raises(InvalidInput) as exc:
        Money.parse("1.005", "EUR")
    assert field_errors(exc) == [("amount", "EUR has 2 decimal places at most")]
    assert Money.parse("1.005", "BHD").amount == Decimal("1.005")


def test_trailing_zeros_beyond_the_exponent_are_not_extra_precision() -> None:
    assert Money.parse("1500.00", "JPY").amount == Decimal("1500")
    assert Money.parse("49.000", "EUR").amount == Decimal("49.00")


def test_negative_amount_keeps_its_sign_since_refunds_and_credits_are_money_too() -> None:
    assert Money.parse("-5.5", "EUR").amount == Decimal("-5.50")


@pytest.mark.parametrize("raw", ["abc", "", "49,00", "4 9", "49.00 EUR", "€49"])
def test_garbage_strings_are_rejected_as_not_a_decimal_number(raw: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        Money.parse(raw, "EUR")
    assert field_errors(exc) == [("amount", "is not a decimal number")]


@pytest.mark.parametrize("raw", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_strings_are_rejected_as_not_a_decimal_number(raw: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        Money.parse(raw, "EUR")
    assert field_errors(exc) == [("amount", "is not a decimal number")]


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_decimals_are_rejected_as_not_finite(raw: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        Money.parse(Decimal(raw), "EUR")
    assert field_errors(exc) == [("amount", "must be finite")]


@pytest.mark.parametrize("raw", [Decimal("9" * 40), Decimal("1e999999")])
def test_amount_beyond_decimal_precision_is_invalid_input_not_a_crash(raw: Decimal) -> None:
    with pytest.raises(InvalidInput) as exc:
        Money.parse(raw, "EUR")
    assert field_errors(exc) == [("amount", "is too large")]


def test_amount_error_names_the_field_the_caller_passed() -> None:
    with pytest.raises(InvalidInput) as exc:
        Money.parse("x", "EUR", field="lines[2].unit_price")
    assert exc.value.errors[0].field == "lines[2].unit_price"


@pytest.mark.parametrize("currency", ["eur", "EU", "EURO", "E1R", "", "ÉUR"])
def test_currency_that_is_not_three_upper_case_ascii_letters_is_rejected(currency: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        Money.parse("1.00", currency)
    assert exc.value.errors == [FieldError("currency", "must be an ISO 4217 code such as EUR")]


def test_parse_currency_returns_a_valid_code_unchanged() -> None:
    assert parse_currency("SEK") == "SEK"


@given(st.integers(min_value=-(10**12) + 1, max_value=10**12 - 1))
def test_any_whole_number_of_cents_round_trips_through_its_string(cents: int) -> None:
    text = f"{'-' if cents < 0 else ''}{abs(cents) // 100}.{abs(cents) % 100:02d}"
    money = Money.parse(text, "EUR")
    assert money.amount * 100 == cents
    assert str(money.amount) == text


# ------------------------------------------------------------------------------------- require_positive_qty


@pytest.mark.parametrize("qty", [1, 7, 10**9])
def test_positive_integer_quantity_is_returned_as_is(qty: int) -> None:
    assert require_positive_qty(qty) == qty


@pytest.mark.parametrize("qty", [True, False, 1.0, 2.5, "3", None, Decimal(1)])
def test_bool_float_string_and_decimal_quantities_are_rejected_as_not_integers(qty: object) -> None:
    with pytest.raises(InvalidInput) as exc:
        require_positive_qty(qty)
    assert field_errors(exc) == [("qty", "must be an integer")]


@pytest.mark.parametrize("qty", [0, -1, -100])
def test_zero_and_negative_quantities_are_rejected_as_not_positive(qty: int) -> None:
    with pytest.raises(InvalidInput) as exc:
        require_positive_qty(qty, field="lines[0].qty")
    assert field_errors(exc) == [("lines[0].qty", "must be greater than 0")]


# ----------------------------------------------------------------------------------------------------- clock


def test_fixed_clock_stands_still_until_advanced_by_hand() -> None:
    start = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    clock = FixedClock(start)
    assert clock.now() == start
    assert clock.now() == start
    clock.advance(90)
    assert clock.now() == start + timedelta(seconds=90)
    clock.advance(0.5)
    assert clock.now() == start + timedelta(seconds=90.5)


def test_fixed_clock_refuses_a_naive_start() -> None:
    with pytest.raises(ValueError, match="aware"):
        FixedClock(datetime(2026, 11, 27, 8, 0))  # noqa: DTZ001 - the naive datetime is the point


def test_system_clock_answers_utc_aware_time() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)


def test_ensure_utc_converts_offsets_to_utc_and_rejects_naive_times() -> None:
    paris = datetime(2026, 11, 27, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    converted = ensure_utc(paris)
    assert converted == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    assert converted.utcoffset() == timedelta(0)
    with pytest.raises(ValueError, match="naive"):
        ensure_utc(datetime(2026, 11, 27, 9, 0))  # noqa: DTZ001 - the naive datetime is the point


@pytest.mark.parametrize("raw", ["1_000.00", "1e2", " 49.00 ", "４９", "49.", ".5", "+49"])
def test_money_on_the_wire_is_a_plain_decimal_string(raw: str) -> None:
    with pytest.raises(InvalidInput):
        Money.parse(raw, "EUR")


def test_money_amount_beyond_the_stored_precision_is_refused_not_truncated() -> None:
    with pytest.raises(InvalidInput) as exc:
        Money.parse("10000000000.00", "EUR")
    assert "less than" in exc.value.errors[0].message
    assert Money.parse("9999999999.99", "EUR").amount == Decimal("9999999999.99")
