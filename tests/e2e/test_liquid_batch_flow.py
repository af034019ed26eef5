"""The liquid batch journey in the browser: the approved 1 mg/mL solution formula shows its
API weighing tolerance; a batch for a 1 mg/mL order; a weight below the balance's minimum is
refused; an API weight 6 % over stops the batch until a pharmacist signs off (the volume to
prepare is recalculated); a mistyped final volume fails the QC and is corrected; a second
pharmacist releases; one button fills the order."""

import pytest
from sqlalchemy import select

from pharmacy.database import unit_of_work
from pharmacy.extensions import db
from pharmacy.models import Batch, IngredientLot, Order
from tests.batch_helpers import make_order, seed
from tests.e2e.test_navigation import sign_in
from tests.support import e_sign

pytestmark = pytest.mark.e2e


def _sign_out(page):
    page.click("button:has-text('Sign out')")
    page.wait_for_url("**/login**")


def test_liquid_formula_batch_weights_qc_release_and_fill(page, live_server, app, pharmacy):
    ids = seed(app)
    with app.app_context(), unit_of_work() as s:
        vehicle = s.scalar(select(IngredientLot).where(IngredientLot.lot_number == "ORA-3390"))
        vehicle.status = "released"
        for o in s.scalars(select(Order).where(Order.status.in_(("verified", "in_compounding")))):
            o.status = "cancelled"  # the demo's own open orders stay out of "fill all"
    order_id = make_order(app, strength="1", quantity=30, form="oral_solution")

    sign_in(page, live_server, "technician")
    page.goto(f"{live_server}/formulas/{ids['sol']}")
    assert page.locator("[data-testid=api-tolerance]").inner_text() == "± 5 %"

    page.goto(f"{live_server}/batches/new?formula_id={ids['sol']}&order_id={order_id}")
    page.click("button:has-text('Start batch')")
    page.wait_for_selector("[data-testid=batch-number]")
    assert "Strength\t1 mg/mL (hcl)" in page.locator("table.kv").inner_text()
    with app.app_context():
        batch = db.session.scalar(select(Batch).order_by(Batch.id.desc()).limit(1))
        bid = batch.id
        lines = {u.role: u.id for u in batch.lot_usages}
        assert batch.strength_mg == 1 and batch.unit == "mL"

    # 1. Weights: 119 mg is below the 120 mg minimum weighable quantity.
    page.click("text=Record actual weights")
    page.fill(f"#actual_{lines['active']}", "119")
    page.fill(f"#actual_{lines['vehicle']}", "150")
    page.click("button:has-text('Save actual quantities')")
    error = page.locator(f"[data-field-error=actual_{lines['active']}]").inner_text()
    assert "below the minimum weighable quantity" in error
    # 158.70 mg against 149.70 planned is 6 % over: explained, and the batch stops.
    page.fill(f"#actual_{lines['active']}", "158.70")
    page.fill(f"#reason_{lines['active']}", "over-poured from the spatula")
    page.click("button:has-text('Save actual quantities')")
    page.wait_for_selector("[data-testid=api-hold]")
    _sign_out(page)

    # 2. A pharmacist signs off; the volume to prepare follows the API weighed.
    sign_in(page, live_server, "pharmacist")
    page.goto(f"{live_server}/batches/{bid}")
    page.fill("[data-testid=sign-off-reason]", "keep the concentration: q.s. to a larger volume")
    page.click("button:has-text('Sign off and recalculate')")
    page.wait_for_selector("[data-testid=recalculation]")
    assert "Prepare to 159.0 mL" in page.locator("[data-testid=recalculation]").inner_text()
    _sign_out(page)

    # 3. QC: the final volume typed as 149 fails (limit ±5 %), then is corrected to 159.
    sign_in(page, live_server, "technician")
    page.goto(f"{live_server}/batches/{bid}/weights")
    page.fill(f"#actual_{lines['vehicle']}", "159")
    page.click("button:has-text('Save actual quantities')")
    page.wait_for_selector("text=Actual quantities recorded.")
    page.click("a:has-text('Quality check')")
    page.fill("#final_volume_ml", "149")
    page.fill("#appearance", "Clear, colourless")
    page.check("#appearance_ok")
    page.fill("#units_made", "30")
    page.click("button:has-text('Record quality check')")
    page.wait_for_selector("[data-testid=qc-failed]")
    page.fill("[data-testid=qc-failed] input[name=value]", "159")
    page.fill("[data-testid=qc-failed] form[action$='/qc/correct'] input[name=reason]", "typo")
    page.click("button:has-text('Correct')")
    page.wait_for_selector("[data-testid=qc-correction]")
    assert page.locator("[data-testid=batch-status]").inner_text() == "awaiting check"
    assert "149 → 159 (typo)" in page.locator("[data-testid=qc-correction]").inner_text()
    _sign_out(page)

    # 4. A second pharmacist releases; the technician fills all its orders with one button.
    sign_in(page, live_server, "checker")
    page.goto(f"{live_server}/batches/{bid}")
    e_sign(page, "form[action$='/release']")
    page.click("button:has-text('Release batch')")
    page.wait_for_selector("text=available to fill orders")
    _sign_out(page)
    sign_in(page, live_server, "technician")
    page.goto(f"{live_server}/batches/{bid}")
    page.click("[data-testid=fill-all]")
    page.wait_for_selector("text=Filled 1 order(s)")
    assert page.locator("[data-testid=units-remaining]").inner_text() == "0"
    with app.app_context():
        assert db.session.get(Order, order_id).status == "ready"
    page.screenshot(path="/tmp/liquid-batch.png", full_page=True)
