"""Complaints and adverse events: recorded against a batch or an order, reviewed by a
pharmacist (trace or recall from there), and reported as a MedWatch 3500-style PDF."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.domain import complaints as rules
from pharmacy.domain.errors import TransitionNotAllowed, ValidationFailed
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Batch, Complaint, Order, User
from pharmacy.services import complaints
from tests.batch_helpers import seed
from tests.printing.helpers import filled_order
from tests.support import form_error

TODAY = date.today()


@pytest.fixture
def ids(app, pharmacy):
    return seed(app)


def _user(s, name):
    return s.scalar(select(User).where(User.username == name))


def _input(**kw) -> complaints.ReportInput:
    values = dict(
        kind="adverse_event",
        severity="severe",
        reporter_name="Dr Helen Park",
        reporter_role="prescriber",
        event_date=TODAY - timedelta(days=3),
        received_on=TODAY - timedelta(days=1),
        description="Vivid nightmares and insomnia for three nights after starting.",
        reporter_contact="555-0100",
    )
    values.update(kw)
    return complaints.ReportInput(**values)


def _numbers(app, oid, bid):
    with app.app_context():
        return db.session.get(Order, oid).number, db.session.get(Batch, bid).batch_number


def test_report_rules_name_each_field():
    facts = rules.ReportFacts(
        "rumour", "awful", " ", "neighbour", TODAY + timedelta(1), None, "bad"
    )
    fields = {e.field for e in rules.problems(facts, TODAY)}
    assert fields == {
        "kind",
        "severity",
        "reporter_name",
        "reporter_role",
        "event_date",
        "received_on",
        "description",
    }
    late = rules.ReportFacts(
        "complaint", "mild", "Ann", "patient", TODAY, TODAY - timedelta(1), "Capsules were crushed"
    )
    assert [(e.field, e.message) for e in rules.problems(late, TODAY)] == [
        ("received_on", "cannot be before the event happened")
    ]
    assert rules.is_serious("life_threatening") and not rules.is_serious("moderate")


def test_an_order_names_its_batch_and_the_report_is_audited(app, as_role, ids):
    oid, bid = filled_order(app, as_role, ids)
    number, _ = _numbers(app, oid, bid)
    with app.app_context(), unit_of_work() as s:
        row = complaints.record(s, _user(s, "staff"), _input(order_number=number.lower()))
        cid = row.id
    with app.app_context():
        row = db.session.get(Complaint, cid)
        assert (row.order_id, row.batch_id, row.status) == (oid, bid, "open")
        ev = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "complaint.record"))
        assert ev.entity_id == str(cid) and ev.new["severity"] == "severe"


def test_unknown_links_are_refused_with_every_field(app, as_role, ids):
    with app.app_context(), unit_of_work() as s, pytest.raises(ValidationFailed) as exc:
        complaints.record(
            s,
            _user(s, "staff"),
            _input(batch_number="NOPE-1", order_number="RX0-01", description="short"),
        )
    fields = [e.field for e in exc.value.errors]
    assert fields == ["description", "batch_number", "order_number"]
    with app.app_context(), unit_of_work() as s, pytest.raises(ValidationFailed) as exc:
        complaints.record(s, _user(s, "staff"), _input())
    assert exc.value.errors[0].field == "batch_number"
    assert _count_complaints(app) == 0


def _count_complaints(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(Complaint.id)).all())


def test_review_with_recall_holds_the_orders_in_one_step(app, as_role, ids):
    oid, bid = filled_order(app, as_role, ids, check=False)
    _, batch_number = _numbers(app, oid, bid)
    with app.app_context(), unit_of_work() as s:
        cid = complaints.record(s, _user(s, "staff"), _input(batch_number=batch_number)).id
    with app.app_context(), unit_of_work() as s:
        row = s.get(Complaint, cid)
        with pytest.raises(TransitionNotAllowed):
            complaints.review(s, _user(s, "technician"), row, "recall", "Confirmed by phone call")
        with pytest.raises(ValidationFailed) as exc:
            complaints.review(s, _user(s, "pharmacist"), row, "destroy", "ok")
        assert {e.field for e in exc.value.errors} == {"action", "notes"}
    with app.app_context(), unit_of_work() as s:
        held = complaints.review(
            s, _user(s, "pharmacist"), s.get(Complaint, cid), "recall", "Several reports: recall"
        )
        assert [o.id for o in held] == [oid]
    with app.app_context():
        row = db.session.get(Complaint, cid)
        assert (row.status, row.review_action) == ("reviewed", "recall")
        assert db.session.get(Batch, bid).status == "recalled"
        assert "report" in db.session.get(Batch, bid).recall_reason
        assert db.session.get(Order, oid).status == "on_hold"
        ev = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "complaint.review"))
        assert ev.new["orders_held"] == [db.session.get(Order, oid).number]
    with app.app_context(), unit_of_work() as s, pytest.raises(TransitionNotAllowed):
        complaints.review(s, _user(s, "pharmacist"), s.get(Complaint, cid), "none", "again, again")


def test_review_with_trace_counts_the_recipients(app, as_role, ids):
    oid, bid = filled_order(app, as_role, ids)
    _, batch_number = _numbers(app, oid, bid)
    with app.app_context(), unit_of_work() as s:
        cid = complaints.record(s, _user(s, "staff"), _input(batch_number=batch_number)).id
        complaints.review(
            s, _user(s, "pharmacist"), s.get(Complaint, cid), "trace", "Check other patients"
        )
    with app.app_context():
        ev = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "complaint.review"))
        assert ev.new == {"status": "reviewed", "action": "trace", "recipients": 1}
        assert db.session.get(Batch, bid).status == "released"  # a trace changes nothing


def test_pages_and_the_medwatch_report(app, as_role, ids):
    oid, bid = filled_order(app, as_role, ids)
    number, batch_number = _numbers(app, oid, bid)
    staff = as_role("staff")
    form = {
        "kind": "adverse_event",
        "order_number": number,
        "reporter_name": "Margaret Ellis",
        "reporter_role": "patient",
        "event_date": (TODAY - timedelta(days=2)).isoformat(),
        "received_on": TODAY.isoformat(),
        "severity": "moderate",
        "description": "Headache and nausea every morning since the first dose.",
    }
    resp = staff.post("/complaints/new", data={**form, "description": "bad"})
    assert resp.status_code == 422
    assert "at least 10 characters" in form_error(resp, "description")
    resp = staff.post("/complaints/new", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    cid = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    assert staff.get(f"/complaints/{cid}/medwatch.pdf").status_code == 403
    assert staff.post(f"/complaints/{cid}/review", data={}).status_code == 403
    ph = as_role("pharmacist")
    resp = ph.post(
        f"/complaints/{cid}/review",
        data={"action": "none", "notes": "Known side effect; counselled"},
    )
    assert resp.status_code == 302
    page = ph.get(f"/complaints/{cid}").get_data(as_text=True)
    assert "Known side effect; counselled" in page and batch_number in page
    resp = ph.get(f"/complaints/{cid}/medwatch.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(resp.data))
    assert reader.pages[0].mediabox.width == 612  # US Letter
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)
    for expected in (
        f"Report C-{cid:05d}",
        "A. Patient information",
        "Patient identifier ME",
        "Adverse event",
        "Not serious — Moderate",
        "Headache and nausea every morning since the first dose.",
        f"Lot (batch) number {batch_number}",
        "Strength 4.5 mg",
        "Margaret Ellis",
        "Known side effect; counselled",
    ):
        assert expected in text, expected
    with app.app_context():
        bud = db.session.get(Batch, bid).beyond_use_date
    assert bud.strftime("%Y") in text


def test_the_json_api_records_reviews_and_reports(app, as_role, api, ids):
    oid, bid = filled_order(app, as_role, ids)
    number, batch_number = _numbers(app, oid, bid)
    staff, pharmacist = api("staff"), api("pharmacist")
    body = {
        "kind": "complaint",
        "severity": "mild",
        "reporter_name": "Margaret Ellis",
        "reporter_role": "patient",
        "event_date": TODAY.isoformat(),
        "received_on": TODAY.isoformat(),
        "description": "Two capsules in the bottle were empty.",
        "order_number": number,
    }
    resp = staff.post("/api/v1/complaints", json={**body, "event_date": 0})
    assert resp.status_code == 422
    assert resp.get_json()["errors"][0]["field"] == "event_date"
    resp = staff.post("/api/v1/complaints", json={**body, "order_number": "RX9-01"})
    assert resp.status_code == 422
    assert resp.get_json()["errors"] == [
        {"field": "order_number", "message": "no order 'RX9-01' (RX…-01)"}
    ]
    resp = staff.post("/api/v1/complaints", json=body)
    assert resp.status_code == 201, resp.get_json()
    out = resp.get_json()
    assert (out["batch_number"], out["order_number"], out["status"]) == (
        batch_number,
        number,
        "open",
    )
    url = resp.headers["Location"]
    review = {"action": "trace", "notes": "Check the fill weights of the batch"}
    assert staff.post(f"{url}/review", json=review).status_code == 403
    resp = pharmacist.post(f"{url}/review", json=review)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["review_action"] == "trace" and resp.get_json()["orders_held"] == []
    assert pharmacist.post(f"{url}/review", json=review).status_code == 409
    resp = pharmacist.get(f"{url}/medwatch.pdf")
    assert resp.status_code == 200
    text = " ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(resp.data)).pages)
    assert "Two capsules in the bottle were empty." in " ".join(text.split())
