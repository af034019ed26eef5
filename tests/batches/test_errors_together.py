"""Batch forms (start, weights, QC, fill): the form's own errors and the batch rules' errors
come back together on the first submit, each by its field, 422, nothing written."""

from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Batch, BatchLotUsage, Dispense, QcResult
from tests.batch_helpers import latest_batch, make_order, passing_weights, seed, start_form
from tests.batch_helpers import weights_data as plan_weights
from tests.batches.test_fill import _released
from tests.support import form_error


@pytest.fixture
def ids(app, pharmacy):
    return seed(app)


def _rows(app):
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(m))
            for m in (Batch, BatchLotUsage, QcResult, Dispense, AuditEvent)
        )


def _started(app, c, ids):
    assert c.post("/batches/new", data=start_form(ids)).status_code == 302
    return latest_batch(app)


def _summary(resp, n: int) -> None:
    html = resp.get_data(as_text=True)
    assert 'data-testid="error-summary"' in html and f"{n} things to correct" in html, html


def test_start_shows_an_unreadable_quantity_and_a_strength_rule_together(app, as_role, ids):
    c = as_role("technician")
    before = _rows(app)
    resp = c.post("/batches/new", data=start_form(ids, strength_mg="6", quantity="lots"))
    assert resp.status_code == 422
    assert "decimal" in form_error(resp, "quantity").lower()
    assert "0.5–4.5 mg" in form_error(resp, "strength_mg")
    _summary(resp, 2)
    assert _rows(app) == before


def test_weights_show_an_unreadable_weight_and_a_zero_weight_together(app, as_role, ids):
    c = as_role("technician")
    bid = _started(app, c, ids)
    data = plan_weights(app, bid)
    with app.app_context():
        first, second = (u.id for u in db.session.get(Batch, bid).lot_usages[:2])
    before = _rows(app)
    resp = c.post(
        f"/batches/{bid}/weights", data={**data, f"actual_{first}": "0", f"actual_{second}": "x"}
    )
    assert resp.status_code == 422
    assert "more than zero" in form_error(resp, f"actual_{first}")
    assert "decimal" in form_error(resp, f"actual_{second}").lower()
    _summary(resp, 2)
    assert _rows(app) == before
    with app.app_context():
        assert all(u.actual_quantity is None for u in db.session.get(Batch, bid).lot_usages)


@pytest.mark.parametrize(
    "change, form_field, form_text",
    [
        ({"appearance": ""}, "appearance", "required"),  # the form's own check
        ({"weights": "296 heavy"}, "weights", "not a number"),  # read by the page
    ],
)
def test_qc_shows_form_and_rule_errors_together(app, as_role, ids, change, form_field, form_text):
    c = as_role("technician")
    bid = _started(app, c, ids)
    assert c.post(f"/batches/{bid}/weights", data=plan_weights(app, bid)).status_code == 302
    qc = {
        "weights": passing_weights(),
        "shell_mg": "96",
        "appearance": "uniform white",
        "appearance_ok": "y",
        "units_made": "103",  # the rule: at most 102
        **change,
    }
    before = _rows(app)
    resp = c.post(f"/batches/{bid}/qc", data=qc)
    assert resp.status_code == 422
    assert form_text in form_error(resp, form_field).lower()
    assert "at most 102" in form_error(resp, "units_made")
    _summary(resp, 2)
    assert _rows(app) == before
    with app.app_context():
        assert db.session.get(Batch, bid).status == "in_progress"


def test_fill_shows_an_unreadable_quantity_and_the_bud_rule_together(app, as_role, ids):
    bid = _released(app, as_role, ids)  # BUD 45 days
    order = make_order(app, quantity=60)  # 60 days' supply
    tech = as_role("technician")
    before = _rows(app)
    resp = tech.post(f"/batches/{bid}/dispense", data={"order_id": order, "quantity": "sixty"})
    assert resp.status_code == 422
    assert "decimal" in form_error(resp, "quantity").lower()
    assert "days&#39; supply" in form_error(resp, "bud_short_reason")
    _summary(resp, 2)
    assert _rows(app) == before
    with app.app_context():
        assert db.session.get(Batch, bid).units_remaining == D(100)
