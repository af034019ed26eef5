"""Fixtures: a fresh app and database per test, on SQLite always and on PostgreSQL when
TEST_DATABASE_URL is set (each run gets its own throwaway schema)."""

from __future__ import annotations

import os
import uuid
from datetime import date, timedelta

import pytest
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, text

from pharmacy import create_app
from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from tests.support import FAST_HASHER, PASSWORD, ROLE_USERS, login, with_signature

PG_URL = os.environ.get("TEST_DATABASE_URL", "").replace(
    "postgresql://", "postgresql+psycopg://", 1
)
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


class CsrfClient(FlaskClient):
    """A test client that adds a valid CSRF token to every form POST, as a browser would.

    `csrf=False` on a call sends the request without one (to test that it is refused).
    """

    def open(self, *args, **kwargs):
        csrf = kwargs.pop("csrf", True)
        method = kwargs.get("method", "GET").upper()
        path = args[0] if args and isinstance(args[0], str) else ""
        if method == "POST" and "json" in kwargs:
            kwargs["json"] = with_signature(path, kwargs["json"])
        if csrf and method in ("POST", "PUT", "PATCH", "DELETE") and "json" not in kwargs:
            data = dict(kwargs.get("data") or {})
            if method == "POST" and isinstance(kwargs.get("data"), dict | None):
                data = with_signature(path, data)
            if "csrf_token" not in data:
                data["csrf_token"] = self.csrf_token()
            kwargs["data"] = data
        return super().open(*args, **kwargs)

    def csrf_token(self) -> str:
        app = self.application
        with self.session_transaction() as sess:
            raw = sess.get("csrf_token")
            if not raw:
                raw = uuid.uuid4().hex
                sess["csrf_token"] = raw
        return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


@pytest.fixture(scope="session")
def pg_schema():
    """One throwaway PostgreSQL schema per test run, dropped at the end."""
    if not PG_URL:
        yield None
        return
    name = f"test_{uuid.uuid4().hex[:10]}"
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    yield name
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    engine.dispose()


def pg_url_for(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def _truncate_all(schema: str) -> None:
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    db.session.remove()
    with db.engine.begin() as conn:
        # The audit table refuses TRUNCATE (a trigger); between tests it is emptied as a
        # replication client would, with user triggers off for this transaction only.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def app(backend, tmp_path, pg_schema, request):
    url = f"sqlite:///{tmp_path / 'test.db'}" if backend == "sqlite" else pg_url_for(pg_schema)
    application = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "test-secret-key-" + "x" * 32,
            "PASSWORD_HASHER": FAST_HASHER,
            "SERVER_NAME": None,
            "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
        }
    )
    application.test_client_class = CsrfClient
    with application.app_context():
        if backend == "postgresql":
            db.metadata.create_all(db.engine)
            _truncate_all(pg_schema)
        else:
            db.create_all()
    # Requests push their own app context (and get a fresh session); tests open one
    # with `with app.app_context():` only around direct database checks.
    yield application
    with application.app_context():
        db.session.remove()
        if backend == "postgresql":
            _truncate_all(pg_schema)
        db.engine.dispose()


@pytest.fixture
def client(app) -> CsrfClient:
    return app.test_client()


@pytest.fixture
def pharmacy(app):
    """The pharmacy profile and one user per role; returns {username: user id}."""
    from pharmacy.domain.training import TASKS
    from pharmacy.models import PharmacyProfile
    from pharmacy.services import accounts, training

    users = {}
    with app.app_context(), unit_of_work() as s:
        s.add(
            PharmacyProfile(
                name="Test Compounding Pharmacy",
                address="1 Test Street, Springfield",
                phone="555-0100",
                licence_number="LIC-1",
            )
        )
        for username, roles in ROLE_USERS.items():
            user = accounts.create_user(
                s,
                "test",
                accounts.NewUser(
                    username, username.title() + " User", username[:2].upper(), PASSWORD, roles
                ),
                FAST_HASHER,
            )
            # Everyone is trained, so a test is about its own rule, not about training.
            training.record_initial(s, "test", user, TASKS, date.today() - timedelta(days=30))
            users[username] = user.id
    return users


@pytest.fixture
def as_role(app, pharmacy):
    """Return a signed-in client for a role name."""

    def _client(role: str) -> CsrfClient:
        c = app.test_client()
        resp = login(c, role)
        assert resp.status_code == 302, resp.get_data(as_text=True)
        return c

    return _client
