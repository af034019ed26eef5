"""The fill: BUD against the days' supply, leaving a recall hold only by a fill from another
batch, and filling all of a batch's orders in one step. SQLite and PostgreSQL."""

from decimal import Decimal as D

import pytest
from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.domain.errors import TransitionNotAllowed
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Batch, Dispense, Order, TitrationStep, User
from pharmacy.services import orders as order_service
from tests.api.conftest import api as api_fixture
from tests.batch_helpers import latest_batch, make_order, passing_weights, seed, start_form
from tests.batch_helpers import weights_data as plan_weights
from tests.support import form_error

api = api_fixture


@pytest.fixture
def ids(app, pharmacy):
    return seed(app)


def _released(app, as_role, ids, strength="4.5", quantity="100"):
    tech = as_role("technician")
    form = start_form(ids, strength_mg=strength, quantity=quantity)
    assert tech.post("/batches/new", data=form).status_code == 302
    bid = latest_batch(app)
    assert tech.post(f"/batches/{bid}/weights", data=plan_weights(app, bid)).status_code == 302
    qc = {
        "weights": passing_weights(),
        "shell_mg": "96",
        "appearance": "uniform white",
        "appearance_ok": "y",
        "units_made": quantity,
    }
    resp = tech.post(f"/batches/{bid}/qc", data=qc)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert as_role("pharmacist").post(f"/batches/{bid}/release").status_code == 302
    return bid


def _only_these_orders(app):
    """The demo's own open orders would be filled too; set them aside."""
    with app.app_context(), unit_of_work() as s:
        for o in s.scalars(select(Order).where(Order.status.in_(("verified", "in_compounding")))):
            o.status = "cancelled"


def _status(app, order_id):
    with app.app_context():
        o = db.session.get(Order, order_id)
        return o.status, o.held_from


def test_a_batch_expiring_before_the_last_dose_needs_a_pharmacists_reason(app, as_role, ids):
    bid = _released(app, as_role, ids)  # BUD: 45 days (the API lot's expiry)
    order = make_order(app, quantity=60)  # one a day: the last dose is on day 60
    tech, rph = as_role("technician"), as_role("pharmacist")
    page = tech.get(f"/batches/{bid}/dispense").get_data(as_text=True)
    assert "BUD ends first: a pharmacist's reason is needed" in page
    data = {"order_id": order, "quantity": "60"}
    resp = tech.post(f"/batches/{bid}/dispense", data=data)
    assert resp.status_code == 422
    assert "(60 days&#39; supply)" in form_error(resp, "bud_short_reason")
    resp = tech.post(f"/batches/{bid}/dispense", data={**data, "bud_short_reason": "ok"})
    assert resp.status_code == 422
    assert "only a pharmacist" in form_error(resp, "bud_short_reason")
    with app.app_context():
        assert db.session.scalar(select(Dispense.id)) is None
        assert db.session.get(Batch, bid).units_remaining == 100
    reason = "patient told to discard the rest on the BUD; refill booked"
    resp = rph.post(f"/batches/{bid}/dispense", data={**data, "bud_short_reason": reason})
    assert resp.status_code == 302
    with app.app_context():
        row = db.session.scalars(select(Dispense)).one()
        assert (row.quantity, row.bud_short_reason) == (D("60"), reason)
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "batch.dispense")
        ).one()
        assert event.reason == reason and event.new["bud_short_reason"] == reason
    assert _status(app, order)[0] == "ready"
    # 45 a day's supply is within the BUD: no reason needed.
    short = make_order(app, quantity=40)
    resp = tech.post(f"/batches/{bid}/dispense", data={"order_id": short, "quantity": "40"})
    assert resp.status_code == 302


def test_an_order_held_by_a_recall_leaves_the_hold_only_by_a_fill_from_another_batch(
    app, as_role, ids
):
    first = _released(app, as_role, ids)
    order = make_order(app, quantity=30)
    tech, rph = as_role("technician"), as_role("pharmacist")
    resp = tech.post(f"/batches/{first}/dispense", data={"order_id": order, "quantity": "30"})
    assert resp.status_code == 302
    assert rph.post(f"/batches/{first}/recall", data={"reason": "lot recall"}).status_code == 302
    assert _status(app, order) == ("on_hold", "ready")

    with app.app_context():
        o = db.session.get(Order, order)
        pharmacist = db.session.scalar(select(User).where(User.username == "pharmacist"))
        with pytest.raises(TransitionNotAllowed, match="only by a fill from another batch"):
            order_service.transition(db.session, pharmacist, o, "ready", reason="looks fine")
        db.session.rollback()
    second = _released(app, as_role, ids)
    resp = tech.get(f"/batches/{second}/dispense")
    assert f'value="{order}"' in resp.get_data(as_text=True)
    # The 30 capsules from the recalled batch no longer count: all 30 are needed again.
    resp = tech.post(f"/batches/{second}/dispense", data={"order_id": order, "quantity": "30"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert _status(app, order) == ("ready", None)
    with app.app_context():
        rows = db.session.scalars(select(Dispense).order_by(Dispense.id)).all()
        assert [(r.batch_id, r.quantity) for r in rows] == [(first, D("30")), (second, D("30"))]
        assert db.session.get(Batch, second).units_remaining == 70


def test_fill_all_fills_every_order_the_batch_can_cover_in_one_step(app, as_role, ids):
    bid = _released(app, as_role, ids)
    _only_these_orders(app)
    a = make_order(app, quantity=30)
    b = make_order(app, quantity=40)
    too_big = make_order(app, quantity=45)  # 30 left after a and b
    later = make_order(app, quantity=20, doses_per_day=1)
    other = make_order(app, strength="1.5", quantity=10)  # another strength: not listed
    tech = as_role("technician")
    page = tech.get(f"/batches/{bid}").get_data(as_text=True)
    assert 'data-testid="fill-all"' in page
    resp = tech.post(f"/batches/{bid}/fill-all", follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "Filled 3 order(s)" in html and "needs 45 capsule; 30 left" in html
    assert [_status(app, o)[0] for o in (a, b, too_big, later, other)] == [
        "ready",
        "ready",
        "verified",
        "ready",
        "verified",
    ]
    with app.app_context():
        assert db.session.get(Batch, bid).units_remaining == 10
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "batch.dispense")
        ).all()
        assert sorted(e.new["order_id"] for e in events) == sorted([a, b, later])
    resp = tech.post(f"/batches/{bid}/fill-all", follow_redirects=True)
    assert "no order could be filled completely" in resp.get_data(as_text=True)


def test_fill_all_over_the_api(app, api, ids, as_role):
    bid = _released(app, as_role, ids)
    _only_these_orders(app)
    a, b = make_order(app, quantity=40), make_order(app, quantity=70, doses_per_day=2)
    resp = api("technician").post(f"/api/v1/batches/{bid}/fill-all")
    assert resp.status_code == 200, resp.get_json()
    out = resp.get_json()
    assert [d["order"]["id"] for d in out["dispenses"]] == [a]
    assert out["skipped"][0]["order_id"] == b and "60 left" in out["skipped"][0]["reason"]
    assert out["batch"]["units_remaining"] == 60


def test_a_titration_order_is_filled_from_one_batch_per_step_strength(app, as_role, ids):
    _only_these_orders(app)
    order = make_order(app, strength="3", quantity=30)
    with app.app_context(), unit_of_work() as s:
        rx = s.get(Order, order).prescription
        # 1.5 mg for 7 days is half a 3 mg capsule: it needs 1.5 mg capsules of its own.
        s.add(TitrationStep(prescription_id=rx.id, position=1, strength_mg=D("1.5"), days=7))
        s.add(TitrationStep(prescription_id=rx.id, position=2, strength_mg=D("3"), days=None))
    main = _released(app, as_role, ids, strength="3")
    tech = as_role("technician")
    # 30 capsules in all: 7 of 1.5 mg for the step, 23 of 3 mg (never 30 + 7).
    resp = tech.post(f"/batches/{main}/dispense", data={"order_id": order, "quantity": "30"})
    assert resp.status_code == 422 and "needs 23 more" in form_error(resp, "quantity")
    resp = tech.post(f"/batches/{main}/dispense", data={"order_id": order, "quantity": "23"})
    assert resp.status_code == 302
    assert _status(app, order)[0] == "verified"  # the 1.5 mg step is not covered yet

    step = _released(app, as_role, ids, strength="1.5", quantity="10")
    page = tech.get(f"/batches/{step}/dispense").get_data(as_text=True)
    assert f'value="{order}"' in page
    resp = tech.post(f"/batches/{step}/dispense", data={"order_id": order, "quantity": "8"})
    assert resp.status_code == 422 and "needs 7 more" in form_error(resp, "quantity")
    resp = tech.post(f"/batches/{step}/dispense", data={"order_id": order, "quantity": "7"})
    assert resp.status_code == 302
    assert _status(app, order)[0] == "ready"
    with app.app_context():
        rows = db.session.scalars(select(Dispense).order_by(Dispense.id)).all()
        assert [(r.batch_id, r.quantity) for r in rows] == [(main, D("23")), (step, D("7"))]
