"""Capsule batch calculation: R3 batch size, R4 fill, R6 aliquot, R9 capacity, R12 limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .aliquot import Aliquot, aliquot_steps, needs_aliquot, plan_aliquot
from .arithmetic import HUNDRED, ceil_int, exact, round_weighing
from .bud import beyond_use_date, validate_bud_inputs
from .data import (
    CAPSULE,
    DEFAULT_TABLES,
    CalcTables,
    forbidden_filler_reason,
    normalise_capsule_size,
)
from .inputs import CapsuleRequest, Filler
from .potency import (
    lot_potency,
    potency_step,
    strength_in_salt,
    strength_step,
    validate_api_lot,
    validate_strength,
)
from .serialize import jsonable
from .steps import Step, mg, num, pct
from .validation import ErrorCollector
from .weight_check import fill_limits, validate_tolerance


@dataclass(frozen=True)
class CapsuleResult:
    capsules_to_make: int
    api_mg: Decimal
    filler_mg: Decimal
    total_powder_mg: Decimal
    fill_target_mg: Decimal
    fill_min_mg: Decimal
    fill_max_mg: Decimal
    aliquot: Aliquot | None
    bud: date
    bud_limited_by: str
    storage: str
    steps: tuple[Step, ...]
    strength_salt_mg: Decimal
    potency: Decimal
    api_unrounded_mg: Decimal
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return jsonable(self)


def batch_size(quantity: int, overage_percent: Decimal) -> int:
    """R3: n = N + ceil(N × overage% / 100)."""
    return quantity + ceil_int(quantity * overage_percent / HUNDRED)


def _validate_filler(errors: ErrorCollector, filler: Filler, size: str, tables: CalcTables) -> None:
    if not filler.name or not filler.name.strip():
        errors.add("filler.name", "R12: the filler name is required")
    else:
        reason = forbidden_filler_reason(filler.name, tables.forbidden_fillers)
        if reason:
            errors.add("filler.name", f"R12: {filler.name} is not allowed for LDN ({reason})")
    f_ok = errors.positive("filler.fill_mg_per_capsule", filler.fill_mg_per_capsule, "R4")
    density = filler.tapped_density_mg_per_ml
    if density is None or not errors.positive("filler.tapped_density_mg_per_ml", density, "R9"):
        return
    volume = tables.capsule_volumes_ml.get(size)
    if f_ok and volume is not None:
        fill_volume = filler.fill_mg_per_capsule / density
        if fill_volume > volume:
            errors.add(
                "filler.fill_mg_per_capsule",
                f"R9: {num(filler.fill_mg_per_capsule)} mg at {num(density)} mg/mL needs "
                f"{num(fill_volume)} mL, more than a size {size} capsule holds "
                f"({num(volume)} mL)",
            )


def _validate(request: CapsuleRequest, tables: CalcTables) -> tuple[ErrorCollector, int | None]:
    errors = ErrorCollector()
    validate_strength(errors, request.strength_mg, request.strength_basis, tables.max_strength_mg)
    quantity = errors.whole_number("quantity", request.quantity, "R3", minimum=1)
    if errors.finite("overage_percent", request.overage_percent, "R3") and (
        request.overage_percent < 0 or request.overage_percent > 100
    ):
        errors.add("overage_percent", "R3: overage must be from 0 to 100 percent")
    size = normalise_capsule_size(request.capsule_size)
    if size not in tables.capsule_volumes_ml:
        known = ", ".join(tables.capsule_volumes_ml)
        errors.add("capsule_size", f"R9: unknown capsule size {size!r}; use one of {known}")
    _validate_filler(errors, request.filler, size, tables)
    validate_api_lot(errors, request.api_lot)
    if errors.positive("balance.mwq_mg", request.balance.mwq_mg, "R6"):
        errors.at_most_cents("balance.mwq_mg", request.balance.mwq_mg, "R6")
    validate_tolerance(errors, request.fill_tolerance_percent, "fill_tolerance_percent")
    validate_bud_inputs(
        errors,
        request.compounded_on,
        request.bud_category,
        request.component_expiries,
        bud_days=request.bud_days,
        stability_reference=request.bud_stability_reference,
        dosage_form=CAPSULE,
        tables=tables,
    )
    return errors, quantity


@exact
def calculate_capsules(
    request: CapsuleRequest, *, tables: CalcTables = DEFAULT_TABLES
) -> CapsuleResult:
    """Everything a technician weighs for a capsule batch, with the worksheet working."""
    errors, quantity = _validate(request, tables)
    errors.raise_if_any()
    assert quantity is not None

    substance, filler, mwq = request.substance, request.filler, request.balance.mwq_mg
    f = filler.fill_mg_per_capsule
    steps: list[Step] = [strength_step(request.strength_mg, request.strength_basis, substance)]
    strength = strength_in_salt(request.strength_mg, request.strength_basis, substance)
    potency = lot_potency(request.api_lot)
    steps.append(potency_step(request.api_lot))

    n = batch_size(quantity, request.overage_percent)
    extra = n - quantity
    steps.append(
        Step(
            "capsules_to_make",
            "Capsules to make (with overage)",
            f"{quantity} + ceil({quantity} × {pct(request.overage_percent)} ÷ 100) = "
            f"{quantity} + {extra} = {n}",
            Decimal(n),
            "capsules",
        )
    )

    required = strength * n
    api_unrounded = required / potency
    api_mg = round_weighing(api_unrounded)
    steps += [
        Step(
            "api_required",
            f"{substance.salt_name.capitalize()} needed for the batch",
            f"{num(strength)} mg × {n} = {num(required)} mg",
            required,
            "mg",
        ),
        Step(
            "api_mg",
            "API to weigh, corrected for potency",
            f"{num(required)} mg ÷ {num(potency)} = {num(api_unrounded)} mg, "
            f"rounded to {mg(api_mg)}",
            api_mg,
            "mg",
        ),
    ]

    total_powder = round_weighing(f * n)
    steps.append(
        Step(
            "total_powder",
            "Total powder (packing statistic × capsules)",
            f"{num(f)} mg × {n} = {mg(total_powder)}",
            total_powder,
            "mg",
        )
    )

    aliquot: Aliquot | None = None
    if needs_aliquot(api_mg, mwq):
        aliquot = plan_aliquot(api_unrounded, mwq)
        steps += aliquot_steps(api_unrounded, api_mg, mwq, aliquot, filler.name)
        into_batch, into_label = aliquot.aliquot_mg, "aliquot"
    else:
        into_batch, into_label = api_mg, "API"

    filler_mg = total_powder - into_batch
    if filler_mg < 0:
        field = "quantity" if aliquot else "filler.fill_mg_per_capsule"
        errors.add(
            field,
            f"R4: the {into_label} ({mg(into_batch)}) is more than the total powder "
            f"({mg(total_powder)}); make more capsules or use a larger capsule",
        )
        errors.raise_if_any()
    steps.append(
        Step(
            "filler_mg",
            f"Filler ({filler.name}) to add to the final blend",
            f"{mg(total_powder)} − {mg(into_batch)} {into_label} = {mg(filler_mg)}",
            filler_mg,
            "mg",
        )
    )

    warnings: list[str] = []
    if 0 < filler_mg < mwq:
        warnings.append(
            f"Filler weighing {mg(filler_mg)} is below the balance minimum weighable quantity "
            f"({num(mwq)} mg)."
        )

    density = filler.tapped_density_mg_per_ml
    if density is not None:
        size = normalise_capsule_size(request.capsule_size)
        fill_volume = f / density
        capacity = tables.capsule_volumes_ml[size]
        steps.append(
            Step(
                "capsule_capacity",
                f"Fill volume in a size {size} capsule",
                f"{num(f)} mg ÷ {num(density)} mg/mL = "
                f"{num(fill_volume)} mL ≤ {num(capacity)} mL capsule volume",
                fill_volume,
                "mL",
            )
        )

    fill_min, fill_max = fill_limits(f, request.fill_tolerance_percent)
    steps.append(
        Step(
            "fill_target",
            "Target net fill per capsule",
            f"packing statistic F = {num(f)} mg; accept {num(fill_min)}–{num(fill_max)} mg "
            f"(± {pct(request.fill_tolerance_percent)})",
            f,
            "mg",
        )
    )

    bud = beyond_use_date(
        request.compounded_on,
        request.bud_category,
        request.component_expiries,
        bud_days=request.bud_days,
        stability_reference=request.bud_stability_reference,
        dosage_form=CAPSULE,
        tables=tables,
    )
    steps += bud.steps

    return CapsuleResult(
        capsules_to_make=n,
        api_mg=api_mg,
        filler_mg=filler_mg,
        total_powder_mg=total_powder,
        fill_target_mg=f,
        fill_min_mg=fill_min,
        fill_max_mg=fill_max,
        aliquot=aliquot,
        bud=bud.bud,
        bud_limited_by=bud.limited_by,
        storage=bud.storage,
        steps=tuple(steps),
        strength_salt_mg=strength,
        potency=potency,
        api_unrounded_mg=api_unrounded,
        warnings=tuple(warnings),
    )
