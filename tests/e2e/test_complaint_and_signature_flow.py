"""In a real browser: a complaint recorded from the order page, the pharmacist's review that
recalls the batch, the MedWatch report; and a formula approval signed with the password."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from pharmacy.extensions import db
from pharmacy.models import Batch, Complaint, ElectronicSignature, Formula, Order
from tests.batch_helpers import seed
from tests.e2e.test_navigation import sign_in
from tests.printing.helpers import filled_order
from tests.support import e_sign

pytestmark = pytest.mark.e2e


def _sign_out(page, base):
    page.context.clear_cookies()
    page.goto(f"{base}/login")


def test_complaint_from_order_to_recall_and_medwatch(page, live_server, app, as_role):
    ids = seed(app)
    order_id, bid = filled_order(app, as_role, ids)
    with app.app_context():
        batch_number = db.session.get(Batch, bid).batch_number

    sign_in(page, live_server, "staff")
    page.click("nav >> text=Complaints")
    page.click("[data-testid=new-complaint]")
    page.goto(f"{live_server}/orders/{order_id}")
    page.click("[data-testid=report-complaint]")
    page.select_option("#kind", "adverse_event")
    page.fill("#reporter_name", "Margaret Ellis")
    page.select_option("#reporter_role", "patient")
    page.fill("#event_date", (date.today() - timedelta(days=2)).isoformat())
    page.select_option("#severity", "severe")
    page.fill("#description", "short")
    page.click("button:has-text('Record')")
    assert "at least 10" in page.locator("[data-field-error=description]").inner_text()
    page.fill("#description", "Fainted twice after the evening dose; seen in the ER.")
    page.click("button:has-text('Record')")
    assert page.locator("[data-testid=complaint-status]").inner_text() == "open"
    assert "serious" in page.locator("[data-testid=complaint-severity]").inner_text()
    assert page.locator("[data-testid=review-complaint]").count() == 0  # staff cannot review
    _sign_out(page, live_server)

    sign_in(page, live_server, "pharmacist")
    page.click("nav >> text=Complaints")
    page.click("text=C-00001")
    page.fill("#notes", "Possible potency problem: recall pending assay")
    page.select_option("#action", "recall")
    page.click("[data-testid=review-complaint]")
    page.wait_for_selector(f"text=Batch {batch_number} recalled")
    assert page.locator("[data-testid=complaint-status]").inner_text() == "reviewed"
    with page.expect_response(lambda r: "medwatch.pdf" in r.url) as info:
        page.evaluate("url => fetch(url)", f"{live_server}/complaints/1/medwatch.pdf")
    assert info.value.status == 200
    assert info.value.headers["content-type"] == "application/pdf"
    with app.app_context():
        assert db.session.get(Batch, bid).status == "recalled"
        assert db.session.get(Order, order_id).status == "on_hold"
        c = db.session.scalar(select(Complaint))
        assert (c.review_action, c.batch_id, c.order_id) == ("recall", bid, order_id)


def test_formula_approval_needs_the_password(page, live_server, app, as_role):
    ids = seed(app)
    sign_in(page, live_server, "pharmacist")
    page.goto(f"{live_server}/formulas/{ids['cap']}")
    page.click("button:has-text('Create new version')")
    with app.app_context():
        draft = db.session.scalar(select(Formula).where(Formula.status == "draft"))
        draft.api_tolerance_percent = 5  # the demo's formulas predate this field
        db.session.commit()
        fid = draft.id
    page.goto(f"{live_server}/formulas/{fid}")
    e_sign(page, "form[action$='/approve']", "not-my-password-1")
    page.click("button:has-text('Approve')")
    assert "is not your password" in page.locator("[data-field-error=password]").inner_text()
    assert page.locator("[data-testid=formula-status]").inner_text() == "draft"
    e_sign(page, "form[action$='/approve']")
    page.click("button:has-text('Approve')")
    assert page.locator("[data-testid=formula-status]").inner_text() == "approved"
    signatures = page.locator("[data-testid=signature]").inner_text()
    assert "approved: master formulation record" in signatures
    assert "Pharmacist User (PH)" in signatures
    with app.app_context():
        sig = db.session.scalar(
            select(ElectronicSignature).where(ElectronicSignature.entity == "formula")
        )
        assert sig.entity_id == str(fid)
