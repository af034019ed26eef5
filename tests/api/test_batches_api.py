"""The write path of lots and batches through the JSON API only, on SQLite and PostgreSQL:
receive and release a lot, start a batch for a verified order, weights, QC, release by a
second pharmacist, dispense, and the trace from the lot back to the patient. Bad input is
refused with the field named (422), a state that does not allow it (409) or a role (403),
and nothing is written."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from pharmacy.extensions import db
from pharmacy.models import (
    AuditEvent,
    Batch,
    BatchLotUsage,
    Dispense,
    Ingredient,
    IngredientLot,
    Order,
    QcResult,
)
from tests.batch_helpers import TODAY, make_order, seed

LOTS = "/api/v1/lots"
BATCHES = "/api/v1/batches"
PASSING_QC = {
    "appearance": "White opaque capsules, uniform",
    "appearance_ok": True,
    "units_made": 100,
    "gross_weights_mg": ["296"] * 10,
    "shell_mg": "96",
}


@pytest.fixture
def ids(app, pharmacy):
    return seed(app)


def _naltrexone(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Ingredient.id).where(Ingredient.name.like("Naltrexone%")))


def _counts(app) -> dict:
    with app.app_context():
        s = db.session
        return {
            m.__name__: s.scalar(select(func.count()).select_from(m))
            for m in (IngredientLot, Batch, BatchLotUsage, QcResult, Dispense, AuditEvent)
        }


def _errors(resp) -> dict:
    return {e["field"]: e["message"] for e in resp.get_json()["errors"]}


def _start(client, ids, **over):
    body = {
        "formula_id": ids["cap"],
        "balance_id": ids["balance"],
        "strength_mg": "4.5",
        "strength_basis": "hcl",
        "quantity": 100,
    }
    body.update(over)
    resp = client.post(BATCHES, json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _weights(batch: dict, balance_id: int, **actual_by_role) -> dict:
    return {
        "weights": [
            {
                "usage_id": u["id"],
                "actual": actual_by_role.get(u["role"], u["planned_quantity"]),
                "balance_id": balance_id if u["unit"] in ("mg", "g") else None,
            }
            for u in batch["lot_usages"]
        ]
    }


def _weighed_and_checked(client, ids, batch: dict) -> dict:
    bid = batch["id"]
    resp = client.post(f"{BATCHES}/{bid}/weights", json=_weights(batch, ids["balance"]))
    assert resp.status_code == 200, resp.get_json()
    resp = client.post(f"{BATCHES}/{bid}/qc", json=PASSING_QC)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["batch"]["status"] == "awaiting_check"
    return resp.get_json()["batch"]


# --- the full path ------------------------------------------------------------------------------


def test_full_path_from_lot_receipt_to_the_patient(app, api, ids):
    tech, pharmacist, checker = api("technician"), api("pharmacist"), api("checker")
    order_id = make_order(app, strength="4.5", quantity=100, doses_per_day=4)

    # Receive a naltrexone lot in g (counted in mg); it starts quarantined.
    expiry = TODAY + timedelta(days=30)  # earlier than the demo lot: FEFO picks it
    resp = tech.post(
        LOTS,
        json={
            "ingredient_id": _naltrexone(app),
            "lot_number": "NTX-API-77",
            "supplier": "Medisca",
            "manufacturer": "Mallinckrodt",
            "expiry": expiry.isoformat(),
            "quantity": "5",
            "unit": "g",
            "assay_percent": 99.8,
            "assay_basis": "as_is",
        },
    )
    assert resp.status_code == 201, resp.get_json()
    lot = resp.get_json()
    lot_id = lot["id"]
    assert resp.headers["Location"].endswith(f"/api/v1/lots/{lot_id}")
    assert (lot["status"], lot["unit"], lot["quantity_received"]) == ("quarantined", "mg", "5000")
    assert lot["assay_percent"] == "99.8"
    assert lot["stock"]["on_hand"] == "5000" and lot["usable"] is False
    assert "quarantined" in lot["unusable_because"][0]

    # Only a pharmacist releases it.
    decision = {"status": "released", "reason": "CoA checked against the specification"}
    assert tech.post(f"{LOTS}/{lot_id}/decision", json=decision).status_code == 403
    resp = pharmacist.post(f"{LOTS}/{lot_id}/decision", json=decision)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "released" and resp.get_json()["usable"] is True

    # A technician starts a batch for the verified order: strength and quantity from it.
    resp = tech.post(
        BATCHES,
        json={"formula_id": ids["cap"], "balance_id": ids["balance"], "order_ids": [order_id]},
    )
    assert resp.status_code == 201, resp.get_json()
    batch = resp.get_json()
    bid = batch["id"]
    assert resp.headers["Location"].endswith(f"/api/v1/batches/{bid}")
    assert batch["batch_number"] == f"{TODAY:%Y%m%d}-LDNCAP-001"
    assert (batch["status"], batch["strength_mg"], batch["units_planned"]) == (
        "in_progress",
        "4.5",
        100,
    )
    assert batch["order_ids"] == [order_id]
    usages = {u["role"]: u for u in batch["lot_usages"]}
    assert usages["active"]["lot_id"] == lot_id and usages["active"]["chosen_by_fefo"] is True
    assert usages["active"]["actual_quantity"] is None
    assert batch["beyond_use_date"] == expiry.isoformat()  # capped by the lot used
    assert batch["qc_sample_size"] == 10 and batch["qc"] is None
    assert tech.get(f"/api/v1/orders/{order_id}").get_json()["status"] == "in_compounding"
    # The plan already counts against the lot's stock.
    on_hand = tech.get(f"{LOTS}/{lot_id}").get_json()["stock"]["on_hand"]
    assert D(on_hand) == 5000 - D(usages["active"]["planned_quantity"])

    # Weights (as planned, on the batch's balance), then a passing QC.
    resp = tech.post(f"{BATCHES}/{bid}/weights", json=_weights(batch, ids["balance"]))
    assert resp.status_code == 200, resp.get_json()
    weighed = {u["role"]: u for u in resp.get_json()["lot_usages"]}
    assert weighed["active"]["actual_quantity"] == usages["active"]["planned_quantity"]
    assert weighed["active"]["deviation_percent"] == "0"
    resp = tech.post(f"{BATCHES}/{bid}/qc", json=PASSING_QC)
    assert resp.status_code == 201, resp.get_json()
    qc = resp.get_json()
    assert qc["passed"] is True and qc["kind"] == "capsule_weights"
    assert qc["batch"]["status"] == "awaiting_check"
    assert qc["data"]["weight_check"]["passed"] is True

    # Released by a pharmacist who did not make it.
    assert tech.post(f"{BATCHES}/{bid}/release", json={}).status_code == 403
    resp = checker.post(f"{BATCHES}/{bid}/release", json={"reason": "record reviewed"})
    assert resp.status_code == 200, resp.get_json()
    released = resp.get_json()
    assert (released["status"], released["units_remaining"]) == ("released", 100)
    assert released["decision_reason"] == "record reviewed"

    # Dispensed to the order, which becomes ready.
    resp = tech.post(f"{BATCHES}/{bid}/dispense", json={"order_id": order_id, "quantity": 100})
    assert resp.status_code == 201, resp.get_json()
    given = resp.get_json()
    assert (given["quantity"], given["unit"], given["order_id"]) == ("100", "capsule", order_id)
    assert given["order"]["status"] == "ready"
    assert given["batch"]["units_remaining"] == 0

    # The lot traces to the batch and the patient who received it.
    trace = tech.get(f"{LOTS}/{lot_id}/trace").get_json()
    assert [b["batch_number"] for b in trace["batches"]] == [batch["batch_number"]]
    (who,) = trace["recipients"]
    assert (who["order_id"], who["quantity"]) == (order_id, "100")
    assert who["patient"] and who["patient_phone"] and who["prescriber_npi"]
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert who["patient"] == order.prescription.patient.full_name
    trace = tech.get(f"{BATCHES}/{bid}/trace").get_json()
    assert lot_id in [lt["lot_id"] for lt in trace["lots"]]

    shown = tech.get(f"{BATCHES}/{bid}").get_json()
    assert shown["status"] == "released" and shown["units_remaining"] == 0
    assert [d["order_id"] for d in shown["dispenses"]] == [order_id]
    assert shown["qc"]["passed"] is True and len(shown["qc_results"]) == 1


# --- bad input: 422 naming the field, nothing written -------------------------------------------


def test_a_lot_receipt_with_bad_fields_is_refused(app, api, ids):
    tech = api("technician")
    before = _counts(app)
    resp = tech.post(
        LOTS,
        json={
            "ingredient_id": _naltrexone(app),
            "lot_number": "NTX-BAD",
            "supplier": "Medisca",
            "manufacturer": "",
            "expiry": (TODAY - timedelta(days=1)).isoformat(),
            "quantity": "0",
            "unit": "g",
        },
    )
    assert resp.status_code == 422
    errors = _errors(resp)
    assert {"manufacturer", "expiry", "quantity", "assay_percent"} <= set(errors)
    assert "expired" in errors["expiry"]
    resp = tech.post(LOTS, json={"ingredient_id": True, "quantity": [1]})
    assert resp.status_code == 422
    assert {"ingredient_id", "quantity"} <= set(_errors(resp))
    assert _counts(app) == before


def test_a_zero_weight_is_refused(app, api, ids):
    tech = api("technician")
    batch = _start(tech, ids)
    before = _counts(app)
    resp = tech.post(
        f"{BATCHES}/{batch['id']}/weights", json=_weights(batch, ids["balance"], active="0")
    )
    assert resp.status_code == 422
    errors = _errors(resp)
    roles = [u["role"] for u in batch["lot_usages"]]
    assert errors == {f"weights[{roles.index('active')}].actual": "must be more than zero"}
    # Negative, and a line left out: named too.
    body = _weights(batch, ids["balance"], filler="-5")
    body["weights"] = [w for w in body["weights"] if w["usage_id"] != batch["lot_usages"][0]["id"]]
    resp = tech.post(f"{BATCHES}/{batch['id']}/weights", json=body)
    assert resp.status_code == 422
    assert "weights" in _errors(resp)
    assert any(f.endswith(".actual") for f in _errors(resp))
    assert _counts(app) == before
    shown = tech.get(f"{BATCHES}/{batch['id']}").get_json()
    assert all(u["actual_quantity"] is None for u in shown["lot_usages"])


def test_a_deviation_beyond_tolerance_needs_a_reason(app, api, ids):
    tech = api("technician")
    batch = _start(tech, ids)
    roles = [u["role"] for u in batch["lot_usages"]]
    planned = {u["role"]: u["planned_quantity"] for u in batch["lot_usages"]}
    high = str(round(float(planned["active"]) * 1.2, 2))
    body = _weights(batch, ids["balance"], active=high)
    resp = tech.post(f"{BATCHES}/{batch['id']}/weights", json=body)
    assert resp.status_code == 422
    field = f"weights[{roles.index('active')}].deviation_reason"
    assert "explain the deviation" in _errors(resp)[field]
    body["weights"][roles.index("active")]["deviation_reason"] = "spatula residue re-weighed"
    assert tech.post(f"{BATCHES}/{batch['id']}/weights", json=body).status_code == 200


def test_a_qc_sample_of_the_wrong_size_is_refused(app, api, ids):
    tech = api("technician")
    batch = _start(tech, ids)
    resp = tech.post(f"{BATCHES}/{batch['id']}/weights", json=_weights(batch, ids["balance"]))
    assert resp.status_code == 200
    before = _counts(app)
    resp = tech.post(
        f"{BATCHES}/{batch['id']}/qc", json={**PASSING_QC, "gross_weights_mg": ["296"] * 9}
    )
    assert resp.status_code == 422
    assert "weigh exactly 10 capsules" in _errors(resp)["gross_weights_mg"]
    resp = tech.post(f"{BATCHES}/{batch['id']}/qc", json={**PASSING_QC, "shell_mg": "heavy"})
    assert resp.status_code == 422 and "shell_mg" in _errors(resp)
    assert _counts(app) == before
    assert tech.get(f"{BATCHES}/{batch['id']}").get_json()["status"] == "in_progress"


def test_a_batch_of_an_unknown_formula_is_refused(app, api, ids):
    tech = api("technician")
    before = _counts(app)
    resp = tech.post(
        BATCHES,
        json={
            "formula_id": 99999,
            "balance_id": ids["balance"],
            "strength_mg": "4.5",
            "quantity": 100,
        },
    )
    assert resp.status_code == 422
    assert list(_errors(resp)) == ["formula_id"]
    resp = tech.post(
        BATCHES,
        json={"formula_id": ids["cap"], "balance_id": ids["balance"], "strength_mg": "4.55555"},
    )
    assert resp.status_code == 422 and "strength_mg" in _errors(resp)
    resp = tech.post(BATCHES, json={**{"formula_id": ids["cap"]}, "colour": "blue"})
    assert resp.status_code == 422 and "colour" in _errors(resp)
    assert _counts(app) == before


# --- 409: not allowed in this state; 403: not this role ----------------------------------------


def test_release_before_qc_is_refused(app, api, ids):
    pharmacist = api("pharmacist")
    batch = _start(api("technician"), ids)
    before = _counts(app)
    resp = pharmacist.post(f"{BATCHES}/{batch['id']}/release", json={})
    assert resp.status_code == 409
    assert "in progress" in resp.get_json()["errors"][0]["message"]
    assert _counts(app) == before


def test_the_compounder_cannot_release_their_own_batch(app, api, ids):
    pharmacist, checker = api("pharmacist"), api("checker")
    batch = _weighed_and_checked(pharmacist, ids, _start(pharmacist, ids))
    before = _counts(app)
    resp = pharmacist.post(f"{BATCHES}/{batch['id']}/release")  # no body: no note
    assert resp.status_code == 409
    assert "another pharmacist" in resp.get_json()["errors"][0]["message"]
    assert _counts(app) == before
    assert pharmacist.get(f"{BATCHES}/{batch['id']}").get_json()["status"] == "awaiting_check"
    resp = checker.post(f"{BATCHES}/{batch['id']}/release")
    assert resp.status_code == 200 and resp.get_json()["status"] == "released"


def test_dispensing_from_an_unreleased_batch_is_refused(app, api, ids):
    tech = api("technician")
    order_id = make_order(app, strength="4.5", quantity=100)
    batch = _weighed_and_checked(tech, ids, _start(tech, ids, order_ids=[order_id]))
    before = _counts(app)
    resp = tech.post(
        f"{BATCHES}/{batch['id']}/dispense", json={"order_id": order_id, "quantity": 100}
    )
    assert resp.status_code == 409
    assert "only a released batch" in resp.get_json()["errors"][0]["message"]
    assert _counts(app) == before
    assert tech.get(f"/api/v1/orders/{order_id}").get_json()["status"] == "quality_check"


def test_dispensing_more_than_the_batch_holds_is_refused(app, api, ids):
    tech = api("technician")
    order_id = make_order(app, strength="4.5", quantity=100)
    batch = _weighed_and_checked(tech, ids, _start(tech, ids, order_ids=[order_id]))
    api("checker").post(f"{BATCHES}/{batch['id']}/release")
    before = _counts(app)
    url = f"{BATCHES}/{batch['id']}/dispense"
    resp = tech.post(url, json={"order_id": order_id, "quantity": 101})
    assert resp.status_code == 422 and "holds 100" in _errors(resp)["quantity"]
    resp = tech.post(url, json={"order_id": order_id, "quantity": "1.5"})
    assert resp.status_code == 422 and "whole number" in _errors(resp)["quantity"]
    resp = tech.post(url, json={"quantity": 1})
    assert resp.status_code == 422 and "order_id" in _errors(resp)
    assert _counts(app) == before


def test_rejecting_a_checked_batch_needs_a_pharmacist_and_a_reason(app, api, ids):
    tech, pharmacist = api("technician"), api("pharmacist")
    batch = _weighed_and_checked(tech, ids, _start(tech, ids))
    url = f"{BATCHES}/{batch['id']}/reject"
    before = _counts(app)
    assert tech.post(url, json={"reason": "wrong colour"}).status_code == 409
    resp = pharmacist.post(url, json={})
    assert resp.status_code == 422 and "reason" in _errors(resp)
    assert _counts(app) == before
    resp = pharmacist.post(url, json={"reason": "capsules dented"})
    assert resp.status_code == 200
    assert (resp.get_json()["status"], resp.get_json()["decision_reason"]) == (
        "rejected",
        "capsules dented",
    )


def test_staff_cannot_start_a_batch(app, api, ids):
    order_id = make_order(app)
    staff = api("staff")
    before = _counts(app)
    resp = staff.post(
        BATCHES,
        json={"formula_id": ids["cap"], "balance_id": ids["balance"], "order_ids": [order_id]},
    )
    assert resp.status_code == 403
    assert staff.post(LOTS, json={}).status_code == 403
    assert staff.get(f"{BATCHES}/1").status_code == 403
    assert _counts(app) == before


def test_unknown_ids_are_404_json(app, api, ids):
    pharmacist = api("pharmacist")
    for method, url in [
        ("get", f"{BATCHES}/99999"),
        ("get", f"{LOTS}/99999"),
        ("post", f"{BATCHES}/99999/qc"),
        ("post", f"{BATCHES}/99999/dispense"),
        ("post", f"{LOTS}/99999/decision"),
        ("get", f"{LOTS}/99999999999/trace"),
    ]:
        resp = getattr(pharmacist, method)(url)
        assert resp.status_code == 404, url
        assert resp.get_json()["errors"][0]["message"]


def test_api_weight_sign_off_and_qc_correction_over_the_api(app, api, ids):
    tech, rph = api("technician"), api("pharmacist")
    batch = _start(tech, ids)
    assert batch["api_tolerance_percent"] == "5" and batch["weight_tolerance_percent"] == "10"
    body = _weights(batch, ids["balance"], active="435.00")  # planned 458.08: -5.04 %
    roles = [u["role"] for u in batch["lot_usages"]]
    body["weights"][roles.index("active")]["deviation_reason"] = "ran short of powder"
    resp = tech.post(f"{BATCHES}/{batch['id']}/weights", json=body)
    assert resp.status_code == 200
    held = resp.get_json()["held_for_api_sign_off"]
    assert held == [batch["lot_usages"][roles.index("active")]["id"]]
    resp = tech.post(f"{BATCHES}/{batch['id']}/qc", json=PASSING_QC)
    assert resp.status_code == 409
    assert (
        tech.post(f"{BATCHES}/{batch['id']}/api-sign-off", json={"reason": "x"}).status_code == 403
    )
    resp = rph.post(f"{BATCHES}/{batch['id']}/api-sign-off", json={"reason": ""})
    assert resp.status_code == 422 and "reason" in _errors(resp)
    resp = rph.post(f"{BATCHES}/{batch['id']}/api-sign-off", json={"reason": "fewer capsules"})
    assert resp.status_code == 200
    out = resp.get_json()
    # 435 / 458.08 = 0.9496: 102 capsules to make become 96, so 96 are planned
    assert out["held_for_api_sign_off"] == []
    assert out["planned_output"]["capsules_to_make"] == 96 and out["units_planned"] == 96
    assert out["recalculations"][0]["reason"] == "fewer capsules"

    qc = {**PASSING_QC, "units_made": 96, "gross_weights_mg": ["296"] * 9 + ["29.6"]}
    resp = tech.post(f"{BATCHES}/{batch['id']}/qc", json=qc)
    assert resp.status_code == 201 and resp.get_json()["passed"] is False
    assert resp.get_json()["batch"]["status"] == "in_progress"
    fix = {"what": "gross_mg", "number": 10, "value": "296", "reason": "decimal point slipped"}
    resp = tech.post(f"{BATCHES}/{batch['id']}/qc/corrections", json={**fix, "reason": ""})
    assert resp.status_code == 422 and "reason" in _errors(resp)
    resp = tech.post(f"{BATCHES}/{batch['id']}/qc/corrections", json=fix)
    assert resp.status_code == 201
    out = resp.get_json()
    assert out["passed"] is True and out["data"]["correction"]["old"] == "29.6"
    assert out["batch"]["status"] == "awaiting_check" and len(out["batch"]["qc_results"]) == 2
