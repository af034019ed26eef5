"""Sign-in throttling: per account and per client address, shared through the database."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, select, update

from pharmacy.database import utcnow
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, SignInAttempt, UserSession
from tests.support import PASSWORD, login


def _from(client, ip):
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def test_five_failures_lock_the_account_even_with_the_right_password(app, pharmacy):
    c = _from(app.test_client(), "10.0.0.1")
    for _ in range(5):
        assert login(c, "pharmacist", "wrong-password-123").status_code == 401
    resp = login(c, "pharmacist", PASSWORD)
    assert resp.status_code == 429
    assert 0 < int(resp.headers["Retry-After"]) <= 15 * 60
    assert "Too many failed sign-ins" in resp.get_data(as_text=True)
    # Another address is locked out of the same account too...
    assert login(_from(app.test_client(), "10.0.0.2"), "pharmacist", PASSWORD).status_code == 429
    # ...but other accounts are not.
    assert login(_from(app.test_client(), "10.0.0.2"), "technician").status_code == 302
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(UserSession)
                .where(UserSession.user_id == pharmacy["pharmacist"])
            )
            == 0
        )
        reasons = db.session.scalars(
            select(AuditEvent.new).where(AuditEvent.action == "session.failed")
        ).all()
        assert [r["reason"] for r in reasons] == ["wrong password"] * 5 + ["locked"] * 2


def test_lockout_ends_when_the_window_passes(app, pharmacy):
    c = _from(app.test_client(), "10.0.0.3")
    for _ in range(5):
        login(c, "staff", "wrong-password-123")
    assert login(c, "staff").status_code == 429
    with app.app_context():
        db.session.execute(update(SignInAttempt).values(at=utcnow() - timedelta(minutes=16)))
        db.session.commit()
    assert login(c, "staff").status_code == 302


def test_a_success_resets_the_account_count(app, pharmacy):
    c = _from(app.test_client(), "10.0.0.4")
    for _ in range(4):
        login(c, "technician", "wrong-password-123")
    assert login(c, "technician").status_code == 302
    c2 = _from(app.test_client(), "10.0.0.4")
    for _ in range(4):
        assert login(c2, "technician", "wrong-password-123").status_code == 401
    assert login(c2, "technician").status_code == 302


def test_one_address_is_throttled_across_many_user_names(app, pharmacy):
    app.config["SIGNIN_MAX_FAILURES_PER_ADDRESS"] = 6
    c = _from(app.test_client(), "10.9.9.9")
    for i in range(6):
        assert login(c, f"guess{i}", "wrong-password-123").status_code == 401
    assert login(c, "admin").status_code == 429
    assert login(_from(app.test_client(), "10.9.9.8"), "admin").status_code == 302


def test_failed_sign_in_is_logged_at_warning_with_the_address(app, pharmacy, caplog):
    with caplog.at_level(logging.WARNING, logger="pharmacy.security"):
        login(_from(app.test_client(), "192.0.2.7"), "admin", "wrong-password-123")
    assert any(
        r.levelno == logging.WARNING and "192.0.2.7" in r.getMessage() and "admin" in r.getMessage()
        for r in caplog.records
    )


def test_proxy_fix_makes_the_forwarded_address_the_audited_one(app, pharmacy):
    c = app.test_client()  # by default no proxy is trusted: the header is ignored
    resp = c.post(
        "/login",
        data={"username": "admin", "password": "wrong-password-123"},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert resp.status_code == 401
    from werkzeug.middleware.proxy_fix import ProxyFix

    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)
    resp = c.post(
        "/login",
        data={"username": "admin", "password": "wrong-password-123"},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    with app.app_context():
        ips = db.session.scalars(
            select(AuditEvent.ip)
            .where(AuditEvent.action == "session.failed")
            .order_by(AuditEvent.id)
        ).all()
    assert ips == ["127.0.0.1", "203.0.113.9"]


def test_unknown_user_costs_one_password_check_like_a_wrong_password(app, pharmacy, monkeypatch):
    """Today 559 vs 287 ms told who exists: an unknown name hashed a dummy password and then
    verified it (two Argon2 runs). Now both paths run exactly one verification."""
    from pharmacy.services import signin

    calls = []
    real_verify = signin.verify_password
    monkeypatch.setattr(
        signin, "verify_password", lambda *a, **k: calls.append("verify") or real_verify(*a, **k)
    )
    login(app.test_client(), "nobody", "wrong-password-123")  # warms the cached dummy hash
    real_hash = signin.hash_password
    monkeypatch.setattr(
        signin, "hash_password", lambda *a, **k: calls.append("hash") or real_hash(*a, **k)
    )
    calls.clear()
    login(app.test_client(), "nobody", "wrong-password-123")
    unknown = list(calls)
    calls.clear()
    login(app.test_client(), "pharmacist", "wrong-password-123")
    assert unknown == calls == ["verify"]


def test_proxy_fix_hops_setting_trusts_one_proxy(tmp_path, monkeypatch):
    from pharmacy import create_app

    monkeypatch.setenv("PROXY_FIX_HOPS", "1")
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}", "SECRET_KEY": "k" * 40}
    )
    seen = {}

    @app.get("/__addr")
    def addr():
        from flask import request

        seen["ip"] = request.remote_addr
        return ""

    app.view_functions["addr"] = addr
    from pharmacy import access

    access.POLICY["addr"] = access.PUBLIC
    try:
        app.test_client().get("/__addr", headers={"X-Forwarded-For": "198.51.100.4"})
    finally:
        access.POLICY.pop("addr")
    assert seen["ip"] == "198.51.100.4"
