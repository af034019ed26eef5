"""Fewer clicks: patients found as you type, long lists filter as you type, the formula comes
from the prescription, the queue refreshes itself, marks overdue orders, and a "to verify" row
opens the prescription."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.models import Order, Prescriber
from tests.batch_helpers import make_order, seed
from tests.e2e.test_navigation import sign_in

pytestmark = pytest.mark.e2e


def _more_prescribers(app):
    with app.app_context(), unit_of_work() as s:
        for i, (first, last, npi) in enumerate(
            (("Ana", "Zamora", "1003000126"), ("Ben", "Yates", "1003000134"))
        ):
            s.add(Prescriber(first_name=first, last_name=last, npi=npi, credentials="MD"))
            del i


def test_patient_and_prescriber_are_picked_by_typing(page, live_server, app, pharmacy):
    seed(app)
    _more_prescribers(app)
    sign_in(page, live_server, "staff")
    page.goto(f"{live_server}/prescriptions/new")
    page.type("#q", "ellis", delay=30)  # no Enter: matches appear as you type
    match = page.locator("[data-testid=patient-matches] a.button.primary").first
    match.wait_for()
    assert "Ellis" in match.inner_text()
    match.click()
    page.wait_for_selector("#prescriber_id")
    box = page.locator("[data-typeahead-for=prescriber_id]")
    box.fill("yates")
    chosen = page.eval_on_selector("#prescriber_id", "s => s.selectedOptions[0].textContent")
    assert "Yates" in chosen
    page.screenshot(path="/tmp/f_picker.png", full_page=True)


def test_queue_refreshes_marks_overdue_and_opens_the_prescription(page, live_server, app, pharmacy):
    seed(app)
    app.config["QUEUE_REFRESH_SECONDS"] = 1
    late = make_order(app, status="received")
    with app.app_context(), unit_of_work() as s:
        s.get(Order, late).promised_on = date.today() - timedelta(days=2)
        rx_id = s.get(Order, late).prescription_id
    sign_in(page, live_server, "pharmacist")
    page.goto(f"{live_server}/orders/queue")
    rows = page.locator("section[data-queue=received] tbody tr")
    before = rows.count()
    assert page.locator("section[data-queue=received] tr[data-overdue]").count() == 1
    make_order(app, status="received")  # arrives while the page is open
    rows.nth(before).wait_for(timeout=10000)
    page.screenshot(path="/tmp/f_queue.png", full_page=True)
    page.locator("section[data-queue=received] tr[data-overdue] a").first.click()
    page.wait_for_url(f"**/prescriptions/{rx_id}")


def test_batch_for_an_order_has_the_formula_of_its_prescription(page, live_server, app, pharmacy):
    ids = seed(app)
    order_id = make_order(app, form="oral_solution", strength="1", quantity=100)
    with app.app_context():
        from pharmacy.extensions import db

        assert db.session.scalar(select(Order.id).where(Order.id == order_id))
    sign_in(page, live_server, "technician")
    page.goto(f"{live_server}/batches/new?order_id={order_id}")
    assert page.input_value("#formula_id") == str(ids["sol"])


def test_lot_is_picked_by_typing_and_long_order_lists_filter(page, live_server, app, pharmacy):
    seed(app)
    orders = [make_order(app, quantity=30) for _ in range(9)]
    sign_in(page, live_server, "technician")
    page.goto(f"{live_server}/batches/trace")
    page.fill("[data-typeahead-for=lot_id]", "mcc")
    chosen = page.eval_on_selector("#lot_id", "s => s.selectedOptions[0].textContent")
    assert "MCC-8841" in chosen
    page.click("main button:has-text('Trace')")
    page.wait_for_selector("h2:has-text('Lot MCC-8841')")

    page.goto(f"{live_server}/batches/new")
    with app.app_context():
        from pharmacy.extensions import db

        last = db.session.get(Order, orders[-1]).number
    box = page.locator("input.typeahead[aria-label='Filter the list']")
    box.fill(last)
    visible = page.locator("input[name=order_ids]:visible")
    assert visible.count() == 1
    assert visible.get_attribute("value") == str(orders[-1])
    page.screenshot(path="/tmp/f_order_filter.png", full_page=True)
