"""Collects every broken rule before raising, so the caller can report all bad fields at once."""

from __future__ import annotations

from decimal import Decimal

from pharmacy.domain.errors import FieldError, ValidationFailed

from .arithmetic import decimal_places, is_whole

# No input to a compounding calculation comes near this (mg, mL, %, units); it keeps the
# exact arithmetic on hostile input ("1E+999999999") from running for minutes.
MAX_INPUT = 1_000_000


class ErrorCollector:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))

    def has(self, field: str) -> bool:
        return any(e.field == field for e in self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)

    def finite(self, field: str, value: Decimal | None, rule: str) -> bool:
        """Record an error for a missing/NaN/infinite amount; True when usable."""
        if value is None:
            self.add(field, f"{rule}: a value is required")
            return False
        if not value.is_finite():
            self.add(field, f"{rule}: must be a finite number")
            return False
        if abs(value) >= MAX_INPUT:
            self.add(field, f"{rule}: must be less than {MAX_INPUT}")
            return False
        return True

    def positive(self, field: str, value: Decimal | None, rule: str) -> bool:
        if not self.finite(field, value, rule):
            return False
        if value <= 0:
            self.add(field, f"{rule}: must be greater than 0")
            return False
        return True

    def at_most_cents(self, field: str, value: Decimal, rule: str) -> bool:
        if decimal_places(value) > 2:
            self.add(field, f"{rule}: give at most 2 decimal places (0.01 mg)")
            return False
        return True

    def whole_number(self, field: str, value: object, rule: str, minimum: int) -> int | None:
        """Return the value as an int when it is a whole number ≥ minimum."""
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            self.add(field, f"{rule}: must be a whole number")
            return None
        if isinstance(value, Decimal) and not value.is_finite():
            self.add(field, f"{rule}: must be a whole number")
            return None
        if not is_whole(value):
            self.add(field, f"{rule}: must be a whole number, not a fraction")
            return None
        if abs(value) >= MAX_INPUT:
            self.add(field, f"{rule}: must be less than {MAX_INPUT}")
            return None
        number = int(value)
        if number < minimum:
            self.add(field, f"{rule}: must be at least {minimum}")
            return None
        return number
