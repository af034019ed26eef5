"""POST /api/v1/calculations/{capsules, liquids, weight-check}: the fixed contract of issue 3."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from flask import jsonify
from pydantic import BaseModel, ConfigDict

from ...domain import calc
from . import bp, parse_body


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FillerIn(_In):
    name: str
    fill_mg_per_capsule: Decimal
    tapped_density_mg_per_ml: Decimal | None = None


class ApiLotIn(_In):
    assay_percent: Decimal
    assay_basis: Literal["as_is", "anhydrous"] = "as_is"
    water_percent: Decimal | None = None


class BalanceIn(_In):
    mwq_mg: Decimal = Decimal("120")


class ExpiryIn(_In):
    name: str
    expires: str


class TabletsIn(_In):
    strength_mg: Decimal = Decimal("50")


class CapsulesIn(_In):
    strength_mg: Decimal
    strength_basis: Literal["hcl", "base"] = "hcl"
    quantity: Decimal
    overage_percent: Decimal = Decimal("0")
    capsule_size: str | int
    filler: FillerIn
    api_lot: ApiLotIn
    balance: BalanceIn = BalanceIn()
    compounded_on: date
    component_expiries: list[ExpiryIn] = []
    bud_category: str | None = None
    fill_tolerance_percent: Decimal = Decimal("10")
    bud_days: int | None = None
    bud_stability_reference: str | None = None


class LiquidsIn(_In):
    concentration_mg_per_ml: Decimal
    concentration_basis: Literal["hcl", "base"] = "hcl"
    volume_ml: Decimal
    bud_category: str
    api_lot: ApiLotIn | None = None
    tablets: TabletsIn | None = None
    balance: BalanceIn = BalanceIn()
    compounded_on: date
    component_expiries: list[ExpiryIn] = []
    bud_days: int | None = None
    bud_stability_reference: str | None = None


class WeightCheckIn(_In):
    fill_target_mg: Decimal
    tolerance_percent: Decimal = Decimal("10")
    shell_mg: Decimal
    gross_weights_mg: list[Decimal]


def _expiries(items: list[ExpiryIn]):
    return calc.parse_component_expiries([i.model_dump() for i in items])


def _lot(lot: ApiLotIn | None):
    if lot is None:
        return None
    return calc.ApiLot(lot.assay_percent, lot.assay_basis, lot.water_percent)


@bp.post("/calculations/capsules")
def capsules():
    body = parse_body(CapsulesIn)
    req = calc.CapsuleRequest(
        strength_mg=body.strength_mg,
        strength_basis=body.strength_basis,
        quantity=body.quantity,
        overage_percent=body.overage_percent,
        capsule_size=str(body.capsule_size),
        filler=calc.Filler(
            body.filler.name, body.filler.fill_mg_per_capsule, body.filler.tapped_density_mg_per_ml
        ),
        api_lot=_lot(body.api_lot),
        balance=calc.Balance(body.balance.mwq_mg),
        compounded_on=body.compounded_on,
        component_expiries=_expiries(body.component_expiries),
        bud_category=body.bud_category or calc.DEFAULT_CAPSULE_BUD_CATEGORY,
        fill_tolerance_percent=body.fill_tolerance_percent,
        bud_days=body.bud_days,
        bud_stability_reference=body.bud_stability_reference,
    )
    return jsonify(calc.calculate_capsules(req).to_dict())


@bp.post("/calculations/liquids")
def liquids():
    body = parse_body(LiquidsIn)
    req = calc.LiquidRequest(
        concentration_mg_per_ml=body.concentration_mg_per_ml,
        concentration_basis=body.concentration_basis,
        volume_ml=body.volume_ml,
        bud_category=body.bud_category,
        api_lot=_lot(body.api_lot),
        tablets=calc.TabletSource(body.tablets.strength_mg) if body.tablets else None,
        balance=calc.Balance(body.balance.mwq_mg),
        compounded_on=body.compounded_on,
        component_expiries=_expiries(body.component_expiries),
        bud_days=body.bud_days,
        bud_stability_reference=body.bud_stability_reference,
    )
    return jsonify(calc.calculate_liquid(req).to_dict())


@bp.post("/calculations/weight-check")
def weight_check():
    body = parse_body(WeightCheckIn)
    req = calc.WeightCheckRequest(
        fill_target_mg=body.fill_target_mg,
        shell_mg=body.shell_mg,
        gross_weights_mg=tuple(body.gross_weights_mg),
        tolerance_percent=body.tolerance_percent,
    )
    return jsonify(calc.check_weights(req).to_dict())
