"""When a prescription may be filled: expiry, fills remaining, status; and entry validation.

Expiry: a prescription may be filled up to and including the same calendar day one year (by
default) after it was written; written 2024-03-10 → last fill 2025-03-10. State laws say "not
more than one year after the date issued", so the anniversary itself is still inside. A date
that does not exist in the target month clamps to its last day (written 29 Feb → 28 Feb).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pharmacy.domain.errors import FieldError, ValidationFailed

DEFAULT_VALIDITY_MONTHS = 12
# Refills beyond what a year of daily dosing can use are almost always an entry error.
DEFAULT_MAX_REFILLS = 11
# Statuses (see lifecycle.PRESCRIPTION) from which a new fill may be created.
FILLABLE_STATUSES = frozenset({"entered", "verified"})


def add_months(start: date, months: int) -> date:
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Reason:
    code: str
    message: str


@dataclass(frozen=True)
class FillDecision:
    allowed: bool
    reasons: tuple[Reason, ...]  # empty when allowed

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)


@dataclass(frozen=True)
class PrescriptionTerms:
    date_written: date
    refills_authorised: int
    fills_made: int = 0  # fills already created, the first one included
    status: str | None = None  # None skips the status check
    validity_months: int = DEFAULT_VALIDITY_MONTHS

    @property
    def last_fill_date(self) -> date:
        return add_months(self.date_written, self.validity_months)

    @property
    def fills_allowed(self) -> int:
        return 1 + self.refills_authorised

    @property
    def fills_remaining(self) -> int:
        return max(0, self.fills_allowed - self.fills_made)

    @property
    def refills_remaining(self) -> int:
        # The first fill is not a refill: before it, all authorised refills remain.
        return min(self.refills_authorised, self.fills_remaining)

    def is_expired(self, on: date) -> bool:
        return on > self.last_fill_date

    def can_fill(self, on: date) -> FillDecision:
        reasons: list[Reason] = []
        if self.status is not None and self.status not in FILLABLE_STATUSES:
            reasons.append(
                Reason(
                    "status_not_fillable", f"the prescription is {self.status.replace('_', ' ')}"
                )
            )
        if on < self.date_written:
            reasons.append(
                Reason(
                    "before_date_written",
                    f"{on.isoformat()} is before the prescription was written "
                    f"({self.date_written.isoformat()})",
                )
            )
        if self.is_expired(on):
            reasons.append(
                Reason(
                    "expired",
                    f"the prescription expired: written {self.date_written.isoformat()}, "
                    f"last fill date {self.last_fill_date.isoformat()}",
                )
            )
        if self.fills_remaining == 0:
            reasons.append(
                Reason(
                    "no_fills_remaining",
                    f"all {self.fills_allowed} authorised fills have been made "
                    f"(1 + {self.refills_authorised} refills)",
                )
            )
        return FillDecision(not reasons, tuple(reasons))


# Far above any real LDN prescription (capsules or mL; mg per unit): a typo guard, and what
# keeps the quantities' arithmetic small.
MAX_QUANTITY = Decimal("10000")
MAX_STRENGTH_MG = Decimal("1000")


def validate_entry(
    *,
    date_written: date | None,
    today: date,
    quantity: Decimal | int | None,
    strength_mg: Decimal | None,
    refills_authorised: int | None,
    max_refills: int = DEFAULT_MAX_REFILLS,
    dose_mg: Decimal | None = None,
) -> None:
    """Raise ValidationFailed naming every bad field of a new prescription.

    The dose (mg per administration) or the product strength may be left blank where the other
    or the formula gives it (see pharmacy.domain.dosing), but not both."""
    errors: list[FieldError] = []
    if date_written is None:
        errors.append(FieldError("date_written", "the date written is required"))
    elif date_written > today:
        errors.append(FieldError("date_written", f"{date_written.isoformat()} is in the future"))
    numbers = [("quantity", quantity, MAX_QUANTITY)]
    if strength_mg is None and dose_mg is None:
        errors.append(FieldError("dose_mg", "give the dose in mg"))
    numbers += [
        (n, v, MAX_STRENGTH_MG)
        for n, v in (("strength_mg", strength_mg), ("dose_mg", dose_mg))
        if v is not None
    ]
    for name, value, most in numbers:
        if not isinstance(value, Decimal | int) or isinstance(value, bool):
            errors.append(FieldError(name, f"{name.replace('_', ' ')} must be a number"))
        elif not Decimal(value).is_finite() or value <= 0:
            errors.append(FieldError(name, f"{name.replace('_', ' ')} must be greater than 0"))
        elif value > most:
            errors.append(FieldError(name, f"{name.replace('_', ' ')} must be at most {most}"))
    if (
        refills_authorised is None
        or isinstance(refills_authorised, bool)
        or not isinstance(refills_authorised, int)
        or not 0 <= refills_authorised <= max_refills
    ):
        errors.append(
            FieldError(
                "refills_authorised", f"refills must be a whole number from 0 to {max_refills}"
            )
        )
    if errors:
        raise ValidationFailed(errors)
