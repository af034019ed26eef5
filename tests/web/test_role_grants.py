"""No impersonation: roles are granted by someone else, and each grant records who gave it."""

from __future__ import annotations

from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, User, UserRole
from pharmacy.services import accounts
from tests.support import FAST_HASHER, PASSWORD, form_error, login


def _roles(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).roles


def test_an_admin_cannot_grant_themselves_pharmacist(app, pharmacy, as_role):
    admin = as_role("admin")
    resp = admin.post(
        f"/admin/users/{pharmacy['admin']}", data={"roles": ["admin", "pharmacist"], "active": "y"}
    )
    assert resp.status_code == 422
    assert "cannot grant yourself" in form_error(resp, "roles")
    assert _roles(app, pharmacy["admin"]) == {"admin"}


def test_a_grant_to_a_pharmacist_records_who_granted_it_and_keeps_older_grants(app, pharmacy):
    with app.app_context(), unit_of_work() as s:
        second_id = accounts.create_user(
            s,
            "test",
            accounts.NewUser("second.admin", "Second Admin", "SA", PASSWORD, ("admin",)),
            FAST_HASHER,
        ).id
    c = app.test_client()
    assert login(c, "second.admin").status_code == 302
    resp = c.post(
        f"/admin/users/{pharmacy['technician']}",
        data={"roles": ["technician", "pharmacist"], "active": "y"},
    )
    assert resp.status_code == 302
    with app.app_context():
        rows = {
            r.role: r
            for r in db.session.scalars(
                select(UserRole).where(UserRole.user_id == pharmacy["technician"])
            )
        }
        assert rows["pharmacist"].granted_by_id == second_id
        assert rows["pharmacist"].granted_at is not None
        assert rows["technician"].granted_by_id is None  # granted by the test set-up, kept
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.roles"))
        assert event.actor == "second.admin"
        assert event.new["granted"] == ["pharmacist"]
        assert event.new["granted_by"] == "second.admin"
    page = c.get(f"/admin/users/{pharmacy['technician']}").get_data(as_text=True)
    assert "Pharmacist — granted by Second Admin (second.admin)" in page
