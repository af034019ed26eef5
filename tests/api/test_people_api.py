"""Patients and prescribers through the JSON API: search, read, create, update (PATCH only the
fields sent), with the pages' rules and audit; bad input is 422 naming the field and nothing is
written; no token is 401, a role without access 403."""

import pytest
from sqlalchemy import func, select

from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Patient, Prescriber

PATIENTS = "/api/v1/patients"
PRESCRIBERS = "/api/v1/prescribers"
VALID_NPI, OTHER_NPI = "1234567893", "1987654328"

ELLIS = {
    "first_name": "Margaret",
    "last_name": "Ellis",
    "date_of_birth": "1961-04-12",
    "sex": "female",
    "phone": "(217) 555-0191",
    "address": "4 Elm Road, Springfield",
    "allergies": ["Penicillin", "Lactose"],
    "medications": ["Levothyroxine 75 mcg"],
}


def _errors(resp) -> dict:
    return {e["field"]: e["message"] for e in resp.get_json()["errors"]}


def _count(app, model, action=None) -> int:
    with app.app_context():
        stmt = select(func.count()).select_from(model)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        return db.session.scalar(stmt)


def _create(client, **over) -> dict:
    resp = client.post(PATIENTS, json={**ELLIS, **over})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


# --- patients ---------------------------------------------------------------------------------


def test_create_patient_is_saved_and_audited(app, api):
    staff = api("staff")
    resp = staff.post(PATIENTS, json=ELLIS)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert resp.headers["Location"].endswith(f"/api/v1/patients/{body['id']}")
    assert body["full_name"] == "Margaret Ellis"
    assert body["allergies"] == ["Penicillin", "Lactose"]
    assert body["liver_disease"] == "none" and body["pregnant"] is False
    with app.app_context():
        row = db.session.get(Patient, body["id"])
        assert (row.date_of_birth.isoformat(), row.allergies) == (
            "1961-04-12",
            "Penicillin\nLactose",
        )
        assert row.phone_digits == "2175550191"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "patient.create"))
        assert event.actor == "staff" and event.entity_id == str(body["id"])
        assert event.new["last_name"] == "Ellis"


@pytest.mark.parametrize(
    "over, field, needle",
    [
        ({"first_name": ""}, "first_name", "required"),
        ({"date_of_birth": "2150-01-01"}, "date_of_birth", "in the future"),
        ({"date_of_birth": "1961-13-40"}, "date_of_birth", "date"),
        ({"date_of_birth": 0}, "date_of_birth", "yyyy-mm-dd"),  # not 1970-01-01
        ({"date_of_birth": "12/04/1961"}, "date_of_birth", "yyyy-mm-dd"),
        ({"sex": "x"}, "sex", "must be one of"),
        ({"phone": "12"}, "phone", "at least 7 digits"),
        ({"liver_disease": "mild"}, "liver_disease", "must be one of"),
        ({"sex": "male", "pregnant": True}, "pregnant", "cannot be pregnant"),
        ({"allergies": "Penicillin"}, "allergies", "list"),
        ({"allergies": [""]}, "allergies[0]", "at least 1"),
        ({"nickname": "Maggie"}, "nickname", "not permitted"),
    ],
)
def test_bad_patient_is_refused_naming_the_field(app, api, over, field, needle):
    staff = api("staff")
    audits = _count(app, AuditEvent)
    resp = staff.post(PATIENTS, json={**ELLIS, **over})
    assert resp.status_code == 422, resp.get_json()
    errors = _errors(resp)
    assert field in errors and needle in errors[field].lower(), errors
    assert _count(app, Patient) == 0 and _count(app, AuditEvent) == audits


def test_missing_fields_are_named_by_the_service(app, api):
    resp = api("staff").post(PATIENTS, json={})
    assert resp.status_code == 422
    assert {"first_name", "last_name", "date_of_birth", "sex"} <= set(_errors(resp))


def test_search_by_name_date_of_birth_and_phone(app, api):
    staff = api("staff")
    ellis = _create(staff)
    _create(staff, first_name="Tom", last_name="Elder", date_of_birth="1970-01-02", phone="")

    def ids(q):
        resp = staff.get(PATIENTS, query_string={"q": q})
        assert resp.status_code == 200
        return [p["id"] for p in resp.get_json()["patients"]]

    assert ids("ellis marg") == [ellis["id"]]
    assert len(ids("el")) == 2
    assert ids("04/12/1961") == [ellis["id"]]
    assert ids("555-0191") == [ellis["id"]]
    assert ids("") == []


def test_get_patient_lists_their_prescriptions(app, api):
    staff = api("staff")
    pid = _create(staff)["id"]
    resp = staff.get(f"{PATIENTS}/{pid}")
    assert resp.status_code == 200
    assert resp.get_json()["prescriptions"] == []
    assert staff.get(f"{PATIENTS}/999999").status_code == 404


def test_patch_changes_only_the_fields_sent_and_audits_the_change(app, api):
    staff = api("staff")
    pid = _create(staff)["id"]
    resp = staff.patch(f"{PATIENTS}/{pid}", json={"phone": "217-555-0000", "pregnant": True})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["phone"] == "217-555-0000" and body["pregnant"] is True
    assert body["allergies"] == ["Penicillin", "Lactose"] and body["last_name"] == "Ellis"
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "patient.update"))
        assert event.old == {"phone": "(217) 555-0191", "pregnant": False}
        assert event.new == {"phone": "217-555-0000", "pregnant": True}
    # Sending nothing changes nothing and records nothing.
    assert staff.patch(f"{PATIENTS}/{pid}", json={}).status_code == 200
    assert _count(app, AuditEvent, "patient.update") == 1


def test_bad_patch_changes_nothing(app, api):
    staff = api("staff")
    pid = _create(staff)["id"]
    resp = staff.patch(f"{PATIENTS}/{pid}", json={"sex": "male", "pregnant": True, "phone": "1"})
    assert resp.status_code == 422
    assert {"pregnant", "phone"} <= set(_errors(resp))
    with app.app_context():
        row = db.session.get(Patient, pid)
        assert (row.sex, row.pregnant, row.phone) == ("female", False, "(217) 555-0191")
    assert _count(app, AuditEvent, "patient.update") == 0
    resp = staff.patch(f"{PATIENTS}/{pid}", json={"first_name": None})
    assert resp.status_code == 422 and "first_name" in _errors(resp)


def test_patients_need_a_token_and_a_pharmacy_role(app, api, client):
    assert client.get(PATIENTS).status_code == 401
    assert client.post(PATIENTS, json=ELLIS).status_code == 401
    admin = api("admin")
    assert admin.get(PATIENTS, query_string={"q": "ellis"}).status_code == 403
    assert admin.post(PATIENTS, json=ELLIS).status_code == 403
    assert _count(app, Patient) == 0
    for role in ("pharmacist", "technician"):
        assert api(role).get(PATIENTS, query_string={"q": "x"}).status_code == 200


# --- prescribers ------------------------------------------------------------------------------

PARK = {
    "first_name": "Helen",
    "last_name": "Park",
    "credentials": "MD",
    "npi": VALID_NPI,
    "phone": "555-0100",
}


def test_create_prescriber_checks_the_npi(app, api):
    staff = api("staff")
    resp = staff.post(PRESCRIBERS, json={**PARK, "npi": " 1234567893 "})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["npi"], body["display_name"]) == (VALID_NPI, "Helen Park, MD")
    with app.app_context():
        assert db.session.get(Prescriber, body["id"]).npi == VALID_NPI
    assert _count(app, AuditEvent, "prescriber.create") == 1

    for npi, needle in (("1234567890", "check-digit"), (VALID_NPI, "already recorded")):
        resp = staff.post(PRESCRIBERS, json={**PARK, "last_name": "Other", "npi": npi})
        assert resp.status_code == 422
        assert needle in _errors(resp)["npi"]
    assert _count(app, Prescriber) == 1 and _count(app, AuditEvent, "prescriber.create") == 1


def test_prescriber_search_read_and_patch(app, api):
    staff = api("staff")
    park = staff.post(PRESCRIBERS, json=PARK).get_json()
    other = staff.post(
        PRESCRIBERS, json={**PARK, "first_name": "Ada", "last_name": "Quinn", "npi": OTHER_NPI}
    ).get_json()

    def ids(q):
        return [
            p["id"] for p in staff.get(PRESCRIBERS, query_string={"q": q}).get_json()["prescribers"]
        ]

    assert ids("198") == [other["id"]]
    assert ids("par") == [park["id"]]
    assert ids("") == [park["id"], other["id"]]
    assert staff.get(f"{PRESCRIBERS}/{park['id']}").get_json()["npi"] == VALID_NPI

    resp = staff.patch(f"{PRESCRIBERS}/{park['id']}", json={"credentials": "DO"})
    assert resp.status_code == 200 and resp.get_json()["display_name"] == "Helen Park, DO"
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "prescriber.update")
        )
        assert (event.old, event.new) == ({"credentials": "MD"}, {"credentials": "DO"})

    # Taking another prescriber's NPI is refused and changes nothing.
    resp = staff.patch(f"{PRESCRIBERS}/{park['id']}", json={"npi": OTHER_NPI, "phone": "1"})
    assert resp.status_code == 422 and "already recorded" in _errors(resp)["npi"]
    with app.app_context():
        assert db.session.get(Prescriber, park["id"]).npi == VALID_NPI
    assert _count(app, AuditEvent, "prescriber.update") == 1


def test_prescribers_need_a_token_and_a_pharmacy_role(app, api, client):
    assert client.get(PRESCRIBERS).status_code == 401
    assert api("admin").post(PRESCRIBERS, json=PARK).status_code == 403
    assert _count(app, Prescriber) == 0
