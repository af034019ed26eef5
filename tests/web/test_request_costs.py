"""Per-request costs cut for the signed-in page (issue 12): the same answers as before.

The session cookie's signature is verified once per worker for each cookie value; the
PostgreSQL connection is pinged after it sat idle, not on every checkout; a GET without a
query string skips the value checks. Each must refuse what it refused before."""

from __future__ import annotations

import re
import sqlite3
import time

import pytest
from sqlalchemy import create_engine, text

from pharmacy.database import ping_when_idle
from pharmacy.web.session_cookie import VerifiedOnceSessionInterface
from tests.support import login


def _cookie(client) -> str:
    return client.get_cookie("pharmacy_session").value


def test_a_verified_cookie_still_refuses_a_tampered_copy(app, pharmacy):
    c = app.test_client()
    login(c, "staff")
    good = _cookie(c)
    assert c.get("/").status_code == 200
    assert c.get("/").status_code == 200  # the second use is the cached one
    payload, _, signature = good.rpartition(".")
    forged = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    thief = app.test_client()
    thief.set_cookie("pharmacy_session", forged)
    resp = thief.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_a_cached_cookie_expires_at_the_same_age_as_a_verified_one(app, pharmacy, monkeypatch):
    c = app.test_client()
    login(c, "staff")
    assert c.get("/").status_code == 200
    lifetime = app.permanent_session_lifetime.total_seconds()
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + lifetime + 5)
    resp = c.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_cached_contents_are_copies(app):
    iface = VerifiedOnceSessionInterface()
    app.session_interface = iface
    value = iface.get_signing_serializer(app).dumps({"_user_id": "t", "n": 1})
    app.config["SESSION_COOKIE_NAME"] = "s"
    for _ in range(2):
        with app.test_request_context("/", headers={"Cookie": f"s={value}"}):
            from flask import session

            assert session["_user_id"] == "t" and session["n"] == 1
            session["n"] = 2  # a change in one request must not reach the next
    assert len(iface._verified) == 1


def test_a_cookie_with_a_list_is_verified_each_time(app):
    iface = VerifiedOnceSessionInterface()
    app.session_interface = iface
    value = iface.get_signing_serializer(app).dumps({"_flashes": [["info", "hi"]]})
    app.config["SESSION_COOKIE_NAME"] = "s"
    with app.test_request_context("/", headers={"Cookie": f"s={value}"}):
        from flask import session

        assert session["_flashes"] == [["info", "hi"]]
    assert iface._verified == {}


def test_another_secret_key_does_not_reuse_a_verified_cookie(app):
    iface = VerifiedOnceSessionInterface()
    app.session_interface = iface
    value = iface.get_signing_serializer(app).dumps({"_user_id": "t"})
    app.config["SESSION_COOKIE_NAME"] = "s"
    with app.test_request_context("/", headers={"Cookie": f"s={value}"}):
        from flask import session

        assert session.get("_user_id") == "t"
    app.secret_key = "another-secret-" + "y" * 40
    with app.test_request_context("/", headers={"Cookie": f"s={value}"}):
        assert session.get("_user_id") is None


def test_control_characters_in_a_query_are_still_refused(app, pharmacy):
    c = app.test_client()
    login(c, "staff")
    assert c.get("/orders/?q=%00x").status_code in (400, 422)
    assert c.get("/orders/").status_code == 200


class _Pings:
    def __init__(self, engine, fail: int = 0):
        self.calls, self.fail = 0, fail
        self.original = engine.dialect.do_ping
        engine.dialect.do_ping = self

    def __call__(self, dbapi_conn):
        self.calls += 1
        if self.fail:
            self.fail -= 1
            raise sqlite3.OperationalError("gone")
        return self.original(dbapi_conn)


def test_a_connection_is_pinged_only_after_sitting_idle(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    ping_when_idle(engine, idle_seconds=0.2)
    pings = _Pings(engine)
    for _ in range(5):  # returned a moment ago each time: no ping
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    assert pings.calls == 0
    time.sleep(0.25)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert pings.calls == 1
    engine.dispose()


def test_a_failed_ping_replaces_the_connection(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    ping_when_idle(engine, idle_seconds=0)
    with engine.connect() as conn:
        first = conn.connection.driver_connection
    pings = _Pings(engine, fail=1)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
        assert conn.connection.driver_connection is not first
    assert pings.calls == 1
    engine.dispose()


@pytest.mark.parametrize("production", [False, True])
def test_security_headers_unchanged(app, pharmacy, production):
    app.config["PRODUCTION"] = production
    c = app.test_client()
    login(c, "staff")
    h = c.get("/").headers
    assert h["Content-Security-Policy"].startswith("default-src 'self'; object-src 'none'")
    assert (h["X-Content-Type-Options"], h["Referrer-Policy"], h["X-Frame-Options"]) == (
        "nosniff",
        "same-origin",
        "DENY",
    )
    assert h["Cache-Control"] == "no-store"
    assert ("Strict-Transport-Security" in h) is production
    assert len(h.getlist("X-Content-Type-Options")) == 1


def _nav(html: str) -> list[tuple[str, bool]]:
    links = re.findall(r'<a href="[^"]+" data-nav="([^"]+)"\s*(aria-current="page")?>', html)
    return [(endpoint, bool(current)) for endpoint, current in links]


def test_navigation_is_the_roles_own_and_marks_the_page_each_time(app, pharmacy):
    from pharmacy.access import nav_items

    staff, pharmacist = app.test_client(), app.test_client()
    login(staff, "staff")
    login(pharmacist, "pharmacist")
    for _ in range(2):  # built, then reused
        for client, role in ((staff, "staff"), (pharmacist, "pharmacist")):
            for path, endpoint in (("/orders/queue", "orders.queue"), ("/", "main.index")):
                got = _nav(client.get(path).get_data(as_text=True))
                expected = [ep for ep, _label in nav_items(frozenset({role}))]
                assert [ep for ep, _ in got] == expected
                assert [ep for ep, current in got if current] == [endpoint]
