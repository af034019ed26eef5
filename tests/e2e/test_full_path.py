"""The whole traceability path in one browser walk: a technician receives a new naltrexone
lot, a pharmacist releases it, the technician starts a batch for a verified order (FEFO
picks the new lot), records weights and QC, a second pharmacist releases the batch, the
technician fills the order, and the recall trace of the new lot names the patient."""

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from pharmacy.domain.lots import month_end
from pharmacy.extensions import db
from pharmacy.models import Batch, Dispense, Ingredient, IngredientLot, Order, User
from pharmacy.services import inventory as inv
from tests.batch_helpers import make_order, seed
from tests.e2e.test_navigation import sign_in
from tests.support import e_sign

pytestmark = pytest.mark.e2e

LOT = "NTX-FULL-0001"
API = "Naltrexone hydrochloride USP"


def _sign_out(page):
    page.click("button:has-text('Sign out')")
    page.wait_for_url("**/login**")


def _user_id(username: str) -> int:
    return db.session.scalar(select(User.id).where(User.username == username))


def test_receive_release_compound_check_dispense_and_trace(page, live_server, app, pharmacy):
    ids = seed(app)  # demo formulary, its lots and balance, and a second pharmacist "checker"
    order_id = make_order(app, quantity=100, doses_per_day=4)  # 25 days: within the BUD
    today = date.today()
    # A month-only expiry of this month: good through its last day, which is earlier than
    # every demo naltrexone lot, so first-expiry-first-out must pick the new lot.
    expiry_text, last_good_day = today.strftime("%Y-%m"), month_end(today.year, today.month)
    with app.app_context():
        order = db.session.get(Order, order_id)
        patient = order.prescription.patient
        patient_name, patient_phone, order_number = patient.full_name, patient.phone, order.number
        api_lots = db.session.scalars(
            select(IngredientLot).join(IngredientLot.ingredient).where(Ingredient.name == API)
        ).all()
        assert api_lots and all(lot.expires_on > last_good_day for lot in api_lots)

    # 1. The technician receives the lot; it starts quarantined.
    sign_in(page, live_server, "technician")
    page.click("nav.mainnav >> text=Inventory")
    page.click("text=Receive a lot")
    page.select_option("#ingredient_id", label=f"{API} (mg)")
    page.fill("#lot_number", LOT)
    page.fill("#supplier", "PCCA")
    page.fill("#manufacturer", "SpecGx LLC")
    page.fill("#expiry", expiry_text)
    page.fill("#quantity", "5")
    page.select_option("#unit", "g")
    page.fill("#assay_percent", "99.4")
    page.select_option("#assay_basis", "anhydrous")
    page.fill("#water_percent", "0.5")
    page.click("button:has-text('Receive into quarantine')")
    page.wait_for_selector("[data-lot-status=quarantined]")
    assert LOT in page.locator("h1").inner_text()
    assert "month-only expiry" in page.content()
    assert page.locator("[data-testid=on-hand]").inner_text() == "5,000 mg"
    assert page.locator("[data-testid=not-usable]").is_visible()
    assert page.locator("#decision").count() == 0  # a technician cannot release
    lot_url = page.url
    _sign_out(page)

    # 2. A pharmacist reviews the CoA and releases it.
    sign_in(page, live_server, "pharmacist")
    page.goto(lot_url)
    page.select_option("#decision-target", "released")
    page.fill("#decision-reason", "CoA reviewed against specification")
    page.click("button:has-text('Record decision')")
    page.wait_for_selector("[data-lot-status=released]")
    assert page.locator("[data-testid=usable]").is_visible()
    _sign_out(page)
    with app.app_context():
        lot = db.session.scalar(select(IngredientLot).where(IngredientLot.lot_number == LOT))
        lot_id = lot.id
        assert lot.status == "released" and lot.status_changed_by_id == _user_id("pharmacist")
        assert lot.expires_on == last_good_day and lot.expiry_month_only
        assert lot.quantity_received == D("5000") and lot.unit == "mg"
        assert lot.assay_percent == D("99.4") and lot.water_percent == D("0.5")

    # 3. The technician starts a batch from the verified order's page.
    sign_in(page, live_server, "technician")
    page.goto(f"{live_server}/orders/{order_id}")
    assert page.locator("[data-testid=order-status]").inner_text() == "verified"
    page.click("[data-testid=start-batch]")
    assert page.is_checked(f"input[name=order_ids][value='{order_id}']")
    page.select_option("#formula_id", value=str(ids["cap"]))
    page.click("button:has-text('Start batch')")
    page.wait_for_selector("[data-testid=batch-number]")
    batch_number = page.locator("[data-testid=batch-number]").inner_text()
    batch_url = page.url
    assert page.locator("[data-testid=batch-status]").inner_text() == "in progress"
    assert page.locator("[data-result=capsules_to_make]").inner_text() == "102"
    active_row = page.locator("[data-testid=usages] tbody tr", has_text="active")
    assert f"{API} — {LOT}" in active_row.inner_text()
    assert "Lot chosen over FEFO" not in active_row.inner_text()
    assert LOT in page.locator("[data-testid=bud]").inner_text()

    # 4. Actual weights: each ingredient weighed as planned (read off the form itself).
    page.click("text=Record actual weights")
    usages = page.locator("fieldset[data-usage]")
    assert usages.count() >= 3
    for i in range(usages.count()):
        usage = usages.nth(i)
        planned = usage.locator("legend strong").inner_text().split()[0].replace(",", "")
        usage.locator("input[id^=actual_]").fill(planned)
    assert LOT in page.locator("fieldset[data-usage=active] legend").inner_text()
    page.click("button:has-text('Save actual quantities')")
    page.wait_for_selector("text=Actual quantities recorded.")

    # 5. Quality check on ten filled capsules.
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
    assert "PASSED" in page.locator("[data-testid=qc-result]").inner_text()
    assert page.locator("[data-testid=batch-status]").inner_text() == "awaiting check"
    _sign_out(page)

    # 6. A second pharmacist (not the compounder, not the one who released the lot) releases.
    sign_in(page, live_server, "checker")
    page.goto(batch_url)
    page.fill("form[action$='/release'] input[name=reason]", "Record and QC reviewed")
    e_sign(page, "form[action$='/release']")
    page.click("button:has-text('Release batch')")
    page.wait_for_selector("text=available to fill orders")
    assert page.locator("[data-testid=batch-status]").inner_text() == "released"
    assert page.locator("[data-testid=units-remaining]").inner_text() == "101"
    assert "Chris Checker" in page.locator("tr", has_text="Checked by").inner_text()
    _sign_out(page)

    # 7. The technician fills the order from the batch; the order becomes ready.
    sign_in(page, live_server, "technician")
    page.goto(batch_url)
    page.click("text=Fill an order")
    page.select_option("#order_id", value=str(order_id))
    page.fill("#quantity", "100")
    page.click("button:has-text('Dispense')")
    page.wait_for_selector("text=went to order")
    assert page.locator("[data-testid=units-remaining]").inner_text() == "1"
    assert patient_name in page.locator("[data-testid=recipients]").inner_text()
    page.goto(f"{live_server}/orders/{order_id}")
    assert page.locator("[data-testid=order-status]").inner_text() == "ready"

    # 8. The recall trace of the new lot leads to the batch and the patient.
    page.click("nav.mainnav >> text=Recall trace")
    option = page.locator("#lot_id option", has_text=f"lot {LOT} ")
    assert option.get_attribute("value") == str(lot_id)
    page.select_option("#lot_id", value=str(lot_id))
    page.click("button:has-text('Trace')")
    page.wait_for_selector("[data-testid=trace-recipients]")
    assert batch_number in page.locator("[data-testid=trace-batches]").inner_text()
    recipients = page.locator("[data-testid=trace-recipients] tbody tr")
    assert recipients.count() == 1
    row = recipients.first.inner_text()
    assert patient_name in row and patient_phone in row and order_number in row
    assert batch_number in row
    page.screenshot(path="/tmp/full_path.png", full_page=True)

    # And the database agrees with what the pages said.
    with app.app_context():
        s = db.session
        batch = s.scalar(select(Batch).where(Batch.batch_number == batch_number))
        assert batch.status == "released" and batch.units_remaining == 1
        assert batch.units_made == 101
        assert batch.compounded_by_id == _user_id("technician")
        assert batch.checked_by_id == _user_id("checker")
        # The beyond-use date is capped by the new lot's (month-only) expiry.
        assert batch.beyond_use_date == last_good_day and LOT in batch.bud_limited_by
        assert [o.id for o in batch.orders] == [order_id]
        active = [u for u in batch.lot_usages if u.role == "active"]
        assert len(active) == 1 and active[0].lot_id == lot_id and active[0].chosen_by_fefo
        assert all(u.actual_quantity == u.planned_quantity for u in batch.lot_usages)
        assert [q.passed for q in batch.qc_results] == [True]
        (dispense,) = s.scalars(select(Dispense).where(Dispense.batch_id == batch.id)).all()
        assert dispense.order_id == order_id and dispense.quantity == D(100)
        assert dispense.dispensed_by_id == _user_id("technician")
        assert s.get(Order, order_id).status == "ready"
        stock = inv.lot_stock(s, s.get(IngredientLot, lot_id))
        assert stock.on_hand == D("5000") - active[0].actual_quantity
