"""Patients and prescribers over the JSON API: search, read, create, update.

Thin views: pydantic gives the shape, pharmacy.services.patients decides (required fields,
dates, NPI check digit and uniqueness) with the same messages as the pages, and audits.
An update (PATCH) changes only the fields sent; the rest keep their recorded values.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Annotated

from flask import jsonify, request, url_for
from flask_login import current_user
from pydantic import Field
from sqlalchemy import select

from ...database import unit_of_work
from ...extensions import db
from ...models import Patient, Prescriber, Prescription
from ...services import patients as svc
from ...services import rescreen
from . import Day, bp, parse_body
from .inventory import In, get_or_404, plain

Name = Annotated[str, Field(max_length=80)]
Entry = Annotated[str, Field(min_length=1, max_length=200)]


class PatientIn(In):
    first_name: Name = ""
    last_name: Name = ""
    date_of_birth: Day | None = None
    sex: Annotated[str, Field(max_length=16)] = ""
    address: Annotated[str, Field(max_length=1000)] = ""
    phone: Annotated[str, Field(max_length=40)] = ""
    allergies: list[Entry] = Field(default=[], max_length=50)
    medications: list[Entry] = Field(default=[], max_length=50)
    pregnant: bool = False
    breastfeeding: bool = False
    liver_disease: Annotated[str, Field(max_length=20)] = "none"


class PrescriberIn(In):
    first_name: Name = ""
    last_name: Name = ""
    credentials: Annotated[str, Field(max_length=40)] = ""
    npi: Annotated[str, Field(max_length=20)] = ""
    address: Annotated[str, Field(max_length=1000)] = ""
    phone: Annotated[str, Field(max_length=40)] = ""


# --- JSON out ---------------------------------------------------------------------------------


def patient_dict(p: Patient) -> dict:
    return plain(
        {
            "id": p.id,
            "first_name": p.first_name,
            "last_name": p.last_name,
            "full_name": p.full_name,
            "date_of_birth": p.date_of_birth,
            "sex": p.sex,
            "address": p.address,
            "phone": p.phone,
            "allergies": p.allergy_list,
            "medications": p.medication_list,
            "pregnant": p.pregnant,
            "breastfeeding": p.breastfeeding,
            "liver_disease": p.liver_disease,
            "created_at": p.created_at,
            "updated_at": p.updated_at,
        }
    )


def prescriber_dict(p: Prescriber) -> dict:
    return plain(
        {
            "id": p.id,
            "first_name": p.first_name,
            "last_name": p.last_name,
            "credentials": p.credentials,
            "display_name": p.display_name,
            "npi": p.npi,
            "address": p.address,
            "phone": p.phone,
            "created_at": p.created_at,
            "updated_at": p.updated_at,
        }
    )


def _finding(f) -> dict:
    return {
        "code": f.code,
        "severity": f.severity,
        "message": f.message,
        "overridden": f.overridden_at is not None,
    }


def _open_findings(patient_id: int) -> list[dict]:
    """The patient's open prescriptions with their current (live) findings and what blocks
    them until a pharmacist overrides it, as the patient page shows after a change."""
    rxs = db.session.scalars(
        select(Prescription)
        .where(
            Prescription.patient_id == patient_id,
            Prescription.status.in_(rescreen.OPEN_PRESCRIPTION_STATUSES),
        )
        .order_by(Prescription.id)
        .limit(50)
    )
    return [
        {
            "id": rx.id,
            "rx_number": rx.rx_number,
            "status": rx.status,
            "findings": [_finding(f) for f in rescreen.live(rx)],
            "blocking": [f.code for f in rescreen.blocking(rx)],
        }
        for rx in rxs
    ]


def _created(body: dict, location: str):
    resp = jsonify(body)
    resp.status_code = 201
    resp.headers["Location"] = location
    return resp


# --- input: the body over the recorded values (PATCH) or over the defaults (POST) -------------


def _patient_input(body: PatientIn, current: Patient | None = None) -> svc.PatientInput:
    sent = body.model_dump(exclude_unset=True) if current is not None else body.model_dump()
    values = {f.name: getattr(current, f.name) for f in fields(svc.PatientInput)} if current else {}
    values.update(sent)
    for name in ("allergies", "medications"):
        if isinstance(values.get(name), list):
            values[name] = "\n".join(entry.strip() for entry in values[name])
    return svc.PatientInput(**values)


def _prescriber_input(body: PrescriberIn, current: Prescriber | None = None) -> svc.PrescriberInput:
    sent = body.model_dump(exclude_unset=True) if current is not None else body.model_dump()
    values = (
        {f.name: getattr(current, f.name) for f in fields(svc.PrescriberInput)} if current else {}
    )
    values.update(sent)
    return svc.PrescriberInput(**values)


# --- patients ---------------------------------------------------------------------------------


@bp.get("/patients")
def patients():
    q = request.args.get("q", "")
    rows = svc.search_patients(db.session, q)
    return jsonify({"patients": [patient_dict(p) for p in rows], "limit": svc.SEARCH_LIMIT})


@bp.post("/patients")
def create_patient():
    body = parse_body(PatientIn)
    with unit_of_work() as s:
        patient = svc.create_patient(s, current_user, _patient_input(body))
    return _created(patient_dict(patient), url_for("api.patient", patient_id=patient.id))


@bp.get("/patients/<int:patient_id>")
def patient(patient_id: int):
    row = get_or_404(Patient, patient_id, "patient")
    out = patient_dict(row)
    rxs = db.session.scalars(
        select(Prescription)
        .where(Prescription.patient_id == row.id)
        .order_by(Prescription.id.desc())
        .limit(50)
    )
    out["prescriptions"] = [
        plain(
            {
                "id": rx.id,
                "rx_number": rx.rx_number,
                "status": rx.status,
                "dosage_form": rx.dosage_form,
                "strength_mg": rx.strength_mg,
                "date_written": rx.date_written,
            }
        )
        for rx in rxs
    ]
    out["open_prescriptions"] = _open_findings(row.id)
    return jsonify(out)


@bp.patch("/patients/<int:patient_id>")
def update_patient(patient_id: int):
    row = get_or_404(Patient, patient_id, "patient")
    body = parse_body(PatientIn)
    with unit_of_work() as s:
        # A change to what screening reads re-screens the open prescriptions (the service).
        svc.update_patient(s, current_user, row, _patient_input(body, row))
    out = patient_dict(db.session.get(Patient, patient_id))
    out["open_prescriptions"] = _open_findings(patient_id)
    return jsonify(out)


# --- prescribers ------------------------------------------------------------------------------


@bp.get("/prescribers")
def prescribers():
    rows = svc.search_prescribers(db.session, request.args.get("q", ""), limit=100)
    return jsonify({"prescribers": [prescriber_dict(p) for p in rows], "limit": 100})


@bp.post("/prescribers")
def create_prescriber():
    body = parse_body(PrescriberIn)
    with unit_of_work() as s:
        row = svc.create_prescriber(s, current_user, _prescriber_input(body))
    return _created(prescriber_dict(row), url_for("api.prescriber", prescriber_id=row.id))


@bp.get("/prescribers/<int:prescriber_id>")
def prescriber(prescriber_id: int):
    return jsonify(prescriber_dict(get_or_404(Prescriber, prescriber_id, "prescriber")))


@bp.patch("/prescribers/<int:prescriber_id>")
def update_prescriber(prescriber_id: int):
    row = get_or_404(Prescriber, prescriber_id, "prescriber")
    body = parse_body(PrescriberIn)
    with unit_of_work() as s:
        svc.update_prescriber(s, current_user, row, _prescriber_input(body, row))
    return jsonify(prescriber_dict(db.session.get(Prescriber, prescriber_id)))
