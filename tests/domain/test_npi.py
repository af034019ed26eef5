import pytest
from hypothesis import given
from hypothesis import strategies as st

from pharmacy.domain.errors import ValidationFailed
from pharmacy.domain.npi import check_digit, is_valid_npi, validate_npi


def luhn_valid(number: str) -> bool:
    """Independent oracle: the textbook Luhn test over the full card-style number."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def test_cms_example_is_valid():
    assert check_digit("123456789") == "3"
    assert is_valid_npi("1234567893")
    assert validate_npi(" 1234567893 ") == "1234567893"


@pytest.mark.parametrize("npi", ["1234567890", "1234567894", "1234567839", "2234567893"])
def test_wrong_check_digit_or_typo_is_invalid(npi):
    assert not is_valid_npi(npi)
    with pytest.raises(ValidationFailed) as exc:
        validate_npi(npi, field="prescriber_npi")
    assert [e.field for e in exc.value.errors] == ["prescriber_npi"]
    assert "check-digit" in exc.value.errors[0].message


@pytest.mark.parametrize(
    "npi", ["", "123456789", "12345678931", "123456789a", "１２３４５６７８９３", None]
)
def test_wrong_shape_is_invalid(npi):
    assert not is_valid_npi(npi)
    with pytest.raises(ValidationFailed) as exc:
        validate_npi(npi)
    assert exc.value.errors[0].field == "npi"
    assert exc.value.errors[0].message == "an NPI is exactly 10 digits"


def test_plain_luhn_without_prefix_would_disagree():
    # The 80840 prefix matters: the CMS example fails a plain Luhn over its own 10 digits.
    assert not luhn_valid("1234567893")
    assert luhn_valid("808401234567893")


@given(st.from_regex(r"[0-9]{9}", fullmatch=True))
def test_generated_npis_validate_and_match_prefixed_luhn(first_nine):
    npi = first_nine + check_digit(first_nine)
    assert is_valid_npi(npi)
    assert luhn_valid("80840" + npi)


@given(st.from_regex(r"[0-9]{9}", fullmatch=True), st.integers(0, 9), st.integers(1, 9))
def test_any_single_digit_change_is_caught(first_nine, position, delta):
    npi = first_nine + check_digit(first_nine)
    changed = npi[:position] + str((int(npi[position]) + delta) % 10) + npi[position + 1 :]
    assert not is_valid_npi(changed)


def test_check_digit_needs_nine_digits():
    with pytest.raises(ValueError):
        check_digit("12345678")
