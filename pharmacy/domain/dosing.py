"""The dose model: what the patient takes (mg per administration) and what is made.

A prescription states the dose in mg and how often; the product has a strength in mg per
dispensing unit: mg per capsule, or the liquid's concentration in mg per mL. This module turns
one into the other and writes the amount and directions the patient reads.

Measuring rule for liquids (an oral syringe reads 0.1 mL):
- the volume per dose is dose / concentration rounded half-up to 0.1 mL;
- a dose is refused when its volume is under 0.1 mL (less than a syringe measures), or when
  rounding changes the dose by more than 5 % (the patient would not get what was prescribed);
- when rounding changes the dose by 5 % or less, the directions give the mg the measured volume
  actually holds ("Take 1.1 mL (4.4 mg)"), so the label never states a dose the patient does not
  get. Choosing a concentration that measures exactly avoids that.
Capsules are given whole: the dose must be a whole number of capsules of the product strength.

Titration (see `plan_titration`): every step must be deliverable with a strength that is made.
A liquid step is a measurable volume of the prescription's concentration. A capsule step is
whole capsules of the prescription's strength, or else capsules of the step's own dose (one
capsule a dose) made as their own batch, which must fall inside the formula's strength range.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from pharmacy.domain.errors import ValidationFailed
from pharmacy.domain.titration import TitrationStep

SYRINGE_STEP_ML = Decimal("0.1")
MIN_VOLUME_ML = Decimal("0.1")
MAX_ROUNDING_PERCENT = Decimal("5")
CAPSULE = "capsule"
ML = "mL"


def _num(value: Decimal | int) -> str:
    value = Decimal(value)
    if value == value.to_integral_value():
        return format(value.quantize(Decimal(1)), "f")
    return format(value.normalize(), "f")


def mg_text(mg: Decimal | int) -> str:
    return f"{_num(mg)} mg"


def unit_for(dosage_form: str) -> str:
    """The dispensing unit of a dosage form: "capsule" or "mL"."""
    return CAPSULE if dosage_form == CAPSULE else ML


def strength_text(strength_mg: Decimal | int, unit: str) -> str:
    """The product strength as printed: "1.5 mg" a capsule, "1 mg/mL" for a liquid."""
    return mg_text(strength_mg) if unit == CAPSULE else f"{_num(strength_mg)} mg/mL"


def strengths_text(strengths: Sequence[Decimal], unit: str) -> str:
    """ "1.5 mg, 3 mg and 4.5 mg" (distinct, weakest first)."""
    texts = [strength_text(s, unit) for s in sorted({Decimal(s).normalize() for s in strengths})]
    return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + f" and {texts[-1]}"


def units_text(units: Decimal | int, unit: str) -> str:
    """ "1 capsule", "3 capsules", "4.5 mL"."""
    if unit == CAPSULE:
        return f"{_num(units)} capsule" + ("" if units == 1 else "s")
    return f"{_num(units)} mL"


def frequency_text(doses_per_day: int) -> str:
    return {1: "once daily", 2: "twice daily", 3: "three times daily"}.get(
        doses_per_day, f"{doses_per_day} times daily"
    )


@dataclass(frozen=True)
class Amount:
    """One administration: how many units of which strength, and the mg they hold."""

    dose_mg: Decimal  # prescribed mg per dose
    strength_mg: Decimal  # mg per capsule, or mg per mL
    unit: str  # "capsule" or "mL"
    units: Decimal  # capsules (whole) or mL (to 0.1 mL)

    @property
    def delivered_mg(self) -> Decimal:
        return self.units * self.strength_mg

    def text(self) -> str:
        """ "4.5 mL (4.5 mg)", "1 capsule (1.5 mg)"."""
        return f"{units_text(self.units, self.unit)} ({mg_text(self.delivered_mg)})"


def _positive(value: object) -> bool:
    return (
        isinstance(value, Decimal | int)
        and not isinstance(value, bool)
        and Decimal(value).is_finite()
        and value > 0
    )


def amount_per_dose(
    dose_mg: Decimal, strength_mg: Decimal, unit: str, *, field: str = "dose_mg", label: str = ""
) -> Amount:
    """What the patient measures for one dose, or ValidationFailed naming `field`.

    `label` prefixes messages ("step 2: "), so a titration step's error says which step."""
    if not _positive(dose_mg):
        raise ValidationFailed.single(field, f"{label}the dose must be greater than 0 mg")
    if not _positive(strength_mg):
        raise ValidationFailed.single(
            "strength_mg", "the product strength must be greater than 0 mg"
        )
    dose_mg, strength_mg = Decimal(dose_mg), Decimal(strength_mg)
    exact = dose_mg / strength_mg
    if unit == CAPSULE:
        if exact != exact.to_integral_value():
            raise ValidationFailed.single(
                field,
                f"{label}{mg_text(dose_mg)} is not a whole number of "
                f"{mg_text(strength_mg)} capsules; capsules are not split",
            )
        return Amount(dose_mg, strength_mg, unit, exact.quantize(Decimal(1)))
    volume = exact.quantize(SYRINGE_STEP_ML, rounding=ROUND_HALF_UP)
    if exact < MIN_VOLUME_ML:
        raise ValidationFailed.single(
            field,
            f"{label}{mg_text(dose_mg)} of {strength_text(strength_mg, unit)} is "
            f"{_num(exact.quantize(Decimal('0.001')))} mL, less than an oral syringe measures "
            f"({_num(MIN_VOLUME_ML)} mL); use a weaker concentration",
        )
    change = abs(volume * strength_mg - dose_mg) / dose_mg * 100
    if change > MAX_ROUNDING_PERCENT:
        raise ValidationFailed.single(
            field,
            f"{label}{mg_text(dose_mg)} of {strength_text(strength_mg, unit)} is "
            f"{_num(exact.quantize(Decimal('0.001')))} mL; measured to {_num(SYRINGE_STEP_ML)} mL "
            f"it would be {_num(volume)} mL = {mg_text(volume * strength_mg)}, "
            f"{_num(change.quantize(Decimal('0.1')))} % off (at most {_num(MAX_ROUNDING_PERCENT)} "
            "% allowed); use a concentration that measures the dose",
        )
    return Amount(dose_mg, strength_mg, unit, volume)


def directions(amount: Amount, doses_per_day: int, when: str = "") -> str:
    """ "Take 4.5 mL (4.5 mg) by mouth once daily at bedtime"."""
    when = " ".join((when or "").split())
    return f"Take {amount.text()} by mouth {frequency_text(doses_per_day)}" + (
        f" {when}" if when else ""
    )


# --- titration ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedStep:
    number: int  # 1-based
    days: int
    amount: Amount  # units of `amount.strength_mg` a dose
    own_batch: bool  # capsules of this step's own strength (not the prescription's)


def _step_amount(
    step: TitrationStep,
    number: int,
    strength_mg: Decimal,
    unit: str,
    strength_range: tuple[Decimal, Decimal] | None,
    formula_name: str,
) -> PlannedStep:
    where, label = f"titration[{number - 1}]", f"step {number}: "
    if step.units_per_dose is not None:
        units = Decimal(step.units_per_dose)
        if unit == CAPSULE and units != units.to_integral_value():
            raise ValidationFailed.single(
                f"{where}.units_per_dose", f"{label}capsules are given whole"
            )
        dose = units * strength_mg
        field = f"{where}.units_per_dose"
    else:
        assert step.strength_mg is not None
        dose, field = Decimal(step.strength_mg), f"{where}.strength_mg"
    if unit != CAPSULE:
        return PlannedStep(
            number,
            step.days,
            amount_per_dose(dose, strength_mg, unit, field=field, label=label),
            False,
        )
    if (dose / strength_mg) == (dose / strength_mg).to_integral_value():
        return PlannedStep(number, step.days, amount_per_dose(dose, strength_mg, unit), False)
    if strength_range is not None and not strength_range[0] <= dose <= strength_range[1]:
        lo, hi = strength_range
        raise ValidationFailed.single(
            field,
            f"{label}{mg_text(dose)} is not a whole number of {mg_text(strength_mg)} capsules, "
            f"and {formula_name} makes capsules of {_num(lo)}–{mg_text(hi)} only, so a "
            f"{mg_text(dose)} capsule cannot be made for it",
        )
    return PlannedStep(number, step.days, Amount(dose, dose, unit, Decimal(1)), True)


def plan_titration(
    steps: Sequence[TitrationStep],
    *,
    strength_mg: Decimal,
    unit: str,
    strength_range: tuple[Decimal, Decimal] | None = None,
    formula_name: str = "the formula",
) -> list[PlannedStep]:
    """How each step is given with strengths that are made, or every undeliverable step named.

    `strength_range` is the formula's capsule strength range, when a formula is chosen."""
    planned, errors = [], []
    for number, step in enumerate(steps, start=1):
        try:
            planned.append(
                _step_amount(step, number, strength_mg, unit, strength_range, formula_name)
            )
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return planned


def strengths_needed(planned: Sequence[PlannedStep], doses_per_day: int) -> dict[Decimal, Decimal]:
    """Units of each strength the plan's steps use, in first-use order (one batch a strength)."""
    need: dict[Decimal, Decimal] = {}
    for p in planned:
        key = p.amount.strength_mg.normalize()
        need[key] = need.get(key, Decimal(0)) + p.amount.units * doses_per_day * p.days
    return need


def titration_directions(
    planned: Sequence[PlannedStep], maintenance: Amount, doses_per_day: int, when: str = ""
) -> str:
    """The prescription's sig when it starts with a titration: the steps, then maintenance.

    "Titration: days 1-14 take 1 capsule (1.5 mg) ...; days 15-28 ...; then take 1 capsule
    (4.5 mg) by mouth once daily at bedtime." Never only the top dose (issue 10)."""
    when = " ".join((when or "").split())
    freq = frequency_text(doses_per_day) + (f" {when}" if when else "")
    day, parts = 1, []
    for p in planned:
        last = day + p.days - 1
        days = f"day {day}" if p.days == 1 else f"days {day}-{last}"
        parts.append(f"{days} take {p.amount.text()}")
        day = last + 1
    return (
        f"Follow the titration schedule, by mouth {freq}: "
        + "; ".join(parts)
        + f"; from day {day} take {maintenance.text()}"
    )


__all__ = [
    "Amount",
    "PlannedStep",
    "amount_per_dose",
    "directions",
    "frequency_text",
    "mg_text",
    "plan_titration",
    "strength_text",
    "strengths_text",
    "strengths_needed",
    "titration_directions",
    "unit_for",
    "units_text",
]
