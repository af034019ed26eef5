"""Filling an order from a batch: pure rules (days' supply against the batch's BUD, the order's
moves to `ready`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal

# The moves a completely filled order makes to `ready`, from each status a fill may find it in.
_TO_READY = {
    "verified": ["ready"],
    "in_compounding": ["quality_check", "ready"],
    "quality_check": ["ready"],
    "ready": [],
}


def days_supply(quantity: Decimal, doses_per_day: int, units_per_dose: Decimal) -> int:
    """Whole days the quantity lasts at the prescribed use (the last part-day counts)."""
    per_day = Decimal(doses_per_day) * units_per_dose
    return int((Decimal(quantity) / per_day).to_integral_value(rounding=ROUND_CEILING))


def last_dose_day(today: date, days: int) -> date:
    return today + timedelta(days=max(days, 1) - 1)


def bud_covers(bud: date, today: date, days: int) -> bool:
    """The batch is still in date on the day of the last dose."""
    return bud >= last_dose_day(today, days)


def path_to_ready(status: str, held_from: str | None = None) -> list[str]:
    """The moves to `ready`; a held order goes back where it was held from first."""
    if status == "on_hold":
        if held_from is None or held_from not in _TO_READY:
            raise ValueError("a held order needs the status it was held from")
        return [held_from, *_TO_READY[held_from]]
    return list(_TO_READY[status])


def requirements(
    strength_mg: Decimal,
    quantity: Decimal,
    unit: str,
    doses_per_day: int,
    steps: Sequence[tuple[Decimal, int | None, int | None]] = (),
) -> dict[Decimal, Decimal]:
    """What an order needs per product strength: the prescription's strength for the rest of its
    quantity, and for a titration, each capsule step whose dose is not a whole number of the
    prescription's capsules its own strength (one capsule a dose, for the step's days).
    `steps` are (mg per dose, days or None for "then continue", units per dose or None)."""
    need = {strength_mg: Decimal(quantity)}
    if unit != "capsule":
        return need  # a liquid measures every step from the one concentration
    for mg, days, units in steps:
        if units is not None or days is None:
            continue  # given in capsules of the prescription's strength
        per_dose = Decimal(mg) / strength_mg
        if per_dose == per_dose.to_integral_value():
            continue
        step_units = Decimal(days * doses_per_day)
        need[Decimal(mg)] = need.get(Decimal(mg), Decimal(0)) + step_units
        # The quantity prescribed is the whole supply (intake checks it holds the plan):
        # a step's own capsules come out of it, never on top of it.
        need[strength_mg] = max(need[strength_mg] - step_units, Decimal(0))
    return need
