"""Row locks on every status change, proven with real parallel connections on PostgreSQL.

Each probe from the attack report: parallel verifies, hold vs cancel, cancel vs hand-out,
parallel formula approval, parallel refills and new versions. Outcomes: no 500 (only domain
errors: 409 "it moved" / 422), exactly one winner where one is possible, and the audit trail's
old values always equal the state the previous change left.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.domain.errors import DomainError
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Formula, Order, Patient, Prescriber, Prescription, User
from pharmacy.services import formulas, orders, prescriptions
from tests.batch_helpers import seed
from tests.rx_helpers import make_patient, make_prescriber, rx_input
from tests.support import signoff

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(app, backend, pharmacy):
    if backend != "postgresql":
        pytest.skip("real parallel transactions need PostgreSQL (TEST_DATABASE_URL)")
    return app


def _parallel(app, works):
    """Run each work() in its own thread, released together; returns (results, errors).
    Any exception other than a DomainError (a 409/422 for the user) fails the test."""
    barrier = threading.Barrier(len(works))
    results, errors = [None] * len(works), [None] * len(works)

    def run(i):
        with app.app_context():
            barrier.wait()
            try:
                results[i] = works[i]()
            except DomainError as exc:
                errors[i] = exc
            except Exception as exc:  # noqa: BLE001 - a 500 in the app: fail below
                errors[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(works))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock?)"
    crashes = [e for e in errors if e is not None and not isinstance(e, DomainError)]
    assert crashes == [], crashes
    return results, errors


def _user(s, name):
    return s.scalar(select(User).where(User.username == name))


def _rx(app, pharmacy, **kw) -> int:
    with app.app_context(), unit_of_work() as s:
        actor = s.get(User, pharmacy["staff"])
        patient = s.scalar(select(Patient).limit(1)) or make_patient(s, actor)
        prescriber = s.scalar(select(Prescriber).limit(1)) or make_prescriber(s, actor)
        pid, did = patient.id, prescriber.id
        return prescriptions.enter_prescription(s, actor, rx_input(pid, did, **kw)).id


def _verify(app, rx_id):
    with app.app_context(), unit_of_work() as s:
        prescriptions.verify(s, _user(s, "pharmacist"), s.get(Prescription, rx_id), sign=signoff())


def _events(app, entity, entity_id, prefix):
    with app.app_context():
        return db.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.entity == entity,
                AuditEvent.entity_id == str(entity_id),
                AuditEvent.action.startswith(prefix),
            )
            .order_by(AuditEvent.id)
        ).all()


def _old_values_follow(events):
    """Every change's old status is the status the change before it left."""
    for before, after in zip(events, events[1:], strict=False):
        assert after.old["status"] == before.new["status"], (before.new, after.old)


def test_twenty_parallel_verifies_of_one_prescription_verify_it_once(pg, pharmacy):
    rx_id = _rx(pg, pharmacy)

    def verify():
        with unit_of_work() as s:
            prescriptions.verify(
                s, _user(s, "pharmacist"), s.get(Prescription, rx_id), sign=signoff()
            )

    _results, errors = _parallel(pg, [verify] * 20)
    assert sum(e is None for e in errors) == 1
    assert all("verified" in str(e) for e in errors if e is not None)
    assert len(_events(pg, "prescription", rx_id, "prescription.verify")) == 1


def test_hold_and_cancel_interleave_one_after_the_other(pg, pharmacy):
    rx_id = _rx(pg, pharmacy)
    _verify(pg, rx_id)

    def change(target):
        def work():
            with unit_of_work() as s:
                prescriptions.change_status(
                    s, _user(s, "pharmacist"), s.get(Prescription, rx_id), target, "phone call"
                )

        return work

    _parallel(pg, [change("on_hold"), change("cancelled")] * 3)
    events = _events(pg, "prescription", rx_id, "prescription.")
    _old_values_follow(events)
    with pg.app_context():
        assert db.session.get(Prescription, rx_id).status == events[-1].new["status"]


def test_a_cancel_never_overwrites_a_hand_out(pg, pharmacy):
    for _round in range(3):
        rx_id = _rx(pg, pharmacy)
        _verify(pg, rx_id)
        with pg.app_context(), unit_of_work() as s:
            order = s.scalar(select(Order).where(Order.prescription_id == rx_id))
            orders.transition(s, _user(s, "pharmacist"), order, "ready")
            order_id = order.id

        def hand_out(order_id=order_id):
            with unit_of_work() as s:
                orders.transition(
                    s,
                    _user(s, "pharmacist"),
                    s.get(Order, order_id),
                    "dispensed",
                    dispensed_via="pickup",
                )

        def cancel(rx_id=rx_id):
            with unit_of_work() as s:
                prescriptions.change_status(
                    s,
                    _user(s, "pharmacist"),
                    s.get(Prescription, rx_id),
                    "cancelled",
                    "patient stopped",
                )

        _parallel(pg, [hand_out, cancel])
        events = _events(pg, "rx_order", order_id, "order.transition")
        _old_values_follow(events)
        with pg.app_context():
            final = db.session.get(Order, order_id).status
        assert final in ("dispensed", "cancelled")
        if final == "dispensed":  # handed out: no cancel came after it
            assert events[-1].new["status"] == "dispensed"


def test_parallel_formula_approval_approves_once(pg, pharmacy):
    ids = seed(pg)
    with pg.app_context(), unit_of_work() as s:
        draft = formulas.new_version(s, _user(s, "pharmacist"), s.get(Formula, ids["cap"]))
        draft.api_tolerance_percent = Decimal("5")  # required for approval since weighing controls
        draft_id = draft.id

    def approve():
        with unit_of_work() as s:
            formulas.approve(s, _user(s, "checker"), s.get(Formula, draft_id), sign=signoff())

    _results, errors = _parallel(pg, [approve] * 4)
    assert sum(e is None for e in errors) == 1
    assert len(_events(pg, "formula", draft_id, "formula.approve")) == 1
    retired = _events(pg, "formula", ids["cap"], "formula.retire")
    assert [(e.old, e.new) for e in retired] == [({"status": "approved"}, {"status": "retired"})]


def test_parallel_new_versions_make_one_draft(pg, pharmacy):
    ids = seed(pg)

    def new_version():
        with unit_of_work() as s:
            return formulas.new_version(s, _user(s, "pharmacist"), s.get(Formula, ids["cap"])).id

    results, errors = _parallel(pg, [new_version] * 6)
    assert sum(r is not None for r in results) == 1
    assert all("already has a draft" in str(e) for e in errors if e is not None)


def test_parallel_refills_never_exceed_the_authorised_fills(pg, pharmacy):
    rx_id = _rx(pg, pharmacy, refills_authorized=2)
    _verify(pg, rx_id)
    with pg.app_context(), unit_of_work() as s:
        for order in s.scalars(select(Order).where(Order.prescription_id == rx_id)):
            order.status = "dispensed"

    def refill():
        with unit_of_work() as s:
            return orders.create_refill(
                s, _user(s, "staff"), s.get(Prescription, rx_id)
            ).fill_number

    results, errors = _parallel(pg, [refill] * 10)
    # Two refills remain: exactly fills 2 and 3 are made, each once (no duplicate number).
    assert sorted(r for r in results if r is not None) == [2, 3]
    assert all(isinstance(e, DomainError) for e in errors if e is not None)


def test_a_change_based_on_a_stale_page_answers_409(app, pharmacy, as_role):
    rx_id = _rx(app, pharmacy)
    ph = as_role("pharmacist")
    assert ph.post(f"/prescriptions/{rx_id}/verify", data={}).status_code == 302
    again = ph.post(f"/prescriptions/{rx_id}/verify", data={})
    assert again.status_code == 409
    assert len(_events(app, "prescription", rx_id, "prescription.verify")) == 1
