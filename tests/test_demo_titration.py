"""The demo data's own prescriptions, driven end to end through the pages by the demo's staff:
Ellis's titration (one batch per step strength, filled from three batches, checked, labelled,
scanned, counselled, handed out) and Fernandez's 1 mg/mL oral solution."""

from __future__ import annotations

import io
from decimal import Decimal as D

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from pharmacy.demo import DEMO_PASSWORD
from pharmacy.extensions import db
from pharmacy.models import (
    Batch,
    Dispense,
    FinalCheck,
    Handout,
    IngredientLot,
    LabelScan,
    Order,
)
from tests.batch_helpers import latest_batch, passing_weights, weights_data
from tests.support import login


@pytest.fixture(autouse=True)
def _sign_as_demo_staff(monkeypatch):
    """The demo's staff sign with their own password, not the test users' one."""
    import tests.support

    monkeypatch.setattr(tests.support, "PASSWORD", DEMO_PASSWORD)


@pytest.fixture
def demo(app):
    result = app.test_cli_runner().invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        s = db.session
        balance = s.scalar(select(Batch.balance_id))  # none yet
        assert balance is None
        orders = {
            o.prescription.patient.last_name: o.id
            for o in s.scalars(select(Order).join(Order.prescription))
        }
        return {"orders": orders}


@pytest.fixture
def user(app, demo):
    def _client(username: str):
        c = app.test_client()
        resp = login(c, username, DEMO_PASSWORD)
        assert resp.status_code == 302, resp.get_data(as_text=True)
        return c

    return _client


def _order(app, oid) -> Order:
    return db.session.get(Order, oid)


def _ids(app) -> dict:
    with app.app_context():
        from pharmacy.models import Balance, Formula

        s = db.session
        return {
            "cap": s.scalar(select(Formula.id).where(Formula.code == "LDN-CAP")),
            "sol": s.scalar(select(Formula.id).where(Formula.code == "LDN-SOL")),
            "balance": s.scalar(select(Balance.id)),
        }


def _text(pdf: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def _capsule_batch(app, tech, rph2, ids, oid, strength: str, quantity: int) -> int:
    """Start a batch of one strength for the order, weigh, QC; a second pharmacist releases."""
    form = {
        "formula_id": ids["cap"],
        "balance_id": ids["balance"],
        "strength_mg": strength,
        "strength_basis": "hcl",
        "quantity": str(quantity),
        "order_ids": [oid],
    }
    resp = tech.post("/batches/new", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    bid = latest_batch(app)
    resp = tech.post(f"/batches/{bid}/weights", data=weights_data(app, bid))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    qc = {
        "weights": passing_weights(),
        "shell_mg": "96",
        "appearance": "uniform white",
        "appearance_ok": "y",
        "units_made": str(quantity),
    }
    resp = tech.post(f"/batches/{bid}/qc", data=qc)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    resp = rph2.post(f"/batches/{bid}/release")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with app.app_context():
        batch = db.session.get(Batch, bid)
        assert (batch.status, batch.strength_mg, batch.units_remaining) == (
            "released",
            D(strength),
            quantity,
        )
        assert [o.id for o in batch.orders] == [oid]
    return bid


def test_the_demo_titration_prescription_goes_from_verified_to_handed_out(app, user, demo):
    oid = demo["orders"]["Ellis"]
    ids = _ids(app)
    with app.app_context():
        order = _order(app, oid)
        # Verified at load; nothing moved it to compounding without a batch.
        assert order.status == "verified"
        assert order.quantity == D("60")
        rx_id = order.prescription_id
    tech, rph, rph2 = user("technician"), user("pharmacist"), user("pharmacist2")

    # 60 capsules in all: 14 of 1.5 mg, 14 of 3 mg, 32 of 4.5 mg; the order page offers one
    # batch start per strength, pre-filled with what it still needs.
    plan = {"1.5": 14, "3": 14, "4.5": 32}
    page = tech.get(f"/orders/{oid}").get_data(as_text=True)
    for mg, n in plan.items():
        assert f'data-testid="start-batch-{mg}"' in page
        assert f"Start a {mg} mg batch ({n} capsule)" in page
    start = tech.get(f"/batches/new?order_id={oid}&strength_mg=1.5&quantity=14")
    html = start.get_data(as_text=True)
    assert 'name="strength_mg" step="any" type="number" value="1.5"' in html
    assert 'name="quantity" step="any" type="number" value="14"' in html
    assert f'checked id="order_ids-0" name="order_ids" type="checkbox" value="{oid}"' in html
    batches = {mg: _capsule_batch(app, tech, rph2, ids, oid, mg, n) for mg, n in plan.items()}
    with app.app_context():
        # Each batch moved it to compounding, its check to quality_check: events only.
        assert _order(app, oid).status == "quality_check"
    # Made, not yet filled: all three are still to fill from the released batches.
    assert "Start a 4.5 mg batch (32 capsule)" in tech.get(f"/orders/{oid}").get_data(as_text=True)

    # The fill: one batch per strength; ready only when every strength is covered.
    # The demo's first-expiry API lot (NTX-25002) expires in 45 days, before the last dose of
    # the 60 days' supply: the 4.5 mg fill is refused unless a pharmacist records why.
    resp = tech.post(
        f"/batches/{batches['4.5']}/dispense", data={"order_id": oid, "quantity": "32"}
    )
    assert resp.status_code == 422 and "before the last dose" in resp.get_data(as_text=True)
    why = "refill booked for day 40; patient told to discard the rest on the BUD"
    for i, (mg, n) in enumerate(plan.items()):
        data = {"order_id": oid, "quantity": str(n)}
        who = tech
        if mg == "4.5":
            who, data["bud_short_reason"] = rph, why
        resp = who.post(f"/batches/{batches[mg]}/dispense", data=data)
        assert resp.status_code == 302, resp.get_data(as_text=True)
        with app.app_context():
            want = "ready" if i == len(plan) - 1 else "quality_check"
            assert _order(app, oid).status == want
    with app.app_context():
        rows = db.session.scalars(select(Dispense).where(Dispense.order_id == oid)).all()
        assert sorted((r.batch_id, r.quantity) for r in rows) == sorted(
            (batches[mg], D(n)) for mg, n in plan.items()
        )
        assert all(db.session.get(Batch, b).units_remaining == 0 for b in batches.values())

    # Nothing is labelled before the pharmacist's final check.
    assert tech.post(f"/print/orders/{oid}/label", data={}).status_code == 409
    resp = rph.post(f"/orders/{oid}/final-check", data={})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with app.app_context():
        check = db.session.scalars(select(FinalCheck).where(FinalCheck.order_id == oid)).one()
        assert check.checked_by.username == "pharmacist"
        assert _order(app, oid).status == "checked"
        initials = check.checked_by.initials
        rx_number = _order(app, oid).prescription.rx_number

    resp = tech.post(f"/print/orders/{oid}/label", data={})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    label = " ".join(_text(resp.data).split())
    assert f"RPh: {initials}" in label
    assert rx_number in label
    assert "Naltrexone HCl 1.5 mg, 3 mg and 4.5 mg capsules · Qty: 60 capsules" in label
    # The patient's own schedule through to the maintenance dose, never only the top dose.
    assert (
        "days 1-14 take 1 capsule (1.5 mg); days 15-28 take 1 capsule (3 mg); "
        "from day 29 take 1 capsule (4.5 mg)" in label
    )
    assert "Batch/Lot: " + ", ".join(_batch_numbers(app, batches.values())) in label

    resp = tech.post(f"/print/orders/{oid}/titration-labels", data={})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    kit = " ".join(_text(resp.data).split())
    numbers = dict(zip(plan, _batch_numbers(app, batches.values()), strict=True))
    for step, (mg, n, sig) in enumerate(
        [
            (
                "1.5",
                14,
                "Take 1 capsule (1.5 mg) by mouth once daily at bedtime for 14 days; "
                "then go on to step 2.",
            ),
            (
                "3",
                14,
                "Take 1 capsule (3 mg) by mouth once daily at bedtime for 14 days; "
                "then go on to step 3.",
            ),
            (
                "4.5",
                32,
                "Take 1 capsule (4.5 mg) by mouth once daily at bedtime (maintenance dose).",
            ),
        ],
        start=1,
    ):
        assert f"Step {step} of 3: {mg} mg daily" in kit
        assert f"Naltrexone HCl {mg} mg capsules · Qty: {n} capsules" in kit
        assert sig in kit
        assert f"Batch/Lot: {numbers[mg]}" in kit
    assert kit.count(f"RPh: {initials}") == 3
    resp = tech.post(f"/print/orders/{oid}/titration-calendar", data={})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    calendar = " ".join(_text(resp.data).split())
    assert "4.5 mg" in calendar and "1.5 mg" in calendar
    resp = tech.post(f"/print/prescriptions/{rx_id}/leaflet", data={})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]

    staff, number = user("staff"), _number(app, oid)
    resp = staff.post(f"/orders/{oid}/verify-label", data={"label_code": number})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    resp = rph.post(
        f"/orders/{oid}/hand-out",
        data={
            "method": "pickup",
            "counsel_outcome": "accepted",
            "counsel_notes": "Titration schedule explained; vivid dreams may occur.",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with app.app_context():
        assert _order(app, oid).status == "dispensed"
        scanned = db.session.scalars(select(LabelScan).where(LabelScan.order_id == oid)).one()
        assert (scanned.label_code, scanned.scanned_by.username) == (number, "staff")
        handout = db.session.scalars(select(Handout).where(Handout.order_id == oid)).one()
        assert handout.counsel_outcome == "accepted"
        assert handout.handed_out_by.username == "pharmacist"


def _batch_numbers(app, ids) -> list[str]:
    with app.app_context():
        return [db.session.get(Batch, b).batch_number for b in ids]


def _number(app, oid) -> str:
    with app.app_context():
        return _order(app, oid).number


def test_a_titration_step_batch_must_be_a_strength_of_the_plan(app, user, demo):
    oid = demo["orders"]["Ellis"]
    ids = _ids(app)
    form = {
        "formula_id": ids["cap"],
        "balance_id": ids["balance"],
        "strength_mg": "2",
        "strength_basis": "hcl",
        "quantity": "20",
        "order_ids": [oid],
    }
    resp = user("technician").post("/batches/new", data=form)
    assert resp.status_code == 422
    assert "1.5 mg or 3 mg or 4.5 mg" in resp.get_data(as_text=True)
    # A step batch smaller than the step is refused too.
    form.update(strength_mg="3", quantity="10")
    resp = user("technician").post("/batches/new", data=form)
    assert resp.status_code == 422
    assert "the orders need 14 capsule" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Batch.id)) is None
        assert _order(app, oid).status == "verified"


def test_the_demo_liquid_is_compounded_and_filled(app, user, demo):
    oid = demo["orders"]["Fernandez"]
    ids = _ids(app)
    tech, rph, rph2 = user("technician"), user("pharmacist"), user("pharmacist2")
    with app.app_context():
        assert _order(app, oid).status == "verified"
        vehicle = db.session.scalar(
            select(IngredientLot).where(IngredientLot.lot_number == "ORA-3390")
        )
        assert vehicle.status == "quarantined"
        vehicle_id = vehicle.id
    # The quarantined vehicle lot is released by a pharmacist first (receiving check).
    resp = rph.post(
        f"/inventory/lots/{vehicle_id}/decision",
        data={
            "decision-target": "released",
            "decision-reason": "CoA checked against the specification",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    form = {
        "formula_id": ids["sol"],
        "balance_id": ids["balance"],
        "strength_basis": "hcl",
        "quantity": "100",
        "order_ids": [oid],
    }
    resp = tech.post("/batches/new", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    bid = latest_batch(app)
    with app.app_context():
        batch = db.session.get(Batch, bid)
        assert batch.strength_mg == D("1")  # the concentration, mg/mL
        assert _order(app, oid).status == "in_compounding"
    resp = tech.post(f"/batches/{bid}/weights", data=weights_data(app, bid))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    # 100 mg of API is below the balance's 120 mg minimum: the engine prepares twice the
    # volume (99.8 mg x 2 weighed, q.s. to 200 mL) and 100 mL is dispensed.
    with app.app_context():
        usages = {u.role: u for u in db.session.get(Batch, bid).lot_usages}
        assert (usages["active"].planned_quantity, usages["vehicle"].planned_quantity) == (
            D("199.6"),
            D("200"),
        )
    qc = {
        "final_volume_ml": "200",
        "appearance": "clear, colourless",
        "appearance_ok": "y",
        "units_made": "100",
    }
    resp = tech.post(f"/batches/{bid}/qc", data=qc)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    resp = rph2.post(f"/batches/{bid}/release", follow_redirects=True)
    assert "released" in resp.get_data(as_text=True), resp.get_data(as_text=True)
    resp = tech.post(f"/batches/{bid}/dispense", data={"order_id": oid, "quantity": "100"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with app.app_context():
        assert _order(app, oid).status == "ready"
    assert rph.post(f"/orders/{oid}/final-check", data={}).status_code == 302
    resp = tech.post(f"/print/orders/{oid}/label", data={})
    assert resp.status_code == 200
    label = " ".join(_text(resp.data).split())
    assert "1 mg/mL" in label
    assert "3 mL (3 mg)" in label
    with app.app_context():
        assert _order(app, oid).status == "checked"
        row = db.session.scalars(select(Dispense).where(Dispense.order_id == oid)).one()
        assert (row.batch_id, row.quantity) == (bid, D("100"))
        assert db.session.get(Batch, bid).units_remaining == 0


@pytest.mark.parametrize("tolerance", [D("5"), None])
def test_a_new_version_of_a_demo_formula_can_be_approved(app, user, demo, tolerance):
    """The demo formulas carry the API weighing tolerance; a formula saved before the setting
    existed (None) gets the default it was weighed at in its new version."""
    from pharmacy.models import Formula

    with app.app_context():
        formula = db.session.scalar(select(Formula).where(Formula.code == "LDN-CAP"))
        assert formula.api_tolerance_percent == D("5")
        fid = formula.id
    if tolerance is None:
        from pharmacy.database import unit_of_work

        with app.app_context(), unit_of_work() as s:
            s.get(Formula, fid).api_tolerance_percent = None
    rph = user("pharmacist")
    assert rph.post(f"/formulas/{fid}/new-version").status_code == 302
    with app.app_context():
        draft = db.session.scalar(
            select(Formula).where(Formula.code == "LDN-CAP", Formula.version == 2)
        )
        assert draft.status == "draft" and draft.api_tolerance_percent == D("5")
        draft_id = draft.id
    resp = rph.post(f"/formulas/{draft_id}/approve", follow_redirects=True)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Formula, draft_id).status == "approved"
        assert db.session.get(Formula, fid).status == "retired"
