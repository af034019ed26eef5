"""Patients, prescribers, prescription intake, screening, verification and the order workflow."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from pharmacy.database import unit_of_work
from pharmacy.domain.errors import TransitionNotAllowed, ValidationFailed
from pharmacy.domain.rxnumber import format_rx_number, parse_rx_number
from pharmacy.extensions import db
from pharmacy.models import (
    AuditEvent,
    Order,
    Patient,
    Prescriber,
    Prescription,
    ScreeningFinding,
    SequenceCounter,
    TitrationStep,
    User,
)
from pharmacy.services import orders, patients, prescriptions, rescreen
from tests.conftest import PG_URL
from tests.rx_helpers import TODAY, make_patient, make_prescriber, rx_input
from tests.support import signoff


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _fields(exc: pytest.ExceptionInfo) -> set[str]:
    return {e.field for e in exc.value.errors}


@pytest.fixture
def setup(ctx):
    with unit_of_work() as s:
        p = make_patient(s, ctx["pharmacist"])
        doc = make_prescriber(s, ctx["pharmacist"])
    return ctx, p.id, doc.id


def _enter(ctx, pid, did, who="staff", **kw) -> Prescription:
    with unit_of_work() as s:
        return prescriptions.enter_prescription(s, ctx[who], rx_input(pid, did, **kw))


# --- patients and prescribers ------------------------------------------------------------------


def test_patient_create_and_edit_are_audited_with_old_and_new(ctx):
    with unit_of_work() as s:
        p = make_patient(s, ctx["staff"])
    created = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "patient.create"))
    assert created.actor == "staff" and created.old is None
    assert created.new["last_name"] == "Ellis" and created.new["date_of_birth"] == "1961-04-12"
    with unit_of_work() as s:
        data = patients.PatientInput(
            "Margaret",
            "Ellis",
            date(1961, 4, 12),
            "female",
            phone="217-555-0191",
            medications="Levothyroxine 75 mcg\nTramadol 50 mg",
            allergies="Penicillin",
            liver_disease="other",
        )
        patients.update_patient(s, ctx["pharmacist"], p, data)
    ev = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "patient.update"))
    assert ev.actor == "pharmacist"
    assert ev.old == {"medications": "Levothyroxine 75 mcg", "liver_disease": "none"}
    assert ev.new == {
        "medications": "Levothyroxine 75 mcg\nTramadol 50 mg",
        "liver_disease": "other",
    }
    assert db.session.get(Patient, p.id).medication_list == [
        "Levothyroxine 75 mcg",
        "Tramadol 50 mg",
    ]


def test_bad_patient_names_every_field_and_writes_nothing(ctx):
    audits = _count(AuditEvent)
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        patients.create_patient(
            s,
            ctx["staff"],
            patients.PatientInput(
                "", "X", TODAY + timedelta(days=1), "robot", phone="12", liver_disease="bad"
            ),
        )
    assert _fields(exc) == {"first_name", "date_of_birth", "sex", "phone", "liver_disease"}
    assert _count(Patient) == 0 and _count(AuditEvent) == audits


def test_prescriber_npi_check_digit_and_uniqueness(ctx):
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        make_prescriber(s, ctx["staff"], npi="1234567890")
    assert _fields(exc) == {"npi"} and "check-digit" in exc.value.errors[0].message
    with unit_of_work() as s:
        make_prescriber(s, ctx["staff"])
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        make_prescriber(s, ctx["staff"])
    assert "already recorded" in exc.value.errors[0].message
    assert _count(Prescriber) == 1


def test_patient_search_by_name_prefix_dob_and_phone(ctx):
    with unit_of_work() as s:
        make_patient(s, ctx["staff"])
        make_patient(
            s,
            ctx["staff"],
            last="Ellison",
            first="Bob",
            phone="(312) 555 7000",
            date_of_birth=date(1980, 1, 2),
        )
        make_patient(s, ctx["staff"], last="Okoro", first="James", phone="217 555 0173")
    names = lambda q: [p.last_name for p in patients.search_patients(db.session, q)]  # noqa: E731
    assert names("ell") == ["Ellis", "Ellison"]
    assert names("ELLIS") == ["Ellis", "Ellison"]
    assert names("ellis, marg") == ["Ellis"]
    assert names("james okoro") == ["Okoro"]
    assert names("1980-01-02") == ["Ellison"] == names("01/02/1980")
    assert names("217-555-0173") == ["Okoro"] == names("5550173")
    assert names("zzz") == []


# --- intake ----------------------------------------------------------------------------------


def test_intake_numbers_screens_and_creates_the_first_order(setup):
    ctx, pid, did = setup
    rx = _enter(
        ctx,
        pid,
        did,
        titration=[prescriptions.StepInput(D("1.5"), 14), prescriptions.StepInput(D("3"), 14)],
    )
    rx2 = _enter(ctx, pid, did)
    assert (
        rx.rx_number
        == format_rx_number(1)
        == "RX000001" + parse_rx_number(rx.rx_number).__class__(1).base[-1]
    )
    assert parse_rx_number(rx2.rx_number).sequence == 2
    rx = db.session.get(Prescription, rx.id)
    # A titration's sig gives the steps before the maintenance dose, never only the top dose.
    assert rx.status == "entered" and rx.directions == (
        "Follow the titration schedule, by mouth once daily at bedtime: days 1-14 take "
        "1 capsule (1.5 mg); days 15-28 take 1 capsule (3 mg); from day 29 take 1 capsule (4.5 mg)."
    )
    assert rx.expires_on == date(
        rx.date_written.year + 1, rx.date_written.month, rx.date_written.day
    ) or (rx.date_written.month == 2 and rx.date_written.day == 29)
    assert [(s.strength_mg, s.days) for s in rx.titration_steps] == [(D("1.5"), 14), (D("3"), 14)]
    assert rx.quantity_unit == "capsule" and rx.icd10_code == "M79.7"
    [order] = rx.orders
    assert (order.fill_number, order.status, order.quantity) == (1, "received", D("30"))
    # the second one is a duplicate active prescription: stored as a warning
    codes = {(f.code, f.severity) for f in db.session.get(Prescription, rx2.id).findings}
    assert ("duplicate_prescription", "warning") in codes
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions.count("prescription.create") == 2 and actions.count("order.create") == 2
    create = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "prescription.create", AuditEvent.entity_id == str(rx.id)
        )
    )
    assert create.actor == "staff" and create.new["strength_mg"] == "4.5"
    assert create.new["titration"][0] == {"strength_mg": "1.5", "units_per_dose": None, "days": 14}


def test_a_titration_step_in_units_is_saved_with_its_dose_in_mg(setup):
    ctx, pid, did = setup
    rx = _enter(
        ctx,
        pid,
        did,
        strength_mg=D("1.5"),
        dose_mg=D("4.5"),
        quantity=D("132"),  # 14 + 28 capsules for the plan, then 3 a day
        titration=[
            prescriptions.StepInput(None, 14, units_per_dose=D("1")),
            prescriptions.StepInput(None, 14, units_per_dose=D("2")),
        ],
    )
    rx = db.session.get(Prescription, rx.id)
    assert [(s.strength_mg, s.units_per_dose, s.days) for s in rx.titration_steps] == [
        (D("1.5"), 1, 14),
        (D("3"), 2, 14),
    ]


def test_bad_prescription_names_each_rule_and_writes_nothing(setup):
    ctx, pid, did = setup
    before = {
        m: _count(m)
        for m in (Prescription, Order, AuditEvent, ScreeningFinding, TitrationStep, SequenceCounter)
    }
    cases = [
        (dict(patient_id=None, prescriber_id=None), {"patient_id", "prescriber_id"}),
        (dict(prescriber_id=9999), {"prescriber_id"}),
        (dict(date_written=TODAY + timedelta(days=1)), {"date_written"}),
        (dict(date_written=TODAY - timedelta(days=400)), {"date_written"}),
        (dict(quantity=D("0"), strength_mg=D("-1")), {"quantity", "strength_mg"}),
        (dict(refills_authorized=12), {"refills_authorized"}),
        (dict(refills_authorized=-1), {"refills_authorized"}),
        (
            dict(
                titration=[prescriptions.StepInput(D("0"), 14), prescriptions.StepInput(D("3"), 0)]
            ),
            {"titration[0].strength_mg", "titration[1].days"},
        ),
        (dict(dosage_form="tablet", icd10_code="fibro"), {"dosage_form", "icd10_code"}),
    ]
    for kw, fields in cases:
        with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
            args = {"patient_id": pid, "prescriber_id": did, **kw}
            prescriptions.enter_prescription(s, ctx["staff"], rx_input(**args))
        assert _fields(exc) == fields, kw
    assert {m: _count(m) for m in before} == before


# --- verification ----------------------------------------------------------------------------


def test_opioid_blocks_verification_until_a_pharmacist_overrides_with_a_reason(setup):
    ctx, pid, did = setup
    with unit_of_work() as s:
        patients.update_patient(
            s,
            ctx["staff"],
            db.session.get(Patient, pid),
            patients.PatientInput(
                "Margaret", "Ellis", date(1961, 4, 12), "female", medications="Ultram 50 mg PRN"
            ),
        )
    rx = _enter(ctx, pid, did)
    [finding] = db.session.get(Prescription, rx.id).findings
    assert (finding.code, finding.severity) == ("opioid_comedication", "contraindicated")
    assert "tramadol" in finding.message

    rx = db.session.get(Prescription, rx.id)
    audits = _count(AuditEvent)
    with pytest.raises(TransitionNotAllowed, match="only a pharmacist"), unit_of_work() as s:
        prescriptions.verify(
            s, ctx["technician"], rx, "stopped tramadol two weeks ago", sign=signoff()
        )
    rx = db.session.get(Prescription, rx.id)
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        prescriptions.verify(s, ctx["pharmacist"], rx, "  ", sign=signoff())
    assert _fields(exc) == {"override_reason"}
    rx = db.session.get(Prescription, rx.id)
    assert rx.status == "entered" and rx.findings[0].overridden_at is None
    assert _count(AuditEvent) == audits

    with unit_of_work() as s:
        prescriptions.verify(
            s, ctx["pharmacist"], rx, "Patient stopped tramadol 14 days ago", sign=signoff()
        )
    rx = db.session.get(Prescription, rx.id)
    assert rx.status == "verified" and rx.verified_by_id == ctx["pharmacist"].id
    assert rx.override_reason == "Patient stopped tramadol 14 days ago"
    f = rx.findings[0]
    assert f.overridden_by_id == ctx["pharmacist"].id and f.override_reason == rx.override_reason
    assert rx.orders[0].status == "verified"
    ov = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "screening.override"))
    assert ov.actor == "pharmacist" and ov.reason == rx.override_reason
    assert ov.old["overridden"] is False and ov.new["overridden"] is True
    assert ov.new["code"] == "opioid_comedication"


def test_refused_finding_is_never_overridable(setup):
    ctx, pid, did = setup
    rx = _enter(ctx, pid, did, strength_mg=D("7"))
    assert db.session.get(Prescription, rx.id).findings[0].severity == "refused"
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        prescriptions.verify(
            s,
            ctx["pharmacist"],
            db.session.get(Prescription, rx.id),
            "I really want to override this",
            sign=signoff(),
        )
    assert _fields(exc) == {"findings"}
    with unit_of_work() as s:
        prescriptions.reject(
            s, ctx["pharmacist"], db.session.get(Prescription, rx.id), "Not LDN; called prescriber"
        )
    rx = db.session.get(Prescription, rx.id)
    assert rx.status == "rejected" and rx.orders[0].status == "cancelled"


def test_verification_screens_again_when_the_patient_changed(setup):
    ctx, pid, did = setup
    rx = _enter(ctx, pid, did)
    assert db.session.get(Prescription, rx.id).findings == []
    with unit_of_work() as s:
        patients.update_patient(
            s,
            ctx["staff"],
            db.session.get(Patient, pid),
            patients.PatientInput(
                "Margaret", "Ellis", date(1961, 4, 12), "female", liver_disease="acute_hepatitis"
            ),
        )
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        prescriptions.verify(
            s, ctx["pharmacist"], db.session.get(Prescription, rx.id), sign=signoff()
        )
    assert _fields(exc) == {"override_reason"}


# --- orders ----------------------------------------------------------------------------------


def _verified(ctx, pid, did, **kw) -> Order:
    rx = _enter(ctx, pid, did, **kw)
    with unit_of_work() as s:
        prescriptions.verify(
            s, ctx["pharmacist"], db.session.get(Prescription, rx.id), sign=signoff()
        )
    return db.session.get(Prescription, rx.id).orders[0]


def _move(ctx, who, order_id, target, **kw):
    with unit_of_work() as s:
        return orders.transition(s, ctx[who], s.get(Order, order_id), target, **kw)


def test_order_walks_the_workflow_with_roles_enforced(setup):
    ctx, pid, did = setup
    order = _verified(ctx, pid, did, refills_authorized=0)
    oid = order.id
    with pytest.raises(TransitionNotAllowed, match="pharmacist or technician"):
        _move(ctx, "staff", oid, "in_compounding")
    _move(ctx, "technician", oid, "in_compounding")
    _move(ctx, "technician", oid, "quality_check")
    with pytest.raises(TransitionNotAllowed, match="only a pharmacist"):
        _move(ctx, "technician", oid, "ready")
    with pytest.raises(ValidationFailed) as exc:
        _move(ctx, "staff", oid, "on_hold")
    assert _fields(exc) == {"reason"}
    _move(ctx, "staff", oid, "on_hold", reason="patient asked to wait")
    assert db.session.get(Order, oid).held_from == "quality_check"
    with pytest.raises(TransitionNotAllowed):
        _move(ctx, "pharmacist", oid, "ready")  # a hold cannot skip a step
    _move(ctx, "technician", oid, "quality_check")
    _move(ctx, "pharmacist", oid, "ready")
    # Final check and hand-out are their own steps (services.handout), never a status change.
    for target in ("checked", "dispensed"):
        with pytest.raises(TransitionNotAllowed, match="its own step"):
            _move(ctx, "pharmacist", oid, target, dispensed_via="pickup")
    assert db.session.get(Order, oid).status == "ready"
    moves = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "order.transition", AuditEvent.entity_id == str(oid))
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.old["status"], e.new["status"], e.actor) for e in moves] == [
        ("received", "verified", "pharmacist"),
        ("verified", "in_compounding", "technician"),
        ("in_compounding", "quality_check", "technician"),
        ("quality_check", "on_hold", "staff"),
        ("on_hold", "quality_check", "technician"),
        ("quality_check", "ready", "pharmacist"),
    ]
    assert moves[3].reason == "patient asked to wait"


def test_unverified_prescription_blocks_order_verification(setup):
    ctx, pid, did = setup
    rx = _enter(ctx, pid, did)
    with pytest.raises(TransitionNotAllowed, match="verifies it first"), unit_of_work() as s:
        order = s.get(Prescription, rx.id).orders[0]
        rescreen.verify_refill(s, ctx["pharmacist"], order)


def test_refills_run_out_and_expiry_is_enforced(setup):
    ctx, pid, did = setup
    order = _verified(ctx, pid, did, refills_authorized=1)
    rx_id = order.prescription_id
    with unit_of_work() as s:
        refill = orders.create_refill(s, ctx["staff"], s.get(Prescription, rx_id))
    assert (refill.fill_number, refill.status) == (2, "received")
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        orders.create_refill(s, ctx["staff"], s.get(Prescription, rx_id))
    assert "all 2 authorised fills" in exc.value.errors[0].message
    # a cancelled fill gives its fill back
    _move(ctx, "staff", refill.id, "cancelled", reason="duplicate request")
    rx = db.session.get(Prescription, rx_id)
    with pytest.raises(ValidationFailed) as exc, unit_of_work() as s:
        orders.create_refill(s, ctx["staff"], rx, today=rx.date_written + timedelta(days=400))
    assert "expired" in exc.value.errors[0].message
    assert _count(Order) == 2


# --- look-up and queue -----------------------------------------------------------------------


def test_lookup_by_rx_number_name_dob_and_phone(setup):
    ctx, pid, did = setup
    rx = _enter(ctx, pid, did)
    number = rx.rx_number
    find = lambda q: [o.number for o in orders.lookup(db.session, q).orders]  # noqa: E731
    assert find(number) == [f"{number}-01"]
    assert find(number.lower()) == find(number[:-1]) == find(f"{number}-01") == [f"{number}-01"]
    assert find("ell") == find("1961-04-12") == find("555-0191") == [f"{number}-01"]
    assert find(f"{number}-02") == [] and find("nobody") == [] and find("") == []
    wrong = number[:-1] + ("A" if number[-1] != "A" else "B")
    with pytest.raises(ValidationFailed, match="check letter"):
        orders.lookup(db.session, wrong)


def test_lookup_is_paginated_with_a_keyset(setup):
    ctx, pid, did = setup
    for _ in range(5):
        _enter(ctx, pid, did)
    page1 = orders.lookup(db.session, "ellis", limit=2)
    page2 = orders.lookup(db.session, "ellis", before=page1.next_before, limit=2)
    page3 = orders.lookup(db.session, "ellis", before=page2.next_before, limit=2)
    ids = [o.id for p in (page1, page2, page3) for o in p.orders]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5 and page3.next_before is None


def test_queue_lists_oldest_first_and_puts_each_roles_work_first(setup):
    ctx, pid, did = setup
    first, second = _enter(ctx, pid, did), _enter(ctx, pid, did)
    rows, _ = orders.queue(db.session, "received")
    assert [o.prescription_id for o in rows] == [first.id, second.id]
    assert orders.queue_counts(db.session)["received"] == 2
    assert orders.queue_order_for(frozenset({"technician"}))[:2] == ["verified", "in_compounding"]
    assert orders.queue_order_for(frozenset({"pharmacist"}))[:2] == ["received", "quality_check"]


# --- numbering under concurrency -------------------------------------------------------------


@pytest.mark.postgres
def test_rx_numbers_stay_unique_under_parallel_intake(app, pharmacy, backend):
    if backend != "postgresql" or not PG_URL:
        pytest.skip("needs TEST_DATABASE_URL (PostgreSQL) for real parallel connections")
    with app.app_context(), unit_of_work() as s:
        actor = s.get(User, pharmacy["staff"])
        pid, did = make_patient(s, actor).id, make_prescriber(s, actor).id
    threads_n, each = 8, 5
    barrier = threading.Barrier(threads_n)
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker():
        try:
            with app.app_context():
                barrier.wait()
                for _ in range(each):
                    with unit_of_work() as s:
                        rx = prescriptions.enter_prescription(
                            s, s.get(User, pharmacy["staff"]), rx_input(pid, did)
                        )
                        number = rx.rx_number
                    with lock:
                        numbers.append(number)
                db.session.remove()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    sequences = sorted(parse_rx_number(n).sequence for n in numbers)
    assert sequences == list(range(1, threads_n * each + 1))
    with app.app_context():
        assert db.session.get(SequenceCounter, "rx").value == threads_n * each
