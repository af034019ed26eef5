"""Prescription intake with screening, pharmacist verification (with overrides), refills."""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from ..database import unit_of_work
from ..domain import bounds, titration
from ..domain.errors import FieldError, TransitionNotAllowed, ValidationFailed
from ..extensions import db
from ..models import Formula, Patient, Prescriber, Prescription
from ..services import orders as order_svc
from ..services import patients as patient_svc
from ..services import prescriptions as svc
from ..services import rescreen
from .clinical_forms import PrescriptionForm, ReasonForm, RefillForm, SignedVerifyForm
from .forms import apply_errors, note_refusal, sign_off, validate_all

bp = Blueprint("prescriptions", __name__, url_prefix="/prescriptions")


def validity_months() -> int:
    return int(current_app.config.get("PRESCRIPTION_VALID_MONTHS", 12))


def parse_titration(text: str) -> list[svc.StepInput]:
    return [
        svc.StepInput(st.strength_mg, st.days, st.units_per_dose)
        for st in titration.parse_steps(text)
    ]


def _choices(form: PrescriptionForm) -> None:
    prescribers = db.session.scalars(
        select(Prescriber).order_by(Prescriber.last_name, Prescriber.first_name).limit(500)
    ).all()
    form.prescriber_id.choices = [("", "— choose —")] + [
        (str(p.id), f"{p.display_name} (NPI {p.npi})") for p in prescribers
    ]
    formulas = db.session.scalars(
        select(Formula).where(Formula.status == "approved").order_by(Formula.code)
    ).all()
    form.formula_id.choices = [("", "— none —")] + [
        (str(f.id), f"{f.code} v{f.version}: {f.name}") for f in formulas
    ]


def _int_or_none(value, field: str = "id") -> int | None:
    try:
        number = int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
    if number is not None and bounds.int_problem(number):
        raise ValidationFailed.single(field, "is not a known record (out of range)")
    return number


def _input(form: PrescriptionForm, steps: list[svc.StepInput]) -> svc.PrescriptionInput:
    return svc.PrescriptionInput(
        patient_id=_int_or_none(form.patient_id.data, "patient_id"),
        prescriber_id=_int_or_none(form.prescriber_id.data, "prescriber_id"),
        date_written=form.date_written.data,
        dosage_form=form.dosage_form.data,
        strength_mg=form.strength_mg.data,
        dose_mg=form.dose_mg.data,
        quantity=form.quantity.data,
        strength_basis=form.strength_basis.data,
        doses_per_day=form.doses_per_day.data,
        when=form.when.data or "",
        extra_directions=form.extra_directions.data or "",
        refills_authorized=form.refills_authorized.data,
        indication=form.indication.data or "",
        icd10_code=form.icd10_code.data or "",
        formula_id=_int_or_none(form.formula_id.data, "formula_id"),
        titration=steps,
        promised_on=form.promised_on.data,
    )


def _by_field(exc: ValidationFailed) -> ValidationFailed:
    # "titration[1].days" belongs next to the titration box, not in the form-level errors.
    return ValidationFailed(
        [
            FieldError("titration", e.message) if e.field.startswith("titration") else e
            for e in exc.errors
        ]
    )


def _apply(form: PrescriptionForm, exc: ValidationFailed) -> None:
    apply_errors(form, _by_field(exc))


def _check(form: PrescriptionForm) -> None:
    """The intake rules on what the form could parse, nothing written: a bad titration line
    does not hide the other fields' problems."""
    errors: list[FieldError] = []
    try:
        steps = parse_titration(form.titration.data)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
        steps = []
    try:
        svc.check_prescription(db.session, _input(form, steps), validity_months=validity_months())
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if errors:
        raise _by_field(ValidationFailed(errors))


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = PrescriptionForm()
    _choices(form)
    if request.method == "GET":
        pid = request.args.get("patient_id", type=int)
        patient = db.session.get(Patient, pid) if pid else None
        if patient is None:
            q = request.args.get("q", "").strip()
            found = patient_svc.search_patients(db.session, q) if q else []
            return render_template("prescriptions/pick_patient.html", q=q, patients=found)
        form.patient_id.data = str(patient.id)
        return render_template("prescriptions/new.html", form=form, patient=patient, findings=None)
    patient = db.session.get(Patient, _int_or_none(form.patient_id.data, "patient_id") or 0)
    status, findings, directions = 200, None, None
    if validate_all(form, lambda: _check(form)):
        try:
            try:
                steps = parse_titration(form.titration.data)
            except ValidationFailed:
                _check(form)  # an unreadable step must not hide the other fields' problems
                raise
            data = _input(form, steps)
            if request.form.get("action") == "screen":
                findings, directions = svc.preview_input(
                    db.session, data, validity_months=validity_months()
                )
                db.session.rollback()
            else:
                with unit_of_work() as s:
                    rx = svc.enter_prescription(
                        s, current_user, data, validity_months=validity_months()
                    )
                flash(
                    f"Prescription {rx.rx_number} entered; a pharmacist verifies it next.",
                    "success",
                )
                return redirect(url_for("prescriptions.show", rx_id=rx.id))
        except ValidationFailed as exc:
            db.session.rollback()
            _apply(form, exc)
            status = 422
    else:
        # Field problems (form shape and intake rules together) are 422; a stale CSRF token 400.
        status = 400 if "csrf_token" in form.errors else 422
    return render_template(
        "prescriptions/new.html",
        form=form,
        patient=patient,
        findings=findings,
        directions=directions,
    ), status


def _show(rx: Prescription, status: int = 200, verify_form=None, reject_form=None):
    t = order_svc.terms(rx, validity_months())
    # What screening says now (the patient record may have changed since the findings were
    # stored): the override box follows these, so a new contraindication is never hidden.
    findings = rescreen.preview(db.session, rx)
    refused, overridable = rescreen.preview_blocking(findings)
    return render_template(
        "prescriptions/show.html",
        rx=rx,
        terms=t,
        today=date.today(),
        findings=findings,
        cleared=[f for f in rx.findings if f.cleared_at is not None],
        overridable=overridable,
        refused=refused,
        verify_form=verify_form or SignedVerifyForm(),
        reject_form=reject_form or ReasonForm(),
        refill_form=RefillForm(),
        can_verify=current_user.has_role("pharmacist"),
    ), status


@bp.route("/<int:rx_id>")
def show(rx_id: int):
    rx = db.session.get(Prescription, rx_id) or abort(404)
    return _show(rx)


@bp.route("/<int:rx_id>/verify", methods=["POST"])
def verify(rx_id: int):
    rx = db.session.get(Prescription, rx_id) or abort(404)
    form = SignedVerifyForm()
    if not form.validate_on_submit():
        return _show(rx, 400, verify_form=form)
    try:
        with unit_of_work() as s:
            svc.verify(
                s, current_user, rx, form.override_reason.data, sign=sign_off(form.password.data)
            )
    except ValidationFailed as exc:
        note_refusal(exc)
        apply_errors(form, exc)
        return _show(db.session.get(Prescription, rx_id), 422, verify_form=form)
    except TransitionNotAllowed as exc:
        flash(str(exc), "error")
        return _show(db.session.get(Prescription, rx_id), 409)
    flash(f"Prescription {rx.rx_number} verified.", "success")
    return redirect(url_for("prescriptions.show", rx_id=rx.id))


@bp.route("/<int:rx_id>/reject", methods=["POST"])
def reject(rx_id: int):
    rx = db.session.get(Prescription, rx_id) or abort(404)
    form = ReasonForm()
    if not form.validate_on_submit():
        return _show(rx, 400, reject_form=form)
    try:
        with unit_of_work() as s:
            svc.reject(s, current_user, rx, form.reason.data or "")
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return _show(db.session.get(Prescription, rx_id), 422, reject_form=form)
    except TransitionNotAllowed as exc:
        flash(str(exc), "error")
        return _show(db.session.get(Prescription, rx_id), 409)
    flash(f"Prescription {rx.rx_number} rejected.", "success")
    return redirect(url_for("prescriptions.show", rx_id=rx.id))


@bp.route("/<int:rx_id>/status", methods=["POST"])
def change_status(rx_id: int):
    rx = db.session.get(Prescription, rx_id) or abort(404)
    form = ReasonForm()
    if not form.validate_on_submit():
        return _show(rx, 400, reject_form=form)
    target = request.form.get("target", "")
    try:
        with unit_of_work() as s:
            svc.change_status(s, current_user, rx, target, form.reason.data)
    except ValidationFailed as exc:
        for err in exc.errors:
            flash(f"{err.field}: {err.message}", "error")
        return _show(db.session.get(Prescription, rx_id), 422)
    except TransitionNotAllowed as exc:
        flash(str(exc), "error")
        return _show(db.session.get(Prescription, rx_id), 409)
    flash(f"Prescription {rx.rx_number}: {target.replace('_', ' ')}.", "success")
    return redirect(url_for("prescriptions.show", rx_id=rx.id))


@bp.route("/<int:rx_id>/refill", methods=["POST"])
def refill(rx_id: int):
    rx = db.session.get(Prescription, rx_id) or abort(404)
    form = RefillForm()
    if not form.validate_on_submit():
        return _show(rx, 400)
    try:
        with unit_of_work() as s:
            order = order_svc.create_refill(
                s,
                current_user,
                rx,
                promised_on=form.promised_on.data,
                validity_months=validity_months(),
            )
    except ValidationFailed as exc:
        for e in exc.errors:
            flash(e.message, "error")
        return _show(db.session.get(Prescription, rx_id), 422)
    flash(f"Refill {order.number} created.", "success")
    return redirect(url_for("orders.show", order_id=order.id))
