"""Weighing controls on the batch pages: the API's own tolerance and the pharmacist's sign-off,
aliquot lines, the balance's minimum weighable quantity, API potency acceptance, QC sample,
liquid final volume and the correction of a mistyped QC figure. SQLite and PostgreSQL."""

import importlib.util
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy import select, text

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Batch, IngredientLot, QcResult
from pharmacy.services import inventory
from tests.batch_helpers import latest_batch, make_order, passing_weights, seed, start_form
from tests.batch_helpers import weights_data as plan_weights
from tests.support import form_error


@pytest.fixture
def ids(app, pharmacy):
    return seed(app)


def _start(app, c, ids, **over):
    resp = c.post("/batches/new", data=start_form(ids, **over))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return latest_batch(app)


def _lines(app, bid):
    with app.app_context():
        b = db.session.get(Batch, bid)
        return {u.role: u.id for u in b.lot_usages}


def _actions(app, entity, entity_id):
    with app.app_context():
        return [
            e.action
            for e in db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id))
                .order_by(AuditEvent.id)
            )
        ]


QC = {"shell_mg": "96", "appearance": "uniform white", "appearance_ok": "y", "units_made": "100"}


def test_an_api_weight_outside_5_percent_stops_the_batch_until_a_pharmacist_signs_off(
    app, as_role, ids
):
    tech, rph = as_role("technician"), as_role("pharmacist")
    bid = _start(app, tech, ids)
    lines = _lines(app, bid)
    data = plan_weights(app, bid)
    data[f"actual_{lines['active']}"] = "490.15"  # planned 458.08: +7 % (fill tolerance is 10 %)
    resp = tech.post(f"/batches/{bid}/weights", data=data)
    assert resp.status_code == 422
    assert "tolerance ±5%" in form_error(resp, f"reason_{lines['active']}")
    data[f"reason_{lines['active']}"] = "powder clumped; over-weighed"
    assert tech.post(f"/batches/{bid}/weights", data=data).status_code == 302

    page = tech.get(f"/batches/{bid}").get_data(as_text=True)
    assert 'data-testid="api-hold"' in page and "490.15 mg" in page
    resp = tech.post(f"/batches/{bid}/qc", data={**QC, "weights": passing_weights()})
    assert resp.status_code == 409 and "pharmacist must sign it off" in resp.get_data(as_text=True)
    assert tech.post(f"/batches/{bid}/api-sign-off", data={"reason": "ok"}).status_code == 403
    rph.post(f"/batches/{bid}/api-sign-off", data={"reason": ""})
    with app.app_context():
        assert db.session.get(Batch, bid).calculation.get("recalculations") is None

    resp = rph.post(f"/batches/{bid}/api-sign-off", data={"reason": "scale up the filler"})
    assert resp.status_code == 302
    with app.app_context():
        b = db.session.get(Batch, bid)
        active = next(u for u in b.lot_usages if u.role == "active")
        filler = next(u for u in b.lot_usages if u.role == "filler")
        shell = next(u for u in b.lot_usages if u.role == "capsule_shell")
        assert active.sign_off_reason == "scale up the filler"
        assert active.signed_off_by.username == "pharmacist"
        # 490.15 / 458.08 = 1.0700...: filler 19941.92 mg and 102 shells scale with it
        recalc = b.calculation["recalculations"][0]
        assert recalc["ratio"] == "1.0700" and recalc["capsules_to_make"] == 109
        assert filler.planned_quantity == D("21338.0459")
        assert shell.planned_quantity == D("109")
        assert b.units_planned == 100
    assert _actions(app, "batch", bid)[-1] == "batch.api_sign_off"
    page = tech.get(f"/batches/{bid}").get_data(as_text=True)
    assert 'data-testid="api-hold"' not in page and 'data-testid="recalculation"' in page

    data = plan_weights(app, bid, reasons={"active": "powder clumped; over-weighed"})
    data[f"actual_{lines['active']}"] = "490.15"
    assert tech.post(f"/batches/{bid}/weights", data=data).status_code == 302
    resp = tech.post(f"/batches/{bid}/qc", data={**QC, "weights": passing_weights()})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(Batch, bid).status == "awaiting_check"


def test_an_aliquot_is_weighed_as_separate_lines_and_takes_stock_once(app, as_role, ids):
    tech = as_role("technician")
    lot_id = ids["lots"]["NTX-25002"]
    with app.app_context():
        before = inventory.lot_stocks(db.session, [lot_id])[lot_id].on_hand
    bid = _start(app, tech, ids, strength_mg="0.5")
    with app.app_context():
        b = db.session.get(Batch, bid)
        al = b.calculation["result"]["aliquot"]
        assert [(u.role, u.planned_quantity, u.unit) for u in b.lot_usages] == [
            ("active", D(al["stock_api_mg"]), "mg"),
            ("diluent", D(al["diluent_mg"]), "mg"),
            ("aliquot", D(al["aliquot_mg"]), "mg"),
            ("filler", D(b.calculation["result"]["filler_mg"]), "mg"),
            ("capsule_shell", D("102"), "each"),
        ]
        assert al["aliquot_mg"] == "120.00"
        after = inventory.lot_stocks(db.session, [lot_id])[lot_id].on_hand
        assert before - after == D(al["stock_api_mg"])  # the aliquot taken is not counted again
        # The lot's running stock agrees (it once subtracted the aliquot a second time).
        lot = db.session.get(IngredientLot, lot_id)
        db.session.refresh(lot)
        assert lot.on_hand == after
        assert inventory.verify_running_stock(db.session) == []
    page = tech.get(f"/batches/{bid}/weights").get_data(as_text=True)
    assert "aliquot taken from the stock" in page and "aliquot: diluent for the stock" in page

    lines = _lines(app, bid)
    data = plan_weights(app, bid)
    data[f"actual_{lines['aliquot']}"] = "119.5"  # 0.4 % off the plan, but below the 120 mg MWQ
    resp = tech.post(f"/batches/{bid}/weights", data=data)
    assert resp.status_code == 422
    assert "below the minimum weighable quantity" in form_error(resp, f"actual_{lines['aliquot']}")
    with app.app_context():
        assert all(u.actual_quantity is None for u in db.session.get(Batch, bid).lot_usages)
    data = plan_weights(app, bid)
    assert tech.post(f"/batches/{bid}/weights", data=data).status_code == 302
    with app.app_context():
        after = inventory.lot_stocks(db.session, [lot_id])[lot_id].on_hand
        assert before - after == D(al["stock_api_mg"])


def test_an_api_lot_outside_98_to_102_percent_needs_a_pharmacists_acceptance(app, as_role, ids):
    lot_id = ids["lots"]["NTX-25002"]
    with app.app_context(), unit_of_work() as s:
        s.get(IngredientLot, lot_id).assay_percent = D("97.5")
    tech, rph = as_role("technician"), as_role("pharmacist")
    resp = tech.post("/batches/new", data=start_form(ids))
    assert resp.status_code == 422
    assert "assays 97.5 %" in form_error(resp, "potency_acceptance")
    resp = tech.post("/batches/new", data=start_form(ids, potency_acceptance="fine"))
    assert resp.status_code == 422
    assert "only a pharmacist" in form_error(resp, "potency_acceptance")
    with app.app_context():
        assert db.session.scalar(select(Batch.id)) is None

    bid = _start(app, rph, ids, potency_acceptance="CoA retest 99.1 %, QA memo 12")
    with app.app_context():
        lot = db.session.get(IngredientLot, lot_id)
        assert lot.potency_acceptance == "CoA retest 99.1 %, QA memo 12"
        assert lot.potency_accepted_by_id is not None
        b = db.session.get(Batch, bid)
        assert b.calculation["lots"][0]["potency_accepted"] == lot.potency_acceptance
    assert _actions(app, "ingredient_lot", lot_id)[-1] == "lot.potency_accept"
    # Accepted once for the lot: the next batch goes ahead.
    _start(app, tech, ids)


def test_a_mistyped_qc_weight_is_corrected_with_the_old_value_kept(app, as_role, ids):
    tech = as_role("technician")
    bid = _start(app, tech, ids)
    assert tech.post(f"/batches/{bid}/weights", data=plan_weights(app, bid)).status_code == 302
    weights = "\n".join(["296"] * 9 + ["397"])  # capsule 10 was 297 mg
    assert tech.post(f"/batches/{bid}/qc", data={**QC, "weights": weights}).status_code == 302
    page = tech.get(f"/batches/{bid}").get_data(as_text=True)
    assert 'data-testid="qc-failed"' in page

    resp = tech.post(
        f"/batches/{bid}/qc/correct",
        data={"what": "gross_mg", "number": "10", "value": "297", "reason": ""},
    )
    with app.app_context():
        assert db.session.get(Batch, bid).status == "in_progress"
    resp = tech.post(
        f"/batches/{bid}/qc/correct",
        data={"what": "gross_mg", "number": "10", "value": "297", "reason": "typed 397 for 297"},
    )
    assert resp.status_code == 302
    with app.app_context():
        b = db.session.get(Batch, bid)
        assert b.status == "awaiting_check"
        old, new = db.session.scalars(select(QcResult).order_by(QcResult.id)).all()
        assert old.passed is False and old.data["weight_check"]["units"][9]["gross_mg"] == "397"
        assert new.passed is True and new.data["weight_check"]["units"][9]["gross_mg"] == "297"
        assert new.data["correction"] == {
            "what": "gross_mg",
            "number": 10,
            "old": "397",
            "new": "297",
            "reason": "typed 397 for 297",
        }
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "batch.qc_correction")
        ).one()
        assert event.reason == "typed 397 for 297"
    assert "typed 397 for 297" in tech.get(f"/batches/{bid}").get_data(as_text=True)


def test_a_liquid_final_volume_must_be_within_5_percent(app, as_role, ids):
    with app.app_context(), unit_of_work() as s:
        lot = s.scalar(select(IngredientLot).where(IngredientLot.lot_number == "ORA-3390"))
        lot.status = "released"
    order = make_order(app, strength="1", quantity=30, form="oral_solution")
    tech = as_role("technician")
    data = {
        "formula_id": ids["sol"],
        "balance_id": ids["balance"],
        "strength_basis": "hcl",
        "order_ids": [order],
    }
    assert tech.post("/batches/new", data=data).status_code == 302
    bid = latest_batch(app)
    assert tech.post(f"/batches/{bid}/weights", data=plan_weights(app, bid)).status_code == 302
    # prepared 150 mL: 141 mL is 6 % short (the formula's 10 % weight tolerance does not apply)
    qc = {
        "final_volume_ml": "141",
        "appearance": "clear",
        "appearance_ok": "y",
        "units_made": "141",
    }
    assert tech.post(f"/batches/{bid}/qc", data=qc).status_code == 302
    with app.app_context():
        b = db.session.get(Batch, bid)
        check = b.latest_qc.data["volume_check"]
        assert (b.latest_qc.passed, check["tolerance_percent"]) == (False, "5")
        assert b.status == "in_progress"
    resp = tech.post(
        f"/batches/{bid}/qc/correct",
        data={"what": "final_volume_ml", "value": "149", "reason": "read the wrong graduation"},
    )
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(Batch, bid).status == "awaiting_check"


def test_a_small_batch_checks_every_capsule(app, as_role, ids):
    tech = as_role("technician")
    bid = _start(app, tech, ids, quantity="6")
    assert tech.post(f"/batches/{bid}/weights", data=plan_weights(app, bid)).status_code == 302
    qc = {**QC, "units_made": "7", "weights": passing_weights(10)}
    resp = tech.post(f"/batches/{bid}/qc", data=qc)
    assert resp.status_code == 422 and "weigh exactly 7 capsules" in form_error(resp, "weights")
    resp = tech.post(f"/batches/{bid}/qc", data={**qc, "weights": passing_weights(7)})
    assert resp.status_code == 302


def test_the_worksheet_names_the_aliquot_lines(app, as_role, ids):
    from pharmacy.services import documents

    bid = _start(app, as_role("technician"), ids, strength_mg="0.5")
    with app.app_context():
        sheet = documents.worksheet(db.session, db.session.get(Batch, bid))
        names = [lot.component for lot in sheet.lots]
    assert names[1].endswith("(aliquot: diluent)")
    assert names[2].endswith("(aliquot taken from the stock)")


def test_a_pharmacist_accepts_a_lots_potency_on_the_lot_page_before_any_batch(app, as_role, ids):
    lot_id = ids["lots"]["NTX-25002"]
    with app.app_context(), unit_of_work() as s:
        s.get(IngredientLot, lot_id).assay_percent = D("102.6")
    tech, rph = as_role("technician"), as_role("pharmacist")
    page = tech.get(f"/inventory/lots/{lot_id}").get_data(as_text=True)
    assert "Potency 102.6 % (anhydrous basis)" in page and "accept-potency" not in page
    assert (
        tech.post(f"/batches/lots/{lot_id}/accept-potency", data={"reason": "x"}).status_code == 403
    )
    rph.post(f"/batches/lots/{lot_id}/accept-potency", data={"reason": ""})
    with app.app_context():
        assert db.session.get(IngredientLot, lot_id).potency_accepted_at is None
    resp = rph.post(
        f"/batches/lots/{lot_id}/accept-potency", data={"reason": "supplier retest 101.8 %"}
    )
    assert resp.status_code == 302
    assert "Accepted" in tech.get(f"/inventory/lots/{lot_id}").get_data(as_text=True)
    _start(app, tech, ids)  # no acceptance asked at batch start any more
    assert _actions(app, "ingredient_lot", lot_id)[-1] == "lot.potency_accept"


def test_potency_acceptance_over_the_api(app, ids):
    from pharmacy.models import User
    from pharmacy.services import accounts
    from tests.api.conftest import ApiClient

    lot_id = ids["lots"]["NTX-24117"]
    with app.app_context(), unit_of_work() as s:
        s.get(IngredientLot, lot_id).assay_percent = D("97")
        user = s.scalar(select(User).where(User.username == "pharmacist"))
        token = accounts.create_api_token(s, user, user, "tests")
    client = ApiClient(app.test_client(), token)
    url = f"/api/v1/lots/{lot_id}/potency-acceptance"
    resp = client.post(url, json={"reason": ""})
    assert resp.status_code == 422 and resp.get_json()["errors"][0]["field"] == "reason"
    resp = client.post(url, json={"reason": "USP allows 97.0-103.0 % for this salt lot"})
    assert resp.status_code == 200
    assert resp.get_json()["potency_acceptance"].startswith("USP allows")


def _migration(name: str):
    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_migration_0019_sums_the_running_stock_again_without_the_aliquot(app, as_role, ids):
    """0012 filled the running stock subtracting aliquot lines too: a lot that had fed an
    aliquot batch showed less than it holds. 0019 sums it as verify_running_stock does."""
    bid = _start(app, as_role("technician"), ids, strength_mg="0.5")
    lot_id = ids["lots"]["NTX-25002"]
    with app.app_context():
        aliquot = db.session.get(Batch, bid).calculation["result"]["aliquot"]["aliquot_mg"]
        right = db.session.get(IngredientLot, lot_id).on_hand
        db.session.rollback()
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text(_migration("0012_lookup_and_audit_indexes").RUNNING_STOCK_SQL))
    with app.app_context():
        assert db.session.get(IngredientLot, lot_id).on_hand == right - D(aliquot)
        assert [m.lot_id for m in inventory.verify_running_stock(db.session)] == [lot_id]
        db.session.rollback()
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text(_migration("0019_running_stock_without_aliquots").RUNNING_STOCK_SQL))
    with app.app_context():
        assert db.session.get(IngredientLot, lot_id).on_hand == right
        assert inventory.verify_running_stock(db.session) == []
        db.session.rollback()


def test_a_bulk_resum_of_the_running_stock_leaves_out_the_aliquot(app, as_role, ids):
    """The bench loader and its undo sum the running stock in bulk, the same way."""
    _start(app, as_role("technician"), ids, strength_mg="0.5")
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE ingredient_lot SET on_hand = 0"))
            inventory.resum_running_stock(conn)
        assert inventory.verify_running_stock(db.session) == []
        db.session.rollback()
