"""A prescription's dose against the product made: checked at intake and again at verification.

The rules are in pharmacy.domain.dosing; this module finds the product strength (a capsule's
strength, a liquid's concentration from its formula) and writes the field errors the form and
the API show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ..domain import dosing
from ..domain.errors import FieldError, ValidationFailed
from ..domain.titration import TitrationStep as StepFacts
from ..models import Formula, Prescription

DEFAULT_WHEN = "at bedtime"


@dataclass(frozen=True)
class DosePlan:
    strength_mg: Decimal  # product strength: mg per capsule, or mg/mL
    dose_mg: Decimal
    unit: str
    amount: dosing.Amount
    titration: tuple[dosing.PlannedStep, ...]

    def directions(self, doses_per_day: int, when: str, extra: str = "") -> str:
        if self.titration:
            sig = dosing.titration_directions(self.titration, self.amount, doses_per_day, when)
        else:
            sig = dosing.directions(self.amount, doses_per_day, when)
        extra = " ".join((extra or "").split()).rstrip(".")
        return f"{sig}. {extra}." if extra else f"{sig}."

    def units_needed(self, doses_per_day: int) -> Decimal:
        """Units the titration steps use (0 without a plan)."""
        return sum(dosing.strengths_needed(self.titration, doses_per_day).values(), Decimal(0))


def _strength(
    dosage_form: str, strength: Decimal | None, dose: Decimal | None, formula: Formula | None
) -> tuple[Decimal | None, list[FieldError]]:
    """The product strength, from the prescription or its formula; errors name the field."""
    unit = dosing.unit_for(dosage_form)
    if unit == dosing.CAPSULE:
        strength = strength if strength is not None else dose  # one capsule a dose
        if strength is None:
            return None, [FieldError("dose_mg", "give the dose in mg")]
        if formula is not None and not (
            formula.strength_min_mg <= strength <= formula.strength_max_mg
        ):
            return None, [
                FieldError(
                    "strength_mg",
                    f"{formula.code} v{formula.version} makes capsules of "
                    f"{dosing.mg_text(formula.strength_min_mg)}–"
                    f"{dosing.mg_text(formula.strength_max_mg)}, not "
                    f"{dosing.mg_text(strength)}",
                )
            ]
        return strength, []
    made = formula.concentration_mg_per_ml if formula is not None else None
    if made is not None and strength is not None and strength != made:
        return None, [
            FieldError(
                "strength_mg",
                f"{formula.code} v{formula.version} is made at "
                f"{dosing.strength_text(made, unit)}, not {dosing.strength_text(strength, unit)}",
            )
        ]
    strength = made if made is not None else strength
    if strength is None:
        return None, [
            FieldError(
                "strength_mg",
                "give the concentration in mg/mL, or choose the formula it is made by",
            )
        ]
    return strength, []


def plan(
    dosage_form: str,
    strength: Decimal | None,
    dose: Decimal | None,
    steps: Sequence[StepFacts],
    formula: Formula | None,
) -> DosePlan:
    """The dose as the patient measures it, and each titration step, or every field error."""
    unit = dosing.unit_for(dosage_form)
    if dose is None and unit == dosing.CAPSULE:
        dose = strength
    if dose is None:
        raise ValidationFailed.single("dose_mg", "give the dose in mg per administration")
    strength, errors = _strength(dosage_form, strength, dose, formula)
    if strength is None:
        raise ValidationFailed(errors)
    try:
        amount = dosing.amount_per_dose(dose, strength, unit)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    planned: list[dosing.PlannedStep] = []
    if steps:
        limits = None
        if unit == dosing.CAPSULE and formula is not None:
            limits = (formula.strength_min_mg, formula.strength_max_mg)
        name = f"{formula.code} v{formula.version}" if formula is not None else "the formula"
        try:
            planned = dosing.plan_titration(
                steps, strength_mg=strength, unit=unit, strength_range=limits, formula_name=name
            )
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return DosePlan(strength, dose, unit, amount, tuple(planned))


def check_quantity(dose_plan: DosePlan, quantity: Decimal | None, doses_per_day: int) -> None:
    """The first fill must hold the whole titration plan."""
    need = dose_plan.units_needed(doses_per_day)
    if quantity is not None and need > quantity:
        per = dosing.strengths_needed(dose_plan.titration, doses_per_day)
        detail = ", ".join(
            f"{dosing.units_text(n, dose_plan.unit)} of {dosing.strength_text(s, dose_plan.unit)}"
            for s, n in per.items()
        )
        raise ValidationFailed.single(
            "quantity",
            f"the titration plan needs {dosing.units_text(need, dose_plan.unit)} ({detail}); "
            f"the quantity is {dosing.units_text(quantity, dose_plan.unit)}",
        )


def stored_plan(rx: Prescription, formula: Formula | None) -> DosePlan:
    """Re-check a saved prescription (verification): the formula may have changed since."""
    steps = [StepFacts(s.strength_mg, s.days or 0) for s in rx.titration_steps]
    return plan(rx.dosage_form, rx.strength_mg, rx.dose_mg, steps, formula)


def _when(directions: str) -> str:
    return DEFAULT_WHEN if DEFAULT_WHEN in (directions or "").lower() else ""


def maintenance_directions(rx: Prescription) -> str:
    """A titration prescription's sig without the plan, for its refills: the titration is given
    with the first fill, and later fills continue the maintenance dose. Extra directions written
    after the generated sig are kept."""
    if not rx.is_titration:
        return rx.directions
    steps = [StepFacts(s.strength_mg, s.days or 0) for s in rx.titration_steps]
    when = _when(rx.directions)
    try:
        planned = dosing.plan_titration(steps, strength_mg=rx.strength_mg, unit=rx.unit)
        amount = dosing.amount_per_dose(rx.dose_mg, rx.strength_mg, rx.unit)
    except ValidationFailed:  # a record from before the dose model: the sig as entered
        return rx.directions
    full = dosing.titration_directions(planned, amount, rx.doses_per_day, when)
    extra = rx.directions[len(full) + 1 :].strip() if rx.directions.startswith(full) else ""
    sig = dosing.directions(amount, rx.doses_per_day, when)
    return f"{sig}. {extra}" if extra else f"{sig}."


def titration_rows(rx: Prescription) -> list[str]:
    """The schedule as the pages show it, through to the maintenance dose:
    "Days 1-14: 1 capsule (1.5 mg) once daily, from 1.5 mg capsules"."""
    steps = [StepFacts(s.strength_mg, s.days or 0) for s in rx.titration_steps]
    freq = dosing.frequency_text(rx.doses_per_day)
    try:
        planned = dosing.plan_titration(steps, strength_mg=rx.strength_mg, unit=rx.unit)
        maintenance = dosing.amount_per_dose(rx.dose_mg, rx.strength_mg, rx.unit).text()
    except ValidationFailed:  # a record from before the dose model: show what was entered
        return [f"{dosing.mg_text(s.strength_mg)} for {s.days} days" for s in rx.titration_steps]
    rows, day = [], 1
    for p in planned:
        last = day + p.days - 1
        source = dosing.strength_text(p.amount.strength_mg, rx.unit)
        rows.append(
            f"Days {day}–{last}: {p.amount.text()} {freq}, from {source}"
            + (" capsules" if rx.unit == dosing.CAPSULE else "")
        )
        day = last + 1
    rows.append(f"From day {day}: {maintenance} {freq} (maintenance)")
    return rows


def fill_supply(
    order_quantity: Decimal, rx: Prescription, *, titration: bool
) -> dict[Decimal, Decimal]:
    """Units of each product strength a fill holds, for filling from one batch per strength:
    with the titration (the first fill), each step's strength for its days, and the rest of
    the quantity at the prescription's own strength; a refill is all the prescription's strength.
    """
    own = rx.strength_mg.normalize()
    if not titration or not rx.titration_steps:
        return {own: order_quantity}
    steps = [StepFacts(s.strength_mg, s.days or 0) for s in rx.titration_steps]
    planned = dosing.plan_titration(steps, strength_mg=rx.strength_mg, unit=rx.unit)
    need = dosing.strengths_needed(planned, rx.doses_per_day)
    need[own] = need.get(own, Decimal(0)) + order_quantity - sum(need.values(), Decimal(0))
    return need
