"""Property test: malformed values thrown at every JSON endpoint and the main forms.

For each request one field gets a hostile value (a huge or hidden-exponent number, an id beyond
32 bits, NUL and control characters, a lone surrogate, an out-of-range date, deep nesting).
The answer is never a 5xx, always a 4xx naming that field, and no row is written anywhere.
"""

from __future__ import annotations

import json
import os
import re
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import Patient, Prescriber, User
from pharmacy.services import accounts
from tests.batch_helpers import latest_batch, seed, start_form

TODAY = date.today().isoformat()

BAD = {
    "number": [
        "1E+999999999",
        "-1E+999999999",
        "1e-999999999",
        "99999999999999999999",
        "0.0000000001",
        "NaN",
        "Infinity",
        "sNaN",
        "1" + "0" * 40,
        "999999999999",
        "-999999999999",
    ],
    "int": ["99999999999", "-99999999999", "2147483648", "1E+9", "9" * 50],
    "id": ["2147483648", "99999999999999999999", "-2147483649"],
    "date": ["9999-12-31", "0001-01-01", "1899-12-31", "2200-01-01", "99999-01-01"],
    "text": ["a\x00b", "\x00", "x\x01y", "line\x1bnext", "z" * 25_000],
}
# JSON adds values a form cannot carry: raw numbers, a lone surrogate, deep nesting.
JSON_EXTRA = {
    "number": ["1E+999999999", "-1e999999999", "99999999999999999999999", "NaN", "Infinity"],
    "int": ["99999999999", "1e999999999"],
    "id": ["2147483648", "99999999999999999999"],
    "text": ['"\\ud800"', '"a\\u0000b"'],
    "any": ["[" * 5000 + "]" * 5000, '{"a":' * 100 + "1" + "}" * 100],
}


def _forms(ids) -> list[tuple[str, str, dict, dict]]:
    """(path, role, valid base data, {field: kind}) for the main forms."""
    return [
        (
            "/patients/new",
            "pharmacist",
            {
                "first_name": "Ann",
                "last_name": "Fuzz",
                "date_of_birth": "1970-01-01",
                "sex": "F",
                "liver_disease": "none",
            },
            {
                "first_name": "text",
                "last_name": "text",
                "date_of_birth": "date",
                "phone": "text",
                "address": "text",
                "allergies": "text",
                "medications": "text",
            },
        ),
        (
            "/prescribers/new",
            "pharmacist",
            {"first_name": "Pat", "last_name": "Fuzz", "credentials": "MD", "npi": "1234567893"},
            {
                "first_name": "text",
                "last_name": "text",
                "credentials": "text",
                "npi": "text",
                "phone": "text",
                "address": "text",
            },
        ),
        (
            "/prescriptions/new",
            "pharmacist",
            {
                "patient_id": str(ids["patient"]),
                "prescriber_id": str(ids["prescriber"]),
                "date_written": TODAY,
                "dosage_form": "capsule",
                "strength_mg": "4.5",
                "strength_basis": "hcl",
                "quantity": "30",
                "doses_per_day": "1",
                "refills_authorized": "0",
                "promised_on": TODAY,
                "directions": "Take one",
            },
            {
                "patient_id": "id",
                "prescriber_id": "id",
                "date_written": "date",
                "strength_mg": "number",
                "quantity": "number",
                "doses_per_day": "int",
                "refills_authorized": "int",
                "directions": "text",
                "indication": "text",
                "icd10_code": "text",
                "promised_on": "date",
                "titration": "text",
            },
        ),
        (
            "/inventory/lots/new",
            "pharmacist",
            {
                "ingredient_id": str(ids["ingredient"]),
                "lot_number": "FZ-1",
                "supplier": "S",
                "manufacturer": "M",
                "expiry": "2030-01-31",
                "quantity": "100",
                "unit": "g",
                "assay_percent": "99.5",
                "assay_basis": "as_is",
            },
            {
                "ingredient_id": "id",
                "lot_number": "text",
                "supplier": "text",
                "manufacturer": "text",
                "expiry": "date",
                "quantity": "number",
                "assay_percent": "number",
                "water_percent": "number",
            },
        ),
        (
            "/equipment/balances/new",
            "pharmacist",
            {
                "name": "Fuzz balance",
                "readability_mg": "0.1",
                "mwq_mg": "100",
                "calibration_due": "2030-01-01",
                "active": "y",
            },
            {
                "name": "text",
                "readability_mg": "number",
                "mwq_mg": "number",
                "calibration_due": "date",
                "notes": "text",
            },
        ),
        (
            "/batches/new",
            "pharmacist",
            {
                "formula_id": str(ids["cap"]),
                "strength_mg": "4.5",
                "strength_basis": "hcl",
                "quantity": "100",
                "balance_id": str(ids["balance"]),
            },
            {
                "formula_id": "id",
                "strength_mg": "number",
                "quantity": "number",
                "balance_id": "id",
                "override_reason": "text",
            },
        ),
        (
            "/formulas/new",
            "pharmacist",
            {
                "code": "FZ-CAP",
                "name": "Fuzz capsules",
                "dosage_form": "capsule",
                "strength_min_mg": "0.5",
                "strength_max_mg": "4.5",
                "capsule_size": "1",
                "packing_stat_mg": "150",
                "overage_percent": "1",
                "active_id": str(ids["ingredient"]),
                "filler_id": str(ids["filler"]),
                "shell_id": str(ids["shell"]),
                "vehicle_id": "0",
                "bud_category": "other_nonaqueous",
                "storage": "Room temperature",
                "container": "Bottle",
                "method": "Mix",
                "weight_tolerance_percent": "10",
                "qc_sample_size": "10",
            },
            {
                "code": "text",
                "name": "text",
                "strength_min_mg": "number",
                "strength_max_mg": "number",
                "concentration_mg_per_ml": "number",
                "packing_stat_mg": "number",
                "overage_percent": "number",
                "bud_days_override": "int",
                "qc_sample_size": "int",
                "weight_tolerance_percent": "number",
                "method": "text",
                "active_id": "id",
            },
        ),
        (
            "/admin/users/new",
            "admin",
            {
                "username": "fuzzer",
                "full_name": "Fuzz User",
                "initials": "FU",
                "password": "a-Strong-passphrase-42",
                "roles": "staff",
            },
            {"username": "text", "full_name": "text", "initials": "text"},
        ),
    ]


def _json_endpoints(ids) -> list[tuple[str, dict, dict]]:
    capsules = {
        "strength_mg": "4.5",
        "quantity": "100",
        "capsule_size": "1",
        "filler": {"name": "MCC", "fill_mg_per_capsule": "300"},
        "api_lot": {"assay_percent": "99.5"},
        "compounded_on": TODAY,
    }
    return [
        (
            "/api/v1/lots",
            {
                "ingredient_id": ids["ingredient"],
                "lot_number": "FZ-2",
                "supplier": "S",
                "manufacturer": "M",
                "expiry": "2030-01-31",
                "quantity": "100",
                "unit": "g",
                "assay_percent": "99.5",
                "assay_basis": "as_is",
            },
            {
                "ingredient_id": "id",
                "lot_number": "text",
                "supplier": "text",
                "expiry": "date",
                "quantity": "number",
                "assay_percent": "number",
                "water_percent": "number",
            },
        ),
        (
            "/api/v1/batches",
            {
                "formula_id": ids["cap"],
                "balance_id": ids["balance"],
                "strength_mg": "4.5",
                "quantity": "100",
            },
            {
                "formula_id": "id",
                "balance_id": "id",
                "strength_mg": "number",
                "quantity": "number",
                "override_reason": "text",
            },
        ),
        (
            "/api/v1/calculations/capsules",
            capsules,
            {
                "strength_mg": "number",
                "quantity": "number",
                "overage_percent": "number",
                "compounded_on": "date",
                "bud_days": "int",
            },
        ),
        (
            "/api/v1/calculations/weight-check",
            {"fill_target_mg": "200", "shell_mg": "96", "gross_weights_mg": ["296"] * 10},
            {"fill_target_mg": "number", "shell_mg": "number", "tolerance_percent": "number"},
        ),
        (
            "/api/v1/screening",
            {"patient": {"medications": []}, "prescription": {"strength_mg": "4.5"}},
            {"patient": "any", "prescription": "any"},
        ),
        (
            f"/api/v1/lots/{ids['lot']}/decision",
            {"status": "released", "reason": "ok"},
            {"reason": "text"},
        ),
    ]


QUERIES = [
    ("/orders/", {"q": "text", "before": "int"}),
    ("/orders/queue", {"after": "int", "status": "text"}),
    ("/patients/", {"q": "text"}),
    ("/prescriptions/new", {"patient_id": "id", "q": "text"}),
    ("/inventory/", {"days": "int"}),
    ("/inventory/ingredients", {"page": "int"}),
    ("/equipment/balances", {"page": "int"}),
    ("/calculator/", {"formula_id": "id"}),
    ("/batches/new", {"order_id": "id", "formula_id": "id"}),
    ("/admin/audit", {"since": "date", "until": "date", "before": "int", "entity_id": "text"}),
    ("/api/v1/orders", {"q": "text", "before": "int"}),
]


def _edge_only_endpoints(ids) -> list[tuple[str, dict, dict]]:
    """Endpoints whose record state decides before the numbers' meaning does (a batch that
    is not at that step answers 409): here only values the edge itself refuses are thrown."""
    b = ids["batch"]
    return [
        (f"/api/v1/batches/{b}/weights", {"weights": []}, {"weights": "any"}),
        (
            f"/api/v1/batches/{b}/qc",
            {"appearance": "ok", "appearance_ok": True, "units_made": 100},
            {
                "shell_mg": "number",
                "final_volume_ml": "number",
                "units_made": "int",
                "notes": "text",
                "appearance": "text",
                "gross_weights_mg": "any",
            },
        ),
        (f"/api/v1/batches/{b}/reject", {"reason": "spilled"}, {"reason": "text"}),
        (
            f"/api/v1/batches/{b}/dispense",
            {"order_id": 1, "quantity": "30"},
            {"order_id": "id", "quantity": "number", "bud_short_reason": "text"},
        ),
        (
            "/api/v1/calculations/liquids",
            {
                "concentration_mg_per_ml": "1",
                "volume_ml": "100",
                "bud_category": "x",
                "compounded_on": TODAY,
            },
            {
                "concentration_mg_per_ml": "number",
                "volume_ml": "number",
                "compounded_on": "date",
                "bud_days": "int",
            },
        ),
    ]


IN_RANGE = {"999999999999", "-999999999999"}  # pass the edge; only the rules refuse them


def _row_counts() -> dict:
    return {
        t.name: db.session.scalar(select(func.count()).select_from(t))
        for t in db.metadata.sorted_tables
    }


@pytest.fixture
def fuzz_env(app, pharmacy, as_role):
    ids = seed(app)
    with app.app_context(), unit_of_work() as s:
        ids["patient"] = s.scalar(select(Patient.id).limit(1))
        ids["prescriber"] = s.scalar(select(Prescriber.id).limit(1))
        from pharmacy.models import Ingredient, IngredientLot

        ids["ingredient"] = s.scalar(
            select(Ingredient.id).where(Ingredient.name.like("Naltrexone%"))
        )
        ids["lot"] = s.scalar(select(IngredientLot.id).limit(1))
        ids["filler"] = s.scalar(select(Ingredient.id).where(Ingredient.kind == "filler"))
        ids["shell"] = s.scalar(select(Ingredient.id).where(Ingredient.kind == "capsule_shell"))
        user = s.scalar(select(User).where(User.username == "pharmacist"))
        token = accounts.create_api_token(s, user, user, "fuzz")
    clients = {"pharmacist": as_role("pharmacist"), "admin": as_role("admin")}
    assert clients["pharmacist"].post("/batches/new", data=start_form(ids)).status_code == 302
    ids["batch"] = latest_batch(app)
    return app, ids, clients, token


def _shown_errors(resp) -> list[str]:
    text = resp.get_data(as_text=True)
    return re.findall(r'data-field-error="[^"]*">[^<]*|form-error">[^<]*|"field":[^}]*', text)


def _names_field(resp, field: str) -> bool:
    if resp.is_json:
        return any(
            (e.get("field") or "").startswith(field) or (e.get("field") or "") == "body"
            for e in resp.get_json()["errors"]
        )
    return f'data-field-error="{field}"' in resp.get_data(as_text=True)


@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_hostile_values_never_crash_and_never_write(fuzz_env, data):
    app, ids, clients, token = fuzz_env
    with app.app_context():
        before = _row_counts()
    if data.draw(st.booleans(), label="json"):
        edge_only = data.draw(st.booleans(), label="edge_only")
        endpoints = _edge_only_endpoints(ids) if edge_only else _json_endpoints(ids)
        path, base, fields = data.draw(st.sampled_from(endpoints), label="endpoint")
        field = data.draw(st.sampled_from(sorted(fields)), label="field")
        kind = fields[field]
        bad = [v for v in BAD.get(kind, []) if not (edge_only and v in IN_RANGE)]
        choices = [json.dumps(v) for v in bad] + JSON_EXTRA.get(kind, [])
        choices += JSON_EXTRA["any"]
        raw_value = data.draw(st.sampled_from(choices), label="value")
        body = json.dumps({**base, field: "__X__"}).replace('"__X__"', raw_value)
        resp = clients["pharmacist"].post(
            path,
            data=body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
            csrf=False,
        )
    else:
        path, role, base, fields = data.draw(st.sampled_from(_forms(ids)), label="form")
        field = data.draw(st.sampled_from(sorted(fields)), label="field")
        value = data.draw(st.sampled_from(BAD[fields[field]]), label="value")
        resp = clients[role].post(path, data={**base, field: value})
    assert resp.status_code < 500, resp.get_data(as_text=True)[:500]
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.get_data(as_text=True)[:800])
    assert _names_field(resp, field), _shown_errors(resp)
    with app.app_context():
        assert _row_counts() == before


@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")) // 2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_hostile_query_strings_never_crash(fuzz_env, data):
    app, _ids, clients, token = fuzz_env
    path, fields = data.draw(st.sampled_from(QUERIES), label="page")
    field = data.draw(st.sampled_from(sorted(fields)), label="parameter")
    value = data.draw(st.sampled_from(BAD[fields[field]]), label="value")
    role = "admin" if path.startswith("/admin") else "pharmacist"
    headers = {"Authorization": f"Bearer {token}"} if path.startswith("/api/") else {}
    resp = clients[role].get(path, query_string={field: value}, headers=headers)
    assert resp.status_code < 500, resp.get_data(as_text=True)[:500]
    if resp.status_code >= 400:
        assert _names_field(resp, field), _shown_errors(resp)
