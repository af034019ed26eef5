"""Prescription intake and verification through the JSON API: entry screened (findings in the
answer), a check without saving, verify / override with a written reason / reject, hold /
resume / cancel, refills. Same rules and roles as the prescription page; bad input is 422
naming the field with nothing written, a move the workflow forbids 409, a role 403."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Order, Prescription, ScreeningFinding, User
from tests.rx_helpers import make_patient, make_prescriber

RXS = "/api/v1/prescriptions"
TODAY = date.today()
REASON = "Prescriber confirmed the opioid was stopped 14 days ago"


@pytest.fixture
def people(app, pharmacy):
    """A patient on no opioid, a patient on tramadol, and a prescriber."""
    with app.app_context(), unit_of_work() as s:
        actor = s.scalar(select(User).where(User.username == "staff"))
        plain = make_patient(s, actor)
        on_opioid = make_patient(s, actor, last="Moss", medications="Tramadol 50 mg")
        doc = make_prescriber(s, actor)
        return {"patient": plain.id, "opioid": on_opioid.id, "prescriber": doc.id}


def _body(people, **over) -> dict:
    body = {
        "patient_id": people["patient"],
        "prescriber_id": people["prescriber"],
        "date_written": (TODAY - timedelta(days=3)).isoformat(),
        "dosage_form": "capsule",
        "strength_mg": "4.5",
        "strength_basis": "hcl",
        "quantity": 30,
        "doses_per_day": 1,
        "when": "at bedtime",
        "refills_authorized": 2,
        "indication": "Fibromyalgia",
        "icd10_code": "M79.7",
    }
    body.update(over)
    return body


def _errors(resp) -> dict:
    return {e["field"]: e["message"] for e in resp.get_json()["errors"]}


def _counts(app) -> dict:
    with app.app_context():
        return {
            m.__name__: db.session.scalar(select(func.count()).select_from(m))
            for m in (Prescription, Order, ScreeningFinding, AuditEvent)
        }


def _actions(app, entity_id=None) -> list[str]:
    with app.app_context():
        stmt = select(AuditEvent.action).order_by(AuditEvent.id)
        if entity_id is not None:
            stmt = stmt.where(AuditEvent.entity_id == str(entity_id))
        return list(db.session.scalars(stmt))


def _enter(client, people, **over) -> dict:
    resp = client.post(RXS, json=_body(people, **over))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


# --- intake -----------------------------------------------------------------------------------


def test_intake_saves_the_prescription_its_first_order_and_findings(app, api, people):
    resp = api("staff").post(RXS, json=_body(people, patient_id=people["opioid"]))
    assert resp.status_code == 201, resp.get_json()
    rx = resp.get_json()
    assert resp.headers["Location"].endswith(f"{RXS}/{rx['id']}")
    assert rx["status"] == "entered" and rx["rx_number"].startswith("RX")
    assert (rx["strength_mg"], rx["quantity"], rx["quantity_unit"]) == ("4.5", "30", "capsule")
    assert rx["refills_remaining"] == 2 and rx["fills_remaining"] == 2  # fill 1 is made
    [finding] = [f for f in rx["findings"] if f["code"] == "opioid_comedication"]
    assert finding["severity"] == "contraindicated" and "Tramadol" in finding["message"]
    assert finding["overridden"] is False
    assert rx["blocking"] == ["opioid_comedication"]
    [order] = rx["orders"]
    assert (order["fill_number"], order["status"]) == (1, "received")
    with app.app_context():
        row = db.session.get(Prescription, rx["id"])
        assert [f.code for f in row.findings] == ["opioid_comedication"]
    assert _actions(app)[-2:] == ["prescription.create", "order.create"]


def test_intake_with_a_titration_plan_in_mg_and_in_units(app, api, people):
    rx = _enter(
        api("staff"),
        people,
        titration=[
            {"strength_mg": "1.5", "days": 7},
            {"units_per_dose": 2, "days": 7},
        ],
        strength_mg="1.5",
    )
    assert rx["titration"] == [
        {"position": 1, "strength_mg": "1.5", "units_per_dose": None, "days": 7},
        {"position": 2, "strength_mg": "3", "units_per_dose": 2, "days": 7},
    ]


@pytest.mark.parametrize(
    "over, field, needle",
    [
        ({"patient_id": None}, "patient_id", "choose the patient"),
        ({"patient_id": 999999}, "patient_id", "does not exist"),
        ({"prescriber_id": None}, "prescriber_id", "choose the prescriber"),
        ({"quantity": 0}, "quantity", "greater than 0"),
        ({"strength_mg": "1.23456"}, "strength_mg", "decimal places"),
        ({"strength_mg": "NaN"}, "strength_mg", "finite"),
        ({"dosage_form": "tablet"}, "dosage_form", "must be one of"),
        ({"strength_basis": "salt"}, "strength_basis", "hcl or base"),
        ({"doses_per_day": 9}, "doses_per_day", "1 to 4"),
        ({"doses_per_day": "1"}, "doses_per_day", "integer"),
        ({"when": "x" * 201}, "when", "at most 200"),
        ({"refills_authorized": 99}, "refills_authorized", "refills"),
        ({"icd10_code": "XYZ"}, "icd10_code", "not an icd-10 code"),
        ({"date_written": (TODAY + timedelta(days=1)).isoformat()}, "date_written", "future"),
        ({"promised_on": "2001-01-01"}, "promised_on", "past"),
        ({"date_written": 86400}, "date_written", "yyyy-mm-dd"),
        ({"titration": [{"strength_mg": "1", "days": 0}]}, "titration[0].days", "at least 1"),
        ({"titration": [{"days": 7}]}, "titration[0]", "either a strength"),
        ({"patient": 1}, "patient", "not permitted"),
    ],
)
def test_bad_intake_is_refused_naming_the_field_and_nothing_is_written(
    app, api, people, over, field, needle
):
    staff = api("staff")
    before = _counts(app)
    resp = staff.post(RXS, json=_body(people, **over))
    assert resp.status_code == 422, resp.get_json()
    errors = _errors(resp)
    assert field in errors and needle in errors[field].lower(), errors
    assert _counts(app) == before


def test_a_dose_above_ldn_is_entered_with_a_refused_finding_that_blocks_verification(
    app, api, people
):
    rx = _enter(api("staff"), people, strength_mg="8")
    found = {f["code"]: f["severity"] for f in rx["findings"]}
    assert found["strength_above_ldn_bound"] == "refused"
    resp = api("pharmacist").post(f"{RXS}/{rx['id']}/verify", json={"override_reason": REASON})
    assert resp.status_code == 422
    assert "cannot be overridden" in _errors(resp)["findings"]
    with app.app_context():
        assert db.session.get(Prescription, rx["id"]).status == "entered"


def test_check_screens_without_saving(app, api, people):
    staff = api("staff")
    before = _counts(app)
    resp = staff.post(f"{RXS}/check", json=_body(people, patient_id=people["opioid"]))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert [f["code"] for f in body["findings"]] == ["opioid_comedication"]
    assert body["verifiable"] is True
    assert body["directions"] == "Take 1 capsule (4.5 mg) by mouth once daily at bedtime."
    resp = staff.post(f"{RXS}/check", json=_body(people, strength_mg="8"))
    assert resp.get_json()["verifiable"] is False
    resp = staff.post(f"{RXS}/check", json=_body(people, quantity=-1))
    assert resp.status_code == 422 and "quantity" in _errors(resp)
    assert _counts(app) == before


def test_intake_needs_a_token_and_a_pharmacy_role(app, api, people, client):
    admin = api("admin")
    before = _counts(app)
    assert client.post(RXS, json=_body(people)).status_code == 401
    assert admin.post(RXS, json=_body(people)).status_code == 403
    assert _counts(app) == before


# --- verification -----------------------------------------------------------------------------


def test_verify_a_contraindication_needs_a_written_override(app, api, people):
    rx = _enter(api("staff"), people, patient_id=people["opioid"])
    url = f"{RXS}/{rx['id']}/verify"
    assert api("staff").post(url, json={"override_reason": REASON}).status_code == 403
    assert api("technician").post(url, json={}).status_code == 403
    pharmacist = api("pharmacist")
    before = _counts(app)
    resp = pharmacist.post(url, json={"override_reason": "ok"})
    assert resp.status_code == 422
    assert "opioid comedication" in _errors(resp)["override_reason"]
    assert _counts(app) == before

    resp = pharmacist.post(url, json={"override_reason": REASON})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "verified" and body["blocking"] == []
    assert body["override_reason"] == REASON
    [finding] = body["findings"]
    assert finding["overridden"] is True and finding["override_reason"] == REASON
    assert body["orders"][0]["status"] == "verified"
    actions = _actions(app)
    assert actions[-4:] == [
        "screening.override",
        "prescription.verify",
        "signature.sign",
        "order.transition",
    ]
    # Verifying twice is a workflow refusal.
    assert pharmacist.post(url, json={}).status_code == 409


def test_verify_a_clean_prescription_needs_no_body(app, api, people):
    rx = _enter(api("staff"), people)
    resp = api("pharmacist").post(f"{RXS}/{rx['id']}/verify")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "verified"


def test_current_findings_follow_the_patient_record(app, api, people):
    staff = api("staff")
    rx = _enter(staff, people)
    assert staff.get(f"{RXS}/{rx['id']}").get_json()["current_findings"] == []
    resp = staff.patch(
        f"/api/v1/patients/{people['patient']}", json={"medications": ["Oxycodone 5 mg"]}
    )
    assert resp.status_code == 200
    body = staff.get(f"{RXS}/{rx['id']}").get_json()
    assert [f["code"] for f in body["current_findings"]] == ["opioid_comedication"]
    # Verification screens again and asks for the override.
    resp = api("pharmacist").post(f"{RXS}/{rx['id']}/verify", json={})
    assert resp.status_code == 422 and "override_reason" in _errors(resp)


def test_reject_needs_a_reason_and_cancels_the_open_order(app, api, people):
    rx = _enter(api("staff"), people)
    url = f"{RXS}/{rx['id']}/reject"
    assert api("staff").post(url, json={"reason": "wrong"}).status_code == 403
    pharmacist = api("pharmacist")
    resp = pharmacist.post(url, json={"reason": ""})
    assert resp.status_code == 422 and "reason" in _errors(resp)
    resp = pharmacist.post(url, json={"reason": "Prescriber asked to void it"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["status"], body["status_reason"]) == ("rejected", "Prescriber asked to void it")
    assert body["orders"][0]["status"] == "cancelled"
    assert "prescription.reject" in _actions(app, rx["id"])


# --- hold / resume / cancel -------------------------------------------------------------------


def test_hold_resume_and_cancel(app, api, people):
    staff = api("staff")
    rx = _enter(staff, people)
    base = f"{RXS}/{rx['id']}"
    assert staff.post(f"{base}/resume").status_code == 409  # not on hold
    resp = staff.post(f"{base}/hold", json={})
    assert resp.status_code == 422 and "reason" in _errors(resp)
    resp = staff.post(f"{base}/hold", json={"reason": "Waiting for the prescriber"})
    assert resp.status_code == 200
    assert (resp.get_json()["status"], resp.get_json()["held_from"]) == ("on_hold", "entered")
    resp = staff.post(f"{base}/resume")
    assert resp.status_code == 200 and resp.get_json()["status"] == "entered"
    resp = staff.post(f"{base}/cancel", json={"reason": "Patient moved away"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "cancelled" and body["orders"][0]["status"] == "cancelled"
    assert [a for a in _actions(app, rx["id"]) if a.startswith("prescription.")] == [
        "prescription.create",
        "prescription.on_hold",
        "prescription.entered",
        "prescription.cancelled",
    ]
    assert staff.post(f"{base}/hold", json={"reason": "again"}).status_code == 409


def test_resuming_a_verified_prescription_needs_a_pharmacist(app, api, people):
    rx = _enter(api("staff"), people)
    base = f"{RXS}/{rx['id']}"
    assert api("pharmacist").post(f"{base}/verify").status_code == 200
    assert api("staff").post(f"{base}/hold", json={"reason": "Insurance query"}).status_code == 200
    assert api("staff").post(f"{base}/resume").status_code == 409
    resp = api("pharmacist").post(f"{base}/resume")
    assert resp.status_code == 200 and resp.get_json()["status"] == "verified"


# --- refills ----------------------------------------------------------------------------------


def test_refills_are_created_until_the_authorised_fills_are_used(app, api, people):
    staff = api("staff")
    admin = api("admin")
    rx = _enter(staff, people, refills_authorized=1)
    url = f"{RXS}/{rx['id']}/refills"

    promised = (TODAY + timedelta(days=3)).isoformat()
    resp = staff.post(url, json={"promised_on": promised})
    assert resp.status_code == 201, resp.get_json()
    order = resp.get_json()
    assert resp.headers["Location"].endswith(f"/api/v1/orders/{order['id']}")
    assert (order["fill_number"], order["status"], order["promised_on"]) == (
        2,
        "received",
        promised,
    )
    with app.app_context():
        assert db.session.get(Order, order["id"]).prescription_id == rx["id"]

    before = _counts(app)
    resp = staff.post(url, json={})
    assert resp.status_code == 422
    assert "authorised fills have been made" in _errors(resp)["prescription"]
    resp = staff.post(url, json={"promised_on": "yesterday"})
    assert resp.status_code == 422 and "promised_on" in _errors(resp)
    assert admin.post(url).status_code == 403
    assert _counts(app) == before

    # A cancelled prescription is not refilled.
    rx = _enter(staff, people, refills_authorized=3)
    staff.post(f"{RXS}/{rx['id']}/cancel", json={"reason": "Patient moved away"})
    resp = staff.post(f"{RXS}/{rx['id']}/refills")
    assert resp.status_code == 422
    assert "the prescription is cancelled" in _errors(resp)["prescription"]


# --- the dose model ---------------------------------------------------------------------------


@pytest.fixture
def sol(app, people):
    from tests.batch_helpers import seed

    return seed(app)["sol"]


def test_a_liquid_is_entered_as_a_dose_of_the_formulas_concentration(app, api, people, sol):
    rx = _enter(
        api("staff"),
        people,
        dosage_form="oral_solution",
        formula_id=sol,
        strength_mg=None,
        dose_mg="1.5",
        quantity=100,
        titration=[{"strength_mg": "0.5", "days": 7}, {"strength_mg": "1", "days": 7}],
    )
    assert (rx["strength_mg"], rx["strength_text"], rx["dose_mg"]) == ("1", "1 mg/mL", "1.5")
    assert rx["quantity_unit"] == "mL" and rx["is_titration"] is True
    assert rx["directions"] == (
        "Follow the titration schedule, by mouth once daily at bedtime: days 1-7 take "
        "0.5 mL (0.5 mg); days 8-14 take 1 mL (1 mg); from day 15 take 1.5 mL (1.5 mg)."
    )


def test_a_dose_that_cannot_be_measured_or_made_is_refused_by_its_field(app, api, people, sol):
    staff = api("staff")
    before = _counts(app)
    liquid = {"dosage_form": "oral_solution", "formula_id": sol, "strength_mg": None}
    resp = staff.post(RXS, json=_body(people, **liquid, dose_mg="0.05", quantity=50))
    assert resp.status_code == 422
    assert "less than an oral syringe measures" in _errors(resp)["dose_mg"]
    resp = staff.post(RXS, json=_body(people, **{**liquid, "strength_mg": "4.5"}, dose_mg="4.5"))
    assert resp.status_code == 422
    assert "is made at 1 mg/mL, not 4.5 mg/mL" in _errors(resp)["strength_mg"]
    resp = staff.post(RXS, json=_body(people, strength_mg="2", dose_mg="4.5"))
    assert resp.status_code == 422
    assert "not a whole number of 2 mg capsules" in _errors(resp)["dose_mg"]
    assert _counts(app) == before
