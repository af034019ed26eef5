"""Sign-in, sessions, sign-out, password change and the first-run page."""

from datetime import timedelta

from sqlalchemy import func, select

from pharmacy.database import utcnow
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, PharmacyProfile, User, UserSession
from tests.support import PASSWORD, form_error, login


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_every_page_but_sign_in_requires_a_user(client, pharmacy):
    resp = client.get("/admin/users")
    assert resp.status_code == 302
    assert "/login" in resp.headers["Location"]
    assert client.get("/login").status_code == 200


def test_sign_in_and_out(client, pharmacy, app):
    resp = login(client, "pharmacist")
    assert resp.status_code == 302
    assert client.get("/").status_code == 200
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "session.start")
            )
            == 1
        )
    resp = client.post("/logout")
    assert resp.status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_and_unknown_user_get_401_start_no_session_and_are_audited(
    client, pharmacy, app
):
    sessions = count(app, UserSession)
    resp = login(client, "pharmacist", "not-the-password-1")
    assert resp.status_code == 401
    assert "Unknown user name or wrong password." in resp.get_data(as_text=True)
    resp = login(client, "nobody", PASSWORD)
    assert resp.status_code == 401
    assert "Unknown user name or wrong password." in resp.get_data(as_text=True)
    assert count(app, UserSession) == sessions
    with app.app_context():
        failed = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "session.failed").order_by(AuditEvent.id)
        ).all()
        assert [(e.new["username"], e.new["reason"], e.ip) for e in failed] == [
            ("pharmacist", "wrong password", "127.0.0.1"),
            ("nobody", "unknown user", "127.0.0.1"),
        ]


def test_copied_cookie_does_not_work_after_sign_out(app, pharmacy):
    browser = app.test_client()
    login(browser, "technician")
    stolen = browser.get_cookie("pharmacy_session").value
    browser.post("/logout")
    thief = app.test_client()
    thief.set_cookie("pharmacy_session", stolen)
    resp = thief.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_session_id_changes_on_sign_in(app, pharmacy):
    c = app.test_client()
    c.get("/login")
    with c.session_transaction() as s:
        s["planted"] = "attacker"
    login(c, "staff")
    with c.session_transaction() as s:
        assert "planted" not in s


def test_idle_session_expires(app, pharmacy):
    c = app.test_client()
    login(c, "staff")
    assert c.get("/").status_code == 200
    with app.app_context():
        row = db.session.scalar(select(UserSession))
        row.last_seen_at = utcnow() - timedelta(minutes=16)
        db.session.commit()
    resp = c.get("/")
    assert resp.status_code == 302
    page = c.get("/login").get_data(as_text=True)
    assert "Your session expired" in page
    with app.app_context():
        assert db.session.scalar(select(UserSession)).revoked_reason == "expired"


def test_missing_csrf_token_is_refused_and_nothing_written(app, pharmacy):
    c = app.test_client()
    login(c, "admin")
    before = count(app, User)
    resp = c.post(
        "/admin/users/new",
        data={
            "username": "eve",
            "full_name": "Eve",
            "initials": "E",
            "password": "a-Long-enough-pass-77",
            "roles": "staff",
        },
        csrf=False,
    )
    assert resp.status_code == 400
    assert "security token" in resp.get_data(as_text=True)
    assert count(app, User) == before


def test_password_change_revokes_other_sessions(app, pharmacy):
    phone, desk = app.test_client(), app.test_client()
    login(phone, "pharmacist")
    login(desk, "pharmacist")
    resp = desk.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "Another-secret-phrase-42",
            "confirm_password": "Another-secret-phrase-42",
        },
    )
    assert resp.status_code == 302
    assert desk.get("/").status_code == 200
    assert phone.get("/").status_code == 302
    fresh = app.test_client()
    assert login(fresh, "pharmacist", "Another-secret-phrase-42").status_code == 302


def test_password_change_errors_name_the_field(app, pharmacy):
    c = app.test_client()
    login(c, "staff")
    resp = c.post(
        "/account/password",
        data={
            "current_password": "wrong-password-xx",
            "new_password": "password123",
            "confirm_password": "different",
        },
    )
    assert resp.status_code == 422
    assert form_error(resp, "current_password") == "is not your current password"
    assert form_error(resp, "confirm_password") == "does not match the new password"
    assert form_error(resp, "new_password") is not None


def test_first_run_page_only_while_no_user_exists(client, app):
    assert client.get("/").status_code == 302
    assert "/setup" in client.get("/login").headers["Location"]
    resp = client.post(
        "/setup",
        data={
            "name": "Riverside Pharmacy",
            "address": "1 Main St",
            "phone": "555-0199",
            "licence_number": "PH-77",
            "username": "pchen",
            "full_name": "Patricia Chen",
            "initials": "PC",
            "password": "Tall-giraffe-lamp-93",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert client.get("/").status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.roles == {"pharmacist", "admin"}
        assert db.session.scalar(select(PharmacyProfile)).licence_number == "PH-77"
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"user.create", "pharmacy.create", "session.start"} <= actions
    assert client.get("/setup").status_code == 404


def test_first_run_rejects_a_common_password_and_writes_nothing(client, app):
    resp = client.post(
        "/setup",
        data={
            "name": "Riverside Pharmacy",
            "address": "1 Main St",
            "phone": "555-0199",
            "licence_number": "PH-77",
            "username": "pchen",
            "full_name": "Patricia Chen",
            "initials": "PC",
            "password": "password1234",
        },
    )
    assert resp.status_code == 422
    assert "commonly used" in form_error(resp, "password")
    assert count(app, User) == 0 and count(app, PharmacyProfile) == 0


def test_disabled_user_is_signed_out(app, pharmacy):
    victim = app.test_client()
    login(victim, "staff")
    admin = app.test_client()
    login(admin, "admin")
    resp = admin.post(
        f"/admin/users/{pharmacy['staff']}",
        data={"roles": ["staff"], "reason": "left the pharmacy"},
    )
    assert resp.status_code == 302
    assert victim.get("/").status_code == 302
    assert login(app.test_client(), "staff").status_code == 401


def test_pages_do_not_resend_the_cookie_and_idle_expiry_stays_on_the_server(app, pharmacy):
    c = app.test_client()
    login(c, "staff")
    c.get("/")  # shows (and so removes from the session) the sign-in message
    resp = c.get("/")
    assert resp.status_code == 200
    # The cookie is not re-signed on every page (SESSION_REFRESH_EACH_REQUEST off) ...
    assert "Set-Cookie" not in resp.headers
    # ... while the server-side row still moves with the user: last seen is refreshed ...
    with app.app_context():
        row = db.session.scalar(select(UserSession))
        row.last_seen_at = utcnow() - timedelta(minutes=14)
        db.session.commit()
    assert c.get("/").status_code == 200
    with app.app_context():
        seen = db.session.scalar(select(UserSession)).last_seen_at
        assert utcnow() - seen.replace(tzinfo=utcnow().tzinfo) < timedelta(minutes=1)
    # ... and a copied cookie still dies at once on sign-out, whatever its own expiry says.
    cookie = c.get_cookie("pharmacy_session").value
    c.post("/logout")
    thief = app.test_client()
    thief.set_cookie("pharmacy_session", cookie)
    assert thief.get("/").status_code == 302


def test_role_change_applies_on_the_next_request(app, pharmacy):
    tech = app.test_client()
    login(tech, "technician")
    assert tech.get("/batches/").status_code == 200
    admin = app.test_client()
    login(admin, "admin")
    resp = admin.post(
        f"/admin/users/{pharmacy['technician']}",
        data={"roles": ["staff"], "active": "y", "reason": "moved to the front desk"},
    )
    assert resp.status_code == 302
    assert tech.get("/batches/").status_code == 403
    with app.app_context():
        user = db.session.get(User, pharmacy["technician"])
        assert user.roles == frozenset({"staff"})
