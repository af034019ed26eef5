"""Each root cause of a 500 found by probing, as a regression test: a 4xx naming the field."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from pharmacy.database import unit_of_work
from pharmacy.domain import bounds
from pharmacy.domain.errors import ValidationFailed
from pharmacy.extensions import db
from pharmacy.models import IngredientLot, Patient, User
from pharmacy.services import accounts
from tests.batch_helpers import seed


@pytest.fixture
def env(app, pharmacy, as_role):
    ids = seed(app)
    with app.app_context(), unit_of_work() as s:
        user = s.scalar(select(User).where(User.username == "pharmacist"))
        token = accounts.create_api_token(s, user, user, "edge")
    return ids, as_role("pharmacist"), {"Authorization": f"Bearer {token}"}


def _fields(resp) -> set[str]:
    return {e["field"] for e in resp.get_json()["errors"]}


def test_bounds_checks_are_instant_on_hostile_numbers():
    start = time.perf_counter()
    assert bounds.decimal_problem(Decimal("1E+999999999"))
    assert bounds.decimal_problem(Decimal("-1e-999999999"))
    assert bounds.decimal_problem(Decimal("1" + "0" * 100_000))
    assert bounds.decimal_problem(Decimal("4.50000000000000")) is None
    assert time.perf_counter() - start < 1


@pytest.mark.parametrize("raw", ['"1E+999999999"', "1E+999999999", '"-1e999999999"'])
def test_huge_exponent_quantity_is_refused_at_once(app, env, raw):
    ids, client, auth = env
    body = f'{{"formula_id": {ids["cap"]}, "balance_id": {ids["balance"]}, "quantity": {raw}}}'
    start = time.perf_counter()
    resp = client.post(
        "/api/v1/batches", data=body, content_type="application/json", headers=auth, csrf=False
    )
    assert time.perf_counter() - start < 5
    assert resp.status_code == 422
    assert "quantity" in _fields(resp)


def test_deeply_nested_json_is_a_422_not_a_recursion_error(app, env):
    _ids, client, auth = env
    for body in ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", '{"a":' * 50 + "1" + "}" * 50):
        resp = client.post(
            "/api/v1/screening",
            data=body,
            content_type="application/json",
            headers=auth,
            csrf=False,
        )
        assert resp.status_code == 422
        assert resp.get_json()["errors"][0]["message"].startswith("is nested too deeply")


def test_nul_and_lone_surrogates_in_json_strings(app, env):
    ids, client, auth = env
    for bad in ('"FZ\\u0000"', '"\\ud800"'):
        body = f'{{"ingredient_id": 1, "lot_number": {bad}}}'
        resp = client.post(
            "/api/v1/lots", data=body, content_type="application/json", headers=auth, csrf=False
        )
        assert resp.status_code == 422
        assert "lot_number" in _fields(resp)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(IngredientLot)) == len(
            ids["lots"]
        )


def test_nul_in_a_form_field_names_it_and_writes_nothing(app, env):
    _ids, client, _auth = env
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Patient))
    resp = client.post(
        "/patients/new",
        data={
            "first_name": "A\x00n",
            "last_name": "Nul",
            "date_of_birth": "1970-01-01",
            "sex": "female",
        },
    )
    assert resp.status_code == 422
    assert 'data-field-error="first_name"' in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Patient)) == before


@pytest.mark.parametrize(
    "url",
    [
        "/prescriptions/new?patient_id=99999999999",
        "/orders/?before=99999999999999",
        "/calculator/?formula_id=2147483648",
        "/batches/new?order_id=99999999999",
    ],
)
def test_ids_beyond_32_bits_in_query_strings(env, url):
    _ids, client, _auth = env
    resp = client.get(url)
    assert resp.status_code == 422
    name = url.split("?")[1].split("=")[0]
    assert f'data-field-error="{name}"' in resp.get_data(as_text=True)


def test_ids_beyond_32_bits_in_json_and_forms(env):
    ids, client, auth = env
    resp = client.post("/api/v1/batches", json={"formula_id": 2**31}, headers=auth)
    assert resp.status_code == 422 and "formula_id" in _fields(resp)
    resp = client.post("/inventory/lots/new", data={"ingredient_id": "99999999999999999999"})
    assert resp.status_code == 422
    assert 'data-field-error="ingredient_id"' in resp.get_data(as_text=True)


@pytest.mark.parametrize("day", ["9999-12-31", "1899-12-31", "2200-01-01"])
def test_dates_outside_1900_to_2199(env, day):
    ids, client, _auth = env
    resp = client.post(
        "/inventory/lots/new",
        data={
            "ingredient_id": "1",
            "lot_number": "D-1",
            "supplier": "S",
            "manufacturer": "M",
            "expiry": day,
            "quantity": "10",
            "unit": "g",
            "assay_percent": "99",
        },
    )
    assert resp.status_code == 422
    assert 'data-field-error="expiry"' in resp.get_data(as_text=True)
    resp = client.post(
        "/patients/new", data={"first_name": "A", "last_name": "B", "date_of_birth": day}
    )
    assert resp.status_code in (400, 422)
    assert 'data-field-error="date_of_birth"' in resp.get_data(as_text=True)


def test_database_backstop_refuses_what_a_column_cannot_hold(app, pharmacy):
    with app.app_context():
        with pytest.raises(ValidationFailed) as caught, unit_of_work() as s:
            user = s.get(User, pharmacy["staff"])
            user.full_name = "x" * 500
            user.initials = "A\x00"
        assert {e.field for e in caught.value.errors} == {"full_name", "initials"}
        assert db.session.get(User, pharmacy["staff"]).full_name == "Staff User"


def test_whole_number_parameters_out_of_range_are_named(env):
    _ids, client, _auth = env
    resp = client.get("/inventory/ingredients?page=99999999999999")
    assert resp.status_code == 422
    assert 'data-field-error="page"' in resp.get_data(as_text=True)
    assert client.get("/inventory/ingredients?page=abc").status_code == 200  # as before


def test_prescription_quantity_and_strength_have_sane_maximums(app, env):
    from datetime import timedelta

    assert date.today() + timedelta(days=1)  # keep import use obvious
    from pharmacy.domain.prescription_rules import validate_entry

    with pytest.raises(ValidationFailed) as caught:
        validate_entry(
            date_written=date.today(),
            today=date.today(),
            quantity=Decimal("999999999999"),
            strength_mg=Decimal("99999"),
            refills_authorised=0,
        )
    assert {e.field for e in caught.value.errors} == {"quantity", "strength_mg"}
