"""Helpers for the prescription tests: a patient, a prescriber and prescription input."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

from pharmacy.services import patients, prescriptions

VALID_NPI = "1234567893"
TODAY = date.today()


def make_patient(session, actor, last="Ellis", first="Margaret", **kw):
    values = dict(
        first_name=first,
        last_name=last,
        date_of_birth=date(1961, 4, 12),
        sex="female",
        phone="217-555-0191",
        medications="Levothyroxine 75 mcg",
        allergies="Penicillin",
    )
    values.update(kw)
    return patients.create_patient(session, actor, patients.PatientInput(**values))


def make_prescriber(session, actor, npi=VALID_NPI):
    return patients.create_prescriber(
        session, actor, patients.PrescriberInput("Helen", "Park", "MD", npi, "Clinic", "555-0100")
    )


def rx_input(patient_id, prescriber_id, **kw) -> prescriptions.PrescriptionInput:
    values = dict(
        patient_id=patient_id,
        prescriber_id=prescriber_id,
        date_written=TODAY - timedelta(days=3),
        dosage_form="capsule",
        strength_mg=D("4.5"),
        quantity=D("30"),
        refills_authorized=2,
        indication="Fibromyalgia",
        icd10_code="M79.7",
    )
    values.update(kw)
    return prescriptions.PrescriptionInput(**values)
