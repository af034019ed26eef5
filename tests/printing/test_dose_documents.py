"""The strength that was made and the dose in mL reach every printed document (issue 10 item 1),
and a titration kit prints the patient's own schedule through to the maintenance dose (item 2)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import Batch, Dispense, IngredientLot, Order, TitrationStep, User
from tests.batch_helpers import latest_batch, make_order, seed, weights_data
from tests.labels.labels_samples import pdf_text
from tests.printing.helpers import final_check, released_batch


@pytest.fixture
def ids(app, pharmacy):
    return seed(app)


def _pdf(resp) -> bytes:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    return resp.data


def _liquid_order(app, as_role, ids) -> tuple[int, int]:
    """30 mL of the 1 mg/mL solution for a 4.5 mg dose, filled from a released batch."""
    with app.app_context(), unit_of_work() as s:
        s.scalar(
            select(IngredientLot).where(IngredientLot.lot_number == "ORA-3390")
        ).status = "released"
    oid = make_order(app, strength="1", dose="4.5", quantity=30, form="oral_solution")
    with app.app_context(), unit_of_work() as s:
        s.get(
            Order, oid
        ).prescription.directions = "Take 4.5 mL (4.5 mg) by mouth once daily at bedtime."
    tech = as_role("technician")
    resp = tech.post(
        "/batches/new",
        data={
            "formula_id": ids["sol"],
            "balance_id": ids["balance"],
            "strength_basis": "hcl",
            "order_ids": [oid],
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    bid = latest_batch(app)
    assert tech.post(f"/batches/{bid}/weights", data=weights_data(app, bid)).status_code == 302
    qc = {
        "final_volume_ml": "150",
        "appearance": "clear",
        "appearance_ok": "y",
        "units_made": "150",
    }
    assert tech.post(f"/batches/{bid}/qc", data=qc).status_code == 302
    assert as_role("pharmacist").post(f"/batches/{bid}/release").status_code == 302
    resp = tech.post(f"/batches/{bid}/dispense", data={"order_id": oid, "quantity": "30"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    final_check(as_role, oid)  # labels print only after the pharmacist's final check
    return oid, bid


def test_liquid_label_batch_label_and_worksheet_print_the_concentration_made(app, as_role, ids):
    oid, bid = _liquid_order(app, as_role, ids)
    with app.app_context():
        assert db.session.get(Batch, bid).strength_mg == D("1")
    c = as_role("staff")
    label = pdf_text(_pdf(c.post(f"/print/orders/{oid}/label")))
    assert "Naltrexone HCl 1 mg/mL oral solution" in label
    assert "Take 4.5 mL (4.5 mg) by mouth once daily at bedtime" in label
    assert "4.5 mg/mL" not in label
    pharmacist = as_role("pharmacist")
    for doc in ("label", "worksheet"):
        text = pdf_text(_pdf(pharmacist.post(f"/print/batches/{bid}/{doc}")))
        assert "1 mg/mL" in text and "4.5 mg/mL" not in text, (doc, text)
    page = pharmacist.get(f"/batches/{bid}").get_data(as_text=True)
    assert 'data-testid="batch-strength">1 mg/mL' in page


def _titration_kit_order(app, as_role, ids) -> int:
    """Ellis's plan: 1.5 mg x 14 days, 3 mg x 14 days, then 4.5 mg; one batch per strength."""
    batches = {s: released_batch(app, as_role, ids, strength=s) for s in ("1.5", "3", "4.5")}
    oid = make_order(app, strength="4.5", quantity=60, status="verified")
    with app.app_context(), unit_of_work() as s:
        order = s.get(Order, oid)
        rx = order.prescription
        for i, (mg, days) in enumerate((("1.5", 14), ("3", 14))):
            s.add(
                TitrationStep(prescription_id=rx.id, position=i + 1, strength_mg=D(mg), days=days)
            )
        user = s.scalar(select(User).where(User.username == "pharmacist"))
        # The fill from several batches is helper A's; here the rows it leaves behind.
        for strength, qty in (("1.5", 14), ("3", 14), ("4.5", 32)):
            s.add(
                Dispense(
                    order_id=oid,
                    batch_id=batches[strength],
                    quantity=D(qty),
                    unit="capsule",
                    dispensed_by_id=user.id,
                    dispensed_at=datetime.now(UTC),
                )
            )
        order.status = "ready"
    final_check(as_role, oid)  # labels print only after the pharmacist's final check
    return oid


def test_titration_kit_prints_each_strength_then_the_maintenance_dose(app, as_role, ids):
    oid = _titration_kit_order(app, as_role, ids)
    c = as_role("staff")
    text = pdf_text(
        _pdf(c.post(f"/print/orders/{oid}/titration-labels", data={"start_date": "2030-01-07"}))
    )
    assert "Step 1 of 3" in text and "Step 3 of 3" in text
    assert text.count("RPh: PH (e-signed)") == 3  # each step label: the signed final check
    for expected in (
        "Naltrexone HCl 1.5 mg capsules",
        "Take 1 capsule (1.5 mg) by mouth once daily at bedtime for 14 days",
        "Naltrexone HCl 3 mg capsules",
        "Take 1 capsule (3 mg) by mouth once daily at bedtime for 14 days",
        "Naltrexone HCl 4.5 mg capsules",
        "Take 1 capsule (4.5 mg) by mouth once daily at bedtime (maintenance dose)",
    ):
        assert expected in text, (expected, text)
    cal = pdf_text(
        _pdf(c.post(f"/print/orders/{oid}/titration-calendar", data={"start_date": "2030-01-07"}))
    )
    assert "4.5 mg" in cal and "1.5 mg" in cal


def test_titration_dispensing_label_lists_the_strengths_and_says_titration(app, as_role, ids):
    oid = _titration_kit_order(app, as_role, ids)
    with app.app_context(), unit_of_work() as s:
        s.get(Order, oid).prescription.directions = (
            "Follow the titration schedule, by mouth once daily at bedtime: days 1-14 take "
            "1 capsule (1.5 mg); days 15-28 take 1 capsule (3 mg); from day 29 take 1 capsule "
            "(4.5 mg)."
        )
    text = pdf_text(_pdf(as_role("staff").post(f"/print/orders/{oid}/label")))
    assert "Naltrexone HCl 1.5 mg, 3 mg and 4.5 mg capsules" in text
    assert "Titration" in text and "Follow the titration schedule" in text


def test_titration_leaflet_gives_the_schedule_to_the_maintenance_dose(app, as_role, ids):
    oid = _titration_kit_order(app, as_role, ids)
    with app.app_context(), unit_of_work() as s:
        rx = s.get(Order, oid).prescription
        rx.directions = "Follow the titration schedule: ...; from day 29 take 1 capsule (4.5 mg)."
        rx_id = rx.id
    text = pdf_text(_pdf(as_role("staff").post(f"/print/prescriptions/{rx_id}/leaflet")))
    assert "Naltrexone HCl 1.5 mg, 3 mg and 4.5 mg capsules" in text
    assert "from day 29 take 1 capsule (4.5 mg)" in text


def test_liquid_titration_kit_gives_ml_of_the_concentration(app, as_role, ids):
    """Issue 10: a 0.5 mg step of the 1 mg/mL solution printed as "Take 0.11 mL (0.5 mg)"."""
    oid, _bid = _liquid_order(app, as_role, ids)
    with app.app_context(), unit_of_work() as s:
        rx = s.get(Order, oid).prescription
        for i, (mg, days) in enumerate((("0.5", 7), ("1.5", 7))):
            s.add(
                TitrationStep(prescription_id=rx.id, position=i + 1, strength_mg=D(mg), days=days)
            )
    text = pdf_text(_pdf(as_role("staff").post(f"/print/orders/{oid}/titration-labels")))
    assert "Take 0.5 mL (0.5 mg) by mouth once daily at bedtime for 7 days" in text
    assert "Take 1.5 mL (1.5 mg) by mouth once daily at bedtime for 7 days" in text
    # 30 mL - 3.5 - 10.5 = 16 mL left: three 4.5 mL doses.
    assert "Take 4.5 mL (4.5 mg) by mouth once daily at bedtime (maintenance dose)" in text
    assert "Qty: 13.5 mL" in text and "0.11 mL" not in text


def test_a_titration_refill_label_gives_the_maintenance_dose_and_no_kit(app, as_role, ids):
    oid = _titration_kit_order(app, as_role, ids)
    with app.app_context(), unit_of_work() as s:
        order = s.get(Order, oid)
        order.fill_number = 2  # the patient is past the plan: this fill is maintenance
        order.prescription.directions = (
            "Follow the titration schedule, by mouth once daily at bedtime: days 1-14 take "
            "1 capsule (1.5 mg); days 15-28 take 1 capsule (3 mg); from day 29 take 1 capsule "
            "(4.5 mg)."
        )
    c = as_role("staff")
    text = pdf_text(_pdf(c.post(f"/print/orders/{oid}/label")))
    assert "Take 1 capsule (4.5 mg) by mouth once daily at bedtime." in text
    assert "titration" not in text.lower()
    resp = c.post(f"/print/orders/{oid}/titration-labels")
    assert resp.status_code == 409 and "is a refill" in resp.get_data(as_text=True)
