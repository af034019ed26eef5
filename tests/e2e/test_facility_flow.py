"""Facility in the browser: a pharmacist adds a refrigerator, a technician stores a lot there
and records an excursion (the lot goes on hold), the pharmacist releases it back with a reason;
the cleaning log; a failed balance daily check takes the balance out of service."""

import pytest
from sqlalchemy import select

from pharmacy.extensions import db
from pharmacy.models import Balance, IngredientLot
from tests.batch_helpers import seed
from tests.e2e.test_navigation import sign_in

pytestmark = pytest.mark.e2e


def test_excursion_hold_and_decision(page, live_server, app, pharmacy):
    seed(app)
    with app.app_context():
        lot = db.session.scalars(
            select(IngredientLot).where(IngredientLot.status == "released")
        ).first()
        lot_number, lot_id = lot.lot_number, lot.id
        balance = db.session.scalars(select(Balance)).first().name

    sign_in(page, live_server, "pharmacist")
    page.click("nav.mainnav >> text=Facility")
    page.fill("#name", "Fridge 1")
    page.select_option("#kind", "refrigerator")
    page.click("button:has-text('Add storage unit')")
    page.wait_for_selector("text=Record a temperature")
    page.click("text=Sign out")

    sign_in(page, live_server, "technician")
    page.click("nav.mainnav >> text=Facility")
    page.click("text=Fridge 1")
    page.fill("#code", lot_number)
    page.click("button:has-text('Store here')")
    assert lot_number in page.locator("[data-testid=contents]").inner_text()
    page.fill("#celsius", "10.2")
    page.click("button:has-text('Record reading')")
    assert "outside 2–8 °C" in page.locator("[data-field-error=note]").inner_text()
    page.fill("#note", "door left open")
    page.click("button:has-text('Record reading')")
    page.wait_for_selector("[data-reading-status=excursion]")
    assert "on hold" in page.content()

    page.click("nav.mainnav >> text=Facility")
    page.click("text=Cleaning log")
    page.fill("#area", "Compounding bench")
    page.fill("#agent", "70 % isopropyl alcohol")
    page.click("button:has-text('Record cleaning')")
    assert "Compounding bench" in page.locator("[data-testid=cleaning-log]").inner_text()

    page.click("nav.mainnav >> text=Balances")
    page.locator("tr", has_text=balance).locator("text=Checks & calibrations").click()
    page.fill("#nominal_mg", "100")
    page.fill("#reading_mg", "100.5")
    page.fill("#tolerance_mg", "0.1")
    page.click("button:has-text('Record daily check')")
    page.wait_for_selector("[data-check-passed=false]")
    assert "out of service" in page.locator("[data-testid=balance-state]").inner_text()
    page.click("text=Sign out")

    sign_in(page, live_server, "pharmacist")
    page.click("nav.mainnav >> text=Facility")
    hold = page.locator("[data-hold]", has_text=lot_number)
    hold.locator("select[name=decision]").select_option("release")
    hold.locator("button:has-text('Record decision')").click()
    assert "is required" in page.locator("[data-field-error=reason]").inner_text()
    hold = page.locator("[data-hold]", has_text=lot_number)
    hold.locator("select[name=decision]").select_option("release")
    hold.locator("input[name=reason]").fill("20 minutes at 10.2 °C; within stability data")
    hold.locator("button:has-text('Record decision')").click()
    page.wait_for_selector("[data-testid=no-holds]")
    with app.app_context():
        assert db.session.get(IngredientLot, lot_id).status == "released"
