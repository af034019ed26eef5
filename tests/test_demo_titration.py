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
    Patient,
    User,
)
from tests.batch_helpers import latest_batch, passing_weights, weights_data
from tests.support import login


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

    # A step batch may not be bigger-than-needed-only: the plan's strengths and amounts.
    plan = {"1.5": 14, "3": 14, "4.5": 32}
    batches = {mg: _capsule_batch(app, tech, rph2, ids, oid, mg, n) for mg, n in plan.items()}
    with app.app_context():
        # Each batch moved it to compounding, its check to quality_check: events only.
        assert _order(app, oid).status == "quality_check"

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
    assert "Take 1 capsule (4.5 mg)" not in label.split("then")[0]  # never the top strength first
    assert "1.5 mg" in label

    resp = tech.post(f"/print/orders/{oid}/titration-labels", data={})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    kit = " ".join(_text(resp.data).split())
    for step in ("1.5 mg", "3 mg", "4.5 mg"):
        assert step in kit
    assert "14" in kit
    resp = tech.post(f"/print/orders/{oid}/titration-calendar", data={})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    calendar = " ".join(_text(resp.data).split())
    assert "4.5 mg" in calendar and "1.5 mg" in calendar
    resp = tech.post(f"/print/prescriptions/{rx_id}/leaflet", data={})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]

    staff = user("staff")
    resp = staff.post(f"/orders/{oid}/verify-label", data={"label_code": _number(app, oid)})
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
        scan_row = db.session.scalars(select(LabelScan).where(LabelScan.order_id == oid)).one()
        assert scan_row.ok if hasattr(scan_row, "ok") else True
        handout = db.session.scalars(select(Handout).where(Handout.order_id == oid)).one()
        assert handout.counsel_outcome == "accepted"
        assert handout.handed_out_by.username == "pharmacist"


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
        data={"target": "released", "reason": "CoA checked against the specification"},
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    form = {
        "formula_id": ids["sol"],
        "balance_id": ids["balance"],
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
    qc = {"final_volume_ml": "100", "appearance": "clear, colourless", "appearance_ok": "y"}
    resp = tech.post(f"/batches/{bid}/qc", data=qc)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert rph2.post(f"/batches/{bid}/release").status_code == 302
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
        assert db.session.scalar(select(Patient.last_name).where(Patient.id > 0)) is not None
        assert db.session.scalar(select(User.id).where(User.username == "pharmacist2"))
