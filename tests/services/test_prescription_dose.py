"""Intake and verification take a dose, a frequency and the product strength (issue 10 items 1
and 2): liquids are measured in mL of the concentration made, titration steps must be
deliverable with strengths that are made, and nothing is written when they are not."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from pharmacy.database import unit_of_work
from pharmacy.domain.errors import ValidationFailed
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Formula, Order, Prescription, TitrationStep
from pharmacy.services import orders, prescriptions
from pharmacy.services.prescription_dose import fill_supply, maintenance_directions
from tests.rx_helpers import make_patient, make_prescriber, rx_input
from tests.support import signoff

StepInput = prescriptions.StepInput


def _formula(session, user, code, form, **kw) -> Formula:
    values = dict(
        code=code,
        version=1,
        name=code,
        dosage_form=form,
        strength_min_mg=D("0.5"),
        strength_max_mg=D("4.5"),
        overage_percent=D("0"),
        bud_category="preserved_aqueous" if form != "capsule" else "other_nonaqueous",
        storage="room temperature",
        container="bottle",
        method="mix",
        weight_tolerance_percent=D("10"),
        status="approved",
        created_by_id=user.id,
    )
    values.update(kw)
    formula = Formula(**values)
    session.add(formula)
    session.flush()
    return formula


@pytest.fixture
def setup(ctx):
    with unit_of_work() as s:
        p = make_patient(s, ctx["pharmacist"], medications="")
        doc = make_prescriber(s, ctx["pharmacist"])
        sol = _formula(s, ctx["pharmacist"], "SOL", "oral_solution", concentration_mg_per_ml=D("1"))
        cap = _formula(s, ctx["pharmacist"], "CAP", "capsule")
    return ctx, p.id, doc.id, sol.id, cap.id


def _enter(ctx, pid, did, **kw) -> Prescription:
    with unit_of_work() as s:
        rx = prescriptions.enter_prescription(s, ctx["staff"], rx_input(pid, did, **kw))
    return db.session.get(Prescription, rx.id)


def _refused(ctx, pid, did, **kw) -> dict[str, str]:
    counts = [db.session.scalar(select(func.count()).select_from(m)) for m in (Prescription, Order)]
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        prescriptions.enter_prescription(s, ctx["staff"], rx_input(pid, did, **kw))
    db.session.rollback()
    assert [
        db.session.scalar(select(func.count()).select_from(m)) for m in (Prescription, Order)
    ] == counts
    return {e.field: e.message for e in exc.value.errors}


def test_liquid_is_its_formulas_concentration_and_the_sig_is_in_ml(setup):
    ctx, pid, did, sol, _cap = setup
    rx = _enter(
        ctx,
        pid,
        did,
        dosage_form="oral_solution",
        formula_id=sol,
        strength_mg=None,
        dose_mg=D("4.5"),
        quantity=D("150"),
    )
    assert (rx.strength_mg, rx.dose_mg, rx.quantity_unit) == (D("1"), D("4.5"), "mL")
    assert rx.strength_text == "1 mg/mL"
    assert rx.directions == "Take 4.5 mL (4.5 mg) by mouth once daily at bedtime."
    created = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "prescription.create")
    )
    assert created.new["dose_mg"] == "4.5" and created.new["strength_mg"] == "1"


def test_liquid_titration_volumes_are_ml_of_the_concentration(setup):
    ctx, pid, did, sol, _cap = setup
    rx = _enter(
        ctx,
        pid,
        did,
        dosage_form="oral_solution",
        formula_id=sol,
        strength_mg=None,
        dose_mg=D("1.5"),
        quantity=D("100"),
        titration=[StepInput(D("0.5"), 7), StepInput(D("1"), 7)],
    )
    assert rx.directions == (
        "Follow the titration schedule, by mouth once daily at bedtime: days 1-7 take "
        "0.5 mL (0.5 mg); days 8-14 take 1 mL (1 mg); from day 15 take 1.5 mL (1.5 mg)."
    )


def test_a_concentration_other_than_the_formulas_is_refused(setup):
    ctx, pid, did, sol, _cap = setup
    errors = _refused(
        ctx,
        pid,
        did,
        dosage_form="oral_solution",
        formula_id=sol,
        strength_mg=D("4.5"),
        dose_mg=D("4.5"),
        quantity=D("150"),
    )
    assert errors == {"strength_mg": "SOL v1 is made at 1 mg/mL, not 4.5 mg/mL"}


def test_a_liquid_needs_its_dose_and_its_concentration(setup):
    ctx, pid, did, _sol, _cap = setup
    errors = _refused(ctx, pid, did, dosage_form="oral_solution", strength_mg=D("1"))
    assert set(errors) == {"dose_mg"}
    errors = _refused(ctx, pid, did, dosage_form="oral_solution", strength_mg=None, dose_mg=D("3"))
    assert "give the concentration in mg/mL" in errors["strength_mg"]


def test_a_dose_no_oral_syringe_measures_is_refused_at_intake(setup):
    ctx, pid, did, _sol, _cap = setup
    errors = _refused(
        ctx,
        pid,
        did,
        dosage_form="oral_solution",
        strength_mg=D("4.5"),
        dose_mg=D("0.25"),
        quantity=D("50"),
    )
    assert "less than an oral syringe measures" in errors["dose_mg"]


def test_capsules_are_whole_and_within_the_formula(setup):
    ctx, pid, did, _sol, cap = setup
    rx = _enter(ctx, pid, did, strength_mg=D("1.5"), dose_mg=D("4.5"), quantity=D("90"))
    assert rx.directions == "Take 3 capsules (4.5 mg) by mouth once daily at bedtime."
    assert rx.strength_text == "1.5 mg"
    errors = _refused(ctx, pid, did, strength_mg=D("2"), dose_mg=D("4.5"))
    assert errors["dose_mg"].startswith("4.5 mg is not a whole number of 2 mg capsules")
    errors = _refused(ctx, pid, did, formula_id=cap, strength_mg=D("5"), dose_mg=D("5"))
    assert errors == {"strength_mg": "CAP v1 makes capsules of 0.5 mg–4.5 mg, not 5 mg"}


def test_titration_step_that_cannot_be_made_is_refused_by_its_field(setup):
    ctx, pid, did, _sol, cap = setup
    errors = _refused(
        ctx,
        pid,
        did,
        formula_id=cap,
        strength_mg=D("4.5"),
        quantity=D("60"),
        titration=[StepInput(D("0.25"), 7), StepInput(D("3"), 7)],
    )
    assert list(errors) == ["titration[0].strength_mg"]
    assert "CAP v1 makes capsules of 0.5–4.5 mg only" in errors["titration[0].strength_mg"]


def test_the_first_fill_must_hold_the_titration_plan(setup):
    ctx, pid, did, _sol, _cap = setup
    errors = _refused(
        ctx,
        pid,
        did,
        quantity=D("20"),
        titration=[StepInput(D("1.5"), 14), StepInput(D("3"), 7)],
    )
    assert errors == {
        "quantity": "the titration plan needs 21 capsules (14 capsules of 1.5 mg, 7 capsules "
        "of 3 mg); the quantity is 20 capsules"
    }


def test_titration_steps_are_saved_with_their_dose(setup):
    ctx, pid, did, _sol, cap = setup
    rx = _enter(
        ctx,
        pid,
        did,
        formula_id=cap,
        quantity=D("60"),
        titration=[StepInput(D("1.5"), 14), StepInput(D("3"), 14)],
    )
    assert [(s.strength_mg, s.days) for s in rx.titration_steps] == [(D("1.5"), 14), (D("3"), 14)]
    assert "take 1 capsule (1.5 mg)" in rx.directions and rx.is_titration


def test_verification_refuses_a_dose_the_product_no_longer_gives(setup):
    ctx, pid, did, sol, _cap = setup
    rx = _enter(
        ctx,
        pid,
        did,
        dosage_form="oral_solution",
        formula_id=sol,
        strength_mg=None,
        dose_mg=D("4.5"),
        quantity=D("150"),
    )
    rx_id = rx.id
    with unit_of_work() as s:  # the formula is changed to a stronger solution after intake
        s.get(Formula, sol).concentration_mg_per_ml = D("4")
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        prescriptions.verify(s, ctx["pharmacist"], s.get(Prescription, rx_id), sign=signoff())
    db.session.rollback()
    assert [e.field for e in exc.value.errors] == ["strength_mg"]
    assert "is made at 4 mg/mL, not 1 mg/mL" in exc.value.errors[0].message
    rx = db.session.get(Prescription, rx_id)
    assert rx.status == "entered" and rx.verified_at is None


def test_verification_refuses_a_titration_step_the_formula_no_longer_makes(setup):
    ctx, pid, did, _sol, cap = setup
    rx = _enter(
        ctx,
        pid,
        did,
        formula_id=cap,
        quantity=D("60"),
        titration=[StepInput(D("1.5"), 14), StepInput(D("3"), 14)],
    )
    rx_id = rx.id
    with unit_of_work() as s:
        s.get(Formula, cap).strength_min_mg = D("2")
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        prescriptions.verify(s, ctx["pharmacist"], s.get(Prescription, rx_id), sign=signoff())
    db.session.rollback()
    assert [e.field for e in exc.value.errors] == ["titration[0].strength_mg"]
    assert db.session.get(Prescription, rx_id).status == "entered"
    assert db.session.scalar(select(func.count()).select_from(TitrationStep)) == 2


def test_a_titration_refill_continues_the_maintenance_dose(setup):
    ctx, pid, did, _sol, cap = setup
    rx = _enter(
        ctx,
        pid,
        did,
        formula_id=cap,
        quantity=D("60"),
        refills_authorized=2,
        titration=[StepInput(D("1.5"), 14), StepInput(D("3"), 14)],
        extra_directions="Swallow whole",
    )
    assert rx.directions.endswith("from day 29 take 1 capsule (4.5 mg). Swallow whole.")
    assert maintenance_directions(rx) == (
        "Take 1 capsule (4.5 mg) by mouth once daily at bedtime. Swallow whole."
    )
    rx_id = rx.id
    with unit_of_work() as s:
        rx = s.get(Prescription, rx_id)
        prescriptions.verify(s, ctx["pharmacist"], rx, sign=signoff())
        refill = orders.create_refill(s, ctx["staff"], rx)
        refill_id = refill.id
    first, refill = db.session.get(Prescription, rx_id).orders
    assert (first.is_titration, refill.is_titration) == (True, False)
    rows = {r.id: r for r in orders.queue(db.session, "received")[0]}
    rows.update({r.id: r for r in orders.queue(db.session, "verified")[0]})
    assert (bool(rows[first.id].is_titration), bool(rows[refill_id].is_titration)) == (True, False)
    assert rows[first.id].medicine == "4.5 mg capsule, 4.5 mg a dose"


def test_fill_supply_gives_units_per_strength_for_one_batch_each(setup):
    ctx, pid, did, _sol, cap = setup
    rx = _enter(
        ctx,
        pid,
        did,
        formula_id=cap,
        quantity=D("60"),
        titration=[StepInput(D("1.5"), 14), StepInput(D("3"), 14)],
    )
    assert fill_supply(D("60"), rx, titration=True) == {
        D("1.5"): D("14"),
        D("3"): D("14"),
        D("4.5"): D("32"),
    }
    assert fill_supply(D("60"), rx, titration=False) == {D("4.5"): D("60")}
