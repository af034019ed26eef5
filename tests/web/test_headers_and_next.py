"""Redirect targets after sign-in, HSTS in production."""

from __future__ import annotations

from sqlalchemy import func, select

from pharmacy.extensions import db
from pharmacy.models import UserSession
from tests.support import PASSWORD


def _sessions(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(UserSession))


def test_next_with_control_characters_is_refused_before_sign_in(client, app, pharmacy):
    for target in ("/\t/evil.example", "/\r\nSet-Cookie:x=1", "/\x00"):
        resp = client.post(
            "/login",
            query_string={"next": target},
            data={"username": "staff", "password": PASSWORD},
        )
        assert resp.status_code in (400, 422), target
        assert "next" in resp.get_data(as_text=True)
    assert _sessions(app) == 0


def test_next_leaving_the_site_falls_back_to_the_dashboard(app, pharmacy):
    for target in ("//evil.example/", "/\\evil.example", "https://evil.example/"):
        c = app.test_client()
        resp = c.post(
            "/login",
            query_string={"next": target},
            data={"username": "staff", "password": PASSWORD},
        )
        assert resp.status_code in (302, 400), target
        if resp.status_code == 302:
            assert resp.headers["Location"] == "/", target
    c = app.test_client()
    resp = c.post("/login?next=/patients", data={"username": "staff", "password": PASSWORD})
    assert resp.headers["Location"] == "/patients"


def test_hsts_only_in_production(app, client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    app.config["PRODUCTION"] = True
    assert client.get("/login").headers["Strict-Transport-Security"].startswith("max-age=")
