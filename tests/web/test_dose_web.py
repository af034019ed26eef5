"""Verification refuses, on the page, a prescription whose dose the product no longer gives."""

from __future__ import annotations

from decimal import Decimal as D

from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import Formula, Prescriber, Prescription, User
from pharmacy.services import prescriptions
from tests.batch_helpers import seed
from tests.rx_helpers import make_patient, rx_input


def test_verify_page_names_the_undeliverable_dose(app, as_role, pharmacy):
    seed(app)
    with app.app_context(), unit_of_work() as s:
        staff = s.get(User, pharmacy["staff"])
        p = make_patient(s, staff, last="Quinn", medications="")
        doc = s.scalar(select(Prescriber).limit(1))  # the demo's
        sol = s.scalar(select(Formula).where(Formula.code == "LDN-SOL"))
        rx = prescriptions.enter_prescription(
            s,
            staff,
            rx_input(
                p.id,
                doc.id,
                dosage_form="oral_solution",
                formula_id=sol.id,
                strength_mg=None,
                dose_mg=D("0.5"),
                quantity=D("60"),
                titration=[prescriptions.StepInput(None, 7, D("0.5"))],  # 0.5 mL a dose
            ),
        )
        rx_id = rx.id
        assert [(t.strength_mg, t.units_per_dose) for t in rx.titration_steps] == [(D("0.5"), None)]
        sol.concentration_mg_per_ml = D("10")  # changed after intake
    resp = as_role("pharmacist").post(f"/prescriptions/{rx_id}/verify", data={})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "LDN-SOL v1 is made at 10 mg/mL, not 1 mg/mL" in html
    with app.app_context():
        assert db.session.get(Prescription, rx_id).status == "entered"
