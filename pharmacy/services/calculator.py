"""Runs the formulation engine from what a user picked: a formula, a lot, a balance, overrides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import calc
from ..domain.errors import FieldError, ValidationFailed
from ..domain.formula_rules import form_family
from ..models import Balance, Formula, IngredientLot


@dataclass(frozen=True)
class CalculatorInput:
    kind: str  # "capsules" | "liquid"
    compounded_on: date
    formula_id: int | None = None
    strength_mg: Decimal | None = None
    strength_basis: str = "hcl"
    quantity: Decimal | None = None
    overage_percent: Decimal | None = None
    capsule_size: str | None = None
    filler_name: str | None = None
    packing_stat_mg: Decimal | None = None
    tapped_density: Decimal | None = None
    concentration_mg_per_ml: Decimal | None = None
    volume_ml: Decimal | None = None
    liquid_source: str = "api"
    lot_id: int | None = None
    assay_percent: Decimal | None = None
    assay_basis: str = "as_is"
    water_percent: Decimal | None = None
    balance_id: int | None = None
    mwq_mg: Decimal | None = None
    bud_category: str | None = None
    # Lots of the formula's other ingredients a batch really uses (their expiries cap the BUD).
    component_lot_ids: tuple[int, ...] = ()


def _first(*values):
    return next((v for v in values if v not in (None, "")), None)


def component_expiries(
    session: Session,
    formula: Formula | None,
    api_lot: IngredientLot | None,
    on: date,
    chosen: Mapping[int, IngredientLot] | None = None,
) -> list[calc.ComponentExpiry]:
    """Expiries of every component: the chosen API lot, and for the formula's other
    ingredients the lot chosen for them (`chosen`, by ingredient id: what a batch really
    uses) or else the first-expiring released lot still in date (what FEFO would pick)."""
    out = []
    if api_lot is not None:
        out.append(
            calc.ComponentExpiry(
                f"{api_lot.ingredient.name} lot {api_lot.lot_number}", api_lot.expires_on
            )
        )
    if formula is None:
        return out
    for line in formula.lines:
        if line.role == "active" and api_lot is not None:
            continue
        if chosen and line.ingredient_id in chosen:
            lot = chosen[line.ingredient_id]
            out.append(
                calc.ComponentExpiry(f"{line.ingredient.name} lot {lot.lot_number}", lot.expires_on)
            )
            continue
        lot = session.scalar(
            select(IngredientLot)
            .where(
                IngredientLot.ingredient_id == line.ingredient_id,
                IngredientLot.status == "released",
                IngredientLot.expires_on >= on,
            )
            .order_by(IngredientLot.expires_on, IngredientLot.id)
            .limit(1)
        )
        if lot is not None:
            out.append(
                calc.ComponentExpiry(f"{line.ingredient.name} lot {lot.lot_number}", lot.expires_on)
            )
    return out


def _api_lot(session: Session, inp: CalculatorInput) -> tuple[IngredientLot | None, calc.ApiLot]:
    if inp.lot_id:
        lot = session.get(IngredientLot, inp.lot_id)
        if lot is None or lot.ingredient.kind != "api":
            raise ValidationFailed.single("lot_id", "is not an API lot")
        if lot.status != "released":
            raise ValidationFailed.single(
                "lot_id", f"lot {lot.lot_number} is {lot.status}, not released"
            )
        if lot.assay_percent is None:
            raise ValidationFailed.single(
                "lot_id", "the lot has no certificate-of-analysis assay recorded"
            )
        return lot, calc.ApiLot(lot.assay_percent, lot.assay_basis or "as_is", lot.water_percent)
    if inp.assay_percent is None:
        raise ValidationFailed.single("assay_percent", "choose an API lot or enter the assay %")
    return None, calc.ApiLot(inp.assay_percent, inp.assay_basis, inp.water_percent)


def _mwq(session: Session, inp: CalculatorInput) -> calc.Balance:
    if inp.balance_id:
        bal = session.get(Balance, inp.balance_id)
        if bal is None:
            raise ValidationFailed.single("balance_id", "is not a known balance")
        if bal.calibration_due < inp.compounded_on:
            raise ValidationFailed.single(
                "balance_id", f"{bal.name} was due for calibration on {bal.calibration_due}"
            )
        return calc.Balance(bal.mwq_mg)
    return calc.Balance(inp.mwq_mg if inp.mwq_mg is not None else Decimal("120"))


def run(session: Session, inp: CalculatorInput):
    formula = session.get(Formula, inp.formula_id) if inp.formula_id else None
    if inp.formula_id and formula is None:
        raise ValidationFailed.single("formula_id", "is not a known formula")
    if formula is not None:
        family = form_family(formula.dosage_form)
        wanted = "capsule" if inp.kind == "capsules" else "liquid"
        if family != wanted:
            raise ValidationFailed.single(
                "kind", f"{formula.code} is a {formula.dosage_form} formula"
            )
    if inp.kind == "liquid" and inp.liquid_source == "tablets":
        lot, api_lot = None, None
    else:
        lot, api_lot = _api_lot(session, inp)
    # The lot's own salt form and molecular weights: a base powder is weighed as base.
    substance = (
        calc.substance_for(
            lot.ingredient.salt_form,
            lot.ingredient.molecular_weight,
            lot.ingredient.base_molecular_weight,
        )
        if lot is not None
        else calc.NALTREXONE
    )
    balance = _mwq(session, inp)
    chosen = {
        c.ingredient_id: c
        for c in (session.get(IngredientLot, i) for i in inp.component_lot_ids)
        if c is not None
    }
    expiries = tuple(component_expiries(session, formula, lot, inp.compounded_on, chosen))
    bud_days = formula.bud_days_override if formula else None
    stability = formula.stability_reference if formula else None
    if inp.kind == "capsules":
        filler_line = (
            next((ln for ln in formula.lines if ln.role == "filler"), None) if formula else None
        )
        filler_name = _first(inp.filler_name, filler_line.ingredient.name if filler_line else None)
        density = _first(
            inp.tapped_density,
            filler_line.ingredient.tapped_density_mg_per_ml if filler_line else None,
        )
        packing = _first(inp.packing_stat_mg, formula.packing_stat_mg if formula else None)
        missing = [
            FieldError(f, "is required (no formula value to fall back on)")
            for f, v in (
                ("strength_mg", inp.strength_mg),
                ("quantity", inp.quantity),
                ("packing_stat_mg", packing),
                ("filler_name", filler_name),
            )
            if v in (None, "")
        ]
        if missing:
            raise ValidationFailed(missing)
        request = calc.CapsuleRequest(
            strength_mg=inp.strength_mg,
            strength_basis=inp.strength_basis,
            quantity=inp.quantity,
            overage_percent=_first(
                inp.overage_percent, formula.overage_percent if formula else None
            )
            or Decimal(0),
            capsule_size=_first(inp.capsule_size, formula.capsule_size if formula else None) or "",
            filler=calc.Filler(filler_name, packing, density),
            api_lot=api_lot,
            balance=balance,
            compounded_on=inp.compounded_on,
            component_expiries=expiries,
            bud_category=_first(inp.bud_category, formula.bud_category if formula else None)
            or calc.DEFAULT_CAPSULE_BUD_CATEGORY,
            fill_tolerance_percent=formula.weight_tolerance_percent if formula else Decimal(10),
            bud_days=bud_days,
            bud_stability_reference=stability,
            substance=substance,
        )
        return calc.calculate_capsules(request)
    concentration = _first(
        inp.concentration_mg_per_ml, formula.concentration_mg_per_ml if formula else None
    )
    category = _first(inp.bud_category, formula.bud_category if formula else None)
    missing = [
        FieldError(f, "is required (no formula value to fall back on)")
        for f, v in (
            ("concentration_mg_per_ml", concentration),
            ("volume_ml", inp.volume_ml),
            ("bud_category", category),
        )
        if v in (None, "")
    ]
    if missing:
        raise ValidationFailed(missing)
    request = calc.LiquidRequest(
        concentration_mg_per_ml=concentration,
        volume_ml=inp.volume_ml,
        bud_category=category,
        compounded_on=inp.compounded_on,
        api_lot=api_lot,
        tablets=calc.TabletSource() if inp.liquid_source == "tablets" else None,
        balance=balance,
        component_expiries=expiries,
        bud_days=bud_days,
        bud_stability_reference=stability,
        concentration_basis=inp.strength_basis or "hcl",
        substance=substance,
    )
    return calc.calculate_liquid(request)
