"""The calculator page shows the same working the API returns, and names bad fields."""

import re
from datetime import date

import pytest
from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.demo import load_demo
from pharmacy.extensions import db
from pharmacy.models import Balance, Formula, IngredientLot
from tests.support import FAST_HASHER, form_error


@pytest.fixture
def ids(app, pharmacy):
    with app.app_context():
        with unit_of_work() as s:
            load_demo(s, FAST_HASHER)
        return {
            "cap": db.session.scalar(select(Formula.id).where(Formula.code == "LDN-CAP")),
            "sol": db.session.scalar(select(Formula.id).where(Formula.code == "LDN-SOL")),
            "lot": db.session.scalar(
                select(IngredientLot.id).where(IngredientLot.lot_number == "NTX-25002")
            ),
            "balance": db.session.scalar(select(Balance.id)),
        }


def result(html, key):
    m = re.search(rf'data-result="{key}">([^<]*)<', html)
    return m.group(1).strip() if m else None


def test_capsule_working_from_the_formula_lot_and_balance(app, as_role, ids):
    c = as_role("technician")
    assert c.get("/calculator/").status_code == 200
    resp = c.post(
        "/calculator/",
        data={
            "formula_id": ids["cap"],
            "kind": "capsules",
            "strength_mg": "1.5",
            "strength_basis": "hcl",
            "quantity": "30",
            "lot_id": ids["lot"],
            "balance_id": ids["balance"],
            "compounded_on": date.today().isoformat(),
            "assay_basis": "as_is",
            "liquid_source": "api",
            "capsule_size": "",
            "bud_category": "",
        },
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html
    # n = 30 + ceil(30 x 2%) = 31; A = 1.5 x 31 / 1.002 = 46.4071... -> 46.41 mg
    assert result(html, "capsules_to_make") == "31"
    assert result(html, "api_mg") == "46.41 mg"
    assert "weigh 139.22 mg API" in result(html, "aliquot")  # round(3 x 46.4071...)
    assert "Aliquot multiple m" in html
    # The lot NTX-25002 expires in 45 days, earlier than 180 days: it limits the BUD.
    assert "NTX-25002" in result(html, "bud")


def test_liquid_working(app, as_role, ids):
    c = as_role("pharmacist")
    resp = c.post(
        "/calculator/",
        data={
            "formula_id": ids["sol"],
            "kind": "liquid",
            "volume_ml": "30",
            "lot_id": ids["lot"],
            "balance_id": ids["balance"],
            "compounded_on": date.today().isoformat(),
            "strength_basis": "hcl",
            "assay_basis": "as_is",
            "liquid_source": "api",
            "capsule_size": "",
            "bud_category": "",
        },
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html
    assert result(html, "dispense_volume_ml") == "30 mL" or result(
        html, "dispense_volume_ml"
    ).startswith("30")


def test_bad_input_is_named_next_to_the_field(app, as_role, ids):
    c = as_role("technician")
    resp = c.post(
        "/calculator/",
        data={
            "formula_id": ids["cap"],
            "kind": "capsules",
            "strength_mg": "9",
            "quantity": "-3",
            "lot_id": ids["lot"],
            "balance_id": ids["balance"],
            "compounded_on": date.today().isoformat(),
            "strength_basis": "hcl",
            "assay_basis": "as_is",
            "liquid_source": "api",
            "capsule_size": "",
            "bud_category": "",
        },
    )
    assert resp.status_code == 422
    assert "6.0" in form_error(resp, "strength_mg")
    assert form_error(resp, "quantity") is not None


def test_a_liquid_formula_is_not_used_for_capsules(app, as_role, ids):
    c = as_role("technician")
    resp = c.post(
        "/calculator/",
        data={
            "formula_id": ids["sol"],
            "kind": "capsules",
            "strength_mg": "3",
            "quantity": "30",
            "lot_id": ids["lot"],
            "compounded_on": date.today().isoformat(),
            "strength_basis": "hcl",
            "assay_basis": "as_is",
            "liquid_source": "api",
            "capsule_size": "",
            "bud_category": "",
            "balance_id": 0,
        },
    )
    assert resp.status_code == 422
    assert "oral solution formula" in resp.get_data(as_text=True)
