"""After the fill: the pharmacist's final check, the label print and scan, and the hand-out with
the offer to counsel (services.handout), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.domain.errors import TransitionNotAllowed, ValidationFailed
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Batch, FinalCheck, Handout, LabelScan, Order, User
from pharmacy.services import handout, orders, patients, scan
from tests.batch_helpers import seed
from tests.printing.helpers import filled_order, rx_number
from tests.support import signoff


@pytest.fixture
def ids(app, pharmacy):
    return seed(app)


def _user(s, name: str) -> User:
    return s.scalar(select(User).where(User.username == name))


def _fields(exc) -> set[str]:
    return {e.field for e in exc.value.errors}


def _check(app, oid, who="pharmacist", **kw):
    with app.app_context(), unit_of_work() as s:
        kw.setdefault("sign", signoff())
        return handout.final_check(s, _user(s, who), s.get(Order, oid), **kw).id


def _print_label(as_role, oid) -> bytes:
    resp = as_role("staff").post(f"/print/orders/{oid}/label", data={})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return resp.data


def _scan(app, oid, who="staff"):
    with app.app_context(), unit_of_work() as s:
        order = s.get(Order, oid)
        scan.verify_label_scan(s, _user(s, who), order, order.number, None)


def _hand_out(app, oid, who="staff", **kw):
    data = handout.HandoutInput(
        method=kw.pop("method", "pickup"), counsel_outcome=kw.pop("counsel", "declined"), **kw
    )
    with app.app_context(), unit_of_work() as s:
        return handout.hand_out(s, _user(s, who), s.get(Order, oid), data).id


def _status(app, oid) -> str:
    with app.app_context():
        return db.session.get(Order, oid).status


def test_only_a_pharmacist_makes_the_final_check_and_it_is_recorded(app, as_role, ids):
    oid, _ = filled_order(app, as_role, ids, check=False)
    for who in ("technician", "staff"):
        with pytest.raises(TransitionNotAllowed, match="only a pharmacist"):
            _check(app, oid, who)
    # Nothing may be labelled before the check (the label carries the checker's initials).
    resp = as_role("staff").post(f"/print/orders/{oid}/label", data={})
    assert resp.status_code == 409 and "final check" in resp.get_data(as_text=True)
    number = rx_number(app, oid)
    with app.app_context():
        view = handout.check_view_dict(handout.check_view(db.session, db.session.get(Order, oid)))
        assert view["can_pass"] and view["discrepancies"] == []
        assert view["label"]["batch_numbers"] == [b["batch_number"] for b in view["batches"]]
    check_id = _check(app, oid, notes="looks right")
    assert _status(app, oid) == "checked"
    with app.app_context():
        row = db.session.get(FinalCheck, check_id)
        assert row.checked_by.username == "pharmacist"
        assert row.compared["rx"]["rx_number"] == number
        assert row.compared["batches"][0]["quantity"] == "30"
        assert row.compared["label"]["quantity"] == "30"
        initials = row.checked_by.initials
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "order.final_check", AuditEvent.entity_id == str(oid)
            )
        )
        assert event.new["final_check_id"] == check_id
    text = " ".join(
        p.extract_text() for p in PdfReader(io.BytesIO(_print_label(as_role, oid))).pages
    )
    assert f"RPh: {initials}" in text


def test_final_check_refuses_an_expired_batch(app, as_role, ids):
    oid, bid = filled_order(app, as_role, ids, check=False)
    with app.app_context(), unit_of_work() as s:
        s.get(Batch, bid).beyond_use_date = date.today() - timedelta(days=1)
    with pytest.raises(ValidationFailed) as exc:
        _check(app, oid)
    assert "passed its beyond-use date" in exc.value.errors[0].message
    assert _fields(exc) == {"product", "label"} or _fields(exc) == {"product"}
    assert _status(app, oid) == "ready"


def test_final_check_needs_an_override_for_a_new_contraindication(app, as_role, ids):
    oid, _ = filled_order(app, as_role, ids, check=False)
    with app.app_context(), unit_of_work() as s:
        s.get(Order, oid).prescription.patient.medications = "Robitussin AC 10 mL at night"
    with pytest.raises(ValidationFailed) as exc:
        _check(app, oid)
    assert _fields(exc) == {"override_reason"}
    assert "opioid comedication" in exc.value.errors[0].message
    _check(app, oid, override_reason="stopped 3 weeks ago, confirmed with patient")
    with app.app_context():
        rx = db.session.get(Order, oid).prescription
        finding = next(f for f in rx.findings if f.code == "opioid_comedication")
        assert finding.overridden_by.username == "pharmacist"


def test_hand_out_needs_label_printed_after_the_check_then_scanned(app, as_role, ids):
    oid, _ = filled_order(app, as_role, ids)
    assert _status(app, oid) == "checked"
    with pytest.raises(ValidationFailed) as exc:
        _hand_out(app, oid)
    assert _fields(exc) == {"label"}
    _print_label(as_role, oid)
    with pytest.raises(ValidationFailed) as exc:
        _hand_out(app, oid)
    assert _fields(exc) == {"scan"}
    # Staff may not waive the scan; a pharmacist must, with a reason.
    with pytest.raises(ValidationFailed) as exc:
        _hand_out(app, oid, scan_waived_reason="scanner broken today")
    assert _fields(exc) == {"scan_waived_reason"}
    _scan(app, oid)
    # Counselling accepted is given by a pharmacist.
    with pytest.raises(ValidationFailed) as exc:
        _hand_out(app, oid, counsel="accepted")
    assert _fields(exc) == {"counsel_outcome"}
    with pytest.raises(ValidationFailed) as exc:
        _hand_out(app, oid, counsel="")
    assert _fields(exc) == {"counsel_outcome"}
    assert _status(app, oid) == "checked"
    hid = _hand_out(app, oid, method="shipped", counsel_notes="declined by phone")
    with app.app_context():
        row = db.session.get(Handout, hid)
        order = db.session.get(Order, oid)
        assert (order.status, order.dispensed_via) == ("dispensed", "shipped")
        assert row.label_scan_id == db.session.scalar(
            select(LabelScan.id).where(LabelScan.order_id == oid)
        )
        assert (row.counsel_outcome, row.counsel_notes) == ("declined", "declined by phone")
        assert row.counselled_by.username == "staff" and row.scan_waived_reason is None
        assert handout.handout_dict(row)["counsel_outcome"] == "declined"
        state = handout.handout_status_dict(handout.handout_status(db.session, order))
        assert state["missing"] == [] and state["final_check"]["checked_by"] == "pharmacist"
        moves = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "order.transition", AuditEvent.entity_id == str(oid))
            .order_by(AuditEvent.id)
        ).all()
        assert [(e.old["status"], e.new["status"]) for e in moves][-2:] == [
            ("ready", "checked"),
            ("checked", "dispensed"),
        ]
    with pytest.raises(TransitionNotAllowed, match="final"):
        _hand_out(app, oid)


def test_a_pharmacist_may_hand_out_unscanned_with_a_reason_and_counsel(app, as_role, ids):
    oid, _ = filled_order(app, as_role, ids)
    _print_label(as_role, oid)
    with pytest.raises(ValidationFailed) as exc:
        _hand_out(app, oid, who="pharmacist", scan_waived_reason="broken")
    assert _fields(exc) == {"scan_waived_reason"}
    hid = _hand_out(
        app,
        oid,
        who="pharmacist",
        counsel="accepted",
        counsel_notes="bedtime dosing, vivid dreams",
        scan_waived_reason="label barcode smudged; checked by eye",
    )
    with app.app_context():
        row = db.session.get(Handout, hid)
        assert row.label_scan_id is None and row.scan_waived_by.username == "pharmacist"
        assert row.counsel_outcome == "accepted" and row.counselled_by.username == "pharmacist"


def test_a_scan_before_the_label_print_does_not_count(app, as_role, ids):
    oid, _ = filled_order(app, as_role, ids)
    _scan(app, oid)  # an old label: scanned before this label was printed
    _print_label(as_role, oid)
    with app.app_context():
        state = handout.handout_status(db.session, db.session.get(Order, oid))
        assert state.scan is None and state.missing == ["the label's barcode scanned"]
    with pytest.raises(ValidationFailed) as exc:
        _hand_out(app, oid)
    assert _fields(exc) == {"scan"}


def test_no_status_change_skips_an_event(app, as_role, ids):
    oid, _ = filled_order(app, as_role, ids, check=False)
    with app.app_context(), unit_of_work() as s:
        order = s.get(Order, oid)
        for target in ("checked", "dispensed"):
            with pytest.raises(TransitionNotAllowed):
                orders.change_status(s, _user(s, "pharmacist"), order, target, "skip")
            with pytest.raises(TransitionNotAllowed, match="its own step"):
                orders.transition(s, _user(s, "pharmacist"), order, target, dispensed_via="pickup")
    assert _status(app, oid) == "ready"


def test_a_recall_held_order_is_not_resumed_by_hand(app, as_role, ids):
    oid, bid = filled_order(app, as_role, ids, check=False)
    resp = as_role("checker").post(f"/batches/{bid}/recall", data={"reason": "supplier recall"})
    if resp.status_code != 302:  # the releasing pharmacist may recall as well
        resp = as_role("pharmacist").post(f"/batches/{bid}/recall", data={"reason": "supplier"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    assert _status(app, oid) == "on_hold"
    page = as_role("pharmacist").get(f"/orders/{oid}").get_data(as_text=True)
    assert 'data-move="ready"' not in page and 'data-testid="recall-hold"' in page
    with app.app_context(), unit_of_work() as s:
        order = s.get(Order, oid)
        assert orders.manual_moves(s, order, frozenset({"pharmacist"})) == ["cancelled"]
        with pytest.raises(TransitionNotAllowed, match="filled from another batch"):
            orders.change_status(s, _user(s, "pharmacist"), order, "ready", "resume")


def test_a_recall_holds_a_checked_order_not_yet_handed_out(app, as_role, ids):
    oid, bid = filled_order(app, as_role, ids)  # checked
    resp = as_role("pharmacist").post(f"/batches/{bid}/recall", data={"reason": "supplier"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    with app.app_context():
        order = db.session.get(Order, oid)
        assert (order.status, order.held_from) == ("on_hold", "checked")
    with pytest.raises(TransitionNotAllowed):
        _hand_out(app, oid)


def test_a_contraindication_found_after_the_check_stops_the_hand_out(app, as_role, ids):
    oid, _ = filled_order(app, as_role, ids)
    _print_label(as_role, oid)
    _scan(app, oid)
    with app.app_context(), unit_of_work() as s:
        staff = _user(s, "staff")
        patient = s.get(Order, oid).prescription.patient
        data = patients.PatientInput(
            first_name=patient.first_name,
            last_name=patient.last_name,
            date_of_birth=patient.date_of_birth,
            sex=patient.sex,
            medications="Hydromet 5 mL at night",
        )
        patients.update_patient(s, staff, patient, data)
    page = as_role("staff").get(f"/orders/{oid}").get_data(as_text=True)
    assert 'data-testid="new-findings"' in page and 'data-code="opioid_comedication"' in page
    with pytest.raises(ValidationFailed) as exc:
        _hand_out(app, oid)
    assert _fields(exc) == {"findings"}
    with pytest.raises(ValidationFailed) as exc:
        _hand_out(app, oid, who="pharmacist")
    assert _fields(exc) == {"override_reason"}
    _hand_out(app, oid, who="pharmacist", override_reason="cough syrup stopped, confirmed")
    assert _status(app, oid) == "dispensed"
