"""What makes a master formulation record acceptable for LDN (pure rules, no database)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from . import weighing
from .calc.data import CAPSULE, DEFAULT_TABLES, LIQUID, CalcTables, forbidden_filler_reason
from .errors import FieldError, ValidationFailed
from .labelling import storage_conflict

DOSAGE_FORMS = {
    "capsule": ("Capsules", CAPSULE),
    "oral_solution": ("Oral solution", LIQUID),
    "oral_suspension": ("Oral suspension", LIQUID),
}
LINE_ROLES = ("active", "filler", "capsule_shell", "vehicle", "excipient")
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,19}$")


@dataclass(frozen=True)
class LineSpec:
    ingredient_name: str
    role: str
    tapped_density_mg_per_ml: Decimal | None = None


@dataclass(frozen=True)
class FormulaSpec:
    code: str
    name: str
    dosage_form: str
    strength_min_mg: Decimal | None
    strength_max_mg: Decimal | None
    overage_percent: Decimal | None
    bud_category: str
    storage: str
    container: str
    method: str
    weight_tolerance_percent: Decimal | None
    qc_sample_size: int | None
    lines: tuple[LineSpec, ...] = field(default_factory=tuple)
    capsule_size: str | None = None
    packing_stat_mg: Decimal | None = None
    concentration_mg_per_ml: Decimal | None = None
    bud_days_override: int | None = None
    stability_reference: str | None = None
    api_tolerance_percent: Decimal | None = weighing.API_TOLERANCE_DEFAULT


# Far beyond any real LDN formula; they stop typos and hostile input before arithmetic.
UPPER_BOUNDS = {
    "concentration_mg_per_ml": Decimal("100"),
    "packing_stat_mg": Decimal("2000"),
    "qc_sample_size": 1000,
    "bud_days_override": 3650,
    "strength_min_mg": Decimal("1000"),
    "strength_max_mg": Decimal("1000"),
}


def form_family(dosage_form: str) -> str | None:
    entry = DOSAGE_FORMS.get(dosage_form)
    return entry[1] if entry else None


def validate_formula(spec: FormulaSpec, tables: CalcTables = DEFAULT_TABLES) -> None:
    """Raise ValidationFailed naming every field that breaks a rule."""
    errors: list[FieldError] = []

    def bad(field_name: str, message: str) -> None:
        errors.append(FieldError(field_name, message))

    if not CODE_PATTERN.match(spec.code or ""):
        bad("code", "2–20 characters: capital letters, digits and '-' (e.g. LDN-CAP)")
    for name in ("name", "storage", "container", "method"):
        if not (getattr(spec, name) or "").strip():
            bad(name, "is required")
    family = form_family(spec.dosage_form)
    if family is None:
        bad("dosage_form", f"must be one of {', '.join(DOSAGE_FORMS)}")

    lo, hi = spec.strength_min_mg, spec.strength_max_mg
    if lo is None or lo <= 0:
        bad("strength_min_mg", "must be greater than 0 mg")
    if hi is None or hi <= 0:
        bad("strength_max_mg", "must be greater than 0 mg")
    elif hi > tables.max_strength_mg:
        bad(
            "strength_max_mg",
            f"must be at most {tables.max_strength_mg} mg per dose (low-dose naltrexone)",
        )
    if lo is not None and hi is not None and lo > 0 and hi < lo:
        bad("strength_max_mg", "must not be below the minimum strength")
    if spec.overage_percent is None or spec.overage_percent < 0:
        bad("overage_percent", "must be 0 or more")
    elif spec.overage_percent > 50:
        bad("overage_percent", "must be at most 50%")
    errors += weighing.check_controls(
        spec.api_tolerance_percent, spec.weight_tolerance_percent, spec.qc_sample_size, family
    )

    actives = [ln for ln in spec.lines if ln.role == "active"]
    if len(actives) != 1:
        bad("lines", "needs exactly one active ingredient (naltrexone)")
    for i, line in enumerate(spec.lines):
        if line.role not in LINE_ROLES:
            bad(f"lines[{i}].role", f"must be one of {', '.join(LINE_ROLES)}")
        if line.role in ("filler", "excipient", "vehicle"):
            reason = forbidden_filler_reason(line.ingredient_name, tables.forbidden_fillers)
            if reason:
                bad(f"lines[{i}].ingredient", f"is not allowed in LDN formulas ({reason})")

    for name, most in UPPER_BOUNDS.items():
        value = getattr(spec, name)
        if value is not None and value < 0:
            bad(name, "must not be negative")
        elif value is not None and value > most:
            bad(name, f"must be at most {most}")
    if family == CAPSULE:
        _capsule_rules(spec, tables, bad)
    elif family == LIQUID:
        if spec.concentration_mg_per_ml is None or spec.concentration_mg_per_ml <= 0:
            bad("concentration_mg_per_ml", "must be greater than 0 mg/mL for a liquid")
        if not any(ln.role == "vehicle" for ln in spec.lines):
            bad("lines", "a liquid needs a vehicle")

    category = tables.bud_categories.get(spec.bud_category)
    if category is None:
        bad("bud_category", f"must be one of {', '.join(tables.bud_categories)}")
    elif family is not None and family not in category.dosage_forms:
        bad("bud_category", f"'{category.label}' does not apply to {spec.dosage_form}")
    conflict = storage_conflict(spec.bud_category, spec.storage)
    if conflict:
        bad("storage", conflict)
    if spec.bud_days_override is not None:
        if spec.bud_days_override <= 0:
            bad("bud_days_override", "must be a positive number of days")
        elif (
            category is not None
            and spec.bud_days_override > category.days
            and not (spec.stability_reference or "").strip()
        ):
            bad(
                "stability_reference",
                f"a BUD longer than the USP <795> {category.days} days needs a recorded "
                "stability reference",
            )
    if errors:
        raise ValidationFailed(errors)


def _capsule_rules(spec: FormulaSpec, tables: CalcTables, bad) -> None:
    volume = tables.capsule_volumes_ml.get(spec.capsule_size or "")
    if volume is None:
        bad("capsule_size", f"must be one of {', '.join(tables.capsule_volumes_ml)}")
    if spec.packing_stat_mg is None or spec.packing_stat_mg <= 0:
        bad("packing_stat_mg", "must be greater than 0 mg per capsule")
    fillers = [ln for ln in spec.lines if ln.role == "filler"]
    if len(fillers) != 1:
        bad("lines", "a capsule formula needs exactly one filler")
        return
    density = fillers[0].tapped_density_mg_per_ml
    if volume is not None and density and spec.packing_stat_mg and spec.packing_stat_mg > 0:
        needed = spec.packing_stat_mg / density
        if needed > volume:
            bad(
                "packing_stat_mg",
                f"{spec.packing_stat_mg} mg of {fillers[0].ingredient_name} takes "
                f"{needed.quantize(Decimal('0.001'))} mL, more than a size {spec.capsule_size} "
                f"capsule holds ({volume} mL)",
            )
