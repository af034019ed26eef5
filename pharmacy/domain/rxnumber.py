"""Human-friendly Rx numbers: "RX000123K", and "RX000123K-01" for a fill.

The trailing letter is a check character, so a number read over the phone or typed into the
search box with one wrong digit, or two neighbouring digits swapped, is rejected instead of
finding another patient's prescription. It is a weighted sum mod 23 (a prime, so every weight
1..22 is invertible) over a 23-letter alphabet without I, O and U, which are easily misread.
Fill numbers start at 1 for the first fill.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pharmacy.domain.errors import ValidationFailed

PREFIX = "RX"
MIN_DIGITS = 6
MAX_DIGITS = 22  # weights must stay below the modulus for the check to catch every error
MAX_FILL = 99
_ALPHABET = "ABCDEFGHJKLMNPQRSTVWXYZ"
_PATTERN = re.compile(r"RX\s*-?\s*(\d{1,22})\s*([A-Z])?(?:\s*-\s*(\d{1,2}))?")


def check_char(sequence: int) -> str:
    digits = str(sequence)
    total = sum(int(d) * weight for weight, d in enumerate(reversed(digits), start=1))
    return _ALPHABET[total % len(_ALPHABET)]


@dataclass(frozen=True)
class RxNumber:
    sequence: int
    fill: int | None = None

    def __str__(self) -> str:
        return format_rx_number(self.sequence, fill=self.fill)

    @property
    def base(self) -> str:
        """The prescription's number without the fill suffix."""
        return format_rx_number(self.sequence)


def format_rx_number(sequence: int, *, fill: int | None = None) -> str:
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
        raise ValueError("an Rx sequence is a whole number of at least 1")
    if len(str(sequence)) > MAX_DIGITS:
        raise ValueError(f"an Rx sequence has at most {MAX_DIGITS} digits")
    text = f"{PREFIX}{sequence:0{MIN_DIGITS}d}{check_char(sequence)}"
    if fill is None:
        return text
    if isinstance(fill, bool) or not isinstance(fill, int) or not 1 <= fill <= MAX_FILL:
        raise ValueError(f"a fill number is from 1 to {MAX_FILL}")
    return f"{text}-{fill:02d}"


def parse_rx_number(text: str, *, require_check: bool = True, field: str = "rx_number") -> RxNumber:
    """Read an Rx number as typed: any case, spaces around the parts, fewer leading zeros.

    `require_check=False` suits a search box: a missing check letter is accepted, a wrong one
    never is.
    """
    match = _PATTERN.fullmatch(text.strip().upper()) if isinstance(text, str) else None
    if not match:
        raise ValidationFailed.single(
            field, f"{text!r} is not an Rx number like RX000123K or RX000123K-01"
        )
    digits, check, fill_text = match.groups()
    sequence = int(digits)
    if sequence < 1:
        raise ValidationFailed.single(field, "an Rx number starts at RX000001")
    if check is None and require_check:
        raise ValidationFailed.single(field, f"{text.strip()!r} is missing its check letter")
    if check is not None and check != check_char(sequence):
        raise ValidationFailed.single(
            field, f"{text.strip()!r} fails its check letter; a digit is probably mistyped"
        )
    fill = int(fill_text) if fill_text is not None else None
    if fill is not None and fill < 1:
        raise ValidationFailed.single(field, "fill numbers start at 01")
    return RxNumber(sequence, fill)
