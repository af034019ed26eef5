"""Role dashboards count the work and link to it; reports give the same figures as SVG,
PDF and CSV for a date range."""

import io
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.models import Dispense, Order, QcResult, User
from pharmacy.services import handout, scan
from tests.batch_helpers import latest_batch, make_order, seed, start_form
from tests.printing.helpers import filled_order
from tests.support import login


@pytest.fixture
def demo(app, pharmacy, as_role):
    ids = seed(app)
    # One order goes the whole way out: filled from its own released batch, checked by the
    # pharmacist, labelled, scanned and handed out (the only way to `dispensed`).
    handed, _ = filled_order(app, as_role, ids, quantity=30)
    assert as_role("staff").post(f"/print/orders/{handed}/label", data={}).status_code == 200
    order_id = make_order(app, quantity=100)
    c = app.test_client()
    login(c, "technician")
    assert c.post("/batches/new", data=start_form(ids, order_ids=str(order_id))).status_code in (
        302,
        303,
    )
    bid = latest_batch(app)
    with app.app_context(), unit_of_work() as s:
        tech = s.scalar(select(User).where(User.username == "technician"))
        for passed in (True, True, True, False):
            s.add(
                QcResult(
                    batch_id=bid, kind="weight", data={}, passed=passed, recorded_by_id=tech.id
                )
            )
        s.add(
            Dispense(
                order_id=order_id,
                batch_id=bid,
                quantity=D(100),
                unit="capsule",
                dispensed_by_id=tech.id,
            )
        )
        staff = s.scalar(select(User).where(User.username == "staff"))
        given = s.get(Order, handed)
        scan.verify_label_scan(s, staff, given, given.number, None)
        handout.hand_out(
            s, staff, given, handout.HandoutInput(method="pickup", counsel_outcome="declined")
        )
        late = s.get(Order, order_id)
        late.promised_on = date.today() - timedelta(days=1)
    return ids


def _tile(html: str, key: str) -> str:
    start = html.rindex("<a ", 0, html.index(f'data-tile="{key}"'))
    return html[start : html.index("</a>", start)]


def test_pharmacist_dashboard_counts_link_to_the_work(app, demo):
    c = app.test_client()
    login(c, "pharmacist")
    html = c.get("/").get_data(as_text=True)
    assert '<span class="n">1</span>' in _tile(html, "to_verify")  # Okoro, contraindicated
    assert "/orders/queue?status=received" in _tile(html, "to_verify")
    assert '<span class="n">1</span>' in _tile(html, "in_progress")
    assert 'data-alert="overdue"' in html  # promised yesterday
    assert 'data-tile="users"' not in html


def test_staff_sees_only_front_desk_tiles(app, demo):
    c = app.test_client()
    login(c, "staff")
    html = c.get("/").get_data(as_text=True)
    assert 'data-tile="ready"' in html and 'data-tile="to_verify"' not in html
    assert 'data-tile="lots_expiring"' not in html
    assert c.get("/reports/").status_code == 403


def test_report_page_pdf_and_csv_agree(app, demo):
    c = app.test_client()
    login(c, "pharmacist")
    html = c.get("/reports/").get_data(as_text=True)
    assert html.count('<svg role="img" class="chart"') == 5
    assert "80.0 % passed (4 passed, 1 failed)." in html
    assert "4.5 mg: 2 fills." in html
    today = date.today().isoformat()
    body = c.get(f"/reports/report.csv?since={today}&until={today}").get_data(as_text=True)
    lines = body.splitlines()
    assert lines[3].split(",")[1:] == ["5", "2", "1"]  # 5 orders in, 2 fills, 1 handed out
    assert "4,1,80.0" in body and "4.5 mg,2,130" in body
    resp = c.get(f"/reports/report.pdf?since={today}&until={today}")
    assert resp.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.data)).pages)
    assert "80.0 % passed (4 passed, 1 failed)." in text
    assert "Orders by turnaround" in text or "Turnaround from intake" in text


def test_report_range_errors_are_shown_by_their_field(app, demo):
    c = app.test_client()
    login(c, "admin")
    resp = c.get("/reports/?since=2026-05-01&until=2026-04-01")
    assert resp.status_code == 422
    assert "the end date is before the start date" in resp.get_data(as_text=True)
