"""Facility logs: temperature excursions hold what is stored (a pharmacist releases back or
rejects, with a reason), the cleaning log, balance daily checks and calibrations."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from pharmacy.extensions import db
from pharmacy.models import (
    AuditEvent,
    Balance,
    Batch,
    CleaningRecord,
    IngredientLot,
    Order,
    StorageHold,
    TemperatureReading,
)
from tests.batch_helpers import make_order, seed
from tests.printing.helpers import released_batch
from tests.support import form_error


@pytest.fixture
def ids(app, pharmacy):
    return seed(app)


def _unit(as_role, name="Fridge 1", kind="refrigerator") -> int:
    resp = as_role("pharmacist").post("/facility/units", data={"name": name, "kind": kind})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return int(resp.headers["Location"].rstrip("/").split("/")[-1])


def _released_lot(app, ids) -> IngredientLot:
    with app.app_context():
        return db.session.scalars(
            select(IngredientLot)
            .where(IngredientLot.status == "released")
            .order_by(IngredientLot.id)
        ).first()


def test_an_excursion_holds_the_lots_and_batches_stored_there(app, as_role, ids):
    uid = _unit(as_role)
    lot = _released_lot(app, ids)
    oid = make_order(app, quantity=30)
    bid = released_batch(app, as_role, ids)
    with app.app_context():
        batch_number = db.session.get(Batch, bid).batch_number
    tech = as_role("technician")
    for code in (lot.lot_number, batch_number):
        assert tech.post(f"/facility/units/{uid}/place", data={"code": code}).status_code == 302
    assert "no lot or batch" in form_error(
        tech.post(f"/facility/units/{uid}/place", data={"code": "NOPE"}), "code"
    )

    assert tech.post(f"/facility/units/{uid}/readings", data={"celsius": "5.0"}).status_code == 302
    # Outside the range a note is required, by its field.
    resp = tech.post(f"/facility/units/{uid}/readings", data={"celsius": "11.5"})
    assert resp.status_code == 422 and "outside 2–8 °C" in form_error(resp, "note")
    resp = tech.post(
        f"/facility/units/{uid}/readings", data={"celsius": "11.5", "note": "door left open"}
    )
    assert resp.status_code == 302

    with app.app_context():
        s = db.session
        assert [r.status for r in s.scalars(select(TemperatureReading))] == [
            "in_range",
            "excursion",
        ]
        assert s.get(IngredientLot, lot.id).status == "quarantined"
        holds = list(s.scalars(select(StorageHold).order_by(StorageHold.id)))
        assert [(h.lot_id, h.batch_id, h.status_before) for h in holds] == [
            (lot.id, None, "released"),
            (None, bid, "released"),
        ]
    # The held batch fills nothing; the held lot cannot be released the ordinary way.
    resp = tech.post(f"/batches/{bid}/dispense", data={"order_id": oid, "quantity": "30"})
    assert "on hold after a temperature excursion" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Order, oid).status == "verified"
    pharm = as_role("pharmacist")
    resp = pharm.post(f"/inventory/lots/{lot.id}/decision", data={"target": "released"})
    assert resp.status_code == 422

    page = pharm.get("/facility/").get_data(as_text=True)
    assert f"Lot {lot.lot_number}" in page and f"Batch {batch_number}" in page
    # A technician cannot decide; a decision needs a reason.
    assert (
        tech.post(f"/facility/holds/{holds[0].id}", data={"decision": "release"}).status_code == 403
    )
    resp = pharm.post(f"/facility/holds/{holds[0].id}", data={"decision": "release"})
    assert resp.status_code == 422 and "is required" in form_error(resp, "reason")
    ok = pharm.post(
        f"/facility/holds/{holds[0].id}",
        data={"decision": "release", "reason": "12 min at 11.5 °C; stability data cover it"},
    )
    assert ok.status_code == 302
    ok = pharm.post(
        f"/facility/holds/{holds[1].id}",
        data={"decision": "reject", "reason": "liquid exposure unknown; discard"},
    )
    assert ok.status_code == 302
    with app.app_context():
        s = db.session
        assert s.get(IngredientLot, lot.id).status == "released"
        assert s.get(Batch, bid).units_remaining == 0
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert actions.count("storage.hold") == 2
        assert "storage.hold_release" in actions and "storage.hold_reject" in actions
        assert "batch.discard" in actions


def test_room_allowed_excursion_holds_nothing(app, as_role, ids):
    uid = _unit(as_role, "Dispensary", "room")
    lot = _released_lot(app, ids)
    tech = as_role("technician")
    tech.post(f"/facility/units/{uid}/place", data={"code": lot.lot_number})
    resp = tech.post(f"/facility/units/{uid}/readings", data={"celsius": "27", "note": "hot day"})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(IngredientLot, lot.id).status == "released"
        assert db.session.scalars(select(StorageHold)).all() == []


def test_cleaning_log(app, as_role, ids):
    tech = as_role("technician")
    resp = tech.post("/facility/cleaning", data={"area": "Compounding bench", "agent": ""})
    assert resp.status_code == 422 and form_error(resp, "agent") == "is required"
    resp = tech.post("/facility/cleaning", data={"area": "Compounding bench", "agent": "70 % IPA"})
    assert resp.status_code == 302
    assert "Compounding bench" in tech.get("/facility/cleaning").get_data(as_text=True)
    with app.app_context():
        row = db.session.scalars(select(CleaningRecord)).one()
        assert (row.area, row.agent) == ("Compounding bench", "70 % IPA")


def test_failed_daily_check_takes_the_balance_out_of_service_until_calibrated(app, as_role, ids):
    bal = ids["balance"]
    tech = as_role("technician")
    ok = {"nominal_mg": "100", "reading_mg": "100.05", "tolerance_mg": "0.1"}
    assert tech.post(f"/equipment/balances/{bal}/check", data=ok).status_code == 302
    with app.app_context():
        assert db.session.get(Balance, bal).active is True
    bad = {**ok, "reading_mg": "100.4"}
    assert tech.post(f"/equipment/balances/{bal}/check", data=bad).status_code == 302
    with app.app_context():
        assert db.session.get(Balance, bal).active is False
    page = tech.get(f"/equipment/balances/{bal}/log").get_data(as_text=True)
    assert "out of service" in page
    # Only a pharmacist or administrator records a calibration.
    today = date.today()
    cal = {
        "calibrated_on": today.isoformat(),
        "next_due": (today + timedelta(days=365)).isoformat(),
        "performed_by": "Scales Service Ltd",
        "certificate": "C-2026-17",
    }
    assert tech.post(f"/equipment/balances/{bal}/calibration", data=cal).status_code == 403
    wrong = {**cal, "next_due": today.isoformat()}
    resp = as_role("pharmacist").post(f"/equipment/balances/{bal}/calibration", data=wrong)
    assert resp.status_code == 422 and "after the calibration date" in form_error(resp, "next_due")
    assert (
        as_role("pharmacist").post(f"/equipment/balances/{bal}/calibration", data=cal).status_code
        == 302
    )
    with app.app_context():
        b = db.session.get(Balance, bal)
        assert b.active is True and b.calibration_due == today + timedelta(days=365)
        actions = [e.action for e in db.session.scalars(select(AuditEvent))]
        assert "balance.out_of_service" in actions and "balance.calibrate" in actions
