"""A technician starts a batch for a verified order, records weights and QC; a second
pharmacist releases it; the technician fills the order; the lot traces back to the patient."""

import pytest
from sqlalchemy import select

from pharmacy.extensions import db
from pharmacy.models import Batch, Order
from tests.batch_helpers import make_order, seed
from tests.e2e.test_navigation import sign_in
from tests.support import e_sign

pytestmark = pytest.mark.e2e


def _sign_out(page):
    page.click("button:has-text('Sign out')")
    page.wait_for_url("**/login**")


def test_batch_from_order_to_release_to_trace(page, live_server, app, pharmacy):
    ids = seed(app)
    order_id = make_order(app, quantity=100, doses_per_day=4)  # 25 days: within the BUD

    sign_in(page, live_server, "technician")
    page.click("nav.mainnav >> text=Batches")
    page.click("text=Start a batch")
    page.select_option("#formula_id", value=str(ids["cap"]))
    page.check(f"input[name=order_ids][value='{order_id}']")
    page.click("button:has-text('Start batch')")
    page.wait_for_selector("[data-testid=batch-number]")
    assert page.locator("[data-testid=batch-status]").inner_text() == "in progress"
    assert page.locator("[data-result=capsules_to_make]").inner_text() == "102"
    assert page.locator("[data-result=api_mg]").inner_text() == "458.08 mg"

    with app.app_context():
        batch = db.session.scalar(select(Batch).order_by(Batch.id.desc()).limit(1))
        bid, planned = batch.id, [(u.id, u.planned_quantity) for u in batch.lot_usages]
    page.click("text=Record actual weights")
    for usage_id, quantity in planned:
        page.fill(f"#actual_{usage_id}", str(quantity))
    page.click("button:has-text('Save actual quantities')")
    page.wait_for_selector("text=Actual quantities recorded.")

    page.click("a:has-text('Quality check')")
    assert page.locator("[data-testid=sample-size]").inner_text() == "10"
    page.fill(
        "#weights",
        "\n".join(
            ["295.5", "296", "297.2", "294.8", "296", "296.4", "295", "297", "296.1", "295.9"]
        ),
    )
    page.fill("#shell_mg", "96")
    page.fill("#appearance", "White opaque capsules, uniformly filled")
    page.check("#appearance_ok")
    page.fill("#units_made", "101")
    page.click("button:has-text('Record quality check')")
    page.wait_for_selector("[data-testid=qc-result]")
    assert page.locator("[data-testid=batch-status]").inner_text() == "awaiting check"
    assert "199.99 mg" in page.locator("[data-testid=qc-mean]").inner_text()
    _sign_out(page)

    sign_in(page, live_server, "checker")
    page.goto(f"{live_server}/batches/{bid}")
    page.fill("form[action$='/release'] input[name=reason]", "Record and QC reviewed")
    e_sign(page, "form[action$='/release']")
    page.click("button:has-text('Release batch')")
    page.wait_for_selector("text=available to fill orders")
    assert page.locator("[data-testid=batch-status]").inner_text() == "released"
    assert page.locator("[data-testid=units-remaining]").inner_text() == "101"
    _sign_out(page)

    sign_in(page, live_server, "technician")
    page.goto(f"{live_server}/batches/{bid}")
    page.click("text=Fill an order")
    page.select_option("#order_id", value=str(order_id))
    page.fill("#quantity", "100")
    page.click("button:has-text('Dispense')")
    page.wait_for_selector("text=went to order")
    assert page.locator("[data-testid=units-remaining]").inner_text() == "1"
    with app.app_context():
        assert db.session.get(Order, order_id).status == "ready"

    page.click("nav.mainnav >> text=Recall trace")
    page.select_option("#lot_id", value=str(ids["lots"]["NTX-25002"]))
    page.click("button:has-text('Trace')")
    recipients = page.locator("[data-testid=trace-recipients]").inner_text()
    assert "Margaret Ellis" in recipients and "217-555-0191" in recipients
    page.screenshot(path="/tmp/batch-trace.png", full_page=True)
