"""Screening at every fill (issue 10 item 4): the verify page shows current findings with the
override box, refills are screened again, a patient change re-screens open prescriptions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.domain.errors import ValidationFailed
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Order, Patient, Prescription, User
from pharmacy.services import patients, prescriptions, rescreen
from tests.rx_helpers import TODAY, make_patient, make_prescriber
from tests.support import form_error, signoff


@pytest.fixture
def people(app, pharmacy):
    with app.app_context(), unit_of_work() as s:
        actor = s.get(User, pharmacy["staff"])
        p = make_patient(s, actor)  # no medications, no allergies: nothing found at intake
        doc = make_prescriber(s, actor)
        return p.id, doc.id


def _enter(app, pid, did, refills=2) -> int:
    data = prescriptions.PrescriptionInput(
        patient_id=pid,
        prescriber_id=did,
        date_written=TODAY - timedelta(days=2),
        dosage_form="capsule",
        strength_mg=Decimal("4.5"),
        quantity=Decimal("30"),
        refills_authorized=refills,
    )
    with app.app_context(), unit_of_work() as s:
        staff = s.scalar(select(User).where(User.username == "staff"))
        return prescriptions.enter_prescription(s, staff, data).id


def _set_medications_behind_the_app(app, pid, text):
    """As an import or another tool would: the stored findings are now out of date."""
    with app.app_context(), unit_of_work() as s:
        s.get(Patient, pid).medications = text


def test_verify_page_shows_a_new_contraindication_with_the_override_box(app, as_role, people):
    pid, did = people
    rx_id = _enter(app, pid, did)
    _set_medications_behind_the_app(app, pid, "Tussigon 1 tablet q6h")
    ph = as_role("pharmacist")
    html = ph.get(f"/prescriptions/{rx_id}").get_data(as_text=True)
    assert 'data-code="opioid_comedication"' in html  # current, though not stored yet
    assert 'name="override_reason"' in html
    # Before the fix the refusal had nowhere to show: 422 and a page without the message.
    resp = ph.post(f"/prescriptions/{rx_id}/verify", data={"override_reason": ""})
    assert resp.status_code == 422
    assert "contraindicated (opioid comedication)" in form_error(resp, "override_reason")
    reason = "Tussigon stopped last month, confirmed"
    assert (
        ph.post(f"/prescriptions/{rx_id}/verify", data={"override_reason": reason}).status_code
        == 302
    )
    with app.app_context():
        rx = db.session.get(Prescription, rx_id)
        assert rx.status == "verified"
        [f] = rx.findings
        assert (f.code, f.override_reason) == ("opioid_comedication", reason)


def test_refill_is_screened_again_and_blocked_until_overridden(app, as_role, people):
    pid, did = people
    rx_id = _enter(app, pid, did)
    with app.app_context(), unit_of_work() as s:
        ph = s.scalar(select(User).where(User.username == "pharmacist"))
        prescriptions.verify(s, ph, s.get(Prescription, rx_id), sign=signoff())
    _set_medications_behind_the_app(app, pid, "Vivitrol 380 mg monthly")
    resp = as_role("staff").post(f"/prescriptions/{rx_id}/refill", data={})
    assert resp.status_code == 302
    oid = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    with app.app_context():
        rx = db.session.get(Prescription, rx_id)
        assert [(f.code, f.overridden_at) for f in rx.findings] == [("duplicate_therapy", None)]
        assert db.session.get(Order, oid).status == "received"
    page = as_role("pharmacist").get(f"/orders/{oid}").get_data(as_text=True)
    assert 'data-testid="verify-refill"' in page and 'data-code="duplicate_therapy"' in page
    assert 'name="override_reason"' in page
    ph = as_role("pharmacist")
    resp = ph.post(f"/orders/{oid}/verify", data={"override_reason": "short"})
    assert resp.status_code == 422 and "duplicate therapy" in form_error(resp, "override_reason")
    assert as_role("technician").post(f"/orders/{oid}/verify", data={}).status_code == 403
    reason = "Vivitrol stopped in May; prescriber confirmed LDN"
    assert ph.post(f"/orders/{oid}/verify", data={"override_reason": reason}).status_code == 302
    with app.app_context():
        order = db.session.get(Order, oid)
        assert order.status == "verified" and order.status_reason == reason
        assert order.prescription.findings[0].override_reason == reason


def test_a_patient_change_rescreens_open_prescriptions_and_shows_the_findings(app, as_role, people):
    pid, did = people
    rx_id = _enter(app, pid, did)
    staff = as_role("staff")
    form = {
        "first_name": "Margaret",
        "last_name": "Ellis",
        "date_of_birth": "1961-04-12",
        "sex": "female",
        "medications": "co-codamol 30/500 as needed",
        "allergies": "Narcan (hives)",
        "liver_disease": "none",
    }
    resp = staff.post(f"/patients/{pid}", data=form, follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert 'data-testid="patient-findings"' in html
    assert 'data-code="opioid_comedication"' in html and 'data-code="allergy_naloxone"' in html
    assert "findings block" in html
    rx_page = staff.get(f"/prescriptions/{rx_id}").get_data(as_text=True)
    assert 'data-code="opioid_comedication"' in rx_page
    with app.app_context():
        rx = db.session.get(Prescription, rx_id)
        assert sorted(f.code for f in rescreen.live(rx)) == [
            "allergy_naloxone",
            "opioid_comedication",
        ]
        why = db.session.scalars(
            select(AuditEvent.reason).where(AuditEvent.action == "screening.finding")
        ).all()
        assert why == ["the patient record changed"] * 2
    # The opioid stopped: the finding is cleared (kept), and no longer blocks.
    form["medications"] = ""
    staff.post(f"/patients/{pid}", data=form)
    with app.app_context():
        rx = db.session.get(Prescription, rx_id)
        assert [f.code for f in rescreen.live(rx)] == ["allergy_naloxone"]
        assert rescreen.blocking(rx) == []
        cleared = [f for f in rx.findings if f.cleared_at is not None]
        assert [f.code for f in cleared] == ["opioid_comedication"]


def test_service_level_patient_update_rescreens(app, people):
    pid, did = people
    rx_id = _enter(app, pid, did)
    with app.app_context(), unit_of_work() as s:
        staff = s.scalar(select(User).where(User.username == "staff"))
        patient = s.get(Patient, pid)
        data = patients.PatientInput(
            first_name=patient.first_name,
            last_name=patient.last_name,
            date_of_birth=patient.date_of_birth,
            sex=patient.sex,
            medications="Lybalvi 10/10",
        )
        patients.update_patient(s, staff, patient, data)
    with app.app_context(), unit_of_work() as s:
        rx = s.get(Prescription, rx_id)
        assert [f.code for f in rescreen.blocking(rx)] == ["duplicate_therapy"]
        ph = s.scalar(select(User).where(User.username == "pharmacist"))
        with pytest.raises(ValidationFailed):
            prescriptions.verify(s, ph, rx, sign=signoff())
