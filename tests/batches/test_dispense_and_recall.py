"""Batches serving orders, dispensing, recall and the trace from a lot to the patient."""

import csv
import io
from datetime import timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Batch, Dispense, IngredientLot, Order, User
from pharmacy.services import accounts
from tests.batch_helpers import (
    TODAY,
    latest_batch,
    make_order,
    passing_weights,
    seed,
    start_form,
    weights_data,
)
from tests.support import form_error


@pytest.fixture
def ids(app, pharmacy):
    return seed(app)


def _status(app, order_id):
    with app.app_context():
        return db.session.get(Order, order_id).status


def _released_batch(app, as_role, ids, **over):
    c = as_role("technician")
    resp = c.post("/batches/new", data=start_form(ids, **over))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    bid = latest_batch(app)
    assert c.post(f"/batches/{bid}/weights", data=weights_data(app, bid)).status_code == 302
    qc = {
        "weights": passing_weights(),
        "shell_mg": "96",
        "appearance": "uniform white",
        "appearance_ok": "y",
        "units_made": over.get("quantity", "100"),
    }
    assert c.post(f"/batches/{bid}/qc", data=qc).status_code == 302
    assert as_role("pharmacist").post(f"/batches/{bid}/release").status_code == 302
    return bid


def test_batch_for_orders_moves_them_along_and_dispensing_makes_them_ready(app, as_role, ids):
    o1 = make_order(app, quantity=60, doses_per_day=2)
    o2 = make_order(app, quantity=40, doses_per_day=2)
    c = as_role("technician")
    resp = c.post(
        "/batches/new",
        data=start_form(ids, strength_mg=None, quantity=None, order_ids=[o1, o2]),
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    bid = latest_batch(app)
    with app.app_context():
        b = db.session.get(Batch, bid)
        assert (b.units_planned, b.strength_mg, [o.id for o in b.orders]) == (
            100,
            D("4.5"),
            [o1, o2],
        )
    assert _status(app, o1) == _status(app, o2) == "in_compounding"

    # dispensing from an unreleased batch is refused
    resp = c.post(f"/batches/{bid}/dispense", data={"order_id": o1, "quantity": "60"})
    assert resp.status_code == 409

    assert c.post(f"/batches/{bid}/weights", data=weights_data(app, bid)).status_code == 302
    qc = {
        "weights": passing_weights(),
        "shell_mg": "96",
        "appearance": "ok",
        "appearance_ok": "y",
        "units_made": "101",
    }
    assert c.post(f"/batches/{bid}/qc", data=qc).status_code == 302
    assert _status(app, o1) == "quality_check"
    assert as_role("pharmacist").post(f"/batches/{bid}/release").status_code == 302

    assert c.get(f"/batches/{bid}/dispense").status_code == 200
    resp = c.post(f"/batches/{bid}/dispense", data={"order_id": o1, "quantity": "61"})
    assert resp.status_code == 422 and "needs 60 more" in form_error(resp, "quantity")
    resp = c.post(f"/batches/{bid}/dispense", data={"order_id": o1, "quantity": "60"})
    assert resp.status_code == 302
    assert _status(app, o1) == "ready"
    # a partial fill leaves the order where it is
    assert (
        c.post(f"/batches/{bid}/dispense", data={"order_id": o2, "quantity": "30"}).status_code
        == 302
    )
    assert _status(app, o2) == "quality_check"
    assert (
        c.post(f"/batches/{bid}/dispense", data={"order_id": o2, "quantity": "10"}).status_code
        == 302
    )
    assert _status(app, o2) == "ready"
    with app.app_context():
        b = db.session.get(Batch, bid)
        assert b.units_remaining == 1  # 101 made - 60 - 30 - 10
        rows = db.session.scalars(select(Dispense).order_by(Dispense.id)).all()
        assert [(d.order_id, d.quantity, d.unit) for d in rows] == [
            (o1, D("60"), "capsule"),
            (o2, D("30"), "capsule"),
            (o2, D("10"), "capsule"),
        ]
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "batch.dispense").order_by(AuditEvent.id)
        ).all()
        assert [(e.old["units_remaining"], e.new["units_remaining"]) for e in events] == [
            (101, 41),
            (41, 11),
            (11, 1),
        ]
        moves = db.session.scalars(
            select(AuditEvent.new)
            .where(AuditEvent.entity == "rx_order", AuditEvent.entity_id == str(o1))
            .order_by(AuditEvent.id)
        ).all()
        assert [m["status"] for m in moves] == ["in_compounding", "quality_check", "ready"]


def test_dispensing_more_than_the_batch_holds_or_a_wrong_strength_is_refused(app, as_role, ids):
    bid = _released_batch(app, as_role, ids, quantity="20")
    big, other = make_order(app, quantity=30), make_order(app, strength="3", quantity=10)
    c = as_role("technician")
    resp = c.post(f"/batches/{bid}/dispense", data={"order_id": big, "quantity": "21"})
    assert resp.status_code == 422
    assert "holds 20 capsule" in form_error(resp, "quantity")
    resp = c.post(f"/batches/{bid}/dispense", data={"order_id": other, "quantity": "10"})
    assert resp.status_code == 422  # not offered: the strength differs
    assert "not a valid choice" in form_error(resp, "order_id").lower()
    from pharmacy.domain.errors import ValidationFailed
    from pharmacy.services import batches as service

    with (
        app.app_context(),
        pytest.raises(ValidationFailed, match="is for 3 mg"),
        unit_of_work() as s,
    ):
        tech = s.scalar(select(User).where(User.username == "technician"))
        service.dispense(s, tech, bid, other, 10)
    with app.app_context():
        assert db.session.get(Batch, bid).units_remaining == 20
        assert db.session.scalar(select(Dispense.id)) is None
    assert _status(app, big) == "verified"

    # an out-of-date batch fills nothing
    with app.app_context(), unit_of_work() as s:
        s.get(Batch, bid).beyond_use_date = TODAY - timedelta(days=1)
    assert (
        c.post(f"/batches/{bid}/dispense", data={"order_id": big, "quantity": "5"}).status_code
        == 409
    )


def test_recall_blocks_the_batch_holds_open_orders_and_traces_to_patients(app, as_role, ids):
    bid = _released_batch(app, as_role, ids)
    done, open_ = make_order(app, quantity=30), make_order(app, quantity=30)
    c = as_role("technician")
    for oid in (done, open_):
        assert (
            c.post(f"/batches/{bid}/dispense", data={"order_id": oid, "quantity": "30"}).status_code
            == 302
        )
    with app.app_context(), unit_of_work() as s:
        s.get(Order, done).status = "dispensed"  # picked up already

    lot_id = ids["lots"]["NTX-25002"]
    html = c.get(f"/batches/trace?lot_id={lot_id}").get_data(as_text=True)
    assert "Margaret Ellis" in html and "217-555-0191" in html and "Helen Park" in html

    resp = c.get(f"/batches/trace.csv?lot_id={lot_id}")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert len(rows) == 2
    assert {r["patient"] for r in rows} == {"Margaret Ellis"}
    assert rows[0]["prescriber_npi"] == "1234567893" and rows[0]["quantity"] == "30"

    # the JSON API with a bearer token
    with app.app_context(), unit_of_work() as s:
        user = s.scalar(select(User).where(User.username == "technician"))
        token = accounts.create_api_token(s, user, user, "recall")
    api = app.test_client()
    body = api.get(
        f"/api/v1/lots/{lot_id}/trace", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    assert body["lot"]["lot_number"] == "NTX-25002"
    assert [b["id"] for b in body["batches"]] == [bid]
    assert {r["order_id"] for r in body["recipients"]} == {done, open_}
    body = api.get(
        f"/api/v1/batches/{bid}/trace", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    assert {lot["lot_number"] for lot in body["lots"]} == {"NTX-25002", "MCC-8841", "CAPS1-5521"}
    assert api.get(f"/api/v1/lots/{lot_id}/trace").status_code == 401

    assert c.post(f"/batches/{bid}/recall", data={"reason": "x"}).status_code == 403
    p = as_role("pharmacist")
    assert p.post(f"/batches/{bid}/recall", data={"reason": ""}).status_code == 422
    assert (
        p.post(f"/batches/{bid}/recall", data={"reason": "supplier recall of API"}).status_code
        == 302
    )
    with app.app_context():
        b = db.session.get(Batch, bid)
        assert (b.status, b.recall_reason, b.units_remaining) == (
            "recalled",
            "supplier recall of API",
            40,
        )
        held = db.session.get(Order, open_)
        assert (held.status, held.held_from) == ("on_hold", "ready")
        assert "recall of batch" in held.status_reason
    assert _status(app, done) == "dispensed"
    another = make_order(app, quantity=10)
    assert (
        c.post(f"/batches/{bid}/dispense", data={"order_id": another, "quantity": "10"}).status_code
        == 409
    )


def test_recalling_a_lot_recalls_its_released_batches(app, as_role, ids):
    bid = _released_batch(app, as_role, ids)
    lot_id = ids["lots"]["NTX-25002"]
    p = as_role("pharmacist")
    assert p.post(f"/batches/trace/lot/{lot_id}/recall", data={"reason": ""}).status_code == 422
    resp = p.post(f"/batches/trace/lot/{lot_id}/recall", data={"reason": "assay OOS"})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(Batch, bid).status == "recalled"
        lot = db.session.get(IngredientLot, lot_id)
        assert (lot.status, lot.status_reason) == ("recalled", "assay OOS")


def test_a_batch_using_a_lot_recalled_meanwhile_cannot_be_released(app, as_role, ids):
    c = as_role("technician")
    assert c.post("/batches/new", data=start_form(ids)).status_code == 302
    bid = latest_batch(app)
    assert c.post(f"/batches/{bid}/weights", data=weights_data(app, bid)).status_code == 302
    qc = {
        "weights": passing_weights(),
        "shell_mg": "96",
        "appearance": "ok",
        "appearance_ok": "y",
        "units_made": "100",
    }
    assert c.post(f"/batches/{bid}/qc", data=qc).status_code == 302
    with app.app_context(), unit_of_work() as s:
        s.get(IngredientLot, ids["lots"]["NTX-25002"]).status = "recalled"
    resp = as_role("pharmacist").post(f"/batches/{bid}/release")
    assert resp.status_code == 409 and "NTX-25002 (recalled)" in resp.get_data(as_text=True)


def test_liquid_batch_from_api_with_volume_qc(app, as_role, ids):
    with app.app_context(), unit_of_work() as s:
        lot = s.scalar(select(IngredientLot).where(IngredientLot.lot_number == "ORA-3390"))
        lot.status = "released"
    order = make_order(app, strength="1", quantity=30, form="oral_solution")
    c = as_role("technician")
    resp = c.post(
        "/batches/new",
        data={
            "formula_id": ids["sol"],
            "balance_id": ids["balance"],
            "strength_basis": "hcl",
            "order_ids": [order],
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    bid = latest_batch(app)
    with app.app_context():
        b = db.session.get(Batch, bid)
        r = b.calculation["result"]
        # 1 mg/mL x 30 mL / 1.002 = 29.94 mg, below the 120 mg MWQ: make 5x (150 mL)
        assert (r["multiple"], r["api_mg"], r["prepare_volume_ml"]) == (5, "149.70", "150")
        assert (b.unit, b.units_planned) == ("mL", 30)
        assert b.beyond_use_date == TODAY + timedelta(days=35)
        assert [(u.role, u.planned_quantity, u.unit) for u in b.lot_usages] == [
            ("active", D("149.70"), "mg"),
            ("vehicle", D("150"), "mL"),
        ]
    assert c.post(f"/batches/{bid}/weights", data=weights_data(app, bid)).status_code == 302
    resp = c.post(
        f"/batches/{bid}/qc",
        data={
            "final_volume_ml": "150",
            "appearance": "clear",
            "appearance_ok": "y",
            "units_made": "150",
        },
    )
    assert resp.status_code == 302
    assert as_role("pharmacist").post(f"/batches/{bid}/release").status_code == 302
    assert (
        c.post(f"/batches/{bid}/dispense", data={"order_id": order, "quantity": "30"}).status_code
        == 302
    )
    with app.app_context():
        assert db.session.get(Batch, bid).units_remaining == 120
    assert _status(app, order) == "ready"


def test_a_verified_order_page_offers_to_start_its_batch(app, as_role, ids):
    order_id = make_order(app, quantity=30)
    page = as_role("technician").get(f"/orders/{order_id}").get_data(as_text=True)
    assert f'href="/batches/new?order_id={order_id}"' in page
    staff_page = as_role("staff").get(f"/orders/{order_id}").get_data(as_text=True)
    assert "Start a batch for this order" not in staff_page


def test_trace_pages_recipients_with_a_total_and_the_csv_has_them_all(app, as_role, ids):
    """A lot used by many batches: the page and the API show one page and the totals; the
    CSV streams every recipient."""
    from pharmacy.domain.errors import ValidationFailed
    from pharmacy.services import batches as service

    c = as_role("technician")
    for _ in range(2):
        bid = _released_batch(app, as_role, ids)
        for _ in range(2):
            oid = make_order(app, quantity=30)
            resp = c.post(f"/batches/{bid}/dispense", data={"order_id": oid, "quantity": "30"})
            assert resp.status_code == 302
    lot_id = ids["lots"]["NTX-25002"]
    with app.app_context():
        full = service.trace_lot(db.session, lot_id, limit=10_000)
        total = full.total_recipients
        assert total == len(full.recipients) == 4 and full.total_batches == 2
        first = service.trace_lot(db.session, lot_id, limit=1, page=1)
        second = service.trace_lot(db.session, lot_id, limit=1, page=2)
        assert first.total_recipients == total and first.pages == total and first.truncated
        assert first.recipients + second.recipients == full.recipients[:2]
        last = service.trace_lot(db.session, lot_id, limit=1, page=total)
        assert not last.truncated and last.recipients == full.recipients[-1:]
        with pytest.raises(ValidationFailed):
            service.trace_lot(db.session, lot_id, page=0)
        one, two = (service.trace_lot(db.session, lot_id, limit=1, batch_page=p) for p in (1, 2))
        assert one.total_batches == 2 and one.batch_pages == 2
        assert one.batches + two.batches == full.batches and len(full.batches) == 2
    c = as_role("pharmacist")
    assert c.get(f"/batches/trace?lot_id={lot_id}&page=0").status_code == 400
    html = c.get(f"/batches/trace?lot_id={lot_id}").get_data(as_text=True)
    assert "Who received units (4)" in html and "Batches that used it (2)" in html
    rows = list(
        csv.DictReader(
            io.StringIO(c.get(f"/batches/trace.csv?lot_id={lot_id}").get_data(as_text=True))
        )
    )
    assert len(rows) == total


def test_trace_pages_follow_batches_of_different_sizes_and_the_page_has_no_lot_picker(
    app, as_role, ids
):
    """Pages are cut from each batch's count (only the batches a page falls in are read):
    every page size, read page by page, gives the CSV's rows in the CSV's order, even when a
    page starts inside a batch, spans batches, or a batch used the lot on two lines. The
    traced page does not build the picker over every lot (the API does not either)."""
    from pharmacy.models import BatchLotUsage
    from pharmacy.services import batches as service

    c = as_role("technician")
    for n in (3, 1, 2):  # batches with 3, 1 and 2 recipients
        bid = _released_batch(app, as_role, ids)
        for _ in range(n):
            oid = make_order(app, quantity=10)
            resp = c.post(f"/batches/{bid}/dispense", data={"order_id": oid, "quantity": "10"})
            assert resp.status_code == 302
    lot_id = ids["lots"]["NTX-25002"]
    with app.app_context():
        uses = db.session.scalars(
            select(BatchLotUsage.batch_id).where(BatchLotUsage.lot_id == lot_id)
        ).all()
        every = list(service.iter_recipients(db.session, lot_id=lot_id))
        assert len(every) == 6 and len(set(uses)) == 3
        for limit in (1, 2, 4, 5, 6, 100):
            trace = service.trace_lot(db.session, lot_id, limit=limit)
            assert trace.total_recipients == 6 and trace.total_batches == 3
            rows = []
            for page in range(1, trace.pages + 1):
                got = service.trace_lot(db.session, lot_id, limit=limit, page=page)
                assert got.truncated == (page < trace.pages)
                rows += got.recipients
            assert rows == every, limit
        beyond = service.trace_lot(db.session, lot_id, limit=4, page=3)
        assert beyond.recipients == [] and not beyond.truncated
    p = as_role("pharmacist")
    traced = p.get(f"/batches/trace?lot_id={lot_id}").get_data(as_text=True)
    assert 'id="lot_id"' not in traced and "Trace another lot" in traced
    assert "Who received units (6)" in traced
    picker = p.get("/batches/trace").get_data(as_text=True)
    assert 'id="lot_id"' in picker and f'value="{lot_id}"' in picker
