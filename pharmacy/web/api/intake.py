"""Prescriptions over the JSON API: intake (screened on entry, findings returned), a check
without saving, the pharmacist's verification (override with a written reason) or rejection,
hold / resume / cancel, and refills.

Thin views: pydantic gives the shape, pharmacy.services.prescriptions and .orders decide with
the same rules, roles and messages as the prescription page, one unit of work per request.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from flask import jsonify, url_for
from flask_login import current_user
from pydantic import Field

from ...database import unit_of_work
from ...domain import screening
from ...domain.errors import TransitionNotAllowed
from ...extensions import db
from ...models import Prescription
from ...services import orders as order_svc
from ...services import prescriptions as svc
from ...services.prescription_dose import DEFAULT_WHEN
from ..forms import sign_off
from ..prescriptions import validity_months
from . import Day, SignPassword, bp, optional_body, parse_body
from .inventory import Id, In, get_or_404, plain

Number = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=14)]
Count = Annotated[int, Field(strict=True, ge=0, le=10_000)]
Reason = Annotated[str, Field(max_length=1000)]


class StepIn(In):
    strength_mg: Number | None = None  # mg per dose, or
    units_per_dose: Number | None = None  # capsules / mL per dose (never both)
    days: Count | None = None


class PrescriptionIn(In):
    patient_id: Id | None = None
    prescriber_id: Id | None = None
    date_written: Day | None = None
    dosage_form: Annotated[str, Field(max_length=30)] = ""
    formula_id: Id | None = None
    # The product: mg per capsule (blank: one capsule of the dose), or a liquid's concentration
    # in mg/mL (blank: the formula's concentration).
    strength_mg: Number | None = None
    strength_basis: Annotated[str, Field(max_length=4)] = "hcl"
    dose_mg: Number | None = None  # mg each time; for capsules blank: one capsule
    quantity: Number | None = None
    doses_per_day: Count | None = 1
    # The sig is written from the dose ("Take 1.5 mL (1.5 mg) by mouth once daily at
    # bedtime"); `when` and `extra_directions` complete it.
    when: Annotated[str, Field(max_length=200)] = DEFAULT_WHEN
    extra_directions: Annotated[str, Field(max_length=1000)] = ""
    refills_authorized: Count | None = 0
    indication: Annotated[str, Field(max_length=500)] = ""
    icd10_code: Annotated[str, Field(max_length=10)] = ""
    titration: list[StepIn] = Field(default=[], max_length=20)
    promised_on: Day | None = None


class VerifyIn(In):
    override_reason: Annotated[str, Field(max_length=2000)] = ""
    password: SignPassword = ""


class ReasonIn(In):
    reason: Reason = ""


class RefillIn(In):
    promised_on: Day | None = None


def _input(body: PrescriptionIn) -> svc.PrescriptionInput:
    values = body.model_dump(exclude={"titration"})
    steps = [svc.StepInput(s.strength_mg, s.days, s.units_per_dose) for s in body.titration]
    return svc.PrescriptionInput(**values, titration=steps)


# --- JSON out ---------------------------------------------------------------------------------


def _finding(f) -> dict:
    return plain(
        {
            "id": f.id,
            "code": f.code,
            "severity": f.severity,
            "message": f.message,
            "overridden": f.overridden_at is not None,
            "cleared": f.cleared_at is not None,  # screening no longer finds it
            "override_reason": f.override_reason,
            "overridden_by_id": f.overridden_by_id,
            "overridden_at": f.overridden_at,
        }
    )


def prescription_dict(rx: Prescription, *, current: bool = False) -> dict:
    """The prescription with its stored findings; `current` adds screening as of now (the
    patient record may have changed since entry), without storing it."""
    t = order_svc.terms(rx, validity_months())
    out = plain(
        {
            "id": rx.id,
            "rx_number": rx.rx_number,
            "status": rx.status,
            "status_reason": rx.status_reason,
            "held_from": rx.held_from,
            "patient": {
                "id": rx.patient.id,
                "name": rx.patient.full_name,
                "date_of_birth": rx.patient.date_of_birth,
            },
            "prescriber": {
                "id": rx.prescriber.id,
                "name": rx.prescriber.display_name,
                "npi": rx.prescriber.npi,
            },
            "formula_id": rx.formula_id,
            "date_written": rx.date_written,
            "expires_on": rx.expires_on,
            "dosage_form": rx.dosage_form,
            "strength_mg": rx.strength_mg,
            "strength_basis": rx.strength_basis,
            "strength_text": rx.strength_text,  # "4.5 mg" a capsule, "1 mg/mL" a liquid
            "dose_mg": rx.dose_mg,
            "is_titration": rx.is_titration,
            "quantity": rx.quantity,
            "quantity_unit": rx.quantity_unit,
            "doses_per_day": rx.doses_per_day,
            "directions": rx.directions,
            "refills_authorized": rx.refills_authorized,
            "refills_remaining": t.refills_remaining,
            "fills_remaining": t.fills_remaining,
            "indication": rx.indication,
            "icd10_code": rx.icd10_code,
            "titration": [
                {
                    "position": s.position,
                    "strength_mg": s.strength_mg,
                    "units_per_dose": s.units_per_dose,
                    "days": s.days,
                }
                for s in rx.titration_steps
            ],
            "findings": [_finding(f) for f in rx.findings],
            "blocking": [f.code for f in svc.blocking(rx)],
            "override_reason": rx.override_reason,
            "created_by_id": rx.created_by_id,
            "created_at": rx.created_at,
            "verified_by_id": rx.verified_by_id,
            "verified_at": rx.verified_at,
            "orders": [
                {"id": o.id, "number": o.number, "fill_number": o.fill_number, "status": o.status}
                for o in rx.orders
            ],
        }
    )
    if current:
        found = svc.screen_prescription(db.session, rx, date.today())
        out["current_findings"] = [f.as_dict() for f in found]
    return out


def _rx(rx_id: int) -> Prescription:
    return get_or_404(Prescription, rx_id, "prescription")


def _fresh(rx_id: int):
    return jsonify(prescription_dict(db.session.get(Prescription, rx_id)))


# --- intake -----------------------------------------------------------------------------------


@bp.post("/prescriptions/check")
def check_prescription():
    """Screening of a prescription as it would be entered, and the directions its label will
    carry, without saving anything."""
    data = _input(parse_body(PrescriptionIn))
    try:
        found, sig = svc.preview_input(db.session, data, validity_months=validity_months())
    finally:
        db.session.rollback()
    verifiable = not any(f.severity == screening.REFUSED for f in found)
    return jsonify(
        {"findings": [f.as_dict() for f in found], "verifiable": verifiable, "directions": sig}
    )


@bp.post("/prescriptions")
def create_prescription():
    data = _input(parse_body(PrescriptionIn))
    with unit_of_work() as s:
        rx = svc.enter_prescription(s, current_user, data, validity_months=validity_months())
    resp = jsonify(prescription_dict(db.session.get(Prescription, rx.id)))
    resp.status_code = 201
    resp.headers["Location"] = url_for("api.prescription", rx_id=rx.id)
    return resp


@bp.get("/prescriptions/<int:rx_id>")
def prescription(rx_id: int):
    return jsonify(prescription_dict(_rx(rx_id), current=True))


# --- verification and status ------------------------------------------------------------------


@bp.post("/prescriptions/<int:rx_id>/verify")
def verify_prescription(rx_id: int):
    rx = _rx(rx_id)
    body = optional_body(VerifyIn)
    with unit_of_work() as s:
        svc.verify(s, current_user, rx, body.override_reason, sign=sign_off(body.password))
    return _fresh(rx_id)


@bp.post("/prescriptions/<int:rx_id>/reject")
def reject_prescription(rx_id: int):
    rx = _rx(rx_id)
    body = parse_body(ReasonIn)
    with unit_of_work() as s:
        svc.reject(s, current_user, rx, body.reason)
    return _fresh(rx_id)


def _change(rx_id: int, target: str | None, reason: str):
    rx = _rx(rx_id)
    if target is None:  # resume
        if rx.status != "on_hold" or not rx.held_from:
            raise TransitionNotAllowed(
                f"{rx.rx_number} is {rx.status.replace('_', ' ')}, not on hold: "
                "there is nothing to resume"
            )
        target = rx.held_from
    with unit_of_work() as s:
        svc.change_status(s, current_user, rx, target, reason)
    return _fresh(rx_id)


@bp.post("/prescriptions/<int:rx_id>/hold")
def hold_prescription(rx_id: int):
    return _change(rx_id, "on_hold", parse_body(ReasonIn).reason)


@bp.post("/prescriptions/<int:rx_id>/resume")
def resume_prescription(rx_id: int):
    return _change(rx_id, None, optional_body(ReasonIn).reason)


@bp.post("/prescriptions/<int:rx_id>/cancel")
def cancel_prescription(rx_id: int):
    return _change(rx_id, "cancelled", parse_body(ReasonIn).reason)


@bp.post("/prescriptions/<int:rx_id>/refills")
def create_refill(rx_id: int):
    rx = _rx(rx_id)
    body = optional_body(RefillIn)
    with unit_of_work() as s:
        order = order_svc.create_refill(
            s, current_user, rx, promised_on=body.promised_on, validity_months=validity_months()
        )
        out = order_svc.order_dict(order, detail=True, events=order_svc.history(s, order))
    resp = jsonify(out)
    resp.status_code = 201
    resp.headers["Location"] = url_for("api.order", order_id=out["id"])
    return resp
