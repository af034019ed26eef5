"""The whole path through the JSON API only, as an integration would drive it: patient and
prescriber, prescription intake with screening, verification with an override, batch, fill,
the pharmacist's final check, the label PDF, its scan, and the hand-out with counselling."""

import io

from pypdf import PdfReader
from sqlalchemy import select

from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Handout
from tests.api.test_batches_api import PASSING_QC, _weights
from tests.batch_helpers import TODAY, seed

OVERRIDE = "Prescriber confirmed tramadol was stopped 14 days ago"


def test_patient_to_hand_out_through_the_api(app, api, pharmacy):
    ids = seed(app)
    staff, tech = api("staff"), api("technician")
    pharmacist, checker = api("pharmacist"), api("checker")

    patient = staff.post(
        "/api/v1/patients",
        json={
            "first_name": "June",
            "last_name": "Okafor",
            "date_of_birth": "1975-06-30",
            "sex": "female",
            "phone": "217-555-0142",
            "medications": ["Tramadol 50 mg as needed"],
            "allergies": [],
        },
    ).get_json()
    prescriber = staff.post(
        "/api/v1/prescribers",
        json={"first_name": "Ada", "last_name": "Quinn", "credentials": "DO", "npi": "1987654328"},
    ).get_json()

    resp = staff.post(
        "/api/v1/prescriptions",
        json={
            "patient_id": patient["id"],
            "prescriber_id": prescriber["id"],
            "date_written": TODAY.isoformat(),
            "dosage_form": "capsule",
            "formula_id": ids["cap"],
            "strength_mg": "4.5",
            "dose_mg": "4.5",
            "quantity": 30,  # 30 days: within the batch's 45-day BUD
            "refills_authorized": 1,
            "indication": "Fibromyalgia",
            "icd10_code": "M79.7",
        },
    )
    assert resp.status_code == 201, resp.get_json()
    rx = resp.get_json()
    assert rx["blocking"] == ["opioid_comedication"]
    assert rx["directions"] == "Take 1 capsule (4.5 mg) by mouth once daily at bedtime."
    order_id = rx["orders"][0]["id"]

    resp = pharmacist.post(
        f"/api/v1/prescriptions/{rx['id']}/verify", json={"override_reason": OVERRIDE}
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["orders"][0]["status"] == "verified"

    # Compounded, checked by a second pharmacist, and filled.
    resp = tech.post(
        "/api/v1/batches",
        json={"formula_id": ids["cap"], "balance_id": ids["balance"], "order_ids": [order_id]},
    )
    assert resp.status_code == 201, resp.get_json()
    batch = resp.get_json()
    bid = batch["id"]
    assert (
        tech.post(
            f"/api/v1/batches/{bid}/weights", json=_weights(batch, ids["balance"])
        ).status_code
        == 200
    )
    assert (
        tech.post(f"/api/v1/batches/{bid}/qc", json={**PASSING_QC, "units_made": 30}).status_code
        == 201
    )
    assert checker.post(f"/api/v1/batches/{bid}/release", json={}).status_code == 200
    resp = tech.post(f"/api/v1/batches/{bid}/dispense", json={"order_id": order_id, "quantity": 30})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["order"]["status"] == "ready"

    # The pharmacist's final check, then the label with their initials.
    view = pharmacist.get(f"/api/v1/orders/{order_id}/final-check").get_json()
    assert view["discrepancies"] == [] and view["can_pass"] is True
    resp = pharmacist.post(f"/api/v1/orders/{order_id}/final-check", json={})
    assert resp.status_code == 201, resp.get_json()
    resp = staff.post(f"/api/v1/orders/{order_id}/label")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    label = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.data)).pages)
    assert "June Okafor" in label and "Naltrexone HCl 4.5 mg capsules" in label
    assert "RPh: PH" in label and batch["batch_number"] in label

    # Scan the label and the stock container, then hand it out.
    number = f"{rx['rx_number']}-01"
    resp = staff.post(
        f"/api/v1/orders/{order_id}/scan",
        json={"label_code": number, "batch_code": batch["batch_number"]},
    )
    assert resp.status_code == 200, resp.get_json()
    resp = staff.post(
        f"/api/v1/orders/{order_id}/handout",
        json={"method": "pickup", "counsel_outcome": "declined", "counsel_notes": "Offered"},
    )
    assert resp.status_code == 201, resp.get_json()

    order = staff.get(f"/api/v1/orders/{order_id}").get_json()
    assert (order["status"], order["dispensed_via"]) == ("dispensed", "pickup")
    assert [f["batch_number"] for f in order["fills"]] == [batch["batch_number"]]
    statuses = [e["new"]["status"] for e in order["history"] if e["action"] == "order.transition"]
    assert statuses == [
        "verified",
        "in_compounding",
        "quality_check",
        "ready",
        "checked",
        "dispensed",
    ]
    with app.app_context():
        assert db.session.scalar(select(Handout.order_id)) == order_id
        actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {
        "patient.create",
        "prescriber.create",
        "prescription.create",
        "screening.override",
        "prescription.verify",
        "order.final_check",
        "document.print",
        "label.verify",
        "order.handout",
    } <= actions
