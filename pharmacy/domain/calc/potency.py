"""R1 strength basis (base → HCl) and R2 lot potency from the certificate of analysis."""

from __future__ import annotations

from decimal import Decimal

from .arithmetic import HUNDRED
from .data import ApiSubstance
from .inputs import ANHYDROUS, AS_IS, BASE, HCL, ApiLot
from .steps import Step, num, pct
from .validation import ErrorCollector

MAX_ASSAY_PERCENT = Decimal("110")
STRENGTH_BASES = (HCL, BASE)
ASSAY_BASES = (AS_IS, ANHYDROUS)


def strength_in_salt(strength_mg: Decimal, basis: str, substance: ApiSubstance) -> Decimal:
    """R1: a strength is salt (HCl) mass unless the prescription says base; the result is the
    mass of the form in stock (a base stock turns an HCl strength into base)."""
    if basis == BASE:
        return strength_mg * substance.salt_mw / substance.base_mw
    if substance.prescribed_salt_mw is not None:
        return strength_mg * substance.salt_mw / substance.prescribed_salt_mw
    return strength_mg


def strength_step(
    strength_mg: Decimal, basis: str, substance: ApiSubstance, unit: str = "mg"
) -> Step:
    salt = strength_in_salt(strength_mg, basis, substance)
    if basis == BASE:
        formula = (
            f"{num(strength_mg)} {unit} {substance.base_name} × {num(substance.salt_mw)} "
            f"÷ {num(substance.base_mw)} = {num(salt)} {unit} {substance.salt_name}"
        )
    elif substance.prescribed_salt_mw is not None:
        formula = (
            f"{num(strength_mg)} {unit} naltrexone hydrochloride × {num(substance.salt_mw)} "
            f"÷ {num(substance.prescribed_salt_mw)} = {num(salt)} {unit} {substance.salt_name} "
            "(the lot is the base)"
        )
    else:
        formula = f"{num(strength_mg)} {unit} prescribed as {substance.salt_name}"
    return Step("strength_salt", f"Strength as {substance.salt_name}", formula, salt, unit)


def lot_potency(lot: ApiLot) -> Decimal:
    """R2: fraction of the weighed powder that is the salt, on the as-is basis."""
    potency = lot.assay_percent / HUNDRED
    if lot.assay_basis == ANHYDROUS and lot.water_percent is not None:
        potency *= 1 - lot.water_percent / HUNDRED
    return potency


def potency_step(lot: ApiLot) -> Step:
    potency = lot_potency(lot)
    if lot.assay_basis == ANHYDROUS:
        formula = (
            f"{pct(lot.assay_percent)} (anhydrous) ÷ 100 × (1 − {pct(lot.water_percent)} water "
            f"÷ 100) = {num(potency)}"
        )
    else:
        formula = f"{pct(lot.assay_percent)} (as is) ÷ 100 = {num(potency)}"
    return Step("potency", "Lot potency (from the certificate of analysis)", formula, potency, "")


def validate_strength(
    errors: ErrorCollector,
    strength_mg: Decimal,
    basis: str,
    max_mg: Decimal,
    field: str = "strength_mg",
    basis_field: str = "strength_basis",
) -> None:
    if basis not in STRENGTH_BASES:
        errors.add(basis_field, f"R1: must be one of {', '.join(STRENGTH_BASES)}")
    if not errors.finite(field, strength_mg, "R12"):
        return
    if strength_mg <= 0:
        errors.add(field, "R12: an LDN strength must be greater than 0 mg")
    elif strength_mg > max_mg:
        errors.add(field, f"R12: an LDN strength must not exceed {num(max_mg)} mg per dose")


def validate_api_lot(errors: ErrorCollector, lot: ApiLot | None, prefix: str = "api_lot") -> None:
    if lot is None:
        errors.add(prefix, "R2: the API lot's certificate of analysis is required")
        return
    assay_field = f"{prefix}.assay_percent"
    if errors.finite(assay_field, lot.assay_percent, "R2"):
        if lot.assay_percent <= 0:
            errors.add(assay_field, "R2: assay must be greater than 0%")
        elif lot.assay_percent > MAX_ASSAY_PERCENT:
            errors.add(assay_field, f"R2: assay must not exceed {num(MAX_ASSAY_PERCENT)}%")
    if lot.assay_basis not in ASSAY_BASES:
        errors.add(f"{prefix}.assay_basis", f"R2: must be one of {', '.join(ASSAY_BASES)}")
    water_field = f"{prefix}.water_percent"
    if lot.water_percent is None:
        if lot.assay_basis == ANHYDROUS:
            errors.add(water_field, "R2: water content is required for an anhydrous-basis assay")
        return
    if not errors.finite(water_field, lot.water_percent, "R2"):
        return
    if lot.water_percent < 0 or lot.water_percent >= HUNDRED:
        errors.add(water_field, "R2: water content must be at least 0% and below 100%")
