"""Weighing and quality-check controls for a batch: pure rules, Decimal only.

- The API weighing tolerance is its own figure (default ±5 %, at most ±10 %); the capsule fill
  tolerance (at most ±10 %) only judges the finished capsules. An API weight outside its
  tolerance stops the batch until a pharmacist signs off and the plan is recalculated from it.
- No weight below the balance's minimum weighable quantity (MWQ) is accepted.
- API lots outside 98.0–102.0 % on the anhydrous basis need a pharmacist's documented
  acceptance before use.
- The capsule weight check takes at least 10 capsules (the whole batch if smaller); a liquid's
  final volume must be within ±5 % of the volume prepared.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from .errors import FieldError

API_TOLERANCE_DEFAULT = Decimal("5")
API_TOLERANCE_MAX = Decimal("10")
FILL_TOLERANCE_MAX = Decimal("10")
QC_SAMPLE_MIN = 10
LIQUID_VOLUME_TOLERANCE = Decimal("5")
POTENCY_MIN = Decimal("98.0")
POTENCY_MAX = Decimal("102.0")
HUNDRED = Decimal(100)
# Aliquot (trituration) lines of a capsule batch, weighed and recorded one by one.
ALIQUOT_ROLES = ("diluent", "aliquot")
# The weighings that set how much API each unit gets: held to the API tolerance.
DOSE_ROLES = ("active", "diluent", "aliquot")
# An aliquot taken comes out of the stock mixture, not out of the lot's stock.
NOT_FROM_STOCK_ROLES = ("aliquot",)


def deviation_percent(planned: Decimal, actual: Decimal) -> Decimal:
    return (abs(actual - planned) / planned * HUNDRED).quantize(Decimal("0.01"))


def api_out_of_tolerance(planned: Decimal, actual: Decimal, tolerance: Decimal) -> bool:
    return deviation_percent(planned, actual) > tolerance


def check_controls(
    api_tolerance: Decimal | None, fill_tolerance: Decimal | None, qc_sample: int | None, family
) -> list[FieldError]:
    """A formula's weighing controls within the pharmacy's limits."""
    errors = []
    if api_tolerance is None or api_tolerance <= 0 or api_tolerance > API_TOLERANCE_MAX:
        errors.append(
            FieldError(
                "api_tolerance_percent",
                f"must be more than 0% and at most {API_TOLERANCE_MAX}% "
                f"(usual {API_TOLERANCE_DEFAULT}%)",
            )
        )
    if fill_tolerance is None or fill_tolerance <= 0 or fill_tolerance > FILL_TOLERANCE_MAX:
        errors.append(
            FieldError(
                "weight_tolerance_percent",
                f"must be more than 0% and at most {FILL_TOLERANCE_MAX}%",
            )
        )
    if family == "capsule" and (qc_sample is None or qc_sample < QC_SAMPLE_MIN):
        errors.append(
            FieldError(
                "qc_sample_size",
                f"capsules need a weight-check sample of at least {QC_SAMPLE_MIN}",
            )
        )
    return errors


def fill_tolerance(formula_tolerance: Decimal) -> Decimal:
    """A formula recorded before the ±10 % limit is judged by the limit, never looser."""
    return min(formula_tolerance, FILL_TOLERANCE_MAX)


def api_tolerance(formula_tolerance: Decimal | None) -> Decimal:
    if formula_tolerance is None:
        return API_TOLERANCE_DEFAULT
    return min(formula_tolerance, API_TOLERANCE_MAX)


def qc_sample_size(formula_sample: int | None, units_made: int | None) -> int:
    """At least 10 capsules, or every capsule when fewer were made."""
    wanted = max(formula_sample or 0, QC_SAMPLE_MIN)
    return min(wanted, units_made) if units_made else wanted


def volume_deviation(prepared_ml: Decimal, final_ml: Decimal) -> tuple[Decimal, bool]:
    deviation = deviation_percent(prepared_ml, final_ml)
    return deviation, deviation <= LIQUID_VOLUME_TOLERANCE


def below_mwq(actual_mg: Decimal, mwq_mg: Decimal) -> bool:
    return actual_mg < mwq_mg


def anhydrous_potency(
    assay_percent: Decimal | None, assay_basis: str | None, water_percent: Decimal | None
) -> Decimal | None:
    """The assay on the anhydrous basis; an as-is assay is corrected for its water content."""
    if assay_percent is None:
        return None
    if assay_basis == "anhydrous" or not water_percent:
        return assay_percent
    return (assay_percent / (1 - water_percent / HUNDRED)).quantize(Decimal("0.01"))


def potency_out_of_range(potency: Decimal | None) -> bool:
    return potency is not None and not (POTENCY_MIN <= potency <= POTENCY_MAX)


def rescale(planned: Decimal, ratio: Decimal, places: str = "0.0001") -> Decimal:
    """A planned quantity recalculated from the API actually weighed (same strength)."""
    return (planned * ratio).quantize(Decimal(places))


def rescale_units(units: int, ratio: Decimal) -> int:
    """Whole units from a rescaled batch, rounded down so no unit is short of its fill."""
    return int((Decimal(units) * ratio).to_integral_value(rounding=ROUND_FLOOR))
