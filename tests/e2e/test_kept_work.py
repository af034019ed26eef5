"""Nothing typed is lost: idle timeout, a stale security token, and a recall without a reason
all bring the user back to the form with what they typed."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from pharmacy.extensions import db
from pharmacy.models import Batch, Patient, UserSession
from pharmacy.models.types import utcnow
from tests.batch_helpers import make_order, seed, start_form
from tests.e2e.test_navigation import sign_in
from tests.support import PASSWORD, login

pytestmark = pytest.mark.e2e


def _type_patient(page):
    page.fill("#first_name", "Ada")
    page.fill("#last_name", "Lovelace")
    page.fill("#date_of_birth", "1960-12-10")
    page.fill("#allergies", "penicillin\nlatex")
    page.check("#breastfeeding")


def _sign_in_again(page, username="staff"):
    page.wait_for_selector("[data-page=login]")
    assert page.locator("[data-testid=kept-form]").is_visible()
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_selector("[data-testid=form-restored]")


def _assert_patient_restored(page):
    assert page.input_value("#first_name") == "Ada"
    assert page.input_value("#last_name") == "Lovelace"
    assert page.input_value("#date_of_birth") == "1960-12-10"
    assert page.input_value("#allergies") == "penicillin\nlatex"
    assert page.is_checked("#breastfeeding")


def test_idle_timeout_mid_form_signs_in_and_puts_the_form_back(page, live_server, app, pharmacy):
    sign_in(page, live_server, "staff")
    page.goto(f"{live_server}/patients/new")
    _type_patient(page)
    with app.app_context():  # the user went for lunch
        db.session.execute(
            update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=30))
        )
        db.session.commit()
    page.click("main button[type=submit]")
    assert "Sign in again" in page.content()
    page.screenshot(path="/tmp/f_kept_login.png", full_page=True)
    _sign_in_again(page)
    assert page.url.endswith("/patients/new")
    _assert_patient_restored(page)
    page.screenshot(path="/tmp/f_kept_restored.png", full_page=True)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    with app.app_context():
        p = db.session.scalar(select(Patient).where(Patient.last_name == "Lovelace"))
        assert p is not None and p.breastfeeding


def test_lost_cookie_stale_token_is_no_bare_400(page, live_server, app, pharmacy):
    sign_in(page, live_server, "staff")
    page.goto(f"{live_server}/patients/new")
    _type_patient(page)
    page.context.clear_cookies()  # browser restarted / cookie expired: the token is stale
    page.click("main button[type=submit]")
    assert "Error 400" not in page.content()
    _sign_in_again(page)
    _assert_patient_restored(page)


def test_recall_without_a_reason_keeps_the_page(page, live_server, app, pharmacy):
    ids = seed(app)
    order_id = make_order(app, quantity=100)
    c = app.test_client()
    login(c, "technician")
    resp = c.post("/batches/new", data=start_form(ids, order_ids=str(order_id)))
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:2000]
    with app.app_context():
        bid = db.session.scalar(select(Batch.id).order_by(Batch.id.desc()).limit(1))
        db.session.execute(update(Batch).where(Batch.id == bid).values(status="released"))
        db.session.commit()
    sign_in(page, live_server, "pharmacist")
    page.goto(f"{live_server}/batches/{bid}")
    page.click("button:has-text('Recall batch')")
    page.wait_for_selector("[data-testid=form-restored]")
    assert page.url.split("#")[0].endswith(f"/batches/{bid}")
    assert "Reason" in page.locator(".flash-error").first.inner_text()
    page.screenshot(path="/tmp/f_recall_kept.png", full_page=True)
    with app.app_context():
        assert db.session.get(Batch, bid).status == "released"


def test_someone_else_signing_in_does_not_get_the_form_back(page, live_server, app, pharmacy):
    sign_in(page, live_server, "staff")
    page.goto(f"{live_server}/patients/new")
    _type_patient(page)
    page.context.clear_cookies()
    page.click("main button[type=submit]")
    page.wait_for_selector("[data-page=login]")
    page.fill("#username", "pharmacist")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/patients/new#restore-form")
    page.wait_for_load_state()
    assert page.input_value("#first_name") == ""
    assert page.locator("[data-testid=form-restored]").count() == 0
