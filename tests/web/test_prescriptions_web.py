"""Patients, prescriptions, verification, orders and look-up through the HTTP layer, and the
JSON API (POST /api/v1/screening, GET /api/v1/orders)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Order, Patient, Prescriber, Prescription, User
from pharmacy.services import accounts
from tests.rx_helpers import TODAY, VALID_NPI, make_patient, make_prescriber
from tests.support import form_error


@pytest.fixture
def people(app, pharmacy):
    with app.app_context(), unit_of_work() as s:
        actor = s.get(User, pharmacy["staff"])
        p = make_patient(s, actor, medications="Tramadol 50 mg as needed")
        doc = make_prescriber(s, actor)
        return p.id, doc.id


def _rx_form(pid, did, **kw):
    data = {
        "patient_id": str(pid),
        "prescriber_id": str(did),
        "date_written": (TODAY - timedelta(days=2)).isoformat(),
        "dosage_form": "capsule",
        "formula_id": "",
        "strength_mg": "4.5",
        "strength_basis": "hcl",
        "quantity": "30",
        "doses_per_day": "1",
        "when": "at bedtime",
        "refills_authorized": "2",
        "indication": "Multiple sclerosis",
        "icd10_code": "G35",
        "titration": "1.5 mg for 14 days\n3 mg for 14 days",
        "promised_on": (TODAY + timedelta(days=2)).isoformat(),
        "action": "save",
    }
    data.update(kw)
    return data


def _count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _enter(client, pid, did, **kw) -> int:
    resp = client.post("/prescriptions/new", data=_rx_form(pid, did, **kw))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return int(resp.headers["Location"].rstrip("/").split("/")[-1])


def test_staff_creates_and_edits_a_patient(app, as_role):
    c = as_role("staff")
    form = {
        "first_name": "Lucia",
        "last_name": "Fernandez",
        "date_of_birth": "1990-01-27",
        "sex": "female",
        "phone": "217-555-0128",
        "address": "",
        "allergies": "",
        "medications": "",
        "liver_disease": "none",
    }
    resp = c.post("/patients/new", data=form)
    assert resp.status_code == 302
    with app.app_context():
        p = db.session.scalar(select(Patient))
        pid = p.id
    resp = c.post(f"/patients/{pid}", data={**form, "breastfeeding": "y"})
    assert resp.status_code == 302
    with app.app_context():
        ev = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "patient.update"))
        assert (ev.actor, ev.old, ev.new) == (
            "staff",
            {"breastfeeding": False},
            {"breastfeeding": True},
        )
    html = c.get("/patients/?q=fern").get_data(as_text=True)
    assert "Fernandez, Lucia" in html and "breastfeeding" in html
    bad = c.post("/patients/new", data={**form, "date_of_birth": "2150-01-01", "sex": "female"})
    assert bad.status_code == 422 and "in the future" in form_error(bad, "date_of_birth")


def test_prescriber_with_a_bad_npi_is_refused_next_to_the_field(app, as_role):
    c = as_role("technician")
    form = {
        "first_name": "A",
        "last_name": "B",
        "credentials": "MD",
        "npi": "1234567890",
        "phone": "",
        "address": "",
    }
    resp = c.post("/prescribers/new", data=form)
    assert resp.status_code == 422 and "check-digit" in form_error(resp, "npi")
    assert _count(app, Prescriber) == 0
    assert c.post("/prescribers/new", data={**form, "npi": VALID_NPI}).status_code == 302


def test_staff_enters_a_prescription_and_sees_the_screening(app, as_role, people):
    pid, did = people
    c = as_role("staff")
    assert "Ellis" in c.get("/prescriptions/new?q=ellis").get_data(as_text=True)
    form_page = c.get(f"/prescriptions/new?patient_id={pid}").get_data(as_text=True)
    assert 'name="dose_mg"' in form_page and 'value="at bedtime"' in form_page
    preview = c.post("/prescriptions/new", data=_rx_form(pid, did, action="screen"))
    assert preview.status_code == 200 and 'data-code="opioid_comedication"' in preview.get_data(
        as_text=True
    )
    assert _count(app, Prescription) == 0
    rx_id = _enter(c, pid, did)
    html = c.get(f"/prescriptions/{rx_id}").get_data(as_text=True)
    assert 'data-code="opioid_comedication" data-severity="contraindicated"' in html
    assert "Waiting for a pharmacist" in html
    with app.app_context():
        rx = db.session.get(Prescription, rx_id)
        assert [s.days for s in rx.titration_steps] == [14, 14]
        assert rx.orders[0].status == "received" and rx.icd10_code == "G35"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"prescriber_id": ""}, "prescriber_id"),
        ({"patient_id": "99999"}, "patient_id"),
        ({"date_written": (TODAY + timedelta(days=1)).isoformat()}, "date_written"),
        ({"quantity": "0"}, "quantity"),
        ({"strength_mg": "-2"}, "strength_mg"),
        ({"refills_authorized": "40"}, "refills_authorized"),
        ({"titration": "1.5 mg for 0 days"}, "titration"),
        ({"titration": "some mg sometimes"}, "titration"),
    ],
)
def test_bad_prescription_input_is_refused_next_to_the_field(app, as_role, people, change, field):
    pid, did = people
    staff = as_role("staff")
    before = (_count(app, Prescription), _count(app, Order), _count(app, AuditEvent))
    resp = staff.post("/prescriptions/new", data=_rx_form(pid, did, **change))
    assert resp.status_code == 422
    assert form_error(resp, field), resp.get_data(as_text=True)
    assert (_count(app, Prescription), _count(app, Order), _count(app, AuditEvent)) == before


def test_form_and_rule_errors_show_together_on_the_first_submit(app, as_role, people):
    """A value the form cannot read (quantity) no longer hides the intake rules: the missing
    prescriber, the date in the future and a bad titration line show in the same reply."""
    pid, did = people
    staff = as_role("staff")
    before = (_count(app, Prescription), _count(app, Order), _count(app, AuditEvent))
    change = {
        "quantity": "thirty",
        "prescriber_id": "",
        "date_written": (TODAY + timedelta(days=1)).isoformat(),
        "titration": "some mg sometimes",
    }
    resp = staff.post("/prescriptions/new", data=_rx_form(pid, did, **change))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "decimal" in form_error(resp, "quantity").lower()
    assert "prescriber" in form_error(resp, "prescriber_id")
    assert form_error(resp, "date_written") and form_error(resp, "titration"), html
    assert html.count('data-field-error="quantity"') == 1  # the form's own message, once
    assert 'data-testid="error-summary"' in html and "4 things to correct" in html
    assert "titration[" not in html and "prescriber_id" not in html.split("<form")[0]
    assert (_count(app, Prescription), _count(app, Order), _count(app, AuditEvent)) == before


def test_an_unreadable_titration_line_does_not_hide_the_other_errors(app, as_role, people):
    pid, did = people
    staff = as_role("staff")
    before = (_count(app, Prescription), _count(app, Order), _count(app, AuditEvent))
    change = {"prescriber_id": "", "quantity": "", "titration": "some mg sometimes"}
    resp = staff.post("/prescriptions/new", data=_rx_form(pid, did, **change))
    assert resp.status_code == 422
    for field in ("prescriber_id", "quantity", "titration"):
        assert form_error(resp, field), field
    assert "3 things to correct" in resp.get_data(as_text=True)
    assert (_count(app, Prescription), _count(app, Order), _count(app, AuditEvent)) == before


def test_only_a_pharmacist_verifies_and_an_override_needs_a_reason(app, as_role, people):
    pid, did = people
    rx_id = _enter(as_role("staff"), pid, did)
    assert as_role("staff").post(f"/prescriptions/{rx_id}/verify", data={}).status_code == 403
    assert as_role("technician").post(f"/prescriptions/{rx_id}/verify", data={}).status_code == 403
    ph = as_role("pharmacist")
    resp = ph.post(f"/prescriptions/{rx_id}/verify", data={"override_reason": ""})
    assert resp.status_code == 422 and "contraindicated" in form_error(resp, "override_reason")
    reason = "Tramadol stopped 2 weeks ago, confirmed with Dr Park"
    resp = ph.post(f"/prescriptions/{rx_id}/verify", data={"override_reason": reason})
    assert resp.status_code == 302
    html = ph.get(f"/prescriptions/{rx_id}").get_data(as_text=True)
    assert 'data-testid="rx-status">verified' in html
    assert reason in html and "Overridden by Pharmacist User" in html
    with app.app_context():
        ev = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "screening.override"))
        assert ev.actor == "pharmacist" and ev.reason == reason


def test_refused_strength_cannot_be_verified(app, as_role, people):
    pid, did = people
    rx_id = _enter(as_role("staff"), pid, did, strength_mg="6.5", titration="")
    resp = as_role("pharmacist").post(
        f"/prescriptions/{rx_id}/verify", data={"override_reason": "override everything please"}
    )
    assert resp.status_code == 422
    assert "cannot be overridden" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Prescription, rx_id).status == "entered"


def test_order_moves_through_the_web_with_role_checks(app, as_role, people):
    pid, did = people
    rx_id = _enter(as_role("staff"), pid, did)
    ph = as_role("pharmacist")
    ph.post(f"/prescriptions/{rx_id}/verify", data={"override_reason": "reviewed with prescriber"})
    with app.app_context():
        oid = db.session.get(Prescription, rx_id).orders[0].id
    staff, tech = as_role("staff"), as_role("technician")
    # No status button skips a step: compounding, fill, check and hand-out are their own steps.
    for who in (staff, tech, ph):
        for target in ("in_compounding", "ready", "checked", "dispensed"):
            resp = who.post(f"/orders/{oid}/status", data={"target": target})
            assert resp.status_code == 409, (target, resp.status_code)
            assert "not a status you set" in resp.get_data(as_text=True)
    resp = tech.post(f"/orders/{oid}/status", data={"target": "on_hold", "reason": ""})
    assert resp.status_code == 422 and "written reason" in resp.get_data(as_text=True)
    resp = tech.post(f"/orders/{oid}/status", data={"target": "on_hold", "reason": "rx query"})
    assert resp.status_code == 302
    page = staff.get(f"/orders/{oid}").get_data(as_text=True)
    assert 'data-move="verified"' not in page and 'data-move="cancelled"' in page
    page = ph.get(f"/orders/{oid}").get_data(as_text=True)  # back to verified: a pharmacist
    assert 'data-move="verified"' in page and 'data-move="cancelled"' in page  # resume, cancel
    assert ph.post(f"/orders/{oid}/status", data={"target": "verified"}).status_code == 302
    page = staff.get(f"/orders/{oid}").get_data(as_text=True)
    assert 'data-testid="order-status">verified' in page
    assert "received → verified" in page and "verified → on hold" in page
    assert 'data-move="in_compounding"' not in page and 'data-move="ready"' not in page
    # refill from the prescription page
    resp = staff.post(f"/prescriptions/{rx_id}/refill", data={})
    assert resp.status_code == 302
    with app.app_context():
        assert [o.fill_number for o in db.session.get(Prescription, rx_id).orders] == [1, 2]


def test_lookup_and_queue_pages(app, as_role, people):
    pid, did = people
    rx_id = _enter(as_role("staff"), pid, did)
    with app.app_context():
        number = db.session.get(Prescription, rx_id).rx_number
    staff = as_role("staff")
    for q in (number, "ellis", "1961-04-12", "555-0191"):
        html = staff.get("/orders/", query_string={"q": q}).get_data(as_text=True)
        assert f"{number}-01" in html, q
    wrong = staff.get(
        "/orders/", query_string={"q": number[:-1] + "Z" if number[-1] != "Z" else "A"}
    )
    assert wrong.status_code == 422 and "check letter" in form_error(wrong, "q")
    html = as_role("pharmacist").get("/orders/queue").get_data(as_text=True)
    assert f"{number}-01" in html
    assert html.index('data-queue="received"') < html.index('data-queue="verified"')
    tech_html = as_role("technician").get("/orders/queue").get_data(as_text=True)
    assert tech_html.index('data-queue="verified"') < tech_html.index('data-queue="received"')
    assert as_role("staff").get("/orders/queue?status=bogus").status_code == 400


# --- JSON API --------------------------------------------------------------------------------


def _token(app, username):
    with app.app_context(), unit_of_work() as s:
        user = s.scalar(select(User).where(User.username == username))
        return accounts.create_api_token(s, user, user, "test")


def _api(app, client, role):
    headers = {"Authorization": f"Bearer {_token(app, role)}"}
    return lambda method, url, **kw: client.open(url, method=method, headers=headers, **kw)


SCREEN_BODY = {
    "patient": {
        "medications": ["Levothyroxine", "suboxone 8/2 film"],
        "allergies": [],
        "pregnant": False,
        "breastfeeding": True,
        "liver_disease": "none",
    },
    "prescription": {
        "strength_mg": "4.5",
        "strength_basis": "hcl",
        "doses_per_day": 1,
        "titration": [{"strength_mg": "0.25", "days": 7}, {"strength_mg": "3", "days": 14}],
    },
}


def test_screening_api_contract(app, client, pharmacy):
    call = _api(app, client, "staff")
    resp = call("POST", "/api/v1/screening", json=SCREEN_BODY)
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == {"findings"}
    assert all(set(f) == {"code", "severity", "message"} for f in body["findings"])
    codes = {f["code"]: f["severity"] for f in body["findings"]}
    assert codes == {
        "opioid_comedication": "contraindicated",
        "dose_below_usual_range": "warning",
        "breastfeeding": "warning",
    }
    assert body["findings"][0]["severity"] == "contraindicated"  # most serious first
    clean = {
        "patient": {
            "medications": [],
            "allergies": [],
            "pregnant": False,
            "breastfeeding": False,
            "liver_disease": "none",
        },
        "prescription": {
            "strength_mg": "3",
            "strength_basis": "base",
            "doses_per_day": 1,
            "titration": [],
        },
    }
    assert call("POST", "/api/v1/screening", json=clean).get_json() == {"findings": []}
    refused = {**clean, "prescription": {**clean["prescription"], "strength_mg": "8"}}
    assert (
        call("POST", "/api/v1/screening", json=refused).get_json()["findings"][0]["severity"]
        == "refused"
    )


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"prescription": {"strength_mg": "0"}}, "prescription.strength_mg"),
        (
            {
                "prescription": {
                    "strength_mg": "4.5",
                    "titration": [{"strength_mg": "1", "days": 0}],
                }
            },
            "prescription.titration[0].days",
        ),
        ({"patient": {"liver_disease": "cirrhosis"}}, "patient.liver_disease"),
        ({"patient": {"medications": "tramadol"}}, "patient.medications"),
        (
            {"prescription": {"strength_mg": "4.5", "strength_basis": "salt"}},
            "prescription.strength_basis",
        ),
        (
            {"prescription": {"strength_mg": "4.5", "doses_per_day": 0}},
            "prescription.doses_per_day",
        ),
    ],
)
def test_screening_api_refuses_bad_input_with_the_field(app, client, pharmacy, patch, field):
    body = {k: {**SCREEN_BODY[k], **patch.get(k, {})} for k in SCREEN_BODY}
    resp = _api(app, client, "pharmacist")("POST", "/api/v1/screening", json=body)
    assert resp.status_code == 422
    assert field in {e["field"] for e in resp.get_json()["errors"]}


def test_screening_api_needs_a_token_and_a_pharmacy_role(app, client, pharmacy):
    assert client.post("/api/v1/screening", json=SCREEN_BODY).status_code == 401
    resp = _api(app, client, "admin")("POST", "/api/v1/screening", json=SCREEN_BODY)
    assert resp.status_code == 403
    bad = _api(app, client, "staff")(
        "POST", "/api/v1/screening", data="{not json", csrf=False, content_type="application/json"
    )
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "body"


def test_orders_api_lookup_and_detail(app, client, as_role, people):
    pid, did = people
    rx_id = _enter(as_role("staff"), pid, did)
    call = _api(app, client, "staff")
    body = call("GET", "/api/v1/orders?q=ellis").get_json()
    [row] = body["orders"]
    assert row["status"] == "received" and row["patient"]["name"] == "Margaret Ellis"
    assert body["next_before"] is None and row["fill_number"] == 1
    detail = call("GET", f"/api/v1/orders/{row['id']}").get_json()
    assert detail["prescription"]["id"] == rx_id
    assert [e["action"] for e in detail["history"]][:2] == ["prescription.create", "order.create"]
    assert call("GET", "/api/v1/orders/999999").status_code == 404
    assert call("GET", "/api/v1/orders?q=RX000001Q").status_code in (200, 422)
    assert _api(app, client, "admin")("GET", "/api/v1/orders?q=ellis").status_code == 403


def test_hold_resume_and_cancel_a_prescription(app, as_role, people):
    pid, did = people
    staff = as_role("staff")
    rx_id = _enter(staff, pid, did)
    page = staff.get(f"/prescriptions/{rx_id}").get_data(as_text=True)
    assert 'data-testid="rx-hold"' in page
    resp = staff.post(f"/prescriptions/{rx_id}/status", data={"target": "on_hold", "reason": ""})
    assert resp.status_code == 422
    assert (
        staff.post(
            f"/prescriptions/{rx_id}/status",
            data={"target": "on_hold", "reason": "waiting for the prescriber"},
        ).status_code
        == 302
    )
    with app.app_context():
        rx = db.session.get(Prescription, rx_id)
        assert (rx.status, rx.held_from, rx.status_reason) == (
            "on_hold",
            "entered",
            "waiting for the prescriber",
        )
    assert (
        staff.post(
            f"/prescriptions/{rx_id}/status", data={"target": "entered", "reason": ""}
        ).status_code
        == 302
    )
    assert (
        staff.post(
            f"/prescriptions/{rx_id}/status",
            data={"target": "cancelled", "reason": "patient declined"},
        ).status_code
        == 302
    )
    with app.app_context():
        rx = db.session.get(Prescription, rx_id)
        assert rx.status == "cancelled"
        assert {o.status for o in rx.orders} == {"cancelled"}
        actions = db.session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.entity == "prescription", AuditEvent.entity_id == str(rx_id)
            )
        ).all()
        assert {"prescription.on_hold", "prescription.entered", "prescription.cancelled"} <= set(
            actions
        )
    # A cancelled prescription is final.
    assert (
        staff.post(
            f"/prescriptions/{rx_id}/status", data={"target": "on_hold", "reason": "x"}
        ).status_code
        == 409
    )
