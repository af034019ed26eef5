"""Titration plans: steps of a dose held for a number of days, laid out on the calendar.

A step gives its dose either in mg (`strength_mg`) or in units of the dispensed preparation
(`units_per_dose`, e.g. 2 capsules or 1.5 mL), never both. Units become mg through the unit
strength of the preparation (mg per capsule or per mL). After the last step the patient stays
on the prescription's maintenance dose; the plan itself has no open-ended step.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from pharmacy.domain.errors import FieldError, ValidationFailed


@dataclass(frozen=True)
class TitrationStep:
    strength_mg: Decimal | None
    days: int
    units_per_dose: Decimal | None = None

    def mg_per_dose(self, unit_strength_mg: Decimal | None = None) -> Decimal:
        if self.strength_mg is not None:
            return self.strength_mg
        if self.units_per_dose is None or unit_strength_mg is None:
            raise ValueError("a step in units needs the unit strength to give a dose in mg")
        return self.units_per_dose * unit_strength_mg


@dataclass(frozen=True)
class ScheduledStep:
    number: int  # 1-based, as shown to the patient
    step: TitrationStep
    start: date
    end: date  # last day of the step, inclusive
    mg_per_dose: Decimal | None  # None for a unit step without a unit strength
    daily_dose_mg: Decimal | None


def _positive_decimal(value: object) -> bool:
    return (
        isinstance(value, Decimal | int)
        and not isinstance(value, bool)
        and Decimal(value).is_finite()
        and value > 0
    )


def validate_steps(steps: Sequence[TitrationStep], *, field: str = "titration") -> None:
    """Raise ValidationFailed naming every bad step field, e.g. "titration[1].days"."""
    if not steps:
        raise ValidationFailed.single(field, "a titration plan needs at least one step")
    errors: list[FieldError] = []
    for i, step in enumerate(steps):
        where, label = f"{field}[{i}]", f"step {i + 1}"
        if isinstance(step.days, bool) or not isinstance(step.days, int) or step.days < 1:
            errors.append(
                FieldError(f"{where}.days", f"{label}: days must be a whole number of at least 1")
            )
        has_mg, has_units = step.strength_mg is not None, step.units_per_dose is not None
        if has_mg == has_units:
            errors.append(
                FieldError(
                    where,
                    f"{label}: give either a strength in mg or a number of units, not both or neither",
                )
            )
        elif has_mg and not _positive_decimal(step.strength_mg):
            errors.append(
                FieldError(f"{where}.strength_mg", f"{label}: strength must be greater than 0 mg")
            )
        elif has_units and not _positive_decimal(step.units_per_dose):
            errors.append(
                FieldError(
                    f"{where}.units_per_dose", f"{label}: units per dose must be greater than 0"
                )
            )
    if errors:
        raise ValidationFailed(errors)


def daily_dose_mg(
    step: TitrationStep, doses_per_day: int, unit_strength_mg: Decimal | None = None
) -> Decimal:
    return step.mg_per_dose(unit_strength_mg) * doses_per_day


def total_days(steps: Sequence[TitrationStep]) -> int:
    return sum(step.days for step in steps)


def schedule(
    steps: Sequence[TitrationStep],
    start: date,
    *,
    doses_per_day: int = 1,
    unit_strength_mg: Decimal | None = None,
) -> list[ScheduledStep]:
    """Calendar dates for each step; the first step starts on `start` (day 1 of the plan)."""
    validate_steps(steps)
    if isinstance(doses_per_day, bool) or not isinstance(doses_per_day, int) or doses_per_day < 1:
        raise ValidationFailed.single(
            "doses_per_day", "doses per day must be a whole number of at least 1"
        )
    planned: list[ScheduledStep] = []
    day = start
    for number, step in enumerate(steps, start=1):
        end = day + timedelta(days=step.days - 1)
        can_convert = step.strength_mg is not None or unit_strength_mg is not None
        mg = step.mg_per_dose(unit_strength_mg) if can_convert else None
        daily = mg * doses_per_day if mg is not None else None
        planned.append(ScheduledStep(number, step, day, end, mg, daily))
        day = end + timedelta(days=1)
    return planned


def maintenance_start(steps: Sequence[TitrationStep], start: date) -> date:
    """The first day after the plan, when the maintenance dose begins."""
    return start + timedelta(days=total_days(steps))


def step_on(planned: Sequence[ScheduledStep], day: date) -> ScheduledStep | None:
    """The step in force on `day`, or None before the plan or once it is over."""
    return next((s for s in planned if s.start <= day <= s.end), None)


_STEP = re.compile(
    r"^\s*(?:\d+\s*[.)]\s+)?(?P<amount>-?\d+(?:\.\d+)?)\s*(?P<unit>mg|capsules?|caps?|units?|ml)\b"
    r"\s*(?:x|×|for|,)?\s*(?P<days>-?\d+)\s*(?:days?|d)\s*$",
    re.IGNORECASE,
)


def parse_steps(text: str, *, field: str = "titration") -> list[TitrationStep]:
    """One step a line: "1.5 mg for 14 days", "2 capsules x 14 days", "1. 0.5 mg, 7 d".

    Only the shape is checked here; a negative or zero amount or day count is passed through
    so validate_steps can name the step and the rule it breaks.
    """
    steps, errors = [], []
    lines = [ln for ln in (text or "").splitlines() if ln.strip()]
    for number, line in enumerate(lines, start=1):
        m = _STEP.match(line)
        if not m:
            errors.append(
                FieldError(
                    field,
                    f"line {number} ({line.strip()!r}): write a step as '1.5 mg for 14 days' "
                    "or '2 capsules for 14 days'",
                )
            )
            continue
        amount, days = Decimal(m["amount"]), int(m["days"])
        if m["unit"].lower() == "mg":
            steps.append(TitrationStep(amount, days))
        else:
            steps.append(TitrationStep(None, days, amount))
    if errors:
        raise ValidationFailed(errors)
    return steps
