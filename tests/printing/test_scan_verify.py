"""Scan-to-verify at dispensing: the label and the container must belong to the order."""

import pytest
from sqlalchemy import func, select

from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Batch
from tests.batch_helpers import seed
from tests.printing.helpers import filled_order, rx_number
from tests.support import form_error


@pytest.fixture
def ids(app, pharmacy):
    return seed(app)


def _audits(app):
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "label.verify")
        )


def _batch_number(app, bid):
    with app.app_context():
        return db.session.get(Batch, bid).batch_number


def test_matching_label_and_batch_are_confirmed_and_recorded(app, as_role, ids):
    oid, bid = filled_order(app, as_role, ids)
    staff = as_role("staff")
    assert 'data-testid="scan"' in staff.get(f"/orders/{oid}").get_data(as_text=True)
    # A scanner may add a trailing control character; it is not part of the code.
    resp = staff.post(
        f"/orders/{oid}/verify-label",
        data={
            "label_code": f"{rx_number(app, oid).lower()}-01\x00",
            "batch_code": _batch_number(app, bid),
        },
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert "Match: label" in resp.get_data(as_text=True)
    assert _audits(app) == 1


def test_a_label_of_another_order_or_a_wrong_batch_is_refused(app, as_role, ids):
    oid, bid = filled_order(app, as_role, ids)
    other, _ = filled_order(app, as_role, ids)
    staff = as_role("staff")
    resp = staff.post(
        f"/orders/{oid}/verify-label",
        data={"label_code": f"{rx_number(app, other)}-01", "batch_code": "20200101-LDNCAP-999"},
    )
    assert resp.status_code == 422
    assert "do not hand it out" in form_error(resp, "label_code")
    assert "did not fill order" in form_error(resp, "batch_code")
    assert _audits(app) == 0
    resp = staff.post(
        f"/orders/{oid}/verify-label",
        data={"label_code": f"{rx_number(app, oid)}-02", "batch_code": ""},
    )
    assert resp.status_code == 422
    assert _audits(app) == 0
