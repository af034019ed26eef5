"""Patients and prescribers: search, create, edit (every change audited)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..database import unit_of_work
from ..domain.errors import ValidationFailed
from ..extensions import db
from ..models import Patient, Prescriber, Prescription
from ..services import patients as svc
from ..services import rescreen
from .clinical_forms import PatientForm, PrescriberForm
from .forms import apply_errors, validate_all

bp = Blueprint("patients", __name__, url_prefix="/patients")
prescribers_bp = Blueprint("prescribers", __name__, url_prefix="/prescribers")


def _patient_input(form: PatientForm) -> svc.PatientInput:
    return svc.PatientInput(
        first_name=form.first_name.data or "",
        last_name=form.last_name.data or "",
        date_of_birth=form.date_of_birth.data,
        sex=form.sex.data,
        address=form.address.data or "",
        phone=form.phone.data or "",
        allergies=form.allergies.data or "",
        medications=form.medications.data or "",
        pregnant=bool(form.pregnant.data),
        breastfeeding=bool(form.breastfeeding.data),
        liver_disease=form.liver_disease.data,
    )


@bp.route("/")
def index():
    q = request.args.get("q", "").strip()
    rows = svc.search_patients(db.session, q) if q else []
    return render_template("patients/index.html", q=q, patients=rows, limit=svc.SEARCH_LIMIT)


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = PatientForm()
    status = 200
    if validate_all(form, lambda: svc.check_patient(_patient_input(form))):
        try:
            with unit_of_work() as s:
                patient = svc.create_patient(s, current_user, _patient_input(form))
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            flash(f"Patient {patient.full_name} created.", "success")
            return redirect(url_for("patients.edit", patient_id=patient.id))
    elif request.method == "POST":
        status = 400
    return render_template("patients/form.html", form=form, patient=None), status


@bp.route("/<int:patient_id>", methods=["GET", "POST"])
def edit(patient_id: int):
    patient = db.session.get(Patient, patient_id) or abort(404)
    form = PatientForm(obj=patient)
    status = 200
    if validate_all(form, lambda: svc.check_patient(_patient_input(form))):
        try:
            with unit_of_work() as s:
                svc.update_patient(s, current_user, patient, _patient_input(form))
                blocked = [rx.rx_number for rx in _open_rxs(s, patient) if rescreen.blocking(rx)]
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            flash(f"Patient {patient.full_name} saved.", "success")
            if blocked:
                flash(
                    "Screened again: findings block "
                    + ", ".join(blocked)
                    + " until a pharmacist overrides them.",
                    "error",
                )
            return redirect(url_for("patients.edit", patient_id=patient.id))
    elif request.method == "POST":
        status = 400
    rxs = db.session.scalars(
        select(Prescription)
        .where(Prescription.patient_id == patient.id)
        .order_by(Prescription.id.desc())
        .limit(50)
    ).all()
    return render_template(
        "patients/form.html",
        form=form,
        patient=patient,
        prescriptions=rxs,
        open_findings=[(rx, rescreen.live(rx)) for rx in _open_rxs(db.session, patient)],
    ), status


def _open_rxs(session, patient: Patient) -> list[Prescription]:
    return list(
        session.scalars(
            select(Prescription)
            .where(
                Prescription.patient_id == patient.id,
                Prescription.status.in_(rescreen.OPEN_PRESCRIPTION_STATUSES),
            )
            .order_by(Prescription.id)
            .limit(50)
        )
    )


def _prescriber_input(form: PrescriberForm) -> svc.PrescriberInput:
    return svc.PrescriberInput(
        first_name=form.first_name.data or "",
        last_name=form.last_name.data or "",
        credentials=form.credentials.data or "",
        npi=form.npi.data or "",
        address=form.address.data or "",
        phone=form.phone.data or "",
    )


@prescribers_bp.route("/", endpoint="index")
def prescriber_index():
    q = request.args.get("q", "").strip()
    rows = svc.search_prescribers(db.session, q, limit=100)
    return render_template("patients/prescribers.html", q=q, prescribers=rows)


@prescribers_bp.route("/new", methods=["GET", "POST"], endpoint="new")
def new_prescriber():
    form = PrescriberForm()
    status = 200
    check = lambda: svc.check_prescriber(db.session, _prescriber_input(form), None)  # noqa: E731
    if validate_all(form, check):
        try:
            with unit_of_work() as s:
                p = svc.create_prescriber(s, current_user, _prescriber_input(form))
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            flash(f"Prescriber {p.display_name} created.", "success")
            return redirect(url_for("prescribers.index"))
    elif request.method == "POST":
        status = 400
    return render_template("patients/prescriber_form.html", form=form, prescriber=None), status


@prescribers_bp.route("/<int:prescriber_id>", methods=["GET", "POST"], endpoint="edit")
def edit_prescriber(prescriber_id: int):
    prescriber = db.session.get(Prescriber, prescriber_id) or abort(404)
    form = PrescriberForm(obj=prescriber)
    status = 200
    check = lambda: svc.check_prescriber(db.session, _prescriber_input(form), prescriber.id)  # noqa: E731
    if validate_all(form, check):
        try:
            with unit_of_work() as s:
                svc.update_prescriber(s, current_user, prescriber, _prescriber_input(form))
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            flash(f"Prescriber {prescriber.display_name} saved.", "success")
            return redirect(url_for("prescribers.index"))
    elif request.method == "POST":
        status = 400
    return render_template(
        "patients/prescriber_form.html", form=form, prescriber=prescriber
    ), status
