"""National Provider Identifier: 10 digits, the last a Luhn check digit.

CMS computes the check digit over the 9 identifier digits prefixed with "80840" (the
ISO 7812 card-issuer prefix for US health applications). The prefix adds a constant 24 to the
Luhn sum, which is why a plain Luhn over the 10 digits gives the wrong answer.
"""

from __future__ import annotations

from pharmacy.domain.errors import ValidationFailed

_PREFIX_SUM = 24


def _luhn_sum(digits: str) -> int:
    # Double every second digit counting from the right-most digit of `digits`, which is the
    # position next to the (absent) check digit.
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total


def check_digit(first_nine: str) -> str:
    if len(first_nine) != 9 or not first_nine.isascii() or not first_nine.isdigit():
        raise ValueError("an NPI check digit is computed from exactly 9 digits")
    return str((10 - (_PREFIX_SUM + _luhn_sum(first_nine)) % 10) % 10)


def is_valid_npi(value: str) -> bool:
    return (
        isinstance(value, str)
        and len(value) == 10
        and value.isascii()
        and value.isdigit()
        and check_digit(value[:9]) == value[9]
    )


def validate_npi(value: str, field: str = "npi") -> str:
    """The NPI with surrounding spaces removed, or ValidationFailed naming `field`."""
    npi = value.strip() if isinstance(value, str) else ""
    if not (len(npi) == 10 and npi.isascii() and npi.isdigit()):
        raise ValidationFailed.single(field, "an NPI is exactly 10 digits")
    if check_digit(npi[:9]) != npi[9]:
        # The expected digit is not shown: it would invite fixing a typo by editing the last digit.
        raise ValidationFailed.single(
            field, f"NPI {npi} fails the check-digit test; a digit is probably mistyped"
        )
    return npi
