"""After the fill, through the JSON API: the pharmacist's final check (ready -> checked), the
hand-out (checked -> dispensed) only after the label was printed and scanned (or a pharmacist
records why not) with the offer to counsel, and a refill's verification with screening run
again. Refusals name the field (422) or the state (409) and write nothing."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, FinalCheck, Handout, Order, Patient
from tests.batch_helpers import make_order, seed
from tests.printing.helpers import filled_order, rx_number

ORDERS = "/api/v1/orders"
OVERRIDE = "Prescriber confirmed the opioid was stopped two weeks ago"


@pytest.fixture
def ids(app, pharmacy):
    return seed(app)


def _errors(resp) -> dict:
    return {e["field"]: e["message"] for e in resp.get_json()["errors"]}


def _count(app, model, **where) -> int:
    with app.app_context():
        stmt = select(func.count()).select_from(model)
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        return db.session.scalar(stmt)


def _status(app, oid) -> str:
    with app.app_context():
        return db.session.get(Order, oid).status


def _ready(app, as_role, ids) -> int:
    oid, _ = filled_order(app, as_role, ids, check=False)
    assert _status(app, oid) == "ready"
    return oid


# --- final check ------------------------------------------------------------------------------


def test_final_check_view_compares_without_writing(app, api, as_role, ids):
    oid = _ready(app, as_role, ids)
    pharmacist = api("pharmacist")
    audits = _count(app, AuditEvent)
    resp = pharmacist.get(f"{ORDERS}/{oid}/final-check")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["discrepancies"] == [] and body["can_pass"] is True
    assert body["rx"]["rx_number"] == rx_number(app, oid)
    assert body["rx"]["strength_mg"] == "4.5"
    [batch] = body["batches"]
    assert (batch["status"], batch["quantity"]) == ("released", "30")
    assert body["label"]["quantity"] == "30"
    assert _count(app, AuditEvent) == audits and _count(app, FinalCheck) == 0
    assert api("staff").get(f"{ORDERS}/{oid}/final-check").status_code == 403
    assert api("technician").get(f"{ORDERS}/{oid}/final-check").status_code == 403


def test_final_check_records_the_pharmacist_and_moves_to_checked(app, api, as_role, ids):
    oid = _ready(app, as_role, ids)
    url = f"{ORDERS}/{oid}/final-check"
    assert api("technician").post(url, json={}).status_code == 403
    resp = api("pharmacist").post(url, json={"notes": "Capsules, label and Rx agree"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["order"]["status"] == "checked"
    check = body["final_check"]
    assert check["checked_by"] == "PH" and check["notes"] == "Capsules, label and Rx agree"
    assert check["compared"]["rx"]["rx_number"] == rx_number(app, oid)
    with app.app_context():
        row = db.session.get(FinalCheck, check["id"])
        assert row.order_id == oid and row.checked_by.username == "pharmacist"
    assert _count(app, AuditEvent, action="order.final_check", entity_id=str(oid)) == 1
    # Once only.
    assert api("pharmacist").post(url, json={}).status_code == 409
    assert _count(app, FinalCheck) == 1


def test_no_final_check_before_the_fill(app, api, ids):
    oid = make_order(app)  # verified, nothing filled
    resp = api("pharmacist").post(f"{ORDERS}/{oid}/final-check", json={})
    assert resp.status_code == 409
    assert _status(app, oid) == "verified" and _count(app, FinalCheck) == 0


def test_a_filled_quantity_that_differs_from_the_order_is_a_discrepancy(app, api, as_role, ids):
    oid = _ready(app, as_role, ids)
    with app.app_context(), unit_of_work() as s:
        s.get(Order, oid).quantity = Decimal("60")
    pharmacist = api("pharmacist")
    view = pharmacist.get(f"{ORDERS}/{oid}/final-check").get_json()
    assert view["can_pass"] is False
    assert any("30 capsule filled" in d["message"] for d in view["discrepancies"])
    resp = pharmacist.post(f"{ORDERS}/{oid}/final-check", json={})
    assert resp.status_code == 422 and "product" in _errors(resp)
    assert _status(app, oid) == "ready" and _count(app, FinalCheck) == 0


def test_a_new_contraindication_needs_an_override_at_the_final_check(app, api, as_role, ids):
    oid = _ready(app, as_role, ids)
    with app.app_context():
        rx = db.session.get(Order, oid).prescription
        rx_id, pid = rx.id, rx.patient_id
        meds = db.session.get(Patient, pid).medication_list
    staff, pharmacist = api("staff"), api("pharmacist")
    resp = staff.patch(f"/api/v1/patients/{pid}", json={"medications": [*meds, "Oxycodone 5 mg"]})
    assert resp.status_code == 200, resp.get_json()
    [mine] = [p for p in resp.get_json()["open_prescriptions"] if p["id"] == rx_id]
    assert mine["blocking"] == ["opioid_comedication"]

    view = pharmacist.get(f"{ORDERS}/{oid}/final-check").get_json()
    assert view["needs_override"] is True
    assert "opioid_comedication" in [f["code"] for f in view["findings"]]
    url = f"{ORDERS}/{oid}/final-check"
    resp = pharmacist.post(url, json={"override_reason": "fine"})
    assert resp.status_code == 422 and "opioid comedication" in _errors(resp)["override_reason"]
    assert _status(app, oid) == "ready" and _count(app, FinalCheck) == 0
    resp = pharmacist.post(url, json={"override_reason": OVERRIDE})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["final_check"]["override_reason"] == OVERRIDE


# --- hand-out ---------------------------------------------------------------------------------


def _checked(app, api, as_role, ids) -> int:
    oid = _ready(app, as_role, ids)
    assert api("pharmacist").post(f"{ORDERS}/{oid}/final-check", json={}).status_code == 201
    return oid


def test_hand_out_needs_the_label_printed_and_scanned(app, api, as_role, ids):
    oid = _checked(app, api, as_role, ids)
    staff = api("staff")
    url = f"{ORDERS}/{oid}/handout"
    assert staff.get(url).get_json()["missing"] == [
        "the label printed after the final check",
        "the label's barcode scanned",
    ]
    body = {"method": "pickup", "counsel_outcome": "declined"}
    resp = staff.post(url, json=body)
    assert resp.status_code == 422 and "print the dispensing label" in _errors(resp)["label"]

    assert staff.post(f"{ORDERS}/{oid}/label").status_code == 200
    resp = staff.post(url, json=body)
    assert resp.status_code == 422 and "scan" in _errors(resp)
    resp = staff.post(url, json={**body, "scan_waived_reason": "Scanner is broken today"})
    assert resp.status_code == 422 and "only a pharmacist" in _errors(resp)["scan_waived_reason"]
    assert _count(app, Handout) == 0 and _status(app, oid) == "checked"

    code = f"{rx_number(app, oid)}-01"
    assert staff.post(f"{ORDERS}/{oid}/scan", json={"label_code": code}).status_code == 200
    assert staff.get(url).get_json()["missing"] == []
    resp = staff.post(url, json={**body, "method": "drone", "counsel_outcome": "maybe"})
    assert resp.status_code == 422 and {"method", "counsel_outcome"} <= set(_errors(resp))
    resp = staff.post(url, json={**body, "counsel_outcome": "accepted"})
    assert resp.status_code == 422 and "a pharmacist counsels" in _errors(resp)["counsel_outcome"]
    assert _count(app, Handout) == 0

    resp = staff.post(url, json={**body, "counsel_notes": "Offered; patient declined"})
    assert resp.status_code == 201, resp.get_json()
    out = resp.get_json()
    assert out["order"]["status"] == "dispensed" and out["order"]["dispensed_via"] == "pickup"
    assert out["handout"]["label_scan_id"] is not None
    assert out["handout"]["counsel_outcome"] == "declined"
    with app.app_context():
        row = db.session.get(Handout, out["handout"]["id"])
        assert row.order_id == oid and row.handed_out_by.username == "staff"
    assert _count(app, AuditEvent, action="order.handout", entity_id=str(oid)) == 1
    assert staff.post(url, json=body).status_code == 409
    order = staff.get(f"{ORDERS}/{oid}").get_json()
    assert order["status"] == "dispensed" and order["is_titration"] is False
    assert [(f["quantity"], f["unit"]) for f in order["fills"]] == [("30", "capsule")]
    assert order["final_check"]["checked_by"] == "PH"
    assert (order["handout"]["method"], order["handout"]["counsel_outcome"]) == (
        "pickup",
        "declined",
    )


def test_a_pharmacist_may_hand_out_unscanned_with_a_reason(app, api, as_role, ids):
    oid = _checked(app, api, as_role, ids)
    pharmacist = api("pharmacist")
    assert pharmacist.post(f"{ORDERS}/{oid}/label").status_code == 200
    resp = pharmacist.post(
        f"{ORDERS}/{oid}/handout",
        json={
            "method": "shipped",
            "counsel_outcome": "accepted",
            "scan_waived_reason": "Barcode torn; label checked by eye against the Rx",
        },
    )
    assert resp.status_code == 201, resp.get_json()
    out = resp.get_json()["handout"]
    assert out["label_scan_id"] is None and out["scan_waived_reason"].startswith("Barcode torn")
    assert out["handed_out_by"] == "pharmacist"


def test_a_contraindication_found_after_the_final_check_stops_the_hand_out(app, api, as_role, ids):
    oid = _checked(app, api, as_role, ids)
    staff, pharmacist = api("staff"), api("pharmacist")
    assert staff.post(f"{ORDERS}/{oid}/label").status_code == 200
    code = f"{rx_number(app, oid)}-01"
    assert staff.post(f"{ORDERS}/{oid}/scan", json={"label_code": code}).status_code == 200
    with app.app_context():
        pid = db.session.get(Order, oid).prescription.patient_id
        meds = db.session.get(Patient, pid).medication_list
    staff.patch(f"/api/v1/patients/{pid}", json={"medications": [*meds, "Tramadol 50 mg"]})
    body = {"method": "pickup", "counsel_outcome": "declined"}
    resp = staff.post(f"{ORDERS}/{oid}/handout", json=body)
    assert resp.status_code == 422 and "a pharmacist reviews it" in _errors(resp)["findings"]
    resp = pharmacist.post(f"{ORDERS}/{oid}/handout", json=body)
    assert resp.status_code == 422 and "override_reason" in _errors(resp)
    assert _count(app, Handout) == 0 and _status(app, oid) == "checked"
    resp = pharmacist.post(f"{ORDERS}/{oid}/handout", json={**body, "override_reason": OVERRIDE})
    assert resp.status_code == 201, resp.get_json()
    assert _status(app, oid) == "dispensed"


def test_no_hand_out_before_the_final_check(app, api, as_role, ids):
    oid = _ready(app, as_role, ids)
    resp = api("pharmacist").post(
        f"{ORDERS}/{oid}/handout", json={"method": "pickup", "counsel_outcome": "declined"}
    )
    assert resp.status_code == 409 and _status(app, oid) == "ready"
    assert api("admin").post(f"{ORDERS}/{oid}/handout", json={}).status_code == 403


# --- refill verification ----------------------------------------------------------------------


def test_a_refill_is_verified_by_a_pharmacist_with_screening_run_again(app, api, ids):
    staff, pharmacist = api("staff"), api("pharmacist")
    oid = make_order(app)
    with app.app_context():
        rx = db.session.get(Order, oid).prescription
        rx_id, pid = rx.id, rx.patient_id
        meds = db.session.get(Patient, pid).medication_list
    with app.app_context(), unit_of_work() as s:
        s.get(Order, oid).prescription.refills_authorized = 2
    resp = staff.post(f"/api/v1/prescriptions/{rx_id}/refills")
    assert resp.status_code == 201, resp.get_json()
    refill = resp.get_json()["id"]
    url = f"{ORDERS}/{refill}/verify"
    assert staff.post(url, json={}).status_code == 403

    staff.patch(f"/api/v1/patients/{pid}", json={"medications": [*meds, "Tramadol 50 mg"]})
    resp = pharmacist.post(url, json={})
    assert resp.status_code == 422 and "override_reason" in _errors(resp)
    assert _status(app, refill) == "received"
    resp = pharmacist.post(url, json={"override_reason": OVERRIDE})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "verified"
    assert pharmacist.post(url, json={}).status_code == 409
