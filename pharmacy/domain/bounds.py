"""Edge bounds for every value that arrives from outside: numbers, text, dates, JSON shape.

Each check returns a message (the rule broken) or None. The web edge and the database
backstop both use them, so a value is refused with the same words wherever it is caught.
Far wider than any real pharmacy quantity; the domain rules apply the real limits after.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

MAX_INTEGER_DIGITS = 12  # digits before the decimal point
MAX_PLACES = 8  # digits after it
INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # the databases' INTEGER columns
DATE_MIN, DATE_MAX = date(1900, 1, 1), date(2199, 12, 31)
MAX_TEXT = 20_000  # characters in one value
MAX_JSON_DEPTH = 20
ALLOWED_CONTROLS = frozenset("\t\n\r")


def text_problem(value: str, multiline: bool = True) -> str | None:
    if len(value) > MAX_TEXT:
        return f"is too long (at most {MAX_TEXT} characters)"
    for ch in value:
        code = ord(ch)
        if code < 0x20 or code == 0x7F:
            if multiline and ch in ALLOWED_CONTROLS:
                continue
            return "must not contain control characters"
        if 0xD800 <= code <= 0xDFFF:
            return "contains an invalid character (a lone surrogate)"
    return None


def decimal_problem(value: Decimal) -> str | None:
    if not value.is_finite():
        return "must be a finite number"
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    # Trailing zeros say nothing ("1.50000" is 1.5): count only the significant digits.
    kept = len(digits)
    while kept > 1 and digits[kept - 1] == 0:
        kept -= 1
    digits, exponent = digits[:kept], exponent + len(digits) - kept
    if any(digits) and len(digits) + exponent > MAX_INTEGER_DIGITS:
        return f"is out of range (at most {MAX_INTEGER_DIGITS} digits before the decimal point)"
    if any(digits) and -exponent > MAX_PLACES:
        return f"has too many decimal places (at most {MAX_PLACES})"
    return None


def int_problem(value: int) -> str | None:
    if not INT_MIN <= value <= INT_MAX:
        return f"is out of range ({INT_MIN} to {INT_MAX})"
    return None


def date_problem(value: date) -> str | None:
    if not DATE_MIN <= value <= DATE_MAX:
        return f"must be between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}"
    return None
