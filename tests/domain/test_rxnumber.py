import pytest
from hypothesis import given
from hypothesis import strategies as st

from pharmacy.domain.errors import ValidationFailed
from pharmacy.domain.rxnumber import RxNumber, check_char, format_rx_number, parse_rx_number


def test_format_pads_to_six_digits_with_check_letter():
    assert format_rx_number(123) == "RX000123L"
    assert format_rx_number(123, fill=1) == "RX000123L-01"
    assert format_rx_number(123, fill=12) == "RX000123L-12"
    assert format_rx_number(1234567) == f"RX1234567{check_char(1234567)}"


def test_parse_accepts_what_people_type():
    assert parse_rx_number("RX000123L") == RxNumber(123, None)
    assert parse_rx_number(" rx 123 l - 3 ") == RxNumber(123, 3)
    assert parse_rx_number("RX-000123L-01") == RxNumber(123, 1)
    assert str(RxNumber(123, 3)) == "RX000123L-03"
    assert RxNumber(123, 3).base == "RX000123L"


@pytest.mark.parametrize("text", ["RX000124L", "RX000132L", "RX001023L"])
def test_typo_or_swapped_digits_fail_the_check_letter(text):
    with pytest.raises(ValidationFailed) as exc:
        parse_rx_number(text)
    assert exc.value.errors[0].field == "rx_number"
    assert "check letter" in exc.value.errors[0].message


@pytest.mark.parametrize(
    "text", ["", "123", "RX", "RXABC", "RX000123L-", "RX000123L-001", "X000123L", None]
)
def test_malformed_numbers_are_refused(text):
    with pytest.raises(ValidationFailed):
        parse_rx_number(text)


def test_missing_check_letter_only_allowed_when_asked():
    with pytest.raises(ValidationFailed, match="missing its check letter"):
        parse_rx_number("RX000123")
    assert parse_rx_number("RX000123", require_check=False) == RxNumber(123, None)
    with pytest.raises(ValidationFailed):
        parse_rx_number("RX000123M", require_check=False)


def test_zero_sequence_and_fill_zero_are_refused():
    with pytest.raises(ValidationFailed):
        parse_rx_number("RX000000A")
    with pytest.raises(ValidationFailed, match="fill numbers start at 01"):
        parse_rx_number(f"RX000123{check_char(123)}-00")


@pytest.mark.parametrize(
    "sequence,fill", [(0, None), (-1, None), (True, None), (1, 0), (1, 100), (10**22, None)]
)
def test_format_refuses_out_of_range(sequence, fill):
    with pytest.raises(ValueError):
        format_rx_number(sequence, fill=fill)


@given(st.integers(1, 10**22 - 1), st.one_of(st.none(), st.integers(1, 99)))
def test_format_parse_round_trip(sequence, fill):
    text = format_rx_number(sequence, fill=fill)
    assert parse_rx_number(text) == RxNumber(sequence, fill)
    assert parse_rx_number(text.lower()) == RxNumber(sequence, fill)


@given(st.integers(10, 10**12), st.data())
def test_single_digit_errors_and_adjacent_swaps_are_detected(sequence, data):
    digits = str(sequence)
    i = data.draw(st.integers(0, len(digits) - 1))
    new = data.draw(st.sampled_from([d for d in "0123456789" if d != digits[i]]))
    typo = digits[:i] + new + digits[i + 1 :]
    if int(typo) > 0:
        assert check_char(int(typo)) != check_char(sequence)
    j = data.draw(st.integers(0, len(digits) - 2))
    swapped = digits[:j] + digits[j + 1] + digits[j] + digits[j + 2 :]
    if swapped != digits:
        assert check_char(int(swapped)) != check_char(sequence)
