"""After the fill, in a real browser: the pharmacist's final check, the label printed with their
initials as RPh, its barcode scanned, the offer to counsel, and the hand-out."""

import pytest
from sqlalchemy import select

from pharmacy.extensions import db
from pharmacy.models import Batch, Handout, Order
from tests.batch_helpers import seed
from tests.e2e.test_navigation import sign_in
from tests.labels.labels_samples import decode_barcodes
from tests.printing.helpers import filled_order
from tests.support import e_sign

pytestmark = pytest.mark.e2e


def test_final_check_print_scan_counsel_hand_out(page, live_server, app, as_role):
    ids = seed(app)
    order_id, bid = filled_order(app, as_role, ids, check=False)
    with app.app_context():
        number = db.session.get(Order, order_id).number
        batch_number = db.session.get(Batch, bid).batch_number
    sign_in(page, live_server, "pharmacist")
    page.goto(f"{live_server}/orders/{order_id}")
    assert page.locator("[data-testid=order-status]").inner_text() == "ready"
    # No button moves the order on; the label cannot print before the check.
    assert page.locator("button[data-move=dispensed]").count() == 0
    assert "Print dispensing label" not in page.locator("[data-testid=printing]").inner_text()

    # 1. Final check: prescription, product and label side by side.
    page.click("[data-testid=start-final-check]")
    compare = page.locator("[data-testid=compare]")
    assert batch_number in compare.locator("tr[data-row=batch]").inner_text()
    assert "4.5 mg" in compare.locator("tr[data-row=strength]").inner_text()
    assert page.locator("[data-testid=discrepancies]").count() == 0
    page.screenshot(path="/tmp/final-check.png", full_page=True)
    page.fill("#notes", "capsules, label and Rx match")
    e_sign(page, "form[action$='/final-check']")
    page.click("[data-testid=pass-final-check]")
    assert page.locator("[data-testid=order-status]").inner_text() == "checked"
    with app.app_context():
        initials = db.session.get(Order, order_id).prescription.verified_by.initials
    assert f"({initials}, RPh)" in page.locator("li[data-step=final-check]").inner_text()

    # 2. Print the label (the form opens the PDF in a new tab; post it with the same session).
    form = page.locator("[data-testid=printing] form[action$='/label']")
    token = form.locator("input[name=csrf_token]").get_attribute("value")
    resp = page.request.post(
        f"{live_server}/print/orders/{order_id}/label",
        form={"csrf_token": token, "stock": "", "start_position": "1", "reason": ""},
    )
    assert resp.status == 200 and resp.headers["content-type"] == "application/pdf"
    assert decode_barcodes(resp.body()) == [number]
    with open("/tmp/handout-label.pdf", "wb") as f:
        f.write(resp.body())
    page.reload()
    assert "✔ Label printed" in page.locator("li[data-step=label]").inner_text()

    # Handing out before the scan is refused, naming what is missing.
    page.select_option("#counsel_outcome", "declined")
    page.click("[data-testid=hand-out]")
    assert "scan the label" in page.locator(".form-error").inner_text()

    # 3. Scan the label and the stock container.
    page.fill("#label_code", number)
    page.fill("#batch_code", batch_number)
    page.click("[data-testid=verify-scan]")
    assert "Match: label" in page.locator("[data-testid=scan-result]").inner_text()
    page.goto(f"{live_server}/orders/{order_id}")
    assert "✔ Label scanned" in page.locator("li[data-step=scan]").inner_text()

    # 4. Counsel and hand out.
    page.select_option("#method", "pickup")
    page.select_option("#counsel_outcome", "accepted")
    page.fill("#counsel_notes", "bedtime dosing; vivid dreams settle in 1-2 weeks")
    page.screenshot(path="/tmp/handout-form.png", full_page=True)
    page.click("[data-testid=hand-out]")
    assert page.locator("[data-testid=order-status]").inner_text() == "dispensed"
    record = page.locator("[data-testid=handout-record]").inner_text()
    assert "picked up" in record and "accepted" in record and "vivid dreams" in record
    with app.app_context():
        row = db.session.scalar(select(Handout).where(Handout.order_id == order_id))
        assert row.counsel_outcome == "accepted" and row.label_scan_id is not None
        assert db.session.get(Order, order_id).dispensed_via == "pickup"
