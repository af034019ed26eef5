"""Master formulation records: drafts, pharmacist approval, versions. Approved ones never change."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..database import lock_row, utcnow
from ..domain import lifecycle, weighing
from ..domain.errors import FieldError, ValidationFailed
from ..domain.formula_rules import FormulaSpec, LineSpec, validate_formula
from ..models import Formula, FormulaIngredient, Ingredient, User
from . import audit, signatures

EDITABLE_FIELDS = (
    "name",
    "dosage_form",
    "strength_min_mg",
    "strength_max_mg",
    "concentration_mg_per_ml",
    "capsule_size",
    "packing_stat_mg",
    "overage_percent",
    "bud_category",
    "bud_days_override",
    "stability_reference",
    "storage",
    "container",
    "method",
    "qc_requirements",
    "qc_sample_size",
    "weight_tolerance_percent",
    "api_tolerance_percent",
    "labelling_notes",
)


@dataclass(frozen=True)
class LineInput:
    ingredient_id: int
    role: str
    amount: Decimal | None = None
    unit: str | None = None
    notes: str = ""


def _view(formula: Formula) -> dict:
    view = audit.snapshot(formula)
    view["lines"] = [
        {
            "ingredient_id": ln.ingredient_id,
            "role": ln.role,
            "amount": ln.amount,
            "unit": ln.unit,
            "notes": ln.notes,
        }
        for ln in formula.lines
    ]
    return audit._plain(view)


def _spec(session: Session, code: str, values: dict, lines: list[LineInput]) -> FormulaSpec:
    line_specs = []
    errors = []
    for i, line in enumerate(lines):
        ing = session.get(Ingredient, line.ingredient_id)
        if ing is None:
            errors.append(FieldError(f"lines[{i}].ingredient", "is not a known ingredient"))
            continue
        line_specs.append(LineSpec(ing.name, line.role, ing.tapped_density_mg_per_ml))
    if errors:
        raise ValidationFailed(errors)
    return FormulaSpec(
        code=code,
        lines=tuple(line_specs),
        **{
            k: values.get(k)
            for k in (
                "name",
                "dosage_form",
                "strength_min_mg",
                "strength_max_mg",
                "overage_percent",
                "bud_category",
                "storage",
                "container",
                "method",
                "weight_tolerance_percent",
                "api_tolerance_percent",
                "qc_sample_size",
                "capsule_size",
                "packing_stat_mg",
                "concentration_mg_per_ml",
                "bud_days_override",
                "stability_reference",
            )
        },
    )


def _apply(formula: Formula, values: dict, lines: list[LineInput]) -> None:
    for key in EDITABLE_FIELDS:
        if key in values:
            value = values[key]
            setattr(formula, key, value.strip() if isinstance(value, str) else value)
    formula.lines = [
        FormulaIngredient(
            position=i + 1,
            ingredient_id=ln.ingredient_id,
            role=ln.role,
            amount=ln.amount,
            unit=ln.unit,
            notes=ln.notes or "",
        )
        for i, ln in enumerate(lines)
    ]


def create_formula(
    session: Session, actor: User, code: str, values: dict, lines: list[LineInput]
) -> Formula:
    code = (code or "").strip().upper()
    validate_formula(_spec(session, code, values, lines))
    if session.scalar(select(Formula.id).where(Formula.code == code).limit(1)):
        raise ValidationFailed.single(
            "code", f"{code} already exists; open it and create a new version instead"
        )
    formula = Formula(code=code, version=1, status="draft", created_by_id=actor.id)
    _apply(formula, values, lines)
    session.add(formula)
    session.flush()
    audit.record(session, actor, "formula.create", "formula", formula.id, None, _view(formula))
    return formula


def update_draft(
    session: Session, actor: User, formula: Formula, values: dict, lines: list[LineInput]
) -> Formula:
    if formula.status != "draft":
        raise lifecycle.TransitionNotAllowed(
            f"{formula.code} v{formula.version} is {formula.status}: an approved or retired "
            "formula is never edited. Create a new version instead."
        )
    validate_formula(_spec(session, formula.code, values, lines))
    old = _view(formula)
    # Old lines go first: the unit of work would otherwise insert the new ones before
    # deleting the old, colliding on (formula_id, position).
    formula.lines.clear()
    session.flush()
    _apply(formula, values, lines)
    session.flush()
    before, after = audit.changed(old, _view(formula))
    audit.record(session, actor, "formula.update", "formula", formula.id, before, after)
    return formula


def _lock_code(session: Session, formula: Formula) -> None:
    """Lock every version of the formula's code (in id order), then re-read this one: approving
    retires the other versions and a new version takes the next number, so concurrent changes
    to one code run one after the other and see each other's result."""
    session.scalars(
        select(Formula.id)
        .where(Formula.code == formula.code)
        .order_by(Formula.id)
        .with_for_update()
    ).all()
    lock_row(session, formula)


def approve(
    session: Session, actor: User, formula: Formula, *, sign: signatures.SignOff | None
) -> Formula:
    """Approve the master formulation record, electronically signed."""
    _lock_code(session, formula)
    lifecycle.check_transition("mfr", formula.status, "approved", roles=actor.roles)
    signatures.check_password(actor, sign)
    values = {k: getattr(formula, k) for k in EDITABLE_FIELDS}
    validate_formula(
        _spec(
            session,
            formula.code,
            values,
            [LineInput(ln.ingredient_id, ln.role) for ln in formula.lines],
        )
    )
    previous = session.scalars(
        select(Formula).where(
            Formula.code == formula.code, Formula.status == "approved", Formula.id != formula.id
        )
    ).all()
    for old in previous:
        old.status = "retired"
        audit.record(
            session,
            actor,
            "formula.retire",
            "formula",
            old.id,
            {"status": "approved"},
            {"status": "retired"},
            reason=f"superseded by version {formula.version}",
        )
    formula.status = "approved"
    formula.approved_by_id = actor.id
    formula.approved_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "formula.approve",
        "formula",
        formula.id,
        {"status": "draft"},
        {"status": "approved"},
    )
    signed = {k: v for k, v in _view(formula).items() if k not in ("approved_at", "updated_at")}
    signatures.record(session, actor, "mfr_approve", "formula", formula.id, signed)
    return formula


def retire(session: Session, actor: User, formula: Formula, reason: str) -> Formula:
    _lock_code(session, formula)
    lifecycle.check_transition("mfr", formula.status, "retired", roles=actor.roles, reason=reason)
    old = formula.status
    formula.status = "retired"
    session.flush()
    audit.record(
        session,
        actor,
        "formula.retire",
        "formula",
        formula.id,
        {"status": old},
        {"status": "retired"},
        reason=reason,
    )
    return formula


def new_version(session: Session, actor: User, formula: Formula) -> Formula:
    _lock_code(session, formula)
    open_draft = session.scalar(
        select(Formula).where(Formula.code == formula.code, Formula.status == "draft")
    )
    if open_draft is not None:
        raise ValidationFailed.single(
            "version", f"{formula.code} already has a draft (version {open_draft.version})"
        )
    latest = session.scalar(select(func.max(Formula.version)).where(Formula.code == formula.code))
    copy = Formula(
        code=formula.code,
        version=(latest or 0) + 1,
        status="draft",
        supersedes_id=formula.id,
        created_by_id=actor.id,
    )
    values = {k: getattr(formula, k) for k in EDITABLE_FIELDS}
    if values["api_tolerance_percent"] is None:
        # Versions made before the setting existed were weighed at the default; say so.
        values["api_tolerance_percent"] = weighing.API_TOLERANCE_DEFAULT
    _apply(
        copy,
        values,
        [
            LineInput(ln.ingredient_id, ln.role, ln.amount, ln.unit, ln.notes)
            for ln in formula.lines
        ],
    )
    session.add(copy)
    session.flush()
    audit.record(
        session,
        actor,
        "formula.new_version",
        "formula",
        copy.id,
        None,
        _view(copy),
        reason=f"from version {formula.version}",
    )
    return copy


def approved_formulas(session: Session) -> list[Formula]:
    return list(
        session.scalars(select(Formula).where(Formula.status == "approved").order_by(Formula.code))
    )


def formula_for_orders(session: Session, order_ids: list[int]) -> int | None:
    """The approved formula a batch for these orders should use: the one named on their
    prescriptions, else the only approved formula for their dosage form. None if unclear."""
    from ..models import Order, Prescription

    if not order_ids:
        return None
    rows = session.execute(
        select(Prescription.formula_id, Prescription.dosage_form)
        .join(Order, Order.prescription_id == Prescription.id)
        .where(Order.id.in_(order_ids))
    ).all()
    named = {f for f, _d in rows if f}
    forms = {d for _f, d in rows}
    approved = approved_formulas(session)
    if len(named) == 1:
        chosen = session.get(Formula, named.pop())
        if chosen is not None and chosen.status == "approved":
            return chosen.id
        # A newer approved version of the same code replaces a retired one.
        same = [f for f in approved if chosen is not None and f.code == chosen.code]
        return same[0].id if len(same) == 1 else None
    if len(forms) == 1:
        matching = [f for f in approved if f.dosage_form in forms]
        return matching[0].id if len(matching) == 1 else None
    return None
