"""Users administration and the audit trail: who, what, when, old and new values."""

import pytest
from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, PharmacyProfile, User
from pharmacy.models.audit import AuditTrailIsAppendOnly
from pharmacy.services import audit
from tests.support import login


def test_admin_creates_a_user_with_an_audit_record(app, pharmacy):
    c = app.test_client()
    login(c, "admin")
    resp = c.post(
        "/admin/users/new",
        data={
            "username": "Nina.Tech",
            "full_name": "Nina Patel",
            "initials": "np",
            "password": "Green-kettle-river-8",
            "roles": ["technician"],
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "nina.tech"))
        assert user.roles == {"technician"} and user.initials == "NP"
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "user.create", AuditEvent.entity_id == str(user.id)
            )
        )
        assert event.actor == "admin" and event.old is None
        assert event.new["username"] == "nina.tech" and event.new["roles"] == ["technician"]
        assert "password_hash" not in event.new


def test_duplicate_user_name_is_refused_next_to_the_field(app, pharmacy):
    c = app.test_client()
    login(c, "admin")
    resp = c.post(
        "/admin/users/new",
        data={
            "username": "staff",
            "full_name": "Other",
            "initials": "O",
            "password": "Green-kettle-river-8",
            "roles": ["staff"],
        },
    )
    assert resp.status_code == 422
    assert "&#39;staff&#39; is already taken" in resp.get_data(as_text=True)


def test_profile_edit_records_only_what_changed(app, pharmacy):
    c = app.test_client()
    login(c, "admin")
    resp = c.post(
        "/admin/pharmacy",
        data={
            "name": "Test Compounding Pharmacy",
            "address": "1 Test Street, Springfield",
            "phone": "555-0199",
            "licence_number": "LIC-1",
        },
    )
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(PharmacyProfile.phone)) == "555-0199"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "pharmacy.update"))
        assert event.old["phone"] == "555-0100"
        assert event.new["phone"] == "555-0199"
        assert "name" not in event.new


def test_audit_page_filters_and_paginates(app, pharmacy):
    with app.app_context(), unit_of_work() as s:
        for i in range(60):
            audit.record(s, "test", "thing.touch", "thing", i)
    c = app.test_client()
    login(c, "admin")
    page = c.get("/admin/audit?entity=thing").get_data(as_text=True)
    assert page.count("Thing touch") == 50  # actions read as words
    assert "Older events" in page
    page = c.get("/admin/audit?entity=thing&entity_id=7").get_data(as_text=True)
    assert page.count("Thing touch") == 1
    resp = c.get("/admin/audit?since=not-a-date")
    assert resp.status_code == 422
    assert 'data-field-error="since"' in resp.get_data(as_text=True)


def test_audit_rows_cannot_be_changed_or_deleted(app, pharmacy):
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).limit(1))
        event.action = "tampered"
        with pytest.raises(AuditTrailIsAppendOnly):
            db.session.flush()
        db.session.rollback()
        event = db.session.scalar(select(AuditEvent).limit(1))
        db.session.delete(event)
        with pytest.raises(AuditTrailIsAppendOnly):
            db.session.flush()
        db.session.rollback()


def test_a_failure_mid_use_case_leaves_no_rows_and_no_audit(app, pharmacy):
    with app.app_context():
        before = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
        with pytest.raises(RuntimeError), unit_of_work() as s:
            s.add(PharmacyProfile(name="X", address="Y", phone="Z", licence_number="L"))
            audit.record(s, "test", "pharmacy.create", "pharmacy_profile", None)
            raise RuntimeError("power cut")
        after = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
        assert before == after
        assert len(db.session.scalars(select(PharmacyProfile)).all()) == 1
