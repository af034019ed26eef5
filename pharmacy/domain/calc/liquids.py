"""R7 oral liquids, from bulk API (with a liquid aliquot when needed) or from commercial tablets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .aliquot import aliquot_multiple, needs_aliquot
from .arithmetic import ceil_int, exact, round_volume, round_weighing
from .bud import beyond_use_date, validate_bud_inputs
from .data import DEFAULT_TABLES, LIQUID, CalcTables
from .inputs import LiquidRequest
from .potency import (
    STRENGTH_BASES,
    lot_potency,
    potency_step,
    strength_in_salt,
    strength_step,
    validate_api_lot,
)
from .serialize import jsonable
from .steps import Step, mg, num
from .validation import ErrorCollector

SHAKE_WELL = "Shake well"


@dataclass(frozen=True)
class LiquidResult:
    api_mg: Decimal | None
    tablets: int | None
    prepare_volume_ml: Decimal
    dispense_volume_ml: Decimal
    multiple: int | None
    undispensed_volume_ml: Decimal
    bud: date
    bud_limited_by: str
    storage: str
    auxiliary_notes: tuple[str, ...]
    steps: tuple[Step, ...]
    concentration_salt_mg_per_ml: Decimal
    potency: Decimal | None
    api_unrounded_mg: Decimal | None

    def to_dict(self) -> dict[str, object]:
        return jsonable(self)


def _validate(request: LiquidRequest, tables: CalcTables) -> ErrorCollector:
    errors = ErrorCollector()
    errors.positive("concentration_mg_per_ml", request.concentration_mg_per_ml, "R7")
    errors.positive("volume_ml", request.volume_ml, "R7")
    if request.concentration_basis not in STRENGTH_BASES:
        errors.add("concentration_basis", f"R1: must be one of {', '.join(STRENGTH_BASES)}")
    if request.api_lot is not None and request.tablets is not None:
        errors.add("tablets", "R7: give either api_lot or tablets, not both")
    elif request.tablets is not None:
        errors.positive("tablets.strength_mg", request.tablets.strength_mg, "R7")
    else:
        validate_api_lot(errors, request.api_lot)
        if errors.positive("balance.mwq_mg", request.balance.mwq_mg, "R7"):
            errors.at_most_cents("balance.mwq_mg", request.balance.mwq_mg, "R7")
    validate_bud_inputs(
        errors,
        request.compounded_on,
        request.bud_category,
        request.component_expiries,
        bud_days=request.bud_days,
        stability_reference=request.bud_stability_reference,
        dosage_form=LIQUID,
        tables=tables,
    )
    return errors


@exact
def calculate_liquid(
    request: LiquidRequest, *, tables: CalcTables = DEFAULT_TABLES
) -> LiquidResult:
    _validate(request, tables).raise_if_any()

    substance, volume = request.substance, request.volume_ml
    concentration = strength_in_salt(
        request.concentration_mg_per_ml, request.concentration_basis, substance
    )
    steps = [
        strength_step(
            request.concentration_mg_per_ml, request.concentration_basis, substance, "mg/mL"
        )
    ]
    needed = concentration * volume
    steps.append(
        Step(
            "api_required",
            f"{substance.salt_name.capitalize()} needed",
            f"{num(concentration)} mg/mL × {num(volume)} mL = {num(needed)} mg",
            needed,
            "mg",
        )
    )

    api_mg: Decimal | None = None
    tablets: int | None = None
    multiple: int | None = None
    potency: Decimal | None = None
    api_unrounded: Decimal | None = None
    notes: list[str] = []

    if request.tablets is not None:
        tablet_mg = request.tablets.strength_mg
        tablets = ceil_int(needed / tablet_mg)
        # A graduate is read to 0.01 mL at best; the exact quotient can be non-terminating.
        prepare = max(round_volume(tablets * tablet_mg / concentration), volume)
        notes.append(SHAKE_WELL)
        steps += [
            Step(
                "tablets",
                f"Whole {num(tablet_mg)} mg tablets (label claim)",
                f"ceil({num(needed)} mg ÷ {num(tablet_mg)} mg) = {tablets}",
                Decimal(tablets),
                "tablets",
            ),
            Step(
                "prepare_volume",
                "Prepare (q.s.) to",
                f"{tablets} × {num(tablet_mg)} mg ÷ {num(concentration)} mg/mL = {num(prepare)} mL",
                prepare,
                "mL",
            ),
        ]
    else:
        lot = request.api_lot
        assert lot is not None
        mwq = request.balance.mwq_mg
        potency = lot_potency(lot)
        steps.append(potency_step(lot))
        api_unrounded = needed / potency
        single = round_weighing(api_unrounded)
        multiple = aliquot_multiple(api_unrounded, mwq) if needs_aliquot(single, mwq) else 1
        api_mg = round_weighing(multiple * api_unrounded)
        prepare = multiple * volume
        if multiple == 1:
            weigh_formula = (
                f"{num(needed)} mg ÷ {num(potency)} = {num(api_unrounded)} mg, "
                f"rounded to {mg(api_mg)}"
            )
        else:
            weigh_formula = (
                f"{num(needed)} mg ÷ {num(potency)} = {num(api_unrounded)} mg is below the "
                f"balance minimum {num(mwq)} mg; m = ceil({num(mwq)} ÷ {num(api_unrounded)}) = "
                f"{multiple}; weigh {multiple} × {num(api_unrounded)} = "
                f"{num(multiple * api_unrounded)} mg, rounded to {mg(api_mg)}"
            )
        steps += [
            Step("api_mg", "API to weigh", weigh_formula, api_mg, "mg"),
            Step(
                "prepare_volume",
                "Prepare (q.s.) to",
                f"{multiple} × {num(volume)} mL = {num(prepare)} mL",
                prepare,
                "mL",
            ),
        ]

    undispensed = prepare - volume
    steps.append(
        Step(
            "dispense_volume",
            "Dispense",
            f"{num(volume)} mL; {num(undispensed)} mL prepared but not dispensed"
            if undispensed
            else f"{num(volume)} mL (all of the preparation)",
            volume,
            "mL",
        )
    )

    bud = beyond_use_date(
        request.compounded_on,
        request.bud_category,
        request.component_expiries,
        bud_days=request.bud_days,
        stability_reference=request.bud_stability_reference,
        dosage_form=LIQUID,
        tables=tables,
    )
    steps += bud.steps
    if notes:
        steps.append(Step("auxiliary_notes", "Label", "; ".join(notes), "; ".join(notes), ""))

    return LiquidResult(
        api_mg=api_mg,
        tablets=tablets,
        prepare_volume_ml=prepare,
        dispense_volume_ml=volume,
        multiple=multiple,
        undispensed_volume_ml=undispensed,
        bud=bud.bud,
        bud_limited_by=bud.limited_by,
        storage=bud.storage,
        auxiliary_notes=tuple(notes),
        steps=tuple(steps),
        concentration_salt_mg_per_ml=concentration,
        potency=potency,
        api_unrounded_mg=api_unrounded,
    )
