"""The look-up and queue pages after the lean-query rewrite: same links and cells, capped
counts, and a name search that ignores case."""

from __future__ import annotations

import pytest

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import Order, Prescription, User
from pharmacy.services import orders, prescriptions
from tests.rx_helpers import make_patient, make_prescriber, rx_input


@pytest.fixture
def two_orders(app, pharmacy):
    with app.app_context(), unit_of_work() as s:
        actor = s.get(User, pharmacy["staff"])
        p = make_patient(s, actor)
        doc = make_prescriber(s, actor)
        ids = [prescriptions.enter_prescription(s, actor, rx_input(p.id, doc.id)).id for _ in "ab"]
    with app.app_context():
        return [db.session.get(Prescription, i).orders[0].id for i in ids]


def test_rows_link_to_their_order_and_show_patient_and_medicine(app, as_role, two_orders):
    staff = as_role("staff")
    for q in ("ellis ma", "MARGARET ELLIS", "Ellis, M"):
        html = staff.get("/orders/", query_string={"q": q}).get_data(as_text=True)
        for order_id in two_orders:
            assert f'href="/orders/{order_id}"' in html, q
        assert "Ellis, Margaret" in html and "1961-04-12" in html and " mg capsule" in html
    board = as_role("pharmacist").get("/orders/queue").get_data(as_text=True)
    with app.app_context():
        rx_ids = [db.session.get(Order, i).prescription_id for i in two_orders]
    # A "to verify" row opens the prescription, where the pharmacist verifies it.
    assert all(f'href="/prescriptions/{i}"' in board for i in rx_ids)
    assert "Margaret Ellis" in board and "Received — to verify: 2" in board


def test_queue_counts_beyond_the_cap_read_as_cap_plus(app, as_role, two_orders, monkeypatch):
    monkeypatch.setattr(orders, "COUNT_CAP", 1)
    html = as_role("pharmacist").get("/orders/queue").get_data(as_text=True)
    assert "Received — to verify: 1+" in html and "(1+)" in html
    assert "Filled — awaiting final check: 0" in html and "Checked — to hand out: 0" in html


def test_order_page_reads_in_a_few_statements_and_shows_the_order(app, as_role, two_orders):
    from sqlalchemy import event

    staff = as_role("staff")
    staff.get(f"/orders/{two_orders[0]}")  # the sign-in message, shown once
    selects = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        resp = staff.get(f"/orders/{two_orders[0]}")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Margaret Ellis" in html and "1961-04-12" in html
    # One read each, none per row: signed-in user; order with prescription and patient; its
    # titration steps; its fills; the patient's other active prescriptions and the current
    # screening findings (the re-screen preview of a received order); history; last label
    # print; electronic signatures (added with e-signatures). A lazy load per relationship
    # made it eleven before the final check existed.
    assert len(selects) <= 9, selects


def test_one_queue_reads_its_rows_and_counts_in_one_statement(app, as_role, two_orders):
    from sqlalchemy import event

    pharmacist = as_role("pharmacist")
    selects = []

    def count(conn, cursor, statement, *args):
        selects.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        first = pharmacist.get("/orders/queue?status=received").get_data(as_text=True)
        statements_first = len(selects)
        more = pharmacist.get(f"/orders/queue?status=received&after={two_orders[0]}")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert statements_first == 2  # the session row; the queue's page with every count
    assert "Received — to verify: 2" in first and "(2)" in first
    assert first.count('title="Open the prescription to verify it"') == 2
    # Later pages read the page after the cursor, then the counts
    assert len(selects) - statements_first == 3
    html = more.get_data(as_text=True)
    assert more.status_code == 200 and "Received — to verify: 2" in html
    assert html.count('title="Open the prescription to verify it"') == 1
