"""Only people with current training compound, make the final check or release; training is
recorded on the Training page by a pharmacist or administrator."""

from __future__ import annotations

import html
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Batch, TrainingRecord
from pharmacy.services import accounts, training
from tests.batch_helpers import (
    latest_batch,
    make_order,
    passing_weights,
    seed,
    start_form,
    weights_data,
)
from tests.printing.helpers import filled_order
from tests.support import FAST_HASHER, PASSWORD, form_error, login


@pytest.fixture
def ids(app, pharmacy):
    return seed(app)


def _person(app, username, roles, trained_on=None, tasks=()):
    with app.app_context(), unit_of_work() as s:
        user = accounts.create_user(
            s,
            "test",
            accounts.NewUser(username, username.title(), username[:2].upper(), PASSWORD, roles),
            FAST_HASHER,
        )
        if trained_on:
            training.record_initial(s, "test", user, tasks, trained_on)
        return user.id


def _client(app, username):
    c = app.test_client()
    assert login(c, username).status_code == 302
    return c


def test_an_untrained_technician_cannot_start_a_batch_or_record_weights(app, as_role, ids):
    _person(app, "newtech", ("technician",))
    make_order(app)
    resp = _client(app, "newtech").post("/batches/new", data=start_form(ids))
    assert resp.status_code == 422
    assert "Newtech may not do compounding (start a batch, record weights): no initial " in (
        resp.get_data(as_text=True)
    )
    with app.app_context():
        assert db.session.scalars(select(Batch)).all() == []
    # A trained technician starts it; the untrained one still cannot weigh.
    assert as_role("technician").post("/batches/new", data=start_form(ids)).status_code == 302
    bid = latest_batch(app)
    resp = _client(app, "newtech").post(f"/batches/{bid}/weights", data=weights_data(app, bid))
    assert resp.status_code == 422
    assert "may not do compounding" in resp.get_data(as_text=True)


def test_expired_training_stops_release_and_final_check(app, as_role, ids):
    long_ago = date.today() - timedelta(days=400)
    _person(app, "oldrph", ("pharmacist",), long_ago, ("final_check", "release"))
    oid, _bid = filled_order(app, as_role, ids, check=False)
    resp = _client(app, "oldrph").post(f"/orders/{oid}/final-check", data={})
    assert resp.status_code == 422
    assert (
        "may not do the pharmacist's final check: the training for the pharmacist's final "
        "check expired on" in html.unescape(resp.get_data(as_text=True))
    )

    tech = as_role("technician")
    assert tech.post("/batches/new", data=start_form(ids)).status_code == 302
    bid = latest_batch(app)
    assert tech.post(f"/batches/{bid}/weights", data=weights_data(app, bid)).status_code == 302
    qc = {
        "weights": passing_weights(),
        "shell_mg": "96",
        "appearance": "uniform white",
        "appearance_ok": "y",
        "units_made": "100",
    }
    assert tech.post(f"/batches/{bid}/qc", data=qc).status_code == 302
    resp = _client(app, "oldrph").post(f"/batches/{bid}/release")
    assert "may not do batch release: the training for batch release expired" in (
        html.unescape(resp.get_data(as_text=True))
    )
    with app.app_context():
        assert db.session.get(Batch, bid).status == "awaiting_check"
    # A pharmacist with current training releases it.
    assert as_role("pharmacist").post(f"/batches/{bid}/release").status_code == 302


def test_training_page_records_and_shows_training(app, as_role, pharmacy):
    uid = _person(app, "trainee", ("technician",))
    pharm = as_role("pharmacist")
    page = pharm.get("/training/").get_data(as_text=True)
    assert 'data-person="trainee"' in page
    # A yearly refresher needs an initial training first; the date cannot be in the future.
    resp = pharm.post(
        "/training/",
        data={
            "user_id": uid,
            "task": "compounding",
            "kind": "annual",
            "completed_on": date.today().isoformat(),
        },
    )
    assert resp.status_code == 422 and "initial training recorded first" in form_error(resp, "kind")
    resp = pharm.post(
        "/training/",
        data={
            "user_id": uid,
            "task": "compounding",
            "kind": "initial",
            "completed_on": (date.today() + timedelta(days=1)).isoformat(),
        },
    )
    assert resp.status_code == 422 and "future" in form_error(resp, "completed_on")
    done = date.today() - timedelta(days=3)
    resp = pharm.post(
        "/training/",
        data={
            "user_id": uid,
            "task": "compounding",
            "kind": "initial",
            "completed_on": done.isoformat(),
            "notes": "SOP-COMP-4 v2, assessed by PC",
        },
    )
    assert resp.status_code == 302
    with app.app_context():
        row = db.session.scalars(select(TrainingRecord).where(TrainingRecord.user_id == uid)).one()
        assert (row.task, row.valid_until) == ("compounding", done + timedelta(days=365))
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "training.record", AuditEvent.entity_id == str(uid)
            )
        )
        assert event.actor == "pharmacist"
    # A technician sees the page but cannot record.
    assert as_role("technician").get("/training/").status_code == 200
    assert as_role("technician").post("/training/", data={"user_id": uid}).status_code == 403
