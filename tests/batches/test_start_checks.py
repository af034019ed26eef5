"""Batch start against the prescriptions it is for: a liquid's strength is its formula's
concentration, the basis (HCl or base) reaches the engine, the API lot's recorded salt form
and molecular weight are used, and excipient allergies are screened when the formula is
chosen only now."""

from decimal import Decimal as D

import pytest
from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import Batch, Ingredient, IngredientLot, Order, Patient
from tests.batch_helpers import latest_batch, make_order, seed, start_form
from tests.support import form_error


@pytest.fixture
def ids(app, pharmacy):
    ids = seed(app)
    with app.app_context(), unit_of_work() as s:
        lot = s.scalar(select(IngredientLot).where(IngredientLot.lot_number == "ORA-3390"))
        lot.status = "released"
    return ids


def _liquid(ids, **over):
    data = {"formula_id": ids["sol"], "balance_id": ids["balance"], "strength_basis": "hcl"}
    data.update(over)
    return data


def test_a_liquid_order_for_another_concentration_is_refused(app, as_role, ids):
    # "4.5" as the strength of an oral solution is a dose, not the 1 mg/mL that LDN-SOL makes.
    order = make_order(app, strength="4.5", quantity=30, form="oral_solution")
    tech = as_role("technician")
    resp = tech.post("/batches/new", data=_liquid(ids, order_ids=[order]))
    assert resp.status_code == 422
    assert "is for 4.5 mg/mL; LDN-SOL makes 1 mg/mL" in form_error(resp, "order_ids")
    resp = tech.post("/batches/new", data=_liquid(ids, strength_mg="4.5", quantity="30"))
    assert resp.status_code == 422
    assert "LDN-SOL makes 1 mg/mL, not 4.5 mg/mL" in form_error(resp, "strength_mg")
    with app.app_context():
        assert db.session.scalar(select(Batch.id)) is None


def test_a_liquid_batch_takes_the_formulas_concentration_as_its_strength(app, as_role, ids):
    tech = as_role("technician")
    assert tech.post("/batches/new", data=_liquid(ids, quantity="30")).status_code == 302
    with app.app_context():
        b = db.session.get(Batch, latest_batch(app))
        assert (b.strength_mg, b.strength_basis, b.unit) == (D("1"), "hcl", "mL")


def test_a_base_concentration_reaches_the_engine(app, as_role, ids):
    order = make_order(app, strength="1", quantity=30, form="oral_solution", basis="base")
    tech = as_role("technician")
    resp = tech.post("/batches/new", data=_liquid(ids, strength_basis="base", order_ids=[order]))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with app.app_context():
        b = db.session.get(Batch, latest_batch(app))
        r = b.calculation["result"]
        # 1 mg/mL base = 1 x 377.86 / 341.40 = 1.1068 mg/mL naltrexone HCl
        assert D(r["concentration_salt_mg_per_ml"]).quantize(D("0.0001")) == D("1.1068")
        # 33.20 mg HCl for 30 mL / 1.002, below the 120 mg MWQ: 4 x 30 mL, 132.55 mg
        assert (r["multiple"], r["api_mg"]) == (4, "132.55")
        assert b.strength_basis == "base"


def test_a_base_powder_is_weighed_as_base(app, as_role, ids):
    with app.app_context(), unit_of_work() as s:
        api = s.scalar(select(Ingredient).where(Ingredient.name.like("Naltrexone%")))
        api.salt_form, api.molecular_weight = "base", D("341.40")
    tech = as_role("technician")
    assert tech.post("/batches/new", data=start_form(ids)).status_code == 302
    with app.app_context():
        r = db.session.get(Batch, latest_batch(app)).calculation["result"]
        # 4.5 mg HCl x 102 capsules x 341.40 / 377.86 / 1.002 = 413.88 mg of base (HCl: 458.08)
        assert r["api_mg"] == "413.88"
        assert any("(the lot is the base)" in st["formula"] for st in r["steps"])


def test_an_excipient_allergy_is_screened_when_the_formula_is_chosen_at_batch_start(
    app, as_role, ids
):
    order = make_order(app, quantity=100)
    with app.app_context(), unit_of_work() as s:
        patient = s.get(Order, order).prescription.patient
        patient.allergies = "Microcrystalline cellulose (rash)"
        patient_id = patient.id
    tech, rph = as_role("technician"), as_role("pharmacist")
    form = start_form(ids, strength_mg=None, quantity=None, order_ids=[order])
    resp = tech.post("/batches/new", data=form)
    assert resp.status_code == 422
    assert "Microcrystalline cellulose" in form_error(resp, "allergy_override")
    resp = tech.post("/batches/new", data={**form, "allergy_override": "patient says fine"})
    assert resp.status_code == 422
    assert "Only a pharmacist" in form_error(resp, "allergy_override")
    resp = rph.post(
        "/batches/new", data={**form, "allergy_override": "rash was to a dye; MCC tolerated"}
    )
    assert resp.status_code == 302
    with app.app_context():
        b = db.session.get(Batch, latest_batch(app))
        request = b.calculation["request"]
        assert request["allergy_override"] == "rash was to a dye; MCC tolerated"
        assert request["allergy_findings"][0]["patient_id"] == patient_id
        assert db.session.get(Patient, patient_id).allergies.startswith("Microcrystalline")
