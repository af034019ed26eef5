"""Prescription intake, LDN screening on entry, and pharmacist verification with overrides."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..database import lock_row, utcnow
from ..domain import lifecycle, screening
from ..domain.errors import FieldError, TransitionNotAllowed, ValidationFailed
from ..domain.formula_rules import DOSAGE_FORMS
from ..domain.prescription_rules import (
    DEFAULT_MAX_REFILLS,
    DEFAULT_VALIDITY_MONTHS,
    PrescriptionTerms,
    add_months,
    validate_entry,
)
from ..domain.rxnumber import format_rx_number
from ..domain.titration import TitrationStep as StepFacts
from ..domain.titration import validate_steps
from ..models import (
    Formula,
    Order,
    Patient,
    Prescriber,
    Prescription,
    ScreeningFinding,
    SequenceCounter,
    TitrationStep,
    User,
)
from . import audit, signatures
from . import prescription_dose as dose_rules
from .prescription_dose import DEFAULT_WHEN

QUANTITY_UNITS = {"capsule": "capsule", "oral_solution": "mL", "oral_suspension": "mL"}
# Statuses in which a prescription still counts as the patient's active LDN prescription.
ACTIVE_STATUSES = ("entered", "verified", "on_hold")
MAX_DOSES_PER_DAY = 4
MIN_OVERRIDE_REASON = 10
# Inputs the dose plan needs sound before it can be worked out.
_DOSE_INPUTS = ("dosage_form", "formula_id", "strength_mg", "dose_mg", "quantity", "doses_per_day")
_ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$")


@dataclass(frozen=True)
class StepInput:
    strength_mg: Decimal | None
    days: int | None
    units_per_dose: Decimal | None = None


@dataclass
class PrescriptionInput:
    patient_id: int | None
    prescriber_id: int | None
    date_written: date | None
    dosage_form: str
    # The product: mg per capsule (blank: one capsule of the dose), or a liquid's concentration
    # in mg/mL (blank: the formula's concentration).
    strength_mg: Decimal | None
    quantity: Decimal | None
    strength_basis: str = "hcl"
    doses_per_day: int | None = 1
    # mg per administration; for capsules blank means one capsule of strength_mg.
    dose_mg: Decimal | None = None
    # The sig is written from the dose: "Take 4.5 mL (4.5 mg) by mouth once daily" + when,
    # then any extra directions.
    when: str = DEFAULT_WHEN
    extra_directions: str = ""
    refills_authorized: int | None = 0
    indication: str = ""
    icd10_code: str = ""
    formula_id: int | None = None
    titration: Sequence[StepInput] = field(default_factory=tuple)
    promised_on: date | None = None


# --- Rx numbers -------------------------------------------------------------------------------


def next_sequence(session: Session, name: str) -> int:
    """The next value of a named counter, under a row lock held until the transaction ends.

    PostgreSQL: SELECT ... FOR UPDATE makes concurrent intakes queue on the counter row.
    SQLite: every write transaction starts with BEGIN IMMEDIATE, so writers already queue.
    """
    conn = session.connection()
    lock = select(SequenceCounter.value).where(SequenceCounter.name == name).with_for_update()
    value = conn.execute(lock).scalar()
    if value is None:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        conn.execute(
            insert(SequenceCounter)
            .values(name=name, value=0)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        value = conn.execute(lock).scalar()
    conn.execute(
        update(SequenceCounter).where(SequenceCounter.name == name).values(value=value + 1)
    )
    return value + 1


def next_rx_number(session: Session) -> str:
    return format_rx_number(next_sequence(session, "rx"))


# --- validation -------------------------------------------------------------------------------


def _decimals_ok(value: Decimal | None, places: int = 4) -> bool:
    if not isinstance(value, Decimal) or not value.is_finite():
        return True  # other rules report it
    exponent = value.normalize().as_tuple().exponent
    return not (isinstance(exponent, int) and -exponent > places)


def _validate(
    session: Session, data: PrescriptionInput, today: date, validity_months: int
) -> tuple[Patient | None, Formula | None, dose_rules.DosePlan]:
    errors: list[FieldError] = []
    patient = session.get(Patient, data.patient_id) if data.patient_id else None
    if data.patient_id is None:
        errors.append(FieldError("patient_id", "choose the patient"))
    elif patient is None:
        errors.append(FieldError("patient_id", f"patient {data.patient_id} does not exist"))
    if data.prescriber_id is None:
        errors.append(FieldError("prescriber_id", "choose the prescriber"))
    elif session.get(Prescriber, data.prescriber_id) is None:
        errors.append(
            FieldError("prescriber_id", f"prescriber {data.prescriber_id} does not exist")
        )
    try:
        validate_entry(
            date_written=data.date_written,
            today=today,
            quantity=data.quantity,
            strength_mg=data.strength_mg,
            dose_mg=data.dose_mg,
            refills_authorised=data.refills_authorized,
            max_refills=DEFAULT_MAX_REFILLS,
        )
    except ValidationFailed as exc:
        for e in exc.errors:
            name = "refills_authorized" if e.field == "refills_authorised" else e.field
            errors.append(FieldError(name, e.message))
    for name in ("strength_mg", "dose_mg", "quantity"):
        if not _decimals_ok(getattr(data, name)):
            errors.append(
                FieldError(name, f"{name.replace('_', ' ')} has more than 4 decimal places")
            )
    if (
        data.date_written is not None
        and data.date_written <= today
        and PrescriptionTerms(data.date_written, 0, validity_months=validity_months).is_expired(
            today
        )
    ):
        errors.append(
            FieldError(
                "date_written",
                f"written {data.date_written.isoformat()}: a prescription may be filled for "
                f"{validity_months} months only, so this one has expired",
            )
        )
    if data.dosage_form not in DOSAGE_FORMS:
        errors.append(
            FieldError("dosage_form", f"dosage form must be one of {', '.join(DOSAGE_FORMS)}")
        )
    if data.strength_basis not in screening.STRENGTH_BASES:
        errors.append(FieldError("strength_basis", "strength basis must be hcl or base"))
    dpd = data.doses_per_day
    if isinstance(dpd, bool) or not isinstance(dpd, int) or not 1 <= dpd <= MAX_DOSES_PER_DAY:
        errors.append(
            FieldError(
                "doses_per_day",
                f"doses per day must be a whole number from 1 to {MAX_DOSES_PER_DAY}",
            )
        )
    for name, limit in (("when", 200), ("extra_directions", 1000)):
        if len(getattr(data, name) or "") > limit:
            errors.append(FieldError(name, f"at most {limit} characters"))
    code = (data.icd10_code or "").strip().upper()
    if code and not _ICD10.match(code):
        errors.append(FieldError("icd10_code", f"{code!r} is not an ICD-10 code like G35 or M79.7"))
    formula = None
    if data.formula_id is not None:
        formula = session.get(Formula, data.formula_id)
        if formula is None or formula.status != "approved":
            errors.append(FieldError("formula_id", "choose an approved formula"))
            formula = None
        elif formula.dosage_form != data.dosage_form:
            errors.append(
                FieldError(
                    "formula_id",
                    f"formula {formula.code} makes {formula.dosage_form}, not {data.dosage_form}",
                )
            )
    if data.titration:
        try:
            validate_steps(_steps(data.titration), field="titration")
        except ValidationFailed as exc:
            errors.extend(exc.errors)
        for i, step in enumerate(data.titration):
            if not _decimals_ok(step.strength_mg):
                errors.append(
                    FieldError(
                        f"titration[{i}].strength_mg", f"step {i + 1}: more than 4 decimal places"
                    )
                )
            units = step.units_per_dose
            if (
                data.dosage_form == "capsule"  # a liquid step may be 1.5 mL
                and isinstance(units, Decimal)
                and units.is_finite()
                and units != units.to_integral_value()
            ):
                errors.append(
                    FieldError(
                        f"titration[{i}].units_per_dose",
                        f"step {i + 1}: capsules are given whole",
                    )
                )
    if data.promised_on is not None and data.promised_on < today:
        errors.append(FieldError("promised_on", "the promised date is in the past"))
    dose_plan = None
    if not any(e.field in _DOSE_INPUTS or e.field.startswith("titration") for e in errors):
        try:
            dose_plan = _dose_plan(data, formula)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    assert dose_plan is not None
    return patient, formula, dose_plan


def _dose_plan(data: PrescriptionInput, formula: Formula | None) -> dose_rules.DosePlan:
    """Can the dose and every titration step be measured with the product that is made?"""
    dose_plan = dose_rules.plan(
        data.dosage_form, data.strength_mg, data.dose_mg, _steps(data.titration), formula
    )
    dose_rules.check_quantity(dose_plan, data.quantity, data.doses_per_day or 1)
    return dose_plan


def _steps(steps: Sequence[StepInput]) -> list[StepFacts]:
    return [StepFacts(s.strength_mg, s.days, s.units_per_dose) for s in steps]  # type: ignore[arg-type]


# --- screening --------------------------------------------------------------------------------


def patient_facts(patient: Patient) -> screening.PatientFacts:
    return screening.PatientFacts(
        medications=patient.medication_list,
        allergies=patient.allergy_list,
        pregnant=bool(patient.pregnant),
        breastfeeding=bool(patient.breastfeeding),
        liver_disease=patient.liver_disease,
    )


def formula_excipients(formula: Formula | None) -> list[str]:
    if formula is None:
        return []
    return [line.ingredient.name for line in formula.lines if line.role != "active"]


def other_active(
    session: Session, patient_id: int, exclude_id: int | None, today: date
) -> list[str]:
    stmt = select(Prescription.rx_number).where(
        Prescription.patient_id == patient_id,
        Prescription.status.in_(ACTIVE_STATUSES),
        Prescription.expires_on >= today,
    )
    if exclude_id is not None:
        stmt = stmt.where(Prescription.id != exclude_id)
    return list(session.scalars(stmt.order_by(Prescription.id)))


def screen_input(
    session: Session,
    data: PrescriptionInput,
    today: date | None = None,
    validity_months: int = DEFAULT_VALIDITY_MONTHS,
) -> list[screening.Finding]:
    """Screening without saving (the "Check" button of the entry form)."""
    return preview_input(session, data, today, validity_months)[0]


def preview_input(
    session: Session,
    data: PrescriptionInput,
    today: date | None = None,
    validity_months: int = DEFAULT_VALIDITY_MONTHS,
) -> tuple[list[screening.Finding], str]:
    """Screening and the directions the label will carry, without saving."""
    today = today or date.today()
    patient, formula, dose_plan = _validate(session, data, today, validity_months)
    assert patient is not None and data.doses_per_day
    sig = dose_plan.directions(data.doses_per_day, data.when, data.extra_directions)
    return screening.screen(
        patient_facts(patient),
        screening.PrescriptionFacts(
            dose_plan.dose_mg,
            data.strength_basis,
            data.doses_per_day,
            tuple(StepFacts(p.amount.dose_mg, p.days) for p in dose_plan.titration),
        ),
        excipients=formula_excipients(formula),
        other_active_prescriptions=other_active(session, patient.id, None, today),
    ), sig


def screen_prescription(session: Session, rx: Prescription, today: date) -> list[screening.Finding]:
    # Screening works on doses in mg; a step entered in units is stored with its dose in mg.
    steps = tuple(StepFacts(s.strength_mg, s.days, None) for s in rx.titration_steps)
    formula = session.get(Formula, rx.formula_id) if rx.formula_id else None
    return screening.screen(
        patient_facts(rx.patient),
        screening.PrescriptionFacts(rx.dose_mg, rx.strength_basis, rx.doses_per_day, steps),
        excipients=formula_excipients(formula),
        other_active_prescriptions=other_active(session, rx.patient_id, rx.id, today),
    )


def _store_new_findings(
    rx: Prescription, findings: list[screening.Finding]
) -> list[ScreeningFinding]:
    known = {(f.code, f.message) for f in rx.findings}
    added = []
    for f in findings:
        if (f.code, f.message) not in known:
            row = ScreeningFinding(code=f.code, severity=f.severity, message=f.message)
            rx.findings.append(row)
            added.append(row)
    return added


def _finding_view(f: ScreeningFinding) -> dict:
    return {"code": f.code, "severity": f.severity, "message": f.message}


def _rx_view(rx: Prescription) -> dict:
    view = audit.snapshot(rx)
    view["titration"] = [
        {"strength_mg": s.strength_mg, "units_per_dose": s.units_per_dose, "days": s.days}
        for s in rx.titration_steps
    ]
    view["findings"] = [_finding_view(f) for f in rx.findings]
    return audit._plain(view)


def _signed_rx(rx: Prescription) -> dict:
    """What the pharmacist attests to: the prescription as written, not its workflow fields."""
    view = _rx_view(rx)
    for key in ("status", "verified_at", "verified_by_id", "updated_at", "status_reason"):
        view.pop(key, None)
    return view


def blocking(rx: Prescription) -> list[ScreeningFinding]:
    """Findings that stop verification now: refused ones, and contraindications not overridden."""
    return [
        f
        for f in rx.findings
        if f.cleared_at is None
        and (
            f.severity == screening.REFUSED
            or (f.severity == screening.CONTRAINDICATED and f.overridden_at is None)
        )
    ]


# --- use cases --------------------------------------------------------------------------------


def check_prescription(
    session: Session,
    data: PrescriptionInput,
    today: date | None = None,
    validity_months: int = DEFAULT_VALIDITY_MONTHS,
) -> None:
    """The intake rules alone (nothing written): lets the form show every error at once."""
    _validate(session, data, today or date.today(), validity_months)


def enter_prescription(
    session: Session,
    actor: User,
    data: PrescriptionInput,
    today: date | None = None,
    validity_months: int = DEFAULT_VALIDITY_MONTHS,
) -> Prescription:
    """Record a prescription, screen it, and create its first order (fill 1, received)."""
    today = today or date.today()
    patient, formula, dose_plan = _validate(session, data, today, validity_months)
    assert patient is not None and data.date_written is not None and data.doses_per_day
    rx = Prescription(
        rx_number=next_rx_number(session),
        patient_id=patient.id,
        prescriber_id=data.prescriber_id,
        formula_id=formula.id if formula else None,
        date_written=data.date_written,
        expires_on=add_months(data.date_written, validity_months),
        dosage_form=data.dosage_form,
        strength_mg=dose_plan.strength_mg,
        dose_mg=dose_plan.dose_mg,
        strength_basis=data.strength_basis,
        quantity=data.quantity,
        quantity_unit=QUANTITY_UNITS[data.dosage_form],
        doses_per_day=data.doses_per_day,
        directions=dose_plan.directions(data.doses_per_day, data.when, data.extra_directions),
        refills_authorized=data.refills_authorized,
        indication=(data.indication or "").strip(),
        icd10_code=(data.icd10_code or "").strip().upper() or None,
        status=lifecycle.PRESCRIPTION.initial,
        created_by_id=actor.id,
    )
    rx.titration_steps = [
        TitrationStep(
            position=i + 1,
            # A step given in units is stored with its dose in mg as well (units x the product
            # strength), so labels, screening and the calendar never work it out again.
            strength_mg=p.amount.dose_mg,
            days=s.days,
            # Whole capsules as entered; a liquid step in mL is kept as its dose in mg.
            units_per_dose=int(s.units_per_dose)
            if s.units_per_dose is not None and dose_plan.unit == "capsule"
            else None,
        )
        for i, (s, p) in enumerate(zip(data.titration, dose_plan.titration, strict=True))
    ]
    session.add(rx)
    session.flush()
    _store_new_findings(rx, screen_prescription(session, rx, today))
    order = Order(
        prescription_id=rx.id,
        fill_number=1,
        status=lifecycle.ORDER.initial,
        quantity=rx.quantity,
        quantity_unit=rx.quantity_unit,
        promised_on=data.promised_on,
        created_by_id=actor.id,
    )
    session.add(order)
    session.flush()
    audit.record(session, actor, "prescription.create", "prescription", rx.id, None, _rx_view(rx))
    audit.record(session, actor, "order.create", "rx_order", order.id, None, audit.snapshot(order))
    return rx


def verify(
    session: Session,
    actor: User,
    rx: Prescription,
    override_reason: str | None = None,
    today: date | None = None,
    *,
    sign: signatures.SignOff | None,
) -> Prescription:
    """Pharmacist verification, electronically signed. Screening runs again first (the patient
    record may have changed since entry); contraindications need a written override reason,
    refused findings block."""
    today = today or date.today()
    lock_row(session, rx)
    lifecycle.check_transition("prescription", rx.status, "verified", roles=actor.roles)
    signatures.check_password(actor, sign)
    if rx.expires_on < today:
        raise TransitionNotAllowed(f"{rx.rx_number} expired on {rx.expires_on.isoformat()}")
    # The dose and every titration step must still be deliverable with what is made (the
    # formula may have been replaced since intake); nothing is written if not.
    dose_rules.stored_plan(rx, session.get(Formula, rx.formula_id) if rx.formula_id else None)
    from . import rescreen

    rescreen.rescreen(session, actor, rx, "found when screening again at verification", today)
    pending = rescreen.override_blocking(session, actor, rx, override_reason, step="verify")
    reason = (override_reason or "").strip()
    now = utcnow()
    old = {"status": rx.status, "override_reason": rx.override_reason}
    if pending:
        rx.override_reason = f"{rx.override_reason}\n{reason}" if rx.override_reason else reason
    rx.status, rx.verified_by_id, rx.verified_at = "verified", actor.id, now
    session.flush()
    audit.record(
        session,
        actor,
        "prescription.verify",
        "prescription",
        rx.id,
        old,
        {
            "status": "verified",
            "override_reason": rx.override_reason,
            "overridden": [f.code for f in pending],
        },
        reason=reason or None,
    )
    signatures.record(session, actor, "rx_verify", "prescription", rx.id, _signed_rx(rx))
    from .orders import transition

    for order in rx.orders:
        if order.status == "received":
            transition(session, actor, order, "verified", event="verify")
    return rx


def reject(session: Session, actor: User, rx: Prescription, reason: str) -> Prescription:
    lock_row(session, rx)
    lifecycle.check_transition(
        "prescription", rx.status, "rejected", roles=actor.roles, reason=reason
    )
    old = rx.status
    rx.status, rx.status_reason = "rejected", reason.strip()
    session.flush()
    audit.record(
        session,
        actor,
        "prescription.reject",
        "prescription",
        rx.id,
        {"status": old},
        {"status": "rejected"},
        reason=reason.strip(),
    )
    from .orders import cancel_open_orders

    cancel_open_orders(
        session, actor, rx, f"prescription {rx.rx_number} rejected: {reason.strip()}"
    )
    return rx


def change_status(
    session: Session, actor: User, rx: Prescription, target: str, reason: str | None
) -> Prescription:
    """Put a prescription on hold, resume it, or cancel it (verify and reject have their own
    use cases). Cancelling also cancels its open orders; the workflow decides who may."""
    lock_row(session, rx)
    if target in ("verified", "rejected") and rx.status != "on_hold":
        raise ValidationFailed.single("status", "use Verify or Reject for that")
    reason = (reason or "").strip() or None
    lifecycle.check_transition(
        "prescription",
        rx.status,
        target,
        roles=actor.roles,
        reason=reason,
        held_from=rx.held_from,
    )
    old = {"status": rx.status, "held_from": rx.held_from}
    rx.held_from = rx.status if target == "on_hold" else None
    rx.status, rx.status_reason = target, reason
    session.flush()
    audit.record(
        session,
        actor,
        f"prescription.{target}",
        "prescription",
        rx.id,
        old,
        {"status": target, "held_from": rx.held_from},
        reason=reason,
    )
    if target == "cancelled":
        from .orders import cancel_open_orders

        cancel_open_orders(session, actor, rx, f"prescription {rx.rx_number} cancelled: {reason}")
    return rx
